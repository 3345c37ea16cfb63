import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncOperations
import HallsyncStandIns
import HallsyncStore
import Logging
import Synchronization
import HallsyncTestSupport
import Testing

enum Support {
    static func temporaryDirectory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-\(name)-\(UUID().uuidString.prefix(8))").path
        // Its mode set, not left to the umask: the process's umask is one for every test running, and
        // a suite that narrows it for a moment would leave others' directories closed to other users.
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return path
    }

    /// A stand-in site in a fresh directory and an engine configured against it; `editing`
    /// changes the configuration text before it is written (a test's own settings).
    static func site(_ name: String, options: StandInSite.Options, interval: Double = 1, keyRetention: Double? = nil,
                     clock: any EngineClock = SystemClock(), editing: (String) -> String = { $0 }) throws -> (StandInSite, SyncEngine) {
        let directory = try temporaryDirectory(name)
        let site = try StandInSite(directory: directory, options: options)
        let yaml = editing(site.configurationYAML(database: directory + "/state.sqlite", interval: interval, keyRetention: keyRetention))
        try yaml.write(toFile: directory + "/hallsync.yaml", atomically: true, encoding: .utf8)
        return (site, try SyncEngine(configuration: try Configuration.load(path: directory + "/hallsync.yaml"), logger: logger, clock: clock))
    }

    /// A site with no faults and no lag, and an engine configured against it.
    static func quietSite(_ name: String, clock: any EngineClock = SystemClock()) throws -> (StandInSite, SyncEngine) {
        try site(name, options: .init(lag: 0, faults: .none), clock: clock)
    }

    /// A clean reservation of the stand-in site's region, to publish as it is or to spoil.
    static func reservation(_ id: String, itemCode: String = "371002-XK-0012", itemName: String = "公司设立登记",
                            date: String = "2021-09-11", slot: String = "10:00-10:30", created: String = "2021-09-01 09:00:00") -> PortalReservation {
        PortalReservation(reservationId: id, version: 0, createTime: created, updateTime: "",
                          applicant: .init(name: "王某", idNumber: "37100219800101015X", phone: "13806310000"),
                          regionCode: "371002", deptCode: "D", itemCode: itemCode, itemName: itemName,
                          appointmentDate: date, appointmentSlot: slot)
    }

    static let logger = Logger(label: "hallsync-test") { JournalLogHandler(label: $0, level: .error) }

    /// Publishes `count` reservations over about `seconds`, some of them reschedules; meanwhile
    /// staff close items in either hall and applicants cancel online.
    static func generate(_ site: StandInSite, count: Int, over seconds: Double, rescheduleRate: Double = 0.1,
                         staffRate: Double = 0.3, cancelRate: Double = 0.05) {
        var staff = 0.0, cancel = 0.0
        for i in 0..<count {
            site.generator.step(rescheduleRate: rescheduleRate)
            staff += staffRate
            cancel += cancelRate
            while staff >= 1 { site.generator.staffActOnOne(in: [site.intake, site.licensing]); staff -= 1 }
            while cancel >= 1 { site.generator.cancelOne(); cancel -= 1 }
            if i % 10 == 9 { Thread.sleep(forTimeInterval: seconds / Double(count) * 10) }
        }
    }

    /// Runs cycles until everything published is past the lag and nothing is pending.
    @discardableResult
    static func drain(_ engine: SyncEngine, timeout: Double = 90) -> SyncEngine.CycleReport? {
        // Below the horizon: the portal's visibility lag and hallsync's margin as configured, and
        // the second being read (a recent scan above it may stop at one full page of a second).
        let portal = engine.configuration.portal
        let mustStartAfter = Date(timeIntervalSince1970: engine.clock.now).addingTimeInterval(Double(portal.visibilityLag + portal.lagMargin) + 1)
        let deadline = Date().addingTimeInterval(timeout)
        var last: SyncEngine.CycleReport?
        while Date() < deadline {
            let report = engine.runCycle(stop: StopSignal())
            last = report
            if report.startedAt > mustStartAfter, report.caughtUp, report.counts.pendingSends.values.reduce(0, +) == 0 { break }
            Thread.sleep(forTimeInterval: 0.3)
        }
        return last
    }

    /// The open attention entries' codes, by reservation.
    static func attention(_ store: Store) throws -> [String: Set<String>] {
        try store.read { tx in try tx.openAttentionCodes() }
    }

    /// The repository's root (where `deploy/`, `Config/` and `systemd/` are).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// What a finished process printed.
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
        /// stdout then stderr, for commands whose streams are read together.
        var text: String { stdout + stderr }
    }

    /// Runs a program to its end, feeding `stdin`, and returns its status and output.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: URL = repository, stdin: String = "") throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        // stderr is drained on its own thread so that a full pipe can never stall the child.
        let errorData = Mutex(Data())
        let drain = Thread { let data = errors.fileHandleForReading.readDataToEndOfFile(); errorData.withLock { $0 = data } }
        drain.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !drain.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return Output(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }

    /// Starts `hallsync` with its output going to the file `log`; returns the running process.
    static func launchHallsync(_ arguments: [String], environment: [String: String] = [:], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: hallsyncBinary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        return process
    }

    /// The `hallsync` executable built next to the test bundle.
    static var hallsyncBinary: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("hallsync").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/hallsync").path
    }
}

@Suite struct OffPoolTests {
    /// A body run off the pool is still the test's: its expectations are attributed to it, and
    /// it runs on a thread of its own.
    @Test func aBlockingBodyRunsOnItsOwnThreadInTheTestsTask() async throws {
        let inside = try await offPool { (Test.current?.name, ThreadPerJobExecutor.onOwnThread) }
        #expect(inside.0 == Test.current?.name && inside.0 != nil, "the test's context is lost off the pool")
        #expect(inside.1, "the body did not run on the executor's thread")
        #expect(!ThreadPerJobExecutor.onOwnThread)
    }
}
