import ArgumentParser
import Dispatch
import Foundation
import HallsyncEngine
import HallsyncOperations
import HallsyncStandIns
import HallsyncStore
import HallsyncWeb
import Logging
import ServiceLifecycle
import Synchronization

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon against built-in stand-ins of the portal and both halls, faults on, then verify.",
        discussion: """
        Starts the stand-ins on loopback, generates reservations with the dirty values real sites \
        send, reschedules and cancels some, lets staff handle or consult items in either hall, \
        runs the daemon against them with a temporary state directory, shows progress, and ends \
        with a verification: every routed reservation in each inbox exactly once, every outcome \
        mirrored and reported, every cancellation carried through. Exits 1 on any failure.
        """)

    @Option(help: "Seconds of generated traffic.") var duration: Double = 30
    @Option(help: "New reservations per second.") var rate: Double = 20
    @Option(help: "The portal's visibility lag in seconds (60 in production; shorter so the demo is brief).") var lag: Double = 5
    @Option(help: "Seconds the halls remember idempotency keys (24 h in production; short here so lookups happen).") var keyRetention: Double = 15
    @Flag(help: "Turn the stand-ins' faults off.") var noFaults = false
    @Option(help: "Seconds allowed after the traffic for the daemon to catch up.") var drainTimeout: Double = 90
    @Option(help: "Staff actions (HANDLE/CONSULT on a random open item) per new reservation.") var staffRate: Double = 0.3
    @Option(help: "Online cancellations per new reservation.") var cancelRate: Double = 0.05
    @Option(help: "Reservations already waiting on the portal when the daemon starts (a backlog to drain; the drain time is reported).")
    var backlog: Int = 0
    @Option(help: "Lowest log level of the daemon.") var logLevel: String = "warning"
    @Flag(help: "Keep the temporary state directory (database, secrets, status file) instead of removing it at the end.")
    var keepState = false
    @Flag(help: "Keep the summary web page up after the verification, until Ctrl-C.")
    var serve = false
    @Option(help: "The web page's port (0: any free one).") var webPort: Int = 0
    @Flag(help: "Lying peers: both halls and the portal also err in content at random (another reservation's item number, outcomes under another id, items made by hand at the counter, feeds whose numbering goes back, other regions' records, another applicant in a new version, ids issued again, impossible appointments, statuses never pushed); the verdict is the model check of what must hold whatever they say.")
    var lyingPeers = false
    @Option(help: "Seed of the traffic and of the peers' lies (a run can be repeated).") var seed: UInt64 = 20210911
    @Flag(help: "An active/standby pair: two daemons on a private PostgreSQL (initdb; Debian package postgresql), the leader killed, frozen and stopped during the run, each takeover timed.")
    var pair = false
    @Option(help: "With --pair: the faults, in order, spread over the run: kill, freeze, stop (the leader), restart-db (PostgreSQL restarted as after a crash), partition (the leader's link to the database cut while it still reaches the portal and the halls), freeze-mid-batch (the leader frozen right after it took a batch of new creates, before sending any, past the lease and the halls' key retention); these two need root: each daemon runs in a network namespace of its own.")
    var pairFaults: String = "kill,freeze,stop"
    @Option(help: "With --pair-faults partition: seconds the leader's link to the database stays cut; default: the lease's TTL + 4.")
    var partitionSeconds: Double?
    @Flag(help: "With --pair: the daemons reach PostgreSQL through PgBouncer in transaction mode (a private one; Debian package pgbouncer), their statements not prepared (store.preparedStatements false).")
    var pgbouncer = false
    @Flag(help: .hidden) var unsafeWithoutFence = false
    @Option(help: "With --pair: seconds a frozen leader stays frozen (SIGSTOP … SIGCONT); default: the lease's TTL + 2, and for freeze-mid-batch the TTL + the key retention + 6.")
    var freezeSeconds: Double?
    @Option(help: "With --pair: seconds each hall takes to answer (on top of the faults): a slow hall, whose sends queue in the leader.")
    var hallLatency: Double = 0
    @Option(help: "With --pair: the key retention the daemons are configured with, when it is to differ from the halls' (--key-retention): a site whose halls forget keys sooner than it was told.")
    var daemonKeyRetention: Double?

    func run() throws {
        if pair { return try DemoPair(demo: self).run() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-demo-\(UUID().uuidString.prefix(8))").path
        // It holds generated secrets and personal data: private to this user, and gone at the end.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer {
            if keepState { print("state kept in \(directory)") } else { try? FileManager.default.removeItem(atPath: directory) }
        }
        let site = try StandInSite(directory: directory, options: .init(lag: lag, faults: noFaults ? .none : .unkind, keyRetention: keyRetention, seed: seed))
        defer { site.stop() }
        let configPath = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/hallsync.sqlite",
                                                     interval: 1, keyRetention: keyRetention)
        if lyingPeers {
            // A quiet rewind is found by the sweep of old open items: every 15 s here, not daily.
            try (try String(contentsOfFile: configPath, encoding: .utf8).replacingOccurrences(of: "  retryCap: 2", with: "  retryCap: 2\n  sweepInterval: 15"))
                .write(toFile: configPath, atomically: true, encoding: .utf8)
            site.startLying(seed: seed)
        }
        // Every line the daemon logs is also kept, for the check that no personal value is in it.
        let logged = LoggedLines()
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        let logger = Logger(label: "hallsync") { label in
            MultiplexLogHandler([JournalLogHandler(label: label, level: level),
                                 JournalLogHandler(label: label, level: .debug, write: { logged.append($0) })])
        }
        // The summary web page beside it, on a free loopback port, with two demo accounts.
        try (try String(contentsOfFile: configPath, encoding: .utf8) + "web:\n  listen: 127.0.0.1\n  port: \(webPort)\n  database: \(directory)/web.sqlite\n")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let configuration = try Configuration.load(path: configPath)
        let lock = try InstanceLock.acquire(forDatabase: configuration.database)
        defer { withExtendedLifetime(lock) {} }
        let engine = try SyncEngine(configuration: configuration, logger: logger)
        let web = try DemoWeb(configuration: configuration, logger: logger)
        print("""
        hallsync demo — state in \(directory)
          portal    \(site.portal.baseURL)   (lag \(Int(lag)) s, faults \(noFaults ? "off" : "on"))
          intake    \(site.intake.baseURL)
          licensing \(site.licensing.baseURL)
          traffic   \(backlog > 0 ? "a backlog of \(backlog), then " : "")\(rate)/s for \(Int(duration)) s, then up to \(Int(drainTimeout)) s to catch up; Ctrl-C ends the traffic early
          web page  \(web.address)   (预约数据汇总\(serve ? "; stays up after the verification until Ctrl-C" : "; --serve keeps it up after the verification"))
                    \(web.accounts.map { "\($0.name) / \($0.password)  (\($0.scope))" }.joined(separator: "\n            "))
        """)

        let daemon = Daemon(engine: engine, logger: logger)
        let trafficStop = StopSignal()
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        interrupt.setEventHandler { print("\ninterrupted: ending the traffic, then verifying"); trafficStop.set() }
        interrupt.resume()

        let latest = LatestReport()
        let reporter = StatusReporter(version: hallsyncVersion, configPath: configPath, logger: logger)
        daemon.onCycle = { report, engine in
            latest.set(report)
            reporter.cycleFinished(report, engine: engine)
        }
        if backlog > 0 {
            let publishing = Date()
            for _ in 0..<backlog { site.generator.step(rescheduleRate: 0) }
            print(String(format: "backlog: %d reservations published in %.1f s before the daemon starts", backlog, Date().timeIntervalSince(publishing)))
        }
        let daemonThread = Thread { daemon.run(handleSignals: false) }
        daemonThread.start()

        let started = Date()
        var lastPrint = Date.distantPast
        var generated = 0
        var staffCredit = 0.0, cancelCredit = 0.0
        while Date().timeIntervalSince(started) < duration, !trafficStop.isSet {
            let due = Int(Date().timeIntervalSince(started) * rate)
            while generated < due {
                site.generator.step(rescheduleRate: 0.1)
                generated += 1
                staffCredit += staffRate
                cancelCredit += cancelRate
                while staffCredit >= 1 { site.generator.staffActOnOne(in: [site.intake, site.licensing]); staffCredit -= 1 }
                while cancelCredit >= 1 { site.generator.cancelOne(); cancelCredit -= 1 }
                if lyingPeers, generated % 8 == 0 { site.generator.lie() }
            }
            if Date().timeIntervalSince(lastPrint) >= 1 {
                lastPrint = Date()
                printProgress(latest.get(), elapsed: Date().timeIntervalSince(started), generated: site.generator.generatedCount)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let trafficEnded = Date()
        // Catch up: everything published is below the lag horizon and nothing is pending (with lying
        // peers, also a sweep of old open items after the last rewind).
        let horizonNeeded = Date().addingTimeInterval(lag + 3 + (lyingPeers ? 16 : 0))
        while Date().timeIntervalSince(trafficEnded) < drainTimeout {
            if let r = latest.get(), r.startedAt > horizonNeeded, r.counts.pendingSends.values.reduce(0, +) == 0, r.caughtUp { break }
            if Date().timeIntervalSince(lastPrint) >= 1 {
                lastPrint = Date()
                printProgress(latest.get(), elapsed: Date().timeIntervalSince(started), generated: site.generator.generatedCount)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        daemon.requestStop()
        while !daemonThread.isFinished { Thread.sleep(forTimeInterval: 0.05) }
        let elapsed = Date().timeIntervalSince(started)

        let attention = try engine.store.read { tx in try tx.openAttentionCodes() }
        let verdict = site.verify(attention: attention)
        let counts = try engine.store.read { tx in try tx.counts() }
        print("\n" + Self.verificationLines(verdict, counts: counts, site: site))
        print("""
          throughput               \(String(format: "%.1f", Double(verdict.delivered) / elapsed)) copies/s over \(String(format: "%.0f", elapsed)) s
          peak memory              \(peakMemoryMiB()) MiB
        """)
        var passed = verdict.passed
        if lyingPeers {
            // The peers lied: what must hold whatever they said, not each reservation's exact fate.
            let copies = try engine.store.read { tx in try tx.recordedCopies() }.map { ModelCheck.Copy(reservationId: $0.reservationId, target: $0.target, itemNo: $0.itemNo) }
            let check = site.modelCheck(copies: copies, attention: attention)
            let leaks = PersonalDataLeaks.find(in: logged.all.joined() + ((try? String(contentsOfFile: engine.configuration.operations.statusFile, encoding: .utf8)) ?? ""),
                                               records: site.portal.allReservations())
            print("""
              lying peers (model check)  \(check)
              personal data in log/status \(leaks.count) (\(logged.count) log lines checked)
            """)
            for violation in check.violations.prefix(20) { print("  ! \(violation)") }
            for leak in leaks.prefix(5) { print("  ! \(leak)") }
            passed = check.passed && leaks.isEmpty
        } else {
            for problem in verdict.problems.prefix(20) { print("  ! \(problem)") }
        }
        reporter.stateChanged(to: "stopped", engine: engine)
        print("\nthe status file, as `hallsync status` renders it:")
        print(MonitoringCheck.evaluate(fileAt: engine.configuration.operations.statusFile).render()
            .split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        if lyingPeers {
            print(passed ? "PASS: whatever the peers said, no item of two reservations, nothing twice, every outcome mirrored or shown, nothing of another region, no personal data in the log"
                  : "FAIL: the model check found what the peers' lies made hallsync do (above)")
        } else {
            print(verdict.passed ? "PASS: 0 lost, 0 duplicated, every status right"
                  : "FAIL: \(verdict.lost) lost, \(verdict.duplicated) duplicated, \(verdict.statusWrong) statuses wrong, \(verdict.refusedPushes) pushes refused")
        }
        if serve {
            print("\nthe web page stays up at \(web.address) (Ctrl-C ends it)")
            let done = DispatchSemaphore(value: 0)
            let stop = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            stop.setEventHandler { done.signal() }
            stop.resume()
            interrupt.cancel()
            done.wait()
        }
        web.stop()
        if !passed { throw ExitCode(1) }
    }

    /// The verification as both demos print it: what the stand-ins hold against what the
    /// traffic should have produced, and what the peers' faults did.
    static func verificationLines(_ verdict: StandInSite.Verdict, counts: StoreTransaction.Counts, site: StandInSite) -> String {
        """
        verification
          reservations generated   \(verdict.reservations) (\(verdict.phoneOnly) phone-verified only, never sent)
          copies expected          \(verdict.expectedCopies)
          delivered exactly once   \(verdict.delivered)
          lost                     \(verdict.lost)
          duplicated               \(verdict.duplicated)
          unexpected               \(verdict.unexpected)
          wrong content            \(verdict.wrongContent)
          undeliverable, reported  \(counts.undeliverable) on the attention list (\(verdict.notReported) missing)
          attention by reason      \(counts.attentionByCode.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
          staff outcomes           \(verdict.outcomes) (\(verdict.mirrored) mirrored to the other hall by hallsync)
          cancellations            \(verdict.cancellations) carried through and acknowledged
          left for a person        \(verdict.conflictsReported) (conflicting outcomes, cancelled after an outcome)
          reported RECEIVED        \(verdict.received)
          statuses wrong           \(verdict.statusWrong)
          portal pushes            \(site.portal.pushRequestCount) requests, \(site.portal.acceptedPushes.count) accepted, \(site.portal.refusedPushes.count) refused
          answers lost after commit  intake=\(site.intake.lostAnswerCount) licensing=\(site.licensing.lostAnswerCount) portal=\(site.portal.lostAnswerCount)
          requests                 portal=\(site.portal.requestCount) intake=\(site.intake.requestCount) licensing=\(site.licensing.requestCount)
        """
    }

    func printProgress(_ report: SyncEngine.CycleReport?, elapsed: Double, generated: Int) {
        defer { fflush(nil) }   // line by line into a pipe or a file too
        guard let r = report else { print(String(format: "[%5.1fs] generated=%d (first cycle running)", elapsed, generated)); return }
        let pending = r.counts.pendingSends.values.reduce(0, +)
        print(String(format: "[%5.1fs] generated=%d stored=%d in-halls=%d pending=%d attention=%d caught-up=%@", elapsed, generated,
                     r.counts.reservations, r.counts.copiesCreated, pending, r.counts.openAttention, r.caughtUp ? "yes" : "no"))
    }

    func peakMemoryMiB() -> String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return "?" }
        return String(format: "%.0f", kb / 1024)
    }
}

/// Every line the demo's daemon logged.
final class LoggedLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
    var count: Int { lines.withLock { $0.count } }
}

