import Foundation
import HallsyncDomain

/// Which reservations a reader may see (the notice's 预约数据汇总): a department's staff their
/// departments, a region administrator the region. Every query below carries it as a predicate.
public enum ReservationScope: Hashable, Sendable {
    case departments([String])
    case region(String)

    func predicate(_ alias: String = "r") -> (sql: String, arguments: SQLArguments) {
        switch self {
        case .departments(let codes):
            guard !codes.isEmpty else { return ("0", []) }
            return ("\(alias).deptCode IN (\(codes.map { _ in "?" }.joined(separator: ",")))", SQLArguments(codes.map(\.sqlValue)))
        case .region(let code):
            return ("\(alias).regionCode = ?", [code])
        }
    }
}

/// The summary's categories of a reservation. The stored `state` column (the daemon's schema)
/// puts a phone-verified or held reservation under PHONE or HELD whatever the portal said since;
/// the page counts one the applicant cancelled online as CANCELLED, wherever it went (see
/// ``StoreTransaction/category``).
public enum ReservationState: String, CaseIterable, Sendable {
    case pending = "PENDING", handled = "HANDLED", consulted = "CONSULTED", cancelled = "CANCELLED", phone = "PHONE", held = "HELD"
}

/// What a list shows: a range of appointment dates, and optionally a department, a matter and
/// one of the summary's columns.
public struct ReservationFilter: Hashable, Sendable {
    public enum Column: String, CaseIterable, Sendable {
        case all, pending, handled, consulted, cancelled, overdue, phone, attention
        case phoneConfirmed, phoneCancelled, phoneUnreachable, phoneNotCalled, held
        /// Phone-verified reservations the applicant cancelled online: nobody calls them.
        case phoneCancelledOnline
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

/// How the summary's lines are cut: one per department (a region's overview), or one per
/// department and matter.
public enum SummaryGrouping: String, Hashable, Sendable {
    case department, matter
}

/// One line of the summary: a department (and a matter, when grouped by matter), and its counts.
public struct SummaryRow: Hashable, Sendable {
    public var department: String
    /// The department's name (``StoreTransaction/departmentNames(_:)``), empty when none is known.
    public var departmentName: String
    /// Empty when grouped by department.
    public var matter: String
    public var matterName: String
    public var counts: [ReservationFilter.Column: Int]
}

/// One reservation as the list shows it. Personal values as stored: the page masks them unless
/// the reader may see them in full.
public struct ReservationRow: Hashable, Sendable {
    public var id: String
    public var department: String?
    public var matter: String?
    public var matterName: String?
    /// `yyyy-MM-dd`, when readable.
    public var appointmentDate: String?
    /// The slot the applicant chose, as the portal sent it (`10:00-10:30`, `上午` …).
    public var appointmentSlot: String?
    /// `yyyy-MM-dd HH:mm:ss`, the slot's start, when the reservation was deliverable.
    public var registerTime: String?
    public var deadline: String?
    public var state: ReservationState
    public var portalStatus: String?
    /// The reservation's copy in each hall, nil where there is none.
    public var copies: PerHall<CopyState?>
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
    /// The summary's category of the reservation `r` (a ``ReservationState``): its stored `state`,
    /// except that one the applicant cancelled online is CANCELLED wherever it went — a
    /// phone-verified one nobody should call any more, a held one nobody need fix. (The daemon's
    /// schema would do better to compute it in `state` itself; see the summary for why the counts
    /// do not read it per row.)
    static let category = "(CASE WHEN r.state IN ('PHONE', 'HELD') AND r.isCancelled = 1 THEN 'CANCELLED' ELSE r.state END)"

