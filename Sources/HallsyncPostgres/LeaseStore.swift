import Foundation

/// The leadership lease of an active/standby pair: one row per region, naming the holder and a
/// fencing token (`epoch`) that grows by one at every change of holder.
///
///     let store = LeaseStore(connection)
///     try store.migrate()
///     if let epoch = try store.acquire(region: "110105", holder: me, ttl: .seconds(15)) {
///         // leader: renew every few seconds while writing, each write transaction fenced
///         try store.fenced(region: "110105", holder: me, epoch: epoch) {
///             try connection.execute("INSERT …", […])
///         }
///     }
///
/// ## Clocks
///
/// Expiry is judged by **the database's clock only**: the two daemons' clocks never meet, so
/// skew between hosts cannot give two holders at once. The holder keeps a deadline of its own
/// as well, on a monotonic clock started *before* it sends `acquire` or `renew`: it stops
/// writing at that start + `ttl` (minus a margin), which is never later than the database's
/// `expiresAt` (see below).
///
/// Two clock functions are used, each for one job:
///
/// - Times **written** (`expiresAt`, `acquiredAt`) use `CURRENT_TIMESTAMP`, the start of the
///   statement's transaction. Each lease statement runs on its own (autocommit), or alone in a
///   transaction begun for it (the keeper's, for its time limits), so that is when the server
///   began the statement or its transaction: after the holder started its deadline, before any
///   lock wait. `expiresAt = CURRENT_TIMESTAMP + ttl` is therefore never earlier than the
///   holder's own deadline, and as close to it as the server can make it.
/// - Times **compared** ("has the lease expired?", "is it still valid?") use `clock_timestamp()`,
///   the server's clock at the moment the row is examined, after any lock wait. Inside a
///   statement that waited for a lock, `CURRENT_TIMESTAMP` would be stale: a renewal or a
///   fence would accept a lease that ran out during the wait. A takeover judged with it would
///   be safe but late (one that waited for a fence would fail and need another try);
///   `clock_timestamp()` is exact, and never early either.
///
/// ## Fencing
///
/// Every leader write transaction starts with ``checkFence(region:holder:epoch:)``, which takes
/// a `FOR SHARE` lock on the lease row until the transaction ends. A takeover is an `UPDATE` of
/// that row (through `INSERT … ON CONFLICT (region) DO UPDATE`), which must wait for every
/// transaction holding the fence to end; a transaction that fences after the takeover sees the
/// new epoch and fails with `notTheLeader`. So the old leader's writes either commit before the
/// new leader's epoch exists, or not at all. Why `FOR SHARE`:
///
/// - `FOR KEY SHARE` would not do: it conflicts only with deletes and key changes, and a
///   takeover changes `holder` and `epoch`, not `region`; it would not wait.
/// - `FOR UPDATE` would do, but would also make the leader's own write transactions (one per
///   worker connection) wait for each other. `FOR SHARE` locks are shared among themselves.
///
/// The consequences: `renew` and `resign` are `UPDATE`s too, so they wait for the leader's own
/// fenced transactions in flight; keep those short (seconds, well under the renewal margin).
/// PostgreSQL grants a new `FOR SHARE` lock while an `UPDATE` is queued, so a steady stream of
/// overlapping fenced transactions can hold a renewal off until the lease expires: the leader
/// should not start new fenced transactions while a renewal is pending. A takeover is not held
/// off the same way: once the lease has expired, new fences fail and only those already in
/// flight are waited for.
///
/// ## Portability
///
/// The SQL is deliberately plain: conflict targets named (`ON CONFLICT (region)`), no `pg_*`
/// functions, no LISTEN/NOTIFY, no JSON. `clock_timestamp()`, `EXTRACT(EPOCH FROM …)` and
/// `FOR SHARE` are the only things beyond the SQL standard (all also in CockroachDB).
///
/// Like its connection, a store is used by one thread at a time; a worker that runs fenced
/// transactions on a connection of its own makes a `LeaseStore` over that connection.
public struct LeaseStore {
    public let connection: PostgresConnection

