import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing

/// The engine against the stand-ins over real loopback HTTP, every fault on.
@Suite(.serialized) struct SyncIntegrationTests {
    @Test func losesNothingAndDuplicatesNothingUnderLagPageShiftsAndFaults() async throws {
        try await offPool {
            let (site, engine) = try Support.site("sync", options: .init(lag: 2, faults: .unkind, seed: 7), interval: 0.3)
            defer { site.stop() }

            // Traffic and cycles interleave, so records become visible while the daemon pages.
            let traffic = Thread { Support.generate(site, count: 300, over: 4) }
            traffic.start()
            while !traffic.isFinished { _ = engine.runCycle(stop: StopSignal()); Thread.sleep(forTimeInterval: 0.2) }
            Support.drain(engine)

            let verdict = site.verify(attention: try Support.attention(engine.store))
            #expect(verdict.passed, "\(verdict) \(verdict.problems.prefix(5))")
            #expect(verdict.expectedCopies > 300)
            #expect(site.intake.lostAnswerCount + site.licensing.lostAnswerCount > 0, "the fault that matters most did not happen")
        }
    }

    @Test func looksItemsUpInsteadOfCreatingTwiceAfterTheKeyIsForgotten() async throws {
        try await offPool {
            var faults = Faults()
            faults.lostAnswerAfterCommit = 0.5
            faults.hangSeconds = 0.5
            // The halls forget keys after 1.5 s; the daemon is told 1.5 s, so every retry of an uncertain create looks first.
            let (site, engine) = try Support.site("retention", options: .init(lag: 1, faults: faults, keyRetention: 1.5, seed: 11),
                                                  interval: 0.3, keyRetention: 1.5) {
                $0.replacingOccurrences(of: "retryBase: 0.2", with: "retryBase: 2")  // retries come after the key is gone
            }
            defer { site.stop() }
            Support.generate(site, count: 40, over: 0.5, rescheduleRate: 0)
            Support.drain(engine)
            let verdict = site.verify(attention: try Support.attention(engine.store))
            #expect(verdict.passed, "\(verdict) \(verdict.problems.prefix(5))")
            #expect(site.intake.lostAnswerCount > 0)
        }
    }

    @Test func keepsAnUndeliverableRecordWithAReasonAndDeliversTheOthers() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("attention")
            defer { site.stop() }
            let good = Support.reservation("YY-GOOD")
            var bad = good
            bad.reservationId = "YY-BAD"
            bad.applicant.idNumber = "371002198001010151"
            site.portal.publish(bad)
            site.portal.publish(good)
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-GOOD").count == 1)
            #expect(site.licensing.items(externalId: "YY-GOOD").first?.linkedItemNo == site.intake.items(externalId: "YY-GOOD").first?.itemNo)
            #expect(site.intake.items(externalId: "YY-BAD").isEmpty)
            let attention = try engine.store.read { tx in try tx.openAttention() }
            #expect(attention.map(\.reservationId) == ["YY-BAD"])
            #expect(attention.first?.code == "ID_NUMBER_CHECK_DIGIT")
            #expect(attention.first?.messageZh.contains("身份证") == true)
        }
    }

    @Test func aRescheduleBecomesAPatchWithTheNewTimesAndAnEchoSendsNothing() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("reschedule")
            defer { site.stop() }
            var r = Support.reservation("YY-R", itemCode: "371002-XK-0107", itemName: "建筑工程施工许可证核发", date: "2021-09-10", slot: "下午")
            r = site.portal.publish(r)
            Support.drain(engine, timeout: 20)
            #expect(site.licensing.items(externalId: "YY-R").first?.deadline == "2021-09-13 13:30:00")
            r.appointmentDate = "2021-09-13"
            r.appointmentSlot = "10:00~10:30"
            r = site.portal.publish(r)
            Support.drain(engine, timeout: 20)
            let item = site.licensing.items(externalId: "YY-R")
            #expect(item.count == 1)
            #expect(item.first?.registerTime == "2021-09-13 10:00:00")
            #expect(item.first?.deadline == "2021-09-14 10:00:00")
            #expect(item.first?.revision == r.version)
            // A new version with the same content (as a status push makes) sends nothing to the halls.
            let before = site.licensing.writeRequestCount + site.intake.writeRequestCount
            r = site.portal.reservation(id: "YY-R")!
            site.portal.publish(r)
            Support.drain(engine, timeout: 20)
            #expect(site.licensing.writeRequestCount + site.intake.writeRequestCount == before)
        }
    }

    @Test func aWrongTokenKeepsReservationsPendingOffTheAttentionListUntilTheFileIsFixed() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("token")
            defer { site.stop() }
            let issued = try String(contentsOfFile: site.intake.tokenFile, encoding: .utf8)
            try Data("not-the-issued-token\n".utf8).write(to: URL(fileURLWithPath: site.intake.tokenFile))
            site.portal.publish(Support.reservation("YY-T"))
            var reports: [SyncEngine.CycleReport] = []
            for _ in 0..<5 { reports.append(engine.runCycle(stop: StopSignal())); Thread.sleep(forTimeInterval: 0.3) }
            #expect(site.intake.items(externalId: "YY-T").isEmpty)
            #expect(try engine.store.read { tx in try tx.openAttention() }.isEmpty, "a credential problem is not the clerks' to fix")
            #expect(reports.last?.counts.pendingSends["intake"] == 1)
            #expect(reports.flatMap(\.errors).contains { $0.contains("UNAUTHORIZED") && $0.contains(site.intake.tokenFile) })
            // The operator puts the right token back; the same send goes out, once.
            try Data(issued.utf8).write(to: URL(fileURLWithPath: site.intake.tokenFile))
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-T").count == 1)
            #expect(site.licensing.items(externalId: "YY-T").count == 1)
        }
    }
}
