import Foundation
import HallsyncDomain
import HallsyncStore
import HallsyncTransport
import Logging

/// The pull phase: reads new and changed reservations from the portal without losing any.
///
/// The decisions — where the position may move, which request comes next, when the cycle's
/// page budget is spent, what to do with a crowded second or a `total` that never holds still
/// — are ``PortalPaging``'s, a pure state machine; the clock the horizon is measured on is
/// ``PortalClock``'s (the earlier of the portal's and ours). This class carries out the
/// machine's effects: it sends the requests, stores the records with the position in one
/// transaction, and feeds the answers back. Records are deduplicated by `reservationId` +
/// `version`, so reading twice is harmless.
final class PortalPull: @unchecked Sendable {
    let configuration: Configuration
    let store: Store
    let portal: PortalClient
    let logger: Logger

    let clock: any EngineClock

    init(configuration: Configuration, store: Store, portal: PortalClient, logger: Logger, clock: any EngineClock) {
        self.clock = clock
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
        var settledPosition: PortalPosition?
        /// Below this portal time every record is visible (§2.5).
        var horizon: BeijingTime?
        var caughtUp = false
        /// Requests the portal answered with a page.
        var answered = 0
        /// Portal − local clock, seconds, as last read.
        var clockSkewSeconds: Int?
        /// For the operator: the clocks disagree, a position was rewound.
        var warnings: [String] = []
        var error: TransportError?
    }

