import Foundation
import GRDB
import HallsyncDomain

/// Which reservations a reader may see (the notice's 预约数据汇总): a department's staff their
/// departments, a region administrator the region. Every query below carries it as a predicate.
public enum ReservationScope: Hashable, Sendable {
    case departments([String])
    case region(String)

    func predicate(_ alias: String = "r") -> (sql: String, arguments: StatementArguments) {
        switch self {
        case .departments(let codes):
            guard !codes.isEmpty else { return ("0", []) }
            return ("\(alias).deptCode IN (\(codes.map { _ in "?" }.joined(separator: ",")))", StatementArguments(codes))
        case .region(let code):
            return ("\(alias).regionCode = ?", [code])
        }
    }
}

/// The summary's categories of a reservation (the `state` column, computed by SQLite).
public enum ReservationState: String, CaseIterable, Sendable {
    case pending = "PENDING", handled = "HANDLED", consulted = "CONSULTED", cancelled = "CANCELLED", phone = "PHONE", held = "HELD"
}

/// What a list shows: a range of appointment dates, and optionally a department, a matter and
/// one of the summary's columns.
public struct ReservationFilter: Hashable, Sendable {
    public enum Column: String, CaseIterable, Sendable {
        case all, pending, handled, consulted, cancelled, overdue, phone, attention
        case phoneConfirmed, phoneCancelled, phoneUnreachable, phoneNotCalled, held
    }

    public var from: CivilDate
    public var to: CivilDate
    public var department: String?
    public var matter: String?
    public var column: Column = .all
    /// One reservation id (a clerk's search).
    public var reservationId: String?

    public init(from: CivilDate, to: CivilDate, department: String? = nil, matter: String? = nil, column: Column = .all, reservationId: String? = nil) {
        self.from = from
        self.to = to
        self.department = department
        self.matter = matter
        self.column = column
        self.reservationId = reservationId
    }
}

/// One line of the summary: a department and a matter, and its counts.
public struct SummaryRow: Hashable, Sendable {
    public var department: String
    public var departmentName: String
    public var matter: String
    public var matterName: String
    public var counts: [ReservationFilter.Column: Int]
}

/// One reservation as the list shows it. Personal values as stored: the page masks them unless
/// the reader may see them in full.
public struct ReservationRow: Hashable, Sendable {
    public var id: String
    public var department: String?
    public var departmentName: String?
    public var matter: String?
    public var matterName: String?
    public var appointmentDate: String?
    /// `yyyy-MM-dd HH:mm:ss` when deliverable, else the portal's slot.
    public var appointment: String
    public var deadline: String?
    public var state: ReservationState
    public var portalStatus: String?
    public var intake: CopyState?
    public var licensing: CopyState?
    public var applicantName: String
    public var phone: String
    public var openAttention: Int
    public var phoneCall: String?
    public var purged: Bool

    public struct CopyState: Hashable, Sendable {
        public var itemNo: String?
        public var status: String
        public var blocked: Bool
    }
}

extension StoreTransaction {
    static let stateColumns = """
        COUNT(*) AS total,
        SUM(r.state = 'PENDING') AS pending, SUM(r.state = 'HANDLED') AS handled, SUM(r.state = 'CONSULTED') AS consulted,
        SUM(r.state = 'CANCELLED') AS cancelled, SUM(r.state = 'PENDING' AND r.deadline < ?) AS overdue,
        SUM(r.state = 'PHONE') AS phone, SUM(r.state = 'HELD') AS held,
        SUM(r.state = 'PHONE' AND p.result = 'CONFIRMED') AS phoneConfirmed,
        SUM(r.state = 'PHONE' AND p.result = 'CANCELLED_BY_APPLICANT') AS phoneCancelled,
        SUM(r.state = 'PHONE' AND p.result = 'UNREACHABLE') AS phoneUnreachable,
        SUM(r.state = 'PHONE' AND p.result IS NULL) AS phoneNotCalled,
        SUM(EXISTS (SELECT 1 FROM attention a WHERE a.reservationId = r.id AND a.resolvedAt IS NULL)) AS attention
        """

