import Foundation
import HallsyncDomain

/// The outbox: sends to the halls and pushes to the portal, due, attempted, settled, pruned.
extension StoreTransaction {
    // MARK: Outbox

    /// Adds a send unless one with the same key exists (the key fixes the send).
    /// `entry.firstAttemptAt` 0: the item is looked up by the reservation's id first (a create: an
    /// item perhaps made already; an update or action: whether the item is the reservation's).
    @discardableResult
    public func enqueue(_ entry: OutboxEntry, now: Double) throws -> Bool {
        // After a restore, until the portal was read past that moment, a create looks its item up
        // first (firstAttemptAt 0): the daemon that ran before may have made it after the backup.
        return try db.execute("""
            INSERT INTO outbox (reservationId, target, kind, itemNo, idempotencyKey, body, revision, state, attempts, nextAttemptAt, createdAt,
                                          action, origin, pushStatus, contentDigest, identityDigest, deadline, deptCode, firstAttemptAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                    COALESCE(CAST(? AS DOUBLE PRECISION), CASE WHEN ?3 = 'CREATE' AND EXISTS (SELECT 1 FROM cursor WHERE name = 'restore.lookUpThrough') THEN 0 END))
            ON CONFLICT (idempotencyKey) DO NOTHING
            """, [entry.reservationId, entry.target.rawValue, entry.kind.rawValue, entry.itemNo,
                             entry.idempotencyKey, entry.body, entry.revision, entry.nextAttemptAt, now,
                             entry.action?.rawValue, entry.origin?.rawValue, entry.pushStatus?.rawValue,
                             entry.delivered?.digest, entry.delivered?.identity, entry.delivered?.deadline, entry.delivered?.deptCode, entry.firstAttemptAt]) > 0
    }

    /// Pending sends due now, oldest first.
    public func dueSends(now: Double, limit: Int) throws -> [OutboxEntry] {
        try readable(db.rows("SELECT \(Self.outboxColumns) FROM outbox WHERE state = 'PENDING' AND nextAttemptAt <= ? ORDER BY nextAttemptAt, id LIMIT ?", [now, limit]), now: now)
    }

    /// One peer's pending sends due now, oldest first.
    public func dueSends(target: SendTarget, now: Double, limit: Int) throws -> [OutboxEntry] {
        try readable(db.rows("""
            SELECT \(Self.outboxColumns) FROM outbox WHERE state = 'PENDING' AND target = ? AND nextAttemptAt <= ? ORDER BY nextAttemptAt, id LIMIT ?
            """, [target.rawValue, now, limit]), now: now)
    }

    /// The rows read as sends; a row that cannot be (a target, kind or state no version of hallsync
    /// writes: damage) is refused for good and its reservation put on the attention list — sent
    /// nowhere rather than to a guessed peer.
    func readable(_ rows: [SQLRow], now: Double) throws -> [OutboxEntry] {
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
        for id in ids {
            try db.execute("UPDATE outbox SET nextAttemptAt = CASE WHEN nextAttemptAt < ?1 THEN nextAttemptAt ELSE ?1 END WHERE id = ?2 AND state = 'PENDING'", [time, id])
        }
    }

    public func outbox(reservationId: String) throws -> [OutboxEntry] {
        try db.rows("SELECT \(Self.outboxColumns) FROM outbox WHERE reservationId = ? ORDER BY id", [reservationId]).map(Self.outbox(from:))
    }

    /// Notes that an attempt is about to be made, before the request leaves.
    /// Counts an attempt of each send, in statements of a few fixed sizes (the last id repeated
    /// to fill one: a row is updated once however often `IN` names it), so that a batch is a few
    /// round trips on PostgreSQL and the statements stay a small set to prepare once.
    public func markAttempted(ids: [Int64], now: Double) throws {
        var rest = ids[...]
        while !rest.isEmpty {
            let size = Self.batchSizes.first { $0 >= rest.count } ?? Self.batchSizes.last!
            let chunk = Array(rest.prefix(size))
            rest = rest.dropFirst(chunk.count)
            let padded = chunk + Array(repeating: chunk.last!, count: size - chunk.count)
            try db.execute("UPDATE outbox SET attempts = attempts + 1, firstAttemptAt = COALESCE(firstAttemptAt, ?) WHERE id IN (\(Self.placeholders[size]!))",
                           [now] + SQLArguments(padded.map(\.sqlValue)))
        }
    }

    static let batchSizes = [1, 4, 16, 64, 256]
    static let placeholders: [Int: String] = Dictionary(uniqueKeysWithValues: batchSizes.map { ($0, Array(repeating: "?", count: $0).joined(separator: ",")) })

    public func settle(outboxId: Int64, state: OutboxEntry.State, error: String?, now: Double) throws {
        try db.execute("UPDATE outbox SET state = ?, lastError = ?, settledAt = ? WHERE id = ?", [state.rawValue, error, now, outboxId])
    }

    /// Holds the reservation's pending creates in `target` until `time` (after a conflict: a hall
    /// that keeps answering with another's item is not asked again at once).
    public func holdCreates(reservationId: String, target: HallTarget, until time: Double) throws {
        for id in try pendingSends(of: reservationId, target: target.rawValue, kind: .create) {
            try db.execute("UPDATE outbox SET nextAttemptAt = CASE WHEN nextAttemptAt > ?1 THEN nextAttemptAt ELSE ?1 END WHERE id = ?2", [time, id])
        }
    }

    public func reschedule(outboxId: Int64, at next: Double, error: String) throws {
        try db.execute("UPDATE outbox SET nextAttemptAt = ?, lastError = ? WHERE id = ?", [next, error, outboxId])
    }

    /// After a restore from a backup: the halls may hold items created after the backup was taken
    /// (their keys perhaps forgotten by now), so every pending create looks its item up by
    /// `externalId` before it is sent (as a create older than the key retention does). Returns how many.
    @discardableResult
    public func lookUpBeforeEveryPendingCreate(restoredAt: BeijingTime, now: Double) throws -> Int {
        let count = try db.execute("UPDATE outbox SET firstAttemptAt = 0 WHERE state = 'PENDING' AND kind = 'CREATE'")
        // And every create planned until the portal has been read past this moment.
        try setCursor(.restoreLookUpThrough, to: restoredAt.description, now: now)
        return count
    }

    /// Makes every pending send due at `time` (after a reload: what an operator fixed is tried at once).
    @discardableResult
    public func rescheduleAllPending(at time: Double) throws -> Int {
        try db.execute("UPDATE outbox SET nextAttemptAt = ? WHERE state = 'PENDING' AND nextAttemptAt > ?", [time, time])
    }

    /// Deletes sends settled as done before `time`; returns how many. Refused ones stay (they explain the attention list).
    @discardableResult
    public func pruneSettled(before time: Double) throws -> Int {
        try db.execute("DELETE FROM outbox WHERE state = 'DONE' AND settledAt < ?", [time])
    }

    /// The columns ``outbox(from:)`` reads, in its order: a row is read by position (a lookup by
    /// name lower-cases the name on every read — measurable on the delivery's hot path).
    static let outboxColumns = """
        id, reservationId, target, kind, itemNo, idempotencyKey, body, revision, state, attempts, \
        firstAttemptAt, nextAttemptAt, lastError, action, origin, pushStatus, \
        contentDigest, identityDigest, deadline, deptCode
        """

    /// Throws on a value no version of hallsync writes: a damaged row is never guessed into a send.
    static func outbox(from row: SQLRow) throws(StoreError) -> OutboxEntry {
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
                           delivered: delivered(digest: row[16], identity: row[17], deadline: row[18], deptCode: row[19]))
    }
}
