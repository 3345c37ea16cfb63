import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncOperations
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing

/// The real binary when operators make mistakes: a second copy on the same database, the
/// database deleted or replaced under a running daemon, state files and the umask.
@Suite(.serialized) struct InstanceTests {
    func site(_ name: String) throws -> (StandInSite, String, String) {
        let directory = try Support.temporaryDirectory(name)
        let site = try StandInSite(directory: directory, options: .init(lag: 0, faults: .none))
        let config = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/state.sqlite", interval: 0.3)
        return (site, directory, config)
    }

    func waitForFile(_ path: String, seconds: Double = 20) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !FileManager.default.fileExists(atPath: path) { Thread.sleep(forTimeInterval: 0.1) }
    }

    @Test func aSecondInstanceOnTheSameDatabaseIsRefusedAndReadersAreNot() async throws {
        try await offPool {
            let (site, directory, config) = try site("second")
            defer { site.stop() }
            let first = try Support.launchHallsync(["run", "--config", config], log: directory + "/first.log")
            defer { if first.isRunning { first.terminate(); first.waitUntilExit() } }
            waitForFile(directory + "/status.json")

            // `once` by hand beside the service, and a second `run`: refused, with a code that is not
            // "configuration error", and a message that says what to do.
            for command in ["once", "run"] {
                let second = try Support.run(Support.hallsyncBinary, [command, "--config", config])
                #expect(second.status == ExitStatus.temporaryFailure, "\(command): \(second.text)")
                #expect(second.text.contains("ALREADY_RUNNING") && second.text.contains("pid \(first.processIdentifier)"), "\(second.text)")
            }
            #expect(first.isRunning)

            // A reader (the web page, `hallsync status`) opens the database meanwhile.
            site.portal.publish(Support.reservation("YY-1"))
            let reader = try Store(path: directory + "/state.sqlite")
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, try reader.read({ tx in try tx.counts() }).copiesCreated < 2 { Thread.sleep(forTimeInterval: 0.2) }
            #expect(try reader.read { tx in try tx.counts() }.copiesCreated == 2)
            let status = try Support.run(Support.hallsyncBinary, ["status", "--config", config])
            #expect(status.text.hasPrefix("HALLSYNC"), "\(status.text)")

            // kill -9 frees the lock: the next start works.
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            let after = try Support.run(Support.hallsyncBinary, ["once", "--config", config])
            #expect(after.status == 0, "\(after.text)")
            #expect(site.intake.items(externalId: "YY-1").count == 1)
        }
    }

    @Test(arguments: ["deleted", "replaced"])
    func aDatabaseDeletedOrReplacedWhileRunningStopsTheDaemonLoudly(_ how: String) async throws {
        try await offPool {
            let (site, directory, config) = try site("gone-\(how)")
            defer { site.stop() }
            let database = directory + "/state.sqlite"
            let daemon = try Support.launchHallsync(["run", "--config", config], log: directory + "/daemon.log")
            defer { if daemon.isRunning { daemon.terminate() } }
            waitForFile(directory + "/status.json")
            if how == "deleted" {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
            } else {
                try FileManager.default.copyItem(atPath: database, toPath: database + ".copy")
                #expect(rename(database + ".copy", database) == 0)
            }
            site.portal.publish(Support.reservation("YY-LOST"))
            let deadline = Date().addingTimeInterval(15)
            while daemon.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            #expect(!daemon.isRunning)
            #expect(daemon.terminationStatus == ExitStatus.databaseLost)
            let log = try String(contentsOfFile: directory + "/daemon.log", encoding: .utf8)
            #expect(log.contains(how == "deleted" ? "DATABASE_GONE" : "DATABASE_REPLACED"), "\(log)")
            let document = try JSONDecoder().decode(StatusDocument.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/status.json")))
            #expect(document.state == "failed")
            #expect(document.stateReason?.contains(how) == true)
            let verdict = MonitoringCheck.evaluate(document)
            #expect(verdict.state == .critical)
        }
    }

    @Test func hangupsFasterThanTheIntervalDoNotStarveTheCycles() async throws {
        try await offPool {
            let (site, directory, config) = try site("hup-storm")
            defer { site.stop() }
            try (try String(contentsOfFile: config, encoding: .utf8)).replacingOccurrences(of: "interval: 0.3", with: "interval: 1")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let socket = try NotifySocket(abstract: true)
            let daemon = try Support.launchHallsync(["run", "--config", config], environment: ["NOTIFY_SOCKET": socket.name], log: directory + "/daemon.log")
            defer { if daemon.isRunning { daemon.terminate(); daemon.waitUntilExit() } }
            while let message = socket.receive(), !message.contains("READY=1") {}
            // SIGHUP every 0.15 s for 6 s, while counting the cycles (one WATCHDOG=1 each).
            let storm = Thread {
                let end = Date().addingTimeInterval(6)
                while Date() < end { kill(daemon.processIdentifier, SIGHUP); Thread.sleep(forTimeInterval: 0.15) }
            }
            let started = Date()
            storm.start()
            var cycles = 0
            var reloads = 0
            while Date().timeIntervalSince(started) < 6, let message = socket.receive() {
                if message.contains("WATCHDOG=1") { cycles += 1 }
                if message.contains("configuration reloaded") { reloads += 1 }
            }
            #expect(reloads > 5, "the reloads happened")
            #expect(cycles >= 4, "\(cycles) cycles in 6 s at a 1 s interval under a SIGHUP every 0.15 s")
            #expect(daemon.isRunning)
        }
    }

    @Test func onceByHandReadsCredentialSecretsAndItsExitCodeTellsPassingFromFailed() async throws {
        try await offPool {
            let (site, directory, config) = try site("once-by-hand")
            defer { site.stop() }
            // The shipped form: systemd credentials, which by hand are read from a directory.
            var yaml = try String(contentsOfFile: config, encoding: .utf8)
            for name in ["portal-secret", "intake-token", "licensing-token"] {
                yaml = yaml.replacingOccurrences(of: "\(directory)/\(name)\n", with: "credential:\(name)\n")
            }
            try yaml.write(toFile: config, atomically: true, encoding: .utf8)
            #expect(yaml.contains("credential:portal-secret") && yaml.contains("credential:intake-token"))
            site.portal.publish(Support.reservation("YY-ONCE"))
            Thread.sleep(forTimeInterval: 1.2)
            let clean = ProcessInfo.processInfo.environment.merging(["CREDENTIALS_DIRECTORY": ""]) { $1 }
            let ok = try Support.run(Support.hallsyncBinary, ["once", "--config", config, "--credentials", directory], environment: clean)
            #expect(ok.status == 0, "\(ok.text)")
            #expect(site.intake.items(externalId: "YY-ONCE").count == 1)
            // Without them: the default place, named in the message, and "configuration" as the exit code.
            let missing = try Support.run(Support.hallsyncBinary, ["once", "--config", config, "--credentials", directory + "/nowhere"], environment: clean)
            #expect(missing.status == ExitStatus.configuration && missing.text.contains(directory + "/nowhere/portal-secret"), "\(missing.text)")
            // A token the hall refuses: an operator must act (2). A hall that is down: it passes (1).
            let issued = try String(contentsOfFile: site.intake.tokenFile, encoding: .utf8)
            try "not-the-token\n".write(toFile: site.intake.tokenFile, atomically: true, encoding: .utf8)
            chmod(site.intake.tokenFile, 0o600)
            site.portal.publish(Support.reservation("YY-ONCE2"))
            Thread.sleep(forTimeInterval: 1.2)
            let refused = try Support.run(Support.hallsyncBinary, ["once", "--config", config, "--credentials", directory], environment: clean)
            #expect(refused.status == ExitStatus.failed, "\(refused.text)")
            let probe = try Support.run(Support.hallsyncBinary, ["check-config", "--config", config, "--credential-source", directory, "--probe"], environment: clean)
            #expect(probe.status == 1 && probe.text.contains("ok       probe portal") && probe.text.contains("signature accepted")
                    && probe.text.contains("PROBLEM  probe intake") && probe.text.contains("UNAUTHORIZED") && probe.text.contains("ok       probe licensing"), "\(probe.text)")
            try issued.write(toFile: site.intake.tokenFile, atomically: true, encoding: .utf8)
            site.licensing.stop()
            let passing = try Support.run(Support.hallsyncBinary, ["once", "--config", config, "--credentials", directory], environment: clean)
            #expect(passing.status == ExitStatus.retryableErrors, "\(passing.text)")
        }
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser"), "needs root and runuser"))
    func theMonitoringUserReadsTheStatusOrIsToldWhyNot() async throws {
        try await offPool {
            let (site, directory, config) = try site("monitoring-user")
            defer { site.stop() }
            let engine = try SyncEngine(configuration: try Configuration.load(path: config), logger: Support.logger)
            let reporter = StatusReporter(version: "test", configPath: config, logger: Support.logger)
            reporter.cycleFinished(engine.runCycle(stop: StopSignal()), engine: engine)
            let status = directory + "/status.json"
            func asNobody() throws -> Support.Output {
                try Support.run("/usr/sbin/runuser", ["-u", "nobody", "--", Support.hallsyncBinary, "status", "--file", status])
            }
            let readable = try asNobody()
            #expect(readable.stdout.hasPrefix("HALLSYNC ") && readable.status != 3, "\(readable.text)")
            chmod(status, 0o600)
            let refused = try asNobody()
            #expect(refused.status == 3 && refused.stdout.contains("exists but this user cannot read it (Permission denied)"), "\(refused.text)")
            // A directory above it that this user may not pass: a permission problem too, not "no status file".
            chmod(status, 0o644)
            chmod(directory, 0o700)
            defer { chmod(directory, 0o755) }
            let unreachable = try asNobody()
            #expect(unreachable.status == 3 && unreachable.stdout.contains("cannot be reached by this user (Permission denied)")
                    && !unreachable.stdout.contains("no status file"), "\(unreachable.text)")
        }
    }

    @Test func stateFilesAreNotWorldReadableWhateverTheUmask() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("modes")
            let old = umask(0o022)
            defer { umask(old) }
            let store = try Store(path: directory + "/state.sqlite")
            try store.write { tx in try tx.setCursor(.portalPosition, to: "2021-09-08 09:00:00|", now: 1) }
            let lock = try InstanceLock.acquire(forDatabase: directory + "/state.sqlite")
            withExtendedLifetime(lock) {}
            for file in ["state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "state.sqlite.lock"] {
                let mode = try #require(try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.posixPermissions] as? Int)
                #expect(mode & 0o007 == 0, "\(file) is \(String(mode, radix: 8))")
            }
            // An existing world-readable file is closed to others when it is opened.
            chmod(directory + "/state.sqlite", 0o644)
            _ = try Store(path: directory + "/state.sqlite")
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: directory + "/state.sqlite")[.posixPermissions] as? Int)
            #expect(mode == 0o640)
        }
    }
}

/// The README's first command, shortened: it passes, and leaves no secrets or personal data behind.
@Suite(.serialized) struct DemoTests {
    @Test func theDemoPassesAndRemovesItsStateDirectory() async throws {
        try await offPool {
            let run = try Support.run(Support.hallsyncBinary, ["demo", "--duration", "3", "--rate", "10", "--lag", "1", "--drain-timeout", "60"])
            #expect(run.status == 0, "\(run.text.suffix(3000))")
            #expect(run.stdout.contains("PASS: 0 lost, 0 duplicated"))
            #expect(run.stdout.contains("web page  http://127.0.0.1:") && run.stdout.contains("demo-clerk / demo-") && run.stdout.contains("demo-admin / demo-"),
                    "the demo starts the summary page with two demo accounts")
            let line = try #require(run.stdout.split(separator: "\n").first { $0.contains("state in ") })
            let directory = String(line[line.range(of: "state in ")!.upperBound...])
            #expect(!directory.isEmpty && !FileManager.default.fileExists(atPath: directory), "\(directory) was left behind")
        }
    }
}
