/// Which daemon of an active/standby pair leads a region, decided by a lease row in PostgreSQL
/// (`holder`, `epoch`, expiry by the database's clock), as a pure state machine: events in,
/// actions out, no connection and no clock but the times passed in.
///
///     var lease = LeaderLease(holder: instanceId)
///     var actions = lease.tick(now: t0, jitter: .random(in: 0..<0.5))   // [.acquire(…), .wait(until:)]
///     // carry out each action; feed the answers back:
///     actions = lease.acquireAnswered(epoch: 8, startedAt: t0)          // [.recoverAfterTakeover(epoch: 8)]
///     lease.recovered(epoch: 8)
///     // before every HTTP send:
///     guard case .granted(let epoch, let timeout) = lease.sendPermission(now: t1, timeout: 30) else { … }
///
///     standby ──acquire won (epoch + 1)──▶ taking over ──recovered──▶ leader
///     taking over / leader ──renewal "not yours", any database error──▶ standby (polls again)
///     taking over / leader ──stop──▶ resign, stopped
///
/// Times are seconds of one monotonic clock that goes on counting while the machine is suspended:
/// `ContinuousClock` (CLOCK_BOOTTIME on Linux) — not `SuspendingClock` or `DispatchTime`
/// (CLOCK_MONOTONIC), which stand still through a suspend and would hide it from the window.
///
/// 1. **Trust.** A lease won or renewed by a request that started at `s` is trusted until
///    `s + ttl − margin`: the database set the expiry `ttl` ahead of its clock at the statement,
///    which ran after `s`; the margin covers the two clocks' rates and a send's last moments.
///    Trust runs from the start, never from the answer, so a late answer (a frozen process) cannot
///    stretch it; once the deadline passes — however the clock got there, SIGSTOP or a suspend —
///    nothing is sent until a renewal started since is granted.
/// 2. **Losing.** A renewal answered "not yours", or any database error, ends leadership at once,
///    whatever the window still says; the daemon then polls for the lease as a standby does.
/// 3. **Taking over.** A lease won (a new epoch) permits no send before the takeover step has run:
///    a database fail-over may have lost commits, so creates are looked up by `externalId` first.
///
/// The shell's loop: tick, carry out the actions, wait until the `.wait` time or an answer,
/// feed the answer in, tick again.
public struct LeaderLease: Sendable {
    public struct Settings: Hashable, Sendable {
        /// Seconds the database sets the expiry ahead of its own clock, at each acquire and renewal.
        public var ttl: Double
        /// Seconds between the starts of two renewals.
        public var renewInterval: Double
        /// Seconds of each lease not trusted: the rates of two clocks, a send's last moments.
        public var margin: Double
        /// Seconds between a standby's attempts, before the caller's jitter.
        public var pollInterval: Double

        public init(ttl: Double = 15, renewInterval: Double = 3, margin: Double = 2, pollInterval: Double = 1) {
            self.ttl = ttl
            self.renewInterval = renewInterval
            self.margin = margin
            self.pollInterval = pollInterval
        }

        /// How long a granted lease is trusted from the start of the request that won or renewed
        /// it — and so the longest a lease request is worth waiting for (its time-out).
        public var trustSpan: Double { ttl - margin }

        /// What makes these settings unusable; empty when they are fine.
        public var problems: [String] {
            var problems: [String] = []
            if !(margin > 0) { problems.append("margin (\(margin) s) must be above 0") }
            if !(renewInterval > 0) { problems.append("renewInterval (\(renewInterval) s) must be above 0") }
            if !(renewInterval < trustSpan) {
                problems.append("renewInterval (\(renewInterval) s) must be shorter than ttl − margin (\(trustSpan) s), or trust lapses between renewals")
            }
            if !(pollInterval > 0) { problems.append("pollInterval (\(pollInterval) s) must be above 0") }
            return problems
        }
    }

