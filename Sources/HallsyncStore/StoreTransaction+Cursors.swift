import Foundation
import GRDB
import HallsyncDomain

/// Named positions (the portal's, each hall feed's, the sweep's) and when they last moved.
extension StoreTransaction {
    // MARK: Cursors

    public func cursor(_ name: CursorName) throws -> String? {
        try String.fetchOne(try db.cachedStatement(sql: "SELECT value FROM cursor WHERE name = ?"), arguments: [name.rawValue])
    }

    /// When a cursor was last written (Unix seconds): for a feed, its last successful read.
    public func cursorChangedAt(_ name: CursorName) throws -> Double? {
        try Double.fetchOne(try db.cachedStatement(sql: "SELECT changedAt FROM cursor WHERE name = ?"), arguments: [name.rawValue])
    }

    public func setCursor(_ name: CursorName, to value: String, now: Double) throws {
        try db.cachedStatement(sql: "INSERT INTO cursor (name, value, changedAt) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value, changedAt = excluded.changedAt").execute(arguments: [name.rawValue, value, now])
    }

    public func removeCursor(_ name: CursorName) throws {
        try db.cachedStatement(sql: "DELETE FROM cursor WHERE name = ?").execute(arguments: [name.rawValue])
    }
}
