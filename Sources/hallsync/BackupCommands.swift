import ArgumentParser
import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncOperations
import HallsyncStore
#if canImport(Glibc)
import Glibc
#endif

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the state database consistently, while the daemon runs (SQLite's online backup).",
        discussion: "Writes a new file (mode 0640). To restore it, use hallsync restore with the daemon stopped.")

    @Argument(help: "The file to write (must not exist).") var destination: String
    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try options.load()
        if configuration.store.kind == .postgresql {
            FileHandle.standardError.write(Data("""
                hallsync: the state is on PostgreSQL (store.kind postgresql), not in a file: back it up with the site's PostgreSQL tools \
                (pg_dump --schema=hallsync_\(configuration.portal.regionCode) …, or the cluster's base backups); hallsync backup copies a SQLite file only

                """.utf8))
            throw ExitCode(ExitStatus.configuration)
        }
        do {
            let store = try Store(path: configuration.database, readOnly: true)
            try store.backup(to: destination)
            print("backed up \(configuration.database) to \(destination)")
        } catch {
            FileHandle.standardError.write(Data("hallsync: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a backup in place of the state database (the daemon must be stopped).",
        discussion: """
        The current file is kept beside it (.replaced-<time>). Sends pending in the backup that may \
        have gone out after it was taken are not sent blindly: every pending create first looks its \
        item up in the hall, actions and updates are idempotent, the portal recognises its own pushes. \
        Then systemctl start hallsync.
        """)

    @Argument(help: "The backup file.") var backup: String
    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try options.load()
        let database = configuration.database
        if configuration.store.kind == .postgresql {
            FileHandle.standardError.write(Data("""
                hallsync: the state is on PostgreSQL (store.kind postgresql): restore it with the site's PostgreSQL tools \
                (pg_restore of the schema hallsync_\(configuration.portal.regionCode), with both daemons stopped); the daemon that \
                leads next looks every pending create up by its id before sending it

                """.utf8))
            throw ExitCode(ExitStatus.configuration)
        }
        do {
            // Not while a daemon works on the file.
            let lock = try InstanceLock.acquire(forDatabase: database)
            defer { withExtendedLifetime(lock) {} }
            _ = try Store(path: backup, readOnly: true)   // a hallsync database, at a schema this binary reads
            let staged = database + ".restoring"
            try? FileManager.default.removeItem(atPath: staged)
            try FileManager.default.copyItem(atPath: backup, toPath: staged)
            if FileManager.default.fileExists(atPath: database) {
                // Kept with its write-ahead log: after a kill -9 the last transactions are only there.
                let aside = database + ".replaced-" + String(Int(Date().timeIntervalSince1970))
                try FileManager.default.moveItem(atPath: database, toPath: aside)
                if FileManager.default.fileExists(atPath: database + "-wal") {
                    try FileManager.default.moveItem(atPath: database + "-wal", toPath: aside + "-wal")
                }
                print("the database replaced is kept as \(aside)")
            }
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
            guard rename(staged, database) == 0 else { throw StoreError(code: .restoreFailed, message: "cannot put \(staged) in place: \(String(cString: strerror(errno)))") }
            Store.giveToDirectoryOwner(database)
            let store = try Store(path: database)
            let creates = try store.write { tx in try tx.lookUpBeforeEveryPendingCreate(restoredAt: BeijingTime.now(), now: Date().timeIntervalSince1970) }
            print("restored \(backup) to \(database); \(creates) pending creates will look their items up first. Start the daemon: systemctl start hallsync")
        } catch {
            FileHandle.standardError.write(Data("hallsync: \(error)\n".utf8))
            throw ExitCode(ExitStatus.of(error))
        }
    }
}
