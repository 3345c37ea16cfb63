import Dispatch
import Foundation
import Logging

/// The long-running loop: a `DispatchSourceTimer` on one serial queue starts a cycle every
/// `sync.interval` seconds; cycles never overlap (a tick that comes while a cycle runs is
/// coalesced by the timer). SIGINT and SIGTERM set the stop signal: the cycle stops after
/// the requests in flight, whose answers are committed, and ``run()`` returns.
public final class Daemon: @unchecked Sendable {
    public let engine: SyncEngine
    public let stop = StopSignal()
    let logger: Logger
    let queue = DispatchQueue(label: "hallsync.cycles")
    private let finished = DispatchSemaphore(value: 0)
    /// Called on the cycle queue after every cycle (progress, status file).
    public var onCycle: (@Sendable (SyncEngine.CycleReport) -> Void)?

    public init(engine: SyncEngine, logger: Logger) {
        self.engine = engine
        self.logger = logger
    }

    /// Asks ``run(handleSignals:)`` to return after the requests in flight.
    public func requestStop() {
        stop.set()
        finished.signal()
    }

    /// Blocks until SIGINT or SIGTERM (or ``requestStop()``), then returns after the cycle in progress.
    public func run(handleSignals: Bool = true) {
        let signalQueue = DispatchQueue(label: "hallsync.signals")
        var sources: [DispatchSourceSignal] = []
        if handleSignals {
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: signalQueue)
                source.setEventHandler { [self] in
                    logger.notice("stop requested by signal \(signalNumber); finishing the requests in flight")
                    requestStop()
                }
                source.resume()
                sources.append(source)
            }
        }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: engine.configuration.sync.interval, leeway: .milliseconds(50))
        timer.setEventHandler { [self] in
            guard !stop.isSet else { return }
            let report = engine.runCycle(stop: stop)
            logger.info("cycle done: \(report.summary)")
            onCycle?(report)
        }
        timer.resume()
        finished.wait()
        // The cycle in progress sees the stop signal between requests; wait for it to return.
        timer.cancel()
        queue.sync {}
        for source in sources { source.cancel() }
        logger.notice("stopped; state is consistent")
    }
}