    public init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// Creates the lease table if it does not exist. Both daemons may run it at once.
    public func migrate() throws(PostgresError) {
        let sql = """
            CREATE TABLE IF NOT EXISTS leaderLease (
                region TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                epoch BIGINT NOT NULL,
                expiresAt TIMESTAMPTZ NOT NULL,
                acquiredAt TIMESTAMPTZ NOT NULL
            )
            """
        do {
            try connection.execute(sql)
        } catch where ["23505", "42P07", "42710"].contains(error.sqlState ?? "") {
            // Two CREATE TABLE IF NOT EXISTS at the same moment: one creates, the other trips
            // over the catalog row the first just inserted. The table exists now; check once.
            try connection.execute(sql)
        }
    }

    /// Becomes the holder of `region` if nobody holds it, or if the lease has expired by the
    /// database's clock. Returns the new epoch (1 for a new region, the previous epoch + 1 on a
    /// takeover), or nil while someone (including `holder` itself) holds an unexpired lease.
    ///
    /// A takeover waits for every transaction that holds the old holder's fence.
    public func acquire(region: String, holder: String, ttl: Duration) throws(PostgresError) -> Int? {
        let rows = try connection.execute("""
            INSERT INTO leaderLease (region, holder, epoch, expiresAt, acquiredAt)
            VALUES ($1, $2, 1, CURRENT_TIMESTAMP + CAST($3 AS BIGINT) * INTERVAL '1 millisecond', CURRENT_TIMESTAMP)
            ON CONFLICT (region) DO UPDATE
               SET holder = EXCLUDED.holder,
                   epoch = leaderLease.epoch + 1,
                   expiresAt = EXCLUDED.expiresAt,
                   acquiredAt = EXCLUDED.acquiredAt
             WHERE leaderLease.expiresAt <= clock_timestamp()
            RETURNING epoch
            """, [region, holder, Self.milliseconds(ttl)])
        guard let first = rows.rows.first else { return nil }
        return try Self.integer(first[0], "epoch")
    }

    /// Extends the lease to `ttl` from now, only for (holder, epoch) and only while it has not
    /// expired. False means the lease was lost: stop writing.
    ///
    /// Waits for the leader's own fenced transactions in flight (see the type's documentation).
    public func renew(region: String, holder: String, epoch: Int, ttl: Duration) throws(PostgresError) -> Bool {
        let rows = try connection.execute("""
            UPDATE leaderLease
               SET expiresAt = CURRENT_TIMESTAMP + CAST($4 AS BIGINT) * INTERVAL '1 millisecond'
             WHERE region = $1 AND holder = $2 AND epoch = CAST($3 AS BIGINT) AND expiresAt > clock_timestamp()
            """, [region, holder, String(epoch), Self.milliseconds(ttl)])
        return rows.affectedRows == 1
    }

    /// Ends the lease now, so the standby may take over at once (epoch + 1). True when this call
    /// ended it; false when (holder, epoch) no longer held it.
    @discardableResult
    public func resign(region: String, holder: String, epoch: Int) throws(PostgresError) -> Bool {
        let rows = try connection.execute("""
            UPDATE leaderLease
               SET expiresAt = CURRENT_TIMESTAMP
             WHERE region = $1 AND holder = $2 AND epoch = CAST($3 AS BIGINT) AND expiresAt > clock_timestamp()
            """, [region, holder, String(epoch)])
        return rows.affectedRows == 1
    }

    /// The lease as it stands, for status pages; nil when the region was never held.
    public func current(region: String) throws(PostgresError) -> LeaseStatus? {
        let rows = try connection.execute("""
            SELECT holder, epoch, EXTRACT(EPOCH FROM expiresAt), EXTRACT(EPOCH FROM acquiredAt), EXTRACT(EPOCH FROM clock_timestamp())
              FROM leaderLease
             WHERE region = $1
            """, [region])
        guard let row = rows.rows.first else { return nil }
        guard let holder = row[0] else { throw Self.unexpected("holder") }
        return LeaseStatus(region: region, holder: holder, epoch: try Self.integer(row[1], "epoch"),
                           expiresAt: try Self.date(row[2], "expiresAt"), acquiredAt: try Self.date(row[3], "acquiredAt"),
                           databaseTime: try Self.date(row[4], "clock_timestamp()"))
    }

