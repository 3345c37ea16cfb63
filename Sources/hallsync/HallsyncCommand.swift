import ArgumentParser
import Foundation
import HallsyncEngine
import HallsyncOperations
import HallsyncStore
import Logging

/// The release, shown by `--version`, in the status file and in the metrics.
let hallsyncVersion = "0.4.0"

@available(macOS 10.15, macCatalyst 13, iOS 13, tvOS 13, watchOS 6, *)
@main
struct HallsyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hallsync",
        abstract: "Carries online reservations from the portal into the intake and licensing hall inboxes.",
        version: hallsyncVersion,
        subcommands: [Run.self, Once.self, Status.self, CheckConfig.self, Web.self, User.self, AttentionCommand.self, Backup.self, Restore.self, DatabaseCommand.self,
                      Demo.self, Bench.self, BenchSite.self, Normalize.self, DeadlineCommand.self, Manual.self],
        defaultSubcommand: nil)
}

/// Options shared by the commands that run the daemon.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String = "/etc/hallsync/hallsync.yaml"

    @Option(name: .long, help: "Lowest log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Where `credential:NAME` secrets are read when $CREDENTIALS_DIRECTORY is not set (by hand, outside systemd).")
    var credentials: String = "/etc/hallsync"

    /// The environment with $CREDENTIALS_DIRECTORY set: systemd's, or `--credentials` by hand.
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if (environment["CREDENTIALS_DIRECTORY"] ?? "").isEmpty { environment["CREDENTIALS_DIRECTORY"] = credentials }
        return environment
    }

    func makeLogger() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        return Logger(label: "hallsync") { JournalLogHandler(label: $0, level: level) }
    }

    /// The engine, with this process holding the database's instance lock for as long as it lives.
    func makeEngine(logger: Logger) throws -> (SyncEngine, InstanceLock) {
        do {
            let configuration = try Configuration.load(path: config, environment: environment)
            let lock = try InstanceLock.acquire(forDatabase: configuration.database)
            return (try SyncEngine(configuration: configuration, logger: logger), lock)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(ExitStatus.of(error))
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: a sync cycle every sync.interval seconds until SIGTERM or SIGINT; SIGHUP reloads.",
        discussion: "Under systemd (Type=notify) it reports READY, STATUS, WATCHDOG, RELOADING and STOPPING; it writes the status file after every cycle.")

    @OptionGroup var options: DaemonOptions

    func run() throws {
        let logger = options.makeLogger()
        do {
            try HallsyncService(configPath: options.config, version: hallsyncVersion, logger: logger, environment: options.environment).run()
        } catch {
            // 78 and 74 are in the unit's RestartPreventExitStatus=: a restart would not help.
            let status = ExitStatus.of(error)
            logger.critical("\(status == ExitStatus.databaseLost ? "stopped" : "cannot start"): \(error)")
            throw ExitCode(status)
        }
    }
}

struct Once: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one sync cycle and exit (non-zero when the cycle met errors).")

    @OptionGroup var options: DaemonOptions

    func run() throws {
        let logger = options.makeLogger()
        // One of a pair works only while it holds the region's lease: a single cycle by hand would
        // stand by (or race the leader for the lease), doing nothing while saying little.
        if let configuration = try? Configuration.load(path: options.config, environment: options.environment),
           configuration.store.kind == .postgresql {
            FileHandle.standardError.write(Data("""
                hallsync: once runs one cycle on one machine; with store.kind postgresql the daemon holding the region's lease works \
                (hallsync run on each machine of the pair); hallsync status on either machine shows which leads

                """.utf8))
            throw ExitCode(ExitStatus.configuration)
        }
        let (engine, lock) = try options.makeEngine(logger: logger)
        let report = withExtendedLifetime(lock) { engine.runCycle(stop: StopSignal()) }
        print(report.summary)
        for error in report.errors { print("error: \(error)") }
        if let fatal = report.fatal { throw ExitCode(ExitStatus.of(fatal)) }
        if report.needsOperator { throw ExitCode(ExitStatus.failed) }
        if !report.errors.isEmpty { throw ExitCode(ExitStatus.retryableErrors) }
    }
}
