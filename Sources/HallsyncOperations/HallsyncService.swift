import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncStore
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// hallsync as a systemd service (`Type=notify`): the daemon loop with its status file,
/// metrics and notifications around it.
///
///     try HallsyncService(configPath: "/etc/hallsync/hallsync.yaml", version: "0.4.0", logger: logger).run()
///
/// - `READY=1` once the configuration, catalogue, calendar and database are loaded;
/// - `STATUS=` a one-line summary and `WATCHDOG=1` after every cycle;
/// - `RELOADING=1` … `READY=1` around a SIGHUP reload (a broken configuration is refused and the
///   running one stays);
/// - `STOPPING=1` as soon as SIGTERM arrives; the status file then says `stopping`, and `stopped`
///   once the state is consistent.
public final class HallsyncService: @unchecked Sendable {
    public let configPath: String
    public let version: String
    let logger: Logger
    let notifier: SystemdNotifier

    /// The environment the configuration's `credential:` secrets are resolved in.
    let environment: [String: String]

    public init(configPath: String, version: String, logger: Logger, notifier: SystemdNotifier = SystemdNotifier(),
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.configPath = configPath
        self.version = version
        self.logger = logger
        self.notifier = notifier
        self.environment = environment
    }

    /// Loads the configuration and everything it names; every problem becomes one error. A
    /// reload passes the running store: the database stays the one this process has locked.
    public func makeEngine(store: Store? = nil, pair: PairMember? = nil) throws -> SyncEngine {
        try SyncEngine(configuration: try Configuration.load(path: configPath, environment: environment), logger: logger, store: store, pair: pair)
    }

    /// Runs until SIGTERM or SIGINT. Throws when the start fails (configuration, another
    /// instance on the same database) or when the daemon had to stop (its database vanished);
    /// ``ExitStatus/of(_:)`` says with which exit code.
    public func run() throws {
        let engine: SyncEngine
        let lock: InstanceLock
        do {
            let configuration = try Configuration.load(path: configPath, environment: environment)
            lock = try InstanceLock.acquire(forDatabase: configuration.database)
            engine = try SyncEngine(configuration: configuration, logger: logger)
        } catch {
            notifier.notify(["STATUS=cannot start: \(PersonalData.redact("\(error)"))"])
            throw error
        }
        let reporter = StatusReporter(version: version, configPath: configPath, logger: logger)
        let daemon = Daemon(engine: engine, logger: logger)
        daemon.stopGrace = engine.configuration.operations.stopGrace
        let notifier = self.notifier
        let logger = self.logger
        logger.notice("hallsync started", metadata: ["version": "\(version)", "config": "\(configPath)",
                                                    "database": "\(engine.configuration.database)",
                                                    "statusFile": "\(engine.configuration.operations.statusFile)",
                                                    "interval": "\(engine.configuration.sync.interval)",
                                                    "watchdog": "\(notifier.watchdogInterval.map { "\($0)s" } ?? "off")"])
        daemon.onReady = { _ in
            notifier.notify(["READY=1", "STATUS=started; first cycle running", "MAINPID=\(getpid())", "WATCHDOG=1"])
        }
        daemon.onCycle = { report, engine in
            let document = reporter.cycleFinished(report, engine: engine)
            notifier.notify(["STATUS=" + Self.statusLine(document), "WATCHDOG=1"])
        }
        daemon.reload = { [self, unowned daemon] in try makeEngine(store: daemon.engine.store, pair: daemon.engine.pair) }
        daemon.onReload = { [daemon] starting, failure, engine in
            if starting {
                notifier.notify(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())", "STATUS=reloading the configuration"])
                return
            }
            if let failure {
                notifier.notify(["READY=1", "STATUS=reload refused, the previous configuration is running: \(PersonalData.redact("\(failure)"))"])
            } else {
                reporter.configurationReloaded()
                daemon.stopGrace = engine.configuration.operations.stopGrace
                notifier.notify(["READY=1", "STATUS=configuration reloaded (generation \(reporter.configGeneration))"])
            }
        }
        daemon.onStopping = { [daemon] in
            notifier.notify(["STOPPING=1", "STATUS=stopping: finishing the requests in flight"])
            daemon.queue.async { reporter.stateChanged(to: "stopping", engine: daemon.engine) }
        }
        daemon.run()
        withExtendedLifetime(lock) {}
        if let fatal = daemon.fatal {
            reporter.stateChanged(to: "failed", engine: daemon.engine, reason: fatal.message)
            notifier.notify(["STATUS=stopped: \(fatal.message)"])
            throw fatal
        }
        reporter.stateChanged(to: "stopped", engine: daemon.engine)
    }

    /// The one-line `STATUS=` text.
    static func statusLine(_ d: StatusDocument) -> String {
        let pending = d.queues.pending.values.reduce(0, +)
        var parts = [d.lastCycle?.caughtUp == true ? "caught up" : "catching up", "\(pending) pending",
                     "\(d.attention.open) on the attention list", "\(d.overdue.total) overdue"]
        let failing = d.endpoints.filter { $0.value.consecutiveFailures > 0 }.keys.sorted()
        if !failing.isEmpty { parts.append("failing: " + failing.joined(separator: ", ")) }
        if let c = d.lastCycle { parts.append(String(format: "last cycle %.2f s", c.durationSeconds)) }
        return parts.joined(separator: "; ")
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
