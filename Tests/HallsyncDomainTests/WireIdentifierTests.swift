import Testing
@testable import HallsyncDomain

@Suite struct WireIdentifierTests {
    @Test(arguments: ["YY3710022021090800017", "ZH2021091100012", "XK2021091100001", "YY-GOOD", "a_b-9", String(repeating: "A", count: 64)])
    func acceptsTheContractsForms(_ id: String) {
        #expect(WireIdentifier.isValid(id))
        #expect(WireIdentifier.printable(id) == id)
    }

    @Test(arguments: ["", ".", "..", "YY1\u{0}2", "YY 1", "YY/1", "YY%2E", "YY1\n", "ＹＹ1", "预约1", "YY1\u{200B}",
                      String(repeating: "A", count: 65), "../../actions", "YY1?x=1", "YY1#"])
    func refusesEverythingElse(_ id: String) {
        #expect(!WireIdentifier.isValid(id))
        // What is shown instead is safe (no controls, no NUL) and is itself never a valid id.
        let shown = WireIdentifier.printable(id)
        #expect(!WireIdentifier.isValid(shown))
        #expect(shown.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F })
    }

    @Test func printableKeepsTwoMalformedIdsApart() {
        #expect(WireIdentifier.printable("YY1\u{0}2") != WireIdentifier.printable("YY1\u{1}2"))
        #expect(WireIdentifier.printable("YY1\\u{0}2") != WireIdentifier.printable("YY1\u{0}2"))
        #expect(WireIdentifier.printable(String(repeating: "B", count: 1000)).hasSuffix("…(1000 characters)"))
    }

    @Test func codeForms() {
        #expect(CodeForm.isRegionCode("371002") && CodeForm.isRegionCode("371002001000"))
        #expect(!CodeForm.isRegionCode("37100") && !CodeForm.isRegionCode("3710O2") && !CodeForm.isRegionCode("371002\u{0}"))
        #expect(CodeForm.isCode("11371002MB0000000B") && !CodeForm.isCode("11371002\u{0}MB"))
    }
}

@Suite struct KeyFieldNormalizationTests {
    let normalizer = ReservationNormalizer(
        catalogue: MatterCatalogue(matters: [.init(itemCode: "371002-XK-0012", name: "公司设立登记", deptCode: "D1", throughIntake: true)]),
        calendar: .weekendsOnly, settings: .weihai)

    func reservation(id: String = "YY1") -> PortalReservation {
        PortalReservation(reservationId: id, version: 1, updateTime: "2021-09-08 09:00:00",
                          applicant: .init(name: "王某", idNumber: "37100219800101015X", phone: "13806310000"),
                          regionCode: "371002", deptCode: "D1", itemCode: "371002-XK-0012", itemName: "公司设立登记",
                          appointmentDate: "2021-09-11", appointmentSlot: "10:00")
    }

    func codes(_ n: Normalization) -> [DomainError.Code] {
        if case .undeliverable(let errors) = n { return errors.map(\.code) }
        return []
    }

    @Test func aMalformedIdIsHeldWhateverElseTheRecordSays() {
        #expect(codes(normalizer.normalize(reservation(id: "YY1\u{0}X"))) == [.reservationIdInvalid])
        var phone = reservation(id: "..")
        phone.handleMode = "PHONE"
        #expect(codes(normalizer.normalize(phone)) == [.reservationIdInvalid], "not even a phone-verified record passes")
    }

    @Test func keyCodesMustHaveTheFormOfCodes() {
        var r = reservation()
        r.deptCode = "D1\u{0}OTHER"
        #expect(codes(normalizer.normalize(r)) == [.codeFormat])
        r = reservation()
        r.regionCode = "371002\u{0}"
        #expect(codes(normalizer.normalize(r)) == [.codeFormat])
        r = reservation()
        r.itemCode = "371002-XK-0012\u{0}"
        #expect(codes(normalizer.normalize(r)) == [.codeFormat])
        r = reservation()
        r.regionCode = "３７１００２"   // full-width digits are still the region
        if case .deliverable(let n) = normalizer.normalize(r) { #expect(n.content.regionCode == "371002") } else { Issue.record("held") }
    }

    @Test func theCatalogueRefusesCodesThatAreNotCodes() {
        #expect(throws: CatalogueErrors.self) {
            try MatterCatalogue(csv: "itemCode,matterName,deptCode,throughIntake\n371002-XK-0012,公司设立登记,D 1/2,true\n")
        }
    }
}
