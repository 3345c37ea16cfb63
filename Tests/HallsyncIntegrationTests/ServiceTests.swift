import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncOperations
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing

/// The real `hallsync` binary as systemd runs it: notifications on a real datagram socket,
/// real signals, the status file, `hallsync status`, `check-config`, the unit, the package.
@Suite(.serialized) struct ServiceTests {
    /// A stand-in site with a configuration whose status file lies in its directory and whose
    /// calendar also covers next year (so no coverage warning colours the verdicts).
    func site(_ name: String, faults: Faults = .none, extra: String = "") throws -> (StandInSite, String, String) {
        let directory = try Support.temporaryDirectory(name)
        let site = try StandInSite(directory: directory, options: .init(lag: 1, faults: faults))
        let calendar = try String(contentsOfFile: directory + "/working-calendar.txt", encoding: .utf8)
        try (calendar + "\nyear \(BeijingTime.now().date.year + 1)  (test: no holidays known)\n")
            .write(toFile: directory + "/working-calendar.txt", atomically: true, encoding: .utf8)
        // Long request time-outs: a request the hall keeps waiting stays in flight until abandoned.
        let yaml = site.configurationYAML(database: directory + "/state.sqlite", interval: 0.4, requestTimeout: 60)
            + "operations:\n  statusFile: \(directory)/status.json\n  metricsFile: \(directory)/hallsync.prom\n  stopGrace: 3\n" + extra
        try yaml.write(toFile: directory + "/hallsync.yaml", atomically: true, encoding: .utf8)
        return (site, directory, directory + "/hallsync.yaml")
    }

    /// Reads notifications until one contains `needle`; returns everything read.
    func notifications(until needle: String, on socket: NotifySocket, limit: Int = 200) -> [String] {
        var seen: [String] = []
        for _ in 0..<limit {
            guard let message = socket.receive() else { break }
            seen.append(message)
            if message.contains(needle) { break }
        }
        return seen
    }

