import Foundation
import HallsyncDomain
import HallsyncStore
import HallsyncTransport

/// Applies what the portal and the halls say to the store, and asks the domain's
/// ``DeliveryPlanner`` what must be sent next. Runs inside one store transaction, so a
/// reservation, its copies, its attention entries and its outbox always change together.
struct Ledger {
    let normalizer: ReservationNormalizer
    let now: Double

    enum IngestOutcome: Equatable {
        /// The same or an older version was already stored.
        case stale
        case stored(disposition: StoredReservation.Disposition, sendsEnqueued: Int, deadlineUsedFallback: Bool)
    }

    func ingest(_ portal: PortalReservation, in tx: StoreTransaction) throws -> IngestOutcome {
        if let stored = try tx.storedVersion(of: portal.reservationId), stored >= portal.version { return .stale }
        let stored: StoredReservation
        var raise: [DomainError] = []
        var fallback = false
        switch normalizer.normalize(portal) {
        case .deliverable(let n):
            stored = StoredReservation(portal: portal, disposition: .deliverable, route: n.route, content: n.content)
            raise = n.notices
            fallback = n.deadlineUsedFallback
        case .phoneVerifiedOnly:
            stored = StoredReservation(portal: portal, disposition: .phoneVerifiedOnly, route: nil, content: nil)
        case .undeliverable(let errors):
            stored = StoredReservation(portal: portal, disposition: .undeliverable, route: nil, content: nil)
            raise = errors
        }
        try tx.save(stored, now: now)
        // A new version may fix what was wrong: close what no longer applies, let refused copies try again.
        try tx.resolveAttention(reservationId: portal.reservationId, keeping: Set(raise.map(\.code.rawValue)), now: now)
        try tx.unblockCopies(reservationId: portal.reservationId, now: now)
        for error in raise {
            try tx.raiseAttention(AttentionEntry(reservationId: portal.reservationId, code: error.code.rawValue, field: error.field,
                                                 messageZh: error.zh, messageEn: error.en, version: portal.version, raisedAt: now))
        }
        return .stored(disposition: stored.disposition, sendsEnqueued: try plan(portal.reservationId, in: tx),
                       deadlineUsedFallback: fallback)
    }

    /// A record of a page that could not be decoded at all.
    func recordUnreadable(reservationId: String?, reason: String, in tx: StoreTransaction) throws {
        try tx.raiseAttention(AttentionEntry(reservationId: reservationId ?? "(unknown)", code: DomainError.Code.unreadableRecord.rawValue, field: "",
                                             messageZh: "门户记录无法解析，请联系门户运维核查该预约：\(reason)",
                                             messageEn: "\(reason); ask the portal's operators to check this reservation.",
                                             version: 0, raisedAt: now))
    }

    /// Enqueues the sends the planner asks for; returns how many.
    @discardableResult
    func plan(_ reservationId: String, in tx: StoreTransaction) throws -> Int {
        guard let normalized = try tx.reservation(id: reservationId)?.normalized else { return 0 }
        let sends = DeliveryPlanner.nextSends(for: normalized, copies: try tx.copies(of: reservationId))
        var count = 0
        for send in sends {
            let entry: OutboxEntry
            switch send {
            case .create(let target, let body):
                entry = OutboxEntry(reservationId: reservationId, target: target, kind: .create,
                                    idempotencyKey: IdempotencyKey.create(reservationId: reservationId, target: target, version: body.revision),
                                    body: try StoreTransaction.encoder.encode(body), revision: body.revision, nextAttemptAt: now)
            case .update(let target, let itemNo, let body):
                entry = OutboxEntry(reservationId: reservationId, target: target, kind: .update, itemNo: itemNo,
                                    idempotencyKey: IdempotencyKey.update(reservationId: reservationId, target: target, version: body.revision),
                                    body: try StoreTransaction.encoder.encode(body), revision: body.revision, nextAttemptAt: now)
            default: continue
            }
            if try tx.enqueue(entry, now: now) { count += 1 }
        }
        return count
    }

    /// What one attempt of a send came to.
    enum SendOutcome {
        /// The hall holds the item (created now, replayed under the same key, or found by `externalId`).
        case itemPresent(itemNo: String)
        case updated
        /// The hall already holds a newer revision: nothing to do.
        case superseded
        case retry(TransportError, delay: Double)
        case refused(TransportError)
    }

    func apply(_ outcome: SendOutcome, to entry: OutboxEntry, in tx: StoreTransaction) throws {
        guard let id = entry.id else { return }
        let content = try? JSONDecoder().decode(HallItemContent.self, from: entry.body)
        switch outcome {
        case .itemPresent(let itemNo):
            try tx.recordCopy(reservationId: entry.reservationId, target: entry.target, itemNo: itemNo,
                              revision: entry.revision, content: content, now: now)
            try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            try plan(entry.reservationId, in: tx)
        case .updated, .superseded:
            if let itemNo = entry.itemNo {
                try tx.recordCopy(reservationId: entry.reservationId, target: entry.target, itemNo: itemNo,
                                  revision: entry.revision, content: content, now: now)
            }
            try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            try plan(entry.reservationId, in: tx)
        case .retry(let error, let delay):
            try tx.reschedule(outboxId: id, at: now + delay, error: error.description)
        case .refused(let error):
            try tx.settle(outboxId: id, state: .failed, error: error.description, now: now)
            try tx.blockCopy(reservationId: entry.reservationId, target: entry.target, now: now)
            let closed = error.code == "ITEM_CLOSED"
            try tx.raiseAttention(AttentionEntry(
                reservationId: entry.reservationId, code: closed ? DomainError.Code.itemClosed.rawValue : DomainError.Code.hallRejected.rawValue,
                field: error.code, target: entry.target.rawValue,
                messageZh: closed ? "\(entry.target.chineseName)办件已办结，预约变更未能同步，请人工核对" : "\(entry.target.chineseName)系统拒收该预约：\(error.message)。请核对后在门户更正",
                messageEn: closed ? "The \(entry.target) item is already closed; the reservation's change was not applied. Check it by hand." : "The \(entry.target) hall refused the reservation: \(error.message). Check the data and have it corrected on the portal.",
                version: entry.revision, raisedAt: now))
        }
    }
}

