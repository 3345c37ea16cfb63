import Foundation
import HallsyncDomain

/// A reservation's copies in each hall, and items seen there that are not a copy of ours.
extension StoreTransaction {
    // MARK: Hall copies

    /// The reservation's copies, with what each was sent (as digests).
    public func copies(of reservationId: String) throws -> [HallTarget: HallCopy] {
        try copiesAndPushPending(of: reservationId).copies
    }

    /// What a copy or a send holds of the content sent, from its four columns (nil: not known).
    static func delivered(digest: String?, identity: String?, deadline: String?, deptCode: String?) -> DeliveredContent? {
        guard let digest, let identity else { return nil }
        return DeliveredContent(digest: digest, identity: identity, deadline: deadline ?? "", deptCode: deptCode ?? "")
    }

    /// The copies and whether a status push is waiting, as the planner needs them: the pending
    /// sends' peers are read in the same statement (a hall's mark the copy's pending send,
    /// `portal` the push) — one round trip, which is what a statement costs on PostgreSQL.
    public func copiesAndPushPending(of reservationId: String) throws -> (copies: [HallTarget: HallCopy], pushPending: Bool) {
        var copies: [HallTarget: HallCopy] = [:]
        var pendingTargets: [String] = []
        // Pending sends are few per reservation: their peers are told apart here rather than by a
        // DISTINCT (a temporary b-tree). The reservation's sends are read whatever their state and
        // the pending ones kept here: a condition on the state would let PostgreSQL answer from a
        // peer's queue of due sends (`outbox_due_target`, whose predicate it matches), scanning
        // every pending send of the hall for one reservation's, as it did with statistics taken
        // while the outbox was empty. Settled sends are few too, until pruned.
        let rows = try db.rows("""
            SELECT 0 AS isSend, target, itemNo, revision, contentDigest, identityDigest, deadline, deptCode, isBlocked, status, closedBy, verified, keyGeneration
            FROM hallCopy WHERE reservationId = ?1
            UNION ALL
            SELECT CASE WHEN state = 'PENDING' THEN 1 ELSE 2 END, target, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
            FROM outbox WHERE reservationId = ?1
            """, [reservationId])
        for row in rows {
            switch row[0] as Int {
            case 1: pendingTargets.append(row[1]); continue
            case 2: continue
            default: break
            }
            guard let target = HallTarget(rawValue: row[1]) else { continue }
            copies[target] = HallCopy(target: target, itemNo: row[2], revision: row[3],
                                      delivered: Self.delivered(digest: row[4], identity: row[5], deadline: row[6], deptCode: row[7]),
                                      hasPendingSend: false, isBlocked: row[8],
                                      status: HallItemStatus(rawValue: row[9]) ?? .open,
                                      closedBy: (row[10] as String?).flatMap(ActionOrigin.init(rawValue:)),
                                      verified: row[11], keyGeneration: row[12])
        }
        var pushPending = false
        for target in pendingTargets {
            if target == SendTarget.portal.rawValue { pushPending = true }
            guard let t = HallTarget(rawValue: target) else { continue }
            copies[t, default: HallCopy(target: t)].hasPendingSend = true
        }
        return (copies, pushPending)
    }

    /// Records a copy's status as the hall reported it (and its item number, when it was not known yet).
    public func recordStatus(reservationId: String, copy: HallCopy, at: String?, now: Double) throws {
        try db.execute("""
            INSERT INTO hallCopy (reservationId, target, itemNo, status, closedBy, statusAt, changedAt) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(reservationId, target) DO UPDATE SET itemNo = COALESCE(hallCopy.itemNo, excluded.itemNo),
                status = excluded.status, closedBy = excluded.closedBy, statusAt = COALESCE(excluded.statusAt, hallCopy.statusAt),
                changedAt = excluded.changedAt
            """, [reservationId, copy.target.rawValue, copy.itemNo, copy.status.rawValue, copy.closedBy?.rawValue, at, now])
    }