    /// What the shell does. Each database request is answered by the event its case names, with
    /// its `startedAt`: the `now` of the tick that asked, so before the request is sent.
    public enum Action: Hashable, Sendable {
        /// Take the lease if it has expired by the database's clock — `epoch + 1`, this holder, the
        /// expiry `ttl` ahead — and answer ``acquireAnswered(epoch:startedAt:)`` (nil: another holds it).
        case acquire(holder: String, startedAt: Double)
        /// Set the expiry `ttl` ahead where the row is still `(holder, epoch)` — by the clock at the
        /// statement (`clock_timestamp()`, not an older transaction's `now()`) — and answer
        /// ``renewAnswered(granted:startedAt:)``.
        case renew(holder: String, epoch: Int, startedAt: Double)
        /// Look up by `externalId` the creates whose commits a fail-over may have lost (reads only),
        /// then call ``recovered(epoch:)``.
        case recoverAfterTakeover(epoch: Int)
        /// Expire the lease now where the row is still `(holder, epoch)`, so the standby need not
        /// wait out the TTL. On the lease's one connection, after any renewal in flight — or that
        /// renewal would extend what this expires.
        case resign(holder: String, epoch: Int)
        /// Nothing to do before this time: tick then, or when an answer comes.
        case wait(until: Double)
    }

    public enum SendPermission: Hashable, Sendable {
        /// Send with a time-out of `timeout` s at most: what is left of the window. `epoch` is the
        /// fencing token.
        case granted(epoch: Int, timeout: Double)
        case refused(Refusal)
    }

    public enum Refusal: Hashable, Sendable {
        /// The lease is another's, or being polled for.
        case standby
        /// The lease is ours; the takeover step has not finished.
        case takingOver
        /// The window passed without a granted renewal (a freeze, a slow database): renew first.
        case trustEnded
        case stopped
    }

    /// For status reporting. A leader whose window has passed is still `.leader` (the lease is
    /// its own until the database says otherwise); ``sendPermission(now:timeout:)`` says whether
    /// it may send.
    public enum Role: Hashable, Sendable {
        case standby
        case takingOver(epoch: Int)
        /// `since`: the start of the acquire that won the lease.
        case leader(epoch: Int, since: Double)
        case stopped
    }

    /// The lease while it is ours.
    struct Tenure: Hashable, Sendable {
        var epoch: Int
        var since: Double
        var recovered = false
        /// Start of the last granted request + trust span.
        var trustedUntil: Double
        /// Start of the last request (acquire or renewal): the next renewal is due an interval later.
        var lastStart: Double
        /// Start of the renewal awaiting its answer; any other renewal's answer is ignored.
        var inFlight: Double?
    }

    enum State: Hashable, Sendable {
        case standby(nextAttemptAt: Double)
        /// `retryAt`: the next attempt, should this one not win.
        case acquiring(startedAt: Double, retryAt: Double)
        case holding(Tenure)
        /// `acquiring`: the start of an attempt out when the stop came — a lease it wins is given back.
        case stopped(acquiring: Double?)
    }

    public let holder: String
    public let settings: Settings
    private(set) var state: State = .standby(nextAttemptAt: -.infinity)

    /// Starts as a standby that tries at its first tick. `holder`: this daemon's instance id.
    public init(holder: String, settings: Settings = Settings()) {
        self.holder = holder
        self.settings = settings
    }

    public var role: Role {
        switch state {
        case .standby, .acquiring: .standby
        case .holding(let tenure): tenure.recovered ? .leader(epoch: tenure.epoch, since: tenure.since) : .takingOver(epoch: tenure.epoch)
        case .stopped: .stopped
        }
    }

    /// Whether an HTTP send may start now, asked before every one: only a leader past its takeover
    /// and inside its window, with `timeout` capped to what is left of the window, so no request
    /// of this leader outlives its trust.
    public func sendPermission(now: Double, timeout: Double) -> SendPermission {
        switch state {
        case .standby, .acquiring: return .refused(.standby)
        case .stopped: return .refused(.stopped)
        case .holding(let tenure):
            guard tenure.recovered else { return .refused(.takingOver) }
            let left = tenure.trustedUntil - now
            guard left > 0 else { return .refused(.trustEnded) }
            return .granted(epoch: tenure.epoch, timeout: min(timeout, left))
        }
    }

