import ArgumentParser
import Foundation
import HallsyncStandIns
#if canImport(Glibc)
import Glibc
#endif

/// One scenario's figures.
struct BenchResult: Codable {
    var scenario: BenchScenario
    var run: Int
    /// Reservations made, and those that had to reach an inbox with RECEIVED pushed.
    var reservations: Int
    var required: Int
    var completed: Int
    var passed: Bool
    /// From the daemon's start to the last reservation mirrored end to end.
    var seconds: Double
    var reservationsPerSecond: Double
    /// The daemon process's CPU time (user + system, from its rusage) and per reservation made.
    var daemonCPUSeconds: Double
    var cpuMicrosecondsPerReservation: Double
    /// The kernel's part of the daemon's CPU time (sockets, file writes, scheduling).
    var daemonSystemSeconds: Double
    var daemonPeakRSSMiB: Double
    /// The daemon's resident memory when a quarter, half, three quarters and all of the work was done.
    var daemonRSSMiBByProgress: [String: Double]
    var latencyP50: Double?
    var latencyP99: Double?
    /// The stand-ins' process: its CPU time and its share of one core over the run.
    var standInCPUSeconds: Double
    var standInCoreShare: Double
    var daemonCoreShare: Double
    /// slow-halls: the drain time latency and concurrency allow (the busier hall's writes ×
    /// delay ÷ 8 in flight), and the run's ratio to it.
    var limitSeconds: Double?
    var ratioToLimit: Double?
    var hallWrites: [String: Int]
    var portalPushes: Int
    var portalPages: Int
    var verification: String?
    var host: String
    /// Where the daemon kept its state: sqlite, or postgresql (a private cluster on this machine).
    var store: String = "sqlite"
    /// postgresql: the database server's CPU time over the run (its processes, on this machine),
    /// and the daemon's and the server's together per reservation.
    var databaseCPUSeconds: Double?
    var totalCPUMicrosecondsPerReservation: Double?
}

