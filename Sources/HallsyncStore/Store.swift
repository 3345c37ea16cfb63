import Foundation
import GRDB
import GRDBSQLite
import HallsyncDomain
import HallsyncPostgres
#if canImport(Glibc)
import Glibc
#endif

/// hallsync's state: one SQLite file in WAL mode (the embedded default), or a region's schema
/// on PostgreSQL (an active/standby pair, ``init(postgres:)``). Both run the same operations
/// (``StoreTransaction``) through ``SQLSession``.
///
///     let store = try Store(path: "/var/lib/hallsync/hallsync.sqlite")
///     try store.write { tx in
///         try tx.setCursor(.portalPosition, to: "2021-09-08 09:00:00|")
///     }
///
/// Everything that must change together changes in one ``write(_:)`` transaction, so a
/// `kill -9` at any moment leaves a state the next start can continue from.
public final class Store: Sendable {
    /// The SQLite file, or `postgresql:` and the region's schema.
    public let path: String
    let backend: Backend

    enum Backend {
        /// The file opened, by device and inode: a file deleted or replaced under a running daemon is noticed.
        case sqlite(DatabasePool, FileIdentity)
        case postgresql(PostgresBackend)
    }

    /// Which database holds the state.
    public var dialect: SQLDialect {
        switch backend {
        case .sqlite: return .sqlite
        case .postgresql: return .postgresql
        }
    }

    /// The SQLite file's pool (tests and SQLite-only operations).
    var pool: DatabasePool {
        guard case .sqlite(let pool, _) = backend else { preconditionFailure("the store is on PostgreSQL, not a SQLite file") }
        return pool
    }

