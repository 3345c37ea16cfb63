import Foundation
import GRDB
import HallsyncDomain
import HallsyncPostgres
#if canImport(Glibc)
import Glibc
#endif

/// The web page's own state: accounts, sessions, the audit log of unmasked views, clerks'
/// phone-call results, and clerks' requests to the daemon (retry, resolve). The web page reaches
/// it only through the typed operations here (``WebStore/account(named:)``,
/// ``WebStore/startSession(_:endingOthers:)``, ``WebStore/recordViews(of:account:view:address:at:)``,
/// ``WebStore/recordCall(_:)`` …): no page holds SQL.
///
/// On one machine it is a file of its own (`web.sqlite`):
///
///     let web = try WebStore(path: "/var/lib/hallsync-web/web.sqlite")          // the web page: writes
///     let requests = try WebStore(path: path, readOnly: true)                   // the daemon: reads
///     try requests.read { try $0.requests(after: lastApplied, limit: 100) }
///
/// Each process writes only its own file: the web page writes this one, the daemon its own,
/// and the daemon carries out the requests it reads here in its own transactions, with a cursor
/// of its own — so a request is applied once, never races a cycle, and is never lost.
///
/// On a pair (PostgreSQL) the same tables live in the region's schema beside the daemon's
/// (``init(sharing:)``), so that the web page works the same on either machine: a session
/// started on one is good on the other, and a clerk's request is read by whichever daemon leads.
public final class WebStore: Sendable {
    /// The file, or the region's schema on PostgreSQL (for messages).
    public let path: String
    let backend: Backend

    enum Backend: Sendable {
        case sqlite(DatabaseQueue)
        case postgresql(PostgresBackend)
    }

    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        do {
            if !readOnly { _ = try Store.prepareFile(path, ownedLikeItsDirectory: true) }
            var configuration = Configuration()
            configuration.readonly = readOnly
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                if !readOnly {
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                    Store.persistWAL(db)
                }
            }
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            if !readOnly { try Self.migrator.migrate(queue) }
            backend = .sqlite(queue)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .webStoreOpen, message: "cannot open the web page's database \(path): \(error); check web.database, its directory and its permissions")
        }
    }

    /// The web page's tables in the region's schema of a store on PostgreSQL (migrated with it),
    /// through the store's connections. Writes here are not fenced by the lease — the web page
    /// works on the standby too — so give it a store of its own, not the leader's fenced one,
    /// when it writes.
    public init(sharing store: Store) throws(StoreError) {
        guard case .postgresql(let backend) = store.backend else {
            throw StoreError(code: .webStoreOpen, message: "the web page's tables share the daemon's store on PostgreSQL only; on SQLite they are a file of their own (web.database)")
        }
        self.path = "PostgreSQL schema " + backend.schema
        self.backend = .postgresql(backend)
    }

    /// Runs `body` in one write transaction. A database failure becomes a ``StoreError``; what
    /// `body` throws itself comes through as it is.
    @discardableResult
    public func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        do {
            switch backend {
            case .sqlite(let queue): return try queue.write { db in try body(SQLiteSession(db: db)) }
            case .postgresql(let backend): return try backend.write(fenced: false) { session in try body(session) }
            }
        } catch let error as DatabaseError {
            throw StoreError(code: .webStoreWrite, message: "writing \(path) failed: \(error)")
        } catch let error as PostgresError {
            throw StoreError(code: .webStoreWrite, message: "writing the web page's tables in the \(path) failed: \(error)")
        }
    }

    public func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        do {
            switch backend {
            case .sqlite(let queue): return try queue.read { db in try body(SQLiteSession(db: db)) }
            case .postgresql(let backend): return try backend.read { session in try body(session) }
            }
        } catch let error as DatabaseError {
            throw StoreError(code: .webStoreRead, message: "reading \(path) failed: \(error)")
        } catch let error as PostgresError {
            throw StoreError(code: .webStoreRead, message: "reading the web page's tables in the \(path) failed: \(error)")
        }
    }

    /// The web tables' migrations, oldest first; on PostgreSQL written once more
    /// (``PostgresSchema/webMigrations``) and recorded under the same names.
    static let migrationNames = ["web v1: accounts, sessions, audit, phone calls, requests", "web v2: sessions in columns, found by account"]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(migrationNames[0]) { db in
            try db.execute(sql: """
                -- Accounts, managed on the server (hallsync user …). Passwords as bcrypt hashes only.
                CREATE TABLE account (
                    name TEXT PRIMARY KEY NOT NULL,
                    passwordHash TEXT NOT NULL,
                    role TEXT NOT NULL,                      -- staff | admin
                    departments TEXT NOT NULL DEFAULT '',    -- staff: department codes, comma-separated
                    region TEXT,                             -- admin: the region code
                    disabled INTEGER NOT NULL DEFAULT 0,
                    createdAt REAL NOT NULL,
                    passwordChangedAt REAL NOT NULL
                );
                -- Sessions (the framework's key/value persistence), with their expiry.
                CREATE TABLE persist (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, expiresAt REAL);
                -- Every view of unmasked personal data: who, when, which reservation, which page.
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at REAL NOT NULL,
                    account TEXT NOT NULL,
                    reservationId TEXT NOT NULL,
                    view TEXT NOT NULL,
                    address TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX audit_at ON audit(at);
                CREATE INDEX audit_reservation ON audit(reservationId);
                -- Phone verification of pre-upgrade reservations: every call, and the latest per reservation.
                CREATE TABLE phoneCall (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    reservationId TEXT NOT NULL,
                    result TEXT NOT NULL,                    -- CONFIRMED | CANCELLED_BY_APPLICANT | UNREACHABLE
                    note TEXT NOT NULL DEFAULT '',
                    account TEXT NOT NULL,
                    at REAL NOT NULL
                );
                CREATE INDEX phoneCall_reservation ON phoneCall(reservationId, id);
                CREATE TABLE phoneCallLatest (
                    reservationId TEXT PRIMARY KEY NOT NULL,
                    result TEXT NOT NULL,
                    account TEXT NOT NULL,
                    at REAL NOT NULL
                );
                -- What clerks ask the daemon to do; the daemon applies them in order, once, by id.
                CREATE TABLE request (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL,                      -- RETRY | RESOLVE
                    reservationId TEXT NOT NULL,
                    attentionId INTEGER,                     -- RESOLVE: the entry
                    note TEXT NOT NULL DEFAULT '',
                    account TEXT NOT NULL,
                    at REAL NOT NULL
                );
                """)
        }
        migrator.registerMigration(migrationNames[1]) { db in
            try db.execute(sql: """
                -- Sessions, one row each, found by their account: a password change, a disable and a new
                -- login end them with a plain DELETE. (v1 kept them as the framework's key/value pairs,
                -- the account inside a JSON BLOB that `LIKE` did not match: the sessions of a changed
                -- password lived on.) Sessions of v1 end with the upgrade: everyone logs in again.
                DROP TABLE persist;
                CREATE TABLE session (
                    tokenHash TEXT PRIMARY KEY NOT NULL,     -- SHA-256 of the cookie's token: this file holds no usable token
                    account TEXT NOT NULL,
                    csrf TEXT NOT NULL,                      -- every form of the session carries it back
                    loginAt REAL NOT NULL,
                    seenAt REAL NOT NULL,
                    expiresAt REAL NOT NULL                  -- seenAt + web.sessionMinutes
                );
                CREATE INDEX session_account ON session(account);
                CREATE INDEX session_expiry ON session(expiresAt);
                -- When the account's sessions were last ended (its password changed, or it was disabled):
                -- a session that logged in before is refused even if its row were still there.
                ALTER TABLE account ADD COLUMN sessionsEndedAt REAL NOT NULL DEFAULT 0;
                """)
        }
        return migrator
    }
}

