import Foundation
import HallsyncDomain

/// Named positions (the portal's, each hall feed's, the sweep's) and when they last moved.
extension StoreTransaction {
    // MARK: Cursors

    public func cursor(_ name: CursorName) throws -> String? {
        try db.value(String.self, "SELECT value FROM cursor WHERE name = ?", [name.rawValue])
    }

    /// When a cursor was last written (Unix seconds): for a feed, its last successful read.
    public func cursorChangedAt(_ name: CursorName) throws -> Double? {
        try db.value(Double.self, "SELECT changedAt FROM cursor WHERE name = ?", [name.rawValue])
    }

    public func setCursor(_ name: CursorName, to value: String, now: Double) throws {
        try db.execute("INSERT INTO cursor (name, value, changedAt) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value, changedAt = excluded.changedAt", [name.rawValue, value, now])
    }

    public func removeCursor(_ name: CursorName) throws {
        try db.execute("DELETE FROM cursor WHERE name = ?", [name.rawValue])
    }
}
