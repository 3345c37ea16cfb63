import Dispatch
import Foundation
import HallsyncPostgres
import HallsyncTestSupport
import Testing

/// The leadership lease against a real PostgreSQL (a private cluster for the suite). Every test
/// uses a region of its own, so they run in parallel on the one cluster.
@Suite(.privateCluster) struct LeaseStoreTests {
    let cluster: PrivateCluster

    init() throws {
        cluster = try #require(PrivateCluster.current)
    }

    /// A store on a connection of its own, the table made (every test does it, at once: the
    /// migration must survive that).
    func store() throws -> LeaseStore {
        let store = LeaseStore(try cluster.connect())
        try store.migrate()
        return store
    }

    /// Waits until the lease has run out by the database's clock.
    func waitUntilExpired(_ region: String, _ store: LeaseStore) throws {
        #expect(try eventually { try store.current(region: region)?.isExpired == true })
    }

    /// The clock moves on: the lease ends now, without waiting out its ttl (only where no fence
    /// is held, or this would wait for it). Tests that need a lease alive for a while give it a
    /// long ttl and end it here, so a slow machine cannot expire it early.
    func expireNow(_ region: String) throws {
        let connection = try cluster.connect()
        try connection.execute("UPDATE leaderLease SET expiresAt = CURRENT_TIMESTAMP - INTERVAL '1 millisecond' WHERE region = $1", [region])
    }

    @Test func onlyOneOfSeveralHoldersAcquires() throws {
        let region = "110101"
        let observer = try store()
        let conninfo = cluster.conninfo
        let ready = DispatchSemaphore(value: 0)
        let go = DispatchSemaphore(value: 0)
        let contenders = (0..<4).map { index in
            Background<Int?> {
                let store = LeaseStore(try PostgresConnection(conninfo: conninfo))
                ready.signal()
                go.wait()
                return try store.acquire(region: region, holder: "daemon-\(index)", ttl: .seconds(30))
            }
        }
        for _ in contenders { ready.wait() }
        for _ in contenders { go.signal() }
        let epochs = try contenders.map { try $0.value() }

        #expect(epochs.compactMap { $0 } == [1])
        let winner = try #require(epochs.firstIndex(of: 1))
        let status = try #require(try observer.current(region: region))
        #expect(status.holder == "daemon-\(winner)")
        #expect(status.epoch == 1)
        #expect(!status.isExpired)
        #expect(status.remaining > .seconds(25))
        // An unexpired lease is taken by nobody, its holder included.
        #expect(try observer.acquire(region: region, holder: "daemon-other", ttl: .seconds(30)) == nil)
        #expect(try observer.acquire(region: region, holder: "daemon-\(winner)", ttl: .seconds(30)) == nil)
        #expect(try observer.current(region: region)?.epoch == 1)
    }

    @Test func acquireAfterExpiryIncrementsTheEpoch() throws {
        let region = "110102"
        let a = try store(), b = try store()
        #expect(try a.acquire(region: region, holder: "daemon-a", ttl: .seconds(1)) == 1)
        #expect(try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(30)) == nil)
        let first = try #require(try a.current(region: region))

        try waitUntilExpired(region, a)
        #expect(try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(30)) == 2)
        let second = try #require(try a.current(region: region))
        #expect(second.holder == "daemon-b")
        #expect(second.epoch == 2)
        #expect(second.acquiredAt > first.acquiredAt)
        #expect(second.acquiredAt >= first.expiresAt)

        // B's lease holds: the old holder does not get it back.
        #expect(try a.acquire(region: region, holder: "daemon-a", ttl: .seconds(30)) == nil)
    }