    /// Counts per department and matter for appointments from `from` through `to`, in scope.
    /// `now` (Beijing time) decides what is overdue. The web page's database must be attached as
    /// `web` (for the phone-call results).
    public func summary(scope: ReservationScope, from: CivilDate, to: CivilDate, now: BeijingTime) throws -> [SummaryRow] {
        let (predicate, arguments) = scope.predicate()
        // Positional, in the order they appear: `now` in the columns, the scope, the dates.
        var all: StatementArguments = [now.description]
        all += arguments
        all += [from.description, to.description]
        // The counts read the covering index only; the names come from one reservation per line after.
        let sql = """
            SELECT r.deptCode AS department, r.itemCode AS matter, MIN(r.id) AS sample,
                   \(Self.stateColumns)
            FROM reservation r LEFT JOIN web.phoneCallLatest p ON p.reservationId = r.id
            WHERE \(predicate) AND r.appointmentDate BETWEEN ? AND ?
            GROUP BY r.deptCode, r.itemCode
            ORDER BY r.deptCode, r.itemCode
            """
        return try Row.fetchAll(db, sql: sql, arguments: all).map { row in
            var counts: [ReservationFilter.Column: Int] = [:]
            for column in ReservationFilter.Column.allCases {
                counts[column] = (row[column == .all ? "total" : column.rawValue] as Int?) ?? 0
            }
            let names = try Row.fetchOne(db, sql: """
                SELECT json_extract(portalJSON, '$.deptName') AS departmentName,
                       COALESCE(json_extract(contentJSON, '$.itemName'), json_extract(portalJSON, '$.itemName')) AS matterName
                FROM reservation WHERE id = ?
                """, arguments: [row["sample"] as String])
            return SummaryRow(department: row["department"] ?? "", departmentName: names?["departmentName"] ?? "",
                              matter: row["matter"] ?? "", matterName: MatterName.strippingReservationPrefix(names?["matterName"] ?? ""),
                              counts: counts)
        }
    }

