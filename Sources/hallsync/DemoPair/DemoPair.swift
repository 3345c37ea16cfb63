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
                print("--pair-faults: \(name) is not a fault; give kill, freeze, stop, restart-db, partition or freeze-mid-batch, separated by commas")
                throw ExitCode(1)
            }
            sequence.append(fault)
        }
        let networked = sequence.filter(\.needsNetwork).map { $0 == .partition ? "partition" : "freeze-mid-batch" }
        if let first = networked.first, let reason = PairNetwork.unavailableReason {
            print("--pair-faults \(first): \(reason)")
            throw ExitCode(1)
        }
        if let first = networked.first, demo.pgbouncer {
            print("--pgbouncer and --pair-faults \(first) do not go together: PgBouncer listens on a Unix socket, which the daemons' network namespaces do not reach")
            throw ExitCode(1)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-demo-pair-\(UUID().uuidString.prefix(8))").path
        /// Made when a freeze mid-batch is due: the leader that finds it stops itself (FreezeForTests).
        let freezeFile = directory + "/freeze-at-next-batch"
        var testEnvironment: [String: String] = [:]
        if demo.unsafeWithoutFence { testEnvironment[PairMember.unfencedForTestsVariable] = "1" }
        if sequence.contains(.freezeMidBatch) { testEnvironment[FreezeForTests.variable] = freezeFile }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer {
            if demo.keepState { print("state kept in \(directory)") } else { try? FileManager.default.removeItem(atPath: directory) }
        }
        // Each daemon in a network namespace of its own, with a link to the database and one to
        // the portal and the halls; removed last, after the daemons have ended.
        var network: PairNetwork?
        if let first = networked.first {
            do {
                network = try PairNetwork.create(members: 2)
            } catch {
                print("cannot make the network namespaces for --pair-faults \(first): \(error)")
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
                // The halls are slow to write around a partition or a freeze (BatchStaging): no request times
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
                                      testEnvironment: testEnvironment,
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
        var freezes: [FreezeWatch] = []
        /// A freeze asked of the leader (the file made, FreezeForTests) and its epoch then, until a daemon stops.
        var pendingFreeze: (asked: Date, epoch: Int)?
        var freezeNeverCame = false
        /// The partition being set up (its staging), or nil.
        var staging: BatchStaging?
        /// Brings a cut link back, or wakes a frozen leader, when its time has come; then watches
        /// the daemon's status for standby.
        func observeFaults() throws {
            for freeze in freezes {
                if freeze.wokeAt == nil, Date() >= freeze.continueAt {
                    freeze.woke()
                    print(String(format: "[%5.1fs] %@ woken (SIGCONT) after %.2f s", Date().timeIntervalSince(started), freeze.daemon.name,
                                 Date().timeIntervalSince(freeze.frozenAt)))
                }
                if let woke = freeze.wokeAt, freeze.standbyAt == nil,
                   let (role, written) = freeze.daemon.statusRole(), role == "standby", written > woke {
                    freeze.standbyAt = Date()
                    print(String(format: "[%5.1fs] %@ stands by (its status, %.2f s after it woke)", Date().timeIntervalSince(started),
                                 freeze.daemon.name, Date().timeIntervalSince(woke)))
                }
            }
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
            // A partition is set up first (BatchStaging): the cut comes when the leader has a batch
            // of sends under way.
            if watching == nil, pendingFreeze == nil, next < schedule.count, elapsed >= schedule[next].at * demo.duration,
               let current = leader(), let victim = daemons.first(where: { $0.name == current.holder }),
               schedule[next].fault != .partition
                || partitions.allSatisfy({ $0.restoredAt != nil }) && network.map({ network in
                   let address = network.members[daemons.firstIndex { $0 === victim }!].siteAddress
                   if staging == nil { staging = BatchStaging(site: site) }
                   return staging!.ready(leader: address, log: { print(String(format: "[%5.1fs] %@", Date().timeIntervalSince(started), $0)) })
               }) ?? true {
                let fault = schedule[next].fault
                next += 1
                let faultAt = Date()
                // A partition's watch ends at the next fault (after which the cut daemon may lead again).
                for partition in partitions where partition.until == nil { partition.until = faultAt }
                for freeze in freezes where freeze.until == nil { freeze.until = faultAt }
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
                case .freezeMidBatch:
                    // The leader stops itself when it next takes a batch of new creates (FreezeForTests).
                    _ = FileManager.default.createFile(atPath: freezeFile, contents: nil)
                    pendingFreeze = (faultAt, current.epoch)
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
                if fault != .freezeMidBatch {
                    watching = (fault, current.holder, current.epoch, faultAt)
                    print(String(format: "[%5.1fs] %@ %@ the leader %@", elapsed, fault.rawValue, fault == .restartDatabase ? "under" : fault == .partition ? "of" : "to", current.holder))
                }
            }
            // A freeze asked for: the daemon that took the file is the one stopped.
            if let (asked, epoch) = pendingFreeze {
                if let index = daemons.firstIndex(where: { $0.isStopped }), let network {
                    let frozenAt = Date()
                    let victim = daemons[index]
                    freezes.append(FreezeWatch(daemon: victim, address: network.members[index].siteAddress, frozenAt: frozenAt,
                                               continueAt: frozenAt.addingTimeInterval(demo.freezeSeconds ?? Self.ttl + demo.keyRetention + 6)))
                    watching = (.freezeMidBatch, victim.name, epoch, frozenAt)
                    pendingFreeze = nil
                    print(String(format: "[%5.1fs] %@ stopped itself (SIGSTOP) with a batch of new creates taken, none sent, %.2f s after it was asked",
                                 frozenAt.timeIntervalSince(started), victim.name, frozenAt.timeIntervalSince(asked)))
                } else if Date().timeIntervalSince(asked) > 30 {
                    try? FileManager.default.removeItem(atPath: freezeFile)
                    pendingFreeze = nil
                    freezeNeverCame = true
                    print(String(format: "[%5.1fs] no daemon took a batch of new creates within 30 s of being asked to freeze", Date().timeIntervalSince(started)))
                }
            }
            // A new epoch is a takeover, whoever won it (the standby, or the killed daemon restarted).
            if let w = watching, let now = leader(), now.epoch > w.epoch {
                let seconds = Date().timeIntervalSince(w.since)
                takeovers.append((w.fault, w.from, now.holder, seconds))
                print(String(format: "[%5.1fs] %@ leads (epoch %d), %.2f s after the %@", Date().timeIntervalSince(started), now.holder, now.epoch, seconds, w.fault.rawValue))
                if w.fault == .partition, let partition = partitions.last { partition.takeover = (now.holder, seconds) }
                if w.fault == .freezeMidBatch, let freeze = freezes.last { freeze.takeover = (now.holder, seconds) }
                watching = nil
            }
            try observeFaults()
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
            try observeFaults()
            if Date().timeIntervalSince(trafficEnded) > demo.lag + 3, Date().timeIntervalSince(lastVerdict) >= 1 {
                lastVerdict = Date()
                result = try verdict()
                if result.passed && partitions.allSatisfy({ $0.standbyAt != nil }) && freezes.allSatisfy({ $0.standbyAt != nil }) { break }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        for freeze in freezes where freeze.wokeAt == nil { freeze.woke() }
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
        for freeze in freezes where freeze.until == nil { freeze.until = stoppedAt }
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
            problems += Self.leadershipProblems(of: partition.daemon.name, takeover: partition.takeover, stoodBy: partition.standbyAt != nil,
                                                faulted: "cut", fault: "cut", back: "its link came back")
            for problem in problems { print("  ! \(problem)") }
            partitionsPassed = partitionsPassed && problems.isEmpty
        }
        let freezesPassed = judge(freezes, site: site, logLevel: demo.logLevel) && !freezeNeverCame
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
        if result.passed && allTakeovers && partitionsPassed && freezesPassed && bouncerPassed {
            print("PASS: 0 lost, 0 duplicated, every status right; \(takeovers.count) takeovers, the slowest \(String(format: "%.2f", takeovers.map(\.seconds).max() ?? 0)) s")
        } else {
            print("FAIL: \(result.lost) lost, \(result.duplicated) duplicated, \(result.statusWrong) statuses wrong\(partitionsPassed ? "" : ", a partition's check failed")\(freezesPassed ? "" : ", a frozen leader's check failed")\(bouncerPassed ? "" : ", PgBouncer's figures wrong"); logs in \(daemons.map(\.log).joined(separator: ", ")) (--keep-state keeps them)")
            throw ExitCode(1)
        }
    }

    /// Each leader frozen mid-batch: what reached the portal and the halls from it after it woke
    /// (nothing may), whether the other led in time and whether it stood by; printed, and whether
    /// every freeze passed.
    func judge(_ freezes: [FreezeWatch], site: StandInSite, logLevel: String) -> Bool {
        if !freezes.isEmpty {
            print("\nfreezes mid-batch (the leader stopped with a batch of sends under way, for longer than the lease's TTL and the halls' key retention)")
        }
        var passed = true
        for freeze in freezes {
            let frozen = freeze.frozenAt.timeIntervalSince1970
            let woke = freeze.wokeAt?.timeIntervalSince1970 ?? .infinity
            let until = freeze.until?.timeIntervalSince1970 ?? .infinity
            let all = site.arrivals(from: freeze.address)
            // Nothing is sent while it is stopped (a request written just before the stop reaches the
            // server just after it); its gate must refuse every request after it wakes, when its
            // lease's trust has long ended. A request the gate let through before the stop and
            // the stop caught half written is finished after the wake: begun before, it is counted
            // apart (what the gate can do about it is in FreezeWatch's documentation).
            let afterWake = all.filter { $0.begunAt >= woke && $0.at <= until }
            let finishedAfterWake = all.filter { $0.begunAt < woke && $0.at >= woke && $0.at <= until }
            let whileFrozen = all.filter { $0.at >= frozen + Self.wire && $0.at < woke }
            print(String(format: "  %@ (%@) frozen for %.2f s: %d requests from it arrived while it was frozen, %d after it woke (%d more begun before the stop and finished after the wake)",
                         freeze.daemon.name, freeze.address, woke - frozen, whileFrozen.count, afterWake.count, finishedAfterWake.count))
            if let (holder, seconds) = freeze.takeover {
                print(String(format: "    %@ led %.2f s after the freeze", holder, seconds))
            }
            if let standby = freeze.standbyAt {
                print(String(format: "    %@ stood by %.2f s after it woke (its status file)", freeze.daemon.name, standby.timeIntervalSince1970 - woke))
            }
            print("    " + (["info", "debug", "trace"].contains(logLevel)
                ? "\(freeze.gateRefusals()) sends refused by its gate after it woke (NOT_LEADER in its log), \(freeze.fenceRefusals()) writes refused by its fence"
                : "its gate's refusals are counted at --log-level info"))
            for request in whileFrozen.prefix(3) {
                print(String(format: "    %@ %@ from %@ %.3f s after the freeze, while it was frozen", request.method, request.path, freeze.daemon.name, request.at - frozen))
            }
            for request in afterWake.prefix(5) {
                print(String(format: "  ! %@ %@ from %@ %.3f s after it woke", request.method, request.path, freeze.daemon.name, request.at - woke))
            }
            var problems: [String] = []
            if !afterWake.isEmpty { problems.append("\(afterWake.count) requests from the frozen leader after it woke") }
            problems += Self.leadershipProblems(of: freeze.daemon.name, takeover: freeze.takeover, stoodBy: freeze.standbyAt != nil,
                                                faulted: "frozen", fault: "freeze", back: "it woke")
            for problem in problems { print("  ! \(problem)") }
            passed = passed && problems.isEmpty
        }
        return passed
    }

    /// What must hold of the lease after a fault to the leader `daemon`: the other daemon took a
    /// new epoch within TTL + 2 s, and `daemon` said standby once it was back.
    static func leadershipProblems(of daemon: String, takeover: (holder: String, seconds: Double)?, stoodBy: Bool,
                                   faulted: String, fault: String, back: String) -> [String] {
        var problems: [String] = []
        if let (holder, seconds) = takeover {
            if holder == daemon { problems.append("the \(faulted) daemon itself holds the new epoch") }
            if seconds > ttl + 2 { problems.append(String(format: "the other led %.2f s after the %@, later than TTL + 2 s", seconds, fault)) }
        } else {
            problems.append("no new epoch after the \(fault)")
        }
        if !stoodBy { problems.append("\(daemon) never said standby after \(back)") }
        return problems
    }
}
