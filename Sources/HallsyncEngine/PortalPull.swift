import Foundation
import HallsyncDomain
import HallsyncStore
import HallsyncTransport
import Logging

/// The pull phase: reads new and changed reservations from the portal without losing any.
///
/// The portal lists by `updateTime` from a lagging replica, with offset pages (contract
/// §2.5). So:
///
/// 1. **Settled part.** The durable position `(updateTime, reservationId)` only moves through
///    time older than the lag horizon `serverNow − visibilityLag − lagMargin`, where every
///    record is guaranteed visible. It is read by *keyset*, not by offset: each request
///    starts at the position's second and skips what is at or below the position, so a
///    record that leaves the window (it was updated) cannot shift an unread record onto an
///    already-read page. Windows span at most 24 h. A second holding more records than a
///    page is read whole by offset, again until `total` stays the same from first page to last.
///    The position is committed with the records of each page.
/// 2. **Recent part.** Above the horizon, a scan delivers new records with low latency but
///    moves no cursor: whatever it misses, the settled pass reads once the lag has passed.
///
/// Records are deduplicated by `reservationId` + `version`, so reading twice is harmless.
final class PortalPull: @unchecked Sendable {
    let configuration: Configuration
    let store: Store
    let portal: PortalClient
    let logger: Logger

    init(configuration: Configuration, store: Store, portal: PortalClient, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.portal = portal
        self.logger = logger
    }

    struct Report {
        var pages = 0
        var received = 0
        var stored = 0
        /// Stored versions whose deadline counted weekends only (a year the calendar lacks).
        var deadlineFallbacks = 0
        var settledPosition: Position?
        /// Below this portal time every record is guaranteed visible (§2.5).
        var horizon: BeijingTime?
        var caughtUp = false
        var error: TransportError?
    }

    /// `(updateTime, reservationId)`: every record ordered at or below it has been read.
    struct Position: Comparable, CustomStringConvertible {
        var time: BeijingTime
        var id: String

        init(time: BeijingTime, id: String) {
            self.time = time
            self.id = id
        }

        init?(stored: String) {
            let parts = stored.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let time = BeijingTime(parsing: parts[0]) else { return nil }
            self.init(time: time, id: String(parts[1]))
        }

        var description: String { "\(time)|\(id)" }

        static func < (a: Position, b: Position) -> Bool { (a.time, a.id) < (b.time, b.id) }
    }

    /// The stop signal of the run in progress, for the in-cycle retry waits.
    private var stop = StopSignal()