    /// Opens (creating and migrating it) the region's schema on PostgreSQL.
    public init(postgres settings: PostgresStoreSettings) throws(StoreError) {
        do {
            let backend = try PostgresBackend(settings)
            path = "postgresql:" + backend.schema
            self.backend = .postgresql(backend)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .open, message: "cannot open the state on PostgreSQL (region \(settings.region)): \(error); check store.connection, the credential file and that the role may create the schema")
        }
    }

    /// From now on every write transaction first proves the lease (``FenceToken``), and is refused
    /// (``StoreError/Code/notLeader``) when `token` gives none: a deposed leader cannot plan,
    /// settle or move a cursor. PostgreSQL only (a SQLite file has one writer by its lock).
    public func fenceWrites(with token: (@Sendable () -> FenceToken?)?) {
        if case .postgresql(let backend) = backend { backend.fenceWrites(token) }
    }

    /// The mode of the database (and, as SQLite copies it, of its -wal and -shm files): the owner
    /// writes, the group (the web page's reader) reads, nobody else — whatever the umask.
    public static let fileMode: mode_t = 0o640

    /// - Parameter readOnly: a reader of another process (the web page): nothing is created,
    ///   migrated or written, and `attaching` databases are attached to every connection
    ///   (`name: path`); the file must already be at the newest schema the daemon writes.
    /// - Parameter observingStatements: called with the SQL of every statement the writer runs
    ///   (tests check the query plans of what a sync does).
    public init(path: String, readOnly: Bool = false, attaching: [String: String] = [:],
                observingStatements: (@Sendable (String) -> Void)? = nil) throws(StoreError) {
        self.path = path
        if readOnly {
            do {
                var configuration = Configuration()
                configuration.readonly = true
                configuration.busyMode = .timeout(10)
                configuration.prepareDatabase { db in
                    for (name, file) in attaching.sorted(by: { $0.key < $1.key }) {
                        try db.execute(sql: "ATTACH DATABASE ? AS \(name)", arguments: [file])
                    }
                }
                var info = stat()
                guard stat(path, &info) == 0 else {
                    throw StoreError(code: .open, message: "there is no state database at \(path) yet; start hallsync (the daemon) first, or check database in the configuration")
                }
                let identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
                let pool = try DatabasePool(path: path, configuration: configuration)
                let applied = try pool.read { db in try Schema.migrator.appliedMigrations(db) }
                guard applied.contains(Schema.newest) else {
                    throw StoreError(code: .schemaOlder, message: "the state database \(path) is at an older schema than this hallsync reads; restart the daemon (hallsync.service) once so that it upgrades the file")
                }
                backend = .sqlite(pool, identity)
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError(code: .open, message: "cannot read the state database \(path): \(error); check that this user may read it (group hallsync) and that the daemon has run once")
            }
            return
        }
        let identity = try Self.prepareFile(path)
        try Self.checkSchema(path)
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // 8 MiB of pages per connection instead of SQLite's 2 MiB: a backlog's indexes
                // stay in memory instead of being read again from the OS on every statement.
                try db.execute(sql: "PRAGMA cache_size = -8192")
                try db.execute(sql: "PRAGMA foreign_keys = ON")
                // Erased personal data (retention) is overwritten on disk, not left in free pages.
                try db.execute(sql: "PRAGMA secure_delete = ON")
                Store.persistWAL(db)
                StatementProfile.trace(db, observer: observingStatements)
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            backend = .sqlite(pool, identity)
            // Before a migration changes the file, a copy of it as it was is kept beside it.
            let applied = try pool.read { db in try Schema.migrator.appliedIdentifiers(db) }
            if !applied.isEmpty, let next = Schema.names.first(where: { !applied.contains($0) }) {
                let copy = path + ".before-" + Schema.shortName(next)
                try? FileManager.default.removeItem(atPath: copy)
                try pool.backup(to: try DatabaseQueue(path: copy))
                chmod(copy, Self.fileMode)
            }
            try Schema.migrator.migrate(pool)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .open, message: "cannot open the state database \(path): \(error); check the path, its directory's permissions and free disk space")
        }
    }

    /// Creates the file with ``fileMode`` before SQLite does (SQLite would use the umask), and
    /// takes other users' access away from an existing one.
    ///
    /// A file root creates (an administrator running a command by hand) is given to the owner of
    /// its directory — the service's user — so that the service can still write it.
    static func prepareFile(_ path: String, ownedLikeItsDirectory: Bool = true) throws(StoreError) -> FileIdentity {
        let existed = access(path, F_OK) == 0
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, fileMode)
        guard fd >= 0 else {
            throw StoreError(code: .open, message: "cannot open the state database \(path): \(String(cString: strerror(errno))); check the path, its directory's permissions and free disk space")
        }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        // A new file gets exactly the mode (the unit's UMask=0077 would take the group's read away);
        // an existing one only loses what others could do.
        if !existed { fchmod(fd, fileMode) } else if info.st_mode & 0o007 != 0 { fchmod(fd, info.st_mode & 0o770) }
        if !existed, ownedLikeItsDirectory, geteuid() == 0 {
            var directory = stat()
            if stat(URL(fileURLWithPath: path).deletingLastPathComponent().path, &directory) == 0, directory.st_uid != 0 {
                fchown(fd, directory.st_uid, directory.st_gid)
            }
        }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// A file root put in place by hand (a restore) goes to the owner of its directory, the
    /// service's user, with the database's mode.
    public static func giveToDirectoryOwner(_ path: String) {
        chmod(path, fileMode)
        guard geteuid() == 0 else { return }
        var directory = stat()
        if stat(URL(fileURLWithPath: path).deletingLastPathComponent().path, &directory) == 0, directory.st_uid != 0 {
            chown(path, directory.st_uid, directory.st_gid)
        }
    }

    /// Keeps the `-wal` and `-shm` files when the last connection closes, so that a reader of
    /// another user (the web page, with read access only) can open the database while the
    /// daemon is stopped: a read-only connection cannot create them.
    static func persistWAL(_ db: Database) {
        guard let connection = db.sqliteConnection else { return }
        var flag: Int32 = 1
        _ = sqlite3_file_control(connection, "main", SQLITE_FCNTL_PERSIST_WAL, &flag)
    }

    /// Throws when the file at ``path`` is no longer the one this store writes: deleted (the
    /// writes would vanish at exit) or replaced (they would go to the old file).
    public func checkFileIdentity() throws(StoreError) {
        guard case .sqlite(_, let identity) = backend else { return }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw StoreError(code: .databaseGone, message: "the state database \(path) was deleted while hallsync was running (\(String(cString: strerror(errno)))); hallsync stops rather than write into a file nobody will see. Restore it from a backup, or start again deliberately on a new one")
        }
        guard FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) == identity else {
            throw StoreError(code: .databaseReplaced, message: "the state database \(path) was replaced by another file while hallsync was running; hallsync stops rather than write into the old one. Restart it to continue from the file now in place")
        }
    }

    /// Runs `body` in one write transaction.
    public func write<T>(_ body: (StoreTransaction) throws -> T) throws(StoreError) -> T {
        do {
            switch backend {
            case .sqlite(let pool, _): return try pool.write { db in try body(StoreTransaction(db: SQLiteSession(db: db))) }
            case .postgresql(let backend): return try backend.write { session in try body(StoreTransaction(db: session)) }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.failure(error, writing: true, path: path)
        }
    }

    /// Runs `body` on a consistent snapshot.
    public func read<T>(_ body: (StoreTransaction) throws -> T) throws(StoreError) -> T {
        do {
            switch backend {
            case .sqlite(let pool, _): return try pool.read { db in try body(StoreTransaction(db: SQLiteSession(db: db))) }
            case .postgresql(let backend): return try backend.read { session in try body(StoreTransaction(db: session)) }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.failure(error, writing: false, path: path)
        }
    }

    /// What a failure of SQLite means: the file busy beyond the time-out (another process holds
    /// it: passes by itself), or a read or write that failed.
    static func failure(_ error: any Error, writing: Bool, path: String) -> StoreError {
        if let database = error as? DatabaseError, database.resultCode == .SQLITE_BUSY || database.resultCode == .SQLITE_LOCKED {
            return StoreError(code: .busy, message: "the state database \(path) stayed locked by another process beyond the time-out (\(database.message ?? "busy")); it is tried again — if it repeats, look for a process holding it (sqlite3, a backup)")
        }
        if let postgres = error as? PostgresError {
            switch postgres.code {
            case .notTheLeader:
                // The driver's advice speaks to the code; the operator reading the log gets this.
                let why = postgres.message.components(separatedBy: "; ").first ?? postgres.message
                return StoreError(code: .notLeader, message: "not written: \(why); this daemon no longer holds its region's lease (another took over, or the database was out of reach) and stands by while the leader carries on — nothing to do unless hallsync status shows no leader")
            case .connectionFailed, .connectionLost, .transactionConflict, .lockNotAvailable, .queryCancelled, .serverReadOnly, .commitOutcomeUnknown:
                return StoreError(code: .busy, message: "\(writing ? "writing" : "reading") the state on PostgreSQL (\(path)) failed for now: \(postgres.message)")
            default:
                break
            }
        }
        return StoreError(code: writing ? .write : .read, message: "\(writing ? "writing" : "reading") the state database \(path) failed: \(error)")
    }

    /// Refuses a file written by a newer hallsync (migrations this binary does not know): working
    /// on it would write what the newer schema does not expect. Read with plain SQLite, before
    /// anything else opens it.
    static func checkSchema(_ path: String) throws(StoreError) {
        let unknown = try sqliteStatus(path, names: Schema.names).unknown
        guard unknown.isEmpty else {
            throw StoreError(code: .schemaNewer, message: "the state database \(path) was written by a newer hallsync (\(unknown.joined(separator: ", "))); this one refuses to work on it rather than corrupt it. Install the newer version again, or restore the copy the upgrade kept beside the file (\(path).before-…)")
        }
    }

    /// A consistent copy of the database while the daemon runs (SQLite's online backup), written
    /// to `destination` (a new file, mode 0640); a restore is the copy put in the state directory
    /// while the daemon is stopped.
    public func backup(to destination: String) throws(StoreError) {
        guard case .sqlite(let pool, _) = backend else {
            throw StoreError(code: .backupFailed, message: "the state is on PostgreSQL (\(path)); back it up with the site's PostgreSQL tools (pg_dump --schema=\(path.dropFirst("postgresql:".count)), or the cluster's base backups), not with hallsync backup")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(code: .backupExists, message: "\(destination) exists already; give a new file name")
        }
        do {
            _ = try Self.prepareFile(destination, ownedLikeItsDirectory: false)
            let target = try DatabaseQueue(path: destination)
            try pool.backup(to: target)
            try target.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try target.close()
        } catch let error as StoreError {
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw StoreError(code: .backupFailed, message: "the backup to \(destination) failed: \(error); check the destination's directory and free space")
        }
    }

    /// The copies an upgrade kept beside the file (`….before-v9`) whose last change is before
    /// `cutoff` are deleted; returns their paths. A copy holds the personal data of its day, which
    /// the retention erases from the file itself — and one that old is no way back any more.
    @discardableResult
    public func removeMigrationCopies(changedBefore cutoff: Date) -> [String] {
        guard case .sqlite = backend else { return [] }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let prefix = URL(fileURLWithPath: path).lastPathComponent + ".before-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var removed: [String] = []
        for name in names.sorted() where name.hasPrefix(prefix) {
            let copy = directory + "/" + name
            guard let changed = (try? FileManager.default.attributesOfItem(atPath: copy))?[.modificationDate] as? Date,
                  changed < cutoff, (try? FileManager.default.removeItem(atPath: copy)) != nil else { continue }
            removed.append(copy)
        }
        return removed
    }

    /// Copies the write-ahead log into the database file and empties it, so that what was
    /// overwritten (erased personal data) is gone from the log too. Readers keep working.
    public func checkpoint() throws(StoreError) {
        guard case .sqlite(let pool, _) = backend else { return }
        do { try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") } } catch {
            throw StoreError(code: .write, message: "checkpointing \(path) failed: \(error)")
        }
    }

    /// The schema version the file is at (the newest applied migration).
    public func appliedMigrations() throws(StoreError) -> [String] {
        do {
            switch backend {
            case .sqlite(let pool, _): return try pool.read { db in try Schema.migrator.appliedMigrations(db) }
            case .postgresql(let backend): return try backend.appliedMigrations()
            }
        } catch {
            throw StoreError(code: .read, message: "reading the migrations of \(path) failed: \(error)")
        }
    }
}

/// Which file a path named when it was opened.
struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
}

