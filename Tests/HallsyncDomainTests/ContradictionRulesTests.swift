import Testing
@testable import HallsyncDomain

/// The pure rules behind "what a peer says is checked against hallsync's records and the
/// contract before it changes anything".
@Suite struct ContradictionRulesTests {
    let normalizer = ReservationNormalizer(catalogue: catalogue, calendar: .weekendsOnly,
                                           settings: .init(areaCode: "0631", sessions: .weihai, unknownMatter: .licensing, regionCode: "371002"))

    func normalized(_ r: PortalReservation) -> NormalizedReservation? {
        if case .deliverable(let n) = normalizer.normalize(r) { return n }
        return nil
    }

    func errors(_ r: PortalReservation) -> [DomainError.Code] {
        if case .undeliverable(let errors) = normalizer.normalize(r) { return errors.map(\.code) }
        return []
    }

    // MARK: The record itself

    @Test func aRegionThatIsNotOursIsHeldAndOneBelowOursIsNot() {
        var foreign = portalReservation()
        foreign.regionCode = "371003"
        #expect(errors(foreign) == [.regionForeign])
        var below = portalReservation()
        below.regionCode = "371002001"
        #expect(normalized(below) != nil, "a township of our district is ours")
        // A tool without a site (no region configured) checks nothing.
        if case .deliverable = ReservationNormalizer(catalogue: catalogue, calendar: .weekendsOnly, settings: .weihai).normalize(foreign) {} else {
            Issue.record("held without a region to compare with")
        }
    }

    @Test(arguments: ["1970-01-01", "2099-12-31", "2021-09-06", "2022-09-10"])
    func anAppointmentBeforeTheReservationOrAYearAfterItIsHeld(_ date: String) {
        var r = portalReservation(date: date)
        r.createTime = "2021-09-08 09:00:00"
        #expect(errors(r) == [.appointmentImplausible])
    }

    @Test(arguments: ["2021-09-07", "2021-09-08", "2022-09-08"])
    func anAppointmentFromTheDayBeforeToAYearAheadIsPlausible(_ date: String) {
        var r = portalReservation(date: date)
        r.createTime = "2021-09-08 09:00:00"
        #expect(normalized(r) != nil, "\(date)")
    }

    @Test func aRescheduleIsMeasuredFromTheLastChange() {
        var r = portalReservation(date: "2022-09-20")
        r.createTime = "2021-09-08 09:00:00"
        r.updateTime = "2022-06-01 10:00:00"
        #expect(normalized(r) != nil)
    }

    @Test func valuesLongerThanTheHallsAcceptAreHeld() {
        var r = portalReservation()
        r.applicant.name = String(repeating: "王", count: 101)
        #expect(errors(r) == [.fieldTooLong])
        r.applicant.name = String(repeating: "王", count: 100)
        #expect(normalized(r) != nil)
        var org = portalReservation()
        org.applicant.type = "ORG"
        org.applicant.orgName = String(repeating: "司", count: 201)
        org.applicant.orgCode = "91371002MA3C8K4X7B"
        #expect(errors(org).contains(.fieldTooLong))
    }

    // MARK: After delivery

    func copies(of r: NormalizedReservation, intake: HallItemStatus = .open) -> [HallTarget: HallCopy] {
        [.intake: HallCopy(target: .intake, itemNo: "ZH1", revision: r.version, content: r.content, status: intake),
         .licensing: HallCopy(target: .licensing, itemNo: "XK1", revision: r.version, content: r.content)]
    }

    @Test(arguments: ["110101199003077571", "37100219800101015X"])
    func anotherApplicantIsHeldAndAPersonsConfirmationLetsItThrough(_ idNumber: String) throws {
        let first = try #require(normalized(portalReservation()))
        var changed = portalReservation(version: 2, date: "2021-09-13", id: idNumber)
        changed.applicant.name = "李四"
        let second = try #require(normalized(changed))
        let held = DeliveryPlanner.plan(for: second, copies: copies(of: first), lifecycle: Lifecycle(portalStatus: .received))
        if idNumber == "37100219800101015X" {
            // The same applicant renamed and rescheduled: a correction, sent.
            #expect(held.findings.isEmpty && held.sends.count == 2)
            return
        }
        #expect(held.sends.isEmpty, "PATCHed another applicant into the items")
        #expect(held.findings == [.identityChanged(.intake), .identityChanged(.licensing)])
        let confirmed = DeliveryPlanner.plan(for: second, copies: copies(of: first), lifecycle: Lifecycle(portalStatus: .received), identityConfirmed: true)
        #expect(confirmed.sends.count == 2)
    }

