import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing

/// Outcomes, cancellations and reschedules after delivery, over loopback against the stand-ins.
@Suite(.serialized) struct LifecycleIntegrationTests {
    /// A quiet site with one intake-routed reservation delivered to both halls and reported RECEIVED.
    func delivered(_ name: String, id: String = "YY-L") throws -> (StandInSite, SyncEngine, intake: String, licensing: String) {
        let (site, engine) = try Support.quietSite(name)
        site.portal.publish(Support.reservation(id))
        Support.drain(engine, timeout: 20)
        let intake = try #require(site.intake.items(externalId: id).first?.itemNo)
        let licensing = try #require(site.licensing.items(externalId: id).first?.itemNo)
        #expect(site.portal.reservation(id: id)?.processStatus == "RECEIVED")
        return (site, engine, intake, licensing)
    }

    func changes(_ hall: HallStandIn, _ itemNo: String) -> [HallStandIn.Change] { hall.history.filter { $0.itemNo == itemNo } }

    /// The licensing create waits for the intake item and the RECEIVED for both; each is planned
    /// by the answer before it, and goes out in the same cycle, not an interval later.
    @Test func newReservationsReachBothInboxesAndThePortalInTheCycleThatReadsThem() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("one-cycle")
            defer { site.stop() }
            for i in 0..<60 { site.portal.publish(Support.reservation("YY-M\(i)")) }
            var reading: SyncEngine.CycleReport?
            for _ in 0..<40 where reading == nil {
                let report = engine.runCycle(stop: StopSignal())
                if report.stored > 0 { reading = report } else { Thread.sleep(forTimeInterval: 0.1) }
            }
            let report = try #require(reading, "nothing was read")
            // Each reservation read: an intake create, then a licensing create, then RECEIVED.
            #expect(report.delivered == 3 * report.stored, "\(report.delivered) sends for \(report.stored) reservations")
            let received = (0..<60).filter { site.portal.reservation(id: "YY-M\($0)")?.processStatus == "RECEIVED" }.count
            #expect(received == report.stored)
            #expect((0..<60).filter { !site.licensing.items(externalId: "YY-M\($0)").isEmpty }.count == report.stored)
        }
    }

    /// A create the hall refuses for good is not sent again on its own: the copy is blocked and the
    /// reservation shown. The next version of the reservation lets it try again, and it is made once.
    @Test func aCopyRefusedForGoodTriesAgainWithTheNextVersionOnly() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("refused-then-new-version")
            defer { site.stop() }
            site.intake.lies.refuseEchoingValues = true
            _ = site.portal.publish(Support.reservation("YY-R"))
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-R").isEmpty && site.licensing.items(externalId: "YY-R").isEmpty)
            #expect(try Support.attention(engine.store)["YY-R"]?.contains("HALL_REJECTED") == true)
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-R") }[.intake]?.isBlocked == true)
            // The hall takes creates again, but nothing changed in the reservation: not sent again.
            site.intake.lies.refuseEchoingValues = false
            for _ in 0..<3 { _ = engine.runCycle(stop: StopSignal()) }
            #expect(site.intake.items(externalId: "YY-R").isEmpty)
            // A new version (the applicant moved the appointment): the copy tries again.
            _ = site.portal.publish(Support.reservation("YY-R", slot: "14:00-14:30"))
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-R").count == 1 && site.licensing.items(externalId: "YY-R").count == 1)
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-R") }[.intake]?.isBlocked == false)
            #expect(site.portal.reservation(id: "YY-R")?.processStatus == "RECEIVED")
        }
    }

    @Test(arguments: [(HallTarget.intake, HallAction.handle), (.intake, .consult), (.licensing, .handle), (.licensing, .consult)])
    func mirrorsAStaffOutcomeToTheOtherHallAndReportsIt(_ target: HallTarget, _ action: HallAction) async throws {
        try await offPool {
            let (site, engine, intakeNo, licensingNo) = try delivered("outcome")
            defer { site.stop() }
            let (acted, actedNo, other, otherNo) = target == .intake
                ? (site.intake, intakeNo, site.licensing, licensingNo) : (site.licensing, licensingNo, site.intake, intakeNo)
            #expect(acted.staffAct(itemNo: actedNo, action: action, operator: "李四"))
            Support.drain(engine, timeout: 20)
            let mirror = changes(other, otherNo)
            #expect(mirror.map(\.origin) == ["SYNC"])
            #expect(mirror.first?.status == action.resultingStatus.rawValue)
            #expect(mirror.first?.operator == "李四")
            #expect(site.portal.reservation(id: "YY-L")?.processStatus == action.resultingStatus.rawValue)
            #expect(site.portal.acceptedPushes.map(\.status) == ["RECEIVED", action.resultingStatus.rawValue])
            #expect(try Support.attention(engine.store).isEmpty)
        }
    }

    @Test func keepsTheFirstOutcomeWhenStaffDisagreeAndReportsTheConflict() async throws {
        try await offPool {
            let (site, engine, intakeNo, licensingNo) = try delivered("conflict")
            defer { site.stop() }
            site.intake.staffAct(itemNo: intakeNo, action: .handle)
            site.licensing.staffAct(itemNo: licensingNo, action: .consult)
            Support.drain(engine, timeout: 20)
            #expect(changes(site.intake, intakeNo).map(\.origin) == ["STAFF"])
            #expect(changes(site.licensing, licensingNo).map(\.origin) == ["STAFF"])
            // Intake's feed is read first: its outcome is the first one, and it is the one reported.
            #expect(site.portal.reservation(id: "YY-L")?.processStatus == "HANDLED")
            let attention = try engine.store.read { tx in try tx.openAttention() }
            #expect(attention.map(\.code) == ["OUTCOME_CONFLICT"])
            #expect(attention.first?.messageZh.contains("办理") == true && attention.first?.messageZh.contains("咨询") == true)
        }
    }

    @Test func aReservationFirstSeenCancelledGetsNoItemOnlyTheAcknowledgement() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("cancel-first")
            defer { site.stop() }
            var r = Support.reservation("YY-C0")
            r.status = "CANCELLED"
            site.portal.publish(r)
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-C0").isEmpty && site.licensing.items(externalId: "YY-C0").isEmpty)
            #expect(site.portal.reservation(id: "YY-C0")?.processStatus == "CANCEL_ACKNOWLEDGED")
        }
    }

    @Test func anOnlineCancellationClosesEveryCopyThenIsAcknowledged() async throws {
        try await offPool {
            let (site, engine, intakeNo, licensingNo) = try delivered("cancel")
            defer { site.stop() }
            site.portal.cancel("YY-L")
            Support.drain(engine, timeout: 20)
            for (hall, itemNo) in [(site.intake, intakeNo), (site.licensing, licensingNo)] {
                #expect(changes(hall, itemNo).map { "\($0.status)/\($0.origin)" } == ["CANCELLED/PORTAL"])
            }
            #expect(site.portal.acceptedPushes.map(\.status) == ["RECEIVED", "CANCEL_ACKNOWLEDGED"])
            #expect(try Support.attention(engine.store).isEmpty)
        }
    }

    @Test func aCancellationAfterStaffHandledTheItemIsRecordedNotForced() async throws {
        try await offPool {
            let (site, engine, intakeNo, _) = try delivered("cancel-late")
            defer { site.stop() }
            site.intake.staffAct(itemNo: intakeNo, action: .handle)
            Support.drain(engine, timeout: 20)
            site.portal.cancel("YY-L")
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-L").first?.status == "HANDLED")
            #expect(site.licensing.items(externalId: "YY-L").first?.status == "HANDLED")
            #expect(!site.intake.history.contains { $0.status == "CANCELLED" } && !site.licensing.history.contains { $0.status == "CANCELLED" })
            #expect(site.portal.reservation(id: "YY-L")?.processStatus == "HANDLED")
            #expect(try Support.attention(engine.store)["YY-L"] == ["CANCELLED_AFTER_OUTCOME"])
        }
    }

    /// Staff closed the item; a reschedule follows. With the feed up, hallsync knows the item is
    /// closed before it sends anything; with the feed down, the PATCH meets 409 ITEM_CLOSED naming
    /// the status, and that answer teaches the same.
    @Test(arguments: [(false, HallAction.consult), (true, HallAction.handle)])
    func aRescheduleOfAClosedItemGoesToTheAttentionListAndTheOutcomeIsReported(feedDown: Bool, action: HallAction) async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("reschedule-closed")
            defer { site.stop() }
            var r = site.portal.publish(Support.reservation("YY-RC", itemCode: "371002-XK-0107", itemName: "建筑工程施工许可证核发"))
            Support.drain(engine, timeout: 20)
            let itemNo = try #require(site.licensing.items(externalId: "YY-RC").first?.itemNo)
            site.licensing.feedOutage = feedDown
            site.licensing.staffAct(itemNo: itemNo, action: action)
            Support.drain(engine, timeout: 20)
            r = site.portal.reservation(id: "YY-RC")!
            r.appointmentDate = "2021-09-14"
            site.portal.publish(r)
            Support.drain(engine, timeout: 20)
            #expect(site.licensing.items(externalId: "YY-RC").first?.registerTime == "2021-09-11 10:00:00")
            #expect(try Support.attention(engine.store)["YY-RC"] == ["ITEM_CLOSED"])
            #expect(site.portal.reservation(id: "YY-RC")?.processStatus == action.resultingStatus.rawValue)
            #expect(site.portal.acceptedPushes.map(\.status) == ["RECEIVED", action.resultingStatus.rawValue])
        }
    }

    @Test func anExpiredFeedIsReconciledByLookupsAndNothingIsAppliedTwice() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("feed-expired")
            defer { site.stop() }
            for i in 0..<6 { site.portal.publish(Support.reservation("YY-F\(i)")) }
            Support.drain(engine, timeout: 20)
            // A change read normally first, so hallsync's feed position is past the start.
            site.intake.staffAct(itemNo: try #require(site.intake.items(externalId: "YY-F5").first?.itemNo), action: .handle)
            Support.drain(engine, timeout: 20)
            #expect(site.licensing.items(externalId: "YY-F5").first?.status == "HANDLED")
            // While hallsync is not reading, staff act, and the feed drops those changes.
            let handled = try #require(site.intake.items(externalId: "YY-F1").first?.itemNo)
            let consulted = try #require(site.licensing.items(externalId: "YY-F3").first?.itemNo)
            site.intake.staffAct(itemNo: handled, action: .handle)
            site.licensing.staffAct(itemNo: consulted, action: .consult)
            site.intake.expireFeed()
            site.licensing.expireFeed()
            // One more staff action after the expiry is in the retained feed.
            let late = try #require(site.intake.items(externalId: "YY-F4").first?.itemNo)
            site.intake.staffAct(itemNo: late, action: .consult)
            Support.drain(engine, timeout: 20)
            let report = engine.runCycle(stop: StopSignal())
            #expect(report.feedPositions["intake"]?.hasPrefix("seq:") == true)
            #expect(site.licensing.items(externalId: "YY-F1").first?.status == "HANDLED")
            #expect(site.intake.items(externalId: "YY-F3").first?.status == "CONSULTED")
            #expect(site.licensing.items(externalId: "YY-F4").first?.status == "CONSULTED")
            for id in ["YY-F0", "YY-F2"] {
                #expect(site.intake.items(externalId: id).first?.status == "PENDING")
                #expect(site.portal.reservation(id: id)?.processStatus == "RECEIVED")
            }
            #expect(site.portal.reservation(id: "YY-F1")?.processStatus == "HANDLED")
            #expect(site.portal.reservation(id: "YY-F3")?.processStatus == "CONSULTED")
            // Every item closed once; every mirror sent once.
            let all = site.intake.history + site.licensing.history
            #expect(Dictionary(grouping: all, by: \.itemNo).values.allSatisfy { $0.count == 1 })
            #expect(all.filter { $0.origin == "SYNC" }.count == 4)
            #expect(site.portal.refusedPushes.isEmpty)
        }
    }

    @Test func aFeedUnreadForMostOfItsRetentionIsReconciledEvenWithout410() async throws {
        try await offPool {
            let (site, engine) = try Support.site("feed-stale", options: .init(lag: 0, faults: .none)) {
                $0.replacingOccurrences(of: "sync:\n", with: "sync:\n  feedRetention: 2\n")
            }
            defer { site.stop() }
            site.portal.publish(Support.reservation("YY-S"))
            Support.drain(engine, timeout: 20)
            // No change was ever in the feed (position 0, where a read never answers 410); then hallsync
            // is away longer than the retention, and the only change is dropped meanwhile.
            site.intake.staffAct(itemNo: try #require(site.intake.items(externalId: "YY-S").first?.itemNo), action: .consult)
            site.intake.expireFeed()
            Thread.sleep(forTimeInterval: 2.5)
            let report = engine.runCycle(stop: StopSignal())
            #expect(report.reconciled >= 1)
            Support.drain(engine, timeout: 20)
            #expect(site.licensing.items(externalId: "YY-S").first?.status == "CONSULTED")
            #expect(site.portal.reservation(id: "YY-S")?.processStatus == "CONSULTED")
        }
    }

    @Test func idleCyclesSendNothingButThePolls() async throws {
        try await offPool {
            let (site, engine) = try Support.site("idle", options: .init(lag: 1, faults: .none, seed: 5), interval: 0.3)
            defer { site.stop() }
            let traffic = Thread { Support.generate(site, count: 80, over: 3, staffRate: 0.5, cancelRate: 0.1) }
            traffic.start()
            while !traffic.isFinished { _ = engine.runCycle(stop: StopSignal()); Thread.sleep(forTimeInterval: 0.2) }
            Support.drain(engine)
            // The echoes of our pushes and of our own actions must be recognised, not acted on.
            Thread.sleep(forTimeInterval: 1.5)
            _ = engine.runCycle(stop: StopSignal())
            let writes = (site.intake.writeRequestCount, site.licensing.writeRequestCount, site.portal.pushRequestCount)
            let polls = (site.portal.listRequestCount, site.intake.feedReadCount, site.licensing.feedReadCount)
            let requests = (site.portal.requestCount, site.intake.requestCount, site.licensing.requestCount)
            for _ in 0..<4 {
                let report = engine.runCycle(stop: StopSignal())
                #expect(report.delivered == 0 && report.feedApplied == 0 && report.stored == 0)
            }
            #expect(site.intake.writeRequestCount == writes.0 && site.licensing.writeRequestCount == writes.1)
            #expect(site.portal.pushRequestCount == writes.2)
            #expect(site.portal.listRequestCount > polls.0 && site.intake.feedReadCount > polls.1 && site.licensing.feedReadCount > polls.2)
            // Every request of the idle cycles was a poll: portal lists and feed reads.
            #expect(site.portal.requestCount - requests.0 == site.portal.listRequestCount - polls.0)
            #expect(site.intake.requestCount - requests.1 == site.intake.feedReadCount - polls.1)
            #expect(site.licensing.requestCount - requests.2 == site.licensing.feedReadCount - polls.2)
            let verdict = site.verify(attention: try Support.attention(engine.store))
            #expect(verdict.passed, "\(verdict) \(verdict.problems.prefix(5))")
            #expect(verdict.outcomes > 0 && verdict.cancellations > 0)
        }
    }
}