    func run(normalizer: ReservationNormalizer, stop: StopSignal) throws(StoreError) -> Report {
        self.stop = stop
        var report = Report()
        var budget = configuration.sync.maxPagesPerCycle
        do {
            let serverNow = try serverTime(budget: &budget, report: &report)
            let horizon = serverNow.adding(seconds: -(configuration.portal.visibilityLag + configuration.portal.lagMargin))
            report.horizon = horizon
            var position = try startingPosition(serverNow: serverNow)
            // 1. Settled part.
            while position.time < horizon, budget > 0, !stop.isSet {
                let end = min(horizon, position.time.adding(seconds: 86_400))
                position = try readSettled(from: position, until: end, normalizer: normalizer, budget: &budget, report: &report)
            }
            report.settledPosition = position
            report.caughtUp = position.time >= horizon
            // 2. Recent part, once caught up.
            if report.caughtUp, !stop.isSet {
                try scanRecent(from: position, until: serverNow.adding(seconds: 60), normalizer: normalizer, budget: &budget, report: &report, stop: stop)
            }
        } catch let error as TransportError {
            report.error = error
            logger.warning("portal pull stopped for this cycle", metadata: ["error": "\(error)"])
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: "STORE_WRITE", message: "\(error)")
        }
        return report
    }

    /// The portal's clock; the first cycle asks it with a one-record request.
    func serverTime(budget: inout Int, report: inout Report) throws(TransportError) -> BeijingTime {
        if let estimate = portal.estimatedServerTime() { return estimate }
        let local = BeijingTime.now()
        _ = try portal.listReservations(regionCode: configuration.portal.regionCode, from: local.adding(seconds: -1),
                                        until: local, pageNo: 1, pageSize: 1)
        budget -= 1
        report.pages += 1
        guard let estimate = portal.estimatedServerTime() else {
            throw TransportError(code: "NO_SERVER_TIME", message: "the portal sent no X-Server-Time header; without its clock the visibility lag cannot be honoured", isRetryable: true)
        }
        let skew = estimate.unixSeconds - local.unixSeconds
        if abs(skew) > 60 { logger.warning("the portal's clock differs from ours", metadata: ["skewSeconds": "\(skew)"]) }
        return estimate
    }

    func startingPosition(serverNow: BeijingTime) throws -> Position {
        if let stored = try store.read({ tx in try tx.cursor(.portalPosition) }), let position = Position(stored: stored) {
            return position
        }
        let start = configuration.portal.startFrom.flatMap { BeijingTime(parsing: $0) } ?? serverNow.adding(seconds: -86_400)
        logger.notice("fresh state: reading the portal from \(start)")
        return Position(time: start, id: "")
    }

    /// Reads one page of the settled window at `position` and commits the new position with it.
    func readSettled(from position: Position, until end: BeijingTime, normalizer: ReservationNormalizer,
                     budget: inout Int, report: inout Report) throws -> Position {
        let pageSize = configuration.portal.pageSize
        let page = try list(from: position.time, until: end, pageNo: 1, report: &report, budget: &budget)
        let entries = page.entries.filter { key(of: $0).map { $0 > position } ?? true }
        var next: Position
        var sliceEntries: [PortalClient.Entry] = []
        if page.entries.count < pageSize {
            next = Position(time: end, id: "")                // the window is exhausted
        } else if let last = page.entries.last.flatMap(key(of:)), last.time > position.time {
            next = last                                       // keyset: continue after the last record
        } else {
            // A full page inside one second: read that second whole, by offset.
            sliceEntries = try readSecond(position.time, budget: &budget, report: &report)
            next = Position(time: position.time.adding(seconds: 1), id: "")
        }
        let ledger = Ledger(normalizer: normalizer, now: Date().timeIntervalSince1970)
        let toStore = entries + sliceEntries
        let stored = try store.write { tx in
            let n = try ingest(toStore, ledger: ledger, tx: tx)
            try tx.setCursor(.portalPosition, to: next.description, now: ledger.now)
            return n
        }
        report.received += toStore.count
        report.stored += stored.stored
        report.deadlineFallbacks += stored.fallbacks
        return next
    }

    /// Every record of one second, read by offset until `total` holds still for a whole pass.
    func readSecond(_ second: BeijingTime, budget: inout Int, report: inout Report) throws -> [PortalClient.Entry] {
        for _ in 0..<5 {
            var collected: [PortalClient.Entry] = []
            var total: Int?
            var pageNo = 1
            var stable = true
            while true {
                let page = try list(from: second, until: second.adding(seconds: 1), pageNo: pageNo, report: &report, budget: &budget)
                if total == nil { total = page.total } else if total != page.total { stable = false; break }
                collected += page.entries
                if page.entries.count < configuration.portal.pageSize || collected.count >= page.total { break }
                pageNo += 1
            }
            if stable { return collected }
        }
        throw TransportError(code: "PORTAL_UNSTABLE", message: "the records of \(second) kept changing while being read; will read them again next cycle", isRetryable: true)
    }

    /// The part above the lag horizon: delivered early, no cursor moved.
    func scanRecent(from position: Position, until end: BeijingTime, normalizer: ReservationNormalizer,
                    budget: inout Int, report: inout Report, stop: StopSignal) throws {
        var cursor = position
        while budget > 0, !stop.isSet {
            let page = try list(from: cursor.time, until: end, pageNo: 1, report: &report, budget: &budget)
            let entries = page.entries.filter { key(of: $0).map { $0 > cursor } ?? true }
            let ledger = Ledger(normalizer: normalizer, now: Date().timeIntervalSince1970)
            report.received += entries.count
            let stored = try store.write { tx in try ingest(entries, ledger: ledger, tx: tx) }
            report.stored += stored.stored
            report.deadlineFallbacks += stored.fallbacks
            guard page.entries.count == configuration.portal.pageSize,
                  let last = page.entries.last.flatMap(key(of:)), last.time > cursor.time else { return }
            cursor = last
        }
    }

    func list(from start: BeijingTime, until end: BeijingTime, pageNo: Int, report: inout Report, budget: inout Int) throws(TransportError) -> PortalClient.Page {
        budget -= 1
        report.pages += 1
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try portal.listReservations(regionCode: configuration.portal.regionCode, from: start, until: end,
                                                   pageNo: pageNo, pageSize: configuration.portal.pageSize)
            } catch where error.isRetryable && attempt < 3 && !stop.isSet {
                // A short in-cycle retry; a longer outage waits for the next cycle.
                let delay = min(configuration.retryPolicy.delay(afterAttempt: attempt, retryAfter: error.retryAfter, jitter: .random(in: 0...1)), 5)
                if stop.sleep(delay) { throw error }
            }
        }
    }

    func key(of entry: PortalClient.Entry) -> Position? {
        switch entry {
        case .reservation(let r):
            return BeijingTime(parsing: r.updateTime).map { Position(time: $0, id: r.reservationId) }
        case .unreadable(let id, let time, _):
            guard let id, let t = time.flatMap({ BeijingTime(parsing: $0) }) else { return nil }
            return Position(time: t, id: id)
        }
    }

    func ingest(_ entries: [PortalClient.Entry], ledger: Ledger, tx: StoreTransaction) throws -> (stored: Int, fallbacks: Int) {
        var stored = 0
        var fallbacks = 0
        for entry in entries {
            switch entry {
            case .reservation(let r):
                if case .stored(let disposition, let sends, let fallback) = try ledger.ingest(r, in: tx) {
                    stored += 1
                    // The log handler masks the personal fields (王*, 138****0000, 3710**********015X).
                    logger.debug("stored a reservation version", metadata: [
                        "reservation": "\(r.reservationId)", "version": "\(r.version)", "disposition": "\(disposition.rawValue)",
                        "sends": "\(sends)", "applicant": "\(r.applicant.name ?? "")", "phone": "\(r.applicant.phone ?? "")",
                        "idNumber": "\(r.applicant.idNumber ?? "")"])
                    if fallback {
                        fallbacks += 1
                        logger.warning("deadline counted weekends only: the working calendar does not cover the appointment's year; add it to the calendar file and reload",
                                       metadata: ["reservation": "\(r.reservationId)", "appointmentDate": "\(r.appointmentDate ?? "")"])
                    }
                }
            case .unreadable(let id, _, let reason):
                try ledger.recordUnreadable(reservationId: id, reason: reason, in: tx)
            }
        }
        return (stored, fallbacks)
    }
}
