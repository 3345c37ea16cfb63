import Testing
@testable import HallsyncDomain

let catalogue = MatterCatalogue(matters: [
    .init(itemCode: "371002-XK-0012", name: "公司设立登记", deptCode: "11371002MB0000000B", throughIntake: true),
    .init(itemCode: "371002-XK-0107", name: "建筑工程施工许可证核发", deptCode: "11371002MB0000001C", throughIntake: false),
])

func portalReservation(item: String = "371002-XK-0012", version: Int = 1, date: String = "2021-09-11", slot: String = "10:00-10:30",
                       mode: String = "HALL", status: String = "SUBMITTED", id: String = "37100219800101015x") -> PortalReservation {
    PortalReservation(reservationId: "YY3710022021090800017", version: version, updateTime: "2021-09-08 09:14:55", status: status,
                      handleMode: mode, applicant: .init(type: "PERSON", name: " 王某 ", idType: "ID_CARD", idNumber: id, phone: "138 0631 0000"),
                      regionCode: "371002", deptCode: "11371002MB0000000B", itemCode: item, itemName: "(预约)公司设立登记",
                      appointmentDate: date, appointmentSlot: slot)
}

@Suite struct DeadlineTests {
    @Test func followsTheNoticesWorkedExampleWithWeekendsOnly() {
        let deadline = WorkingCalendar.weekendsOnly.deadline(forAppointmentStart: BeijingTime(parsing: "2021-09-11 10:00:00")!)
        #expect(deadline.time.description == "2021-09-13 10:00:00")
        #expect(deadline.skipped.map(\.description) == ["2021-09-12"])
        #expect(deadline.usedFallback)
    }

    @Test func honoursHolidaysAndMakeUpWorkingDays() {
        // The 2021 Mid-Autumn arrangement: 19–21 September off, Saturday 18 September worked.
        let calendar = WorkingCalendar(holidays: [CivilDate(year: 2021, month: 9, day: 19)!, CivilDate(year: 2021, month: 9, day: 20)!, CivilDate(year: 2021, month: 9, day: 21)!],
                                       makeUpWorkdays: [CivilDate(year: 2021, month: 9, day: 18)!], coveredYears: [2021])
        #expect(calendar.deadline(forAppointmentStart: BeijingTime(parsing: "2021-09-17 10:00:00")!).time.description == "2021-09-18 10:00:00")
        let after = calendar.deadline(forAppointmentStart: BeijingTime(parsing: "2021-09-18 10:00:00")!)
        #expect(after.time.description == "2021-09-22 10:00:00")
        #expect(!after.usedFallback)
    }
}

@Suite struct NormalizerTests {
    let normalizer = ReservationNormalizer(catalogue: catalogue, calendar: .weekendsOnly, settings: .weihai)

    @Test func producesTheHallsCanonicalForms() throws {
        guard case .deliverable(let r) = normalizer.normalize(portalReservation()) else { Issue.record("not deliverable"); return }
        #expect(r.route == .intakeThenLicensing)
        #expect(r.content.itemName == "（预约）公司设立登记")
        #expect(r.content.registerTime == "2021-09-11 10:00:00")
        #expect(r.content.deadline == "2021-09-13 10:00:00")
        #expect(r.content.applicantName == "王某")
        #expect(r.content.idNumber == "37100219800101015X")
        #expect(r.content.phone == "13806310000")
        #expect(r.content.source == "ONLINE_RESERVATION")
    }

    @Test func routesByTheCatalogue() {
        guard case .deliverable(let r) = normalizer.normalize(portalReservation(item: "371002-XK-0107")) else { Issue.record("not deliverable"); return }
        #expect(r.route == .licensingOnly)
    }

    @Test func sendsAnUnknownMatterToLicensingWithANoticeOrHoldsIt() {
        guard case .deliverable(let r) = normalizer.normalize(portalReservation(item: "371002-ZZ-9999")) else { Issue.record("not deliverable"); return }
        #expect(r.route == .licensingOnly)
        #expect(r.notices.map(\.code) == [.unknownMatter])
        var holding = normalizer
        holding.settings.unknownMatter = .hold
        guard case .undeliverable(let errors) = holding.normalize(portalReservation(item: "371002-ZZ-9999")) else { Issue.record("not held"); return }
        #expect(errors.map(\.code) == [.unknownMatter])
    }

