import Foundation
import HallsyncPostgres
import Synchronization

/// The shell around ``LeaderLease``: a thread of its own with a connection of its own carries out
/// the machine's actions against the lease row (``LeaseStore``), and anyone asks it, before every
/// HTTP send, whether this daemon may send and for how long (``sendPermission(timeout:)``).
///
///     let keeper = try LeaseKeeper(conninfo: "host=db1,db2 target_session_attrs=read-write dbname=hallsync",
///                                  region: "371002", holder: instanceId, onTakeover: { epoch in lookUpCreates() })
///     keeper.start()
///     guard case .granted(let epoch, let timeout) = keeper.sendPermission(timeout: 30) else { return }   // before each send
///     keeper.stop()                                                                                      // SIGTERM: resign
///
/// Times are ``ContinuousClock`` seconds (CLOCK_BOOTTIME on Linux: a suspend counts). Every lease
/// request runs with a statement time-out of the machine's trust span (what a longer answer would
/// be worth), and any error of it ends leadership at once and opens a new connection (libpq's
/// multi-host fail-over picks the writable server).
public final class LeaseKeeper: Sendable {
    public let region: String
    public let holder: String
    public let settings: LeaderLease.Settings
    private let conninfo: String
    private let machine: Mutex<LeaderLease>
    private let onTakeover: @Sendable (Int) throws -> Void
    private let control = Mutex<Control>(Control())
    private let wake = NSCondition()
    private let origin = ContinuousClock.now
    private let finished = DispatchSemaphore(value: 0)
    /// Test-only negative control: judge a send by the time of the keeper's last tick, as a daemon
    /// would that checks its lease only in its own loop — blind to a freeze of that loop.
    private let judgedAtLastTick: Bool
    private let lastTick = Mutex<Double>(0)

    private struct Control {
        var started = false
        var stopping = false
        /// Test hooks: a freeze holds the thread without a tick (as SIGSTOP would); a crash ends it
        /// without resigning (as SIGKILL would).
        var frozenUntil: Double?
        /// When the thread stopped for the freeze (keeper seconds): no request of its started later.
        var frozenAt: Double?
        var crashed = false
        /// Actions the machine gave outside the keeper's thread (a stop, a failed takeover step):
        /// carried out by the thread after its current request, on its connection.
        var pending: [LeaderLease.Action] = []
        /// A takeover step is running on a thread of its own.
        var takingOver = false
    }

    /// - Parameter onTakeover: the takeover step, run on the keeper's thread after a lease is won
    ///   and before the first send (creates looked up by `externalId`); an error ends the lease.
    /// - Parameter unsafeJudgedAtLastTick: tests only (the negative control): see ``judgedAtLastTick``.
    public init(conninfo: String, region: String, holder: String, settings: LeaderLease.Settings = .init(),
                unsafeJudgedAtLastTick: Bool = false, onTakeover: @escaping @Sendable (Int) throws -> Void = { _ in }) {
        precondition(settings.problems.isEmpty, "lease settings: \(settings.problems.joined(separator: "; "))")
        judgedAtLastTick = unsafeJudgedAtLastTick
        self.conninfo = conninfo
        self.region = region
        self.holder = holder
        self.settings = settings
        self.onTakeover = onTakeover
        machine = Mutex(LeaderLease(holder: holder, settings: settings))
    }