    @Test func aNewRouteWhileTheOldHallsItemIsOpenIsHeld() throws {
        let first = try #require(normalized(portalReservation()))
        let moved = try #require(normalized(portalReservation(item: "371002-XK-0107", version: 2)))
        let plan = DeliveryPlanner.plan(for: moved, copies: copies(of: first), lifecycle: Lifecycle(portalStatus: .received))
        #expect(plan.findings == [.routeChanged(.intake)])
        #expect(plan.sends.isEmpty)
        // Closed there by hand: the new route goes through.
        let closed = DeliveryPlanner.plan(for: moved, copies: copies(of: first, intake: .consulted), lifecycle: Lifecycle(portalStatus: .received))
        #expect(closed.findings.isEmpty)
    }

    @Test func liveAgainAfterTheCancellationWasCarriedOutIsShownAndNothingIsCreated() throws {
        let live = try #require(normalized(portalReservation(version: 4)))
        var cancelled = copies(of: live)
        cancelled[.intake]?.status = .cancelled
        cancelled[.licensing]?.status = .cancelled
        let plan = DeliveryPlanner.plan(for: live, copies: cancelled, lifecycle: Lifecycle(portalStatus: .cancelAcknowledged))
        #expect(plan.findings == [.revivedAfterCancellation] && plan.sends.isEmpty)
        // Acknowledged before any copy existed: no create for the revived reservation either.
        let none = DeliveryPlanner.plan(for: live, copies: [:], lifecycle: Lifecycle(portalStatus: .cancelAcknowledged))
        #expect(none.findings == [.revivedAfterCancellation] && none.sends.isEmpty)
    }

    @Test func aClosedItemReportedOpenOrClosedOtherwiseChangesNothing() {
        var copy = HallCopy(target: .intake, itemNo: "ZH1", status: .handled, closedBy: .staff)
        var lifecycle = Lifecycle(outcome: StaffOutcome(status: .handled, target: .intake, operator: "李四", at: "t"))
        for status in [HallItemStatus.consulted, .open, .cancelled] {
            let before = (copy, lifecycle)
            let findings = HallStatusChange(target: .intake, itemNo: "ZH1", status: status, origin: .staff, operator: "x", at: "u")
                .apply(to: &copy, lifecycle: &lifecycle)
            #expect(findings == [.statusContradiction(.intake, itemNo: "ZH1", held: .handled, reported: status)])
            #expect(copy == before.0 && lifecycle == before.1)
        }
        #expect(HallStatusChange(target: .intake, itemNo: "ZH1", status: .handled, origin: .staff, operator: "李四", at: "t")
            .apply(to: &copy, lifecycle: &lifecycle).isEmpty, "the same status again is no news")
    }

    @Test func thePortalsStatusIsNewsOnlyForward() {
        let received = Lifecycle(portalStatus: .received)
        #expect(received.news(inPortalProcessStatus: "HANDLED") == .ahead(.handled))
        #expect(received.news(inPortalProcessStatus: "RECEIVED") == .none)
        #expect(received.news(inPortalProcessStatus: nil) == .none)
        #expect(received.news(inPortalProcessStatus: "DONE") == .unknown("DONE"))
        #expect(Lifecycle(portalStatus: .consulted).news(inPortalProcessStatus: "HANDLED") == .contradicting(.handled))
        #expect(Lifecycle().news(inPortalProcessStatus: "RECEIVED") == .ahead(.received))
    }

    @Test func aKeyAfterAConflictIsNewAndFits() {
        let key = IdempotencyKey.create(reservationId: String(repeating: "Y", count: 60), target: .licensing, version: 3)
        let next = IdempotencyKey.afterConflict(key, attempt: 2)
        #expect(next != key && next.count <= 64 && IdempotencyKey.afterConflict(key, attempt: 3) != next)
    }
}
