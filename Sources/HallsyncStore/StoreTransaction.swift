import Foundation
import HallsyncDomain

/// The typed operations on the state, inside one transaction of ``Store``: the reservations
/// here; copies, outbox, cursors, attention and retention each in their own
/// `StoreTransaction+Aspect.swift`.
public struct StoreTransaction {
    /// The open transaction, on whichever database the store keeps its state in.
    public let db: any SQLSession

    /// The reservations this transaction has read to have no open attention entry (with their
    /// row: ``planningState(of:)``, ``lifecycle(of:)``, ``copyOwner(target:itemNo:)``). Closing
    /// conditions that were never raised — what most plans and settlements do — then costs no
    /// statement. See ``AttentionClearance``.
    let attentionClearance = AttentionClearance()

    public init(db: any SQLSession) {
        self.db = db
    }

    /// Sorted keys, so equal values encode to equal bytes.
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    // MARK: Reservations

    public func reservation(id: String) throws -> StoredReservation? {
        guard let row = try db.row("SELECT * FROM reservation WHERE id = ?", [id]) else { return nil }
        return try Self.reservation(from: row)
    }

    /// The stored version of a reservation as the portal sent it, for telling a repeat from a
    /// contradiction; nil when never seen.
    public func storedHead(of id: String) throws -> StoredHead? {
        guard let row = try db.row("SELECT version, updateTime, portalJSON, purgedAt IS NOT NULL FROM reservation WHERE id = ?", [id]) else { return nil }
        return StoredHead(version: row[0], updateTime: row[1], portalJSON: row[2], purged: row[3])
    }

    /// The stored version of a reservation, nil when never seen.
    public func storedVersion(of id: String) throws -> Int? {
        try db.value(Int.self, "SELECT version FROM reservation WHERE id = ?", [id])
    }

    /// Stores the reservation's latest version; returns its content's digests, taken over the
    /// canonical JSON stored (one encoding for both).
    @discardableResult
    public func save(_ r: StoredReservation, now: Double) throws -> DeliveredContent? {
        let portalJSON = String(decoding: try Self.encoder.encode(r.portal), as: UTF8.self)
        let canonical = r.content.map { $0.canonicalJSON() }
        let contentJSON = canonical.map { String(decoding: $0, as: UTF8.self) }
        let shown = r.shown
        try db.execute("""
            INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, route, contentJSON, isCancelled, regionCode, deptCode,
                                     appointmentDate, itemCode, firstSeenAt, changedAt,
                                     itemName, registerTime, appointmentSlot, applicantName, phone, deptName, deadline, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET version = excluded.version, updateTime = excluded.updateTime,
                portalJSON = excluded.portalJSON, disposition = excluded.disposition, route = excluded.route,
                contentJSON = excluded.contentJSON, isCancelled = excluded.isCancelled,
                regionCode = excluded.regionCode, deptCode = excluded.deptCode, appointmentDate = excluded.appointmentDate,
                itemCode = excluded.itemCode, purgedAt = NULL, changedAt = excluded.changedAt,
                itemName = excluded.itemName, registerTime = excluded.registerTime, appointmentSlot = excluded.appointmentSlot,
                applicantName = excluded.applicantName, phone = excluded.phone, deptName = excluded.deptName,
                deadline = excluded.deadline,
                state = \(StoredReservation.summaryStateSQL(disposition: "excluded.disposition", closingOutcome: "(CASE WHEN reservation.outcome IN ('HANDLED', 'CONSULTED') THEN reservation.outcome END)", isCancelled: "excluded.isCancelled"))
            """, [r.id, r.version, r.portal.updateTime, portalJSON, r.disposition.rawValue, r.route?.rawValue,
                             contentJSON, r.portal.isCancelled, r.regionKey, r.deptKey, r.appointmentKey, r.itemKey, now, now,
                             shown.itemName, shown.registerTime, shown.slot, shown.applicantName, shown.phone, shown.deptName,
                             r.content?.deadline, StoredReservation.summaryState(disposition: r.disposition, outcome: nil, isCancelled: r.portal.isCancelled)])
        guard let content = r.content, let canonical else { return nil }
        return DeliveredContent(content, canonicalJSON: canonical)
    }

