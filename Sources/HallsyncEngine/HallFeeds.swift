import Dispatch
import Foundation
import HallsyncDomain
import HallsyncStore
import HallsyncTransport
import Logging
import Synchronization

/// The hall feed phase: reads each hall's change feed (contract §3.7) from its durable `seq`
/// cursor and applies every status change to our copies, in the same transaction that moves
/// the cursor, so a change is applied once however often the daemon is killed.
///
/// A 410 `FEED_EXPIRED` means changes were dropped unread (so does a feed not read for most of
/// its retention: a read from `after=0` never answers 410). Then, in one transaction, the feed
/// cursor goes back to `after=0` — the oldest retained change, read on at once, so outcomes are
/// still mirrored — and a reconciliation starts (``HallFeedCursor``): every open copy in that
/// hall is looked up by `externalId` (§3.4), `concurrencyPerTarget` at a time, each failed
/// lookup retried with backoff within the cycle, up to `maxLookupsPerCycle` per cycle; the
/// stored progress moves over the longest prefix of answered lookups (``ReconcileRound``), so a
/// lookup that keeps failing is tried again next cycle and none is skipped. Applying a status
/// twice changes nothing the second time.
final class HallFeeds: @unchecked Sendable {
    let configuration: Configuration
    let store: Store
    let logger: Logger
    private let clients: [HallTarget: HallClient]
    /// The lookup workers of each hall, each with its own curl handle.
    private let lookupClients: [HallTarget: [HallClient]]
    static let pageSize = 500

    let clock: any EngineClock

    init(configuration: Configuration, store: Store, tokens: [HallTarget: TokenSource], logger: Logger, clock: any EngineClock,
         gate: SendGate? = nil) throws(TransportError) {
        self.clock = clock
        self.configuration = configuration
        self.store = store
        self.logger = logger
        var clients: [HallTarget: HallClient] = [:]
        var lookupClients: [HallTarget: [HallClient]] = [:]
        for target in HallTarget.allCases {
            clients[target] = try configuration.hallClient(target, token: tokens[target]!, gate: gate)
            lookupClients[target] = try (0..<configuration.sync.concurrencyPerTarget).map { _ throws(TransportError) in
                try configuration.hallClient(target, token: tokens[target]!, gate: gate)
            }
        }
        self.clients = clients
        self.lookupClients = lookupClients
    }

    struct Report {
        /// Changes read from the feeds.
        var read = 0
        /// Changes that changed something (our own echoes do not).
        var applied = 0
        /// Open items looked up during a reconciliation.
        var reconciled = 0
        var seqs: [HallTarget: String] = [:]
        var errors: [HallTarget: TransportError] = [:]
        /// Feed pages read and lookups answered, per hall: the hall worked.
        var answered: [HallTarget: Int] = [:]
        /// What a hall said that contradicts hallsync's records (nothing was changed by it).
        var contradictions: [HallTarget: [String]] = [:]
        /// For the operator: a feed's numbering went back.
        var warnings: [String] = []
    }

    func run(normalizer: ReservationNormalizer, stop: StopSignal) throws(StoreError) -> Report {
        var report = Report()
        for target in HallTarget.allCases where !stop.isSet {
            do {
                try startReconcilingIfStale(target)
                // The feed and the lookups are independent: a failure of one does not hold up the other.
                do { try read(target, normalizer: normalizer, report: &report, stop: stop) } catch let error as TransportError {
                    report.errors[target] = error
                    logger.warning("the \(target) change feed could not be read; trying again next cycle",
                                   metadata: ["target": "\(target)", "error": "\(error.code)"])
                }
                if let error = try reconcile(target, normalizer: normalizer, report: &report, stop: stop) {
                    report.errors[target] = report.errors[target] ?? error
                }
            } catch let error as StoreError {
                throw error
            } catch {
                report.errors[target] = TransportError(code: .feedFailed, message: "following the \(target) hall failed unexpectedly (\(error)); it is tried again next cycle — report this if it repeats", isRetryable: true)
            }
            report.seqs[target] = try cursor(target).description
        }
        return report
    }

    func cursor(_ target: HallTarget) throws(StoreError) -> HallFeedCursor {
        try store.read { tx in try Self.cursor(target, in: tx) }
    }

