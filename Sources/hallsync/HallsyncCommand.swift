import ArgumentParser
import Foundation
import HallsyncEngine
import Logging

struct HallsyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hallsync",
        abstract: "Carries online reservations from the portal into the intake and licensing hall inboxes.",
        subcommands: [Run.self, Once.self, Demo.self, Normalize.self, DeadlineCommand.self],
        defaultSubcommand: nil)
}

/// Options shared by the commands that run the daemon.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String = "/etc/hallsync/hallsync.yaml"

    @Option(name: .long, help: "Lowest log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func makeLogger() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        return Logger(label: "hallsync") { JournalLogHandler(label: $0, level: level) }
    }

    func makeEngine(logger: Logger) throws -> SyncEngine {
        do {
            let configuration = try Configuration.load(path: config)
            return try SyncEngine(configuration: configuration, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon: a sync cycle every sync.interval seconds until SIGTERM or SIGINT.")

    @OptionGroup var options: DaemonOptions

    func run() throws {
        let logger = options.makeLogger()
        let engine = try options.makeEngine(logger: logger)
        logger.notice("hallsync started", metadata: ["config": "\(options.config)", "database": "\(engine.configuration.database)",
                                                    "interval": "\(engine.configuration.sync.interval)"])
        Daemon(engine: engine, logger: logger).run()
    }
}

struct Once: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one sync cycle and exit (non-zero when the cycle met errors).")

    @OptionGroup var options: DaemonOptions

    func run() throws {
        let logger = options.makeLogger()
        let engine = try options.makeEngine(logger: logger)
        let report = engine.runCycle(stop: StopSignal())
        print(report.summary)
        for error in report.errors { print("error: \(error)") }
        if !report.errors.isEmpty { throw ExitCode(1) }
    }
}