/// `hallsync bench`: the daemon's real code path — `hallsync run` with libcurl, the SQLite file,
/// the outbox and the feeds — against stand-ins on loopback in a process of their own, faults
/// off; each process's CPU and memory measured by the kernel.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput, CPU per reservation, memory and latency against loopback stand-ins.",
        discussion: """
        Scenarios: backlog (100,000 waiting), slow-halls (every hall request answered after 100 ms; \
        10,000 waiting), steady (50 a second for 60 s, 1 s interval), huge (1,000,000 waiting: memory), \
        mixed (3,000 over 30 s with reschedules, cancellations and staff actions, 2 s interval), \
        floor (no daemon: what a page read, a hall create, a status push and a one-row commit cost \
        alone on this machine, the floor under any CPU per reservation; --backlog sets its records, 5,000). \
        Build it in release mode first: swift build -c release; .build/release/hallsync bench mixed
        """)

    @Argument(help: "Scenarios to run: \(BenchScenario.names.joined(separator: ", ")), floor.") var scenarios: [String] = ["mixed", "backlog", "slow-halls", "steady"]
    @Option(help: "Overrides the backlog of the scenarios that have one.") var backlog: Int?
    @Option(help: "Overrides the arrival rate of steady and mixed (reservations a second).") var rate: Double?
    @Option(help: "Overrides how long steady and mixed run, seconds.") var duration: Double?
    @Option(help: "Runs of each scenario (the table shows the median by CPU per reservation).") var runs: Int = 1
    @Option(help: "Where to write the figures, JSON.") var json: String = "bench-results.json"
    @Option(help: "Give up on a scenario after this many seconds.") var timeout: Double = 3600
    @Flag(help: "Keep each scenario's directory (database, logs).") var keepState = false
    @Option(help: "Where the daemon keeps its state: sqlite, postgresql (a private cluster: initdb, Unix socket; the Debian package postgresql), or both (each scenario on each, SQLite first).")
    var store: String = "sqlite"

    func validate() throws {
        for name in scenarios where BenchScenario.named(name) == nil && name != "floor" {
            throw ValidationError("unknown scenario \(name); the scenarios are \(BenchScenario.names.joined(separator: ", ")), floor")
        }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        #if DEBUG
        print("note: this is a debug build; figures of a release build (swift build -c release) are several times better")
        #endif
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var results: [BenchResult] = []
        var floors: [BenchFloor.Figures] = []
        for name in scenarios {
            if name == "floor" {
                for _ in 1...runs {
                    let figures = try BenchFloor.measure(records: backlog ?? 5_000, executable: executable, host: Self.host())
                    print(BenchFloor.line(figures))
                    floors.append(figures)
                }
                continue
            }
            var scenario = BenchScenario.named(name)!
            if let backlog, scenario.backlog > 0 { scenario.backlog = backlog }
            if let rate, scenario.rate > 0 { scenario.rate = rate }
            if let duration, scenario.duration > 0 { scenario.duration = duration }
            let stores: [String]
            switch store {
            case "sqlite", "postgresql": stores = [store]
            case "both": stores = ["sqlite", "postgresql"]
            default: throw ValidationError("--store is sqlite, postgresql or both, not \(store)")
            }
            for kind in stores {
                var runsOfScenario: [BenchResult] = []
                for run in 1...runs {
                    let result = try measure(scenario, run: run, executable: executable, store: kind)
                    print(Self.line(result))
                    runsOfScenario.append(result)
                    results.append(result)
                }
                if runs > 1, let median = runsOfScenario.sorted(by: { $0.cpuMicrosecondsPerReservation < $1.cpuMicrosecondsPerReservation })[safe: runs / 2] {
                    print("median   " + Self.line(median))
                }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if floors.isEmpty {
            try encoder.encode(results).write(to: URL(fileURLWithPath: json))
        } else {
            struct All: Encodable { var scenarios: [BenchResult]; var floor: [BenchFloor.Figures] }
            try encoder.encode(All(scenarios: results, floor: floors)).write(to: URL(fileURLWithPath: json))
        }
        print("figures written to \(json)")
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }

    static func host() -> String {
        var uts = utsname()
        uname(&uts)
        return withUnsafeBytes(of: &uts.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            + ", \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }

    static func line(_ r: BenchResult) -> String {
        func f(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        return "\(r.scenario.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(r.store.padding(toLength: 10, withPad: " ", startingAt: 0)) \(r.passed ? "PASS" : "FAIL") "
            + "\(r.reservations) reservations in \(f(r.seconds, "%.1f")) s = \(f(r.reservationsPerSecond, "%.0f"))/s; "
            + "daemon CPU \(f(r.daemonCPUSeconds, "%.2f")) s (kernel \(f(r.daemonSystemSeconds / max(r.daemonCPUSeconds, 0.001) * 100, "%.0f")) %) = \(f(r.cpuMicrosecondsPerReservation, "%.0f")) µs/reservation; "
            + "peak RSS \(f(r.daemonPeakRSSMiB, "%.1f")) MiB; latency p50 \(f(r.latencyP50, "%.2f")) s p99 \(f(r.latencyP99, "%.2f")) s; "
            + "stand-ins \(f(r.standInCoreShare * 100, "%.0f"))% of a core"
            + (r.limitSeconds.map { " ; limit \(String(format: "%.0f", $0)) s, ratio \(f(r.ratioToLimit, "%.2f"))" } ?? "")
            + (r.databaseCPUSeconds.map { "; PostgreSQL CPU \(String(format: "%.2f", $0)) s, daemon + PostgreSQL \(f(r.totalCPUMicrosecondsPerReservation, "%.0f")) µs/reservation" } ?? "")
    }

    func measure(_ scenario: BenchScenario, run: Int, executable: String, store: String) throws -> BenchResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-bench-\(scenario.name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { if keepState { print("state kept in \(directory)") } else { try? FileManager.default.removeItem(atPath: directory) } }
        // The server's buffer cache as PostgreSQL's default, not the tests' 16MB: the state of a
        // backlog outgrows that, and the server would read its pages from the kernel over and over.
        let cluster = store == "postgresql" ? try PrivatePostgres.start(database: "hallsync", sharedBuffers: "128MB") : nil
        defer { cluster?.stop() }
        let databaseCPUBefore = cluster.flatMap { $0.serverCPUSeconds() }
        let (site, config) = try BenchSite.launch(scenario, directory: directory, executable: executable, timeout: timeout,
                                                  postgres: cluster?.conninfo)
        let wallStart = Date()
        let daemon = try ChildProcess(executable, ["run", "--config", config, "--log-level", "warning"],
                                      log: directory + "/daemon.log", pipeInput: false, pipeOutput: false)
        site.write(line: "GO")
        var report: BenchSiteReport?
        var rssByProgress: [String: Double] = [:]
        var nextMark = 0.25
        while let line = site.readLine() {
            if line.hasPrefix("PROGRESS ") {
                let parts = line.split(separator: " ")
                guard parts.count >= 3, let done = Double(parts[1]), let required = Double(parts[2]), required > 0 else { continue }
                let fraction = done / required
                while nextMark <= 1, fraction >= nextMark {
                    if let rss = daemon.residentBytes { rssByProgress[String(format: "%.2f", nextMark)] = Double(rss) / 1_048_576 }
                    nextMark += 0.25
                }
                if Int(done) % 1 == 0 { FileHandle.standardError.write(Data("\r\(scenario.name): \(Int(done))/\(Int(required)) mirrored, \(parts.count > 3 ? String(parts[3]) : "") s   ".utf8)) }
            } else if line.hasPrefix("DONE ") {
                report = try JSONDecoder().decode(BenchSiteReport.self, from: Data(line.dropFirst(5).utf8))
                break
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        daemon.send(SIGTERM)
        let daemonExit = daemon.wait()
        let wall = Date().timeIntervalSince(wallStart)
        let databaseCPU = cluster.flatMap { $0.serverCPUSeconds() }.map { $0 - (databaseCPUBefore ?? 0) }
        site.closeInput()
        let siteExit = site.wait()
        guard let report else { throw ValidationError("the stand-ins stopped without a report; see \(directory)/stand-ins.log") }
        let writes = ["intake": report.intakeWrites, "licensing": report.licensingWrites]
        let limit = scenario.hallDelay > 0 ? Double(writes.values.max() ?? 0) * scenario.hallDelay / 8 : nil
        let host = Self.host()
        return BenchResult(
            scenario: scenario, run: run, reservations: report.total, required: report.required, completed: report.completed,
            passed: report.passed, seconds: report.seconds,
            reservationsPerSecond: report.seconds > 0 ? Double(report.total) / report.seconds : 0,
            daemonCPUSeconds: daemonExit.cpuSeconds,
            cpuMicrosecondsPerReservation: daemonExit.cpuSeconds / Double(max(report.total, 1)) * 1e6,
            daemonSystemSeconds: daemonExit.systemSeconds,
            daemonPeakRSSMiB: Double(daemonExit.peakResidentBytes) / 1_048_576, daemonRSSMiBByProgress: rssByProgress,
            latencyP50: report.latencyP50, latencyP99: report.latencyP99,
            standInCPUSeconds: siteExit.cpuSeconds, standInCoreShare: siteExit.cpuSeconds / max(wall, 0.001),
            daemonCoreShare: daemonExit.cpuSeconds / max(wall, 0.001),
            limitSeconds: limit, ratioToLimit: limit.map { report.seconds / max($0, 0.001) },
            hallWrites: writes, portalPushes: report.portalPushes, portalPages: report.portalPages,
            verification: report.verification, host: host, store: store, databaseCPUSeconds: databaseCPU,
            totalCPUMicrosecondsPerReservation: databaseCPU.map { ($0 + daemonExit.cpuSeconds) / Double(max(report.total, 1)) * 1e6 })
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