    /// Open items of one hall, in reservation order after `after`: what a reconciliation looks up;
    /// with `createdBefore` (Unix seconds), only those made before then (a copy of unknown age counts as old).
    /// `closedSince`: copies closed (or otherwise changed) since then too — a reservation whose
    /// items hallsync holds closed may still have another item in the hall whose change a feed
    /// that went back hid (a clerk's counter item, handled later).
    public func openCopies(in hall: HallTarget, after: String, limit: Int, createdBefore: Double? = nil,
                           closedSince: Double? = nil) throws -> [(reservationId: String, itemNo: String)] {
        try db.rows("""
            SELECT reservationId, itemNo FROM hallCopy
            WHERE target = ? AND (status = 'PENDING' OR changedAt >= ?) AND itemNo IS NOT NULL AND reservationId > ? AND COALESCE(createdAt, 0) < ?
            ORDER BY reservationId LIMIT ?
            """, [hall.rawValue, closedSince ?? Double.greatestFiniteMagnitude, after, createdBefore ?? Double.greatestFiniteMagnitude, limit])
            .map { ($0["reservationId"], $0["itemNo"]) }
    }

    /// The reservation whose copy in `target` is the item `itemNo`, nil when none is (the store
    /// allows one: `hallCopy_item`).
    public func copyOwner(target: HallTarget, itemNo: String) throws -> String? {
        guard let row = try db.row("""
            SELECT reservationId, \(AttentionClearance.openEntryColumn(of: "hallCopy.reservationId")) FROM hallCopy WHERE target = ? AND itemNo = ?
            """, [target.rawValue, itemNo]) else { return nil }
        let owner: String = row["reservationId"]
        attentionClearance.learn(owner, hasOpenEntry: row["hasOpenAttention"])
        return owner
    }

    /// Every copy with an item number (for checks of a whole run).
    public func recordedCopies() throws -> [(reservationId: String, target: HallTarget, itemNo: String)] {
        try db.rows("SELECT reservationId, target, itemNo FROM hallCopy WHERE itemNo IS NOT NULL").compactMap { row in
            HallTarget(rawValue: row[1]).map { (row[0], $0, row[2]) }
        }
    }

    /// Whether a create of the reservation's copy in `target` is waiting to be sent or answered.
    public func hasPendingCreate(reservationId: String, target: HallTarget) throws -> Bool {
        try !pendingSends(of: reservationId, target: target.rawValue, kind: .create).isEmpty
    }

    /// The ids of the reservation's pending sends to `target` (of `kind`, addressed to `itemNo`
    /// when given). Read by the reservation's index whatever their state, the pending ones kept
    /// here: a statement that names the state as well would match the predicate of the peers'
    /// queue of due sends (`outbox_due_target`), and PostgreSQL, its statistics taken while the
    /// outbox was small, may answer it by scanning every pending send of the hall. A reservation
    /// has few sends, settled ones included, until they are pruned.
    func pendingSends(of reservationId: String, target: String, kind: OutboxEntry.Kind? = nil, itemNo: String? = nil) throws -> [Int64] {
        var sql = "SELECT id, state FROM outbox WHERE reservationId = ? AND target = ?"
        var arguments: SQLArguments = [reservationId, target]
        if let kind { sql += " AND kind = ?"; arguments = arguments + [kind.rawValue] }
        if let itemNo { sql += " AND itemNo = ?"; arguments = arguments + [itemNo] }
        return try db.rows(sql, arguments).compactMap { row in (row[1] as String) == OutboxEntry.State.pending.rawValue ? row[0] as Int64 : nil }
    }

    /// Whether a status push of `status` was ever planned for the reservation (sent or not, whatever
    /// its answer): a status the portal shows that hallsync never planned is not its own.
    public func plannedPush(reservationId: String, status: PortalProcessStatus) throws -> Bool {
        try db.value(Bool.self, """
            SELECT EXISTS (SELECT 1 FROM outbox WHERE reservationId = ? AND target = 'portal' AND pushStatus = ?)
            """, [reservationId, status.rawValue]) ?? false
    }

