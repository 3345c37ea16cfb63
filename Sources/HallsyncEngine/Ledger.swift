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
    /// Told the peer of every send the planning enqueues (the delivery wakes that peer's workers).
    var planned: PlannedTargets?

    enum IngestOutcome: Equatable {
        /// The same or an older version was already stored.
        case stale
        /// The id is not of the contract's form: kept on the attention list only, nothing else changed.
        case rejected
        case stored(disposition: StoredReservation.Disposition, sendsEnqueued: Int, deadlineUsedFallback: Bool)
    }

    func ingest(_ portal: PortalReservation, in tx: StoreTransaction) throws -> IngestOutcome {
        guard WireIdentifier.isValid(portal.reservationId) else {
            // A NUL would cut the id short in SQL and merge this record into another one's.
            let error = ReservationNormalizer.invalidId
            try tx.raiseAttention(AttentionEntry(reservationId: WireIdentifier.printable(portal.reservationId), code: error.code.rawValue,
                                                 field: error.field, messageZh: error.zh, messageEn: error.en,
                                                 version: portal.version, raisedAt: now))
            return .rejected
        }
        if let stored = try tx.storedVersion(of: portal.reservationId), stored >= portal.version { return .stale }
        return try process(portal, in: tx)
    }

    /// Normalises a version with the rules in use, stores it and plans what it needs: a new
    /// version, or the stored one again when a person asked to retry.
    func process(_ portal: PortalReservation, in tx: StoreTransaction) throws -> IngestOutcome {
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
        let contentJSON = try tx.save(stored, now: now)
        try tx.recordVersion(stored, now: now)
        // A push whose answer was lost may have been applied: the portal's record says so.
        let previous = try tx.lifecycle(of: portal.reservationId) ?? Lifecycle()
        var lifecycle = previous
        lifecycle.learn(portalProcessStatus: portal.processStatus)
        if lifecycle != previous { try tx.setLifecycle(lifecycle, of: portal.reservationId) }
        // A new version may fix what was wrong: close what no longer applies, let refused copies try again.
        try tx.resolveAttention(reservationId: portal.reservationId, keeping: Set(raise.map(\.code.rawValue)), now: now)
        try tx.unblockCopies(reservationId: portal.reservationId, now: now)
        for error in raise {
            try tx.raiseAttention(AttentionEntry(reservationId: portal.reservationId, code: error.code.rawValue, field: error.field,
                                                 messageZh: error.zh, messageEn: error.en, version: portal.version, raisedAt: now))
        }
        // Planned from the values in hand: the version is not read back and decoded again.
        let state = PlanningState(disposition: stored.disposition, version: stored.version, lifecycle: lifecycle,
                                  normalized: stored.normalized, contentJSON: contentJSON, route: stored.route)
        return .stored(disposition: stored.disposition, sendsEnqueued: try plan(portal.reservationId, state: state, in: tx),
                       deadlineUsedFallback: fallback)
    }

    /// A person asked for it on the web page: the stored version goes through the pipeline again
    /// with the rules in use now (a catalogue or configuration fixed since), sends that were
    /// refused for good are forgotten, and what the planner asks for is sent — once, under the
    /// same keys. Returns false when there is nothing to retry (no such record, or its personal
    /// data was erased).
    @discardableResult
    func retry(_ reservationId: String, in tx: StoreTransaction) throws -> Bool {
        guard let stored = try tx.reservation(id: reservationId), try !tx.isPurged(reservationId) else { return false }
        _ = try tx.forgetRefusedSends(of: reservationId)
        _ = try process(stored.portal, in: tx)
        return true
    }

    /// Carries out one request a clerk made on the web page.
    func apply(_ request: ClerkRequest, in tx: StoreTransaction) throws {
        switch request.kind {
        case .resolve:
            guard let id = request.attentionId else { return }
            try tx.resolveAttention(id: id, of: request.reservationId, by: request.account, note: request.note, now: now)
        case .retry:
            try retry(request.reservationId, in: tx)
        }
    }

    /// A record of a page that could not be decoded at all.
    func recordUnreadable(reservationId: String?, reason: String, in tx: StoreTransaction) throws {
        try tx.raiseAttention(AttentionEntry(reservationId: reservationId.map(WireIdentifier.printable) ?? "(unknown)", code: DomainError.Code.unreadableRecord.rawValue, field: "",
                                             messageZh: "门户记录无法解析，请联系门户运维核查该预约：\(reason)",
                                             messageEn: "\(reason); ask the portal's operators to check this reservation.",
                                             version: 0, raisedAt: now))
    }

    /// Enqueues the sends the planner asks for and records its findings; returns how many sends.
    @discardableResult
    func plan(_ reservationId: String, in tx: StoreTransaction) throws -> Int {
        guard let state = try tx.planningState(of: reservationId) else { return 0 }
        return try plan(reservationId, state: state, in: tx)
    }

    @discardableResult
    func plan(_ reservationId: String, state: PlanningState, in tx: StoreTransaction) throws -> Int {
        guard let normalized = state.normalized else { return 0 }
        let (copies, pushPending) = try tx.copiesAndPushPending(of: reservationId, olderThan: normalized.version,
                                                                current: state.contentJSON.map { ($0, normalized.content) })
        let plan = DeliveryPlanner.plan(for: normalized, copies: copies, lifecycle: state.lifecycle, pushPending: pushPending)
        for finding in plan.findings { try raise(finding, reservationId: reservationId, version: normalized.version, in: tx) }
        var count = 0
        // The content a create or an update sends is the reservation's own: its stored JSON.
        let contentJSON = try state.contentJSON ?? String(decoding: StoreTransaction.encoder.encode(normalized.content), as: UTF8.self)
        for send in plan.sends {
            let encoder = StoreTransaction.encoder
            let entry: OutboxEntry
            switch send {
            case .create(let target, let body):
                entry = OutboxEntry(reservationId: reservationId, target: SendTarget(target), kind: .create,
                                    idempotencyKey: IdempotencyKey.create(reservationId: reservationId, target: target, version: body.revision),
                                    body: try encoder.encode(body), revision: body.revision, nextAttemptAt: now, contentJSON: contentJSON)
            case .update(let target, let itemNo, let body):
                entry = OutboxEntry(reservationId: reservationId, target: SendTarget(target), kind: .update, itemNo: itemNo,
                                    idempotencyKey: IdempotencyKey.update(reservationId: reservationId, target: target, version: body.revision),
                                    body: try encoder.encode(body), revision: body.revision, nextAttemptAt: now, contentJSON: contentJSON)
            case .act(let target, let itemNo, let action, let origin, let name):
                let body = HallClient.ActionBody(action: action, origin: origin, operator: name, at: BeijingTime(Date(timeIntervalSince1970: now)).description)
                entry = OutboxEntry(reservationId: reservationId, target: SendTarget(target), kind: .action, itemNo: itemNo,
                                    idempotencyKey: IdempotencyKey.action(reservationId: reservationId, target: target, action: action),
                                    body: try encoder.encode(body), revision: normalized.version, nextAttemptAt: now, action: action, origin: origin)
            case .push(let status, let hallItemNo, let name, let changedAt):
                let body = PortalClient.StatusPush(processStatus: status.rawValue, hallItemNo: hallItemNo, operator_: name,
                                                   changedAt: changedAt ?? BeijingTime(Date(timeIntervalSince1970: now)).description, remark: "")
                entry = OutboxEntry(reservationId: reservationId, target: .portal, kind: .push,
                                    idempotencyKey: IdempotencyKey.push(reservationId: reservationId, status: status),
                                    body: try encoder.encode(body), revision: normalized.version, nextAttemptAt: now, pushStatus: status)
            }
            if try tx.enqueue(entry, now: now) {
                count += 1
                planned?.insert(entry.target)
            }
        }
        return count
    }

    func raise(_ finding: LifecycleFinding, reservationId: String, version: Int, in tx: StoreTransaction) throws {
        let (zh, en) = finding.messages
        try tx.raiseAttention(AttentionEntry(reservationId: reservationId, code: finding.code.rawValue, field: "",
                                             target: finding.target?.rawValue ?? "", messageZh: zh, messageEn: en,
                                             version: version, raisedAt: now))
    }

    /// Applies a status a hall reported for one of our copies (feed, action answer, lookup).
    /// Returns false when the change is not about a copy of ours, or changes nothing.
    @discardableResult
    func applyStatus(_ change: HallStatusChange, reservationId: String, in tx: StoreTransaction) throws -> Bool {
        guard let stored = try tx.planningState(of: reservationId), stored.disposition == .deliverable,
              stored.route?.targets.contains(change.target) == true else { return false }
        // The copies' content is not looked at here (olderThan: 0 decodes none).
        var copy = try tx.copies(of: reservationId, olderThan: 0)[change.target] ?? HallCopy(target: change.target)
        // Another item carrying our reservation's id (made by someone else): not ours to follow.
        if let known = copy.itemNo, known != change.itemNo { return false }
        let before = copy
        copy.itemNo = change.itemNo
        var lifecycle = stored.lifecycle
        let findings = change.apply(to: &copy, lifecycle: &lifecycle)
        guard copy != before || lifecycle != stored.lifecycle || !findings.isEmpty else { return false }
        try tx.recordStatus(reservationId: reservationId, copy: copy, at: change.at.isEmpty ? nil : change.at, now: now)
        if lifecycle != stored.lifecycle { try tx.setLifecycle(lifecycle, of: reservationId) }
        for finding in findings { try raise(finding, reservationId: reservationId, version: stored.version, in: tx) }
        var state = stored
        state.lifecycle = lifecycle
        try plan(reservationId, state: state, in: tx)
        return true
    }

    /// What one attempt of a send came to.
    enum SendOutcome {
        /// The hall holds the item (created now, replayed under the same key, or found by `externalId`).
        case itemPresent(itemNo: String)
        case updated
        /// The hall already holds a newer revision: nothing to do.
        case superseded
        /// The item is closed with this status: by our action (`origin` ours), or already by someone
        /// (`origin` nil: a 409 `ITEM_CLOSED` to an action or an update).
        case closed(HallItemStatus, origin: ActionOrigin?)
        /// The portal took the status.
        case pushed(PortalProcessStatus)
        case retry(TransportError, delay: Double)
        case refused(TransportError)
    }

    /// The content a create or an update sent: its typed column; for a send queued before the
    /// column existed, read from its body.
    static func contentJSON(of entry: OutboxEntry) -> String? {
        if let json = entry.contentJSON { return json }
        guard let content = try? JSONDecoder().decode(HallItemContent.self, from: entry.body),
              let data = try? StoreTransaction.encoder.encode(content) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    func apply(_ outcome: SendOutcome, to entry: OutboxEntry, in tx: StoreTransaction) throws {
        guard let id = entry.id else { return }
        switch outcome {
        case .itemPresent(let itemNo):
            guard let hall = entry.target.hall else { return }
            try tx.recordCopy(reservationId: entry.reservationId, target: hall, itemNo: itemNo,
                              revision: entry.revision, contentJSON: Self.contentJSON(of: entry), now: now)
            try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            try plan(entry.reservationId, in: tx)
        case .updated, .superseded:
            if let hall = entry.target.hall, let itemNo = entry.itemNo {
                try tx.recordCopy(reservationId: entry.reservationId, target: hall, itemNo: itemNo,
                                  revision: entry.revision, contentJSON: Self.contentJSON(of: entry), now: now)
            }
            try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            try plan(entry.reservationId, in: tx)
        case .closed(let status, let origin):
            // An action that closed (or found closed) its item is done; an update that found it closed is not.
            if entry.kind == .action {
                try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            } else {
                try tx.settle(outboxId: id, state: .failed, error: "ITEM_CLOSED: the item was \(status) before the change reached it", now: now)
            }
            if let hall = entry.target.hall, let itemNo = entry.itemNo {
                let change = HallStatusChange(target: hall, itemNo: itemNo, status: status, origin: origin, operator: "",
                                              at: BeijingTime(Date(timeIntervalSince1970: now)).description)
                if try !applyStatus(change, reservationId: entry.reservationId, in: tx) { try plan(entry.reservationId, in: tx) }
            }
        case .pushed(let status):
            try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            if status == .cancelAcknowledged {
                // A RECEIVED refused because the applicant had just cancelled is settled by the acknowledgement.
                try tx.resolveAttention(reservationId: entry.reservationId, code: DomainError.Code.portalRefused.rawValue,
                                        field: PortalProcessStatus.received.rawValue, now: now)
            }
            // The state read once: the status the portal now holds, then what it allows next.
            if var state = try tx.planningState(of: entry.reservationId) {
                state.lifecycle.portalStatus = status
                try tx.setLifecycle(state.lifecycle, of: entry.reservationId)
                try plan(entry.reservationId, state: state, in: tx)
            }
        case .retry(let error, let delay):
            try tx.reschedule(outboxId: id, at: now + delay, error: error.description)
        case .refused(let error):
            try tx.settle(outboxId: id, state: .failed, error: error.description, now: now)
            guard let hall = entry.target.hall else {
                let status = entry.pushStatus?.rawValue ?? ""
                // A push retried after the portal forgot its X-Request-Id is refused although it was
                // applied; the portal's record already shows it.
                if error.code == "PORTAL_4090", let held = try tx.lifecycle(of: entry.reservationId)?.portalStatus,
                   held.rawValue == status {
                    try tx.settle(outboxId: id, state: .done, error: nil, now: now)
                    return
                }
                try tx.raiseAttention(AttentionEntry(
                    reservationId: entry.reservationId, code: DomainError.Code.portalRefused.rawValue, field: status, target: "portal",
                    messageZh: "门户拒绝了状态推送（\(status)）：\(error.message)。请在门户核对该预约的状态",
                    messageEn: "The portal refused the status \(status): \(error.message). Check the reservation's status on the portal.",
                    version: entry.revision, raisedAt: now))
                // What the portal holds may allow another status (a RECEIVED that crossed a cancellation
                // leaves the acknowledgement to send).
                try plan(entry.reservationId, in: tx)
                return
            }
            try tx.blockCopy(reservationId: entry.reservationId, target: hall, now: now)
            try tx.raiseAttention(AttentionEntry(
                reservationId: entry.reservationId, code: DomainError.Code.hallRejected.rawValue, field: error.code, target: hall.rawValue,
                messageZh: "\(hall.chineseName)系统拒收：\(error.message)。请核对后在门户更正",
                messageEn: "The \(hall) hall refused the request: \(error.message). Check the data and have it corrected on the portal.",
                version: entry.revision, raisedAt: now))
            try plan(entry.reservationId, in: tx)
        }
    }
}
