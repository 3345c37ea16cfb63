import Dispatch
import Foundation
import HallsyncStore
import HallsyncTransport
import Logging
import Synchronization

/// The long-running loop: a `DispatchSourceTimer` on one serial queue starts a cycle every
/// `sync.interval` seconds; cycles never overlap (a tick that comes while a cycle runs is
/// coalesced by the timer).
///
///     let daemon = Daemon(engine: engine, logger: logger)
///     daemon.reload = { try SyncEngine(configuration: .load(path: path), logger: logger) }
///     daemon.run()   // until SIGTERM or SIGINT
///
/// - SIGINT, SIGTERM: the stop signal is set; the cycle stops taking new work, the requests
///   in flight get `stopGrace` seconds to answer (their answers are committed) and are then
///   abandoned (the outbox keeps them for the next start); ``run(handleSignals:)`` returns.
/// - SIGHUP: between two cycles, ``reload`` builds a new engine from the files on disk. When
///   it throws, the running engine stays and the error is reported.
public final class Daemon: @unchecked Sendable {
    /// The engine in use; replaced only on the cycle queue, between cycles.
    public private(set) var engine: SyncEngine
    public let stop = StopSignal()
    let logger: Logger
    /// The cycle queue: cycles, reloads and the hooks run here, one at a time.
    public let queue = DispatchQueue(label: "hallsync.cycles")
    private let finished = DispatchSemaphore(value: 0)
    private var timer: DispatchSourceTimer?

    /// Seconds the requests in flight may take after a stop request before they are abandoned.
    public var stopGrace: Double = 5
    /// Called on the cycle queue once the loop is set up, before the first cycle.
    public var onReady: (@Sendable (SyncEngine) -> Void)?
    /// Called on the cycle queue after every cycle (progress, status file, watchdog).
    public var onCycle: (@Sendable (SyncEngine.CycleReport, SyncEngine) -> Void)?
    /// Called when a stop is requested, before the cycle in progress ends.
    public var onStopping: (@Sendable () -> Void)?
    /// Builds the engine anew for SIGHUP; nil: SIGHUP is ignored with a log line.
    public var reload: (@Sendable () throws -> SyncEngine)?
    /// Set when a cycle met a failure the daemon must not go on after (its database file was
    /// deleted or replaced); ``run(handleSignals:)`` then returns and the caller exits non-zero.
    public private(set) var fatal: StoreError?
    /// Called on the cycle queue when a reload starts (`true`) and when it ends (`false`), with its failure if any.
    public var onReload: (@Sendable (_ starting: Bool, _ failure: (any Error)?, SyncEngine) -> Void)?

    public init(engine: SyncEngine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    /// Asks ``run(handleSignals:)`` to return after the requests in flight.
    public func requestStop() {
        guard !stop.isSet else { return }
        stop.set()
        onStopping?()
        let grace = stopGrace
        DispatchQueue.global().asyncAfter(deadline: .now() + grace) {
            CurlHTTPClient.abandonRequestsInFlight()
        }
        finished.signal()
    }

    /// A reload is queued and has not started: further SIGHUPs until it starts are the same request.
    private let reloadQueued = Atomic<Bool>(false)
    /// When the last cycle started (monotonic seconds), on the cycle queue.
    private var lastCycleStart: Double?

    /// Rebuilds the engine between two cycles (what SIGHUP does). Requests that come faster than
    /// reloads are done are merged, and a reload never delays the next cycle.
    public func requestReload() {
        guard !reloadQueued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async { [self] in
            reloadQueued.store(false, ordering: .releasing)
            reloadNow()
        }
    }

    private func reloadNow() {
        guard !stop.isSet else { return }
        guard let reload else {
            logger.notice("SIGHUP ignored: this run has nothing to reload")
            return
        }
        onReload?(true, nil, engine)
        do {
            let fresh = try reload()
            let previous = engine.configuration.sync.interval
            engine = fresh
            let interval = fresh.configuration.sync.interval
            if interval != previous {
                // The next cycle comes an interval after the last one started, never later for a reload.
                let delay = CycleSchedule.delayUntilNextCycle(lastStart: lastCycleStart, interval: interval, now: Self.monotonicSeconds())
                timer?.schedule(deadline: .now() + delay, repeating: interval, leeway: .milliseconds(50))
            }
            // What the operator fixed (a URL, a token) is tried at once, not after the backoff.
            let due = (try? fresh.store.write { tx in try tx.rescheduleAllPending(at: fresh.clock.now) }) ?? 0
            logger.notice("configuration reloaded", metadata: ["interval": "\(fresh.configuration.sync.interval)", "sendsDueNow": "\(due)"])
            onReload?(false, nil, fresh)
        } catch {
            logger.error("reload refused, the running configuration stays: \(error)")
            onReload?(false, error, engine)
        }
    }

    static func monotonicSeconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Blocks until SIGINT or SIGTERM (or ``requestStop()``), then returns after the cycle in progress.
    public func run(handleSignals: Bool = true) {
        let signalQueue = DispatchQueue(label: "hallsync.signals")
        var sources: [DispatchSourceSignal] = []
        if handleSignals {
            for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: signalQueue)
                source.setEventHandler { [self] in
                    if signalNumber == SIGHUP {
                        logger.notice("reload requested by SIGHUP")
                        requestReload()
                    } else {
                        logger.notice("stop requested by signal \(signalNumber); finishing the requests in flight")
                        requestStop()
                    }
                }
                source.resume()
                sources.append(source)
            }
        }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        self.timer = timer
        timer.schedule(deadline: .now(), repeating: engine.configuration.sync.interval, leeway: .milliseconds(50))
        timer.setEventHandler { [self] in
            guard !stop.isSet else { return }
            lastCycleStart = Self.monotonicSeconds()
            let report = engine.runCycle(stop: stop)
            logger.info("cycle done: \(report.summary)")
            onCycle?(report, engine)
            if let error = report.fatal {
                fatal = error
                logger.critical("stopping: \(error.message)")
                requestStop()
            } else if !stop.isSet, let started = lastCycleStart {
                // The cadence is CycleSchedule's: at once after a cycle that left work for lack of
                // budget (a backlog; a SIGHUP or SIGTERM still gets in between), else an interval
                // after this one started.
                let interval = engine.configuration.sync.interval
                let delay = CycleSchedule.delayAfterCycle(started: started, interval: interval, now: Self.monotonicSeconds(), moreWork: report.moreWork)
                timer.schedule(deadline: .now() + delay, repeating: interval, leeway: .milliseconds(50))
            }
        }
        // One of a pair: the lease is sought from now on; cycles work once it is won.
        engine.pair?.start()
        queue.async { [self] in onReady?(engine) }
        timer.resume()
        finished.wait()
        // The cycle in progress sees the stop signal between requests; wait for it to return.
        timer.cancel()
        queue.sync {}
        // The lease is given back once the cycle in progress has returned: the standby takes over at once.
        if let pair = engine.pair {
            pair.stop()
            logger.notice("resigned the lease", metadata: ["region": "\(pair.region)"])
        }
        for source in sources { source.cancel() }
        logger.notice("stopped; state is consistent")
    }
}