    // MARK: Items seen that are not a copy of ours

    /// Notes what a hall said about an item carrying one of our reservations' ids that is not
    /// that reservation's copy (yet): the newest word about each item is kept.
    public func recordSighting(_ sighting: HallItemSighting, now: Double) throws {
        try db.execute("""
            INSERT INTO hallItemSighting (target, itemNo, reservationId, status, origin, operator, at, source, seenAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(target, itemNo) DO UPDATE SET reservationId = excluded.reservationId, status = excluded.status,
                origin = COALESCE(excluded.origin, hallItemSighting.origin), operator = COALESCE(excluded.operator, hallItemSighting.operator),
                at = COALESCE(excluded.at, hallItemSighting.at), source = excluded.source, seenAt = excluded.seenAt
            """, [sighting.target.rawValue, sighting.itemNo, sighting.reservationId, sighting.status,
                             sighting.origin, sighting.operator, sighting.at, sighting.source.rawValue, now])
    }

    /// The items seen with the reservation's id in `target` that are not its copy.
    /// Reservations and halls with a sighting never shown (no attention entry, open or closed,
    /// names it) and no create on its way that could claim it: whatever ended the wait — a
    /// settled or refused create, a cancellation before delivery, a send given up — it is shown.
    public func sightingsNoLongerWaiting(limit: Int) throws -> [(reservationId: String, target: HallTarget)] {
        try db.rows("""
            SELECT DISTINCT s.reservationId, s.target FROM hallItemSighting s
            WHERE NOT EXISTS (SELECT 1 FROM attention a WHERE a.reservationId = s.reservationId AND a.code = 'OTHER_HALL_ITEM'
                              AND a.field = s.itemNo AND a.target = s.target)
              AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.reservationId = s.reservationId AND o.target = s.target
                              AND o.kind = 'CREATE' AND o.state = 'PENDING')
            LIMIT ?
            """, [limit]).compactMap { row in
            HallTarget(rawValue: row[1]).map { (reservationId: row[0], target: $0) }
        }
    }

    public func sightings(of reservationId: String, in target: HallTarget) throws -> [HallItemSighting] {
        try db.rows("""
            SELECT target, itemNo, reservationId, status, origin, operator, at, source FROM hallItemSighting
            WHERE reservationId = ? AND +target = ? ORDER BY itemNo
            """, [reservationId, target.rawValue]).compactMap { row in
            guard let target = HallTarget(rawValue: row[0]), let source = HallItemSighting.Source(rawValue: row[7]) else { return nil }
            return HallItemSighting(target: target, itemNo: row[1], reservationId: row[2], status: row[3], origin: row[4],
                                    operator: row[5], at: row[6], source: source)
        }
    }

    public func removeSighting(target: HallTarget, itemNo: String) throws {
        try db.execute("DELETE FROM hallItemSighting WHERE target = ? AND itemNo = ?", [target.rawValue, itemNo])
    }