    /// What planning the reservation's next sends needs; nil when it was never stored.
    public func planningState(of id: String) throws -> PlanningState? {
        guard let row = try db.row("""
            SELECT version, isCancelled, disposition, route, contentJSON, lifecycleJSON, \(AttentionClearance.openEntryColumn) FROM reservation WHERE id = ?
            """, [id]) else { return nil }
        attentionClearance.learn(id, hasOpenEntry: row["hasOpenAttention"])
        let disposition = StoredReservation.Disposition(rawValue: row["disposition"]) ?? .undeliverable
        let route = (row["route"] as String?).flatMap(Route.init(rawValue:))
        let contentJSON: String? = row["contentJSON"]
        let lifecycle = try (row["lifecycleJSON"] as String?).map { try Self.decoder.decode(Lifecycle.self, from: Data($0.utf8)) } ?? Lifecycle()
        var normalized: NormalizedReservation?
        var delivered: DeliveredContent?
        if disposition == .deliverable, let route, let contentJSON {
            let json = Data(contentJSON.utf8)
            let content = try Self.decoder.decode(HallItemContent.self, from: json)
            normalized = NormalizedReservation(reservationId: id, version: row["version"], isCancelled: row["isCancelled"], content: content, route: route)
            delivered = DeliveredContent(content, canonicalJSON: json)
        }
        return PlanningState(disposition: disposition, version: row["version"], lifecycle: lifecycle, normalized: normalized,
                             delivered: delivered, route: route)
    }

    /// What hallsync knows of the reservation's outcome and the portal's status; nil when it was never stored.
    public func lifecycle(of id: String) throws -> Lifecycle? {
        guard let row = try db.row("SELECT lifecycleJSON, \(AttentionClearance.openEntryColumn) FROM reservation WHERE id = ?", [id]) else {
            return nil
        }
        attentionClearance.learn(id, hasOpenEntry: row["hasOpenAttention"])
        return try (row["lifecycleJSON"] as String?).map { try Self.decoder.decode(Lifecycle.self, from: Data($0.utf8)) } ?? Lifecycle()
    }

    static let decoder = JSONDecoder()

    /// The portal's record as stored, in its canonical JSON (what ``save(_:now:)`` writes).
    public static func canonicalJSON(_ portal: PortalReservation) throws -> String {
        String(decoding: try encoder.encode(portal), as: UTF8.self)
    }

    static func reservation(from row: SQLRow) throws -> StoredReservation {
        let portal = try JSONDecoder().decode(PortalReservation.self, from: Data((row["portalJSON"] as String).utf8))
        let content = try (row["contentJSON"] as String?).map { try JSONDecoder().decode(HallItemContent.self, from: Data($0.utf8)) }
        var stored = StoredReservation(portal: portal, disposition: StoredReservation.Disposition(rawValue: row["disposition"]) ?? .undeliverable,
                                       route: (row["route"] as String?).flatMap(Route.init(rawValue:)), content: content)
        if let json = row["lifecycleJSON"] as String? {
            stored.lifecycle = try JSONDecoder().decode(Lifecycle.self, from: Data(json.utf8))
        }
        return stored
    }

    /// Notes a portal version in the reservation's history (no personal data).
    public func recordVersion(_ r: StoredReservation, now: Double) throws {
        try db.execute("""
            INSERT INTO reservationVersion (reservationId, version, updateTime, seenAt, status, processStatus, appointmentDate, appointmentSlot, disposition)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (reservationId, version) DO NOTHING
            """, [r.id, r.version, r.portal.updateTime, now, r.portal.status, r.portal.processStatus,
                             r.portal.appointmentDate, r.portal.appointmentSlot, r.disposition.rawValue])
    }

    /// Stores what hallsync learnt about a reservation's outcome and the portal's status.
    public func setLifecycle(_ lifecycle: Lifecycle, of reservationId: String) throws {
        let outcome = lifecycle.outcome?.status
        try db.execute("""
            UPDATE reservation SET lifecycleJSON = ?, outcome = ?, portalStatus = ?,
                state = \(StoredReservation.summaryStateSQL(disposition: "disposition", closingOutcome: "?", isCancelled: "isCancelled"))
            WHERE id = ?
            """, [String(decoding: try Self.encoder.encode(lifecycle), as: UTF8.self), outcome?.rawValue,
                                     lifecycle.portalStatus?.rawValue, outcome.flatMap(StoredReservation.closing)?.rawValue, reservationId])
    }

