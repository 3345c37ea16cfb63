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
    /// How long a request let through by the gate just before the trust ended may take to reach the
    /// hall (a connection on a veth link, the server's thread scheduled on a busy machine).
    static let wire = 0.25

    func run() throws {
        // The faults first: a partition needs namespaces, made before anything listens.
        var sequence: [Fault] = []
        for name in demo.pairFaults.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let fault = Fault(name: name) else {
                print("--pair-faults: \(name) is not a fault; give kill, freeze, stop, restart-db or partition, separated by commas")
                throw ExitCode(1)
            }
            sequence.append(fault)
        }
        let partitioned = sequence.contains(.partition)
        if partitioned, let reason = PairNetwork.unavailableReason {
            print("--pair-faults partition: \(reason)")
            throw ExitCode(1)
        }
        if partitioned && demo.pgbouncer {
            print("--pgbouncer and --pair-faults partition do not go together: PgBouncer listens on a Unix socket, which the daemons' network namespaces do not reach")
            throw ExitCode(1)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-demo-pair-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer {
            if demo.keepState { print("state kept in \(directory)") } else { try? FileManager.default.removeItem(atPath: directory) }
        }
        // Each daemon in a network namespace of its own, with a link to the database and one to
        // the portal and the halls; removed last, after the daemons have ended.
        var network: PairNetwork?
        if partitioned {
            do {
                network = try PairNetwork.create(members: 2)
            } catch {
                print("cannot make the network namespaces for --pair-faults partition: \(error)")
                throw ExitCode(1)
            }
        }
        defer { network?.remove() }
        let cluster: PrivatePostgres
        do {
            cluster = try PrivatePostgres.start(database: "hallsync", tcp: network?.members.map {
                PrivatePostgres.TCPAccess(address: $0.databaseAddress, clients: $0.databaseClient + "/32")
            } ?? [])
        } catch {
            print("cannot start a private PostgreSQL for the pair: \(error)")
            throw ExitCode(1)
        }
        defer { cluster.stop() }
        var bouncer: PrivatePgBouncer?
        if demo.pgbouncer {
            do {
                bouncer = try PrivatePgBouncer.start(in: cluster)
            } catch {
                print("cannot start PgBouncer in front of the pair's PostgreSQL: \(error)")
                throw ExitCode(1)
            }
        }
        defer { bouncer?.stop() }
        let site = try StandInSite(directory: directory, options: .init(lag: demo.lag, faults: demo.noFaults ? .none : .unkind,
                                                                        keyRetention: demo.keyRetention, seed: demo.seed,
                                                                        host: network?.standInAddress ?? "127.0.0.1"))
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
        for (index, name) in ["a", "b"].enumerated() {
            let home = directory + "/" + name
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let config = try site.writeConfiguration(to: home + "/hallsync.yaml", database: home + "/hallsync.sqlite", interval: 1,
                                                     keyRetention: demo.daemonKeyRetention ?? demo.keyRetention)
            let connection = network.map { cluster.conninfo(address: $0.members[index].databaseAddress) } ?? bouncer?.conninfo ?? cluster.conninfo
            var text = try String(contentsOfFile: config, encoding: .utf8)
            if network != nil {
                // The halls are slow to write around a partition (PartitionStaging): no request times
                // out for that (the gate still caps each to what is left of the lease's trust).
                text = text.split(separator: "\n", omittingEmptySubsequences: false)
                    .map { $0.hasPrefix("  requestTimeout:") ? "  requestTimeout: 10" : $0 }.joined(separator: "\n")
            }
            try (text + """
                store:
                  kind: postgresql
                  connection: "\(connection)"
                  holder: daemon-\(name)
                  leaseTTL: \(Self.ttl)
                  renewInterval: \(Self.renew)
                  standbyPoll: \(Self.poll)
                  preparedStatements: \(bouncer == nil)\(network == nil ? "" : """

                  tls: disable    # over a veth link of this machine to the private cluster, which has no certificate
                """)

                """).write(toFile: config, atomically: true, encoding: .utf8)
            daemons.append(PairDaemon(name: "daemon-\(name)", config: config, log: home + "/daemon.log", logLevel: demo.logLevel,
                                      unfenced: demo.unsafeWithoutFence,
                                      launcher: network.map { $0.command(in: index, []) } ?? []))
        }
        for daemon in daemons { try daemon.start() }
        defer { for daemon in daemons { daemon.terminate() } }
        let lease = LeaseStore(try cluster.connect())
        try lease.migrate()
        let reached = network.map { network in
            "over TCP from the daemons' namespaces (\(network.members.map(\.databaseAddress).joined(separator: ", ")))"
        } ?? bouncer.map { "through PgBouncer in transaction mode, socket in \($0.directory)" } ?? "the daemons on the socket"
        print("""
        hallsync demo --pair — state in \(directory)
          database  private PostgreSQL (initdb), socket in \(cluster.directory); \(reached)
          daemons   daemon-a, daemon-b (processes of this binary), lease TTL \(Self.ttl) s, renewal every \(Self.renew) s, standby poll \(Self.poll) s\(network.map { network in
                "\n            each in a network namespace of its own: daemon-a \(network.members[0].siteAddress), daemon-b \(network.members[1].siteAddress) as the halls see them" } ?? "")
          portal    \(site.portal.baseURL)   (lag \(Int(demo.lag)) s, faults \(demo.noFaults ? "off" : "on"))
          intake    \(site.intake.baseURL)
          licensing \(site.licensing.baseURL)
          traffic   \(demo.rate)/s for \(Int(demo.duration)) s; along the way: \(sequence.map(\.rawValue).joined(separator: ", "))
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
        var partitions: [PartitionWatch] = []
        /// The partition being set up (its staging), or nil.
        var staging: PartitionStaging?
        /// Brings a cut link back when its time has come; then watches the cut daemon's status for standby.
        func observePartitions() throws {
            for partition in partitions {
                if partition.restoredAt == nil, Date() >= partition.restoreAt, let network {
                    try network.restoreDatabaseLink(of: partition.index)
                    partition.restored(logSize: partition.daemon.logSize)
                    partition.staging?.undo()
                    print(String(format: "[%5.1fs] the database link of %@ is back", Date().timeIntervalSince(started), partition.daemon.name))
                }
                if let restored = partition.restoredAt, partition.standbyAt == nil,
                   let (role, written) = partition.daemon.statusRole(), role == "standby", written > restored {
                    partition.standbyAt = Date()
                    print(String(format: "[%5.1fs] %@ stands by (its status, %.2f s after its link came back)", Date().timeIntervalSince(started),
                                 partition.daemon.name, Date().timeIntervalSince(restored)))
                }
            }
        }
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
            // A partition is set up first (PartitionStaging): the cut comes when the leader has a
            // batch of sends under way.
            if watching == nil, next < schedule.count, elapsed >= schedule[next].at * demo.duration,
               let current = leader(), let victim = daemons.first(where: { $0.name == current.holder }),
               schedule[next].fault != .partition || partitions.allSatisfy({ $0.restoredAt != nil }) && network.map({ network in
                   let address = network.members[daemons.firstIndex { $0 === victim }!].siteAddress
                   if staging == nil { staging = PartitionStaging(site: site) }
                   return staging!.readyToCut(leader: address, log: { print(String(format: "[%5.1fs] %@", Date().timeIntervalSince(started), $0)) })
               }) ?? true {
                let fault = schedule[next].fault
                next += 1
                let faultAt = Date()
                // A partition's watch ends at the next fault (after which the cut daemon may lead again).
                for partition in partitions where partition.until == nil { partition.until = faultAt }
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
                case .partition:
                    // Its link to the database only: it still reaches the portal and the halls.
                    guard let network, let index = daemons.firstIndex(where: { $0 === victim }) else { break }
                    try network.cutDatabaseLink(of: index)
                    let partition = PartitionWatch(daemon: victim, index: index, address: network.members[index].siteAddress,
                                                   cutStarted: faultAt, cutDone: Date(),
                                                   restoreAt: Date().addingTimeInterval(demo.partitionSeconds ?? Self.ttl + 4))
                    partition.staging = staging
                    staging = nil
                    partitions.append(partition)
                }
                watching = (fault, current.holder, current.epoch, faultAt)
                print(String(format: "[%5.1fs] %@ %@ the leader %@", elapsed, fault.rawValue, fault == .restartDatabase ? "under" : fault == .partition ? "of" : "to", current.holder))
            }
            // A new epoch is a takeover, whoever won it (the standby, or the killed daemon restarted).
            if let w = watching, let now = leader(), now.epoch > w.epoch {
                let seconds = Date().timeIntervalSince(w.since)
                takeovers.append((w.fault, w.from, now.holder, seconds))
                print(String(format: "[%5.1fs] %@ leads (epoch %d), %.2f s after the %@", Date().timeIntervalSince(started), now.holder, now.epoch, seconds, w.fault.rawValue))
                if w.fault == .partition, let partition = partitions.last { partition.takeover = (now.holder, seconds) }
                watching = nil
            }
            try observePartitions()
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
        var lastVerdict = Date.distantPast
        while Date().timeIntervalSince(trafficEnded) < demo.drainTimeout {
            // A cut link still to come back, a cut daemon still to stand by: watched while the other catches up.
            try observePartitions()
            if Date().timeIntervalSince(trafficEnded) > demo.lag + 3, Date().timeIntervalSince(lastVerdict) >= 1 {
                lastVerdict = Date()
                result = try verdict()
                if result.passed && partitions.allSatisfy({ $0.standbyAt != nil }) { break }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        for partition in partitions where partition.restoredAt == nil {
            try network?.restoreDatabaseLink(of: partition.index)
            partition.restored(logSize: partition.daemon.logSize)
        }
        staging?.undo()
        for partition in partitions { partition.staging?.undo() }
        // Each daemon's status, as `hallsync status` renders it: one leads, the other stands by.
        for name in ["a", "b"] {
            let check = MonitoringCheck.evaluate(fileAt: directory + "/" + name + "/status.json")
            print("\nthe status of daemon-\(name), as `hallsync status` renders it:")
            print(check.render().split(separator: "\n").prefix(4).map { "  " + $0 }.joined(separator: "\n"))
        }
        let stoppedAt = Date()
        for partition in partitions where partition.until == nil { partition.until = stoppedAt }
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
        // Each cut leader: what reached the portal and the halls from it after the cut, judged
        // against the end of its trust (the last renewal it can have had started before the cut).
        let trustSpan = Self.ttl - PairMember.trustMargin(ttl: Self.ttl)
        var partitionsPassed = true
        if !partitions.isEmpty {
            print("""

            partitions (the leader's link to the database cut, its links to the portal and the halls not; its trust ends \
            TTL − margin = \(String(format: "%.2f", trustSpan)) s after the cut at the latest)
            """)
        }
        for partition in partitions {
            let cut = partition.cutStarted.timeIntervalSince1970
            let trustEnds = partition.cutDone.timeIntervalSince1970 + trustSpan
            let until = partition.until?.timeIntervalSince1970 ?? .infinity
            let all = site.arrivals(from: partition.address)
            let after = all.filter { $0.at >= cut && $0.at <= until }
            let before = all.filter { $0.at < cut }
            // A request let through just before the trust ended is on the wire for a moment.
            let late = after.filter { $0.at > trustEnds + Self.wire }
            let restored = partition.restoredAt?.timeIntervalSince1970 ?? .infinity
            let afterRestore = after.filter { $0.at >= restored }
            let refusal = partition.refusedWrite()
            print(String(format: "  %@ (%@) cut for %.2f s: %d requests from it before the cut; %d reached the portal and the halls after the cut, the last %@; %d after its trust ended (%.2f s after the cut), %d after its link came back",
                         partition.daemon.name, partition.address, restored - cut, before.count, after.count,
                         after.last.map { String(format: "%.2f s after the cut", $0.at - cut) } ?? "none", late.count, trustEnds - cut, afterRestore.count))
            if let (holder, seconds) = partition.takeover {
                print(String(format: "    %@ led %.2f s after the cut", holder, seconds))
            }
            if let standby = partition.standbyAt {
                print(String(format: "    %@ stood by %.2f s after its link came back (its status file)", partition.daemon.name, standby.timeIntervalSince1970 - restored))
            }
            print("    its first write after the link came back: \(refusal ?? "none refused in its log")")
            let refusals = ["info", "debug", "trace"].contains(demo.logLevel)
                ? "\(partition.gateRefusals()) sends refused by its gate after the cut (NOT_LEADER in its log)"
                : "its gate's refusals are counted at --log-level info"
            print("    \(refusals)")
            for request in late.prefix(5) {
                print(String(format: "  ! %@ %@ from %@ %.3f s after the cut, after its trust ended", request.method, request.path, partition.daemon.name, request.at - cut))
            }
            var problems: [String] = []
            if !late.isEmpty { problems.append("\(late.count) requests from the cut leader after its trust ended") }
            if let (holder, seconds) = partition.takeover {
                if holder == partition.daemon.name { problems.append("the cut daemon itself holds the new epoch") }
                if seconds > Self.ttl + 2 { problems.append(String(format: "the other led %.2f s after the cut, later than TTL + 2 s", seconds)) }
            } else {
                problems.append("no new epoch after the cut")
            }
            if partition.standbyAt == nil { problems.append("\(partition.daemon.name) never said standby after its link came back") }
            for problem in problems { print("  ! \(problem)") }
            partitionsPassed = partitionsPassed && problems.isEmpty
        }
        var bouncerPassed = true
        if let bouncer {
            do {
                let figures = try bouncer.figures()
                print("\nPgBouncer     pool_mode \(figures.poolMode), \(figures.transactions) transactions and \(figures.queries) statements passed through it")
                bouncerPassed = figures.poolMode == "transaction" && figures.transactions > 0
            } catch {
                print("\n  ! PgBouncer's console could not be read: \(error)")
                bouncerPassed = false
            }
        }
        // A database restart also waits for the server to come back (crash recovery).
        let allTakeovers = takeovers.count == schedule.count && takeovers.allSatisfy { $0.seconds <= Self.ttl + 2 + ($0.fault == .restartDatabase ? 5 : 0) }
        if !allTakeovers { print("  ! not every fault was followed by a takeover within TTL + 2 s (\(Self.ttl + 2) s; a database restart 5 s more)") }
        if result.passed && allTakeovers && partitionsPassed && bouncerPassed {
            print("PASS: 0 lost, 0 duplicated, every status right; \(takeovers.count) takeovers, the slowest \(String(format: "%.2f", takeovers.map(\.seconds).max() ?? 0)) s")
        } else {
            print("FAIL: \(result.lost) lost, \(result.duplicated) duplicated, \(result.statusWrong) statuses wrong\(partitionsPassed ? "" : ", a partition's check failed")\(bouncerPassed ? "" : ", PgBouncer's figures wrong"); logs in \(daemons.map(\.log).joined(separator: ", ")) (--keep-state keeps them)")
            throw ExitCode(1)
        }
    }
}

/// What is done to the leader.
enum Fault: String {
    case kill = "SIGKILL", freeze = "SIGSTOP", stop = "SIGTERM", restartDatabase = "pg_ctl restart -m immediate"
    case partition = "cut database link"

    init?(name: String) {
        switch name {
        case "kill": self = .kill
        case "freeze": self = .freeze
        case "stop": self = .stop
        case "restart-db": self = .restartDatabase
        case "partition": self = .partition
        default: return nil
        }
    }
}

/// Sets a partition up so that the cut meets the leader with a full batch of sends under way, which
/// needs no database and which only its lease's trust can stop (otherwise a leader cut between
/// two cycles just waits for the database, and the trust is never put to the test):
///
/// 1. the halls refuse creates (503, retried later) for ``outage`` seconds: a backlog of creates
///    builds in the leader's outbox;
/// 2. at the leader's next cycle (its next read of the portal) creates are taken again and every
///    hall write takes ``writeLatency`` to answer (reads stay quick);
/// 3. the cut comes right after the first writes of that cycle's delivery: its first batch from
///    the outbox (32 sends per hall, 8 in flight) has three more rounds queued, the first of them
///    due about 1.9 s after the cut and the next about 3.8 s after it — after the leader's trust
///    has ended (3 s): its gate must refuse them.
///
/// The halls go back to their faults when the link is back (``undo()``).
final class PartitionStaging {
    /// Seconds the halls refuse creates, for a backlog.
    static let outage = 3.0
    /// Seconds each hall takes to answer a write while staged: under the 2 s that a granted request
    /// always has left of its trust (renewals every second, trust 3 s), so that writes succeed.
    static let writeLatency = 1.9
    /// Seconds after which the cut comes whatever the stage (a leader that never reads the portal).
    static let giveUp = 15.0

    private enum Stage { case backlog(until: Date), waitingForCycle(since: Double), slowed(since: Double) }

    private let site: StandInSite
    private let began = Date()
    private var stage: Stage
    private var saved: [(hall: HallStandIn, faults: Faults)] = []

    init(site: StandInSite) {
        self.site = site
        stage = .backlog(until: began.addingTimeInterval(Self.outage))
        for hall in [site.intake, site.licensing] { hall.createOutage = true }
    }

    /// Whether to cut now the link of the leader whose requests come from `address`.
    func readyToCut(leader address: String, log: (String) -> Void) -> Bool {
        let now = Date()
        if now.timeIntervalSince(began) > Self.giveUp {
            log("the partition's staging took longer than \(Int(Self.giveUp)) s: cut now")
            return true
        }
        switch stage {
        case .backlog(let until):
            if now >= until {
                stage = .waitingForCycle(since: now.timeIntervalSince1970)
                log("the halls made a backlog of creates (\(Int(Self.outage)) s of 503); at the leader's next cycle they write slowly (\(Self.writeLatency) s)")
            }
            return false
        case .waitingForCycle(let since):
            guard site.portal.server.arrivals(from: address).last(where: { $0.method == "GET" }).map({ $0.at > since }) ?? false else { return false }
            for hall in [site.intake, site.licensing] {
                saved.append((hall, hall.faults))
                var faults = hall.faults
                faults.writeLatency = Self.writeLatency...Self.writeLatency
                hall.faults = faults
                hall.createOutage = false
            }
            stage = .slowed(since: now.timeIntervalSince1970)
            return false
        case .slowed(let since):
            // The first round of the delivery has arrived (all of it: 0.1 s after its first write).
            let writes = [site.intake, site.licensing].compactMap { hall in hall.server.arrivals(from: address).first { $0.at > since && $0.method != "GET" } }
            return writes.contains { now.timeIntervalSince1970 > $0.at + 0.1 }
        }
    }

    /// The halls as they were.
    func undo() {
        for hall in [site.intake, site.licensing] { hall.createOutage = false }
        for (hall, faults) in saved { hall.faults = faults }
        saved = []
    }
}

/// One cut of a leader's link to the database, as the demo saw it.
final class PartitionWatch {
    let daemon: PairDaemon
    /// The daemon's index in the pair's network, and its address as the portal and halls see it.
    let index: Int
    let address: String
    /// Just before the link was set down, and once it was.
    let cutStarted: Date
    let cutDone: Date
    let restoreAt: Date
    private(set) var restoredAt: Date?
    /// The size of the daemon's log when the link came back: what it logged since starts there.
    private var logOffset: UInt64 = 0
    /// When its status file first said standby after the link came back.
    var standbyAt: Date?
    /// Who took the lease after the cut, and how long after it.
    var takeover: (holder: String, seconds: Double)?
    /// The next fault (or the end): what the daemon sends later is not this partition's.
    var until: Date?
    /// How the halls were set up for it, undone when the link is back.
    var staging: PartitionStaging?

    /// The size of the daemon's log at the cut.
    private let cutLogOffset: UInt64

    init(daemon: PairDaemon, index: Int, address: String, cutStarted: Date, cutDone: Date, restoreAt: Date) {
        cutLogOffset = daemon.logSize
        self.daemon = daemon
        self.index = index
        self.address = address
        self.cutStarted = cutStarted
        self.cutDone = cutDone
        self.restoreAt = restoreAt
    }

    func restored(logSize: UInt64) {
        restoredAt = Date()
        logOffset = logSize
    }

    /// The first write the daemon logged as refused (NOT_LEADER: the fence) after its link came
    /// back, as its log says it; nil when it logged none.
    func refusedWrite() -> String? {
        guard restoredAt != nil else { return nil }
        return logged(from: logOffset).first { $0.contains("not written:") }.map { String($0.prefix(400)) }
    }

    /// The sends its gate refused after the cut (it logs each at level info: "send will be
    /// retried … error=NOT_LEADER"; the gate refuses only once the trust has ended).
    func gateRefusals() -> Int {
        logged(from: cutLogOffset).filter { $0.contains("send will be retried") && $0.contains("error=NOT_LEADER") }.count
    }

    private func logged(from offset: UInt64) -> [Substring] {
        guard let handle = FileHandle(forReadingAtPath: daemon.log) else { return [] }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
    }
}

/// One daemon of the demo's pair: `hallsync run` as a child process of this one.
final class PairDaemon {
    let name: String
    let config: String
    let log: String
    let logLevel: String
    let unfenced: Bool
    /// What the daemon is started through (`ip netns exec <namespace>`); empty: directly.
    let launcher: [String]
    private var process: Process?

    init(name: String, config: String, log: String, logLevel: String, unfenced: Bool, launcher: [String] = []) {
        self.name = name
        self.config = config
        self.log = log
        self.logLevel = logLevel
        self.unfenced = unfenced
        self.launcher = launcher
    }

    /// The status file, next to its configuration (and its database).
    var statusFile: String { (config as NSString).deletingLastPathComponent + "/status.json" }

    /// The role its status file gives (`leader`, `standby`, …) and when the file was written.
    func statusRole() -> (role: String, written: Date)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: statusFile),
              let written = attributes[.modificationDate] as? Date,
              let data = FileManager.default.contents(atPath: statusFile),
              let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let leadership = document["leadership"] as? [String: Any],
              let role = leadership["role"] as? String else { return nil }
        return (role, written)
    }

    var logSize: UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: log))?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    func start() throws {
        let process = Process()
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let argv = launcher + [binary, "run", "--config", config, "--log-level", logLevel]
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
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
