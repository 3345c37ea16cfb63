import ArgumentParser
import Foundation
import HallsyncDomain
import HallsyncStandIns
import HallsyncStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the stand-ins' process reports at the end of a scenario.
struct BenchSiteReport: Codable {
    /// Reservations made in all, and those that had to reach an inbox (and how many did).
    var total: Int
    var required: Int
    var completed: Int
    /// From the daemon's start to the last completion (or to the verification's pass).
    var seconds: Double
    var timedOut: Bool
    /// Publication-to-inbox latency in steady state (the first tenth of the arrivals left out).
    var latencyP50: Double?
    var latencyP99: Double?
    var latencySamples: Int
    /// Requests the stand-ins answered: writes to each hall, status pushes, portal pages.
    var intakeWrites: Int
    var licensingWrites: Int
    var portalPushes: Int
    var portalPages: Int
    /// The full verification, for scenarios with cancellations and staff actions.
    var verification: String?
    var passed: Bool
}

/// `hallsync bench-site`: the stand-ins of one scenario, in a process of their own, driven by
/// `hallsync bench` over stdin/stdout (READY, GO, PROGRESS, DONE).
struct BenchSite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-site",
        abstract: "The stand-ins of one benchmark scenario (started by hallsync bench).",
        shouldDisplay: false)

    @Option(help: "The scenario, as JSON.") var scenario: String
    @Option(help: "The scenario's directory (secrets, catalogue, the daemon's configuration and database).") var directory: String
    @Option(help: "Give up after this many seconds.") var timeout: Double = 3600
    @Option(help: "The daemon keeps its state on this PostgreSQL (libpq's connection string) instead of a SQLite file.") var postgres: String?

    func run() throws {
        let scenario = try JSONDecoder().decode(BenchScenario.self, from: Data(self.scenario.utf8))
        let site = try StandInSite(directory: directory, options: .init(lag: scenario.lag, faults: .none, seed: scenario.seed))
        if scenario.hallDelay > 0 {
            var slow = Faults.none
            slow.latency = scenario.hallDelay...scenario.hallDelay
            site.intake.faults = slow
            site.licensing.faults = slow
        }
        let tracker = BenchTracker()
        site.intake.observeCreations { id, at in tracker.created(id, in: .intake, at: at) }
        site.licensing.observeCreations { id, at in tracker.created(id, in: .licensing, at: at) }
        site.portal.observe { event in
            if case .accepted(let id, "RECEIVED", let at) = event { tracker.received(id, at: at) }
        }
        let registered = Mutex(Set<String>())
        @Sendable func register(_ id: String, at time: Double) {
            guard registered.withLock({ $0.insert(id).inserted }), let e = site.generator.expectation(id),
                  e.deliverable, !e.phoneOnly, !e.targets.isEmpty else { return }
            tracker.expect(id, targets: e.targets, publishedAt: time)
        }

        // The backlog waited at the portal while the daemon was away: 20 a second over the past hours.
        let now = Date().timeIntervalSince1970
        let spacing = 0.05
        let oldest = now - Double(scenario.backlog) * spacing - 5
        for i in 0..<scenario.backlog {
            let at = oldest + Double(i) * spacing
            register(site.generator.step(rescheduleRate: 0, at: at), at: at)
        }
        let database = directory + "/hallsync.sqlite"
        let config = directory + "/hallsync.yaml"
        try configurationYAML(site: site, scenario: scenario, database: database,
                              startFrom: BeijingTime(Date(timeIntervalSince1970: oldest - 60)))
            .write(toFile: config, atomically: true, encoding: .utf8)
        print("READY \(config)")
        fflush(nil)
        guard readLine() == "GO" else { return }

        let started = Date().timeIntervalSince1970
        let arrivals = Int((scenario.rate * scenario.duration).rounded())
        let trafficDone = DispatchSemaphore(value: 0)
        let traffic = Thread {
            defer { trafficDone.signal() }
            var rng = SplitMix64(seed: scenario.seed ^ 0x5eed)
            for k in 0..<arrivals {
                let due = started + Double(k) / scenario.rate
                let wait = due - Date().timeIntervalSince1970
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                let id = site.generator.step(rescheduleRate: scenario.rescheduleRate)
                register(id, at: Date().timeIntervalSince1970)
                func draw(_ rate: Double) -> Bool { Double(rng.next() % 1_000_000) / 1_000_000 < rate }
                if draw(scenario.cancellationsPerReservation) { site.generator.cancelOne() }
                if draw(scenario.staffActionsPerReservation) { site.generator.staffActOnOne(in: [site.intake, site.licensing]) }
            }
        }
        traffic.start()

        var trafficFinished = arrivals == 0
        var verification: String?
        var passed = false
        var end = started
        while true {
            Thread.sleep(forTimeInterval: 1)
            if !trafficFinished, trafficDone.wait(timeout: .now()) == .success { trafficFinished = true }
            let (completed, required) = tracker.progress
            let elapsed = Date().timeIntervalSince1970 - started
            print("PROGRESS \(completed) \(required) \(String(format: "%.1f", elapsed))")
            fflush(nil)
            if trafficFinished && (scenario.verifiesEverything || completed >= required) {
                if scenario.verifiesEverything {
                    let verdict = site.verify(attention: try attentionCodes(database, region: site.portal.regionCode))
                    verification = verdict.description
                    if verdict.passed { passed = true; end = Date().timeIntervalSince1970; break }
                    FileHandle.standardError.write(Data("not yet: \(verdict)\n\(verdict.problems.prefix(5).joined(separator: "\n"))\n".utf8))
                } else {
                    passed = true
                    end = tracker.lastCompletion
                    break
                }
            }
            if elapsed > timeout { end = Date().timeIntervalSince1970; break }
        }
        let latencies = tracker.latencies(publishedFrom: started + scenario.duration / 10)
        let (completed, required) = tracker.progress
        let report = BenchSiteReport(
            total: site.generator.generatedCount, required: required, completed: completed, seconds: max(0, end - started),
            timedOut: !passed, latencyP50: latencies.percentile(0.5), latencyP99: latencies.percentile(0.99), latencySamples: latencies.count,
            intakeWrites: site.intake.writeRequestCount, licensingWrites: site.licensing.writeRequestCount,
            portalPushes: site.portal.pushRequestCount, portalPages: site.portal.listRequestCount,
            verification: verification, passed: passed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print("DONE " + String(decoding: try encoder.encode(report), as: UTF8.self))
        fflush(nil)
        // Serve until the benchmark has stopped the daemon (a daemon cut off mid-request would
        // count a failure into its figures).
        while readLine() != nil {}
        site.stop()
    }

    /// Starts the stand-ins of `scenario` in a process of their own and waits until they are
    /// ready: the process, and the configuration they wrote for the daemon.
    static func launch(_ scenario: BenchScenario, directory: String, executable: String, timeout: Double,
                       postgres: String? = nil) throws -> (site: ChildProcess, config: String) {
        print("\(scenario.name): preparing \(scenario.total) reservations (stand-ins in their own process)\(postgres == nil ? "" : ", state on PostgreSQL")…")
        let site = try ChildProcess(executable, ["bench-site", "--scenario", String(decoding: try JSONEncoder().encode(scenario), as: UTF8.self),
                                                 "--directory", directory, "--timeout", String(timeout)] + (postgres.map { ["--postgres", $0] } ?? []),
                                    log: directory + "/stand-ins.log", pipeInput: true, pipeOutput: true)
        while let line = site.readLine() {
            if line.hasPrefix("READY ") { return (site, String(line.dropFirst(6))) }
        }
        _ = site.wait()
        throw ValidationError("the stand-ins did not start; see \(directory)/stand-ins.log")
    }

    /// Open attention codes by reservation, from the daemon's database (read-only, WAL).
    func attentionCodes(_ database: String, region: String) throws -> [String: Set<String>] {
        let store = try postgres.map { try Store(postgres: PostgresStoreSettings(conninfo: $0, region: region)) } ?? Store(path: database, readOnly: true)
        return try store.read { tx in
            try tx.openAttentionCodes()
        }
    }

    /// The daemon's configuration: the shipped defaults, the stand-ins' addresses and the
    /// scenario's interval and lag.
    func configurationYAML(site: StandInSite, scenario: BenchScenario, database: String, startFrom: BeijingTime) -> String {
        """
        portal:
          baseURL: \(site.portal.baseURL)
          appId: \(site.portal.appId)
          appSecretFile: \(directory)/portal-secret
          regionCode: "\(site.portal.regionCode)"
          visibilityLag: \(Int(scenario.lag.rounded(.up)))
          lagMargin: 1
          startFrom: "\(startFrom)"
        intake:
          baseURL: \(site.intake.baseURL)
          tokenFile: \(site.intake.tokenFile)
        licensing:
          baseURL: \(site.licensing.baseURL)
          tokenFile: \(site.licensing.tokenFile)
        database: \(database)
        catalogue: \(directory)/matters.csv
        calendar: \(directory)/working-calendar.txt
        sync:
          interval: \(scenario.interval)
        operations:
          statusFile: \(directory)/status.json
          metricsFile: \(directory)/metrics.prom
        \(postgres.map { "store:\n  kind: postgresql\n  connection: \"\($0)\"\n" } ?? "")
        """
    }
}
