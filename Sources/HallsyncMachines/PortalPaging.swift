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

/// A second holding more records than a page, being read whole by offset — possibly over several
/// cycles: the pass goes on from `nextPage` as long as the portal's `total` stays `total`.
public struct CrowdedSecond: Hashable, Sendable, CustomStringConvertible {
    public var second: BeijingTime
    public var nextPage: Int
    /// The `total` of the pass so far; nil before its first page.
    public var total: Int?
    /// Records read in the pass so far.
    public var collected: Int

    public init(second: BeijingTime, nextPage: Int = 1, total: Int? = nil, collected: Int = 0) {
        self.second = second
        self.nextPage = nextPage
        self.total = total
        self.collected = collected
    }

    /// Stored as `yyyy-MM-dd HH:mm:ss|nextPage|total|collected`.
    public init?(stored: String) {
        let parts = stored.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, let second = BeijingTime(parsing: parts[0]), let page = Int(parts[1]), page >= 1,
              let collected = Int(parts[3]) else { return nil }
        self.init(second: second, nextPage: page, total: Int(parts[2]), collected: collected)
    }

    public var description: String { "\(second)|\(nextPage)|\(total.map(String.init) ?? "")|\(collected)" }
}

/// The portal pull's decisions (contract §2.3, §2.5) as a pure state machine, in the manner of
/// async-http-client's connection state machines: events in, effects out, no socket and no clock
/// but the ones passed in.
///
///     var paging = PortalPaging(settings: settings, position: stored, crowded: nil, clock: reading)
///     var effects = paging.start()
///     // carry out each effect; feed answers back:
///     effects = paging.pageArrived(keys: page.keys, total: page.total)
///     effects = paging.requestFailed(retryable: true, delay: 1.5)
///
/// 1. **Settled part.** The position moves only below the lag horizon (`clock.now − lag`), where
///    every record is guaranteed visible, in windows of at most 24 h, by *keyset*: each request
///    starts at the position's second and what is at or below the position is skipped, so a record
///    that leaves the window cannot shift an unread one onto a page already read. A full page
///    inside one second is read again whole by offset (``CrowdedSecond``): its records are stored
///    as they come, the position moves past it only after a pass in which `total` held still, and
///    a pass longer than a cycle's budget goes on next cycle where it stopped.
///    The position is committed with the records of its page (``Effect/ingest(_:commit:crowded:)``).
/// 2. **Recent part.** Once caught up, a scan above the horizon ingests early and commits nothing.
///
/// Every request — first reads, re-reads of a crowded second, in-cycle retries — spends one
/// page of the cycle's budget, so a portal whose `total` never matches cannot keep a cycle
/// going: the cycle stops with ``Stop/unstable(_:)`` or ``Stop/budgetSpent``, and the position
/// does not move past a second it could not read whole.
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
        /// A request failed for good this cycle.
        case failed
    }

    public enum Effect: Hashable, Sendable {
        /// Store these entries of the page just arrived (by index) and, in the same transaction,
        /// the new settled position when there is one, and the crowded second's progress (nil:
        /// none is being read).
        case ingest([Int], commit: PortalPosition?, crowded: CrowdedSecond?)
        /// Send this request, after waiting `after` seconds (an in-cycle retry).
        case request(Request, after: Double)
        case stop(Stop)
    }

    enum State: Hashable, Sendable {
        case idle
        case settled(end: BeijingTime)
        case crowded(CrowdedSecond, pass: Int)
        case recent(cursor: PortalPosition, end: BeijingTime)
        case stopped(Stop)
    }

    public let settings: Settings
    public let clock: PortalClock.Reading
    /// Below this portal time every record is visible.
    public let horizon: BeijingTime
    /// The position committed so far (the stored one at the start).
    public private(set) var position: PortalPosition
    /// The crowded second being read, when one is (as stored at the start, then as read).
    public private(set) var crowded: CrowdedSecond?
    public private(set) var budget: Int
    /// Requests made, retries included.
    public private(set) var requests = 0
    private(set) var state: State = .idle
    private var pending: (request: Request, attempts: Int)?

    public init(settings: Settings, position: PortalPosition, crowded: CrowdedSecond? = nil, clock: PortalClock.Reading) {
        self.settings = settings
        self.clock = clock
        self.position = position
        // A pass left unfinished by the last cycle goes on, if it is about the second the position is at.
        self.crowded = crowded.flatMap { $0.second == position.time ? $0 : nil }
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
        if let crowded, crowded.second < horizon {
            return send(Request(start: crowded.second, end: crowded.second.adding(seconds: 1), pageNo: crowded.nextPage),
                        then: .crowded(crowded, pass: 1))
        }
        crowded = nil
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
                let second = CrowdedSecond(second: position.time)
                crowded = second
                return [.ingest(fresh, commit: nil, crowded: second)]
                    + send(Request(start: second.second, end: second.second.adding(seconds: 1), pageNo: 1), then: .crowded(second, pass: 1))
            }
            position = next
            return [.ingest(fresh, commit: next, crowded: nil)] + continueFrom(next)
        case .crowded(var second, let pass):
            let all = Array(keys.indices)
            if let known = second.total, known != total {
                // The second changed while it was read: what was read is stored, the pass starts again.
                let restarted = CrowdedSecond(second: second.second)
                crowded = restarted
                guard pass < settings.maxPasses else { return [.ingest(all, commit: nil, crowded: restarted)] + halt(.unstable(second.second)) }
                return [.ingest(all, commit: nil, crowded: restarted)]
                    + send(Request(start: second.second, end: second.second.adding(seconds: 1), pageNo: 1), then: .crowded(restarted, pass: pass + 1))
            }
            second.total = total
            second.collected += keys.count
            if !full || second.collected >= total {
                let next = PortalPosition(time: second.second.adding(seconds: 1), id: "")
                position = next
                crowded = nil
                return [.ingest(all, commit: next, crowded: nil)] + continueFrom(next)
            }
            second.nextPage += 1
            crowded = second
            return [.ingest(all, commit: nil, crowded: second)]
                + send(Request(start: second.second, end: second.second.adding(seconds: 1), pageNo: second.nextPage), then: .crowded(second, pass: pass))
        case .recent(let cursor, let end):
            let fresh = keys.indices.filter { keys[$0].map { $0 > cursor } ?? true }
            guard full, let last = keys.compactMap({ $0 }).max(), last.time > cursor.time else {
                return [.ingest(fresh, commit: nil, crowded: nil)] + halt(.caughtUp)
            }
            return [.ingest(fresh, commit: nil, crowded: nil)]
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
        guard budget > 0 else { return halt(.budgetSpent) }
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