    static func cursor(_ target: HallTarget, in tx: StoreTransaction) throws -> HallFeedCursor {
        HallFeedCursor(feed: try tx.cursor(.feed(target)), reconcile: try tx.cursor(.reconcile(target)),
                       createdBefore: try tx.cursor(.reconcileCreatedBefore(target)))
    }

    /// Stores `cursor` for `target` (every cursor it is made of) in `tx`.
    static func save(_ cursor: HallFeedCursor, of target: HallTarget, in tx: StoreTransaction, now: Double) throws {
        try tx.setCursor(.feed(target), to: cursor.feed, now: now)
        if let after = cursor.reconcileAfter {
            try tx.setCursor(.reconcile(target), to: after, now: now)
        } else {
            try tx.removeCursor(.reconcile(target))
        }
        if let before = cursor.reconcileCreatedBefore {
            try tx.setCursor(.reconcileCreatedBefore(target), to: String(before), now: now)
        } else {
            try tx.removeCursor(.reconcileCreatedBefore(target))
        }
    }

    /// Ends a reconciliation: every item it was to look up was looked up.
    static func finishReconciling(_ target: HallTarget, in tx: StoreTransaction) throws {
        try tx.removeCursor(.reconcile(target))
        try tx.removeCursor(.reconcileCreatedBefore(target))
    }

    /// Changes may have been dropped unread without any 410: the feed was never read while we had
    /// items there (a database from before feeds were followed), or not for most of its retention.
    /// And once a day the open items older than a day are looked up whatever the feed said (a
    /// hall whose numbering went back quietly). The decision is ``HallFeedCursor/start``'s; one
    /// cycle thread moves the cursors, so a read here and a write below cannot race.
    private func startReconcilingIfStale(_ target: HallTarget) throws {
        let now = clock.now
        let (cursor, start, lastRead) = try store.read { tx -> (HallFeedCursor, HallFeedCursor.Start, Double?) in
            let cursor = try Self.cursor(target, in: tx)
            let lastRead = try tx.cursorChangedAt(.feed(target))
            let lastSweep = try tx.cursor(.sweep(target)).flatMap(Double.init)
            let haveOpenItems = try !tx.openCopies(in: target, after: "", limit: 1).isEmpty
            return (cursor, cursor.start(lastRead: lastRead, lastSweep: lastSweep, haveOpenItems: haveOpenItems,
                                         retention: configuration.sync.feedRetention, sweepInterval: configuration.sync.sweepInterval,
                                         now: now), lastRead)
        }
        switch start {
        case .readOn:
            return
        case .startOver:
            logger.warning("the \(target) change feed was not read for too long to trust; looking up every open item there while reading it again from its oldest change",
                           metadata: ["target": "\(target)", "lastRead": "\(lastRead.map { BeijingTime(Date(timeIntervalSince1970: $0)).description } ?? "never")"])
            try store.write { tx in
                try Self.save(.expired, of: target, in: tx, now: now)
                try tx.setCursor(.sweep(target), to: String(now), now: now)
            }
        case .sweep(let createdBefore):
            try store.write { tx in
                try Self.save(HallFeedCursor(seq: cursor.seq, reconcileAfter: "", reconcileCreatedBefore: createdBefore), of: target, in: tx, now: now)
                try tx.setCursor(.sweep(target), to: String(now), now: now)
            }
        }
    }