    public struct Counts: Hashable, Sendable {
        public var reservations = 0
        public var deliverable = 0
        public var phoneVerifiedOnly = 0
        public var undeliverable = 0
        /// Deliverable reservations sent without a usable phone (staff see a remark asking them to confirm otherwise).
        public var withoutPhone = 0
        public var copiesCreated = 0
        public var pendingSends: [String: Int] = [:]
        public var oldestPendingCreatedAt: Double?
        public var failedSends = 0
        public var openAttention = 0
        public var attentionByCode: [String: Int] = [:]
        /// Hall copies by item status (PENDING, HANDLED, …).
        public var copiesByStatus: [String: Int] = [:]
        /// Open items past their deadline (超期), by department code and by region code.
        public var overdueByDept: [String: Int] = [:]
        public var overdueByRegion: [String: Int] = [:]

        public init() {}

        public var overdue: Int { overdueByDept.values.reduce(0, +) }
    }

    /// - Parameter now: the current Beijing time, for the overdue counts.
    public func counts(now: BeijingTime = .now()) throws -> Counts {
        var c = Counts()
        for row in try db.rows("SELECT disposition, COUNT(*) AS n FROM reservation GROUP BY disposition") {
            let n: Int = row["n"]
            c.reservations += n
            switch StoredReservation.Disposition(rawValue: row["disposition"]) {
            case .deliverable: c.deliverable = n
            case .phoneVerifiedOnly: c.phoneVerifiedOnly = n
            case .undeliverable: c.undeliverable = n
            case nil: break
            }
        }
        c.withoutPhone = try db.value(Int.self, "SELECT COUNT(*) FROM reservation WHERE disposition = 'DELIVERABLE' AND phone = ''") ?? 0
        c.copiesCreated = try db.value(Int.self, "SELECT COUNT(*) FROM hallCopy WHERE itemNo IS NOT NULL") ?? 0
        for row in try db.rows("SELECT target, COUNT(*) AS n FROM outbox WHERE state = 'PENDING' GROUP BY target") {
            c.pendingSends[row["target"]] = row["n"]
        }
        c.oldestPendingCreatedAt = try db.value(Double.self, "SELECT MIN(createdAt) FROM outbox WHERE state = 'PENDING'")
        c.failedSends = try db.value(Int.self, "SELECT COUNT(*) FROM outbox WHERE state = 'FAILED'") ?? 0
        for row in try db.rows("SELECT code, COUNT(DISTINCT reservationId) AS n FROM attention WHERE resolvedAt IS NULL GROUP BY code") {
            c.attentionByCode[row["code"]] = row["n"]
        }
        c.openAttention = try db.value(Int.self, "SELECT COUNT(DISTINCT reservationId) FROM attention WHERE resolvedAt IS NULL") ?? 0
        for row in try db.rows("SELECT status, COUNT(*) AS n FROM hallCopy WHERE itemNo IS NOT NULL GROUP BY status") {
            c.copiesByStatus[row["status"]] = row["n"]
        }
        for row in try db.rows(Self.overdueQuery, [now.description]) {
            c.overdueByDept[row["dept"], default: 0] += row["n"] as Int
            c.overdueByRegion[row["region"], default: 0] += row["n"] as Int
        }
        return c
    }

    /// Open items past their deadline, by department and region. Deadlines are `yyyy-MM-dd HH:mm:ss`
    /// Beijing time, so they compare as text; the `hallCopy_overdue` index serves the condition.
    static let overdueQuery = """
        SELECT COALESCE(c.deptCode, r.deptCode, '') AS dept, COALESCE(r.regionCode, '') AS region, COUNT(*) AS n
        FROM hallCopy c JOIN reservation r ON r.id = c.reservationId
        WHERE c.itemNo IS NOT NULL AND c.status = 'PENDING' AND c.deadline < ?
        GROUP BY dept, region
        """
}
