import Foundation
import HallsyncDomain
import Testing
@testable import HallsyncOperations
#if canImport(Glibc)
import Glibc
#endif

@Suite struct PersonalDataTests {
    @Test func masksIdNumbersPhonesAndNames() {
        #expect(PersonalData.maskIdNumber("37100219800101001X") == "3710**********001X")
        #expect(PersonalData.maskPhone("13800000000") == "138****0000")
        #expect(PersonalData.maskPhone("0631-5201234") == "0631-***1234")
        #expect(PersonalData.maskName("王小明") == "王*")
        #expect(PersonalData.maskName(" 阿依古丽·买买提") == "阿*")
    }

    @Test func redactsNumbersInFreeTextButLeavesIdsAndItemNumbers() {
        #expect(PersonalData.redact("idNumber 37100219800101001x is not valid; phone 13806310000, tel 0631-5201234")
                == "idNumber 3710**********001X is not valid; phone 138****0000, tel 0631-***1234")
        #expect(PersonalData.redact("old card 371002800101015") == "old card 3710*******1015")
        let untouched = "reservation YY3710022021090800017 item ZH2021091100012 at 2021-09-11 10:00:00 took 1234 ms"
        #expect(PersonalData.redact(untouched) == untouched)
    }
}

@Suite struct JournalLogHandlerTests {
    @Test func writesPrioritiesAndMasksPersonalFields() throws {
        let lines = Lines()
        let handler = JournalLogHandler(label: "t", level: .debug, write: { lines.append($0) })
        handler.log(event: .init(level: .warning, message: "hall said: 37100219800101001X invalid", metadata: [
            "applicant": "王小明", "phone": "13806310000", "reservation": "YY1"], source: "t", file: #fileID, function: #function, line: #line))
        handler.log(event: .init(level: .debug, message: "two\nlines", metadata: nil, source: "t", file: #fileID, function: #function, line: #line))
        #expect(lines.all == ["<4>hall said: 3710**********001X invalid applicant=王* phone=138****0000 reservation=YY1\n", "<7>two lines\n"])
    }
}

final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

@Suite struct StatusFileTests {
    static func document(written: Double, interval: Double = 10) -> StatusDocument {
        StatusDocument(
            version: "test", pid: 1, startedAt: "2026-11-26 08:00:00", startedAtUnix: written - 100, writtenAt: "2026-11-26 08:01:40",
            writtenAtUnix: written, state: "running", configPath: "/etc/hallsync/hallsync.yaml", configGeneration: 1,
            intervalSeconds: interval, lastCycle: nil, cursors: .init(portalPosition: nil, portalSafeHorizon: nil, feeds: [:]),
            endpoints: ["portal": .init(consecutiveFailures: 0), "intake": .init(consecutiveFailures: 0), "licensing": .init(consecutiveFailures: 0)],
            queues: .init(pending: [:], oldestPendingAgeSeconds: nil, failedSends: 0),
            reservations: .init(total: 0, deliverable: 0, phoneVerifiedOnly: 0, undeliverable: 0, withoutPhone: 0), items: [:],
            attention: .init(open: 0, byCode: [:]), overdue: .init(total: 0, byDepartment: [:], byRegion: [:]),
            calendar: .init(coveredYears: [2026], warnings: [], deadlineFallbacksLastCycle: 0),
            monitoring: .init(staleAfterIntervals: 3, endpointWarningMinutes: 5, endpointCriticalMinutes: 30, attentionWarning: 50,
                              attentionCritical: 500, overdueWarning: 1, overdueCritical: 20))
    }

    @Test func judgesByTheMonitoringPluginConvention() {
        let now = Date()
        var d = Self.document(written: now.timeIntervalSince1970)
        #expect(MonitoringCheck.evaluate(d, now: now).state == .ok)
        d.overdue.total = 3
        #expect(MonitoringCheck.evaluate(d, now: now).state == .warning)
        d.endpoints["intake"] = .init(lastError: "HTTP_503", consecutiveFailures: 200, failingSinceUnix: now.timeIntervalSince1970 - 3600)
        let critical = MonitoringCheck.evaluate(d, now: now)
        #expect(critical.state == .critical)
        #expect(critical.state.exitCode == 2)
        #expect(critical.reasons.first?.contains("intake failing for 60 min") == true)
        #expect(critical.summary.hasPrefix("HALLSYNC CRITICAL - intake failing"))
        let stale = Self.document(written: now.timeIntervalSince1970 - 120)
        #expect(MonitoringCheck.evaluate(stale, now: now).state == .unknown)
        #expect(MonitoringCheck.evaluate(fileAt: "/nonexistent/status.json").state.exitCode == 3)
    }

    @Test func writesAtomicallyWithItsOwnModeAndRendersMetrics() throws {
        let directory = NSTemporaryDirectory() + "hallsync-ops-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let old = umask(0o077)
        defer { umask(old) }
        try AtomicFile.write(Data("{}".utf8), to: directory + "/status.json")
        try AtomicFile.write(Data("{\"a\":1}".utf8), to: directory + "/status.json")
        #expect(try String(contentsOfFile: directory + "/status.json", encoding: .utf8) == "{\"a\":1}")
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/status.json")[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["status.json"])

        var d = Self.document(written: Date().timeIntervalSince1970)
        d.attention.byCode = ["ID_NUMBER_CHECK_DIGIT": 2]
        d.overdue.byDepartment = ["11371002MB0000000B": 1]
        let text = PrometheusText.render(d, totals: .init())
        let lines = text.split(separator: "\n")
        #expect(lines.contains("hallsync_attention_open{code=\"ID_NUMBER_CHECK_DIGIT\"} 2"))
        #expect(lines.contains("hallsync_overdue_items{dept=\"11371002MB0000000B\"} 1"))
        // Every sample has HELP and TYPE, and no timestamp (two fields only).
        let names = Set(lines.filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ")[0].split(separator: "{")[0] })
        for name in names {
            #expect(lines.contains { $0.hasPrefix("# HELP \(name) ") } && lines.contains { $0.hasPrefix("# TYPE \(name) ") })
        }
        #expect(lines.filter { !$0.hasPrefix("#") }.allSatisfy { $0.split(separator: " ").count == 2 })
    }
}

/// What an operator copies to monitor hallsync, checked against what hallsync really writes.
@Suite struct MonitoringExamplesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func file(_ path: String) throws -> String { try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8) }

    /// A status as a running daemon writes it, with every kind of figure present.
    static var document: StatusDocument {
        let endpoint = StatusDocument.Endpoint(lastSuccess: "2026-11-27T05:22:15+08:00", lastError: nil, lastErrorAt: nil, consecutiveFailures: 0, failingSinceUnix: nil)
        return StatusDocument(
            version: "test", pid: 1, startedAt: "2026-11-27T05:21:33+08:00", startedAtUnix: 1_795_728_093, writtenAt: "2026-11-27T05:22:16+08:00",
            writtenAtUnix: 1_795_728_136, state: "running", configPath: "/etc/hallsync/hallsync.yaml", configGeneration: 1, intervalSeconds: 10,
            lastCycle: .init(startedAt: "2026-11-27T05:22:15+08:00", endedAt: "2026-11-27T05:22:15+08:00", durationSeconds: 0.215, pulled: 1, stored: 1,
                             feedChanges: 0, feedApplied: 0, delivered: 2, pushed: 1, retried: 0, refused: 0, caughtUp: true, errors: []),
            cursors: .init(portalPosition: nil, portalSafeHorizon: nil, portalClockSkewSeconds: 0, feeds: ["intake": "seq:1"]),
            endpoints: ["portal": endpoint, "intake": endpoint, "licensing": endpoint],
            queues: .init(pending: ["intake": 0, "licensing": 1, "portal": 0], oldestPendingAgeSeconds: 12, failedSends: 0),
            reservations: .init(total: 5, deliverable: 4, phoneVerifiedOnly: 1, undeliverable: 0, withoutPhone: 0),
            items: ["PENDING": 3, "HANDLED": 1], attention: .init(open: 3, byCode: ["ITEM_CLOSED": 3]),
            overdue: .init(total: 1, byDepartment: ["D1": 1], byRegion: ["371002": 1]),
            calendar: .init(coveredYears: [2026], warnings: [], deadlineFallbacksLastCycle: 0),
            monitoring: .init(staleAfterIntervals: 3, endpointWarningMinutes: 5, endpointCriticalMinutes: 30, attentionWarning: 50,
                              attentionCritical: 500, overdueWarning: 1, overdueCritical: 20),
            retention: .init(personalDataDays: 180, purgedLastCycle: 0, purgedTotal: 0))
    }

    static var metrics: String {
        var totals = StatusReporter.Totals()
        totals.sent = ["intake": 1, "licensing": 1, "portal": 1]
        return PrometheusText.render(document, totals: totals)
    }

    /// Every `hallsync_…` name an expression uses.
    static func metricNames(in text: String) -> Set<String> {
        Set(text.matches(of: /hallsync_[a-z_]+/).map { String($0.output) })
    }

    static func promtool(_ arguments: [String], stdin: String = "") throws -> (Int32, String)? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = arguments
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func theMetricsHaveOneNameForEachPeerAndPassPromtool() throws {
        let text = Self.metrics
        #expect(text.contains(#"hallsync_sends_total{peer="intake"} 1"#) && text.contains(#"hallsync_sends_total{peer="portal"} 1"#))
        #expect(text.contains(#"hallsync_peer_up{peer="licensing"} 1"#) && !text.contains("endpoint=") && !text.contains(#"peer="halls""#))
        if let (status, output) = try Self.promtool(["check", "metrics"], stdin: text) {
            #expect(status == 0, "\(output)")
        }
    }

    @Test func thePerformanceDataFollowsTheMonitoringPluginsFormat() {
        let line = MonitoringCheck.evaluate(Self.document, now: Date(timeIntervalSince1970: 1_795_728_140)).summary
        let data = line.split(separator: "|", maxSplits: 1).last.map(String.init) ?? ""
        #expect(data.contains("'attention'=3;50;500;0") && data.contains("'overdue'=1;1;20;0") && data.contains("'cycle'=0.215s;;;0")
                && data.contains("'oldest_pending'=12s;;;0"), "\(data)")
        for item in data.split(separator: " ") {
            #expect(item.wholeMatch(of: /'[a-z_]+'=[0-9.]+(s)?;[0-9]*;[0-9]*;[0-9]*/) != nil, "\(item)")
        }
    }

    @Test func theAlertRulesParseAndUseOnlyMetricsHallsyncWrites() throws {
        let rules = try Self.file("deploy/monitoring/prometheus-rules.yml")
        let unknown = Self.metricNames(in: rules).subtracting(Self.metricNames(in: Self.metrics))
        #expect(unknown.isEmpty, "rules use metrics hallsync does not write: \(unknown)")
        if let (status, output) = try Self.promtool(["check", "rules", Self.repository.appendingPathComponent("deploy/monitoring/prometheus-rules.yml").path]) {
            #expect(status == 0, "\(output)")
        }
    }

    @Test func theDashboardParsesAndUsesOnlyMetricsHallsyncWrites() throws {
        let json = try Self.file("deploy/monitoring/grafana-dashboard.json")
        let dashboard = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let panels = dashboard?["panels"] as? [[String: Any]] ?? []
        #expect(panels.count >= 6)
        let unknown = Self.metricNames(in: json).subtracting(Self.metricNames(in: Self.metrics))
        #expect(unknown.isEmpty, "the dashboard uses metrics hallsync does not write: \(unknown)")
    }

    @Test func theIcingaAndNagiosChecksRunTheCommandTheREADMEDocuments() throws {
        let icinga = try Self.file("deploy/monitoring/icinga2-hallsync.conf")
        let array = try #require(icinga.firstMatch(of: /command = \[ ([^\]]*) \]/)?.output.1)
        let command = array.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }.joined(separator: " ")
        let readme = try Self.file("README.md")
        #expect(command == "/usr/bin/hallsync status")
        #expect(readme.contains("command[check_hallsync]=\(command)") || readme.contains("`\(command)`"), "the README documents \(command)")
        #expect(try Self.file("deploy/monitoring/nagios-hallsync.cfg").contains("command[check_hallsync]=\(command)"))
    }

    @Test func statusTimesCarryTheirOffset() {
        #expect(BeijingTime(parsing: "2026-11-27 05:22:16")!.rfc3339 == "2026-11-27T05:22:16+08:00")
        var health = EndpointHealth()
        health.record(cycleAt: 1_795_728_136, failing: [:])
        #expect(health.endpoints["intake"]?.lastSuccess == "2026-11-27T05:22:16+08:00")
    }
}