    @Test func aDeposedHolderCannotRenew() throws {
        let region = "110103"
        let a = try store(), b = try store()
        let epoch = try #require(try a.acquire(region: region, holder: "daemon-a", ttl: .seconds(30)))
        let before = try #require(try a.current(region: region))
        #expect(try a.renew(region: region, holder: "daemon-a", epoch: epoch, ttl: .seconds(40)))
        #expect(try #require(try a.current(region: region)).expiresAt > before.expiresAt)

        // Expired: no renewal, even with nobody else there yet.
        try expireNow(region)
        #expect(try !a.renew(region: region, holder: "daemon-a", epoch: epoch, ttl: .seconds(30)))

        // Taken over: the old epoch renews nothing, and neither does the new epoch under the old name.
        let newEpoch = try #require(try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(30)))
        #expect(newEpoch == epoch + 1)
        #expect(try !a.renew(region: region, holder: "daemon-a", epoch: epoch, ttl: .seconds(30)))
        #expect(try !a.renew(region: region, holder: "daemon-a", epoch: newEpoch, ttl: .seconds(30)))
        #expect(try b.renew(region: region, holder: "daemon-b", epoch: newEpoch, ttl: .seconds(30)))
        #expect(try a.current(region: region)?.holder == "daemon-b")
    }

    @Test func theFenceRefusesADeposedHolderAndItsWriteIsRolledBack() throws {
        let region = "110104"
        let a = try store(), b = try store()
        try a.connection.execute("CREATE TABLE fencedWriteDeposed (region TEXT NOT NULL, epoch BIGINT NOT NULL, note TEXT NOT NULL)")
        func notes() throws -> [String?] {
            try b.connection.execute("SELECT note FROM fencedWriteDeposed WHERE region = $1 ORDER BY note", [region]).rows.map { $0[0] }
        }
        func write(_ store: LeaseStore, _ epoch: Int, _ note: String) throws {
            try store.connection.execute("INSERT INTO fencedWriteDeposed (region, epoch, note) VALUES ($1, CAST($2 AS BIGINT), $3)", [region, String(epoch), note])
        }

        let epoch = try #require(try a.acquire(region: region, holder: "daemon-a", ttl: .seconds(30)))
        try a.fenced(region: region, holder: "daemon-a", epoch: epoch) { try write(a, epoch, "a: while leader") }
        #expect(try notes() == ["a: while leader"])

        // Expired, nobody else yet: already refused.
        try expireNow(region)
        let expired = #expect(throws: PostgresError.self) {
            try a.fenced(region: region, holder: "daemon-a", epoch: epoch) { try write(a, epoch, "a: after expiry") }
        }
        #expect(expired?.code == .notTheLeader)
        #expect(expired?.message.contains("expired") == true)

