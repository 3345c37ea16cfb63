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