    /// What is due at `now`. A standby tries for the lease every poll interval plus `jitter`
    /// (the caller's random value, 0 or more: the machine draws none); a holder renews one interval after its
    /// last request started, one renewal at a time. A request whose answer could no longer be
    /// trusted (`start + ttl − margin` passed: a freeze, a hung database) is given up and sent anew.
    public mutating func tick(now: Double, jitter: Double = 0) -> [Action] {
        switch state {
        case .standby(let next):
            return now >= next ? attempt(now: now, jitter: jitter) : [.wait(until: next)]
        case .acquiring(let start, _):
            let useless = start + settings.trustSpan
            return now >= useless ? attempt(now: now, jitter: jitter) : [.wait(until: useless)]
        case .holding(var tenure):
            if let start = tenure.inFlight, now < start + settings.trustSpan { return [.wait(until: start + settings.trustSpan)] }
            let due = tenure.lastStart + settings.renewInterval
            guard tenure.inFlight != nil || now >= due || now >= tenure.trustedUntil else { return [.wait(until: due)] }
            tenure.lastStart = now
            tenure.inFlight = now
            state = .holding(tenure)
            return [.renew(holder: holder, epoch: tenure.epoch, startedAt: now), .wait(until: now + settings.trustSpan)]
        case .stopped:
            return []
        }
    }

    /// The acquire started at `startedAt` answered: the new epoch, or nil when another holds the
    /// lease. A win starts the takeover step; trust runs from the attempt's start.
    public mutating func acquireAnswered(epoch: Int?, startedAt: Double) -> [Action] {
        switch state {
        case .acquiring(let start, let retryAt) where start == startedAt:
            guard let epoch else {
                state = .standby(nextAttemptAt: retryAt)
                return []
            }
            state = .holding(Tenure(epoch: epoch, since: startedAt, trustedUntil: startedAt + settings.trustSpan, lastStart: startedAt))
            return [.recoverAfterTakeover(epoch: epoch)]
        case .stopped(let start?) where start == startedAt:
            state = .stopped(acquiring: nil)
            return epoch.map { [.resign(holder: holder, epoch: $0)] } ?? []
        default:
            return []   // an attempt given up
        }
    }

    /// The renewal started at `startedAt` answered. Granted: trusted until its start + ttl − margin,
    /// which may be past already (a late answer restores nothing). Refused ("not yours": a newer
    /// epoch, or the row expired and taken): standby. Answers of renewals given up are ignored.
    public mutating func renewAnswered(granted: Bool, startedAt: Double) {
        guard case .holding(var tenure) = state, tenure.inFlight == startedAt else { return }
        guard granted else {
            state = .standby(nextAttemptAt: startedAt + settings.pollInterval)
            return
        }
        tenure.inFlight = nil
        tenure.trustedUntil = max(tenure.trustedUntil, startedAt + settings.trustSpan)
        state = .holding(tenure)
    }

    /// Any error of the lease's database — a request failed, the connection lost, an answer timed
    /// out: not the leader from now, window or not; the lease is polled for again.
    public mutating func databaseFailed(now: Double) {
        switch state {
        case .holding: state = .standby(nextAttemptAt: now + settings.pollInterval)
        case .acquiring(_, let retryAt): state = .standby(nextAttemptAt: retryAt)
        case .stopped(.some): state = .stopped(acquiring: nil)
        case .standby, .stopped(.none): break
        }
    }

    /// The takeover step of `epoch` finished: sends are permitted (inside the window). One of an
    /// epoch since lost permits nothing.
    public mutating func recovered(epoch: Int) {
        guard case .holding(var tenure) = state, tenure.epoch == epoch else { return }
        tenure.recovered = true
        state = .holding(tenure)
    }

    /// SIGTERM: no send from now; a holder gives the lease back.
    public mutating func stopRequested() -> [Action] {
        switch state {
        case .holding(let tenure):
            state = .stopped(acquiring: nil)
            return [.resign(holder: holder, epoch: tenure.epoch)]
        case .acquiring(let start, _):
            state = .stopped(acquiring: start)
            return []
        case .standby:
            state = .stopped(acquiring: nil)
            return []
        case .stopped:
            return []
        }
    }

    private mutating func attempt(now: Double, jitter: Double) -> [Action] {
        state = .acquiring(startedAt: now, retryAt: now + settings.pollInterval + max(0, jitter))
        return [.acquire(holder: holder, startedAt: now), .wait(until: now + settings.trustSpan)]
    }
}
