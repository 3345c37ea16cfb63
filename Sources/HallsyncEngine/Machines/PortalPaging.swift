import HallsyncDomain

/// `(updateTime, reservationId)`: every record ordered at or below it has been read.
public struct PortalPosition: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var time: BeijingTime
    public var id: String

    public init(time: BeijingTime, id: String) {
        self.time = time
        self.id = id
    }

    /// Reads the stored form `yyyy-MM-dd HH:mm:ss|reservationId`.
    public init?(stored: String) {
        let parts = stored.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let time = BeijingTime(parsing: parts[0]) else { return nil }
        self.init(time: time, id: String(parts[1]))
    }

    /// The stored form. An id that is not of the contract's form is stored as the start of its
    /// second (lower, so nothing is skipped: that second is read again).
    public var description: String { "\(time)|\(WireIdentifier.isValid(id) ? id : "")" }

    public static func < (a: PortalPosition, b: PortalPosition) -> Bool { (a.time, a.id) < (b.time, b.id) }
}

/// The portal pull's decisions (contract §2.3, §2.5) as a pure state machine, in the manner of
/// async-http-client's connection state machines: events in, effects out, no socket and no clock
/// but the ones passed in.
///
///     var paging = PortalPaging(settings: settings, position: stored, clock: reading)
///     var effects = paging.start()
///     // carry out each effect; feed answers back:
///     effects = paging.pageArrived(keys: page.keys, total: page.total)
///     effects = paging.requestFailed(retryable: true, delay: 1.5)
///
/// 1. **Settled part.** The position moves only below the lag horizon (`clock.now − lag`), where
///    every record is guaranteed visible, in windows of at most 24 h, by *keyset*: each request
///    starts at the position's second and what is at or below the position is skipped, so a record
///    that leaves the window cannot shift an unread one onto a page already read. A full page
///    inside one second is read again whole by offset, until `total` holds still for a pass.
///    The position is committed with the records of its page (``Effect/ingest(_:commit:)``).
/// 2. **Recent part.** Once caught up, a scan above the horizon ingests early and commits nothing.
///
/// Every request — first reads, re-reads of a crowded second, in-cycle retries — spends one
/// page of the cycle's budget, so a portal whose `total` never matches cannot keep a cycle
/// going: the cycle stops with ``Stop/unstable(_:)`` or ``Stop/budgetSpent``.
public struct PortalPaging: Sendable {
    public struct Settings: Hashable, Sendable {
        public var pageSize: Int
        /// Visibility lag plus margin, seconds: the horizon is this far behind now.
        public var lagSeconds: Int
        /// Requests this cycle may make.
        public var pageBudget: Int
        /// Passes over a crowded second before it is left for the next cycle.
        public var maxPasses = 5
        /// Attempts of one request within the cycle (a longer outage waits for the next cycle).
        public var attemptsPerRequest = 3

        public init(pageSize: Int, lagSeconds: Int, pageBudget: Int) {
            self.pageSize = pageSize
            self.lagSeconds = lagSeconds
            self.pageBudget = pageBudget
        }
    }

    /// One list request: `[start, end)`, a page.
    public struct Request: Hashable, Sendable {
        public var start: BeijingTime
        public var end: BeijingTime
        public var pageNo: Int
    }

    public enum Stop: Hashable, Sendable {
        /// Everything below the horizon was read, and the recent part scanned.
        case caughtUp
        case budgetSpent
        /// The records of this second kept changing while they were read.
        case unstable(BeijingTime)
        /// The budget ran out inside this second, which the portal says holds `claimed` records.
        case crowded(BeijingTime, claimed: Int)
        /// A request failed for good this cycle.
        case failed
    }

    public enum Effect: Hashable, Sendable {
        /// Store these entries of the page just arrived (by index) and, in the same transaction,
        /// the new settled position when there is one.
        case ingest([Int], commit: PortalPosition?)
        /// Keep every entry of the page just arrived: part of a crowded second.
        case hold
        /// Forget the entries held: the crowded second changed while it was read.
        case dropHeld
        /// Store every entry held, and the position after the crowded second.
        case ingestHeld(commit: PortalPosition)
        /// Send this request, after waiting `after` seconds (an in-cycle retry).
        case request(Request, after: Double)
        case stop(Stop)
    }

    enum State: Hashable, Sendable {
        case idle
        case settled(end: BeijingTime)
        case crowded(second: BeijingTime, pass: Int, pageNo: Int, total: Int?, collected: Int)
        case recent(cursor: PortalPosition, end: BeijingTime)
        case stopped(Stop)
    }