/// A clerk's request to the daemon, as the web page stored it.
public struct ClerkRequest: Hashable, Sendable {
    public enum Kind: String, Sendable {
        /// Run the reservation through the pipeline again (after a catalogue or configuration fix).
        case retry = "RETRY"
        /// Close an attention entry, with a note.
        case resolve = "RESOLVE"
    }

    public var id: Int64
    public var kind: Kind
    public var reservationId: String
    public var attentionId: Int64?
    public var note: String
    public var account: String
    public var at: Double

    public init(id: Int64, kind: Kind, reservationId: String, attentionId: Int64?, note: String, account: String, at: Double) {
        self.id = id
        self.kind = kind
        self.reservationId = reservationId
        self.attentionId = attentionId
        self.note = note
        self.account = account
        self.at = at
    }
}

extension WebStore {
    /// Requests after `id`, oldest first (the daemon's side).
    public func requests(after id: Int64, limit: Int) throws -> [ClerkRequest] {
        try read { db in
            try db.rows("SELECT * FROM request WHERE id > ? ORDER BY id LIMIT ?", [id, limit]).compactMap { row in
                guard let kind = (row["kind"] as String?).flatMap(ClerkRequest.Kind.init(rawValue:)) else { return nil }
                return ClerkRequest(id: row["id"] ?? 0, kind: kind, reservationId: row["reservationId"] ?? "", attentionId: row["attentionId"],
                                    note: row["note"] ?? "", account: row["account"] ?? "", at: row["at"] ?? 0)
            }
        }
    }

    /// Stores a request (the web page's side); returns its id.
    @discardableResult
    public func add(_ kind: ClerkRequest.Kind, reservationId: String, attentionId: Int64?, note: String, account: String, at: Double) throws -> Int64 {
        try write { db in
            try db.value(Int64.self, "INSERT INTO request (kind, reservationId, attentionId, note, account, at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                         [kind.rawValue, reservationId, attentionId, note, account, at]) ?? 0
        }
    }
}