    /// Counts per department (and matter) for appointments from `from` through `to`, in scope,
    /// with the departments' and matters' names — in one statement, whatever the number of lines
    /// (a region of 3,720 department × matter lines once ran a query per line). `now` (Beijing
    /// time) decides what is overdue. The web page's database must be attached as `web` (for the
    /// phone-call results).
    ///
    /// The statement counts in three parts that each read only what they need: the categories
    /// from the covering index alone; the phone-verified and held reservations (few) with their
    /// call results and whether the applicant cancelled online (those move to 已取消,
    /// ``category``: reading `isCancelled` or the call for every row would read the whole table);
    /// and the open attention entries from their own index.
    public func summary(scope: ReservationScope, from: CivilDate, to: CivilDate, now: BeijingTime,
                        grouping: SummaryGrouping = .matter, department: String? = nil) throws -> [SummaryRow] {
        let (predicate, arguments) = scope.predicate()
        var range = arguments
        range += [from.description, to.description]
        if let department { range += [department] }
        // Positional, in the order they appear: `now` in the counts, then the scope, the dates and
        // the department of each of the three parts, then the scope again, in the departments' names.
        var all: SQLArguments = [now.description]
        for _ in 0..<3 { all += range }
        let (nameSQL, nameArguments) = Self.departmentNameSQL("d.department", scope: scope)
        all += nameArguments
        let byMatter = grouping == .matter
        let key = "r.deptCode AS department, \(byMatter ? "r.itemCode" : "NULL") AS matter"
        let inRange = "\(predicate) AND r.appointmentDate BETWEEN ? AND ?\(department == nil ? "" : " AND r.deptCode = ?")"
        let group = "GROUP BY r.deptCode\(byMatter ? ", r.itemCode" : "")"
        let sql = """
            WITH counted AS MATERIALIZED (
                SELECT \(key), MIN(r.id) AS sample, COUNT(*) AS total,
                       SUM(CASE WHEN r.state = 'PENDING' THEN 1 ELSE 0 END) AS pending, SUM(CASE WHEN r.state = 'HANDLED' THEN 1 ELSE 0 END) AS handled, SUM(CASE WHEN r.state = 'CONSULTED' THEN 1 ELSE 0 END) AS consulted,
                       SUM(CASE WHEN r.state = 'CANCELLED' THEN 1 ELSE 0 END) AS cancelled, SUM(CASE WHEN r.state = 'PENDING' AND r.deadline < ? THEN 1 ELSE 0 END) AS overdue,
                       SUM(CASE WHEN r.state = 'PHONE' THEN 1 ELSE 0 END) AS phone, SUM(CASE WHEN r.state = 'HELD' THEN 1 ELSE 0 END) AS held
                FROM reservation r WHERE \(inRange) \(group)
            ),
            verified AS MATERIALIZED (
                SELECT \(key),
                       SUM(CASE WHEN r.state = 'PHONE' AND r.isCancelled = 1 THEN 1 ELSE 0 END) AS phoneCancelledOnline,
                       SUM(CASE WHEN r.state = 'HELD' AND r.isCancelled = 1 THEN 1 ELSE 0 END) AS heldCancelledOnline,
                       SUM(CASE WHEN r.state = 'PHONE' AND r.isCancelled = 0 AND p.result = 'CONFIRMED' THEN 1 ELSE 0 END) AS phoneConfirmed,
                       SUM(CASE WHEN r.state = 'PHONE' AND r.isCancelled = 0 AND p.result = 'CANCELLED_BY_APPLICANT' THEN 1 ELSE 0 END) AS phoneCancelled,
                       SUM(CASE WHEN r.state = 'PHONE' AND r.isCancelled = 0 AND p.result = 'UNREACHABLE' THEN 1 ELSE 0 END) AS phoneUnreachable,
                       SUM(CASE WHEN r.state = 'PHONE' AND r.isCancelled = 0 AND p.result IS NULL THEN 1 ELSE 0 END) AS phoneNotCalled
                FROM reservation r LEFT JOIN web.phoneCallLatest p ON p.reservationId = r.id
                WHERE \(inRange) AND r.state IN ('PHONE', 'HELD') \(group)
            ),
            waiting AS MATERIALIZED (
                SELECT \(key), COUNT(DISTINCT r.id) AS attention
                FROM attention a JOIN reservation r ON r.id = a.reservationId
                WHERE a.resolvedAt IS NULL AND \(inRange) \(group)
            ),
            line AS (
                SELECT c.department, c.matter, c.sample, c.total, c.pending, c.handled, c.consulted,
                       c.cancelled + COALESCE(v.phoneCancelledOnline, 0) + COALESCE(v.heldCancelledOnline, 0) AS cancelled, c.overdue,
                       c.phone - COALESCE(v.phoneCancelledOnline, 0) AS phone, c.held - COALESCE(v.heldCancelledOnline, 0) AS held,
                       COALESCE(v.phoneConfirmed, 0) AS phoneConfirmed, COALESCE(v.phoneCancelled, 0) AS phoneCancelled,
                       COALESCE(v.phoneUnreachable, 0) AS phoneUnreachable, COALESCE(v.phoneNotCalled, 0) AS phoneNotCalled,
                       COALESCE(v.phoneCancelledOnline, 0) AS phoneCancelledOnline, COALESCE(w.attention, 0) AS attention
                FROM counted c
                LEFT JOIN verified v ON v.department IS NOT DISTINCT FROM c.department AND v.matter IS NOT DISTINCT FROM c.matter
                LEFT JOIN waiting w ON w.department IS NOT DISTINCT FROM c.department AND w.matter IS NOT DISTINCT FROM c.matter
            ),
            name AS MATERIALIZED (
                SELECT d.department, \(nameSQL) AS departmentName
                FROM (SELECT DISTINCT department FROM counted) d
            )
            SELECT line.*, name.departmentName,
                   \(byMatter ? "s.itemName" : "NULL") AS matterName
            FROM line
            LEFT JOIN name ON name.department IS NOT DISTINCT FROM line.department
            \(byMatter ? "LEFT JOIN reservation s ON s.id = line.sample" : "")
            ORDER BY line.department, line.matter
            """
        return try db.rows(sql, all).map { row in
            var counts: [ReservationFilter.Column: Int] = [:]
            for column in ReservationFilter.Column.allCases {
                counts[column] = (row[column == .all ? "total" : column.rawValue] as Int?) ?? 0
            }
            return SummaryRow(department: row["department"] ?? "", departmentName: Self.cleanName(row["departmentName"]),
                              matter: row["matter"] ?? "", matterName: MatterName.strippingReservationPrefix(row["matterName"] ?? ""),
                              counts: counts)
        }
    }

