import Foundation
import GRDB
import HallsyncStore
import Hummingbird

/// The framework's key/value persistence (what hummingbird-auth keeps sessions in) in the web
/// page's database, so sessions survive a restart of the web page and expire on their own.
struct SQLitePersistDriver: PersistDriver {
    let web: WebStore

    func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let data = try JSONEncoder().encode(value)
        try web.write { db in
            try db.execute(sql: "DELETE FROM persist WHERE key = ? AND expiresAt IS NOT NULL AND expiresAt <= ?", arguments: [key, Self.now()])
            do {
                try db.execute(sql: "INSERT INTO persist (key, value, expiresAt) VALUES (?, ?, ?)", arguments: [key, data, Self.expiry(expires)])
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw PersistError.duplicate
            }
        }
    }

    func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let data = try JSONEncoder().encode(value)
        try web.write { db in
            if let expires {
                try db.execute(sql: "INSERT INTO persist (key, value, expiresAt) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, expiresAt = excluded.expiresAt",
                               arguments: [key, data, Self.expiry(expires)])
            } else {
                try db.execute(sql: "INSERT INTO persist (key, value, expiresAt) VALUES (?, ?, NULL) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                               arguments: [key, data])
            }
        }
    }

    func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> (object: Object, ttl: Duration?)? {
        let row = try web.read { db in
            try Row.fetchOne(db, sql: "SELECT value, expiresAt FROM persist WHERE key = ? AND (expiresAt IS NULL OR expiresAt > ?)",
                             arguments: [key, Self.now()])
        }
        guard let row else { return nil }
        guard let object = try? JSONDecoder().decode(Object.self, from: row["value"] as Data) else { throw PersistError.invalidConversion }
        let expiresAt: Double? = row["expiresAt"]
        return (object, expiresAt.map { .milliseconds(Int64(($0 - Self.now()) * 1000)) })
    }

    func remove(key: String) async throws {
        try web.write { db in try db.execute(sql: "DELETE FROM persist WHERE key = ?", arguments: [key]) }
    }

    /// Forgets what has expired (run now and then, not on every request).
    func removeExpired() throws {
        try web.write { db in try db.execute(sql: "DELETE FROM persist WHERE expiresAt IS NOT NULL AND expiresAt <= ?", arguments: [Self.now()]) }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    static func expiry(_ duration: Duration?) -> Double? {
        duration.map { now() + Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
    }
}