    func status(_ directory: String) throws -> StatusDocument {
        try JSONDecoder().decode(StatusDocument.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/status.json")))
    }

    @Test func runsAsANotifyServiceReloadsOnHangupAndStopsWithinTenSeconds() async throws {
        try await offPool {
            let (site, directory, config) = try site("service")
            defer { site.stop() }
            let socket = try NotifySocket(abstract: false)
            let process = try Support.launchHallsync(["run", "--config", config, "--log-level", "notice"],
                                     environment: ["NOTIFY_SOCKET": socket.name, "WATCHDOG_USEC": "60000000"], log: directory + "/daemon.log")
            defer { if process.isRunning { process.terminate() } }

            // READY=1 after loading, then STATUS= and WATCHDOG=1 after every cycle.
            let ready = notifications(until: "READY=1", on: socket)
            #expect(ready.last?.contains("READY=1") == true)
            let cycle = notifications(until: "WATCHDOG=1", on: socket)
            #expect(cycle.last?.contains("STATUS=") == true)
            site.portal.publish(Support.reservation("YY-SVC", date: BeijingTime.now().date.adding(days: 3).description))
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, (try? status(directory))?.items["PENDING"] != 2 { Thread.sleep(forTimeInterval: 0.3) }
            var document = try status(directory)
            #expect(document.items == ["PENDING": 2])
            #expect(document.state == "running" && document.configGeneration == 1)
            #expect(document.endpoints.values.allSatisfy { $0.consecutiveFailures == 0 && $0.lastSuccess != nil })
            #expect(try String(contentsOfFile: directory + "/hallsync.prom", encoding: .utf8).contains("hallsync_hall_items{status=\"PENDING\"} 2"))

            // SIGHUP with a valid edit: RELOADING=1 … READY=1, generation 2, the new interval in use.
            let original = try String(contentsOfFile: config, encoding: .utf8)
            try original.replacingOccurrences(of: "interval: 0.4", with: "interval: 0.5").write(toFile: config, atomically: true, encoding: .utf8)
            kill(process.processIdentifier, SIGHUP)
            let reloading = notifications(until: "READY=1", on: socket)
            #expect(reloading.contains { $0.contains("RELOADING=1") && $0.contains("MONOTONIC_USEC=") })
            #expect(reloading.last?.contains("configuration reloaded (generation 2)") == true)
            _ = notifications(until: "WATCHDOG=1", on: socket)
            _ = notifications(until: "WATCHDOG=1", on: socket)
            document = try status(directory)
            #expect(document.configGeneration == 2 && document.intervalSeconds == 0.5)

            // A broken edit is refused with a clear log line; the running configuration stays.
            try "portal: [this is not a configuration".write(toFile: config, atomically: true, encoding: .utf8)
            kill(process.processIdentifier, SIGHUP)
            let refused = notifications(until: "READY=1", on: socket)
            #expect(refused.last?.contains("reload refused") == true)
            let before = try status(directory).writtenAtUnix
            _ = notifications(until: "WATCHDOG=1", on: socket)
            _ = notifications(until: "WATCHDOG=1", on: socket)
            #expect(try status(directory).writtenAtUnix > before, "cycles go on after a refused reload")
            #expect(process.isRunning)
            let log = try String(contentsOfFile: directory + "/daemon.log", encoding: .utf8)
            #expect(log.contains("<3>reload refused, the running configuration stays: the configuration"))
            try original.write(toFile: config, atomically: true, encoding: .utf8)

            // SIGTERM while the halls keep answers back: the requests in flight are abandoned after
            // the grace, STOPPING=1 is sent, and the process exits 0 well within 10 s.
            var hanging = Faults()
            hanging.lostAnswerAfterCommit = 1
            hanging.hangSeconds = 60
            // Every lost answer a hang (not a 503 or a reset, two in three otherwise): with five
            // creates, about one run in eight had none in flight at the SIGTERM and stopped at once.
            hanging.lostAnswerAlwaysHangs = true
            site.intake.faults = hanging
            for i in 0..<5 { site.portal.publish(Support.reservation("YY-HANG\(i)", date: BeijingTime.now().date.adding(days: 3).description)) }
            // Until a create is in flight, held by the hall (its item made, its answer kept back):
            // a fixed sleep let a slow machine send SIGTERM before any request hung.
            let hangingBy = Date().addingTimeInterval(30)
            while Date() < hangingBy, !(0..<5).contains(where: { !site.intake.items(externalId: "YY-HANG\($0)").isEmpty }) {
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect((0..<5).contains { !site.intake.items(externalId: "YY-HANG\($0)").isEmpty }, "no create reached the hall")
            Thread.sleep(forTimeInterval: 0.5)
            let stopAt = Date()
            kill(process.processIdentifier, SIGTERM)
            let stopping = notifications(until: "STOPPING=1", on: socket)
            #expect(stopping.last?.contains("STOPPING=1") == true)
            while process.isRunning, Date().timeIntervalSince(stopAt) < 15 { Thread.sleep(forTimeInterval: 0.05) }
            let took = Date().timeIntervalSince(stopAt)
            #expect(!process.isRunning)
            #expect(process.terminationStatus == 0)
            // The requests in flight had their grace (stopGrace: 3 s), then were abandoned.
            #expect(took >= 2.5 && took < 10, "stopped in \(took) s")
            #expect(try String(contentsOfFile: directory + "/daemon.log", encoding: .utf8).contains("stop requested by signal"))
            #expect(try status(directory).state == "stopped")

            // After a restart with the halls answering again, nothing was lost or sent twice.
            site.intake.faults = .none
            let again = try Support.launchHallsync(["run", "--config", config], log: directory + "/daemon2.log")
            defer { if again.isRunning { again.terminate() } }
            // Running (a cycle written) before it is judged or signalled: a SIGTERM before its
            // handlers are in place would end it as a signal does, not as a stop.
            let running = Date().addingTimeInterval(30)
            while Date() < running, !((try? status(directory)).map { $0.state == "running" && $0.writtenAtUnix > stopAt.timeIntervalSince1970 } ?? false) {
                Thread.sleep(forTimeInterval: 0.1)
            }
            let until = Date().addingTimeInterval(30)
            while Date() < until, (0..<5).contains(where: { site.licensing.items(externalId: "YY-HANG\($0)").count != 1 }) { Thread.sleep(forTimeInterval: 0.3) }
            for i in 0..<5 {
                #expect(site.intake.items(externalId: "YY-HANG\(i)").count == 1)
                #expect(site.licensing.items(externalId: "YY-HANG\(i)").count == 1)
            }
            kill(again.processIdentifier, SIGTERM)
            again.waitUntilExit()
            #expect(again.terminationStatus == 0)
            print("service test: stopped \(String(format: "%.1f", took)) s after SIGTERM with requests hanging")
        }
    }

    @Test func personalDataIsMaskedInRealOutputWhateverFormAPeerEchoesItIn() async throws {
        try await offPool {
            let (site, directory, config) = try site("masking")
            defer { site.stop() }
            var r = Support.reservation("YY-PII")
            r.applicant.name = "欧阳娜娜"
            r.applicant.phone = "+86 139-1234-5678"
            r.applicant.idNumber = "３７１００２ 19800101 015x"
            site.portal.publish(r)
            var held = Support.reservation("YY-PII2")
            held.applicant.name = "欧阳娜娜"
            held.applicant.idNumber = "371002198001010150"   // a wrong check digit: held on the attention list
            site.portal.publish(held)
            // The hall refuses with a message that echoes the values: spaced, +86, full-width, and the name.
            site.intake.lies.refuseEchoingValues = true
            site.licensing.lies.refuseEchoingValues = true
            Thread.sleep(forTimeInterval: 1.5)
            for _ in 0..<2 {
                let process = try Support.launchHallsync(["once", "--config", config, "--log-level", "debug"], log: directory + "/once.log")
                process.waitUntilExit()
            }
            let engine = try SyncEngine(configuration: try Configuration.load(path: config), logger: Support.logger)
            let reporter = StatusReporter(version: "test", configPath: config, logger: Support.logger)
            reporter.cycleFinished(engine.runCycle(stop: StopSignal()), engine: engine)
            let attention = try engine.store.read { tx in try tx.openAttention() }
            #expect(attention.contains { $0.code == "HALL_REJECTED" && $0.reservationId == "YY-PII" })
            let texts = [("log", try String(contentsOfFile: directory + "/once.log", encoding: .utf8)),
                         ("attention", attention.map { "\($0.messageZh) \($0.messageEn) \($0.field)" }.joined(separator: "\n")),
                         ("status", try String(contentsOfFile: directory + "/status.json", encoding: .utf8)),
                         ("metrics", try String(contentsOfFile: directory + "/hallsync.prom", encoding: .utf8))]
            #expect(texts[1].1.contains("欧*") && texts[1].1.contains("3710**********015X"), "\(texts[1].1)")
            for (name, text) in texts {
                // Every spelling, reduced to its letters and digits.
                let seen = PersonalDataLeaks.projection(text)
                for secret in ["欧阳娜娜", "阳娜娜", "13912345678", "37100219800101015X", "371002198001010150", "1234567"] {
                    #expect(!seen.contains(secret), "\(secret) in the \(name)")
                }
            }
            // Nor the credentials.
            for file in ["portal-secret", "intake-token", "licensing-token"] {
                let secret = try String(contentsOfFile: directory + "/" + file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(!texts[0].1.contains(secret), "\(file) in the log")
            }
        }
    }

    @Test func statusExitsWithTheMonitoringPluginCodes() async throws {
        try await offPool {
            let (site, directory, config) = try site("status", extra: "monitoring:\n  endpointWarningMinutes: 0\n  endpointCriticalMinutes: 0.01\n")
            defer { site.stop() }
            let engine = try SyncEngine(configuration: try Configuration.load(path: config), logger: Support.logger)
            let reporter = StatusReporter(version: "test", configPath: config, logger: Support.logger)
            site.portal.publish(Support.reservation("YY-ST", date: BeijingTime.now().date.adding(days: 3).description))
            Thread.sleep(forTimeInterval: 1.5)
            for _ in 0..<3 { reporter.cycleFinished(engine.runCycle(stop: StopSignal()), engine: engine) }

            func run(_ arguments: [String]) throws -> (Int32, String) {
                let output = try Support.run(Support.hallsyncBinary, arguments)
                return (output.status, output.text)
            }
            let ok = try run(["status", "--config", config])
            #expect(ok.0 == 0, "\(ok.1)")
            #expect(ok.1.hasPrefix("HALLSYNC OK - 0 pending, 0 on the attention list, 0 overdue"))
            let json = try run(["status", "--config", config, "--json"])
            #expect(json.0 == 0 && (try? JSONDecoder().decode(StatusDocument.self, from: Data(json.1.utf8))) != nil)

            // The intake hall goes away: failing beyond the critical threshold.
            site.intake.stop()
            reporter.cycleFinished(engine.runCycle(stop: StopSignal()), engine: engine)
            Thread.sleep(forTimeInterval: 1)
            reporter.cycleFinished(engine.runCycle(stop: StopSignal()), engine: engine)
            let critical = try run(["status", "--config", config])
            #expect(critical.0 == 2, "\(critical.1)")
            #expect(critical.1.hasPrefix("HALLSYNC CRITICAL - intake failing"))

            let unknown = try run(["status", "--file", directory + "/missing.json"])
            #expect(unknown.0 == 3)
            #expect(unknown.1.hasPrefix("HALLSYNC UNKNOWN - no status file"))
        }
    }

    @Test func checkConfigListsEveryProblemAndPassesAGoodSite() async throws {
        try await offPool {
            let (site, directory, config) = try site("check")
            defer { site.stop() }
            func run() throws -> (Int32, String) {
                let output = try Support.run(Support.hallsyncBinary, ["check-config", "--config", config])
                return (output.status, output.text)
            }
            let good = try run()
            #expect(good.0 == 0, "\(good.1)")
            #expect(good.1.contains("configuration ready"))
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/portal-secret")
            try "".write(toFile: directory + "/licensing-token", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/licensing-token")
            try "year 2020\n".write(toFile: directory + "/working-calendar.txt", atomically: true, encoding: .utf8)
            let bad = try run()
            #expect(bad.0 == 1)
            #expect(bad.1.contains("PROBLEM  portal.appSecretFile: \(directory)/portal-secret is readable by every user (mode 644)"))
            #expect(bad.1.contains("PROBLEM  licensing.tokenFile: \(directory)/licensing-token is empty"))
            #expect(bad.1.contains("PROBLEM  working calendar: no arrangement for \(BeijingTime.now().date.year)"))
            // The mode, the empty token and this year are problems; next year, within 60 days, a warning.
            let today = BeijingTime.now().date
            let years = try WorkingCalendar(text: "year 2020\n").uncoveredYears(from: today, days: 60)
            let warnings = years.filter { $0 != today.year }.count
            let summary = "\(2 + years.filter { $0 == today.year }.count) problems found" + (warnings == 0 ? "" : " (\(warnings) warning\(warnings == 1 ? "" : "s"))")
            #expect(bad.1.contains(summary), "\(bad.1)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"))
    func theUnitsAreHardenedAndVerify() async throws {
        try await offPool {
            for (name, limit) in [("hallsync.service", 1.2), ("hallsync-web.service", 2.0)] {
                try checkUnit(name, limit: limit)
            }
        }
    }

    /// A unit whose secrets are missing is skipped with one line naming the file, not started into
    /// systemd's credential failure (243) and restarted for ever; systemd evaluates the unit's own
    /// conditions here against a scratch directory standing for /etc/hallsync.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed"))
    func aStartWithoutTheSecretsIsRefusedWithOneLineAndNotRestarted() async throws {
        try await offPool {
            let unit = try String(contentsOf: Support.repository.appendingPathComponent("systemd/hallsync.service"), encoding: .utf8)
            func values(_ key: String) -> [String] {
                unit.split(separator: "\n").filter { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
            }
            let credentials = values("LoadCredential").compactMap { $0.split(separator: ":", maxSplits: 1).last.map(String.init) }
            let conditions = values("ConditionFileNotEmpty")
            #expect(credentials.count == 3 && Set(credentials) == Set(conditions), "every loaded credential is a start condition: \(credentials) vs \(conditions)")
            let preventing = Set(values("RestartPreventExitStatus").flatMap { $0.split(separator: " ").map(String.init) })
            #expect(preventing.isSuperset(of: ["74", "78", "243"]), "\(preventing)")

            let directory = try Support.temporaryDirectory("conditions")
            let scratch = conditions.map { "ConditionFileNotEmpty=" + $0.replacingOccurrences(of: "/etc/hallsync", with: directory) }
            func evaluate() throws -> (Int32, String) {
                let output = try Support.run("/usr/bin/systemd-analyze", ["condition"] + scratch)
                return (output.status, output.text)
            }
            // Missing or empty, each secret stops the start by itself, named in one line.
            try "".write(toFile: directory + "/licensing-token", atomically: true, encoding: .utf8)
            var absent = Set(["portal-secret", "intake-token", "licensing-token"])
            while let name = absent.first {
                let refused = try evaluate()
                let failures = refused.1.split(separator: "\n").filter { $0.contains("ConditionFileNotEmpty=") && $0.hasSuffix(" failed.") }
                #expect(refused.0 != 0 && failures.count == 1, "\(refused.1)")
                #expect(failures.contains { line in absent.contains { line.contains("ConditionFileNotEmpty=\(directory)/\($0) failed") } }, "\(refused.1)")
                try "secret\n".write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
                absent.remove(name)
            }
            let present = try evaluate()
            #expect(present.0 == 0, "\(present.1)")
        }
    }

    func checkUnit(_ name: String, limit: Double) throws {
        let unit = Support.repository.appendingPathComponent("systemd/\(name)").path
        func analyze(_ arguments: [String]) throws -> (Int32, String) {
            let output = try Support.run("/usr/bin/systemd-analyze", arguments)
            return (output.status, output.text)
        }
        let security = try analyze(["security", "--offline=true", "--no-pager", unit])
        let line = try #require(security.1.split(separator: "\n").last { $0.contains("Overall exposure level") })
        let score = try #require(Double(line.split(separator: ":").last!.split(separator: " ").first!))
        #expect(score <= limit, "\(name): \(line)")
        // verify checks that ExecStart exists: point it at the binary these tests run.
        let directory = try Support.temporaryDirectory("unit")
        let copy = directory + "/" + name
        try String(contentsOfFile: unit, encoding: .utf8).replacingOccurrences(of: "/usr/bin/hallsync", with: Support.hallsyncBinary)
            .write(toFile: copy, atomically: true, encoding: .utf8)
        let verify = try analyze(["verify", copy])
        #expect(verify.0 == 0 && verify.1.isEmpty, "\(verify.1)")
        print("unit \(name): \(line.trimmingCharacters(in: .whitespaces))")
    }

    /// The test build's own objects linked again with the Swift runtime and Foundation linked in
    /// (what `--static-swift-stdlib` does; building the package's release binary would take the
    /// suite minutes). The test objects import the shared Foundation, whose ICU dependencies are
    /// named here, so the static archives are grouped for the linker.
    static func staticallyLinkedHallsync(into directory: String) throws -> String {
        let build = URL(fileURLWithPath: Support.hallsyncBinary).resolvingSymlinksInPath().deletingLastPathComponent().path
        let fileList = build + "/hallsync.product/Objects.LinkFileList"
        try #require(FileManager.default.fileExists(atPath: fileList), "the test build's link file list \(fileList) is missing")
        let output = directory + "/hallsync"
        var arguments = ["-lstdc++", "-L", build, "-o", output, "-module-name", "hallsync", "-static-stdlib", "-emit-executable",
                         "-Xlinker", "--defsym", "-Xlinker", "main=hallsync_main", "-Xlinker", "-rpath=$ORIGIN", "@" + fileList, "-g",
                         "-Xlinker", "--start-group"]
        for library in ["Foundation", "FoundationNetworking", "FoundationInternationalization", "FoundationEssentials", "_FoundationICU",
                        "_FoundationCShims", "_FoundationCollections", "CoreFoundation", "_CFURLSessionInterface", "dispatch", "BlocksRuntime"] {
            arguments += ["-Xlinker", "-l" + library]
        }
        arguments += ["-Xlinker", "--end-group"]
        let linked = try Support.run("/usr/bin/env", ["swiftc"] + arguments)
        try #require(linked.status == 0, "linking a static hallsync failed: \(linked.text.suffix(2000))")
        return output
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-deb") && FileManager.default.isExecutableFile(atPath: "/usr/bin/objcopy"),
                   "dpkg-deb or binutils is not installed"))
    func theDebianPackageIsDebianShapedAndInstallsIntoAScratchRoot() throws {
        let directory = try Support.temporaryDirectory("deb")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func sh(_ command: String, _ environment: [String: String] = [:]) throws -> (Int32, String) {
            let output = try Support.run("/bin/bash", ["-c", command], environment: environment)
            return (output.status, output.text)
        }
        let binary = try Self.staticallyLinkedHallsync(into: directory)
        let built = try sh("deploy/build-deb.sh \(directory)/dist", ["HALLSYNC_BINARY": binary, "HALLSYNC_DEB_COMPRESSION": "gzip"])
        #expect(built.0 == 0, "\(built.1)")
        print("build-deb.sh (lintian included): \(built.1)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/lintian") {
            #expect(built.1.contains(": no errors"), "lintian ran: \(built.1)")
        } else {
            #expect(built.1.contains("lintian is not installed"))
        }
        // lintian's findings are on stderr: no error, no warning left that is not overridden with a reason.
        #expect(!built.1.split(separator: "\n").contains { $0.hasPrefix("E: ") || $0.hasPrefix("W: ") }, "\(built.1)")
        let deb = built.1.split(separator: "\n").last { $0.hasSuffix(".deb") }.map(String.init) ?? ""
        let version = try sh("sed -n 's/^let hallsyncVersion = \"\\(.*\\)\"/\\1/p' Sources/hallsync/HallsyncCommand.swift").1.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(deb.hasSuffix("hallsync_\(version)-1_\(try sh("dpkg --print-architecture").1.trimmingCharacters(in: .whitespacesAndNewlines)).deb"), "\(deb)")

        let info = try sh("dpkg-deb --info \(deb) && dpkg-deb --info \(deb) conffiles")
        print(info.1)
        #expect(info.1.contains("Package: hallsync") && info.1.contains("Version: \(version)-1"))
        #expect(info.1.contains("Maintainer: hallsync maintainers <") && info.1.contains("Section: admin"))
        #expect(info.1.range(of: #"Installed-Size: [0-9]+\n"#, options: .regularExpression) != nil)
        #expect(info.1.contains("libcurl4") && info.1.contains("libsqlite3-0") && info.1.contains("adduser") && info.1.contains("init-system-helpers"))
        #expect(!info.1.contains("swift"), "the package needs no Swift toolchain")
        #expect(info.1.contains("/etc/hallsync/hallsync.yaml") && info.1.contains("/etc/hallsync/working-calendar.txt"))
        let contents = try sh("dpkg-deb --contents \(deb)")
        for path in ["./usr/bin/hallsync", "./lib/systemd/system/hallsync.service", "./lib/systemd/system/hallsync-web.service",
                     "./etc/hallsync/hallsync.yaml", "./etc/hallsync/matters.csv", "./etc/hallsync/working-calendar.txt",
                     "./usr/share/doc/hallsync/copyright", "./usr/share/doc/hallsync/changelog.Debian.gz", "./usr/share/doc/hallsync/README.md.gz",
                     "./usr/share/man/man8/hallsync.8.gz", "./usr/share/man/man8/hallsync-backup.8.gz", "./usr/share/man/man8/hallsync-user-add.8.gz",
                     "./usr/share/man/man8/hallsync-check-config.8.gz", "./usr/share/bash-completion/completions/hallsync",
                     "./usr/share/zsh/vendor-completions/_hallsync", "./usr/share/lintian/overrides/hallsync"] {
            #expect(contents.1.contains(path + "\n"), "\(path) missing")
        }
        #expect(!contents.1.contains("hallsync-manual.8"), "the hidden man-page command has no page")
        #expect(contents.1.contains("-rwxr-xr-x root/root") && contents.1.contains("-rw-r----- root/root"))

        // Unpacked into a scratch root: checksums hold, the binary is stripped with its debug
        // information beside the package, runs, and needs no Swift library.
        let root = directory + "/root"
        #expect(try sh("dpkg -x \(deb) \(root) && dpkg-deb -e \(deb) \(root)/DEBIAN").0 == 0)
        let sums = try sh("cd \(root) && md5sum --check --quiet DEBIAN/md5sums && wc -l < DEBIAN/md5sums && grep -c ' usr/bin/hallsync$' DEBIAN/md5sums")
        #expect(sums.0 == 0, "\(sums.1)")
        let sections = try sh("readelf -S \(root)/usr/bin/hallsync")
        #expect(!sections.1.contains(".debug_info") && sections.1.contains(".gnu_debuglink") && !sections.1.contains(".symtab"))
        #expect(try sh("readelf -S \(directory)/dist/hallsync_\(version)-1_*.debug").1.contains(".debug_info"))
        let ldd = try sh("ldd \(root)/usr/bin/hallsync")
        #expect(!ldd.1.contains("swift") && !ldd.1.contains("not found"), "\(ldd.1)")
        // Every library the binary needs comes from a package its Depends names (libpq5 since the
        // engine runs the pair's lease, libcurl4, libsqlite3-0, libc6 …).
        let depends = info.1.split(separator: "\n").first { $0.hasPrefix(" Depends:") }.map(String.init) ?? ""
        let needed = try sh("readelf -d \(root)/usr/bin/hallsync | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'").1
            .split(separator: "\n").map(String.init)
        #expect(!needed.isEmpty)
        for soname in needed {
            let owner = try sh("dpkg -S '*/\(soname)' | head -1 | cut -d: -f1").1.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!owner.isEmpty && depends.range(of: "[ ,:]\(NSRegularExpression.escapedPattern(for: owner))( |,|$)", options: .regularExpression) != nil,
                    "\(soname) comes from \(owner.isEmpty ? "no package" : owner), which Depends does not name: \(depends)")
        }
        let ran = try sh("\(root)/usr/bin/hallsync --version")
        #expect(ran.0 == 0 && ran.1.contains(version))
        #expect(try sh("cmp systemd/hallsync.service \(root)/lib/systemd/system/hallsync.service && cmp Config/hallsync.yaml \(root)/etc/hallsync/hallsync.yaml && cmp deploy/debian/postinst \(root)/DEBIAN/postinst").0 == 0)

        // Documentation as Debian has it.
        #expect(try sh("head -1 \(root)/usr/share/doc/hallsync/copyright").1.hasPrefix("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"))
        #expect(try sh("zcat \(root)/usr/share/doc/hallsync/changelog.Debian.gz").1.hasPrefix("hallsync (\(version)-1) "))
        let manual = try sh("zcat \(root)/usr/share/man/man8/hallsync-backup.8.gz")
        #expect(manual.1.hasPrefix(".TH HALLSYNC-BACKUP 8 ") && manual.1.contains("hallsync backup <destination>") && manual.1.contains("SEE ALSO"))
        let pages = try sh("ls \(root)/usr/share/man/man8 | wc -l").1.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int(pages) ?? 0 >= 20, "hallsync(8) and one page per subcommand: \(pages)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/man") {
            let rendered = try sh("MANWIDTH=80 man --warnings -l \(root)/usr/share/man/man8/hallsync.8.gz 2>&1")
            #expect(rendered.0 == 0 && rendered.1.contains("hallsync-backup(8)") && !rendered.1.contains("warning"), "\(rendered.1)")
        }
        let bash = try sh("cat \(root)/usr/share/bash-completion/completions/hallsync")
        #expect(!bash.1.hasPrefix("#!") && bash.1.contains("complete") && bash.1.contains("check-config"))
        #expect(try sh("bash -c 'source \(root)/usr/share/bash-completion/completions/hallsync && complete -p hallsync'").0 == 0)
        #expect(try sh("head -1 \(root)/usr/share/zsh/vendor-completions/_hallsync").1.hasPrefix("#compdef hallsync"))

        // install.sh into a scratch root keeps an edited configuration; uninstall keeps it unless --purge.
        let scratch = directory + "/scratch"
        let environment = ["DESTDIR": scratch, "HALLSYNC_BINARY": Support.hallsyncBinary]
        #expect(try sh("deploy/install.sh", environment).0 == 0)
        #expect(try sh("grep -q 'ExecStart=/usr/local/bin/hallsync run' \(scratch)/etc/systemd/system/hallsync.service").0 == 0)
        try "# edited by the site\n".write(toFile: scratch + "/etc/hallsync/hallsync.yaml", atomically: true, encoding: .utf8)
        let again = try sh("deploy/install.sh", environment)
        #expect(again.1.contains("kept your /etc/hallsync/hallsync.yaml"))
        #expect(try String(contentsOfFile: scratch + "/etc/hallsync/hallsync.yaml", encoding: .utf8) == "# edited by the site\n")
        #expect(FileManager.default.fileExists(atPath: scratch + "/etc/hallsync/hallsync.yaml.dist"))
        #expect(try sh("deploy/uninstall.sh", environment).0 == 0)
        #expect(!FileManager.default.fileExists(atPath: scratch + "/usr/local/bin/hallsync"))
        #expect(FileManager.default.fileExists(atPath: scratch + "/etc/hallsync/hallsync.yaml"))
        #expect(try sh("deploy/uninstall.sh --purge", environment).0 == 0)
        #expect(!FileManager.default.fileExists(atPath: scratch + "/etc/hallsync"))
    }
}