    /// Reads the feed from its cursor, a bounded number of pages; a 410 (or numbering that went
    /// back) restarts it from the oldest retained change and starts a reconciliation, in one
    /// transaction. The decisions are ``HallFeedReading``'s; this carries out its effects.
    private func read(_ target: HallTarget, normalizer: ReservationNormalizer, report: inout Report, stop: StopSignal) throws {
        let client = clients[target]!
        var reading = HallFeedReading(seq: try cursor(target).seq, pageSize: Self.pageSize, pageBudget: configuration.sync.maxPagesPerCycle)
        var effects = [reading.start()]
        var page: HallClient.ChangePage?
        while !effects.isEmpty, !stop.isSet {
            let effect = effects.removeFirst()
            switch effect {
            case .read(let after):
                // (A Result: a typed `catch where` here crashes the 6.3 compiler's ownership checker.)
                let answer = Result { () throws(TransportError) in try client.changes(after: after, limit: Self.pageSize) }
                switch answer {
                case .success(let arrived):
                    page = arrived
                    report.answered[target, default: 0] += 1
                    report.read += arrived.changes.count
                    effects += reading.pageArrived(changes: arrived.changes.count, lastSeq: arrived.lastSeq)
                case .failure(let error) where error.code == .feedExpired || error.code == .feedRewound:
                    effects += reading.failed(error.code == .feedRewound ? .feedRewound : .feedExpired)
                    logger.warning("the \(target) change feed \(error.code == .feedRewound ? "went back below hallsync's position" : "expired before it was read"); reading it again from its oldest change and looking up every open item there",
                                   metadata: ["target": "\(target)", "after": "\(after)"])
                case .failure(let error):
                    _ = reading.failed(.other)
                    throw error
                }
            case .apply(let seq):
                guard let arrived = page else { continue }
                try apply(arrived, movingTo: seq, target: target, normalizer: normalizer, report: &report)
            case .startOver(let rewound):
                if rewound {
                    report.warnings.append("the \(target) hall's change feed numbering went back: it may have been restored from a backup; hallsync reads it again from its oldest change and looks up every open item there")
                }
                try store.write { tx in try Self.save(.expired, of: target, in: tx, now: clock.now) }
            case .stop:
                return
            }
        }
    }

    /// Applies one page's changes and moves the feed's position, in one transaction.
    private func apply(_ page: HallClient.ChangePage, movingTo seq: Int64, target: HallTarget, normalizer: ReservationNormalizer,
                       report: inout Report) throws {
        let ledger = Ledger(normalizer: normalizer, now: clock.now)
        var contradictions: [String] = []
        report.applied += try store.write { tx in
            var applied = 0
            for change in page.changes {
                // Ours have ids and numbers of the contract's form; anything else is not ours to follow.
                guard WireIdentifier.isValid(change.externalId), WireIdentifier.isValid(change.itemNo) else { continue }
                guard let status = HallItemStatus(rawValue: change.status) else {
                    if try ledger.reportUnknownStatus(change.status, target: target, itemNo: change.itemNo, in: tx) { applied += 1 }
                    continue
                }
                let statusChange = HallStatusChange(target: target, itemNo: change.itemNo, status: status,
                                                    origin: change.origin.flatMap(ActionOrigin.init(rawValue:)),
                                                    operator: change.operator ?? "", at: change.at ?? "")
                switch try ledger.applyHallReport(statusChange, externalId: change.externalId, source: .feed, in: tx) {
                case .applied: applied += 1
                case .contradiction(let message): contradictions.append(message)
                case .notOurs, .unchanged: break
                }
            }
            // The reconciliation's progress is kept as it is; only the seq moves.
            try tx.setCursor(.feed(target), to: HallFeedCursor(seq: seq).feed, now: ledger.now)
            return applied
        }
        if let first = contradictions.first {
            // The hall's own fault, reported on its endpoint; the feed goes on.
            report.contradictions[target, default: []] += contradictions
            logger.error("the \(target) change feed contradicts hallsync's records: \(first)", metadata: ["target": "\(target)", "count": "\(contradictions.count)"])
        }
    }

