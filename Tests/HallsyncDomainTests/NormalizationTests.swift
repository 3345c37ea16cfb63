import Testing
@testable import HallsyncDomain

@Suite struct ResidentIdentityNumberTests {
    @Test(arguments: [
        ("37100219800101015X", "37100219800101015X"),
        ("37100219800101015x", "37100219800101015X"),
        ("３７１００２１９８００１０１０１５Ｘ", "37100219800101015X"),
        ("371002 19800101 015X", "37100219800101015X"),
        ("371002-19800101-015X", "37100219800101015X"),
        ("371002800101015", "37100219800101015X"),
    ])
    func normalisesEveryVariant(_ raw: String, _ expected: String) throws {
        #expect(try ResidentIdentityNumber.normalize(raw) == expected)
    }

    @Test func rejectsAWrongCheckDigitWithAStableCode() {
        #expect(throws: DomainError.self) { try ResidentIdentityNumber.normalize("371002198001010151") }
        do { _ = try ResidentIdentityNumber.normalize("371002198001010151") } catch {
            #expect(error.code == .idCheckDigit)
            #expect(error.field == "applicant.idNumber")
            #expect(!error.zh.isEmpty && !error.en.isEmpty)
        }
    }

    @Test func rejectsABirthDateThatDoesNotExist() {
        do { _ = try ResidentIdentityNumber.normalize("371002198002300000"); Issue.record("accepted") } catch {
            #expect(error.code == .idBirthDate)
        }
    }

    @Test(arguments: ["", "12345", "3710021980010101XX", "37100219800101015Y"])
    func rejectsMalformedNumbers(_ raw: String) {
        #expect(throws: DomainError.self) { try ResidentIdentityNumber.normalize(raw) }
    }
}

@Suite struct SocialCreditCodeTests {
    @Test func acceptsAValidCodeAndRejectsAWrongCheckCharacter() throws {
        let seventeen = "91371002MA3C12345"
        let check = SocialCreditCode.checkCharacter(for: seventeen)!
        #expect(try SocialCreditCode.normalize((seventeen + String(check)).lowercased()) == seventeen + String(check))
        let wrong = check == "0" ? "1" : "0"
        #expect(throws: DomainError.self) { try SocialCreditCode.normalize(seventeen + wrong) }
        #expect(throws: DomainError.self) { try SocialCreditCode.normalize("91371002MA3C1234I0") }
    }
}

@Suite struct PhoneNumberTests {
    @Test(arguments: [
        ("13806310000", PhoneNumber.mobile("13806310000")),
        ("138 0631 0000", .mobile("13806310000")),
        ("138-0631-0000", .mobile("13806310000")),
        ("+86 13806310000", .mobile("13806310000")),
        ("8613806310000", .mobile("13806310000")),
        ("１３８０６３１００００", .mobile("13806310000")),
        ("(0631)5201234", .landline("0631-5201234")),
        ("0631-5201234", .landline("0631-5201234")),
        ("5201234", .landline("0631-5201234")),
        ("010-12345678", .landline("010-12345678")),
        ("86 13806310000", .mobile("13806310000")),
        ("（０６３１）５２０１２３４", .landline("0631-5201234")),
        ("0631 5201234", .landline("0631-5201234")),
        ("52012345", .landline("0631-52012345")),
        ("１３８－０６３１－００００", .mobile("13806310000")),
        ("  ", .missing),
        ("1380631000", .unreadable),
        ("0631-0201234", .unreadable),
        ("", .missing),
        ("abc", .unreadable),
        ("12", .unreadable),
    ])
    func normalisesEveryVariant(_ raw: String, _ expected: PhoneNumber) {
        #expect(PhoneNumber.normalize(raw, areaCode: "0631") == expected)
    }
}

@Suite struct NameAndItemTests {
    @Test(arguments: [
        ("  王某 ", "王某"),
        ("\u{3000}王某\u{3000}", "王某"),
        ("John   Smith", "John Smith"),
        ("Ｊｏｈｎ Smith", "John Smith"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("阿依古丽．买买提", "阿依古丽·买买提"),
        ("阿依古丽‧买买提", "阿依古丽·买买提"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("王\u{3000}\u{3000}某", "王 某"),
        ("王 \u{200B} 某", "王 某"),
        ("\u{FEFF}Ｍａｒｙ－Ａｎｎ", "Mary-Ann"),
    ])
    func cleansNames(_ raw: String, _ expected: String) throws {
        #expect(try PersonName.normalize(raw) == expected)
    }

    @Test(arguments: ["公司设立登记", "（预约）公司设立登记", "(预约)公司设立登记", "【预约】公司设立登记", "(预约) 公司设立登记", "（预约）（预约）公司设立登记"])
    func prefixesTheItemNameExactlyOnce(_ raw: String) {
        #expect(MatterName.hallItemName(portalName: raw, catalogueName: nil) == "（预约）公司设立登记")
    }

    @Test func neverLetsAStrayMarkFuseWithThePrefix() {
        #expect(MatterName.hallItemName(portalName: "\u{0301}\u{200B} 公司设立登记", catalogueName: nil) == "（预约）公司设立登记")
        #expect(MatterName.hallItemName(portalName: "【 预约 】", catalogueName: nil) == nil)
    }

    @Test func prefersTheCatalogueName() {
        #expect(MatterName.hallItemName(portalName: "公司登记", catalogueName: "公司设立登记") == "（预约）公司设立登记")
    }
}

@Suite struct AppointmentTests {
    @Test(arguments: ["2021-09-11", "2021/09/11", "2021-9-11", "20210911"])
    func readsEveryDateForm(_ date: String) throws {
        #expect(try Appointment.parse(date: date, slot: "10:00-10:30", sessions: .weihai).start.description == "2021-09-11 10:00:00")
    }

    @Test(arguments: [("10:00-10:30", "10:00:00"), ("10:00~10:30", "10:00:00"), ("10:00～10:30", "10:00:00"), ("10:00—10:30", "10:00:00"),
                      ("10:00", "10:00:00"), ("上午", "09:00:00"), ("下午", "13:30:00"), ("9:30-10:00", "09:30:00")])
    func readsEverySlotForm(_ slot: String, _ start: String) throws {
        #expect(try Appointment.parse(date: "2021-09-11", slot: slot, sessions: .weihai).start.description == "2021-09-11 \(start)")
    }

    @Test func takesTheSessionStartsFromTheSite() throws {
        let sessions = Appointment.Sessions(morningStart: 8 * 3600 + 1800, afternoonStart: 14 * 3600)
        #expect(try Appointment.parse(date: "2021-09-11", slot: "上午", sessions: sessions).start.description == "2021-09-11 08:30:00")
        #expect(try Appointment.parse(date: "２０２１－０９－１１", slot: "下午 14:00-17:00", sessions: sessions).start.description == "2021-09-11 14:00:00")
    }

    @Test(arguments: [("2021-02-30", "10:00"), ("2021-09-11", "25:00"), ("", "10:00"), ("2021-09-11", ""), ("tomorrow", "10:00")])
    func refusesWhatCannotBeRead(_ date: String, _ slot: String) {
        #expect(throws: DomainError.self) { try Appointment.parse(date: date, slot: slot, sessions: .weihai) }
    }
}
