import Foundation
import HallsyncDomain

/// The attention list: raised, resolved by code or by a person, read.
extension StoreTransaction {
    // MARK: Attention

    /// Opens an entry, or refreshes the open one with the same reservation, code, field and target.
    public func raiseAttention(_ entry: AttentionEntry) throws {
        attentionClearance.forget(entry.reservationId)
        try db.execute("""
            INSERT INTO attention (reservationId, code, field, target, messageZh, messageEn, version, raisedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(reservationId, code, field, target) WHERE resolvedAt IS NULL
            DO UPDATE SET messageZh = excluded.messageZh, messageEn = excluded.messageEn, version = excluded.version
            """, [entry.reservationId, entry.code, entry.field, entry.target, entry.messageZh, entry.messageEn, entry.version, entry.raisedAt])
    }

    /// Closes the open entries of a reservation, except those whose code is in `keeping`.
    public func resolveAttention(reservationId: String, keeping codes: Set<String>, now: Double) throws {
        guard !attentionClearance.isClear(reservationId) else { return }
        let kept = codes.union(DomainError.Code.aboutTheLifecycle.map(\.rawValue)).sorted()
        try db.execute("UPDATE attention SET resolvedAt = ? WHERE reservationId = ? AND resolvedAt IS NULL AND code NOT IN (\(kept.map { _ in "?" }.joined(separator: ",")))", [now, reservationId] + SQLArguments(kept.map(\.sqlValue)))
    }

    /// Closes the reservation's open entries of these codes (conditions that no longer hold).
    public func resolveAttention(reservationId: String, codes: Set<String>, now: Double) throws {
        guard !codes.isEmpty, !attentionClearance.isClear(reservationId) else { return }
        let list = codes.sorted()
        try db.execute("UPDATE attention SET resolvedAt = ? WHERE reservationId = ? AND resolvedAt IS NULL AND code IN (\(list.map { _ in "?" }.joined(separator: ",")))",
                       [now, reservationId] + SQLArguments(list.map(\.sqlValue)))
    }

    /// Closes the reservation's open entries of one code about one peer, whatever their field.
    public func resolveAttention(reservationId: String, code: String, target: String, now: Double) throws {
        guard !attentionClearance.isClear(reservationId) else { return }
        try db.execute("UPDATE attention SET resolvedAt = ? WHERE reservationId = ? AND code = ? AND target = ? AND resolvedAt IS NULL", [now, reservationId, code, target])
    }

    /// Closes one open entry, when the situation it described has resolved itself.
    public func resolveAttention(reservationId: String, code: String, field: String, now: Double) throws {
        guard !attentionClearance.isClear(reservationId) else { return }
        try db.execute("UPDATE attention SET resolvedAt = ? WHERE reservationId = ? AND code = ? AND field = ? AND resolvedAt IS NULL", [now, reservationId, code, field])
    }

    /// Closes one open entry on a person's word (the web page's "resolve"), with their note.
    /// Returns false when there is no such open entry of that reservation.
    @discardableResult
    public func resolveAttention(id: Int64, of reservationId: String, by account: String, note: String, now: Double) throws -> Bool {
        return try db.execute("UPDATE attention SET resolvedAt = ?, resolvedBy = ?, resolution = ? WHERE id = ? AND reservationId = ? AND resolvedAt IS NULL", [now, account, note, id, reservationId]) > 0
    }

    /// Forgets the sends of a reservation that were refused for good: nothing happened at the
    /// peer (a refused create is not remembered under its key), so the planner may send again —
    /// with the same key — once a person asked to retry.
    public func forgetRefusedSends(of reservationId: String) throws -> Int {
        try db.execute("DELETE FROM outbox WHERE reservationId = ? AND state = 'FAILED'", [reservationId])
    }

    /// The codes of every open entry, by reservation: what a verification compares with the
    /// reasons a reservation should be held for.
    public func openAttentionCodes() throws -> [String: Set<String>] {
        Dictionary(grouping: try openAttention(limit: Int.max), by: \.reservationId).mapValues { Set($0.map(\.code)) }
    }

    public func openAttention(limit: Int = 1000) throws -> [AttentionEntry] {
        try db.rows("SELECT * FROM attention WHERE resolvedAt IS NULL ORDER BY raisedAt, id LIMIT ?", [limit]).map(Self.attentionEntry)
    }
}
