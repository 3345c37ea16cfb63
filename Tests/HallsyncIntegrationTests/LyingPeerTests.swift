import Foundation
import GRDB
import HallsyncDomain
@testable import HallsyncEngine
import HallsyncOperations
import HallsyncStandIns
import HallsyncStore
import Logging
import HallsyncTestSupport
import Testing

/// The lying-peer mode at a small size: both halls and the portal err in content at random, in
/// every way ``HallStandIn/Lies`` and ``TrafficGenerator/PortalLie`` know, while reservations,
/// staff outcomes and cancellations come and go; after the run the ``ModelCheck`` invariants
/// must hold, and no personal value may be in the log or the status file. Several seeds; the
/// demo runs it larger (`hallsync demo --lying-peers`).
@Suite struct LyingPeerTests {
    @Test(arguments: [11, 12, 13] as [UInt64])
    func whateverThePeersSayTheModelHolds(_ seed: UInt64) async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("lying-\(seed)")
            let site = try StandInSite(directory: directory, options: .init(lag: 1, faults: .none, keyRetention: 4, seed: seed))
            defer { site.stop() }
            let yaml = site.configurationYAML(database: directory + "/state.sqlite", interval: 0.2, keyRetention: 4)
                .replacingOccurrences(of: "  retryCap: 2", with: "  retryCap: 1")
            try yaml.write(toFile: directory + "/hallsync.yaml", atomically: true, encoding: .utf8)
            let lines = LogLines()
            let logger = Logger(label: "lying") { JournalLogHandler(label: $0, level: .debug, write: { lines.append($0) }) }
            let clock = SkippingClock()
            let engine = try SyncEngine(configuration: try Configuration.load(path: directory + "/hallsync.yaml"), logger: logger, clock: clock)
            let reporter = StatusReporter(version: "test", configPath: directory + "/hallsync.yaml", logger: logger)
            site.startLying(seed: seed)

            var rng = SplitMix64(seed: seed)
            for step in 0..<90 {
                site.generator.step(rescheduleRate: 0.1)
                if rng.next() % 2 == 0 { site.generator.staffActOnOne(in: [site.intake, site.licensing]) }
                if rng.next() % 12 == 0 { site.generator.cancelOne() }
                if rng.next() % 6 == 0 { site.generator.lie() }
                if step % 3 == 2 {
                    reporter.cycleFinished(engine.runCycle(stop: StopSignal()), engine: engine)
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
            // Settle: everything past the lag, nothing pending, and a sweep after the last rewind.
            Support.drain(engine, timeout: 90)
            clock.advance(86_400)   // a day on: the sweep looks up every open item (a rewind the hall hid)
            for _ in 0..<8 { reporter.cycleFinished(engine.runCycle(stop: StopSignal()), engine: engine); Thread.sleep(forTimeInterval: 0.3) }
            if let report = Support.drain(engine, timeout: 60) { reporter.cycleFinished(report, engine: engine) }

            // What hallsync recorded, read with plain SQL from its file.
            let copies = try DatabaseQueue(path: directory + "/state.sqlite").read { db in
                try Row.fetchAll(db, sql: "SELECT reservationId, target, itemNo FROM hallCopy WHERE itemNo IS NOT NULL").map {
                    ModelCheck.Copy(reservationId: $0[0], target: HallTarget(rawValue: $0[1])!, itemNo: $0[2])
                }
            }
            let check = site.modelCheck(copies: copies, attention: try Support.attention(engine.store))
            print("lying peers, seed \(seed): \(check)")
            #expect(check.passed, "\(check.violations.prefix(10).joined(separator: "\n"))")
            if !check.passed {
                // What hallsync and the halls did about each reservation at fault, for whoever reads the failure.
                let state = try DatabaseQueue(path: directory + "/state.sqlite")
                for id in Set(check.violations.prefix(3).map { String($0.prefix { $0 != ":" }) }) {
                    print("--- \(id)")
                    for hall in [site.intake, site.licensing] { for change in hall.history where change.externalId == id { print("hall: \(change)") } }
                    try state.read { db in
                        for table in ["hallCopy", "hallItemSighting", "attention", "outbox"] {
                            for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) WHERE reservationId = ?", arguments: [id]) { print("\(table): \(row)") }
                        }
                    }
                    for line in lines.all where line.contains(id) { print("log: \(line)") }
                }
            }
            #expect(check.portalLies > 3 && check.hallLies > 3, "the run lied too little to prove anything: \(check)")

            // No personal value of any record, however spelt, in the log or the status file.
            let status = try String(contentsOfFile: engine.configuration.operations.statusFile, encoding: .utf8)
            let leaks = PersonalDataLeaks.find(in: lines.all.joined() + status, records: site.portal.allReservations())
            #expect(leaks.isEmpty, "\(leaks.prefix(5))")
            #expect(lines.all.count > 50, "the log was not captured")
        }
    }
}

final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
