import ArgumentParser
import Foundation
import HallsyncEngine
import HallsyncOperations
import HallsyncStore

/// `hallsync db`: the state's schema, for upgrades and for a pair's first start.
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "The state's schema: bring it up to this version, or say what an upgrade would change.",
        subcommands: [Migrate.self])

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the migrations this version has and the state lacks (the daemon's tables and the web page's).",
            discussion: """
            On one machine: the state file and the web page's file (a copy of the state file is kept beside it first, \
            .before-<migration>). On a pair: the region's schema hallsync_<region> on PostgreSQL, created when missing — \
            run it once, before the daemons start, with a role that may create the schema, and the daemons' role needs \
            only to read and write its tables. Two runs at once migrate once. The daemon also migrates when it starts; \
            with --check nothing changes: exit 0 when the schema is current, 1 when migrations are pending, 78 when a \
            newer hallsync wrote it.
            """)

        @Flag(help: "Change nothing: say what is applied and what would be.") var check = false
        @OptionGroup var options: ConfigOption

        func run() throws {
            let configuration = try options.load()
            do {
                let before = try status(configuration)
                for status in before {
                    print("\(status.location): \(status.applied.count) applied, \(status.pending.count) pending")
                    for name in status.pending { print("  pending  \(name)") }
                    for name in status.unknown { print("  unknown  \(name) (written by a newer hallsync)") }
                }
                if before.contains(where: { !$0.unknown.isEmpty }) {
                    FileHandle.standardError.write(Data("hallsync: the state was written by a newer hallsync; install that version on this machine (both machines of a pair run the same one)\n".utf8))
                    throw ExitCode(ExitStatus.configuration)
                }
                if check {
                    if before.allSatisfy(\.isCurrent) {
                        print("the schema is current")
                    } else {
                        print("run hallsync db migrate (or start the daemon) to apply them")
                        throw ExitCode(1)
                    }
                    return
                }
                guard !before.allSatisfy(\.isCurrent) else {
                    print("the schema is current: nothing to do")
                    return
                }
                switch configuration.store.kind {
                case .sqlite:
                    _ = try Store(path: configuration.database)
                    _ = try WebStore(path: configuration.web.database)
                case .postgresql:
                    _ = try Store(postgres: try settings(configuration))
                }
                let after = try status(configuration)
                for status in after {
                    print("\(status.location): now \(status.applied.count) applied\(status.isCurrent ? "" : ", \(status.pending.count) still pending")")
                }
                guard after.allSatisfy(\.isCurrent) else { throw ExitCode(ExitStatus.failed) }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                FileHandle.standardError.write(Data("hallsync: \(error)\n".utf8))
                throw ExitCode(ExitStatus.of(error))
            }
        }

        func settings(_ configuration: HallsyncEngine.Configuration) throws -> PostgresStoreSettings {
            PostgresStoreSettings(conninfo: try configuration.store.conninfo(), region: configuration.portal.regionCode,
                                  options: .init(applicationName: "hallsync-migrate"))
        }

        func status(_ configuration: HallsyncEngine.Configuration) throws -> [MigrationStatus] {
            switch configuration.store.kind {
            case .sqlite: return try Store.migrationStatus(path: configuration.database, webPath: configuration.web.database)
            case .postgresql: return [try Store.migrationStatus(postgres: try settings(configuration))]
            }
        }
    }
}