    /// Whether hallsync ever sent a closing action to this copy.
    public func sentAction(reservationId: String, target: HallTarget) throws -> Bool {
        try db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM outbox WHERE reservationId = ? AND target = ? AND kind = 'ACTION')", [reservationId, target.rawValue]) ?? false
    }

    /// Records what a hall item says after a create or update was answered (`delivered`: the
    /// content sent, as digests; an older revision's answer leaves a newer one's in place).
    /// - Parameter verified: the item was found carrying the reservation's id (a lookup), not only named by an answer.
    public func recordCopy(reservationId: String, target: HallTarget, itemNo: String, revision: Int,
                           delivered: DeliveredContent?, verified: Bool = false, now: Double) throws {
        try db.execute("""
            INSERT INTO hallCopy (reservationId, target, itemNo, revision, contentDigest, identityDigest, deadline, deptCode,
                                  isBlocked, createdAt, changedAt, verified)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
            ON CONFLICT(reservationId, target) DO UPDATE SET itemNo = excluded.itemNo,
                revision = CASE WHEN excluded.revision > hallCopy.revision THEN excluded.revision ELSE hallCopy.revision END,
                contentDigest = CASE WHEN excluded.revision >= hallCopy.revision THEN excluded.contentDigest ELSE hallCopy.contentDigest END,
                identityDigest = CASE WHEN excluded.revision >= hallCopy.revision THEN excluded.identityDigest ELSE hallCopy.identityDigest END,
                deadline = CASE WHEN excluded.revision >= hallCopy.revision THEN excluded.deadline ELSE hallCopy.deadline END,
                deptCode = CASE WHEN excluded.revision >= hallCopy.revision THEN excluded.deptCode ELSE hallCopy.deptCode END,
                createdAt = COALESCE(hallCopy.createdAt, excluded.createdAt), changedAt = excluded.changedAt,
                verified = CASE WHEN excluded.verified > hallCopy.verified THEN excluded.verified ELSE hallCopy.verified END
            """, [reservationId, target.rawValue, itemNo, revision, delivered?.digest, delivered?.identity,
                                     delivered?.deadline, delivered?.deptCode, now, now, verified])
    }

    /// The item was seen carrying the reservation's id: no lookup is needed before acting on it.
    public func markVerified(target: HallTarget, itemNo: String) throws {
        try db.execute("UPDATE hallCopy SET verified = 1 WHERE target = ? AND itemNo = ? AND verified = 0", [target.rawValue, itemNo])
    }

    /// The item number a hall gave for this copy is not the reservation's (a lookup by its id does
    /// not list it): the copy forgets it and is created again under a key of its own; the sends
    /// addressed to that item are refused, unsent.
    public func unclaim(reservationId: String, target: HallTarget, itemNo: String, now: Double) throws {
        try db.execute("""
            UPDATE hallCopy SET itemNo = NULL, status = 'PENDING', closedBy = NULL, statusAt = NULL, revision = 0,
                contentDigest = NULL, identityDigest = NULL, deadline = NULL, deptCode = NULL, verified = 0, keyGeneration = keyGeneration + 1, changedAt = ?
            WHERE reservationId = ? AND target = ? AND itemNo = ?
            """, [now, reservationId, target.rawValue, itemNo])
        for id in try pendingSends(of: reservationId, target: target.rawValue, itemNo: itemNo) {
            try settle(outboxId: id, state: .failed, error: "HALL_ITEM_CONFLICT: addressed an item that is not this reservation's; not sent", now: now)
        }
    }

    /// After an item number turned out to be another's: the copy's next create goes under a key of its own.
    public func nextKeyGeneration(reservationId: String, target: HallTarget, now: Double) throws {
        try db.execute("""
            INSERT INTO hallCopy (reservationId, target, keyGeneration, changedAt) VALUES (?, ?, 1, ?)
            ON CONFLICT(reservationId, target) DO UPDATE SET keyGeneration = hallCopy.keyGeneration + 1, changedAt = excluded.changedAt
            """, [reservationId, target.rawValue, now])
    }

    /// Marks a copy as waiting for a person: no further send is planned for it.
    public func blockCopy(reservationId: String, target: HallTarget, now: Double) throws {
        try db.execute("""
            INSERT INTO hallCopy (reservationId, target, isBlocked, changedAt) VALUES (?, ?, 1, ?)
            ON CONFLICT(reservationId, target) DO UPDATE SET isBlocked = 1, changedAt = excluded.changedAt
            """, [reservationId, target.rawValue, now])
    }

    /// Lets a blocked copy be planned again (a newer portal version may fix what the hall refused).
    public func unblockCopies(reservationId: String, now: Double) throws {
        try db.execute("UPDATE hallCopy SET isBlocked = 0, changedAt = ? WHERE reservationId = ? AND isBlocked = 1", [now, reservationId])
    }
}
