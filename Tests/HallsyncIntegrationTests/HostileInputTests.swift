import Foundation
import HallsyncDomain
@testable import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing

/// Peers that lie and records that attack: the engine against the stand-ins over loopback.
@Suite(.serialized) struct HostileInputTests {
    @Test func aControlCharacterInAnIdCannotReachAnotherApplicantsRecord() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("nul-id")
            defer { site.stop() }
            site.portal.publish(Support.reservation("YY-A"))
            Support.drain(engine, timeout: 20)
            let original = try #require(site.intake.items(externalId: "YY-A").first)

            // Same prefix, a NUL, other data, and a higher version than YY-A's.
            var hostile = Support.reservation("YY-A\u{0}X", date: "2021-10-11")
            hostile.applicant.name = "攻击者"
            hostile.applicant.idNumber = "110101199003077578"
            site.portal.publish(hostile)
            site.portal.publish(hostile)
            var spaced = Support.reservation("YY-A X")
            spaced.applicant.name = "另一人"
            site.portal.publish(spaced)
            Support.drain(engine, timeout: 20)

            for hall in [site.intake, site.licensing] {
                let items = hall.items(externalId: "YY-A")
                #expect(items.count == 1)
                #expect(items.first?.applicantName == "王某" && items.first?.registerTime == original.registerTime)
                #expect(hall.allItems().count == 1, "nothing of the hostile records reached \(hall.target)")
            }
            let stored = try engine.store.read { tx in try tx.reservation(id: "YY-A") }
            #expect(stored?.portal.applicant.name == "王某" && stored?.version == site.portal.reservation(id: "YY-A")?.version)
            let attention = try engine.store.read { tx in try tx.openAttention() }
            #expect(Set(attention.map(\.code)) == ["RESERVATION_ID_INVALID"])
            #expect(Set(attention.map(\.reservationId)) == [WireIdentifier.printable("YY-A\u{0}X"), WireIdentifier.printable("YY-A X")])
            #expect(try engine.store.read { tx in try tx.counts() }.reservations == 1)
        }
    }

    @Test func aPortalClockThirtyDaysFastNeverMovesThePositionIntoTheFutureAndItRecovers() async throws {
        try await offPool {
            let (site, engine) = try Support.site("fast-clock", options: .init(lag: 1, faults: .none))
            defer { site.stop() }
            site.portal.lies.clockOffset = 30 * 86_400
            site.portal.publish(Support.reservation("YY-C1"))
            var report = Support.drain(engine, timeout: 20)
            let stored = try #require(try engine.store.read { tx in try tx.cursor(.portalPosition) }.flatMap(PortalPosition.init(stored:)))
            #expect(stored.time <= BeijingTime.now(), "the stored position \(stored) is in the future")
            #expect(report?.warnings.contains { $0.contains("ahead of") } == true)
            #expect(site.intake.items(externalId: "YY-C1").count == 1)

            // The clock is right again: new records are pulled, and the warning goes.
            site.portal.lies.clockOffset = 0
            site.portal.publish(Support.reservation("YY-C2"))
            report = Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-C2").count == 1)
            #expect(report?.warnings.isEmpty == true)
        }
    }

    @Test func aPositionLeftInTheFutureByAnEarlierVersionIsRewound() async throws {
        try await offPool {
            let (site, engine) = try Support.site("future-cursor", options: .init(lag: 1, faults: .none))
            defer { site.stop() }
            site.portal.publish(Support.reservation("YY-F1"))
            Thread.sleep(forTimeInterval: 1.5)
            // What a version without the two-clock rule left behind after a portal 30 days fast.
            try engine.store.write { tx in
                try tx.setCursor(.portalPosition, to: PortalPosition(time: BeijingTime.now().adding(seconds: 30 * 86_400), id: "").description,
                                 now: Date().timeIntervalSince1970)
            }
            let report = Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-F1").count == 1)
            #expect(report?.caughtUp == true)
        }
    }

    @Test func aTotalThatNeverMatchesCannotKeepACycleGoing() async throws {
        try await offPool {
            let (site, engine) = try Support.site("lying-total", options: .init(lag: 0, faults: .none))
            defer { site.stop() }
            // More records in one second than fit a page (pageSize 50), so that second is read by offset.
            let second = BeijingTime.now()
            for i in 0..<120 { site.portal.publish(Support.reservation("YY-T\(i)")) }
            #expect(BeijingTime.now().unixSeconds - second.unixSeconds <= 1)
            site.portal.lies = .init(totalOffset: 1_000_000, pagesWrapAround: true)
            // No item, so no RECEIVED: a push would move its record out of the crowded second.
            site.intake.faults.serverError = 1
            Thread.sleep(forTimeInterval: 3)   // below the horizon: the settled part must read that second
            for _ in 0..<2 {
                let before = site.portal.listRequestCount
                let report = engine.runCycle(stop: StopSignal())
                #expect(site.portal.listRequestCount - before <= engine.configuration.sync.maxPagesPerCycle, "a cycle read more pages than its budget")
                #expect(!report.caughtUp)
                #expect(report.warnings.contains { $0.contains("whole, by offset") }, "\(report.warnings)")
            }
            // An honest portal again: everything arrives.
            site.portal.lies = .init()
            site.intake.faults.serverError = 0
            Support.drain(engine, timeout: 60)
            for i in 0..<120 { #expect(site.licensing.items(externalId: "YY-T\(i)").count == 1) }
        }
    }

    @Test(arguments: ["wrong path", "redirect"])
    func anEndpointProblemKeepsSendsPendingAndDeliversEverythingOnceFixed(_ problem: String) async throws {
        try await offPool {
            let redirector = try LoopbackServer { _ in .respond(LoopbackServer.Response(status: 302, headers: [("Location", "https://elsewhere.example/")])) }
            defer { redirector.stop() }
            let (site, engine) = try Support.quietSite("endpoint-\(problem == "redirect" ? "redirect" : "path")")
            defer { site.stop() }
            let config = try #require(engine.configuration.sourcePath)
            let good = try String(contentsOfFile: config, encoding: .utf8)
            let wrong = problem == "redirect" ? redirector.baseURL + "/intake" : site.intake.baseURL + "-v2"
            try good.replacingOccurrences(of: "baseURL: \(site.intake.baseURL)", with: "baseURL: \(wrong)").write(toFile: config, atomically: true, encoding: .utf8)
            let broken = try SyncEngine(configuration: try Configuration.load(path: config), logger: Support.logger, store: engine.store)
            for i in 0..<3 { site.portal.publish(Support.reservation("YY-E\(i)")) }
            var report: SyncEngine.CycleReport?
            for _ in 0..<4 { report = broken.runCycle(stop: StopSignal()); Thread.sleep(forTimeInterval: 0.3) }
            #expect(site.intake.allItems().isEmpty && site.licensing.allItems().isEmpty)
            #expect(try Support.attention(engine.store).isEmpty, "the records are not at fault")
            #expect(report?.counts.pendingSends["intake"] == 3 && report?.counts.failedSends == 0)
            #expect(report?.failingEndpoints["intake"] != nil, "the endpoint is reported")
            #expect(report?.errors.contains { $0.contains("intake.baseURL") } == true, "\(report?.errors ?? [])")

            // The operator fixes the URL: everything goes out, once.
            try good.write(toFile: config, atomically: true, encoding: .utf8)
            let fixed = try SyncEngine(configuration: try Configuration.load(path: config), logger: Support.logger, store: engine.store)
            _ = try fixed.store.write { tx in try tx.rescheduleAllPending(at: 0) }
            Support.drain(fixed, timeout: 30)
            for i in 0..<3 {
                #expect(site.intake.items(externalId: "YY-E\(i)").count == 1)
                #expect(site.licensing.items(externalId: "YY-E\(i)").count == 1)
            }
        }
    }
}
