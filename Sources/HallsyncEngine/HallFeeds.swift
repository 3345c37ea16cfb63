import Foundation
import HallsyncDomain
import HallsyncStore
import HallsyncTransport
import Logging

/// The hall feed phase: reads each hall's change feed (contract §3.7) from its durable `seq`
/// cursor and applies every status change to our copies, in the same transaction that moves
/// the cursor, so a change is applied once however often the daemon is killed.
///
/// A 410 `FEED_EXPIRED` means changes were dropped unread. The cursor then becomes
/// `reconcile:<reservationId>`: every open copy in that hall is looked up by `externalId`
/// (§3.4), in id order and a bounded number per cycle, its status applied; then reading starts
/// again at `after=0`, the oldest retained change. Changes made while reconciling are in that
/// read; changes applied twice change nothing the second time.
final class HallFeeds: @unchecked Sendable {
    let configuration: Configuration
    let store: Store
    let logger: Logger
    private let clients: [HallTarget: HallClient]
    static let pageSize = 500

    init(configuration: Configuration, store: Store, tokens: [HallTarget: TokenSource], logger: Logger) throws(TransportError) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        var clients: [HallTarget: HallClient] = [:]
        for target in HallTarget.allCases { clients[target] = try configuration.hallClient(target, token: tokens[target]!) }
        self.clients = clients
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
    }

    func run(normalizer: ReservationNormalizer, stop: StopSignal) throws(StoreError) -> Report {
        var report = Report()
        for target in HallTarget.allCases where !stop.isSet {
            do {
                try follow(target, normalizer: normalizer, report: &report, stop: stop)
            } catch let error as TransportError {
                report.errors[target] = error
                logger.warning("the \(target) change feed could not be read; trying again next cycle",
                               metadata: ["target": "\(target)", "error": "\(error.code)"])
            } catch let error as StoreError {
                throw error
            } catch {
                report.errors[target] = TransportError(code: "FEED_FAILED", message: "reading the \(target) change feed failed unexpectedly (\(error)); it is tried again next cycle — report this if it repeats", isRetryable: true)
            }
            report.seqs[target] = try store.read { tx in try tx.cursor(.feed(target)) }
        }
        return report
    }

    private func follow(_ target: HallTarget, normalizer: ReservationNormalizer, report: inout Report, stop: StopSignal) throws {
        let client = clients[target]!
        // Changes may have been dropped unread without any 410: the feed was never read while we
        // had items there (a database from before feeds were followed), or not for most of its
        // retention (after `after=0`, which never answers 410, nothing else would tell).
        // One cycle thread moves the cursors, so a read here and a write below cannot race.
        let now = Date().timeIntervalSince1970
        let (stale, lastRead) = try store.read { tx -> (Bool, Double?) in
            guard try tx.cursor(.feed(target))?.hasPrefix("reconcile:") != true else { return (false, nil) }
            let lastRead = try tx.cursorChangedAt(.feed(target))
            let old = lastRead.map { now - $0 > configuration.sync.feedRetention * 0.9 } ?? true
            let haveOpenItems = try !tx.openCopies(in: target, after: "", limit: 1).isEmpty
            return (old && haveOpenItems, lastRead)
        }
        if stale {
            logger.warning("the \(target) change feed was not read for too long to trust; looking up every open item there first",
                           metadata: ["target": "\(target)", "lastRead": "\(lastRead.map { BeijingTime(Date(timeIntervalSince1970: $0)).description } ?? "never")"])
            try store.write { tx in try tx.setCursor(.feed(target), to: "reconcile:", now: now) }
        }
        for _ in 0..<configuration.sync.maxPagesPerCycle where !stop.isSet {
            let cursor = try store.read { tx in try tx.cursor(.feed(target)) } ?? "seq:0"
            if cursor.hasPrefix("reconcile:") {
                // One batch of lookups per round; the rounds are bounded like pages.
                _ = try reconcile(target, after: String(cursor.dropFirst("reconcile:".count)), client: client,
                                  normalizer: normalizer, report: &report, stop: stop)
                continue
            }
            let after = Int64(cursor.dropFirst("seq:".count)) ?? 0
            let read = Result { () throws(TransportError) in try client.changes(after: after, limit: Self.pageSize) }
            if case .failure(let error) = read, error.code == "FEED_EXPIRED" {
                logger.warning("the \(target) change feed expired before it was read; looking up every open item there, then reading it again from the start",
                               metadata: ["target": "\(target)", "after": "\(after)"])
                try store.write { tx in try tx.setCursor(.feed(target), to: "reconcile:", now: Date().timeIntervalSince1970) }
                continue
            }
            let page = try read.get()
            report.read += page.changes.count
            let ledger = Ledger(normalizer: normalizer, now: Date().timeIntervalSince1970)
            report.applied += try store.write { tx in
                var applied = 0
                for change in page.changes {
                    // Ours have ids and numbers of the contract's form; anything else is not ours to follow.
                    guard WireIdentifier.isValid(change.externalId), WireIdentifier.isValid(change.itemNo),
                          let status = HallItemStatus(rawValue: change.status) else { continue }
                    let statusChange = HallStatusChange(target: target, itemNo: change.itemNo, status: status,
                                                        origin: change.origin.flatMap(ActionOrigin.init(rawValue:)),
                                                        operator: change.operator ?? "", at: change.at ?? "")
                    if try ledger.applyStatus(statusChange, reservationId: change.externalId, in: tx) { applied += 1 }
                }
                try tx.setCursor(.feed(target), to: "seq:\(max(after, page.lastSeq))", now: ledger.now)
                return applied
            }
            if page.changes.count < Self.pageSize { return }
        }
    }

    /// Looks up a batch of open copies; returns true when none is left and the feed can be read again.
    private func reconcile(_ target: HallTarget, after: String, client: HallClient, normalizer: ReservationNormalizer,
                           report: inout Report, stop: StopSignal) throws -> Bool {
        let batch = try store.read { tx in try tx.openCopies(in: target, after: after, limit: 100) }
        if batch.isEmpty {
            try store.write { tx in try tx.setCursor(.feed(target), to: "seq:0", now: Date().timeIntervalSince1970) }
            logger.notice("reconciliation finished; reading the change feed again from its oldest retained change",
                          metadata: ["target": "\(target)"])
            return true
        }
        for copy in batch where !stop.isSet {
            let items = try client.findItems(externalId: copy.reservationId)
            report.reconciled += 1
            let ledger = Ledger(normalizer: normalizer, now: Date().timeIntervalSince1970)
            try store.write { tx in
                if let item = items.first(where: { $0.itemNo == copy.itemNo }), let status = HallItemStatus(rawValue: item.status), status.isClosed {
                    // A lookup does not say who closed the item: our own action if we sent one, else staff.
                    let ours = try tx.sentAction(reservationId: copy.reservationId, target: target)
                    let origin: ActionOrigin = ours ? (status == .cancelled ? .portal : .sync) : .staff
                    let change = HallStatusChange(target: target, itemNo: copy.itemNo, status: status, origin: origin, operator: "",
                                                  at: BeijingTime(Date(timeIntervalSince1970: ledger.now)).description)
                    if try ledger.applyStatus(change, reservationId: copy.reservationId, in: tx) { report.applied += 1 }
                }
                try tx.setCursor(.feed(target), to: "reconcile:\(copy.reservationId)", now: ledger.now)
            }
        }
        return false
    }
}