    /// The reservations behind one of the summary's numbers, in scope, oldest appointment first,
    /// and how many there are in all.
    public func reservations(scope: ReservationScope, filter: ReservationFilter, now: BeijingTime, limit: Int, offset: Int) throws -> (rows: [ReservationRow], total: Int) {
        let (predicate, arguments) = scope.predicate()
        var conditions = [predicate]
        var all = arguments
        if let id = filter.reservationId {
            conditions.append("r.id = ?")
            all += [id]
        } else {
            conditions.append("r.appointmentDate BETWEEN ? AND ?")
            all += [filter.from.description, filter.to.description]
        }
        if let department = filter.department { conditions.append("r.deptCode = ?"); all += [department] }
        if let matter = filter.matter { conditions.append("r.itemCode = ?"); all += [matter] }
        switch filter.column {
        case .all: break
        case .pending, .handled, .consulted, .cancelled, .phone, .held:
            conditions.append("r.state = ?")
            all += [filter.column == .pending ? "PENDING" : filter.column.rawValue.uppercased()]
        case .overdue:
            conditions.append("r.state = 'PENDING' AND r.deadline < ?")
            all += [now.description]
        case .attention:
            conditions.append("EXISTS (SELECT 1 FROM attention a WHERE a.reservationId = r.id AND a.resolvedAt IS NULL)")
        case .phoneConfirmed, .phoneCancelled, .phoneUnreachable:
            conditions.append("r.state = 'PHONE' AND p.result = ?")
            all += [["phoneConfirmed": "CONFIRMED", "phoneCancelled": "CANCELLED_BY_APPLICANT", "phoneUnreachable": "UNREACHABLE"][filter.column.rawValue]!]
        case .phoneNotCalled:
            conditions.append("r.state = 'PHONE' AND p.result IS NULL")
        }
        let whereClause = conditions.joined(separator: " AND ")
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM reservation r LEFT JOIN web.phoneCallLatest p ON p.reservationId = r.id WHERE \(whereClause)",
                                     arguments: all) ?? 0
        var paged = all
        paged += [limit, offset]
        let rows = try Row.fetchAll(db, sql: """
            SELECT r.id, r.deptCode, r.itemCode, r.appointmentDate, r.deadline, r.state, r.portalStatus, r.purgedAt,
                   json_extract(r.portalJSON, '$.deptName') AS deptName,
                   COALESCE(json_extract(r.contentJSON, '$.itemName'), json_extract(r.portalJSON, '$.itemName')) AS itemName,
                   json_extract(r.contentJSON, '$.registerTime') AS registerTime,
                   json_extract(r.portalJSON, '$.appointmentSlot') AS slot,
                   COALESCE(json_extract(r.contentJSON, '$.applicantName'), json_extract(r.portalJSON, '$.applicant.name')) AS name,
                   CASE WHEN r.contentJSON IS NOT NULL THEN json_extract(r.contentJSON, '$.phone') ELSE json_extract(r.portalJSON, '$.applicant.phone') END AS phone,
                   ci.itemNo AS intakeNo, ci.status AS intakeStatus, ci.isBlocked AS intakeBlocked, ci.target AS intakeTarget,
                   cl.itemNo AS licensingNo, cl.status AS licensingStatus, cl.isBlocked AS licensingBlocked, cl.target AS licensingTarget,
                   p.result AS phoneCall,
                   (SELECT COUNT(*) FROM attention a WHERE a.reservationId = r.id AND a.resolvedAt IS NULL) AS openAttention
            FROM reservation r
            LEFT JOIN web.phoneCallLatest p ON p.reservationId = r.id
            LEFT JOIN hallCopy ci ON ci.reservationId = r.id AND ci.target = 'intake'
            LEFT JOIN hallCopy cl ON cl.reservationId = r.id AND cl.target = 'licensing'
            WHERE \(whereClause)
            ORDER BY r.appointmentDate, r.id
            LIMIT ? OFFSET ?
            """, arguments: paged)
        return (rows.map(Self.reservationRow), total)
    }

    static func reservationRow(_ row: Row) -> ReservationRow {
        func copy(_ prefix: String) -> ReservationRow.CopyState? {
            guard (row["\(prefix)Target"] as String?) != nil else { return nil }
            return ReservationRow.CopyState(itemNo: row["\(prefix)No"], status: row["\(prefix)Status"] ?? "PENDING", blocked: row["\(prefix)Blocked"] ?? false)
        }
        let appointment = (row["registerTime"] as String?) ?? [row["appointmentDate"] as String?, row["slot"] as String?].compactMap { $0 }.joined(separator: " ")
        return ReservationRow(
            id: row["id"], department: row["deptCode"], departmentName: row["deptName"], matter: row["itemCode"],
            matterName: (row["itemName"] as String?).map(MatterName.strippingReservationPrefix), appointmentDate: row["appointmentDate"],
            appointment: appointment, deadline: row["deadline"], state: ReservationState(rawValue: row["state"]) ?? .pending,
            portalStatus: row["portalStatus"], intake: copy("intake"), licensing: copy("licensing"),
            applicantName: row["name"] ?? "", phone: row["phone"] ?? "", openAttention: row["openAttention"] ?? 0,
            phoneCall: row["phoneCall"], purged: (row["purgedAt"] as Double?) != nil)
    }

    /// One reservation in scope, nil when it does not exist or is out of scope (the same answer).
    public func reservationRow(id: String, scope: ReservationScope, now: BeijingTime) throws -> ReservationRow? {
        let today = now.date
        return try reservations(scope: scope, filter: ReservationFilter(from: today, to: today, reservationId: id), now: now, limit: 1, offset: 0).rows.first
    }

    /// A record's history, for its page: portal versions, the hall copies and every send with its
    /// fate, attention entries (open and closed). Only call it for a reservation found in scope.
    public func history(of reservationId: String) throws -> ReservationHistory {
        let versions = try Row.fetchAll(db, sql: "SELECT * FROM reservationVersion WHERE reservationId = ? ORDER BY version", arguments: [reservationId]).map {
            ReservationHistory.Version(version: $0["version"], updateTime: $0["updateTime"], seenAt: $0["seenAt"], status: $0["status"],
                                       processStatus: $0["processStatus"], appointmentDate: $0["appointmentDate"], appointmentSlot: $0["appointmentSlot"],
                                       disposition: $0["disposition"])
        }
        let copies = try Row.fetchAll(db, sql: "SELECT * FROM hallCopy WHERE reservationId = ? ORDER BY target", arguments: [reservationId]).map {
            ReservationHistory.Copy(target: $0["target"], itemNo: $0["itemNo"], revision: $0["revision"], status: $0["status"],
                                    closedBy: $0["closedBy"], statusAt: $0["statusAt"], blocked: $0["isBlocked"])
        }
        let sends = try Row.fetchAll(db, sql: "SELECT id, target, kind, state, attempts, createdAt, settledAt, lastError, revision FROM outbox WHERE reservationId = ? ORDER BY id",
                                     arguments: [reservationId]).map {
            ReservationHistory.Send(target: $0["target"], kind: $0["kind"], state: $0["state"], attempts: $0["attempts"], createdAt: $0["createdAt"],
                                    settledAt: $0["settledAt"], lastError: $0["lastError"], revision: $0["revision"])
        }
        let attention = try Row.fetchAll(db, sql: "SELECT * FROM attention WHERE reservationId = ? ORDER BY id", arguments: [reservationId]).map(Self.attentionRow)
        let lifecycle = try String.fetchOne(db, sql: "SELECT lifecycleJSON FROM reservation WHERE id = ?", arguments: [reservationId])
            .flatMap { try? JSONDecoder().decode(Lifecycle.self, from: Data($0.utf8)) } ?? Lifecycle()
        return ReservationHistory(versions: versions, copies: copies, sends: sends, attention: attention, lifecycle: lifecycle)
    }

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
        return try Row.fetchAll(db, sql: sql, arguments: all).map(Self.attentionRow)
    }

    /// One attention entry, when its reservation is in scope (or it has none and `includingUnowned`).
    public func attentionEntry(id: Int64, scope: ReservationScope, includingUnowned: Bool) throws -> AttentionRow? {
        let (predicate, arguments) = scope.predicate()
        var all: StatementArguments = [id]
        all += arguments
        return try Row.fetchOne(db, sql: """
            SELECT a.* FROM attention a LEFT JOIN reservation r ON r.id = a.reservationId
            WHERE a.id = ? AND ((r.id IS NOT NULL AND \(predicate)) \(includingUnowned ? "OR r.id IS NULL" : ""))
            """, arguments: all).map(Self.attentionRow)
    }

    static func attentionRow(_ row: Row) -> AttentionRow {
        AttentionRow(id: row["id"], reservationId: row["reservationId"], code: row["code"], field: row["field"], target: row["target"],
                     messageZh: row["messageZh"], messageEn: row["messageEn"], version: row["version"], raisedAt: row["raisedAt"],
                     resolvedAt: row["resolvedAt"], resolvedBy: row["resolvedBy"], resolution: row["resolution"])
    }

    /// The audit log's lines about reservations of a region (the web page's database attached as `web`), newest first.
    public func auditLines(region: String, includingUnowned: Bool, from: Double, until: Double, limit: Int) throws -> [AuditLine] {
        try Row.fetchAll(db, sql: """
            SELECT a.* FROM web.audit a LEFT JOIN reservation r ON r.id = a.reservationId
            WHERE a.at >= ? AND a.at < ? AND (r.regionCode = ? \(includingUnowned ? "OR r.id IS NULL" : ""))
            ORDER BY a.id DESC LIMIT ?
            """, arguments: [from, until, region, limit]).map {
            AuditLine(at: $0["at"], account: $0["account"], reservationId: $0["reservationId"], view: $0["view"], address: $0["address"])
        }
    }

    /// The last clerk's request the daemon applied (the web page shows what is still waiting).
    public func appliedClerkRequest() throws -> Int64 {
        try cursor(.clerkRequests).flatMap(Int64.init) ?? 0
    }
}

