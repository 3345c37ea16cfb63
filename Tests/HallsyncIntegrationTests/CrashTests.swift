import Foundation
import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing

/// The real `hallsync` binary, killed with SIGKILL at random moments while traffic flows.
@Suite(.serialized) struct CrashTests {
    @Test func survivesRepeatedKillNineWithEveryReservationInEachInboxExactlyOnce() async throws {
        try await offPool {
            let binary = Support.hallsyncBinary
            try #require(FileManager.default.isExecutableFile(atPath: binary), "build the hallsync executable first (swift build): \(binary)")
            let directory = try Support.temporaryDirectory("crash")
            let site = try StandInSite(directory: directory, options: .init(lag: 2, faults: .unkind, seed: 99))
            defer { site.stop() }
            let config = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/state.sqlite", interval: 0.3)

            let traffic = Thread { Support.generate(site, count: 400, over: 12) }   // long enough for 3 kills on a loaded CI machine
            traffic.start()
            var process = try Support.launchHallsync(["run", "--config", config, "--log-level", "warning"], log: directory + "/daemon.log")
            var kills = 0
            var killsDuringTraffic = 0
            while !traffic.isFinished || kills < 6 {
                Thread.sleep(forTimeInterval: Double.random(in: 0.4...1.6))
                if !traffic.isFinished { killsDuringTraffic += 1 }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                #expect(process.terminationReason == .uncaughtSignal)
                kills += 1
                process = try Support.launchHallsync(["run", "--config", config, "--log-level", "warning"], log: directory + "/daemon.log")
            }
            // Let the last process catch up, then stop it politely.
            let store = try Store(path: directory + "/state.sqlite")
            let deadline = Date().addingTimeInterval(90)
            var verdict = site.verify(attention: try Support.attention(store))
            while !verdict.passed, Date() < deadline {
                Thread.sleep(forTimeInterval: 1)
                verdict = site.verify(attention: try Support.attention(store))
            }
            Thread.sleep(forTimeInterval: 4)  // anything late (a duplicate) would show now
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            verdict = site.verify(attention: try Support.attention(store))
            #expect(process.terminationStatus == 0)
            #expect(killsDuringTraffic >= 3, "the kills must land while reservations are still arriving")
            #expect(verdict.passed, "\(verdict) \(verdict.problems.prefix(5))")
            #expect(verdict.expectedCopies > 400)
            print("crash test: \(kills) kills (\(killsDuringTraffic) during traffic), \(verdict)")
        }
    }
}
