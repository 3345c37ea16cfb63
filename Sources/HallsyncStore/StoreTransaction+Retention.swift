import Foundation
import HallsyncDomain

/// Erasure of personal data past its retention.
extension StoreTransaction {
    // MARK: Retention

    /// Reservations whose personal data is due for erasure: the appointment before `cutoff`
    /// (`yyyy-MM-dd`; a record without a readable date: last changed before `changedBefore`),
    /// and nothing about them open — no send pending, no copy open, the portal told its final
    /// status, nothing on the attention list. (`+c.status`: the copies are found by their
    /// reservation, not by reading every pending copy for each candidate.)
    public func retentionDue(cutoff: String, changedBefore: Double, limit: Int) throws -> [String] {
        try db.values(String.self, """
            SELECT r.id FROM reservation r
            WHERE r.purgedAt IS NULL
              AND ((r.appointmentDate IS NOT NULL AND r.appointmentDate < ?) OR (r.appointmentDate IS NULL AND r.changedAt < ?))
              AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.reservationId = r.id AND o.state = 'PENDING')
              AND NOT EXISTS (SELECT 1 FROM attention a WHERE a.reservationId = r.id AND a.resolvedAt IS NULL)
              AND NOT EXISTS (SELECT 1 FROM hallCopy c WHERE c.reservationId = r.id AND c.itemNo IS NOT NULL AND +c.status = 'PENDING')
              AND (r.disposition != 'DELIVERABLE'
                   OR r.portalStatus IN ('HANDLED', 'CONSULTED', 'CANCEL_ACKNOWLEDGED'))
            LIMIT ?
            """, [cutoff, changedBefore, limit])
    }

    /// Erases the applicant's name, ID number and phone from a reservation, its copies, its
    /// outbox bodies and its attention entries; ids, dates, statuses, department and matter stay.
    public func erasePersonalData(of reservationId: String, rule: PersonalDataRetention, now: Double) throws {
        guard let stored = try reservation(id: reservationId) else { return }
        let values = PersonalValues(names: [stored.portal.applicant.name, stored.content?.applicantName, stored.portal.applicant.orgName].compactMap { $0 },
                                    numbers: [stored.portal.applicant.idNumber, stored.content?.idNumber, stored.portal.applicant.phone, stored.content?.phone].compactMap { $0 })
        let portalJSON = String(decoding: try Self.encoder.encode(rule.erase(stored.portal)), as: UTF8.self)
        let erased = stored.content.map(rule.erase)
        let contentJSON = erased.map { String(decoding: $0.canonicalJSON(), as: UTF8.self) }
        var kept = stored
        kept.portal = rule.erase(stored.portal)
        kept.content = erased
        let shown = kept.shown
        try db.execute("""
            UPDATE reservation SET portalJSON = ?, contentJSON = ?, purgedAt = ?, itemName = ?, registerTime = ?, appointmentSlot = ?,
                applicantName = ?, phone = ? WHERE id = ?
            """, [portalJSON, contentJSON, now, shown.itemName, shown.registerTime, shown.slot, shown.applicantName,
                                     shown.phone, reservationId])
        // A copy that was sent the content as it stood keeps the erased content's digests (still
        // "the same": nothing to update); one sent an older version forgets them (a digest of an
        // ID number is personal data too) and is compared again only if a newer version comes.
        let before = stored.content.map { DeliveredContent($0) }
        let after = erased.map { DeliveredContent($0) }
        try db.execute("""
            UPDATE hallCopy SET
                contentDigest = CASE WHEN contentDigest = ? THEN ? END,
                identityDigest = CASE WHEN contentDigest = ? THEN ? END
            WHERE reservationId = ? AND contentDigest IS NOT NULL
            """, [before?.digest, after?.digest, before?.digest, after?.identity, reservationId])
        for row in try db.rows("SELECT id, body FROM outbox WHERE reservationId = ? AND kind IN ('CREATE', 'UPDATE')", [reservationId]) {
            guard var body = try? JSONSerialization.jsonObject(with: row["body"] as Data) as? [String: Any] else { continue }
            for key in PersonalDataRetention.bodyKeys where body[key] != nil { body[key] = PersonalDataRetention.erased }
            // The content sent (its typed column) goes with it: it is needed only while the send is pending.
            try db.execute("UPDATE outbox SET body = ?, contentDigest = NULL, identityDigest = NULL WHERE id = ?", [try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), row["id"] as Int64])
        }
        for row in try db.rows("SELECT id, messageZh, messageEn, field FROM attention WHERE reservationId = ?", [reservationId]) {
            try db.execute("UPDATE attention SET messageZh = ?, messageEn = ?, field = ? WHERE id = ?", [PersonalData.redactPeerText(row["messageZh"], values: values), PersonalData.redactPeerText(row["messageEn"], values: values),
                                       PersonalData.redactPeerText(row["field"], values: values), row["id"] as Int64])
        }
    }

    public func isPurged(_ reservationId: String) throws -> Bool {
        try db.value(Bool.self, "SELECT purgedAt IS NOT NULL FROM reservation WHERE id = ?", [reservationId]) ?? false
    }

    /// Reservations whose personal data was erased.
    public func purgedCount() throws -> Int {
        try db.value(Int.self, "SELECT COUNT(*) FROM reservation WHERE purgedAt IS NOT NULL") ?? 0
    }
}