    /// The fence: run it as the **first statement** of every leader write transaction, on the
    /// connection that runs the transaction. It locks the lease row (`FOR SHARE`) for the rest of
    /// the transaction, so no takeover can commit before this transaction ends; it throws
    /// `notTheLeader` when the row is not (holder, epoch) or has expired by the database's clock,
    /// and `misuse` outside a transaction (where the lock would end with the statement).
    ///
    /// After `notTheLeader`, let the error leave the transaction (it is rolled back) and stop
    /// writing. ``fenced(region:holder:epoch:_:)`` does all of this.
    public func checkFence(region: String, holder: String, epoch: Int) throws(PostgresError) {
        guard connection.isInTransaction else {
            throw PostgresError(code: .misuse,
                                message: "checkFence ran outside a transaction, where its lock would end with the statement; run it first inside transaction { }, or use fenced(…)")
        }
        let rows = try connection.execute("""
            SELECT epoch
              FROM leaderLease
             WHERE region = $1 AND holder = $2 AND epoch = CAST($3 AS BIGINT) AND expiresAt > clock_timestamp()
               FOR SHARE
            """, [region, holder, String(epoch)])
        if rows.count == 1 { return }

        // Why not: said with epochs and times, never with the holders' names.
        let why: String
        if let status = try current(region: region) {
            if status.epoch != epoch {
                why = "the lease is at epoch \(status.epoch), not \(epoch): another holder took over"
            } else if status.holder != holder {
                why = "epoch \(epoch) belongs to another holder"
            } else {
                why = "the lease at epoch \(epoch) expired \(String(format: "%.3f", status.databaseTime.timeIntervalSince(status.expiresAt))) s ago by the database's clock"
            }
        } else {
            why = "the region has no lease"
        }
        throw PostgresError(code: .notTheLeader, message: "\(why); \(PostgresError.advice(for: .notTheLeader))")
    }

    /// The fence as a statement of a transaction's opening script (values as literals): it
    /// returns one row when (holder, epoch) holds the unexpired lease, and locks it like
    /// ``checkFence(region:holder:epoch:)``. Zero rows: call `checkFence` for the reason.
    public static func fenceStatement(region: String, holder: String, epoch: Int) -> String {
        """
        SELECT epoch FROM leaderLease WHERE region = \(PostgresConnection.literal(region)) AND holder = \(PostgresConnection.literal(holder)) \
        AND epoch = \(epoch) AND expiresAt > clock_timestamp() FOR SHARE
        """
    }

    /// Runs `body` in a transaction that begins with ``checkFence(region:holder:epoch:)``.
    /// `notTheLeader` (or any error of `body`) rolls it back and passes through.
    public func fenced<T>(region: String, holder: String, epoch: Int, _ body: () throws -> T) throws -> T {
        try connection.transaction {
            try checkFence(region: region, holder: holder, epoch: epoch)
            return try body()
        }
    }

    // MARK: - Values

    static func milliseconds(_ ttl: Duration) -> String {
        let (seconds, attoseconds) = ttl.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        precondition(milliseconds > 0, "a lease's ttl must be at least a millisecond")
        return String(milliseconds)
    }

    static func integer(_ text: String?, _ column: String) throws(PostgresError) -> Int {
        guard let text, let value = Int(text) else { throw unexpected(column) }
        return value
    }

    static func date(_ text: String?, _ column: String) throws(PostgresError) -> Date {
        guard let text, let seconds = Double(text) else { throw unexpected(column) }
        return Date(timeIntervalSince1970: seconds)
    }

    static func unexpected(_ column: String) -> PostgresError {
        PostgresError(code: .unexpectedResult, message: "the lease row's \(column) could not be read; \(PostgresError.advice(for: .unexpectedResult))")
    }
}

/// A lease row as it stands, with the database's clock at the moment it was read.
public struct LeaseStatus: Hashable, Sendable {
    public let region: String
    public let holder: String
    public let epoch: Int
    public let expiresAt: Date
    public let acquiredAt: Date
    /// The database's clock when the row was read: compare `expiresAt` with this, not with the
    /// local clock, which may be skewed.
    public let databaseTime: Date

    public init(region: String, holder: String, epoch: Int, expiresAt: Date, acquiredAt: Date, databaseTime: Date) {
        self.region = region
        self.holder = holder
        self.epoch = epoch
        self.expiresAt = expiresAt
        self.acquiredAt = acquiredAt
        self.databaseTime = databaseTime
    }

    /// Expired by the database's clock: anyone may take over.
    public var isExpired: Bool { expiresAt <= databaseTime }

    /// Time left by the database's clock (zero once expired).
    public var remaining: Duration {
        .milliseconds(max(0, Int((expiresAt.timeIntervalSince(databaseTime) * 1000).rounded(.down))))
    }
}
