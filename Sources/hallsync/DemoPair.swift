import ArgumentParser
import Foundation
import HallsyncEngine
import HallsyncOperations
import HallsyncPostgres
import HallsyncStandIns
import HallsyncStore
#if canImport(Glibc)
import Glibc
#endif

/// `hallsync demo --pair`: two daemons (real processes) on a private PostgreSQL, faults on, the
/// leader killed (SIGKILL), frozen (SIGSTOP longer than the lease) and stopped (SIGTERM) while
/// traffic flows; each takeover timed; then the usual verification.
struct DemoPair {
    let demo: Demo

    /// The lease in the demo: shorter than production's 15 s so that the run stays brief.
    static let ttl = 4.0
    static let renew = 1.0
    static let poll = 0.5

    func run() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-demo-pair-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer {
            if demo.keepState { print("state kept in \(directory)") } else { try? FileManager.default.removeItem(atPath: directory) }
        }
        let cluster: PrivatePostgres
        do {
            cluster = try PrivatePostgres.start(database: "hallsync")
        } catch {
            print("cannot start a private PostgreSQL for the pair: \(error)")
            throw ExitCode(1)
        }
        defer { cluster.stop() }
        let site = try StandInSite(directory: directory, options: .init(lag: demo.lag, faults: demo.noFaults ? .none : .unkind,
                                                                        keyRetention: demo.keyRetention, seed: demo.seed))
        defer { site.stop() }
        if demo.hallLatency > 0 {
            for hall in [site.intake, site.licensing] {
                var faults = hall.faults
                faults.latency = demo.hallLatency...demo.hallLatency
                hall.faults = faults
            }
        }
        let region = site.portal.regionCode
        var daemons: [PairDaemon] = []
        for name in ["a", "b"] {
            let home = directory + "/" + name
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let config = try site.writeConfiguration(to: home + "/hallsync.yaml", database: home + "/hallsync.sqlite", interval: 1,
                                                     keyRetention: demo.daemonKeyRetention ?? demo.keyRetention)
            try (try String(contentsOfFile: config, encoding: .utf8) + """
                store:
                  kind: postgresql
                  connection: "\(cluster.conninfo)"
                  holder: daemon-\(name)
                  leaseTTL: \(Self.ttl)
                  renewInterval: \(Self.renew)
                  standbyPoll: \(Self.poll)

                """).write(toFile: config, atomically: true, encoding: .utf8)
            daemons.append(PairDaemon(name: "daemon-\(name)", config: config, log: home + "/daemon.log", logLevel: demo.logLevel,
                                      unfenced: demo.unsafeWithoutFence))
        }
        for daemon in daemons { try daemon.start() }
        defer { for daemon in daemons { daemon.terminate() } }
        let lease = LeaseStore(try cluster.connect())
        try lease.migrate()
        print("""
        hallsync demo --pair — state in \(directory)
          database  private PostgreSQL (initdb), socket in \(cluster.directory)
          daemons   daemon-a, daemon-b (processes of this binary), lease TTL \(Self.ttl) s, renewal every \(Self.renew) s, standby poll \(Self.poll) s
          portal    \(site.portal.baseURL)   (lag \(Int(demo.lag)) s, faults \(demo.noFaults ? "off" : "on"))
          intake    \(site.intake.baseURL)
          licensing \(site.licensing.baseURL)
          traffic   \(demo.rate)/s for \(Int(demo.duration)) s; the leader is killed, frozen and stopped along the way
        """)
        func leader() -> (holder: String, epoch: Int)? {
            do {
                guard let status = try lease.current(region: region), status.expiresAt > status.databaseTime else { return nil }
                return (status.holder, status.epoch)
            } catch {
                // The database restarted: the demo's own connection reconnects too.
                _ = try? lease.connection.reconnect()
                return nil
            }
        }
        // The first leader.
        let firstDeadline = Date().addingTimeInterval(30)
        while leader() == nil, Date() < firstDeadline { Thread.sleep(forTimeInterval: 0.05) }
        guard let first = leader() else {
            print("FAIL: no daemon took the lease within 30 s; see \(daemons.map(\.log).joined(separator: ", "))")
            throw ExitCode(1)
        }
        print("leader    \(first.holder) (epoch \(first.epoch))")

