import Foundation
import HallsyncEngine
import HallsyncPostgres
import HallsyncStandIns
import Synchronization
import HallsyncTestSupport
import Testing

/// Two daemons' lease keepers on one region of a real PostgreSQL: at most one may send at any
/// moment, whatever ends the leader (a stop, a crash, a freeze longer than the TTL), and the other
/// leads within TTL + 2 s. Short settings keep the suite quick: TTL 3 s, renewals every 0.5 s.
@Suite(.privateCluster) struct LeaseKeeperTests {
    let cluster: PrivateCluster
    let settings = LeaderLease.Settings(ttl: 3, renewInterval: 0.5, margin: 1, pollInterval: 0.2)

    init() throws {
        cluster = try #require(PrivateCluster.current)
    }

    func keeper(_ holder: String, region: String, takeovers: TakeoverLog? = nil, unsafe: Bool = false) -> LeaseKeeper {
        LeaseKeeper(conninfo: cluster.conninfo, region: region, holder: holder, settings: settings, unsafeJudgedAtLastTick: unsafe,
                    onTakeover: { epoch in takeovers?.record(holder, epoch) })
    }

    func mayFirstSend(_ keeper: LeaseKeeper) -> Bool {
        if case .granted = keeper.sendPermission(timeout: 30) { return true }
        return false
    }

