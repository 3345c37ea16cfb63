import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing

/// Reconciliation after an expired feed, under the halls' ordinary faults.
@Suite(.serialized) struct ReconciliationTests {
    /// Reservations in both halls; `HALLSYNC_RECONCILE_RESERVATIONS` raises the count for a measurement.
    static let count = ProcessInfo.processInfo.environment["HALLSYNC_RECONCILE_RESERVATIONS"].flatMap(Int.init) ?? 300

    @Test func anExpiredFeedIsReconciledUnderTransientErrorsWhileTheFeedIsStillMirrored() async throws {
        try await offPool {
            let (site, engine) = try Support.site("reconcile", options: .init(lag: 0, faults: .none), interval: 0.3) {
                $0.replacingOccurrences(of: "  maxSendsPerCycle: 400", with: "  maxSendsPerCycle: 4000\n  maxLookupsPerCycle: \(max(40, Self.count / 6))")
            }
            defer { site.stop() }
            for i in 0..<Self.count { site.portal.publish(Support.reservation(String(format: "YY-R%06d", i))) }
            Support.drain(engine, timeout: 600)
            // One outcome read from the feed first, so the cursor stands past seq 0 (a read from
            // after=0 never answers 410: that case is the stale-feed check's).
            let first = try #require(site.licensing.allItems().last)
            site.licensing.staffAct(itemNo: first.itemNo, action: .handle)
            Support.drain(engine, timeout: 60)
            #expect(site.intake.items(externalId: first.externalId).first?.status == "HANDLED")
            let items = site.licensing.allItems().filter { $0.status == "PENDING" }
            #expect(items.count == Self.count - 1)

            // Staff close a tenth of the licensing items; the feed then drops those changes unread.
            var closedByStaff: [String: String] = [:]
            for (index, item) in items.enumerated() where index % 10 == 3 {
                let action: HallAction = index % 20 == 3 ? .handle : .consult
                site.licensing.staffAct(itemNo: item.itemNo, action: action)
                closedByStaff[item.externalId] = action.resultingStatus.rawValue
            }
            site.licensing.expireFeed()
            var faults = Faults()
            faults.serverError = 0.05
            faults.reset = 0.01
            site.licensing.faults = faults

            let started = Date()
            // The first feed read after the expiry answers 410 — unless a transient fault hits it first.
            for _ in 0..<5 where try engine.store.read({ tx in try tx.cursor(.reconcile(.licensing)) }) == nil {
                _ = engine.runCycle(stop: StopSignal())
            }
            #expect(try engine.store.read { tx in try tx.cursor(.reconcile(.licensing)) } != nil, "a reconciliation is under way")
            // While it runs, a clerk closes another item: the feed, read on from its oldest change, mirrors it.
            let late = try #require(items.first { closedByStaff[$0.externalId] == nil })
            site.licensing.staffAct(itemNo: late.itemNo, action: .handle, operator: "赵六")
            _ = engine.runCycle(stop: StopSignal())
            _ = engine.runCycle(stop: StopSignal())
            #expect(try engine.store.read { tx in try tx.cursor(.reconcile(.licensing)) } != nil, "still reconciling")
            #expect(site.intake.items(externalId: late.externalId).first?.status == "HANDLED", "an outcome is mirrored during the reconciliation")

            var cycles = 3
            while try engine.store.read({ tx in try tx.cursor(.reconcile(.licensing)) }) != nil, cycles < 200 {
                _ = engine.runCycle(stop: StopSignal())
                cycles += 1
            }
            let took = Date().timeIntervalSince(started)
            #expect(try engine.store.read { tx in try tx.cursor(.reconcile(.licensing)) } == nil, "finished")
            site.licensing.faults = .none
            Support.drain(engine, timeout: 120)
            // Every dropped outcome was found by a lookup — none skipped by a failed one — and mirrored.
            for (id, status) in closedByStaff {
                #expect(site.intake.items(externalId: id).first?.status == status, "\(id): \(status) not mirrored")
                #expect(site.portal.reservation(id: id)?.processStatus == status)
            }
            print("reconciliation: \(Self.count) open items, \(closedByStaff.count) dropped outcomes, 5 % errors: \(cycles) cycles, \(String(format: "%.1f", took)) s")
        }
    }
}