    /// Seconds since the keeper was made, by the monotonic clock that counts a suspend.
    public var now: Double {
        let (seconds, attoseconds) = (ContinuousClock.now - origin).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whether an HTTP send may start now; `timeout`: the request's own, capped to what is left of the window.
    ///
    /// The clock is read under the machine's lock, so no renewal answer or stop slips between the
    /// reading and the judgement. The caller starts the request at once with the time-out given;
    /// a freeze between this answer and the request's start is what the database fence and the
    /// halls' idempotency keys are for.
    public func sendPermission(timeout: Double) -> LeaderLease.SendPermission {
        machine.withLock { lease in
            let now = judgedAtLastTick ? lastTick.withLock { $0 } : self.now
            return lease.sendPermission(now: now, timeout: timeout)
        }
    }

    public var role: LeaderLease.Role { machine.withLock { $0.role } }

    public func start() {
        let first = control.withLock { control -> Bool in
            defer { control.started = true }
            return !control.started
        }
        guard first else { return }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "hallsync-lease"
        thread.start()
    }

    /// SIGTERM: no send from now; the lease is given back so the standby need not wait out the TTL.
    /// Returns when the keeper's thread has ended (or after `timeout` seconds).
    @discardableResult
    public func stop(timeout: Double = 5) -> Bool {
        // No send from this moment; the resign goes out on the keeper's connection after the
        // request in flight (a renewal answered after it would extend what it ended).
        let resign = machine.withLock { $0.stopRequested() }
        control.withLock {
            $0.stopping = true
            $0.pending += resign
        }
        signal()
        guard finished.wait(timeout: .now() + timeout) == .success else { return false }
        finished.signal()   // a later stop (a test's defer, a second SIGTERM) returns at once
        return true
    }

    /// Test hook: the thread stops ticking for `seconds` (as a SIGSTOP of the process would); the
    /// monotonic clock goes on, so sends are refused once the window has passed.
    /// Returns when the thread has stopped (after the request it was carrying out): the keeper
    /// time it stopped at, which no request of its started after.
    @discardableResult
    public func freeze(seconds: Double) -> Double? {
        let until = now + seconds
        control.withLock {
            $0.frozenUntil = until
            $0.frozenAt = nil
        }
        signal()
        while now < until {
            if let at = control.withLock({ $0.frozenAt }) { return at }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return nil
    }

    /// Test hook: the thread ends without resigning and its connection is dropped (as SIGKILL would).
    public func crash() {
        control.withLock { $0.crashed = true }
        signal()
        if finished.wait(timeout: .now() + 5) == .success { finished.signal() }
    }

    private func signal() {
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    /// Waits until `until` (keeper seconds), a stop or a crash.
    private func sleep(until: Double) {
        wake.lock()
        defer { wake.unlock() }
        while now < until {
            let state = control.withLock { $0 }
            if state.stopping || state.crashed { return }
            _ = wake.wait(until: Date(timeIntervalSinceNow: min(until - now, 0.5)))
        }
    }

    private func run() {
        var store: LeaseStore?
        while true {
            let state = control.withLock { $0 }
            if state.crashed { return }
            if let frozen = state.frozenUntil {
                let at = now
                control.withLock { $0.frozenAt = at }
                sleep(until: frozen)
                control.withLock { if $0.frozenUntil == frozen { $0.frozenUntil = nil } }
                continue
            }
            // What was decided outside this thread first (a stop's resign), then what is due now.
            var actions = control.withLock { control -> [LeaderLease.Action] in
                defer { control.pending = [] }
                return control.pending
            }
            if !state.stopping {
                let now = self.now
                lastTick.withLock { $0 = now }
                actions += machine.withLock { $0.tick(now: now, jitter: Double.random(in: 0..<0.25) * settings.pollInterval) }
            }
            // A `.wait` counts only when nothing else was done: requests here are answered at once,
            // so after one the machine is asked again (its wait then reflects the answer).
            var waitUntil: Double?
            var acted = false
            while !actions.isEmpty {
                let action = actions.removeFirst()
                if case .wait = action {} else { acted = true }
                switch action {
                case .wait(let until):
                    waitUntil = until
                case .acquire(_, let startedAt):
                    do {
                        let epoch = try bounded(connected(&store)) { try $0.acquire(region: region, holder: holder, ttl: ttl) }
                        actions += machine.withLock { $0.acquireAnswered(epoch: epoch, startedAt: startedAt) }
                    } catch {
                        failed(&store)
                    }
                case .renew(_, let epoch, let startedAt):
                    do {
                        let granted = try bounded(connected(&store)) { try $0.renew(region: region, holder: holder, epoch: epoch, ttl: ttl) }
                        machine.withLock { $0.renewAnswered(granted: granted, startedAt: startedAt) }
                    } catch {
                        failed(&store)
                    }
                case .recoverAfterTakeover(let epoch):
                    takeOver(epoch)
                case .resign(_, let epoch):
                    _ = try? bounded(connected(&store)) { try $0.resign(region: region, holder: holder, epoch: epoch) }
                }
            }
            if state.stopping || control.withLock({ $0.stopping && $0.pending.isEmpty }) {
                if control.withLock({ $0.pending.isEmpty && !$0.takingOver }) { return }
                sleep(until: self.now + 0.05)
                continue
            }
            if !acted, let waitUntil { sleep(until: waitUntil) }
        }
    }

    /// The takeover step runs on a thread of its own while this one goes on renewing (a step longer
    /// than the trust span would otherwise lose the lease it is for). It ends the lease, given back
    /// at once, when it fails.
    private func takeOver(_ epoch: Int) {
        control.withLock { $0.takingOver = true }
        let step = Thread { [self] in
            do {
                try onTakeover(epoch)
                machine.withLock { $0.recovered(epoch: epoch) }
            } catch {
                let now = self.now
                machine.withLock { $0.databaseFailed(now: now) }
                control.withLock { $0.pending.append(.resign(holder: holder, epoch: epoch)) }
            }
            control.withLock { $0.takingOver = false }
            signal()
        }
        step.name = "hallsync-takeover"
        step.start()
    }

    private var ttl: Duration { .milliseconds(Int64(settings.ttl * 1000)) }

    /// The keeper's connection, opened when there is none (each request bounded: ``bounded(_:_:)``).
    private func connected(_ store: inout LeaseStore?) throws -> LeaseStore {
        if let store { return store }
        let connection = try PostgresConnection(conninfo: conninfo)
        let made = LeaseStore(connection)
        try made.migrate()
        store = made
        return made
    }

    /// A lease request in a transaction of its own that waits no longer than the trust span
    /// (`SET LOCAL statement_timeout`): never a session setting, which a pooler in transaction
    /// mode would leave on whichever server connection ran it, for other clients' statements.
    /// A keeper frozen between its renewal's `UPDATE` and the `COMMIT` holds the lease row's lock,
    /// which the standby's takeover waits for: the server ends such a transaction after the
    /// margin (`idle_in_transaction_session_timeout`; the renewal is rolled back, not granted).
    private func bounded<T>(_ store: LeaseStore, _ body: (LeaseStore) throws -> T) throws -> T {
        try store.connection.transaction(beginningWith: Self.boundedBegin(settings)) { _ in
            try body(store)
        }
    }

    /// The `BEGIN` of a lease request's transaction, with its two limits.
    public static func boundedBegin(_ settings: LeaderLease.Settings) -> String {
        "BEGIN; SET LOCAL statement_timeout = \(Int(settings.trustSpan * 1000)); SET LOCAL idle_in_transaction_session_timeout = \(Int(settings.margin * 1000))"
    }

    /// Any database error: not the leader from now; the next request opens a new connection.
    private func failed(_ store: inout LeaseStore?) {
        let now = self.now
        machine.withLock { $0.databaseFailed(now: now) }
        store?.connection.close()
        store = nil
    }
}