    /// Polls both keepers every 20 ms for `seconds`; fails at the first moment both may send.
    /// Returns when `until` holds (or the time is up), and how long that took.
    @discardableResult
    func watch(_ a: LeaseKeeper, _ b: LeaseKeeper, seconds: Double, until: () -> Bool) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            let both = mayFirstSend(a) && mayFirstSend(b)
            #expect(!both, "two keepers may send at once")
            if both { return nil }
            if until() { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    @Test func oneOfTwoLeadsAndTheTakeoverStepRunsBeforeItsFirstSend() async throws {
        try await offPool { [self] in
            let log = TakeoverLog()
            let a = keeper("daemon-a", region: "120101", takeovers: log), b = keeper("daemon-b", region: "120101", takeovers: log)
            a.start(); b.start()
            defer { a.stop(); b.stop() }
            let took = watch(a, b, seconds: 10) { mayFirstSend(a) || mayFirstSend(b) }
            #expect(took != nil, "nobody leads")
            let leader = mayFirstSend(a) ? a : b
            guard case .granted(let epoch, let timeout) = leader.sendPermission(timeout: 30) else { Issue.record("no permission"); return }
            #expect(log.entries == [TakeoverLog.Entry(holder: leader.holder, epoch: epoch)])
            // A request may last no longer than the window left: under TTL − margin.
            #expect(timeout <= settings.trustSpan && timeout > 0)
            // The lease row names the same leader and epoch, and it is renewed while it leads.
            let row = try #require(try LeaseStore(try cluster.connect()).current(region: "120101"))
            #expect(row.holder == leader.holder && row.epoch == epoch)
            watch(a, b, seconds: settings.ttl * 1.5) { false }
            #expect(mayFirstSend(leader), "a renewing leader keeps its lease past the TTL")
        }
    }

    /// Behind PgBouncer in transaction mode the keeper's limits stay in its own transactions: a
    /// session setting (it once ran `SET statement_timeout` on its connection) would be left on
    /// the pooled server connection for the next client. With a pool of one server connection,
    /// another client's transaction runs on the very connection the keeper's did.
    @Test func theKeepersTimeLimitIsNotLeftOnAPooledConnection() async throws {
        let bouncer = try PrivatePgBouncer.start(in: cluster, poolSize: 1)
        defer { bouncer.stop() }
        let keeper = LeaseKeeper(conninfo: bouncer.conninfo, region: "120199", holder: "daemon-a", settings: settings)
        keeper.start()
        defer { keeper.stop() }
        let deadline = Date().addingTimeInterval(10)
        while !mayFirstSend(keeper), Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(mayFirstSend(keeper), "the keeper did not lead through the pooler")
        try await Task.sleep(for: .seconds(1.2))   // a few renewals
        let other = try PostgresConnection(conninfo: bouncer.conninfo)
        for _ in 0..<5 {
            let shown = try other.transaction(beginningWith: "BEGIN; SHOW statement_timeout") { $0.rows.first?[0] }
            #expect(shown == "0", "the keeper's statement_timeout is on the pooled connection: \(shown ?? "nil")")
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// A keeper frozen (SIGSTOP) between its renewal's `UPDATE` and the `COMMIT` holds the lease
    /// row's lock; the server ends that transaction after the margin, so the standby's takeover
    /// waits that long at most, not until the frozen keeper wakes. (Found by the pair's SIGSTOP
    /// test: a takeover of 7.03 s, the length of the freeze.)
    @Test func aKeeperFrozenInsideItsRenewalHoldsTheTakeoverNoLongerThanTheMargin() async throws {
        try await offPool {
            let region = "120198"
            let lease = LeaseStore(try cluster.connect())
            try lease.migrate()
            let epoch = try #require(try lease.acquire(region: region, holder: "daemon-a", ttl: .milliseconds(500)))
            let frozen = try cluster.connect()
            let standby = try cluster.connect()
            try standby.execute("SET statement_timeout = 6000")   // without the server's limit, the acquire would wait for ever
            var waited: Double?
            // The renewal's transaction, its COMMIT never sent while the standby tries.
            try? frozen.transaction(beginningWith: LeaseKeeper.boundedBegin(settings)) { _ in
                _ = try LeaseStore(frozen).renew(region: region, holder: "daemon-a", epoch: epoch, ttl: .milliseconds(500))
                Thread.sleep(forTimeInterval: 0.6)   // the lease, renewed or not, has expired by now
                let start = Date()
                let won = try LeaseStore(standby).acquire(region: region, holder: "daemon-b", ttl: .seconds(30))
                #expect(won == epoch + 1)
                waited = Date().timeIntervalSince(start)
            }
            let seconds = try #require(waited)
            #expect(seconds < settings.margin + 1, "the takeover waited \(seconds) s for a frozen renewal")
        }
    }

    @Test func aStoppedLeaderResignsAndTheOtherLeadsAtOnce() async throws {
        try await offPool { [self] in
            let a = keeper("daemon-a", region: "120102"), b = keeper("daemon-b", region: "120102")
            a.start()
            #expect(watch(a, b, seconds: 10) { mayFirstSend(a) } != nil)
            b.start()
            defer { b.stop() }
            #expect(a.stop(), "the keeper's thread ends")
            #expect(!mayFirstSend(a))
            // Resigned: well within the TTL, the poll interval and the takeover step.
            let took = watch(a, b, seconds: 10) { mayFirstSend(b) }
            #expect(took.map { $0 < 2 } == true, "took \(String(describing: took)) s")
        }
    }

    @Test func aCrashedLeadersLeaseIsTakenWithinTheTTLPlusTwoSeconds() async throws {
        try await offPool { [self] in
            let a = keeper("daemon-a", region: "120103"), b = keeper("daemon-b", region: "120103")
            a.start()
            #expect(watch(a, b, seconds: 10) { mayFirstSend(a) } != nil)
            b.start()
            defer { b.stop() }
            Thread.sleep(forTimeInterval: 1)
            #expect(!mayFirstSend(b), "the standby waits while the leader renews")
            a.crash()
            let took = watch(a, b, seconds: settings.ttl + 5) { mayFirstSend(b) }
            #expect(took.map { $0 <= settings.ttl + 2 } == true, "took \(String(describing: took)) s")
            let row = try #require(try LeaseStore(try cluster.connect()).current(region: "120103"))
            #expect(row.holder == "daemon-b" && row.epoch == 2)
        }
    }

    /// As SIGSTOP longer than the TTL, then SIGCONT: the frozen leader may not send once its window
    /// has passed (by its own clock, while frozen), the other leads, and on waking the old leader's
    /// renewal is refused and its fenced write fails: it is a standby.
    @Test func aLeaderFrozenPastTheTTLSendsNothingAfterWakingAndItsFencedWriteFails() async throws {
        try await offPool { [self] in
            let a = keeper("daemon-a", region: "120104"), b = keeper("daemon-b", region: "120104")
            a.start()
            #expect(watch(a, b, seconds: 10) { mayFirstSend(a) } != nil)
            guard case .granted(let oldEpoch, _) = a.sendPermission(timeout: 30) else { Issue.record("no permission"); return }
            b.start()
            defer { a.stop(); b.stop() }
            // The keeper's time its thread stopped: its last renewal started no later.
            let stoppedAt = try #require(a.freeze(seconds: settings.ttl + 2))
            let frozenAt = Date()
            // Within TTL − margin of its last renewal the frozen leader stops permitting sends (seen
            // by a poll every 20 ms: one poll's slack).
            var refusedAt: Double?
            let deadline = Date().addingTimeInterval(settings.ttl + 1)
            while refusedAt == nil, Date() < deadline {
                #expect(!(mayFirstSend(a) && mayFirstSend(b)), "two keepers may send at once")
                if !mayFirstSend(a) { refusedAt = a.now } else { Thread.sleep(forTimeInterval: 0.02) }
            }
            #expect(refusedAt.map { $0 - stoppedAt <= settings.trustSpan + 0.05 } == true, "refused \(String(describing: refusedAt)) after a stop at \(stoppedAt)")
            let tookOver = watch(a, b, seconds: settings.ttl + 5) { mayFirstSend(b) }
            #expect(tookOver.map { Date().timeIntervalSince(frozenAt) <= settings.ttl + 2 + 0.5 && $0 >= 0 } == true)
            // Awake again: nothing sent, and the old epoch's fence refuses a write.
            watch(a, b, seconds: 3) { false }
            #expect(!mayFirstSend(a) && mayFirstSend(b))
            #expect(a.role == .standby)
            let fence = LeaseStore(try cluster.connect())
            #expect(throws: PostgresError.self) {
                try fence.fenced(region: "120104", holder: "daemon-a", epoch: oldEpoch) { }
            }
        }
    }
}

extension LeaseKeeperTests {
    /// A takeover step longer than the trust span (many creates to look up) does not lose the lease
    /// it is for: renewals go on beside it, and sends start when it ends.
    @Test func aTakeoverStepLongerThanTheWindowKeepsTheLease() async throws {
        try await offPool { [self] in
            let a = LeaseKeeper(conninfo: cluster.conninfo, region: "120106", holder: "daemon-a", settings: settings,
                                onTakeover: { _ in Thread.sleep(forTimeInterval: 4) })
            let b = keeper("daemon-b", region: "120106")
            a.start(); b.start()
            defer { a.stop(); b.stop() }
            // Whoever won waits out its step; nobody may send meanwhile, and the winner leads after it.
            #expect(eventually(timeout: .seconds(12)) { mayFirstSend(a) || mayFirstSend(b) })
            let row = try #require(try LeaseStore(try cluster.connect()).current(region: "120106"))
            #expect(row.epoch == 1, "the lease was not lost during the step (epoch \(row.epoch))")
        }
    }

    /// A stop ends sends at once, whatever the keeper's thread is doing (here: held, as by a hung request).
    @Test func aStopEndsSendsAtOnceEvenWhileTheKeepersThreadIsHeld() async throws {
        try await offPool { [self] in
            let a = keeper("daemon-a", region: "120107")
            a.start()
            #expect(eventually(timeout: .seconds(10)) { mayFirstSend(a) })
            a.freeze(seconds: 1.5)
            _ = a.stop(timeout: 0)
            #expect(!mayFirstSend(a))
            #expect(eventually(timeout: .seconds(5)) { (try? LeaseStore(try cluster.connect()).current(region: "120107")?.isExpired) == true },
                    "the lease is given back once the thread runs again")
        }
    }

    /// The negative control of the freeze test: a leader that judges its sends by its own loop's
    /// last look at the lease (not by the clock at each send) goes on sending while frozen, after
    /// the other took over — the test above would see two senders.
    @Test func withoutTheWindowCheckedAtEachSendAFrozenLeaderAndTheNewOneBothSend() async throws {
        try await offPool { [self] in
            let a = keeper("daemon-a", region: "120105", unsafe: true), b = keeper("daemon-b", region: "120105")
            a.start()
            #expect(eventually(timeout: .seconds(10)) { mayFirstSend(a) })
            b.start()
            defer { a.stop(); b.stop() }
            a.freeze(seconds: settings.ttl + 3)
            #expect(eventually(timeout: .seconds(6)) { mayFirstSend(a) && mayFirstSend(b) }, "the control found no moment with two senders")
        }
    }
}

/// The takeover steps run, in order.
final class TakeoverLog: Sendable {
    struct Entry: Hashable, Sendable { var holder: String; var epoch: Int }
    private let list = Mutex<[Entry]>([])
    func record(_ holder: String, _ epoch: Int) { list.withLock { $0.append(Entry(holder: holder, epoch: epoch)) } }
    var entries: [Entry] { list.withLock { $0 } }
}