/// The last cycle's report, written by the cycle queue and read by the progress loop.
final class LatestReport: Sendable {
    private let report = Mutex<SyncEngine.CycleReport?>(nil)
    func set(_ r: SyncEngine.CycleReport) { report.withLock { $0 = r } }
    func get() -> SyncEngine.CycleReport? { report.withLock { $0 } }
}

/// The summary web page of the demo: in this process, on loopback, with a clerk of the demo's
/// busiest department and the region's administrator, each with a fresh random password.
final class DemoWeb: @unchecked Sendable {
    struct DemoAccount { let name: String; let password: String; let scope: String }

    let accounts: [DemoAccount]
    let address: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(configuration: HallsyncEngine.Configuration, logger: Logger) throws {
        let store = AccountStore(web: try WebStore(path: configuration.web.database))
        var made: [DemoAccount] = []
        for (name, account, scope) in [("demo-clerk", Account(name: "demo-clerk", role: .staff, departments: ["11371002MB0000000B"]), "staff of department 11371002MB0000000B"),
                                       ("demo-admin", Account(name: "demo-admin", role: .admin, region: configuration.portal.regionCode), "administrator of region \(configuration.portal.regionCode)")] {
            let password = "demo-" + String(UUID().uuidString.prefix(12)).lowercased()
            _ = try store.add(account, password: password)
            made.append(DemoAccount(name: name, password: password, scope: scope))
        }
        accounts = made
        let server = try WebServer(configuration: configuration, logger: logger)
        let port = Mutex<Int?>(nil)
        let group = ServiceGroup(configuration: .init(services: [try server.makeApplication { bound in port.withLock { $0 = bound } }], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        let deadline = Date().addingTimeInterval(20)
        while port.withLock({ $0 }) == nil, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        address = "http://127.0.0.1:\(port.withLock { $0 } ?? 0)/"
    }

    /// Ends the page gracefully (open requests finish).
    func stop() {
        let done = DispatchSemaphore(value: 0)
        let group = self.group
        Task { await group.triggerGracefulShutdown(); done.signal() }
        done.wait()
        _ = task
    }
}