/// An attention entry as people see it.
public struct AttentionRow: Hashable, Sendable {
    public var id: Int64
    public var reservationId: String
    public var code: String
    public var field: String
    public var target: String
    public var messageZh: String
    public var messageEn: String
    public var version: Int
    public var raisedAt: Double
    public var resolvedAt: Double?
    public var resolvedBy: String?
    public var resolution: String?
}

/// Everything the record page shows, without personal data.
public struct ReservationHistory: Hashable, Sendable {
    public struct Version: Hashable, Sendable {
        public var version: Int
        public var updateTime: String
        public var seenAt: Double
        public var status: String?
        public var processStatus: String?
        public var appointmentDate: String?
        public var appointmentSlot: String?
        public var disposition: String
    }

    public struct Copy: Hashable, Sendable {
        public var target: String
        public var itemNo: String?
        public var revision: Int
        public var status: String
        public var closedBy: String?
        public var statusAt: String?
        public var blocked: Bool
    }

    public struct Send: Hashable, Sendable {
        public var target: String
        public var kind: String
        public var state: String
        public var attempts: Int
        public var createdAt: Double
        public var settledAt: Double?
        public var lastError: String?
        public var revision: Int
    }

    public var versions: [Version]
    public var copies: [Copy]
    public var sends: [Send]
    public var attention: [AttentionRow]
    public var lifecycle: Lifecycle
}

/// One view of unmasked personal data.
public struct AuditLine: Hashable, Sendable {
    public var at: Double
    public var account: String
    public var reservationId: String
    public var view: String
    public var address: String
}
