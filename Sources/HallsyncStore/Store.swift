import Foundation
import GRDB
import HallsyncDomain

/// hallsync's state: one SQLite file in WAL mode.
///
///     let store = try Store(path: "/var/lib/hallsync/hallsync.sqlite")
///     try store.write { tx in
///         try tx.setCursor(.portalPosition, to: "2021-09-08 09:00:00|")
///     }
///
/// Everything that must change together changes in one ``write(_:)`` transaction, so a
/// `kill -9` at any moment leaves a state the next start can continue from.
public final class Store: Sendable {
    public let path: String
    let pool: DatabasePool

    public init(path: String) throws(StoreError) {
        self.path = path
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try db.execute(sql: "PRAGMA foreign_keys = ON")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            try Schema.migrator.migrate(pool)
        } catch {
            throw StoreError(code: "STORE_OPEN", message: "cannot open the state database \(path): \(error); check the path, its directory's permissions and free disk space")
        }
    }

    /// Runs `body` in one write transaction.
    public func write<T>(_ body: (StoreTransaction) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.write { db in try body(StoreTransaction(db: db)) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: "STORE_WRITE", message: "writing the state database \(path) failed: \(error)")
        }
    }

    /// Runs `body` on a consistent snapshot.
    public func read<T>(_ body: (StoreTransaction) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read { db in try body(StoreTransaction(db: db)) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: "STORE_READ", message: "reading the state database \(path) failed: \(error)")
        }
    }

    /// The schema version the file is at (the newest applied migration).
    public func appliedMigrations() throws(StoreError) -> [String] {
        do { return try pool.read { db in try Schema.migrator.appliedMigrations(db) } } catch {
            throw StoreError(code: "STORE_READ", message: "reading the migrations of \(path) failed: \(error)")
        }
    }
}

/// A failure of the state database, with what to do about it.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}