    /// One round of lookups while reconciling; returns the error of a lookup that failed for good.
    private func reconcile(_ target: HallTarget, normalizer: ReservationNormalizer, report: inout Report, stop: StopSignal) throws -> TransportError? {
        let current = try cursor(target)
        guard let after = current.reconcileAfter, !stop.isSet else { return nil }
        let limit = configuration.sync.maxLookupsPerCycle
        // Every item whose changes the feed may have hidden: the open ones, and those closed within
        // the window in question — since the previous sweep, or the feed's retention after a 410.
        let closedSince = current.reconcileCreatedBefore.map { $0 - configuration.sync.sweepInterval } ?? clock.now - configuration.sync.feedRetention
        let batch = try store.read { tx in
            try tx.openCopies(in: target, after: after, limit: limit, createdBefore: current.reconcileCreatedBefore, closedSince: closedSince)
        }
        if ReconcileRound(ids: []).conclusion(limit: limit) == .finished, batch.isEmpty {
            try store.write { tx in try Self.finishReconciling(target, in: tx) }
            logger.notice("reconciliation finished: every open item was looked up", metadata: ["target": "\(target)"])
            return nil
        }
        let round = Mutex(ReconcileRound(ids: batch.map(\.reservationId)))
        let lastError = Mutex<TransportError?>(nil)
        let storeFailure = Mutex<StoreError?>(nil)
        let queue = WorkQueue(batch)
        let group = DispatchGroup()
        for client in lookupClients[target]!.prefix(batch.count) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                while !stop.isSet, storeFailure.withLock({ $0 == nil }), let copy = queue.next() {
                    do {
                        let items = try lookUp(copy.reservationId, with: client, stop: stop)
                        try apply(items, to: copy, target: target, normalizer: normalizer)
                        round.withLock { $0.answered(copy.reservationId) }
                    } catch let error as TransportError {
                        lastError.withLock { $0 = error }
                        round.withLock { $0.failed(copy.reservationId) }
                    } catch let error as StoreError {
                        storeFailure.withLock { $0 = error }
                    } catch {
                        round.withLock { $0.failed(copy.reservationId) }
                    }
                }
            }
            thread.name = "hallsync lookup \(target)"
            thread.start()
        }
        group.wait()
        if let error = storeFailure.withLock({ $0 }) { throw error }
        let done = round.withLock { $0 }
        report.reconciled += batch.count - done.failures
        report.answered[target, default: 0] += batch.count - done.failures
        switch done.conclusion(limit: limit) {
        case .finished:
            try store.write { tx in try Self.finishReconciling(target, in: tx) }
            logger.notice("reconciliation finished: every open item was looked up", metadata: ["target": "\(target)"])
        case .progress(let id):
            try store.write { tx in try tx.setCursor(.reconcile(target), to: id, now: clock.now) }
        case .unchanged:
            break
        }
        guard done.failures > 0, let error = lastError.withLock({ $0 }) else { return nil }
        logger.warning("some lookups of the \(target) reconciliation failed; they are tried again next cycle",
                       metadata: ["target": "\(target)", "failed": "\(done.failures)", "error": "\(error.code)"])
        return error
    }

    /// One lookup, retried with backoff on a passing fault, within the cycle.
    private func lookUp(_ reservationId: String, with client: HallClient, stop: StopSignal) throws(TransportError) -> [HallClient.Item] {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try client.findItems(externalId: reservationId)
            } catch where error.isRetryable && attempt < 4 && !stop.isSet {
                let delay = min(configuration.retryPolicy.delay(afterAttempt: attempt, retryAfter: error.retryAfter, jitter: .random(in: 0...1)), 5)
                if clock.sleep(delay, stop: stop) { throw error }
            }
        }
    }

    /// Applies what a lookup found for one open copy, in its own transaction: our item's status,
    /// the other items with the reservation's id (shown), and our item missing from the answer.
    private func apply(_ items: [HallClient.Item], to copy: (reservationId: String, itemNo: String), target: HallTarget,
                       normalizer: ReservationNormalizer) throws {
        let ledger = Ledger(normalizer: normalizer, now: clock.now)
        let at = BeijingTime(Date(timeIntervalSince1970: ledger.now)).description
        let others = items.filter { $0.itemNo != copy.itemNo }
        let ours = items.first { $0.itemNo == copy.itemNo }
        try store.write { tx in
            if let ours {
                guard let status = HallItemStatus(rawValue: ours.status) else {
                    _ = try ledger.reportUnknownStatus(ours.status, target: target, itemNo: ours.itemNo, in: tx)
                    return
                }
                // A lookup does not say who closed the item: our own action if we sent one, else staff.
                let sent = try tx.sentAction(reservationId: copy.reservationId, target: target)
                let origin: ActionOrigin? = status.isClosed ? (sent ? (status == .cancelled ? .portal : .sync) : .staff) : nil
                let change = HallStatusChange(target: target, itemNo: copy.itemNo, status: status, origin: origin, operator: "", at: at)
                try ledger.applyHallReport(change, externalId: copy.reservationId, source: .lookup, in: tx)
            } else {
                try ledger.reportMissingItem(copy.itemNo, of: copy.reservationId, target: target, in: tx)
            }
            for item in others {
                guard let status = HallItemStatus(rawValue: item.status) else { continue }
                let change = HallStatusChange(target: target, itemNo: item.itemNo, status: status, origin: nil, operator: "", at: "")
                try ledger.applyHallReport(change, externalId: copy.reservationId, source: .lookup, in: tx)
            }
        }
    }
}