    func run(normalizer: ReservationNormalizer, stop: StopSignal) throws(StoreError) -> Report {
        var report = Report()
        var budget = configuration.sync.maxPagesPerCycle
        do {
            let clock = try clockReading(budget: &budget, report: &report, stop: stop)
            report.clockSkewSeconds = clock.skewSeconds
            if let warning = clock.warning {
                report.warnings.append(warning)
                logger.warning("\(warning)", metadata: ["skewSeconds": "\(clock.skewSeconds ?? 0)"])
            }
            let lag = configuration.portal.visibilityLag + configuration.portal.lagMargin
            let settings = PortalPaging.Settings(pageSize: configuration.portal.pageSize, lagSeconds: lag, pageBudget: budget)
            let position = try startingPosition(clock: clock, report: &report)
            let crowded = try store.read { tx in try tx.cursor(.portalCrowdedSecond) }.flatMap(CrowdedSecond.init(stored:))
            var paging = PortalPaging(settings: settings, position: position, crowded: crowded, clock: clock)
            report.horizon = paging.horizon
            try drive(&paging, normalizer: normalizer, report: &report, stop: stop)
            report.settledPosition = paging.position
            report.caughtUp = paging.caughtUp
            try endRestoreLookups(position: paging.position)
            if case .unstable(let second) = paging.stopReason {
                report.error = TransportError(code: .portalUnstable, message: "the portal's records of \(second) kept changing (its `total` never held still) while they were read; the position stays before that second and it is read again next cycle — report it to the portal's operators if it repeats", isRetryable: true)
            } else if let crowded = paging.crowded {
                report.warnings.append("reading the second \(crowded.second) whole, by offset: \(crowded.collected) of the \(crowded.total.map(String.init) ?? "?") records the portal says it holds so far; the position moves past it once all are read (raise sync.maxPagesPerCycle to go faster; if the count never comes down, report the portal's answers to its operators)")
            }
        } catch let error as TransportError {
            report.error = error
            logger.warning("portal pull stopped for this cycle", metadata: ["error": "\(error)"])
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .write, message: "\(error)")
        }
        return report
    }

    /// Carries out the machine's effects until it stops.
    func drive(_ paging: inout PortalPaging, normalizer: ReservationNormalizer, report: inout Report, stop: StopSignal) throws {
        var effects = paging.start()
        var page: PortalClient.Page?
        var failure: TransportError?
        while !effects.isEmpty {
            var next: [PortalPaging.Effect] = []
            for effect in effects {
                switch effect {
                case .request(let request, let delay):
                    if delay > 0, clock.sleep(delay, stop: stop) { return }
                    if stop.isSet { return }
                    report.pages += 1
                    do {
                        let answer = try portal.listReservations(regionCode: configuration.portal.regionCode, from: request.start,
                                                                 until: request.end, pageNo: request.pageNo, pageSize: configuration.portal.pageSize)
                        page = answer
                        report.answered += 1
                        next = paging.pageArrived(keys: answer.entries.map(key(of:)), total: answer.total)
                    } catch {
                        failure = error
                        let wait = min(configuration.retryPolicy.delay(afterAttempt: 1, retryAfter: error.retryAfter, jitter: .random(in: 0...1)), 5)
                        next = paging.requestFailed(retryable: error.isRetryable, delay: wait)
                    }
                case .ingest(let indices, let commit, let crowded):
                    let entries = page?.entries ?? []
                    try ingest(indices.map { entries[$0] }, commit: commit, crowded: crowded, normalizer: normalizer, report: &report)
                case .stop(let reason):
                    if reason == .failed, let failure { throw failure }
                }
            }
            effects = next
        }
    }

    /// After a restore, creates look up first until everything updated before it was read again.
    func endRestoreLookups(position: PortalPosition) throws {
        guard let through = try store.read({ tx in try tx.cursor(.restoreLookUpThrough) }).flatMap({ BeijingTime(parsing: $0) }),
              position.time > through else { return }
        try store.write { tx in try tx.removeCursor(.restoreLookUpThrough) }
        logger.notice("the portal was read past the restore; creates go out without looking up first again")
    }

    /// The clock the horizon is measured on; the first cycle learns the portal's with a one-record request.
    func clockReading(budget: inout Int, report: inout Report, stop: StopSignal) throws(TransportError) -> PortalClock.Reading {
        if portal.estimatedServerTime() == nil {
            let local = clock.beijing
            budget -= 1
            report.pages += 1
            _ = try portal.listReservations(regionCode: configuration.portal.regionCode, from: local.adding(seconds: -1),
                                            until: local, pageNo: 1, pageSize: 1)
            report.answered += 1
        }
        guard let portalTime = portal.estimatedServerTime() else {
            throw TransportError(code: .noServerTime, message: "the portal sent no X-Server-Time header; without its clock the visibility lag cannot be honoured", isRetryable: true)
        }
        return PortalClock.reading(portal: portalTime, local: clock.beijing)
    }

    func startingPosition(clock: PortalClock.Reading, report: inout Report) throws -> PortalPosition {
        let (stored, writtenAt) = try store.read { tx in (try tx.cursor(.portalPosition), try tx.cursorChangedAt(.portalPosition)) }
        if let stored, let position = PortalPosition(stored: stored) {
            // A position beyond the clock of its own writing came from a lying portal clock (before
            // this rule): read again from before that moment.
            let lag = configuration.portal.visibilityLag + configuration.portal.lagMargin
            if let writtenAt, let rewind = PortalClock.rewind(position: position.time, writtenAt: BeijingTime(Date(timeIntervalSince1970: writtenAt)), lagSeconds: lag) {
                let message = "the stored portal position \(position.time) lies beyond the time it was written at (\(BeijingTime(Date(timeIntervalSince1970: writtenAt)))): it was moved by a wrong clock; reading again from \(rewind)"
                logger.error("\(message)")
                report.warnings.append(message)
                let rewound = PortalPosition(time: rewind, id: "")
                try store.write { tx in try tx.setCursor(.portalPosition, to: rewound.description, now: self.clock.now) }
                return rewound
            }
            return position
        }
        let start = configuration.portal.startFrom.flatMap { BeijingTime(parsing: $0) } ?? clock.now.adding(seconds: -86_400)
        logger.notice("fresh state: reading the portal from \(start)")
        return PortalPosition(time: start, id: "")
    }

    func key(of entry: PortalClient.Entry) -> PortalPosition? {
        switch entry {
        case .reservation(let r):
            return BeijingTime(parsing: r.updateTime).map { PortalPosition(time: $0, id: r.reservationId) }
        case .unreadable(let id, let time, _):
            guard let id, let t = time.flatMap({ BeijingTime(parsing: $0) }) else { return nil }
            return PortalPosition(time: t, id: id)
        }
    }

    /// Stores entries and, when given, the new position, and the crowded second's progress, in one transaction.
    func ingest(_ entries: [PortalClient.Entry], commit: PortalPosition?, crowded: CrowdedSecond?, normalizer: ReservationNormalizer,
                report: inout Report) throws {
        let ledger = Ledger(normalizer: normalizer, now: clock.now)
        let counted = try store.write { tx in
            let counted = try ingest(entries, ledger: ledger, tx: tx)
            if let commit { try tx.setCursor(.portalPosition, to: commit.description, now: ledger.now) }
            if let crowded { try tx.setCursor(.portalCrowdedSecond, to: crowded.description, now: ledger.now) } else { try tx.removeCursor(.portalCrowdedSecond) }
            return counted
        }
        report.received += entries.count
        report.stored += counted.stored
        report.deadlineFallbacks += counted.fallbacks
    }

    func ingest(_ entries: [PortalClient.Entry], ledger: Ledger, tx: StoreTransaction) throws -> (stored: Int, fallbacks: Int) {
        var stored = 0
        var fallbacks = 0
        for entry in entries {
            switch entry {
            case .reservation(let r):
                if case .stored(let disposition, let sends, let fallback) = try ledger.ingest(r, in: tx) {
                    stored += 1
                    // No personal field is logged at any level, not even masked: the id says which record.
                    logger.debug("stored a reservation version", metadata: [
                        "reservation": "\(r.reservationId)", "version": "\(r.version)", "disposition": "\(disposition.rawValue)",
                        "sends": "\(sends)"])
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