    /// The conditions and arguments of a list (``reservations(scope:filter:now:limit:offset:)``).
    func listConditions(scope: ReservationScope, filter: ReservationFilter, now: BeijingTime) -> (sql: String, arguments: SQLArguments) {
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
        let result = ["phoneConfirmed": "CONFIRMED", "phoneCancelled": "CANCELLED_BY_APPLICANT", "phoneUnreachable": "UNREACHABLE"]
        switch filter.column {
        case .all: break
        case .pending, .handled, .consulted:
            conditions.append("r.state = ?")
            all += [filter.column.rawValue.uppercased()]
        case .cancelled:
            conditions.append("(r.state = 'CANCELLED' OR (r.state IN ('PHONE', 'HELD') AND r.isCancelled = 1))")
        case .phone, .held:
            conditions.append("r.state = ? AND r.isCancelled = 0")
            all += [filter.column.rawValue.uppercased()]
        case .overdue:
            conditions.append("r.state = 'PENDING' AND r.deadline < ?")
            all += [now.description]
        case .attention:
            conditions.append("EXISTS (SELECT 1 FROM attention a WHERE a.reservationId = r.id AND a.resolvedAt IS NULL)")
        case .phoneConfirmed, .phoneCancelled, .phoneUnreachable:
            conditions.append("r.state = 'PHONE' AND r.isCancelled = 0 AND p.result = ?")
            all += [result[filter.column.rawValue]!]
        case .phoneNotCalled:
            conditions.append("r.state = 'PHONE' AND r.isCancelled = 0 AND p.result IS NULL")
        case .phoneCancelledOnline:
            conditions.append("r.state = 'PHONE' AND r.isCancelled = 1")
        }
        return (conditions.joined(separator: " AND "), all)
    }

    static let listColumns = """
        SELECT r.id, r.deptCode, r.itemCode, r.appointmentDate, r.deadline, \(category) AS state, r.portalStatus, r.purgedAt,
               r.itemName, r.registerTime, r.appointmentSlot AS slot, r.applicantName AS name, r.phone,
               \(HallTarget.allCases.map { "c_\($0).itemNo AS \($0)No, c_\($0).status AS \($0)Status, c_\($0).isBlocked AS \($0)Blocked, c_\($0).target AS \($0)Target," }.joined(separator: "\n"))
               p.result AS phoneCall,
               (SELECT COUNT(*) FROM attention a WHERE a.reservationId = r.id AND a.resolvedAt IS NULL) AS openAttention
        FROM reservation r
        LEFT JOIN web.phoneCallLatest p ON p.reservationId = r.id
        \(HallTarget.allCases.map { "LEFT JOIN hallCopy c_\($0) ON c_\($0).reservationId = r.id AND c_\($0).target = '\($0)'" }.joined(separator: "\n"))
        """

    /// The reservations behind one of the summary's numbers, in scope, oldest appointment first:
    /// `limit` of them from `offset`.
    public func reservations(scope: ReservationScope, filter: ReservationFilter, now: BeijingTime, limit: Int, offset: Int) throws -> [ReservationRow] {
        let (whereClause, all) = listConditions(scope: scope, filter: filter, now: now)
        var paged = all
        paged += [limit, offset]
        return try db.rows(Self.listColumns + " WHERE \(whereClause) ORDER BY r.appointmentDate, r.id LIMIT ? OFFSET ?", paged)
            .map(Self.reservationRow)
    }

