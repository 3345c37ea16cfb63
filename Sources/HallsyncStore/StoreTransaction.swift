import Foundation
import GRDB
import HallsyncDomain

/// The typed operations on the state, inside one transaction of ``Store``.
public struct StoreTransaction {
    let db: Database

    /// Sorted keys, so equal values encode to equal bytes.
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    // MARK: Reservations

    public func reservation(id: String) throws -> StoredReservation? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM reservation WHERE id = ?"), arguments: [id]) else { return nil }
        return try Self.reservation(from: row)
    }

    /// The stored version of a reservation as the portal sent it, for telling a repeat from a
    /// contradiction; nil when never seen.
    public func storedHead(of id: String) throws -> StoredHead? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT version, updateTime, portalJSON, purgedAt IS NOT NULL FROM reservation WHERE id = ?"),
                                         arguments: [id]) else { return nil }
        return StoredHead(version: row[0], updateTime: row[1], portalJSON: row[2], purged: row[3])
    }

    /// The stored version of a reservation, nil when never seen.
    public func storedVersion(of id: String) throws -> Int? {
        try Int.fetchOne(try db.cachedStatement(sql: "SELECT version FROM reservation WHERE id = ?"), arguments: [id])
    }

    /// Stores the reservation's latest version; returns its content as stored (canonical JSON).
    @discardableResult
    public func save(_ r: StoredReservation, now: Double) throws -> String? {
        let portalJSON = String(decoding: try Self.encoder.encode(r.portal), as: UTF8.self)
        let contentJSON = try r.content.map { String(decoding: try Self.encoder.encode($0), as: UTF8.self) }
        try db.cachedStatement(sql: """
            INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, route, contentJSON, isCancelled, regionCode, deptCode,
                                     appointmentDate, itemCode, firstSeenAt, changedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET version = excluded.version, updateTime = excluded.updateTime,
                portalJSON = excluded.portalJSON, disposition = excluded.disposition, route = excluded.route,
                contentJSON = excluded.contentJSON, isCancelled = excluded.isCancelled,
                regionCode = excluded.regionCode, deptCode = excluded.deptCode, appointmentDate = excluded.appointmentDate,
                itemCode = excluded.itemCode, purgedAt = NULL, changedAt = excluded.changedAt
            """).execute(arguments: [r.id, r.version, r.portal.updateTime, portalJSON, r.disposition.rawValue, r.route?.rawValue,
                             contentJSON, r.portal.isCancelled, r.regionKey, r.deptKey, r.appointmentKey, r.itemKey, now, now])
        return contentJSON
    }

    /// What planning the reservation's next sends needs; nil when it was never stored.
    public func planningState(of id: String) throws -> PlanningState? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: """
            SELECT version, isCancelled, disposition, route, contentJSON, lifecycleJSON FROM reservation WHERE id = ?
            """), arguments: [id]) else { return nil }
        let disposition = StoredReservation.Disposition(rawValue: row["disposition"]) ?? .undeliverable
        let route = (row["route"] as String?).flatMap(Route.init(rawValue:))
        let contentJSON: String? = row["contentJSON"]
        let lifecycle = try (row["lifecycleJSON"] as String?).map { try Self.decoder.decode(Lifecycle.self, from: Data($0.utf8)) } ?? Lifecycle()
        var normalized: NormalizedReservation?
        if disposition == .deliverable, let route, let contentJSON {
            let content = try Self.decoder.decode(HallItemContent.self, from: Data(contentJSON.utf8))
            normalized = NormalizedReservation(reservationId: id, version: row["version"], isCancelled: row["isCancelled"], content: content, route: route)
        }
        return PlanningState(disposition: disposition, version: row["version"], lifecycle: lifecycle, normalized: normalized,
                             contentJSON: contentJSON, route: route)
    }

    /// What hallsync knows of the reservation's outcome and the portal's status; nil when it was never stored.
    public func lifecycle(of id: String) throws -> Lifecycle? {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT lifecycleJSON FROM reservation WHERE id = ?"), arguments: [id]) else {
            return nil
        }
        return try (row["lifecycleJSON"] as String?).map { try Self.decoder.decode(Lifecycle.self, from: Data($0.utf8)) } ?? Lifecycle()
    }

    static let decoder = JSONDecoder()

    /// The portal's record as stored, in its canonical JSON (what ``save(_:now:)`` writes).
    public static func canonicalJSON(_ portal: PortalReservation) throws -> String {
        String(decoding: try encoder.encode(portal), as: UTF8.self)
    }

    static func reservation(from row: Row) throws -> StoredReservation {
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
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO reservationVersion (reservationId, version, updateTime, seenAt, status, processStatus, appointmentDate, appointmentSlot, disposition)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [r.id, r.version, r.portal.updateTime, now, r.portal.status, r.portal.processStatus,
                             r.portal.appointmentDate, r.portal.appointmentSlot, r.disposition.rawValue])
    }

    /// Stores what hallsync learnt about a reservation's outcome and the portal's status.
    public func setLifecycle(_ lifecycle: Lifecycle, of reservationId: String) throws {
        try db.cachedStatement(sql: "UPDATE reservation SET lifecycleJSON = ? WHERE id = ?").execute(arguments: [String(decoding: try Self.encoder.encode(lifecycle), as: UTF8.self), reservationId])
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
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT disposition, COUNT(*) AS n FROM reservation GROUP BY disposition")) {
            let n: Int = row["n"]
            c.reservations += n
            switch StoredReservation.Disposition(rawValue: row["disposition"]) {
            case .deliverable: c.deliverable = n
            case .phoneVerifiedOnly: c.phoneVerifiedOnly = n
            case .undeliverable: c.undeliverable = n
            case nil: break
            }
        }
        c.withoutPhone = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM reservation WHERE disposition = 'DELIVERABLE' AND json_extract(contentJSON, '$.phone') = ''")) ?? 0
        c.copiesCreated = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM hallCopy WHERE itemNo IS NOT NULL")) ?? 0
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT target, COUNT(*) AS n FROM outbox WHERE state = 'PENDING' GROUP BY target")) {
            c.pendingSends[row["target"]] = row["n"]
        }
        c.oldestPendingCreatedAt = try Double.fetchOne(try db.cachedStatement(sql: "SELECT MIN(createdAt) FROM outbox WHERE state = 'PENDING'"))
        c.failedSends = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM outbox WHERE state = 'FAILED'")) ?? 0
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT code, COUNT(DISTINCT reservationId) AS n FROM attention WHERE resolvedAt IS NULL GROUP BY code")) {
            c.attentionByCode[row["code"]] = row["n"]
        }
        c.openAttention = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(DISTINCT reservationId) FROM attention WHERE resolvedAt IS NULL")) ?? 0
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT status, COUNT(*) AS n FROM hallCopy WHERE itemNo IS NOT NULL GROUP BY status")) {
            c.copiesByStatus[row["status"]] = row["n"]
        }
        for row in try Row.fetchAll(try db.cachedStatement(sql: Self.overdueQuery), arguments: [now.description]) {
            c.overdueByDept[row["dept"], default: 0] += row["n"] as Int
            c.overdueByRegion[row["region"], default: 0] += row["n"] as Int
        }
        return c
    }

    /// Open items past their deadline, by department and region. Deadlines are `yyyy-MM-dd HH:mm:ss`
    /// Beijing time, so they compare as text; the `hallCopy_overdue` index serves the condition.
    static let overdueQuery = """
        SELECT COALESCE(json_extract(c.contentJSON, '$.deptCode'), r.deptCode, '') AS dept, COALESCE(r.regionCode, '') AS region, COUNT(*) AS n
        FROM hallCopy c JOIN reservation r ON r.id = c.reservationId
        WHERE c.itemNo IS NOT NULL AND c.status = 'PENDING' AND c.deadline < ?
        GROUP BY dept, region
        """

    // MARK: Hall copies

    /// The reservation's copies. Their content is decoded only for copies older than `version`
    /// (what the planner compares to decide on an update); nil: always.
    public func copies(of reservationId: String, olderThan version: Int? = nil) throws -> [HallTarget: HallCopy] {
        try copiesAndPushPending(of: reservationId, olderThan: version).copies
    }

    /// The copies and whether a status push is waiting, as the planner needs them: the pending
    /// sends' peers are read once (a hall's mark the copy's pending send, `portal` the push).
    ///
    /// - Parameter current: the reservation's content as stored and as decoded: a copy whose stored
    ///   JSON is the same bytes (canonical encoding) says the same, and is not decoded again.
    public func copiesAndPushPending(of reservationId: String, olderThan version: Int? = nil,
                                     current: (json: String, content: HallItemContent)? = nil) throws -> (copies: [HallTarget: HallCopy], pushPending: Bool) {
        var copies: [HallTarget: HallCopy] = [:]
        let rows = try Row.fetchCursor(try db.cachedStatement(sql: """
            SELECT target, itemNo, revision, contentJSON, isBlocked, status, closedBy, verified, keyGeneration FROM hallCopy WHERE reservationId = ?
            """), arguments: [reservationId])
        while let row = try rows.next() {
            guard let target = HallTarget(rawValue: row[0]) else { continue }
            let revision: Int = row[2]
            var content: HallItemContent?
            let json: String? = row[3]
            if version.map({ revision < $0 }) ?? true, let json {
                content = json == current?.json ? current?.content : try Self.decoder.decode(HallItemContent.self, from: Data(json.utf8))
            }
            copies[target] = HallCopy(target: target, itemNo: row[1], revision: revision, content: content,
                                      hasPendingSend: false, isBlocked: row[4],
                                      status: HallItemStatus(rawValue: row[5]) ?? .open,
                                      closedBy: (row[6] as String?).flatMap(ActionOrigin.init(rawValue:)),
                                      verified: row[7], keyGeneration: row[8])
        }
        var pushPending = false
        // Pending sends are few per reservation: their peers are told apart here rather than by a DISTINCT (a temporary b-tree).
        let targets = try String.fetchCursor(try db.cachedStatement(sql: "SELECT target FROM outbox WHERE reservationId = ? AND state = 'PENDING'"),
                                             arguments: [reservationId])
        while let target = try targets.next() {
            if target == SendTarget.portal.rawValue { pushPending = true }
            guard let t = HallTarget(rawValue: target) else { continue }
            copies[t, default: HallCopy(target: t)].hasPendingSend = true
        }
        return (copies, pushPending)
    }

    /// Records a copy's status as the hall reported it (and its item number, when it was not known yet).
    public func recordStatus(reservationId: String, copy: HallCopy, at: String?, now: Double) throws {
        try db.cachedStatement(sql: """
            INSERT INTO hallCopy (reservationId, target, itemNo, status, closedBy, statusAt, changedAt) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(reservationId, target) DO UPDATE SET itemNo = COALESCE(hallCopy.itemNo, excluded.itemNo),
                status = excluded.status, closedBy = excluded.closedBy, statusAt = COALESCE(excluded.statusAt, hallCopy.statusAt),
                changedAt = excluded.changedAt
            """).execute(arguments: [reservationId, copy.target.rawValue, copy.itemNo, copy.status.rawValue, copy.closedBy?.rawValue, at, now])
    }

    /// Open items of one hall, in reservation order after `after`: what a reconciliation looks up;
    /// with `createdBefore` (Unix seconds), only those made before then (a copy of unknown age counts as old).
    public func openCopies(in hall: HallTarget, after: String, limit: Int, createdBefore: Double? = nil) throws -> [(reservationId: String, itemNo: String)] {
        try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT reservationId, itemNo FROM hallCopy
            WHERE target = ? AND status = 'PENDING' AND itemNo IS NOT NULL AND reservationId > ? AND COALESCE(createdAt, 0) < ?
            ORDER BY reservationId LIMIT ?
            """), arguments: [hall.rawValue, after, createdBefore ?? Double.greatestFiniteMagnitude, limit]).map { ($0["reservationId"], $0["itemNo"]) }
    }

    /// The reservation whose copy in `target` is the item `itemNo`, nil when none is (the store
    /// allows one: `hallCopy_item`).
    public func copyOwner(target: HallTarget, itemNo: String) throws -> String? {
        try String.fetchOne(try db.cachedStatement(sql: "SELECT reservationId FROM hallCopy WHERE target = ? AND itemNo = ?"),
                            arguments: [target.rawValue, itemNo])
    }

    /// Every copy with an item number (for checks of a whole run).
    public func recordedCopies() throws -> [(reservationId: String, target: HallTarget, itemNo: String)] {
        try Row.fetchAll(db, sql: "SELECT reservationId, target, itemNo FROM hallCopy WHERE itemNo IS NOT NULL").compactMap { row in
            HallTarget(rawValue: row[1]).map { (row[0], $0, row[2]) }
        }
    }

    /// Whether a create of the reservation's copy in `target` is waiting to be sent or answered.
    public func hasPendingCreate(reservationId: String, target: HallTarget) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM outbox WHERE reservationId = ? AND target = ? AND kind = 'CREATE' AND state = 'PENDING')
            """), arguments: [reservationId, target.rawValue]) ?? false
    }

    /// Whether a status push of `status` was ever planned for the reservation (sent or not, whatever
    /// its answer): a status the portal shows that hallsync never planned is not its own.
    public func plannedPush(reservationId: String, status: PortalProcessStatus) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM outbox WHERE reservationId = ? AND target = 'portal' AND pushStatus = ?)
            """), arguments: [reservationId, status.rawValue]) ?? false
    }

    // MARK: Items seen that are not a copy of ours

    /// Notes what a hall said about an item carrying one of our reservations' ids that is not
    /// that reservation's copy (yet): the newest word about each item is kept.
    public func recordSighting(_ sighting: HallItemSighting, now: Double) throws {
        try db.cachedStatement(sql: """
            INSERT INTO hallItemSighting (target, itemNo, reservationId, status, origin, operator, at, source, seenAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(target, itemNo) DO UPDATE SET reservationId = excluded.reservationId, status = excluded.status,
                origin = COALESCE(excluded.origin, hallItemSighting.origin), operator = COALESCE(excluded.operator, hallItemSighting.operator),
                at = COALESCE(excluded.at, hallItemSighting.at), source = excluded.source, seenAt = excluded.seenAt
            """).execute(arguments: [sighting.target.rawValue, sighting.itemNo, sighting.reservationId, sighting.status,
                             sighting.origin, sighting.operator, sighting.at, sighting.source.rawValue, now])
    }

    /// The items seen with the reservation's id in `target` that are not its copy.
    public func sightings(of reservationId: String, in target: HallTarget) throws -> [HallItemSighting] {
        try Row.fetchAll(try db.cachedStatement(sql: """
            SELECT target, itemNo, reservationId, status, origin, operator, at, source FROM hallItemSighting
            WHERE reservationId = ? AND +target = ? ORDER BY itemNo
            """), arguments: [reservationId, target.rawValue]).compactMap { row in
            guard let target = HallTarget(rawValue: row[0]), let source = HallItemSighting.Source(rawValue: row[7]) else { return nil }
            return HallItemSighting(target: target, itemNo: row[1], reservationId: row[2], status: row[3], origin: row[4],
                                    operator: row[5], at: row[6], source: source)
        }
    }

    public func removeSighting(target: HallTarget, itemNo: String) throws {
        try db.cachedStatement(sql: "DELETE FROM hallItemSighting WHERE target = ? AND itemNo = ?").execute(arguments: [target.rawValue, itemNo])
    }

    /// Whether hallsync ever sent a closing action to this copy.
    public func sentAction(reservationId: String, target: HallTarget) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM outbox WHERE reservationId = ? AND target = ? AND kind = 'ACTION')"),
                          arguments: [reservationId, target.rawValue]) ?? false
    }

    /// Records what a hall item says after a create or update was answered (`contentJSON`: the
    /// content sent, canonical JSON).
    /// - Parameter verified: the item was found carrying the reservation's id (a lookup), not only named by an answer.
    public func recordCopy(reservationId: String, target: HallTarget, itemNo: String, revision: Int,
                           contentJSON: String?, verified: Bool = false, now: Double) throws {
        try db.cachedStatement(sql: """
            INSERT INTO hallCopy (reservationId, target, itemNo, revision, contentJSON, isBlocked, createdAt, changedAt, verified)
            VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)
            ON CONFLICT(reservationId, target) DO UPDATE SET itemNo = excluded.itemNo,
                revision = MAX(hallCopy.revision, excluded.revision),
                contentJSON = CASE WHEN excluded.revision >= hallCopy.revision THEN excluded.contentJSON ELSE hallCopy.contentJSON END,
                createdAt = COALESCE(hallCopy.createdAt, excluded.createdAt), changedAt = excluded.changedAt,
                verified = MAX(hallCopy.verified, excluded.verified)
            """).execute(arguments: [reservationId, target.rawValue, itemNo, revision, contentJSON, now, now, verified])
    }

    /// The item was seen carrying the reservation's id: no lookup is needed before acting on it.
    public func markVerified(target: HallTarget, itemNo: String) throws {
        try db.cachedStatement(sql: "UPDATE hallCopy SET verified = 1 WHERE target = ? AND itemNo = ? AND verified = 0")
            .execute(arguments: [target.rawValue, itemNo])
    }

    /// The item number a hall gave for this copy is not the reservation's (a lookup by its id does
    /// not list it): the copy forgets it and is created again under a key of its own; the sends
    /// addressed to that item are refused, unsent.
    public func unclaim(reservationId: String, target: HallTarget, itemNo: String, now: Double) throws {
        try db.cachedStatement(sql: """
            UPDATE hallCopy SET itemNo = NULL, status = 'PENDING', closedBy = NULL, statusAt = NULL, contentJSON = NULL, revision = 0,
                verified = 0, keyGeneration = keyGeneration + 1, changedAt = ?
            WHERE reservationId = ? AND target = ? AND itemNo = ?
            """).execute(arguments: [now, reservationId, target.rawValue, itemNo])
        try db.cachedStatement(sql: """
            UPDATE outbox SET state = 'FAILED', settledAt = ?, lastError = 'HALL_ITEM_CONFLICT: addressed an item that is not this reservation''s; not sent'
            WHERE reservationId = ? AND target = ? AND itemNo = ? AND state = 'PENDING'
            """).execute(arguments: [now, reservationId, target.rawValue, itemNo])
    }

    /// After an item number turned out to be another's: the copy's next create goes under a key of its own.
    public func nextKeyGeneration(reservationId: String, target: HallTarget, now: Double) throws {
        try db.cachedStatement(sql: """
            INSERT INTO hallCopy (reservationId, target, keyGeneration, changedAt) VALUES (?, ?, 1, ?)
            ON CONFLICT(reservationId, target) DO UPDATE SET keyGeneration = hallCopy.keyGeneration + 1, changedAt = excluded.changedAt
            """).execute(arguments: [reservationId, target.rawValue, now])
    }

    /// Marks a copy as waiting for a person: no further send is planned for it.
    public func blockCopy(reservationId: String, target: HallTarget, now: Double) throws {
        try db.cachedStatement(sql: """
            INSERT INTO hallCopy (reservationId, target, isBlocked, changedAt) VALUES (?, ?, 1, ?)
            ON CONFLICT(reservationId, target) DO UPDATE SET isBlocked = 1, changedAt = excluded.changedAt
            """).execute(arguments: [reservationId, target.rawValue, now])
    }

    /// Lets a blocked copy be planned again (a newer portal version may fix what the hall refused).
    public func unblockCopies(reservationId: String, now: Double) throws {
        try db.cachedStatement(sql: "UPDATE hallCopy SET isBlocked = 0, changedAt = ? WHERE reservationId = ? AND isBlocked = 1").execute(arguments: [now, reservationId])
    }

    // MARK: Outbox

    /// Adds a send unless one with the same key exists (the key fixes the send).
    /// `entry.firstAttemptAt` 0: the item is looked up by the reservation's id first (a create: an
    /// item perhaps made already; an update or action: whether the item is the reservation's).
    @discardableResult
    public func enqueue(_ entry: OutboxEntry, now: Double) throws -> Bool {
        // After a restore, until the portal was read past that moment, a create looks its item up
        // first (firstAttemptAt 0): the daemon that ran before may have made it after the backup.
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO outbox (reservationId, target, kind, itemNo, idempotencyKey, body, revision, state, attempts, nextAttemptAt, createdAt,
                                          action, origin, pushStatus, contentJSON, firstAttemptAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?, ?, ?, ?, ?,
                    COALESCE(?, CASE WHEN ?3 = 'CREATE' AND EXISTS (SELECT 1 FROM cursor WHERE name = 'restore.lookUpThrough') THEN 0 ELSE NULL END))
            """).execute(arguments: [entry.reservationId, entry.target.rawValue, entry.kind.rawValue, entry.itemNo,
                             entry.idempotencyKey, entry.body, entry.revision, entry.nextAttemptAt, now,
                             entry.action?.rawValue, entry.origin?.rawValue, entry.pushStatus?.rawValue, entry.contentJSON, entry.firstAttemptAt])
        return db.changesCount > 0
    }

    /// Pending sends due now, oldest first.
    public func dueSends(now: Double, limit: Int) throws -> [OutboxEntry] {
        try readable(Row.fetchAll(try db.cachedStatement(sql: "SELECT \(Self.outboxColumns) FROM outbox WHERE state = 'PENDING' AND nextAttemptAt <= ? ORDER BY nextAttemptAt, id LIMIT ?"),
                                  arguments: [now, limit]), now: now)
    }

    /// One peer's pending sends due now, oldest first.
    public func dueSends(target: SendTarget, now: Double, limit: Int) throws -> [OutboxEntry] {
        try readable(Row.fetchAll(try db.cachedStatement(sql: """
            SELECT \(Self.outboxColumns) FROM outbox WHERE state = 'PENDING' AND target = ? AND nextAttemptAt <= ? ORDER BY nextAttemptAt, id LIMIT ?
            """), arguments: [target.rawValue, now, limit]), now: now)
    }

    /// The rows read as sends; a row that cannot be (a target, kind or state no version of hallsync
    /// writes: damage) is refused for good and its reservation put on the attention list — sent
    /// nowhere rather than to a guessed peer.
    func readable(_ rows: [Row], now: Double) throws -> [OutboxEntry] {
        var entries: [OutboxEntry] = []
        entries.reserveCapacity(rows.count)
        for row in rows {
            do { entries.append(try Self.outbox(from: row)) } catch {
                let id: Int64 = row[0], reservationId: String = row[1]
                try settle(outboxId: id, state: .failed, error: error.description, now: now)
                try raiseAttention(AttentionEntry(
                    reservationId: reservationId, code: DomainError.Code.sendUnreadable.rawValue, field: String(id), target: "",
                    messageZh: "本系统数据库中一条待发送记录（编号 \(id)）已损坏，无法判断应发往何处，未发送：\(error.message)。请联系运维检查数据库，核对后点“重新处理”",
                    messageEn: "A pending send (outbox row \(id)) in hallsync's database is damaged and cannot tell where it goes; it was not sent: \(error.message). Have an operator check the database, then retry the reservation.",
                    version: 0, raisedAt: now))
            }
        }
        return entries
    }

    /// Makes these pending sends due at `time`.
    public func makeDue(ids: [Int64], at time: Double) throws {
        let statement = try db.cachedStatement(sql: "UPDATE outbox SET nextAttemptAt = MIN(nextAttemptAt, ?) WHERE id = ? AND state = 'PENDING'")
        for id in ids { try statement.execute(arguments: [time, id]) }
    }

    public func outbox(reservationId: String) throws -> [OutboxEntry] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT \(Self.outboxColumns) FROM outbox WHERE reservationId = ? ORDER BY id"), arguments: [reservationId]).map(Self.outbox(from:))
    }

    /// Notes that an attempt is about to be made, before the request leaves.
    public func markAttempted(ids: [Int64], now: Double) throws {
        let statement = try db.cachedStatement(sql: "UPDATE outbox SET attempts = attempts + 1, firstAttemptAt = COALESCE(firstAttemptAt, ?) WHERE id = ?")
        for id in ids { try statement.execute(arguments: [now, id]) }
    }

    public func settle(outboxId: Int64, state: OutboxEntry.State, error: String?, now: Double) throws {
        try db.cachedStatement(sql: "UPDATE outbox SET state = ?, lastError = ?, settledAt = ? WHERE id = ?").execute(arguments: [state.rawValue, error, now, outboxId])
    }

    /// Holds the reservation's pending creates in `target` until `time` (after a conflict: a hall
    /// that keeps answering with another's item is not asked again at once).
    public func holdCreates(reservationId: String, target: HallTarget, until time: Double) throws {
        try db.cachedStatement(sql: "UPDATE outbox SET nextAttemptAt = MAX(nextAttemptAt, ?) WHERE reservationId = ? AND target = ? AND kind = 'CREATE' AND state = 'PENDING'")
            .execute(arguments: [time, reservationId, target.rawValue])
    }

    public func reschedule(outboxId: Int64, at next: Double, error: String) throws {
        try db.cachedStatement(sql: "UPDATE outbox SET nextAttemptAt = ?, lastError = ? WHERE id = ?").execute(arguments: [next, error, outboxId])
    }

    /// After a restore from a backup: the halls may hold items created after the backup was taken
    /// (their keys perhaps forgotten by now), so every pending create looks its item up by
    /// `externalId` before it is sent (as a create older than the key retention does). Returns how many.
    @discardableResult
    public func lookUpBeforeEveryPendingCreate(restoredAt: BeijingTime, now: Double) throws -> Int {
        try db.execute(sql: "UPDATE outbox SET firstAttemptAt = 0 WHERE state = 'PENDING' AND kind = 'CREATE'")
        let count = db.changesCount
        // And every create planned until the portal has been read past this moment.
        try setCursor(.restoreLookUpThrough, to: restoredAt.description, now: now)
        return count
    }

    /// Makes every pending send due at `time` (after a reload: what an operator fixed is tried at once).
    @discardableResult
    public func rescheduleAllPending(at time: Double) throws -> Int {
        try db.cachedStatement(sql: "UPDATE outbox SET nextAttemptAt = ? WHERE state = 'PENDING' AND nextAttemptAt > ?").execute(arguments: [time, time])
        return db.changesCount
    }

    /// Deletes sends settled as done before `time`; returns how many. Refused ones stay (they explain the attention list).
    @discardableResult
    public func pruneSettled(before time: Double) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM outbox WHERE state = 'DONE' AND settledAt < ?").execute(arguments: [time])
        return db.changesCount
    }

    /// The columns ``outbox(from:)`` reads, in its order: a row is read by position (a lookup by
    /// name lower-cases the name on every read — measurable on the delivery's hot path).
    static let outboxColumns = """
        id, reservationId, target, kind, itemNo, idempotencyKey, body, revision, state, attempts, \
        firstAttemptAt, nextAttemptAt, lastError, action, origin, pushStatus, contentJSON
        """

    /// Throws on a value no version of hallsync writes: a damaged row is never guessed into a send.
    static func outbox(from row: Row) throws(StoreError) -> OutboxEntry {
        func stored<T: RawRepresentable>(_ raw: String?, as _: T.Type, _ column: String) throws(StoreError) -> T? where T.RawValue == String {
            guard let raw else { return nil }
            guard let value = T(rawValue: raw) else {
                throw StoreError(code: .unreadableRow, message: "outbox row \(row[0] as Int64) holds \(column) \(WireIdentifier.printable(String(raw.prefix(40)))), which no version of hallsync writes")
            }
            return value
        }
        let targetRaw: String = row[2]
        guard let target = SendTarget(rawValue: targetRaw) else {
            throw StoreError(code: .unreadableRow, message: "outbox row \(row[0] as Int64) is addressed to \(WireIdentifier.printable(String(targetRaw.prefix(40)))), which is no peer of hallsync's")
        }
        guard let kind = try stored(row[3], as: OutboxEntry.Kind.self, "the kind"), let state = try stored(row[8], as: OutboxEntry.State.self, "the state") else {
            throw StoreError(code: .unreadableRow, message: "outbox row \(row[0] as Int64) has no kind or state")
        }
        return OutboxEntry(id: row[0], reservationId: row[1], target: target, kind: kind, itemNo: row[4],
                           idempotencyKey: row[5], body: row[6], revision: row[7], state: state, attempts: row[9],
                           firstAttemptAt: row[10], nextAttemptAt: row[11], lastError: row[12],
                           action: try stored(row[13], as: HallAction.self, "the action"),
                           origin: try stored(row[14], as: ActionOrigin.self, "the origin"),
                           pushStatus: try stored(row[15], as: PortalProcessStatus.self, "the push status"),
                           contentJSON: row[16])
    }

    // MARK: Retention

    /// Reservations whose personal data is due for erasure: the appointment before `cutoff`
    /// (`yyyy-MM-dd`; a record without a readable date: last changed before `changedBefore`),
    /// and nothing about them open — no send pending, no copy open, the portal told its final
    /// status, nothing on the attention list. (`+c.status`: the copies are found by their
    /// reservation, not by reading every pending copy for each candidate.)
    public func retentionDue(cutoff: String, changedBefore: Double, limit: Int) throws -> [String] {
        try String.fetchAll(try db.cachedStatement(sql: """
            SELECT r.id FROM reservation r
            WHERE r.purgedAt IS NULL
              AND ((r.appointmentDate IS NOT NULL AND r.appointmentDate < ?) OR (r.appointmentDate IS NULL AND r.changedAt < ?))
              AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.reservationId = r.id AND o.state = 'PENDING')
              AND NOT EXISTS (SELECT 1 FROM attention a WHERE a.reservationId = r.id AND a.resolvedAt IS NULL)
              AND NOT EXISTS (SELECT 1 FROM hallCopy c WHERE c.reservationId = r.id AND c.itemNo IS NOT NULL AND +c.status = 'PENDING')
              AND (r.disposition != 'DELIVERABLE'
                   OR json_extract(r.lifecycleJSON, '$.portalStatus') IN ('HANDLED', 'CONSULTED', 'CANCEL_ACKNOWLEDGED'))
            LIMIT ?
            """), arguments: [cutoff, changedBefore, limit])
    }

    /// Erases the applicant's name, ID number and phone from a reservation, its copies, its
    /// outbox bodies and its attention entries; ids, dates, statuses, department and matter stay.
    public func erasePersonalData(of reservationId: String, rule: PersonalDataRetention, now: Double) throws {
        guard let stored = try reservation(id: reservationId) else { return }
        let values = PersonalValues(names: [stored.portal.applicant.name, stored.content?.applicantName, stored.portal.applicant.orgName].compactMap { $0 },
                                    numbers: [stored.portal.applicant.idNumber, stored.content?.idNumber, stored.portal.applicant.phone, stored.content?.phone].compactMap { $0 })
        let portalJSON = String(decoding: try Self.encoder.encode(rule.erase(stored.portal)), as: UTF8.self)
        let contentJSON = try stored.content.map { String(decoding: try Self.encoder.encode(rule.erase($0)), as: UTF8.self) }
        try db.cachedStatement(sql: "UPDATE reservation SET portalJSON = ?, contentJSON = ?, purgedAt = ? WHERE id = ?").execute(arguments: [portalJSON, contentJSON, now, reservationId])
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT target, contentJSON FROM hallCopy WHERE reservationId = ? AND contentJSON IS NOT NULL"),
                                    arguments: [reservationId]) {
            let content = try JSONDecoder().decode(HallItemContent.self, from: Data((row["contentJSON"] as String).utf8))
            try db.cachedStatement(sql: "UPDATE hallCopy SET contentJSON = ? WHERE reservationId = ? AND target = ?").execute(arguments: [String(decoding: try Self.encoder.encode(rule.erase(content)), as: UTF8.self), reservationId, row["target"] as String])
        }
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT id, body FROM outbox WHERE reservationId = ? AND kind IN ('CREATE', 'UPDATE')"), arguments: [reservationId]) {
            guard var body = try? JSONSerialization.jsonObject(with: row["body"] as Data) as? [String: Any] else { continue }
            for key in PersonalDataRetention.bodyKeys where body[key] != nil { body[key] = PersonalDataRetention.erased }
            // The content sent (its typed column) goes with it: it is needed only while the send is pending.
            try db.cachedStatement(sql: "UPDATE outbox SET body = ?, contentJSON = NULL WHERE id = ?").execute(arguments: [try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), row["id"] as Int64])
        }
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT id, messageZh, messageEn, field FROM attention WHERE reservationId = ?"), arguments: [reservationId]) {
            try db.cachedStatement(sql: "UPDATE attention SET messageZh = ?, messageEn = ?, field = ? WHERE id = ?").execute(arguments: [PersonalData.redactPeerText(row["messageZh"], values: values), PersonalData.redactPeerText(row["messageEn"], values: values),
                                       PersonalData.redactPeerText(row["field"], values: values), row["id"] as Int64])
        }
    }

    public func isPurged(_ reservationId: String) throws -> Bool {
        try Bool.fetchOne(try db.cachedStatement(sql: "SELECT purgedAt IS NOT NULL FROM reservation WHERE id = ?"), arguments: [reservationId]) ?? false
    }

    /// Reservations whose personal data was erased.
    public func purgedCount() throws -> Int {
        try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM reservation WHERE purgedAt IS NOT NULL")) ?? 0
    }

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

    // MARK: Attention

    /// Opens an entry, or refreshes the open one with the same reservation, code, field and target.
    public func raiseAttention(_ entry: AttentionEntry) throws {
        try db.cachedStatement(sql: """
            INSERT INTO attention (reservationId, code, field, target, messageZh, messageEn, version, raisedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(reservationId, code, field, target) WHERE resolvedAt IS NULL
            DO UPDATE SET messageZh = excluded.messageZh, messageEn = excluded.messageEn, version = excluded.version
            """).execute(arguments: [entry.reservationId, entry.code, entry.field, entry.target, entry.messageZh, entry.messageEn, entry.version, entry.raisedAt])
    }

    /// Closes the open entries of a reservation, except those whose code is in `keeping`.
    public func resolveAttention(reservationId: String, keeping codes: Set<String>, now: Double) throws {
        let kept = codes.union(DomainError.Code.aboutTheLifecycle.map(\.rawValue)).sorted()
        try db.cachedStatement(sql: "UPDATE attention SET resolvedAt = ? WHERE reservationId = ? AND resolvedAt IS NULL AND code NOT IN (\(kept.map { _ in "?" }.joined(separator: ",")))").execute(arguments: StatementArguments([now, reservationId] + kept.map { $0 as (any DatabaseValueConvertible) }))
    }

    /// Closes the reservation's open entries of these codes (conditions that no longer hold).
    public func resolveAttention(reservationId: String, codes: Set<String>, now: Double) throws {
        guard !codes.isEmpty else { return }
        let list = codes.sorted()
        try db.cachedStatement(sql: "UPDATE attention SET resolvedAt = ? WHERE reservationId = ? AND resolvedAt IS NULL AND code IN (\(list.map { _ in "?" }.joined(separator: ",")))")
            .execute(arguments: StatementArguments([now, reservationId] + list.map { $0 as (any DatabaseValueConvertible) }))
    }

    /// Closes the reservation's open entries of one code about one peer, whatever their field.
    public func resolveAttention(reservationId: String, code: String, target: String, now: Double) throws {
        try db.cachedStatement(sql: "UPDATE attention SET resolvedAt = ? WHERE reservationId = ? AND code = ? AND target = ? AND resolvedAt IS NULL")
            .execute(arguments: [now, reservationId, code, target])
    }

    /// Closes one open entry, when the situation it described has resolved itself.
    public func resolveAttention(reservationId: String, code: String, field: String, now: Double) throws {
        try db.cachedStatement(sql: "UPDATE attention SET resolvedAt = ? WHERE reservationId = ? AND code = ? AND field = ? AND resolvedAt IS NULL").execute(arguments: [now, reservationId, code, field])
    }

    /// Closes one open entry on a person's word (the web page's "resolve"), with their note.
    /// Returns false when there is no such open entry of that reservation.
    @discardableResult
    public func resolveAttention(id: Int64, of reservationId: String, by account: String, note: String, now: Double) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE attention SET resolvedAt = ?, resolvedBy = ?, resolution = ? WHERE id = ? AND reservationId = ? AND resolvedAt IS NULL").execute(arguments: [now, account, note, id, reservationId])
        return db.changesCount > 0
    }

    /// Forgets the sends of a reservation that were refused for good: nothing happened at the
    /// peer (a refused create is not remembered under its key), so the planner may send again —
    /// with the same key — once a person asked to retry.
    public func forgetRefusedSends(of reservationId: String) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM outbox WHERE reservationId = ? AND state = 'FAILED'").execute(arguments: [reservationId])
        return db.changesCount
    }

    public func openAttention(limit: Int = 1000) throws -> [AttentionEntry] {
        try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM attention WHERE resolvedAt IS NULL ORDER BY raisedAt, id LIMIT ?"), arguments: [limit]).map { row in
            AttentionEntry(reservationId: row["reservationId"], code: row["code"], field: row["field"], target: row["target"],
                           messageZh: row["messageZh"], messageEn: row["messageEn"], version: row["version"], raisedAt: row["raisedAt"])
        }
    }
}