    public let settings: Settings
    public let clock: PortalClock.Reading
    /// Below this portal time every record is visible.
    public let horizon: BeijingTime
    /// The position committed so far (the stored one at the start).
    public private(set) var position: PortalPosition
    public private(set) var budget: Int
    /// Requests made, retries included.
    public private(set) var requests = 0
    private(set) var state: State = .idle
    private var pending: (request: Request, attempts: Int)?

    public init(settings: Settings, position: PortalPosition, clock: PortalClock.Reading) {
        self.settings = settings
        self.clock = clock
        self.position = position
        self.horizon = clock.now.adding(seconds: -settings.lagSeconds)
        self.budget = settings.pageBudget
    }

    /// Whether the settled part reached the horizon.
    public var caughtUp: Bool { position.time >= horizon }

    public var stopReason: Stop? {
        if case .stopped(let stop) = state { return stop }
        return nil
    }

    public mutating func start() -> [Effect] {
        guard case .idle = state else { return [] }
        return continueFrom(position)
    }

    /// A page answered `request`: the keys of its entries in order (nil for an entry without a
    /// readable key), and the `total` the portal claims.
    public mutating func pageArrived(keys: [PortalPosition?], total: Int) -> [Effect] {
        pending = nil
        let full = keys.count >= settings.pageSize
        switch state {
        case .settled(let end):
            let fresh = keys.indices.filter { keys[$0].map { $0 > position } ?? true }
            let next: PortalPosition
            if !full {
                next = PortalPosition(time: end, id: "")            // the window is exhausted
            } else if let last = keys.compactMap({ $0 }).max(), last.time > position.time {
                next = last                                         // keyset: continue after it
            } else {
                // A full page inside one second: read that second whole, by offset.
                let second = position.time
                return send(Request(start: second, end: second.adding(seconds: 1), pageNo: 1),
                            then: .crowded(second: second, pass: 1, pageNo: 1, total: nil, collected: 0))
            }
            position = next
            return [.ingest(fresh, commit: next)] + continueFrom(next)
        case .crowded(let second, let pass, let pageNo, let known, let collected):
            if let known, known != total {
                guard pass < settings.maxPasses else { return [.dropHeld] + halt(.unstable(second)) }
                return [.dropHeld] + send(Request(start: second, end: second.adding(seconds: 1), pageNo: 1),
                                          then: .crowded(second: second, pass: pass + 1, pageNo: 1, total: nil, collected: 0))
            }
            let count = collected + keys.count
            if !full || count >= total {
                let next = PortalPosition(time: second.adding(seconds: 1), id: "")
                position = next
                return [.hold, .ingestHeld(commit: next)] + continueFrom(next)
            }
            return [.hold] + send(Request(start: second, end: second.adding(seconds: 1), pageNo: pageNo + 1),
                                  then: .crowded(second: second, pass: pass, pageNo: pageNo + 1, total: total, collected: count))
        case .recent(let cursor, let end):
            let fresh = keys.indices.filter { keys[$0].map { $0 > cursor } ?? true }
            guard full, let last = keys.compactMap({ $0 }).max(), last.time > cursor.time else {
                return [.ingest(fresh, commit: nil)] + halt(.caughtUp)
            }
            return [.ingest(fresh, commit: nil)]
                + send(Request(start: last.time, end: end, pageNo: 1), then: .recent(cursor: last, end: end))
        case .idle, .stopped:
            return []
        }
    }

    /// The request in flight failed; `delay` is what the retry policy asks for before another try.
    public mutating func requestFailed(retryable: Bool, delay: Double) -> [Effect] {
        guard let (request, attempts) = pending else { return [] }
        guard retryable, attempts < settings.attemptsPerRequest, budget > 0 else { return halt(.failed) }
        budget -= 1
        requests += 1
        pending = (request, attempts + 1)
        return [.request(request, after: delay)]
    }

    private mutating func continueFrom(_ from: PortalPosition) -> [Effect] {
        if from.time < horizon {
            let end = min(horizon, from.time.adding(seconds: 86_400))
            return send(Request(start: from.time, end: end, pageNo: 1), then: .settled(end: end))
        }
        // Caught up: scan above the horizon without moving the position.
        let end = clock.now.adding(seconds: 60)
        guard from.time < end else { return halt(.caughtUp) }
        return send(Request(start: from.time, end: end, pageNo: 1), then: .recent(cursor: from, end: end))
    }

    private mutating func send(_ request: Request, then next: State) -> [Effect] {
        guard budget > 0 else {
            if case .crowded(let second, _, _, let total?, _) = next { return halt(.crowded(second, claimed: total)) }
            return halt(.budgetSpent)
        }
        budget -= 1
        requests += 1
        state = next
        pending = (request, 1)
        return [.request(request, after: 0)]
    }

    private mutating func halt(_ stop: Stop) -> [Effect] {
        state = .stopped(stop)
        pending = nil
        return [.stop(stop)]
    }
}