    /// How many reservations the list has.
    public func reservationCount(scope: ReservationScope, filter: ReservationFilter, now: BeijingTime) throws -> Int {
        let (whereClause, all) = listConditions(scope: scope, filter: filter, now: now)
        return try db.value(Int.self, "SELECT COUNT(*) FROM reservation r LEFT JOIN web.phoneCallLatest p ON p.reservationId = r.id WHERE \(whereClause)", all) ?? 0
    }

    /// Every reservation of a list, oldest appointment first, one at a time from one snapshot (an
    /// export of any size in flat memory); `body` returns false to stop.
    public func forEachReservation(scope: ReservationScope, filter: ReservationFilter, now: BeijingTime, _ body: (ReservationRow) throws -> Bool) throws {
        let (whereClause, all) = listConditions(scope: scope, filter: filter, now: now)
        try db.forEachRow(Self.listColumns + " WHERE \(whereClause) ORDER BY r.appointmentDate, r.id", all) { row in
            try body(Self.reservationRow(row))
        }
    }

    static func reservationRow(_ row: SQLRow) -> ReservationRow {
        func copy(_ prefix: String) -> ReservationRow.CopyState? {
            guard (row["\(prefix)Target"] as String?) != nil else { return nil }
            return ReservationRow.CopyState(itemNo: row["\(prefix)No"], status: row["\(prefix)Status"] ?? "PENDING", blocked: row["\(prefix)Blocked"] ?? false)
        }
        return ReservationRow(
            id: row["id"], department: row["deptCode"], matter: row["itemCode"],
            matterName: (row["itemName"] as String?).map(MatterName.strippingReservationPrefix), appointmentDate: row["appointmentDate"],
            appointmentSlot: row["slot"], registerTime: row["registerTime"], deadline: row["deadline"],
            state: ReservationState(rawValue: row["state"]) ?? .pending,
            portalStatus: row["portalStatus"], copies: PerHall { copy($0.rawValue) },
            applicantName: row["name"] ?? "", phone: row["phone"] ?? "", openAttention: row["openAttention"] ?? 0,
            phoneCall: row["phoneCall"], purged: (row["purgedAt"] as Double?) != nil)
    }

    /// One reservation in scope, nil when it does not exist or is out of scope (the same answer).
    public func reservationRow(id: String, scope: ReservationScope, now: BeijingTime) throws -> ReservationRow? {
        let today = now.date
        return try reservations(scope: scope, filter: ReservationFilter(from: today, to: today, reservationId: id), now: now, limit: 1, offset: 0).first
    }

    /// A record's history, for its page: portal versions, the hall copies and every send with its
    /// fate, attention entries (open and closed). Only call it for a reservation found in scope.
    public func history(of reservationId: String) throws -> ReservationHistory {
        let versions = try db.rows("SELECT * FROM reservationVersion WHERE reservationId = ? ORDER BY version", [reservationId]).map {
            ReservationHistory.Version(version: $0["version"], updateTime: $0["updateTime"], seenAt: $0["seenAt"], status: $0["status"],
                                       processStatus: $0["processStatus"], appointmentDate: $0["appointmentDate"], appointmentSlot: $0["appointmentSlot"],
                                       disposition: $0["disposition"])
        }
        let copies = try db.rows("SELECT * FROM hallCopy WHERE reservationId = ? ORDER BY target", [reservationId]).map {
            ReservationHistory.Copy(target: $0["target"], itemNo: $0["itemNo"], revision: $0["revision"], status: $0["status"],
                                    closedBy: $0["closedBy"], statusAt: $0["statusAt"], blocked: $0["isBlocked"])
        }
        let sends = try db.rows("SELECT id, target, kind, state, attempts, createdAt, settledAt, lastError, revision FROM outbox WHERE reservationId = ? ORDER BY id", [reservationId]).map {
            ReservationHistory.Send(target: $0["target"], kind: $0["kind"], state: $0["state"], attempts: $0["attempts"], createdAt: $0["createdAt"],
                                    settledAt: $0["settledAt"], lastError: $0["lastError"], revision: $0["revision"])
        }
        let attention = try db.rows("SELECT * FROM attention WHERE reservationId = ? ORDER BY id", [reservationId]).map(Self.attentionRow)
        let lifecycle = try db.value(String.self, "SELECT lifecycleJSON FROM reservation WHERE id = ?", [reservationId])
            .flatMap { try? JSONDecoder().decode(Lifecycle.self, from: Data($0.utf8)) } ?? Lifecycle()
        return ReservationHistory(versions: versions, copies: copies, sends: sends, attention: attention, lifecycle: lifecycle)
    }

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