    @Test func neverMirrorsPhoneVerifiedReservations() {
        #expect(normalizer.normalize(portalReservation(mode: "PHONE")) == .phoneVerifiedOnly)
        #expect(normalizer.normalize(portalReservation(mode: " phone ")) == .phoneVerifiedOnly)
    }

    @Test(arguments: [("", "SUBMITTED", DomainError.Code.handleModeUnknown), ("ONLINE", "SUBMITTED", .handleModeUnknown),
                      ("HALL", "DONE", .statusUnknown), ("HALL", "", .statusUnknown)])
    func holdsAnUnknownModeOrStatusInsteadOfGuessing(_ mode: String, _ status: String, _ code: DomainError.Code) {
        guard case .undeliverable(let errors) = normalizer.normalize(portalReservation(mode: mode, status: status)) else {
            Issue.record("delivered a reservation whose mode or status is unknown"); return
        }
        #expect(errors.map(\.code) == [code])
    }

    @Test func matchesTheCatalogueHoweverTheCodeIsSpeltAndSendsItsSpelling() {
        guard case .deliverable(let r) = normalizer.normalize(portalReservation(item: " ３７１００２-xk- 0107")) else { Issue.record("not deliverable"); return }
        #expect(r.route == .licensingOnly)
        #expect(r.content.itemCode == "371002-XK-0107")
        #expect(r.notices.isEmpty)
    }

    @Test func checksAnOrganisationsCreditCodeAndCleansOtherDocuments() {
        var org = portalReservation()
        org.applicant.type = "ORG"
        org.applicant.orgName = " 威海某某有限公司 "
        org.applicant.orgCode = "91371002ma3c12345" + String(SocialCreditCode.checkCharacter(for: "91371002MA3C12345")!).lowercased()
        org.applicant.idType = " passport "
        org.applicant.idNumber = "e 1234-5678"
        guard case .deliverable(let r) = normalizer.normalize(org) else { Issue.record("not deliverable"); return }
        #expect(r.content.applicantType == "ORG")
        #expect(r.content.orgName == "威海某某有限公司")
        #expect(r.content.orgCode?.hasPrefix("91371002MA3C12345") == true)
        #expect(r.content.idType == "PASSPORT")
        #expect(r.content.idNumber == "E12345678")
        org.applicant.orgCode = "91371002MA3C12345" + (SocialCreditCode.checkCharacter(for: "91371002MA3C12345") == "0" ? "1" : "0")
        guard case .undeliverable(let errors) = normalizer.normalize(org) else { Issue.record("accepted a wrong check character"); return }
        #expect(errors.map(\.code) == [.orgCodeCheck])
        #expect(errors.first?.field == "applicant.orgCode")
    }

    @Test func deliversWithARemarkWhenThePhoneIsMissingOrUnreadable() {
        for phone in ["", "unknown"] {
            var r = portalReservation()
            r.applicant.phone = phone
            guard case .deliverable(let n) = normalizer.normalize(r) else { Issue.record("not deliverable"); return }
            #expect(n.content.phone == "")
            #expect(n.content.remark.contains("电话"))
        }
    }

    @Test func collectsEveryErrorOfABadRecord() {
        guard case .undeliverable(let errors) = normalizer.normalize(portalReservation(date: "2021-02-30", id: "371002198001010151")) else {
            Issue.record("accepted"); return
        }
        #expect(Set(errors.map(\.code)) == [.idCheckDigit, .appointmentDate])
    }
}

@Suite struct DeliveryPlannerTests {
    let normalizer = ReservationNormalizer(catalogue: catalogue, calendar: .weekendsOnly, settings: .weihai)

    func normalized(_ r: PortalReservation) -> NormalizedReservation {
        guard case .deliverable(let n) = normalizer.normalize(r) else { fatalError("fixture not deliverable") }
        return n
    }

