import Foundation
import GRDB
import HallsyncDomain
import HallsyncEngine
import HallsyncStandIns
@testable import HallsyncStore
import HallsyncTestSupport
import Testing

/// Keeping the state: backups while the daemon runs, restores, schema upgrades and downgrades.
@Suite(.serialized) struct KeepingTests {
    @Test func aBackupTakenWhileRunningIsRestoredAndTheDaemonGoesOnWithoutSendingTwice() async throws {
        try await offPool {
            // The halls forget keys after 2 s: only a lookup can keep a re-sent create from doubling.
            let directory = try Support.temporaryDirectory("backup")
            let site = try StandInSite(directory: directory, options: .init(lag: 0, faults: .none, keyRetention: 2))
            defer { site.stop() }
            let config = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/state.sqlite", interval: 0.3, keyRetention: 2)
            let daemon = try Support.launchHallsync(["run", "--config", config], log: directory + "/daemon.log")
            for i in 0..<5 { site.portal.publish(Support.reservation("YY-BK\(i)")) }
            let first = Date().addingTimeInterval(20)
            while Date() < first, (0..<5).contains(where: { site.licensing.items(externalId: "YY-BK\($0)").isEmpty }) { Thread.sleep(forTimeInterval: 0.2) }
            // The backup, while the daemon runs; then more traffic it does not hold.
            let backup = directory + "/backup.sqlite"
            let made = try Support.run(Support.hallsyncBinary, ["backup", backup, "--config", config])
            #expect(made.status == 0, "\(made.text)")
            for i in 5..<10 { site.portal.publish(Support.reservation("YY-BK\(i)")) }
            let second = Date().addingTimeInterval(20)
            while Date() < second, (5..<10).contains(where: { site.licensing.items(externalId: "YY-BK\($0)").isEmpty }) { Thread.sleep(forTimeInterval: 0.2) }
            kill(daemon.processIdentifier, SIGTERM)
            daemon.waitUntilExit()
            Thread.sleep(forTimeInterval: 2.5)   // every key the halls had is forgotten now

            // Restored into a new state directory (the machine was replaced), the daemon goes on.
            let restored = try Support.temporaryDirectory("restored")
            let newConfig = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: directory + "/state.sqlite", with: restored + "/state.sqlite")
            try newConfig.write(toFile: restored + "/hallsync.yaml", atomically: true, encoding: .utf8)
            let restore = try Support.run(Support.hallsyncBinary, ["restore", backup, "--config", restored + "/hallsync.yaml"])
            #expect(restore.status == 0, "\(restore.text)")
            let again = try Support.run(Support.hallsyncBinary, ["once", "--config", restored + "/hallsync.yaml"])
            _ = try Support.run(Support.hallsyncBinary, ["once", "--config", restored + "/hallsync.yaml"])
            #expect(again.status == 0 || again.status == 1, "\(again.text)")
            for i in 0..<10 {
                #expect(site.intake.items(externalId: "YY-BK\(i)").count == 1, "YY-BK\(i) in intake")
                #expect(site.licensing.items(externalId: "YY-BK\(i)").count == 1, "YY-BK\(i) in licensing")
            }
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: backup)[.posixPermissions] as? Int)
            #expect(mode == 0o640)
        }
    }

    /// Creates planned but not yet sent when the backup was taken, sent after it (the halls
    /// hold their items, and have forgotten the keys by the restore): after the restore each is
    /// looked up by `externalId` and adopted, never created a second time.
    @Test func createsNotYetSentWhenTheBackupWasTakenAreLookedUpAfterTheRestore() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("backup-unsent")
            let site = try StandInSite(directory: directory, options: .init(lag: 0, faults: .none, keyRetention: 2))
            defer { site.stop() }
            let config = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/state.sqlite", interval: 0.3, keyRetention: 2)
            // One send a cycle: after the first cycle, creates are planned and not yet sent.
            let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "maxSendsPerCycle: 400", with: "maxSendsPerCycle: 1")
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            for i in 0..<3 { site.portal.publish(Support.reservation("YY-UN\(i)")) }
            let first = try Support.run(Support.hallsyncBinary, ["once", "--config", config])
            #expect(first.status == 0 || first.status == 1, "\(first.text)")
            let store = try Store(path: directory + "/state.sqlite", readOnly: true)
            let unsent = try store.read { tx in try tx.dueSends(now: Date().timeIntervalSince1970 + 60, limit: 100) }.filter { $0.kind == .create && $0.firstAttemptAt == nil }
            #expect(!unsent.isEmpty, "creates planned and never attempted at the backup: \(unsent.count)")
            let backup = directory + "/backup.sqlite"
            let made = try Support.run(Support.hallsyncBinary, ["backup", backup, "--config", config])
            #expect(made.status == 0, "\(made.text)")
            // After the backup: everything is sent, and the halls forget the keys.
            for _ in 0..<12 { _ = try Support.run(Support.hallsyncBinary, ["once", "--config", config]) }
            for i in 0..<3 {
                #expect(site.intake.items(externalId: "YY-UN\(i)").count == 1 && site.licensing.items(externalId: "YY-UN\(i)").count == 1, "YY-UN\(i) before the restore")
            }
            Thread.sleep(forTimeInterval: 2.5)

            let restore = try Support.run(Support.hallsyncBinary, ["restore", backup, "--config", config])
            #expect(restore.status == 0, "\(restore.text)")
            for _ in 0..<12 { _ = try Support.run(Support.hallsyncBinary, ["once", "--config", config]) }
            for i in 0..<3 {
                #expect(site.intake.items(externalId: "YY-UN\(i)").count == 1, "YY-UN\(i) in intake")
                #expect(site.licensing.items(externalId: "YY-UN\(i)").count == 1, "YY-UN\(i) in licensing")
            }
        }
    }

    @Test func anUpgradeKeepsTheFileAsItWasAndANewerSchemaIsRefusedUntouched() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("schema")
            let path = directory + "/state.sqlite"
            // A file of the version before: migrated up to v4 only.
            let old = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(old, upTo: Schema.names[3])
            try old.write { db in try db.execute(sql: "INSERT INTO cursor (name, value, changedAt) VALUES ('portal.position', '2021-09-08 09:00:00|', 1)") }
            try old.close()
            let store = try Store(path: path)
            #expect(try store.appliedMigrations().count == Schema.names.count)
            let kept = try DatabaseQueue(path: directory + "/state.sqlite.before-v5")
            #expect(try kept.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") } == Array(Schema.names.prefix(4)))
            #expect(try kept.read { db in try String.fetchOne(db, sql: "SELECT value FROM cursor") } == "2021-09-08 09:00:00|")

            // A newer hallsync's file: refused with a clear message, and left as it is.
            try store.write { tx in try tx.setCursor(.portalPosition, to: "2021-09-09 00:00:00|", now: 2) }
            let future = try DatabaseQueue(path: directory + "/future.sqlite")
            try Schema.migrator.migrate(future)
            try future.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9: from a newer hallsync')") }
            try future.close()
            let before = try Data(contentsOf: URL(fileURLWithPath: directory + "/future.sqlite"))
            #expect { try Store(path: directory + "/future.sqlite") } throws: { error in
                (error as? StoreError)?.code == .schemaNewer && "\(error)".contains("newer hallsync")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/future.sqlite")) == before)
        }
    }
}
