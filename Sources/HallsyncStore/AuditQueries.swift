import Foundation

/// One view of unmasked personal data.
public struct AuditLine: Hashable, Sendable {
    public var at: Double
    public var account: String
    public var reservationId: String
    public var view: String
    public var address: String
}

extension StoreTransaction {
    /// How many lines the audit log has about reservations of a region viewed in `[from, until)`
    /// (Unix seconds; the web page's database attached as `web`).
    public func auditLineCount(region: String, includingUnowned: Bool, from: Double, until: Double) throws -> Int {
        try db.value(Int.self, "SELECT COUNT(*) FROM web.audit a LEFT JOIN reservation r ON r.id = a.reservationId WHERE \(Self.auditCondition(includingUnowned))", [from, until, region]) ?? 0
    }

    /// A page of those lines, newest first.
    public func auditLines(region: String, includingUnowned: Bool, from: Double, until: Double, limit: Int, offset: Int) throws -> [AuditLine] {
        try db.rows("""
            SELECT a.* FROM web.audit a LEFT JOIN reservation r ON r.id = a.reservationId WHERE \(Self.auditCondition(includingUnowned))
            ORDER BY a.id DESC LIMIT ? OFFSET ?
            """, [from, until, region, limit, offset]).map(Self.auditLine)
    }

    /// Every such line, newest first, one at a time from one snapshot (the export); `body`
    /// returns false to stop.
    public func forEachAuditLine(region: String, includingUnowned: Bool, from: Double, until: Double, _ body: (AuditLine) throws -> Bool) throws {
        try db.forEachRow("""
            SELECT a.* FROM web.audit a LEFT JOIN reservation r ON r.id = a.reservationId WHERE \(Self.auditCondition(includingUnowned))
            ORDER BY a.id DESC
            """, [from, until, region]) { row in
            try body(Self.auditLine(row))
        }
    }

    static func auditCondition(_ includingUnowned: Bool) -> String {
        "a.at >= ? AND a.at < ? AND (r.regionCode = ? \(includingUnowned ? "OR r.id IS NULL" : ""))"
    }

    static func auditLine(_ row: SQLRow) -> AuditLine {
        AuditLine(at: row["at"], account: row["account"], reservationId: row["reservationId"], view: row["view"], address: row["address"])
    }
}