    @Test func createsInIntakeFirstAndLicensingOnlyWithTheIntakeItem() {
        let r = normalized(portalReservation())
        let first = DeliveryPlanner.nextSends(for: r, copies: [:])
        #expect(first.count == 1)
        guard case .create(.intake, let body) = first.first else { Issue.record("expected an intake create"); return }
        #expect(body.linkedItemNo == nil)
        #expect(body.revision == 1)
        let waiting = DeliveryPlanner.nextSends(for: r, copies: [.intake: HallCopy(target: .intake, hasPendingSend: true)])
        #expect(waiting.isEmpty)
        let then = DeliveryPlanner.nextSends(for: r, copies: [.intake: HallCopy(target: .intake, itemNo: "ZH1", revision: 1, content: r.content)])
        guard case .create(.licensing, let licensing) = then.first, then.count == 1 else { Issue.record("expected a licensing create"); return }
        #expect(licensing.linkedItemNo == "ZH1")
    }

    @Test func sendsNothingForAnEchoAndAnUpdateForAReschedule() {
        let v1 = normalized(portalReservation())
        let copies: [HallTarget: HallCopy] = [
            .intake: HallCopy(target: .intake, itemNo: "ZH1", revision: 1, content: v1.content),
            .licensing: HallCopy(target: .licensing, itemNo: "XK1", revision: 1, content: v1.content),
        ]
        #expect(DeliveryPlanner.nextSends(for: normalized(portalReservation(version: 2)), copies: copies).isEmpty)
        let moved = normalized(portalReservation(version: 3, date: "2021-09-12", slot: "上午"))
        let sends = DeliveryPlanner.nextSends(for: moved, copies: copies)
        #expect(sends.count == 2)
        for send in sends {
            guard case .update(_, _, let body) = send else { Issue.record("expected updates"); continue }
            #expect(body.revision == 3)
            #expect(body.content.registerTime == "2021-09-12 09:00:00")
            #expect(body.content.deadline == "2021-09-13 09:00:00")
        }
        // An older version never goes back over a newer revision.
        #expect(DeliveryPlanner.nextSends(for: moved, copies: copies.mapValues { var c = $0; c.revision = 5; return c }).isEmpty)
    }

    @Test func createsNothingForAReservationCancelledBeforeAnyCopyOrForABlockedCopy() {
        #expect(DeliveryPlanner.nextSends(for: normalized(portalReservation(status: "CANCELLED")), copies: [:]).isEmpty)
        #expect(DeliveryPlanner.nextSends(for: normalized(portalReservation()), copies: [.intake: HallCopy(target: .intake, isBlocked: true)]).isEmpty)
    }
}

@Suite struct CatalogueAndKeysTests {
    @Test func readsACatalogueAndNamesEveryBadLine() throws {
        let good = try MatterCatalogue(csv: "itemCode,matterName,deptCode,throughIntake\r\n371002-XK-0012,\"公司设立登记\",D1,true\n371002-XK-0107,建筑,D2,否\n")
        #expect(good.matter(forItemCode: "371002-XK-0012")?.throughIntake == true)
        #expect(good.matter(forItemCode: "371002-XK-0107")?.throughIntake == false)
        do {
            _ = try MatterCatalogue(csv: "itemCode,matterName,deptCode,throughIntake\nA,n,d,maybe\nB,,d,true\nC,n,d,true\nC,n,d,false\n")
            Issue.record("accepted a bad catalogue")
        } catch {
            #expect(error.errors.map(\.line) == [2, 3, 5])
        }
    }

    @Test func keysAreStableShortAndDistinct() {
        let a = IdempotencyKey.create(reservationId: "YY3710022021090800017", target: .intake, version: 3)
        #expect(a == "hs-c-intake-YY3710022021090800017-3")
        #expect(a == IdempotencyKey.create(reservationId: "YY3710022021090800017", target: .intake, version: 3))
        #expect(a != IdempotencyKey.create(reservationId: "YY3710022021090800017", target: .licensing, version: 3))
        let long = IdempotencyKey.create(reservationId: String(repeating: "Y", count: 100), target: .licensing, version: 1)
        #expect(long.count <= 64)
        #expect(long != IdempotencyKey.create(reservationId: String(repeating: "Y", count: 99) + "Z", target: .licensing, version: 1))
    }

    @Test func backsOffExponentiallyWithinTheCapAndHonoursRetryAfter() {
        let policy = RetryPolicy(base: 1, cap: 60)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, jitter: 1) == 1)
        #expect(policy.delay(afterAttempt: 4, retryAfter: nil, jitter: 0) == 4)
        #expect(policy.delay(afterAttempt: 20, retryAfter: nil, jitter: 1) == 60)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 30, jitter: 1) == 30)
    }
}
