import Foundation
import HallsyncPostgres
import Synchronization

/// Where a pair keeps its state: the cluster (libpq's connection string; the password comes
/// from a credential file, never from the string in the configuration) and the region whose
/// schema this daemon works in.
public struct PostgresStoreSettings: Hashable, Sendable {
    public var conninfo: String
    public var region: String
    public var options: PostgresConnection.Options
    /// Seconds a transaction may sit idle before the server ends it (see ``PostgresBackend``).
    public var idleInTransaction: Double
    /// Statements prepared once per connection; false behind a pooler in transaction mode that
    /// does not carry prepared statements (PgBouncer before 1.21, or without `max_prepared_statements`).
    public var preparedStatements: Bool

    public init(conninfo: String, region: String, options: PostgresConnection.Options = PostgresConnection.Options(),
                idleInTransaction: Double = 2, preparedStatements: Bool = true) {
        self.conninfo = conninfo
        self.region = region
        self.options = options
        self.idleInTransaction = idleInTransaction
        self.preparedStatements = preparedStatements
    }
}

/// What a leader's write transaction proves before it writes: the lease row of its region at
/// its epoch (``LeaseStore/checkFence(region:holder:epoch:)``, the transaction's first statement).
public struct FenceToken: Hashable, Sendable {
    public var region: String
    public var holder: String
    public var epoch: Int

    public init(region: String, holder: String, epoch: Int) {
        self.region = region
        self.holder = holder
        self.epoch = epoch
    }
}

/// The state on PostgreSQL: a few libpq connections, each used by one thread at a time, every
/// transaction in the region's schema (`SET LOCAL`, so that a pooler in transaction mode may
/// serve each transaction from another server connection).
final class PostgresBackend: Sendable {
    let settings: PostgresStoreSettings
    let schema: String
    private let idle = Mutex<[Connection]>([])
    /// The token every write transaction is fenced with; nil: writes are not fenced (a single
    /// daemon on PostgreSQL, or the tools). Set once the daemon runs as one of a pair.
    private let fence = Mutex<(@Sendable () -> FenceToken?)?>(nil)

    /// A connection handed from thread to thread through the pool, never used by two at once.
    final class Connection: @unchecked Sendable {
        let connection: PostgresConnection
        init(_ connection: PostgresConnection) { self.connection = connection }
    }

    /// How many idle connections are kept (the engine's threads: the cycle, a worker per peer).
    static let keptIdle = 8

    init(_ settings: PostgresStoreSettings) throws {
        self.settings = settings
        schema = try PostgresSchema.schemaName(region: settings.region)
        try withConnection { connection in
            try PostgresSchema.migrate(connection, schema: schema)
            try LeaseStore(connection).migrate()
        }
    }

    func fenceWrites(_ provider: (@Sendable () -> FenceToken?)?) {
        fence.withLock { $0 = provider }
    }

    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let pooled = idle.withLock { $0.popLast() }
        let connection = try pooled ?? Connection(PostgresConnection(conninfo: settings.conninfo, options: settings.options))
        defer {
            if connection.connection.isOpen, !connection.connection.isInTransaction {
                idle.withLock { if $0.count < Self.keptIdle { $0.append(connection) } }
            }
        }
        return try body(connection.connection)
    }

    /// - Parameter fenced: false for the web page's own tables (accounts, sessions, audit,
    ///   clerks' requests), which either machine writes whoever leads.
    func write<T>(fenced: Bool = true, _ body: (any SQLSession) throws -> T) throws -> T {
        let provider = fenced ? fence.withLock { $0 } : nil
        var token: FenceToken?
        if let provider {
            token = provider()
            guard token != nil else {
                throw PostgresError(code: .notTheLeader, message: "this daemon does not hold the lease of region \(settings.region) now; \(PostgresError.advice(for: .notTheLeader))")
            }
        }
        // BEGIN, the transaction's settings and the fence in one request.
        let script = "BEGIN; " + settingsStatement + (token.map { "; " + LeaseStore.fenceStatement(region: $0.region, holder: $0.holder, epoch: $0.epoch) } ?? "")
        let start = StatementProfile.start
        defer { StatementProfile.record("(a write transaction, whole)", since: start) }
        return try withConnection { connection in
            try connection.transaction(beginningWith: script) { fence in
                if let token, fence.count != 1 {
                    // Refused: the reason, with epochs and times (never a holder's name).
                    try LeaseStore(connection).checkFence(region: token.region, holder: token.holder, epoch: token.epoch)
                }
                return try body(PostgresSession(connection: connection, prepared: settings.preparedStatements))
            }
        }
    }

    /// A consistent snapshot (REPEATABLE READ), read only.
    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        let start = StatementProfile.start
        defer { StatementProfile.record("(a read transaction, whole)", since: start) }
        return try withConnection { connection in
            try connection.transaction(beginningWith: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; " + settingsStatement) { _ in
                try body(PostgresSession(connection: connection, prepared: settings.preparedStatements))
            }
        }
    }

    /// A transaction's settings, for it alone (`set_config(…, true)` is `SET LOCAL`: a pooler in
    /// transaction mode may give the next transaction another server connection): the region's
    /// schema, and how long it may sit idle. A daemon frozen (SIGSTOP, a stall) inside a fenced
    /// transaction holds the lease row's lock, which a takeover waits for: the server ends such
    /// a transaction after ``idleInTransaction`` (rolled back: nothing of it is written), so the
    /// standby waits that long at most. hallsync's transactions never wait on anything but the
    /// database (no request to a peer inside one).
    private var settingsStatement: String {
        "SELECT set_config('search_path', \(PostgresConnection.literal(schema + ", public")), true), "
            + "set_config('idle_in_transaction_session_timeout', '\(Int(settings.idleInTransaction * 1000))ms', true)"
    }

    func appliedMigrations() throws -> [String] {
        try withConnection { connection in try PostgresSchema.applied(connection, schema: schema) }
    }
}
