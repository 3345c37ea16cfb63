import Foundation
import HallsyncDomain

/// An attention entry as people see it: what was raised (its fields read through, `row.code`),
/// its number, and who closed it, when and why.
@dynamicMemberLookup
public struct AttentionRow: Hashable, Sendable {
    public var id: Int64
    public var entry: AttentionEntry
    public var resolvedAt: Double?
    public var resolvedBy: String?
    public var resolution: String?

    public subscript<T>(dynamicMember keyPath: KeyPath<AttentionEntry, T>) -> T { entry[keyPath: keyPath] }
}

/// An open attention entry as the 待人工处理 page lists it: the entry, what its reservation is
/// (department, matter, applicant — personal values as stored, the page masks them), whether
/// the reservation is stored (only then can it be retried or opened), and whether a clerk's
/// request about it waits for the daemon.
public struct AttentionListRow: Hashable, Sendable {
    public var entry: AttentionRow
    public var stored: Bool
    public var department: String?
    public var matter: String?
    public var matterName: String?
    public var applicantName: String
    public var purged: Bool
    public var waiting: Bool
}

extension StoreTransaction {
    /// Attention entries in scope (open ones, or all), newest last; `unowned` adds the entries that
    /// belong to no stored reservation (a malformed id, an unreadable record): the region's.
    public func attentionEntries(scope: ReservationScope, includingUnowned: Bool, openOnly: Bool = true, limit: Int) throws -> [AttentionRow] {
        let (predicate, arguments) = scope.predicate()
        var all = arguments
        all += [limit]
        let sql = """
            SELECT a.* FROM attention a LEFT JOIN reservation r ON r.id = a.reservationId
            WHERE \(openOnly ? "a.resolvedAt IS NULL AND" : "") ((r.id IS NOT NULL AND \(predicate)) \(includingUnowned ? "OR r.id IS NULL" : ""))
            ORDER BY a.raisedAt, a.id LIMIT ?
            """
        return try db.rows(sql, all).map(Self.attentionRow)
    }

    /// How many open entries there are in scope, and about how many reservations (the status
    /// file's count).
    public func attentionCounts(scope: ReservationScope, includingUnowned: Bool) throws -> (reservations: Int, entries: Int) {
        let (whereClause, arguments) = Self.openAttentionConditions(scope: scope, includingUnowned: includingUnowned)
        let counts = try db.row("""
            SELECT COUNT(*) AS entries, COUNT(DISTINCT a.reservationId) AS reservations
            FROM attention a LEFT JOIN reservation r ON r.id = a.reservationId WHERE \(whereClause)
            """, arguments)
        return (counts?["reservations"] ?? 0, counts?["entries"] ?? 0)
    }

    /// A page of the open attention list in scope, oldest first, each entry with its reservation
    /// and whether a request about it waits — one statement for the page, not one per entry (the
    /// web page's database attached as `web`).
    public func attentionList(scope: ReservationScope, includingUnowned: Bool, limit: Int, offset: Int) throws -> [AttentionListRow] {
        let (whereClause, arguments) = Self.openAttentionConditions(scope: scope, includingUnowned: includingUnowned)
        var all: SQLArguments = [try appliedClerkRequest()]
        all += arguments
        all += [limit, offset]
        return try db.rows(Self.attentionListColumns + " WHERE \(whereClause) ORDER BY a.raisedAt, a.id LIMIT ? OFFSET ?", all)
            .map(Self.attentionListRow)
    }

    /// One open entry as the list shows it, when it is in scope.
    public func openAttentionEntry(id: Int64, scope: ReservationScope, includingUnowned: Bool) throws -> AttentionListRow? {
        let (whereClause, arguments) = Self.openAttentionConditions(scope: scope, includingUnowned: includingUnowned)
        var all: SQLArguments = [try appliedClerkRequest(), id]
        all += arguments
        return try db.row(Self.attentionListColumns + " WHERE a.id = ? AND \(whereClause)", all).map(Self.attentionListRow)
    }

    /// Every open entry in scope, oldest first, one at a time from one snapshot (the export);
    /// `body` returns false to stop.
    public func forEachOpenAttentionEntry(scope: ReservationScope, includingUnowned: Bool, _ body: (AttentionListRow) throws -> Bool) throws {
        let (whereClause, arguments) = Self.openAttentionConditions(scope: scope, includingUnowned: includingUnowned)
        var all: SQLArguments = [try appliedClerkRequest()]
        all += arguments
        try db.forEachRow(Self.attentionListColumns + " WHERE \(whereClause) ORDER BY a.raisedAt, a.id", all) { row in
            try body(Self.attentionListRow(row))
        }
    }

    static func openAttentionConditions(scope: ReservationScope, includingUnowned: Bool) -> (String, SQLArguments) {
        let (predicate, arguments) = scope.predicate()
        return ("a.resolvedAt IS NULL AND ((r.id IS NOT NULL AND \(predicate)) \(includingUnowned ? "OR r.id IS NULL" : ""))", arguments)
    }

    /// The first `?` is the last clerk's request the daemon applied: later ones still wait.
    static let attentionListColumns = """
        SELECT a.*, r.id IS NOT NULL AS stored, r.deptCode, r.itemCode, r.purgedAt,
               r.itemName, r.applicantName,
               EXISTS (SELECT 1 FROM web.request q WHERE q.id > ?
                       AND (q.attentionId = a.id OR (q.attentionId IS NULL AND q.reservationId = a.reservationId))) AS waiting
        FROM attention a LEFT JOIN reservation r ON r.id = a.reservationId
        """

    static func attentionListRow(_ row: SQLRow) -> AttentionListRow {
        AttentionListRow(entry: attentionRow(row), stored: row["stored"], department: row["deptCode"], matter: row["itemCode"],
                         matterName: (row["itemName"] as String?).map(MatterName.strippingReservationPrefix),
                         applicantName: row["applicantName"] ?? "", purged: (row["purgedAt"] as Double?) != nil, waiting: row["waiting"])
    }

    /// One attention entry, when its reservation is in scope (or it has none and `includingUnowned`).
    public func attentionEntry(id: Int64, scope: ReservationScope, includingUnowned: Bool) throws -> AttentionRow? {
        let (predicate, arguments) = scope.predicate()
        var all: SQLArguments = [id]
        all += arguments
        return try db.row("""
            SELECT a.* FROM attention a LEFT JOIN reservation r ON r.id = a.reservationId
            WHERE a.id = ? AND ((r.id IS NOT NULL AND \(predicate)) \(includingUnowned ? "OR r.id IS NULL" : ""))
            """, all).map(Self.attentionRow)
    }

    /// What was raised, from a row of `attention`.
    static func attentionEntry(_ row: SQLRow) -> AttentionEntry {
        AttentionEntry(reservationId: row["reservationId"], code: row["code"], field: row["field"], target: row["target"],
                       messageZh: row["messageZh"], messageEn: row["messageEn"], version: row["version"], raisedAt: row["raisedAt"])
    }

    static func attentionRow(_ row: SQLRow) -> AttentionRow {
        AttentionRow(id: row["id"], entry: attentionEntry(row), resolvedAt: row["resolvedAt"], resolvedBy: row["resolvedBy"], resolution: row["resolution"])
    }

    /// The last clerk's request the daemon applied (the web page shows what is still waiting).
    public func appliedClerkRequest() throws -> Int64 {
        try cursor(.clerkRequests).flatMap(Int64.init) ?? 0
    }
}