/// A failure of the state database, with what to do about it.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable code, compared by name (``ExitStatus`` decides by it).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let open = Code(rawValue: "STORE_OPEN")
        public static let read = Code(rawValue: "STORE_READ")
        public static let write = Code(rawValue: "STORE_WRITE")
        /// Another process holds the database's write lock longer than the busy time-out.
        public static let busy = Code(rawValue: "STORE_BUSY")
        /// The file is at an older schema than a reader needs (the daemon has not upgraded it yet).
        public static let schemaOlder = Code(rawValue: "STORE_SCHEMA")
        /// The file was written by a newer hallsync.
        public static let schemaNewer = Code(rawValue: "STORE_SCHEMA_NEWER")
        /// A row holds a value no version of hallsync writes.
        public static let unreadableRow = Code(rawValue: "STORE_UNREADABLE_ROW")
        /// The database file was deleted, or replaced by another, while hallsync ran.
        public static let databaseGone = Code(rawValue: "DATABASE_GONE")
        public static let databaseReplaced = Code(rawValue: "DATABASE_REPLACED")
        public static let backupExists = Code(rawValue: "BACKUP_EXISTS")
        public static let backupFailed = Code(rawValue: "BACKUP_FAILED")
        public static let restoreFailed = Code(rawValue: "RESTORE_FAILED")
        /// Another hallsync already syncs this database (its single-instance lock).
        public static let alreadyRunning = Code(rawValue: "ALREADY_RUNNING")
        /// A write of one of a pair refused: this daemon does not hold its region's lease (now).
        public static let notLeader = Code(rawValue: "NOT_LEADER")
        public static let lockOpen = Code(rawValue: "LOCK_OPEN")
        public static let lockFailed = Code(rawValue: "LOCK_FAILED")
        public static let webStoreOpen = Code(rawValue: "WEB_STORE_OPEN")
        public static let webStoreRead = Code(rawValue: "WEB_STORE_READ")
        public static let webStoreWrite = Code(rawValue: "WEB_STORE_WRITE")
    }

    public let code: Code
    public let message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}
