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
    /// How long a send waits after a peer's answer contradicted hallsync's records.
    var retryPolicy = RetryPolicy(base: 1, cap: 300)

    enum IngestOutcome: Equatable {
        /// The same or an older version was already stored.
        case stale
        /// The version contradicts the one stored (other content under the same version, a lower
        /// version newer than the stored one): nothing changed, the attention list says so.
        case contradicted
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
        if let stored = try tx.storedHead(of: portal.reservationId), stored.version >= portal.version {
            let held = PortalVersionCheck.Held(version: stored.version, updateTime: stored.updateTime, content: stored.purged ? nil : stored.portalJSON)
            guard let contradiction = try PortalVersionCheck.contradiction(of: portal, content: try StoreTransaction.canonicalJSON(portal), stored: held) else {
                return .stale
            }
            try tx.raiseAttention(AttentionEntry(reservationId: portal.reservationId, code: DomainError.Code.versionConflict.rawValue,
                                                 field: "version", target: SendTarget.portal.rawValue,
                                                 messageZh: contradiction.zh, messageEn: contradiction.en, version: stored.version, raisedAt: now))
            return .contradicted
        }
        return try process(portal, in: tx)
    }

    /// Normalises a version with the rules in use, stores it and plans what it needs: a new
    /// version, or the stored one again when a person asked to retry.
    func process(_ portal: PortalReservation, identityConfirmed: Bool = false, in tx: StoreTransaction) throws -> IngestOutcome {
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
        if stored.disposition == .phoneVerifiedOnly,
           let target = try tx.copies(of: portal.reservationId).values.filter({ $0.isOpen }).map(\.target).min() {
            // Items were made for it as a post-upgrade reservation; they stay, and a person decides.
            raise.append(DomainError(code: .modeChangedAfterDelivery, field: "handleMode",
                                     zh: "该预约已送入\(target.chineseName)，门户现在却将其标为升级前的电话核实预约；大厅办件未作改动，请与门户核实并人工处理",
                                     en: "The reservation is in the \(target) hall, but the portal now lists it as a pre-upgrade phone reservation; the hall items are unchanged. Check with the portal and handle it by hand."))
        }
        let delivered = try tx.save(stored, now: now)
        try tx.recordVersion(stored, now: now)
        let previous = try tx.lifecycle(of: portal.reservationId) ?? Lifecycle()
        var lifecycle = previous
        if let unexplained = try learn(portal, into: &lifecycle, in: tx) { raise.append(unexplained) }
        if lifecycle != previous { try tx.setLifecycle(lifecycle, of: portal.reservationId) }
        // A new version may fix what was wrong: close what no longer applies, let refused copies
        // try again (the plan does that with its read of the copies, when there is one to unblock).
        try tx.resolveAttention(reservationId: portal.reservationId, keeping: Set(raise.map(\.code.rawValue)), now: now)
        if stored.normalized == nil { try tx.unblockCopies(reservationId: portal.reservationId, now: now) }
        for error in raise {
            try tx.raiseAttention(AttentionEntry(reservationId: portal.reservationId, code: error.code.rawValue, field: error.field,
                                                 messageZh: error.zh, messageEn: error.en, version: portal.version, raisedAt: now))
        }
        // Planned from the values in hand: the version is not read back and decoded again.
        let state = PlanningState(disposition: stored.disposition, version: stored.version, lifecycle: lifecycle,
                                  normalized: stored.normalized, delivered: delivered, route: stored.route)
        return .stored(disposition: stored.disposition,
                       sendsEnqueued: try plan(portal.reservationId, state: state, identityConfirmed: identityConfirmed, unblocking: true, in: tx),
                       deadlineUsedFallback: fallback)
    }

    /// Takes what the portal's `processStatus` says hallsync does not hold yet — a push whose
    /// answer was lost may have been applied — but only a status hallsync did plan to push: any
    /// other is not its doing (a false status told to the applicant), changes nothing, and is
    /// returned for the attention list. After a restore, statuses pushed after the backup are not
    /// in the outbox, so they are taken until the portal was read past the restore.
    func learn(_ portal: PortalReservation, into lifecycle: inout Lifecycle, in tx: StoreTransaction) throws -> DomainError? {
        let shown: String
        switch lifecycle.news(inPortalProcessStatus: portal.processStatus) {
        case .none:
            return nil
        case .ahead(let status):
            if try tx.plannedPush(reservationId: portal.reservationId, status: status) || tx.cursor(.restoreLookUpThrough) != nil {
                lifecycle.portalStatus = status
                return nil
            }
            shown = status.rawValue
        case .contradicting(let status):
            shown = status.rawValue
        case .unknown(let raw):
            shown = WireIdentifier.printable(String(raw.prefix(40)))
        }
        let held = lifecycle.portalStatus?.rawValue ?? "（无）"
        return DomainError(code: .portalStatusUnexplained, field: "processStatus",
                           zh: "门户显示该预约的办理状态为 \(shown)，但本系统从未推送该状态（本系统推送的为 \(held)）；申请人可能看到错误的状态，请与门户核实",
                           en: "The portal shows the processing status \(shown), which hallsync never pushed (it pushed \(held)); the applicant may see a wrong status. Check with the portal's operators.")
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
        // A person looked at it: a changed identity or route they retry is confirmed.
        _ = try process(stored.portal, identityConfirmed: true, in: tx)
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

    /// - Parameter unblocking: a new version came: copies a hall refused for good may try again
    ///   (unblocked here, where the copies are read, and only when one is blocked).
    @discardableResult
    func plan(_ reservationId: String, state: PlanningState, identityConfirmed: Bool = false, unblocking: Bool = false,
              in tx: StoreTransaction) throws -> Int {
        guard let normalized = state.normalized else { return 0 }
        var (copies, pushPending) = try tx.copiesAndPushPending(of: reservationId)
        if unblocking, copies.values.contains(where: \.isBlocked) {
            try tx.unblockCopies(reservationId: reservationId, now: now)
            for target in copies.keys { copies[target]?.isBlocked = false }
        }
        // The content's digests, taken once: what the copies are compared with and what a send records.
        let delivered = state.delivered ?? DeliveredContent(normalized.content)
        let plan = DeliveryPlanner.plan(for: normalized, copies: copies, lifecycle: state.lifecycle, pushPending: pushPending,
                                        identityConfirmed: identityConfirmed, delivered: delivered)
        for finding in plan.findings { try raise(finding, reservationId: reservationId, version: normalized.version, in: tx) }
        // A condition that no longer holds (the portal reverted a change, a person confirmed it) is closed.
        let cleared = DomainError.Code.conditions.subtracting(plan.findings.map(\.code))
        try tx.resolveAttention(reservationId: reservationId, codes: Set(cleared.map(\.rawValue)), now: now)
        var count = 0
        for send in plan.sends {
            let encoder = StoreTransaction.encoder
            let entry: OutboxEntry
            switch send {
            case .create(let target, let body):
                // After an item number turned out to be another's: a key of its own, and a lookup first.
                let generation = copies[target]?.keyGeneration ?? 0
                entry = OutboxEntry(reservationId: reservationId, target: SendTarget(target), kind: .create,
                                    idempotencyKey: Self.key(IdempotencyKey.create(reservationId: reservationId, target: target, version: body.revision), generation),
                                    body: try encoder.encode(body), revision: body.revision, firstAttemptAt: generation > 0 ? 0 : nil,
                                    nextAttemptAt: now, delivered: delivered)
            case .update(let target, let itemNo, let body):
                // An item number only a create's answer gave is looked up before it is changed (firstAttemptAt 0).
                let copy = copies[target]
                entry = OutboxEntry(reservationId: reservationId, target: SendTarget(target), kind: .update, itemNo: itemNo,
                                    idempotencyKey: Self.key(IdempotencyKey.update(reservationId: reservationId, target: target, version: body.revision), copy?.keyGeneration ?? 0),
                                    body: try encoder.encode(body), revision: body.revision, firstAttemptAt: copy?.verified == true ? nil : 0,
                                    nextAttemptAt: now, delivered: delivered)
            case .act(let target, let itemNo, let action, let origin, let name):
                let copy = copies[target]
                let body = HallClient.ActionBody(action: action, origin: origin, operator: name, at: BeijingTime(Date(timeIntervalSince1970: now)).description)
                entry = OutboxEntry(reservationId: reservationId, target: SendTarget(target), kind: .action, itemNo: itemNo,
                                    idempotencyKey: Self.key(IdempotencyKey.action(reservationId: reservationId, target: target, action: action), copy?.keyGeneration ?? 0),
                                    body: try encoder.encode(body), revision: normalized.version, firstAttemptAt: copy?.verified == true ? nil : 0,
                                    nextAttemptAt: now, action: action, origin: origin)
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

    /// A copy's key after `generation` item numbers turned out to be another's.
    static func key(_ key: String, _ generation: Int) -> String {
        generation == 0 ? key : IdempotencyKey.afterConflict(key, attempt: generation)
    }

    func raise(_ finding: LifecycleFinding, reservationId: String, version: Int, in tx: StoreTransaction) throws {
        let (zh, en) = finding.messages
        try tx.raiseAttention(AttentionEntry(reservationId: reservationId, code: finding.code.rawValue, field: finding.field,
                                             target: finding.target?.rawValue ?? "", messageZh: zh, messageEn: en,
                                             version: version, raisedAt: now))
    }

    /// What a hall's report about an item did.
    enum HallReportEffect: Equatable {
        /// The item carries an id hallsync does not hold: not its business (an item made at the counter).
        case notOurs
        /// Nothing new.
        case unchanged
        /// A copy's status or the reservation's outcome changed, or an item not ours was noted.
        case applied
        /// The report contradicts hallsync's records: nothing changed, the attention list and the
        /// peer's endpoint say so.
        case contradiction(String)
    }

    /// Applies what a hall reported about one item (its change feed, a lookup): found by its item
    /// number — a status belongs to its item, not to the reservation id the report names. An item of
    /// ours reported under another reservation's id changes nothing. An item with the id of a
    /// reservation hallsync holds that is not that reservation's copy is noted: it may turn out to
    /// be ours (a create whose answer was lost), else it is shown.
    @discardableResult
    func applyHallReport(_ change: HallStatusChange, externalId: String, source: HallItemSighting.Source,
                         in tx: StoreTransaction) throws -> HallReportEffect {
        if let owner = try tx.copyOwner(target: change.target, itemNo: change.itemNo) {
            guard owner == externalId else {
                let zh = "\(change.target.chineseName)系统把本预约的办件 \(change.itemNo) 报在另一预约编号 \(externalId) 名下（状态\(change.status.chineseName)）；本系统未采用。请在\(change.target.chineseName)中核对该办件属于哪个预约"
                let en = "The \(change.target) hall reported this reservation's item \(change.itemNo) under another reservation id, \(externalId) (status \(change.status)); hallsync did not take it. Check in the \(change.target) hall which reservation the item belongs to."
                try tx.raiseAttention(AttentionEntry(reservationId: owner, code: DomainError.Code.itemStatusContradiction.rawValue, field: change.itemNo,
                                                     target: change.target.rawValue, messageZh: zh, messageEn: en, version: 0, raisedAt: now))
                // What the hall says of the reservation it names is not believed either, but shown
                // there: an item listed under its id (a counter's item a create's answer named, or a
                // lie about ours), with its status — an outcome on it reaches a person.
                if try tx.storedVersion(of: externalId) != nil {
                    try recordSighting(change, externalId: externalId, source: source, in: tx)
                }
                return .contradiction("the \(change.target) hall reported item \(change.itemNo), which is reservation \(owner)'s, under the id \(externalId); nothing was changed, and the reservation is on the attention list — report it to the hall's operators")
            }
            // The hall shows the item under the reservation's id: its number is the reservation's.
            try tx.markVerified(target: change.target, itemNo: change.itemNo)
            if source == .lookup {
                try tx.resolveAttention(reservationId: owner, code: DomainError.Code.hallItemMissing.rawValue, target: change.target.rawValue, now: now)
            }
            return try applyToCopy(change, reservationId: owner, in: tx) ? .applied : .unchanged
        }
        guard try tx.storedVersion(of: externalId) != nil else { return .notOurs }
        try recordSighting(change, externalId: externalId, source: source, in: tx)
        return .applied
    }

    /// Notes an item the hall lists under `externalId` that is not that reservation's copy, and
    /// looks at its sightings again (shown, or waiting for a create that may claim it).
    func recordSighting(_ change: HallStatusChange, externalId: String, source: HallItemSighting.Source, in tx: StoreTransaction) throws {
        try tx.recordSighting(HallItemSighting(target: change.target, itemNo: change.itemNo, reservationId: externalId,
                                               status: change.status.rawValue, origin: change.origin?.rawValue,
                                               operator: change.operator.isEmpty ? nil : change.operator,
                                               at: change.at.isEmpty ? nil : change.at, source: source), now: now)
        try reviewSightings(of: externalId, in: change.target, tx: tx)
    }

    /// A status the contract does not define, reported for an item: shown when the item is ours.
    func reportUnknownStatus(_ raw: String, target: HallTarget, itemNo: String, in tx: StoreTransaction) throws -> Bool {
        guard let owner = try tx.copyOwner(target: target, itemNo: itemNo) else { return false }
        let status = WireIdentifier.printable(String(raw.prefix(40)))
        try tx.raiseAttention(AttentionEntry(
            reservationId: owner, code: DomainError.Code.itemStatusContradiction.rawValue, field: itemNo, target: target.rawValue,
            messageZh: "\(target.chineseName)系统报告办件 \(itemNo) 的状态为无法识别的“\(status)”；本系统未采用，请在\(target.chineseName)中核对该办件",
            messageEn: "The \(target) hall reported item \(itemNo) with the status \(status), which the contract does not define; hallsync did not take it. Check the item in the \(target) hall.",
            version: 0, raisedAt: now))
        return true
    }

    /// A lookup by the reservation's id did not list the item hallsync made: the hall may have lost
    /// it (restored from a backup). Shown, nothing re-created on the word of one answer.
    func reportMissingItem(_ itemNo: String, of reservationId: String, target: HallTarget, in tx: StoreTransaction) throws {
        // Known only from a create's answer, never seen under the reservation's id: it was not its item.
        if let copy = try tx.copies(of: reservationId)[target], copy.itemNo == itemNo, !copy.verified {
            try unclaim(itemNo, of: reservationId, target: target, in: tx)
            return
        }
        try tx.raiseAttention(AttentionEntry(
            reservationId: reservationId, code: DomainError.Code.hallItemMissing.rawValue, field: itemNo, target: target.rawValue,
            messageZh: "按预约编号在\(target.chineseName)系统中查不到本系统创建的办件 \(itemNo)（该系统可能从备份恢复过）；请在\(target.chineseName)中核对，必要时手工登记该预约",
            messageEn: "A lookup by the reservation's id in the \(target) hall no longer lists item \(itemNo), which hallsync made (the hall may have been restored from a backup). Check the \(target) hall and register the reservation by hand if it is gone.",
            version: 0, raisedAt: now))
    }

    /// Applies a status to the copy that is the item `change.itemNo`. Returns false when it changes nothing.
    @discardableResult
    func applyToCopy(_ change: HallStatusChange, reservationId: String, planning: Bool = true, in tx: StoreTransaction) throws -> Bool {
        guard let stored = try tx.planningState(of: reservationId) else { return false }
        var copy = try tx.copies(of: reservationId)[change.target] ?? HallCopy(target: change.target)
        guard copy.itemNo == change.itemNo else { return false }
        let before = copy
        var lifecycle = stored.lifecycle
        let findings = change.apply(to: &copy, lifecycle: &lifecycle)
        guard copy != before || lifecycle != stored.lifecycle || !findings.isEmpty else { return false }
        if copy != before { try tx.recordStatus(reservationId: reservationId, copy: copy, at: change.at.isEmpty ? nil : change.at, now: now) }
        if lifecycle != stored.lifecycle { try tx.setLifecycle(lifecycle, of: reservationId) }
        for finding in findings { try raise(finding, reservationId: reservationId, version: stored.version, in: tx) }
        if planning {
            var state = stored
            state.lifecycle = lifecycle
            try plan(reservationId, state: state, in: tx)
        }
        return true
    }

    /// Looks again at the items seen with the reservation's id in `target` that were not its copy:
    /// one that turned out to be its copy (the create's answer named it) gives the copy its status;
    /// the others are shown once the copy has its own item, or once no create is on its way that
    /// could claim them. Returns whether a copy's status changed (the caller plans).
    @discardableResult
    func reviewSightings(of reservationId: String, in target: HallTarget, tx: StoreTransaction) throws -> Bool {
        let sightings = try tx.sightings(of: reservationId, in: target)
        guard !sightings.isEmpty else { return false }
        let copy = try tx.copies(of: reservationId)[target]
        var changed = false
        for sighting in sightings {
            if let itemNo = copy?.itemNo, itemNo == sighting.itemNo {
                try tx.removeSighting(target: target, itemNo: itemNo)
                try tx.markVerified(target: target, itemNo: itemNo)
                if let status = HallItemStatus(rawValue: sighting.status) {
                    let change = HallStatusChange(target: target, itemNo: itemNo, status: status,
                                                  origin: sighting.origin.flatMap(ActionOrigin.init(rawValue:)),
                                                  operator: sighting.operator ?? "", at: sighting.at ?? "")
                    changed = try applyToCopy(change, reservationId: reservationId, planning: false, in: tx) || changed
                }
                continue
            }
            if copy?.itemNo == nil, try tx.hasPendingCreate(reservationId: reservationId, target: target) { continue }
            let status = HallItemStatus(rawValue: sighting.status)
            let statusZh = status.map { $0 == .open ? "待办" : "已\($0.chineseName)" } ?? WireIdentifier.printable(String(sighting.status.prefix(40)))
            let by = [sighting.operator, sighting.at].compactMap { $0 }.joined(separator: "，")
            let ours = copy?.itemNo.map { "本系统创建的办件为 \($0)" } ?? "本系统未在该系统中创建办件"
            try tx.raiseAttention(AttentionEntry(
                reservationId: reservationId, code: DomainError.Code.otherHallItem.rawValue, field: sighting.itemNo, target: target.rawValue,
                messageZh: "\(target.chineseName)系统中另有带本预约编号的办件 \(sighting.itemNo)（\(statusZh)\(by.isEmpty ? "" : "，\(by)")），不是本系统创建的；\(ours)。工作人员会看到两次该预约，其上的办理结果也未同步：请核对，必要时手工关闭多余的办件并同步结果",
                messageEn: "The \(target) hall holds another item with this reservation's id, \(sighting.itemNo) (\(sighting.status)\(by.isEmpty ? "" : ", \(by)")), which hallsync did not make; \(copy?.itemNo.map { "hallsync's item is \($0)" } ?? "hallsync has no item there"). Staff see the reservation twice and an outcome on that item is not mirrored: check both, close the extra one by hand and carry its outcome over.",
                version: 0, raisedAt: now))
        }
        return changed
    }

    /// What one attempt of a send came to (``SendSettlement/Outcome``), its failures the transport's.
    typealias SendOutcome = SendSettlement<TransportError>.Outcome

    /// An answer that contradicts hallsync's records: the send is kept, the peer is at fault.
    struct PeerContradiction: Error {
        var target: SendTarget
        var error: TransportError
    }

    /// Records what one attempt came to; returns the peer's contradiction when its answer could not
    /// be taken (the send stays pending and the endpoint reports it).
    @discardableResult
    func apply(_ outcome: SendOutcome, to entry: OutboxEntry, in tx: StoreTransaction) throws -> PeerContradiction? {
        guard let id = entry.id else { return nil }
        switch outcome {
        case .itemPresent(let itemNo, let found):
            guard let hall = entry.target.hall else { return nil }
            // One hall item belongs to one reservation: a number another reservation's copy holds is
            // not this one's item, whatever the hall says.
            if let owner = try tx.copyOwner(target: hall, itemNo: itemNo), owner != entry.reservationId {
                return try itemNumberConflict(entry, hall: hall, itemNo: itemNo, owner: owner, in: tx)
            }
            for sighting in found where sighting.itemNo != itemNo { try tx.recordSighting(sighting, now: now) }
            // Found by a lookup under the reservation's id: verified; named by a create's answer: not yet.
            let seen = found.first { $0.itemNo == itemNo }
            try tx.recordCopy(reservationId: entry.reservationId, target: hall, itemNo: itemNo,
                              revision: entry.revision, delivered: entry.delivered, verified: seen != nil, now: now)
            if let seen, let status = HallItemStatus(rawValue: seen.status), status.isClosed {
                try applyToCopy(HallStatusChange(target: hall, itemNo: itemNo, status: status, origin: nil, operator: "", at: ""),
                                reservationId: entry.reservationId, planning: false, in: tx)
            }
            try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            try reviewSightings(of: entry.reservationId, in: hall, tx: tx)
            try plan(entry.reservationId, in: tx)
            // A conflict over this hall's item is over. Closed after the plan, whose read of the
            // reservation tells whether anything is open at all (only itemNumberConflict raises it).
            try tx.resolveAttention(reservationId: entry.reservationId, code: DomainError.Code.hallItemConflict.rawValue,
                                    target: hall.rawValue, now: now)
        case .notOurs(let itemNo, let found):
            guard let hall = entry.target.hall else { return nil }
            try tx.settle(outboxId: id, state: .failed, error: "HALL_ITEM_CONFLICT: a lookup by the reservation's id does not list item \(itemNo); not sent", now: now)
            for sighting in found { try tx.recordSighting(sighting, now: now) }
            try unclaim(itemNo, of: entry.reservationId, target: hall, in: tx)
            return PeerContradiction(target: entry.target, error: TransportError(
                code: .itemNumberConflict,
                message: "the \(hall) hall gave item \(itemNo) as reservation \(entry.reservationId)'s, but a lookup by its id does not list it; the \(entry.kind.rawValue.lowercased()) was not sent, and the reservation gets an item of its own — report it to the hall's operators",
                isRetryable: true))
        case .updated, .superseded:
            if let hall = entry.target.hall, let itemNo = entry.itemNo {
                if entry.firstAttemptAt == 0 { try tx.markVerified(target: hall, itemNo: itemNo) }
                try tx.recordCopy(reservationId: entry.reservationId, target: hall, itemNo: itemNo,
                                  revision: entry.revision, delivered: entry.delivered, now: now)
            }
            try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            try plan(entry.reservationId, in: tx)
        case .closed(let status, let origin):
            if entry.firstAttemptAt == 0, let hall = entry.target.hall, let itemNo = entry.itemNo { try tx.markVerified(target: hall, itemNo: itemNo) }
            // An action that closed (or found closed) its item is done; an update that found it closed is not.
            if entry.kind == .action {
                try tx.settle(outboxId: id, state: .done, error: nil, now: now)
            } else {
                try tx.settle(outboxId: id, state: .failed, error: "ITEM_CLOSED: the item was \(status) before the change reached it", now: now)
            }
            if let hall = entry.target.hall, let itemNo = entry.itemNo {
                let change = HallStatusChange(target: hall, itemNo: itemNo, status: status, origin: origin, operator: "",
                                              at: BeijingTime(Date(timeIntervalSince1970: now)).description)
                if try !applyToCopy(change, reservationId: entry.reservationId, in: tx) { try plan(entry.reservationId, in: tx) }
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
                if error.code == .portalTransitionRefused, let held = try tx.lifecycle(of: entry.reservationId)?.portalStatus,
                   held.rawValue == status {
                    try tx.settle(outboxId: id, state: .done, error: nil, now: now)
                    return nil
                }
                try tx.raiseAttention(AttentionEntry(
                    reservationId: entry.reservationId, code: DomainError.Code.portalRefused.rawValue, field: status, target: "portal",
                    messageZh: "门户拒绝了状态推送（\(status)）：\(error.message)。请在门户核对该预约的状态",
                    messageEn: "The portal refused the status \(status): \(error.message). Check the reservation's status on the portal.",
                    version: entry.revision, raisedAt: now))
                // What the portal holds may allow another status (a RECEIVED that crossed a cancellation
                // leaves the acknowledgement to send).
                try plan(entry.reservationId, in: tx)
                return nil
            }
            try tx.blockCopy(reservationId: entry.reservationId, target: hall, now: now)
            // No create is on its way any more: items seen with the id are not ours to wait for.
            if entry.kind == .create { try reviewSightings(of: entry.reservationId, in: hall, tx: tx) }
            try tx.raiseAttention(AttentionEntry(
                reservationId: entry.reservationId, code: DomainError.Code.hallRejected.rawValue, field: error.code.rawValue, target: hall.rawValue,
                messageZh: "\(hall.chineseName)系统拒收：\(error.message)。请核对后在门户更正",
                messageEn: "The \(hall) hall refused the request: \(error.message). Check the data and have it corrected on the portal.",
                version: entry.revision, raisedAt: now))
            try plan(entry.reservationId, in: tx)
        }
        return nil
    }

    /// A hall named, as this reservation's item, an item another reservation's copy holds: nothing
    /// is recorded; the create is refused, and a new one — under a key of its own, after a lookup
    /// by `externalId` — waits out a backoff; the reservation waits on the attention list until it
    /// has an item of its own.
    func itemNumberConflict(_ entry: OutboxEntry, hall: HallTarget, itemNo: String, owner: String,
                            in tx: StoreTransaction) throws -> PeerContradiction {
        let error = TransportError(
            code: .itemNumberConflict,
            message: "the \(hall) hall answered the \(entry.kind.rawValue.lowercased()) of reservation \(entry.reservationId) with item \(itemNo), which is reservation \(owner)'s; nothing was recorded, and the create goes again under a key of its own after a lookup — report it to the hall's operators",
            isRetryable: true)
        try tx.settle(outboxId: entry.id!, state: .failed, error: error.description, now: now)
        try tx.nextKeyGeneration(reservationId: entry.reservationId, target: hall, now: now)
        try raiseConflict(entry.reservationId, hall: hall, itemNo: itemNo, owner: owner, version: entry.revision, in: tx)
        try plan(entry.reservationId, in: tx)
        try tx.holdCreates(reservationId: entry.reservationId, target: hall,
                           until: now + retryPolicy.delay(afterAttempt: max(1, entry.attempts), retryAfter: nil, jitter: 0.5))
        return PeerContradiction(target: entry.target, error: error)
    }

    /// The copy's item number turned out not to be the reservation's (a lookup by its id does not
    /// list it): forgotten, and the reservation is delivered again under keys of its own.
    func unclaim(_ itemNo: String, of reservationId: String, target: HallTarget, in tx: StoreTransaction) throws {
        try tx.unclaim(reservationId: reservationId, target: target, itemNo: itemNo, now: now)
        try raiseConflict(reservationId, hall: target, itemNo: itemNo, owner: nil, version: 0, in: tx)
        try plan(reservationId, in: tx)
    }

    func raiseConflict(_ reservationId: String, hall: HallTarget, itemNo: String, owner: String?, version: Int, in tx: StoreTransaction) throws {
        let whose = owner.map { "已属于另一预约（\($0)）" } ?? "按本预约编号查不到，不是本预约的办件"
        try tx.raiseAttention(AttentionEntry(
            reservationId: reservationId, code: DomainError.Code.hallItemConflict.rawValue, field: itemNo, target: hall.rawValue,
            messageZh: "\(hall.chineseName)系统为本预约给出的办件编号 \(itemNo) \(whose)，本系统未采用；本预约将按预约编号查找后另行登记。请联系\(hall.chineseName)系统运维核查",
            messageEn: "The \(hall) hall gave item \(itemNo) for this reservation, but \(owner.map { "that item belongs to reservation \($0)" } ?? "a lookup by the reservation's id does not list it"); hallsync did not take it and delivers the reservation again after a lookup. Report it to the hall's operators.",
            version: version, raisedAt: now))
    }
}
