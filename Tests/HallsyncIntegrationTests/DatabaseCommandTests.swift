import Foundation
import HallsyncPostgres
import HallsyncStandIns
@testable import HallsyncStore
import HallsyncTestSupport
import Testing

/// `hallsync db migrate`: brings the state's schema — the daemon's tables and the web page's — to
/// this version, on a file or on a pair's PostgreSQL; `--check` says what it would do and changes nothing.
@Suite(.privateCluster) struct DatabaseCommandTests {
    @Test(arguments: SQLDialect.allCases)
    func migrateAppliesWhatIsMissingOnceAndCheckSaysSo(_ dialect: SQLDialect) async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("db-migrate")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let site = try StandInSite(directory: directory, options: .init(lag: 1, faults: .none))
            defer { site.stop() }
            let config = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/state.sqlite")
            let cluster = try #require(PrivateCluster.current)
            var schema = ""
            var conninfo = ""
            if dialect == .postgresql {
                conninfo = try cluster.createDatabase("migrate_" + String(UInt32.random(in: 0..<UInt32.max), radix: 36))
                try (try String(contentsOfFile: config, encoding: .utf8) + "store:\n  kind: postgresql\n  connection: \"\(conninfo)\"\n")
                    .write(toFile: config, atomically: true, encoding: .utf8)
                schema = "hallsync_" + site.portal.regionCode
            }
            let all = Schema.names.count + 2   // the daemon's and the web page's two
            let pending = try Support.run(Support.hallsyncBinary, ["db", "migrate", "--check", "--config", config])
            #expect(pending.status == 1, "\(pending.text)")
            #expect(pending.stdout.components(separatedBy: "  pending  ").count - 1 == all, "\(pending.stdout)")
            if dialect == .sqlite {
                #expect(!FileManager.default.fileExists(atPath: directory + "/state.sqlite"), "--check created the file")
            } else {
                #expect(try cluster.connect().execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema]).rows.isEmpty, "--check created the schema")
            }

            let migrated = try Support.run(Support.hallsyncBinary, ["db", "migrate", "--config", config])
            #expect(migrated.status == 0, "\(migrated.text)")
            #expect(migrated.stdout.contains("now \(dialect == .sqlite ? Schema.names.count : all) applied"), "\(migrated.stdout)")
            let current = try Support.run(Support.hallsyncBinary, ["db", "migrate", "--check", "--config", config])
            #expect(current.status == 0 && current.stdout.contains("the schema is current"), "\(current.text)")
            let again = try Support.run(Support.hallsyncBinary, ["db", "migrate", "--config", config])
            #expect(again.status == 0 && again.stdout.contains("nothing to do"), "\(again.text)")

            // A state a newer hallsync wrote: said, and refused (78), not migrated over.
            if dialect == .postgresql {
                try PostgresConnection(conninfo: conninfo).execute("INSERT INTO \(schema).schemaMigration (identifier) VALUES ('v99: from the future')")
                let newer = try Support.run(Support.hallsyncBinary, ["db", "migrate", "--check", "--config", config])
                #expect(newer.status == 78 && newer.stdout.contains("unknown  v99: from the future"), "\(newer.text)")
                #expect(newer.stderr.contains("written by a newer hallsync"))
            }
        }
    }
}