        let faults = demo.pairFaults.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var sequence: [Fault] = []
        for name in faults {
            guard let fault = Fault(name: name) else {
                print("--pair-faults: \(name) is not a fault; give kill, freeze or stop, separated by commas")
                throw ExitCode(1)
            }
            sequence.append(fault)
        }
        // Spread over the first three quarters of the run, leaving time for each takeover.
        let schedule = sequence.enumerated().map { (at: 0.15 + 0.6 * Double($0.offset) / Double(max(1, sequence.count - 1)), fault: $0.element) }
        var takeovers: [(fault: Fault, from: String, to: String, seconds: Double)] = []
        var next = 0
        let started = Date()
        var generated = 0
        var staffCredit = 0.0, cancelCredit = 0.0
        var pendingRestart: (daemon: PairDaemon, at: Date)?
        var pendingContinue: (daemon: PairDaemon, at: Date)?
        var watching: (fault: Fault, from: String, epoch: Int, since: Date)?
        var lastPrint = Date.distantPast
        while Date().timeIntervalSince(started) < demo.duration {
            let elapsed = Date().timeIntervalSince(started)
            let due = Int(elapsed * demo.rate)
            while generated < due {
                site.generator.step(rescheduleRate: 0.1)
                generated += 1
                staffCredit += demo.staffRate
                cancelCredit += demo.cancelRate
                while staffCredit >= 1 { site.generator.staffActOnOne(in: [site.intake, site.licensing]); staffCredit -= 1 }
                while cancelCredit >= 1 { site.generator.cancelOne(); cancelCredit -= 1 }
            }
            if watching == nil, next < schedule.count, elapsed >= schedule[next].at * demo.duration,
               let current = leader(), let victim = daemons.first(where: { $0.name == current.holder }) {
                let fault = schedule[next].fault
                next += 1
                switch fault {
                case .kill:
                    victim.signal(SIGKILL)
                    // Restarted as systemd would (Restart=always), after the lease had time to pass to the other.
                    pendingRestart = (victim, Date().addingTimeInterval(Self.ttl + 1))
                case .freeze:
                    victim.signal(SIGSTOP)
                    pendingContinue = (victim, Date().addingTimeInterval(demo.freezeSeconds ?? Self.ttl + 2))
                case .stop:
                    victim.signal(SIGTERM)
                    pendingRestart = (victim, Date().addingTimeInterval(3))
                case .restartDatabase:
                    // As a crash would: no checkpoint, every connection cut, recovery at start.
                    try cluster.restart(immediate: true)
                }
                watching = (fault, current.holder, current.epoch, Date())
                print(String(format: "[%5.1fs] %@ %@ the leader %@", elapsed, fault.rawValue, fault == .restartDatabase ? "under" : "to", current.holder))
            }
            // A new epoch is a takeover, whoever won it (the standby, or the killed daemon restarted).
            if let w = watching, let now = leader(), now.epoch > w.epoch {
                let seconds = Date().timeIntervalSince(w.since)
                takeovers.append((w.fault, w.from, now.holder, seconds))
                print(String(format: "[%5.1fs] %@ leads (epoch %d), %.2f s after the %@", Date().timeIntervalSince(started), now.holder, now.epoch, seconds, w.fault.rawValue))
                watching = nil
            }
            if let restart = pendingRestart, Date() >= restart.at {
                restart.daemon.waitForExit()
                try restart.daemon.start()
                pendingRestart = nil
            }
            if let resume = pendingContinue, Date() >= resume.at {
                resume.daemon.signal(SIGCONT)
                pendingContinue = nil
            }
            if Date().timeIntervalSince(lastPrint) >= 2 {
                lastPrint = Date()
                print(String(format: "[%5.1fs] generated=%d intake=%d licensing=%d leader=%@", elapsed, site.generator.generatedCount,
                             site.intake.allItems().count, site.licensing.allItems().count, leader()?.holder ?? "none"))
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        if let resume = pendingContinue { resume.daemon.signal(SIGCONT) }
        if let restart = pendingRestart { restart.daemon.waitForExit(); try restart.daemon.start() }

        // Catch up: until the verification holds (or the time allowed is spent).
        let store = try Store(postgres: PostgresStoreSettings(conninfo: cluster.conninfo, region: region))
        func verdict() throws -> StandInSite.Verdict {
            site.verify(attention: try store.read { tx in try tx.openAttentionCodes() })
        }
        let trafficEnded = Date()
        var result = try verdict()
        while Date().timeIntervalSince(trafficEnded) < demo.drainTimeout {
            if Date().timeIntervalSince(trafficEnded) > demo.lag + 3 {
                result = try verdict()
                if result.passed { break }
            }
            Thread.sleep(forTimeInterval: 1)
        }
        // Each daemon's status, as `hallsync status` renders it: one leads, the other stands by.
        for name in ["a", "b"] {
            let check = MonitoringCheck.evaluate(fileAt: directory + "/" + name + "/status.json")
            print("\nthe status of daemon-\(name), as `hallsync status` renders it:")
            print(check.render().split(separator: "\n").prefix(4).map { "  " + $0 }.joined(separator: "\n"))
        }
        for daemon in daemons { daemon.signal(SIGTERM) }
        for daemon in daemons { daemon.waitForExit() }
        result = try verdict()
        let counts = try store.read { tx in try tx.counts() }
        print("""

        takeovers (leader lost → the other leads, by the lease's epoch)
        \(takeovers.map { String(format: "  %@ of %@ → %@ in %.2f s", $0.fault.rawValue, $0.from, $0.to, $0.seconds) }.joined(separator: "\n"))

        \(Demo.verificationLines(result, counts: counts, site: site))
        """)
        for problem in result.problems.prefix(20) { print("  ! \(problem)") }
        // A database restart also waits for the server to come back (crash recovery).
        let allTakeovers = takeovers.count == schedule.count && takeovers.allSatisfy { $0.seconds <= Self.ttl + 2 + ($0.fault == .restartDatabase ? 5 : 0) }
        if !allTakeovers { print("  ! not every fault was followed by a takeover within TTL + 2 s (\(Self.ttl + 2) s; a database restart 5 s more)") }
        if result.passed && allTakeovers {
            print("PASS: 0 lost, 0 duplicated, every status right; \(takeovers.count) takeovers, the slowest \(String(format: "%.2f", takeovers.map(\.seconds).max() ?? 0)) s")
        } else {
            print("FAIL: \(result.lost) lost, \(result.duplicated) duplicated, \(result.statusWrong) statuses wrong; logs in \(daemons.map(\.log).joined(separator: ", ")) (--keep-state keeps them)")
            throw ExitCode(1)
        }
    }
}

/// What is done to the leader.
enum Fault: String {
    case kill = "SIGKILL", freeze = "SIGSTOP", stop = "SIGTERM", restartDatabase = "pg_ctl restart -m immediate"

    init?(name: String) {
        switch name {
        case "kill": self = .kill
        case "freeze": self = .freeze
        case "stop": self = .stop
        case "restart-db": self = .restartDatabase
        default: return nil
        }
    }
}

/// One daemon of the demo's pair: `hallsync run` as a child process of this one.
final class PairDaemon {
    let name: String
    let config: String
    let log: String
    let logLevel: String
    let unfenced: Bool
    private var process: Process?

    init(name: String, config: String, log: String, logLevel: String, unfenced: Bool) {
        self.name = name
        self.config = config
        self.log = log
        self.logLevel = logLevel
        self.unfenced = unfenced
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        process.arguments = ["run", "--config", config, "--log-level", logLevel]
        if unfenced {
            process.environment = ProcessInfo.processInfo.environment.merging([PairMember.unfencedForTestsVariable: "1"]) { $1 }
        }
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
    }

    func signal(_ number: Int32) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, number)
    }

    func waitForExit() {
        process?.waitUntilExit()
    }

    /// At the end, whatever state it is in: continued if frozen, stopped, waited for.
    func terminate() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}