        // Deposed.
        let newEpoch = try #require(try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(30)))
        let deposed = #expect(throws: PostgresError.self) {
            try a.fenced(region: region, holder: "daemon-a", epoch: epoch) { try write(a, epoch, "a: deposed") }
        }
        #expect(deposed?.code == .notTheLeader)
        #expect(deposed?.message.contains("epoch \(newEpoch)") == true)
        #expect(deposed?.isRetryable == false)

        // A write made before the fence (against the rule) is rolled back with the transaction.
        let late = #expect(throws: PostgresError.self) {
            try a.connection.transaction {
                try write(a, epoch, "a: before its fence")
                try a.checkFence(region: region, holder: "daemon-a", epoch: epoch)
            }
        }
        #expect(late?.code == .notTheLeader)
        #expect(!a.connection.isInTransaction)
        #expect(try notes() == ["a: while leader"])

        // The connection is fine afterwards, and the new leader writes.
        try b.fenced(region: region, holder: "daemon-b", epoch: newEpoch) { try write(b, newEpoch, "b: new leader") }
        #expect(try notes() == ["a: while leader", "b: new leader"])

        // Outside a transaction the fence would lock nothing: refused as misuse.
        let outside = #expect(throws: PostgresError.self) { try b.checkFence(region: region, holder: "daemon-b", epoch: newEpoch) }
        #expect(outside?.code == .misuse)
    }

    /// The fence orders a takeover after the transaction that holds it: the old leader's write
    /// commits first, the takeover waits (the server shows it waiting for a lock) and goes
    /// through only at the commit, and the new leader sees the write.
    @Test func aTakeoverWaitsForTheTransactionHoldingTheFence() throws {
        let region = "110105"
        let a = try store(), observer = try store(), latecomer = try store()
        try a.connection.execute("CREATE TABLE fencedWriteOrder (region TEXT NOT NULL, epoch BIGINT NOT NULL, note TEXT NOT NULL)")
        let epoch = try #require(try a.acquire(region: region, holder: "daemon-a", ttl: .seconds(1)))
        let conninfo = cluster.conninfo
        let takeoverPID = Shared<Int32>(0)
        var takeover: Background<Int?>?

        try a.fenced(region: region, holder: "daemon-a", epoch: epoch) {
            // The lease runs out while this transaction holds the fence.
            try waitUntilExpired(region, observer)
            let started = Background<Int?> {
                let b = LeaseStore(try PostgresConnection(conninfo: conninfo))
                takeoverPID.value = b.connection.backendProcessID
                return try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(30))
            }
            takeover = started
            // The takeover is queued behind the fence: its backend waits for a row lock.
            #expect(try eventually {
                guard takeoverPID.value != 0 else { return false }
                let rows = try observer.connection.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = CAST($1 AS INTEGER)",
                                                           [String(takeoverPID.value)])
                return rows.rows.first?[0] == "Lock"
            })
            #expect(!started.isFinished)

            // No new fence joins once the lease has expired, so the queue drains.
            let joined = #expect(throws: PostgresError.self) {
                try latecomer.fenced(region: region, holder: "daemon-a", epoch: epoch) {}
            }
            #expect(joined?.code == .notTheLeader)

            // The old leader's write, under the fence it already holds.
            try a.connection.execute("INSERT INTO fencedWriteOrder (region, epoch, note) VALUES ($1, CAST($2 AS BIGINT), 'a: under the fence')",
                                     [region, String(epoch)])
            Thread.sleep(forTimeInterval: 0.2)
            #expect(!started.isFinished, "the takeover went through while the fence was held")
        }

        // Committed: now the takeover goes through.
        let finished = try #require(takeover)
        let newEpoch = try #require(try finished.value())
        #expect(newEpoch == epoch + 1)
        let b = LeaseStore(try cluster.connect())
        let seen = try b.fenced(region: region, holder: "daemon-b", epoch: newEpoch) {
            try b.connection.execute("SELECT epoch, note FROM fencedWriteOrder WHERE region = $1", [region]).rows
        }
        #expect(seen == [[String(epoch), "a: under the fence"]])
        let after = #expect(throws: PostgresError.self) {
            try a.fenced(region: region, holder: "daemon-a", epoch: epoch) {
                try a.connection.execute("INSERT INTO fencedWriteOrder (region, epoch, note) VALUES ($1, CAST($2 AS BIGINT), 'a: too late')",
                                         [region, String(epoch)])
            }
        }
        #expect(after?.code == .notTheLeader)
        #expect(try observer.connection.execute("SELECT count(*) FROM fencedWriteOrder").rows == [["1"]])
    }

    /// The same ordering without waiting: a takeover that may not wait for locks fails on the
    /// fence, although the lease has expired.
    @Test func aTakeoverConflictsWithTheFence() throws {
        let region = "110106"
        let a = try store(), b = try store()
        try b.connection.execute("SET lock_timeout = '100ms'")
        let epoch = try #require(try a.acquire(region: region, holder: "daemon-a", ttl: .seconds(1)))
        try a.fenced(region: region, holder: "daemon-a", epoch: epoch) {
            try waitUntilExpired(region, b)
            let error = #expect(throws: PostgresError.self) {
                try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(30))
            }
            #expect(error?.code == .lockNotAvailable)
            #expect(error?.sqlState == "55P03")
            #expect(error?.isRetryable == true)
        }
        #expect(try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(30)) == epoch + 1)
    }

    @Test func resignLetsTheOtherAcquireAtOnce() throws {
        let region = "110107"
        let a = try store(), b = try store()
        let epoch = try #require(try a.acquire(region: region, holder: "daemon-a", ttl: .seconds(60)))
        #expect(try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(60)) == nil)
        #expect(try !b.resign(region: region, holder: "daemon-b", epoch: epoch))  // not b's to end
        #expect(try a.resign(region: region, holder: "daemon-a", epoch: epoch))
        #expect(try !a.resign(region: region, holder: "daemon-a", epoch: epoch))
        #expect(try a.current(region: region)?.isExpired == true)

        #expect(try b.acquire(region: region, holder: "daemon-b", ttl: .seconds(60)) == epoch + 1)
        #expect(try !a.renew(region: region, holder: "daemon-a", epoch: epoch, ttl: .seconds(60)))
        let error = #expect(throws: PostgresError.self) { try a.fenced(region: region, holder: "daemon-a", epoch: epoch) {} }
        #expect(error?.code == .notTheLeader)
    }

    /// Errors are typed, and their messages hold no parameter: region and holder here stand in
    /// for the personal data other statements carry.
    @Test func errorsAreTypedAndTheirMessagesHoldNoParameters() throws {
        let secretRegion = "王五 13800138000"
        let secretHolder = "身份证 110101199003078888"
        let killer = try store()
        func assertClean(_ error: PostgresError?, _ code: PostgresError.Code, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(error?.code == code, sourceLocation: sourceLocation)
            for secret in [secretRegion, secretHolder, "13800138000", "110101199003078888", "王五"] {
                #expect(error?.message.contains(secret) == false, "\(error?.message ?? "")", sourceLocation: sourceLocation)
                #expect(error?.description.contains(secret) == false, sourceLocation: sourceLocation)
            }
        }

        // The connection breaks under a lease operation (its server process is ended).
        let victim = try store()
        let pid = String(victim.connection.backendProcessID)
        #expect(try killer.connection.execute("SELECT pg_terminate_backend(CAST($1 AS INTEGER))", [pid]).rows == [["t"]])
        #expect(try eventually {
            try killer.connection.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = CAST($1 AS INTEGER)", [pid]).rows == [["0"]]
        })
        let lost = #expect(throws: PostgresError.self) {
            try victim.acquire(region: secretRegion, holder: secretHolder, ttl: .seconds(30))
        }
        assertClean(lost, .connectionLost)
        #expect(lost?.isRetryable == true)
        #expect(lost?.message.contains("open a new connection") == true)
        // The same connection comes back.
        try victim.connection.reconnect()
        #expect(try victim.acquire(region: secretRegion, holder: secretHolder, ttl: .seconds(30)) == 1)

        // A value the server rejects (its own message would quote it).
        let rejected = #expect(throws: PostgresError.self) {
            try killer.connection.execute("SELECT CAST($1 AS BIGINT)", [secretRegion])
        }
        assertClean(rejected, .queryFailed)
        #expect(rejected?.sqlState == "22P02")

        // A duplicate key (the server's DETAIL would quote it).
        let duplicate = #expect(throws: PostgresError.self) {
            try killer.connection.execute("INSERT INTO leaderLease (region, holder, epoch, expiresAt, acquiredAt) VALUES ($1, $2, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                                          [secretRegion, secretHolder])
        }
        assertClean(duplicate, .queryFailed)
        #expect(duplicate?.sqlState == "23505")
        #expect(duplicate?.message.contains("leaderlease_pkey") == true)

        // No server at all.
        let refused = #expect(throws: PostgresError.self) {
            try PostgresConnection(conninfo: "host=\(cluster.directory)/absent dbname=hallsync_test user=hallsync password='\(secretHolder)'")
        }
        assertClean(refused, .connectionFailed)
        #expect(refused?.message.contains("check that the server is running") == true)
    }
}
