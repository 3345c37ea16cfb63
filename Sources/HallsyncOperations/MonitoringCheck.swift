import Foundation
import HallsyncDomain
import HallsyncEngine
#if canImport(Glibc)
import Glibc
#endif

/// `hallsync status`: reads the status file and judges it by the monitoring-plugin
/// convention — 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (no file, unreadable, stale).
///
///     let check = MonitoringCheck.evaluate(fileAt: "/var/lib/hallsync/status.json", now: Date())
///     print(check.summary)        // "HALLSYNC OK - 0 pending, 3 on the attention list, 0 overdue"
///     exit(check.state.exitCode)
public struct MonitoringCheck: Sendable {
    public enum State: Int, Comparable, Sendable {
        case ok = 0, warning = 1, critical = 2, unknown = 3
        public var exitCode: Int32 { Int32(rawValue) }
        public var label: String { ["OK", "WARNING", "CRITICAL", "UNKNOWN"][rawValue] }
        public static func < (a: State, b: State) -> Bool {
            // UNKNOWN only wins when nothing could be judged; between judgements, CRITICAL is worst.
            a.rank < b.rank
        }
        var rank: Int { [0, 1, 3, 2][rawValue] }
    }

    public let state: State
    /// Why, one line per finding, worst first.
    public let reasons: [String]
    public let document: StatusDocument?

    public var summary: String {
        let head = "HALLSYNC \(state.label)"
        guard let d = document else { return head + " - " + (reasons.first ?? "") }
        let pending = d.queues.pending.values.reduce(0, +)
        let figures = "\(pending) pending, \(d.attention.open) on the attention list, \(d.overdue.total) overdue"
        return head + " - " + (reasons.isEmpty ? figures : reasons.joined(separator: "; ") + " (" + figures + ")") + " | " + Self.performanceData(d)
    }

    /// Performance data in the monitoring-plugins format: `'label'=value[unit];warn;crit;min`.
    static func performanceData(_ d: StatusDocument) -> String {
        let t = d.monitoring
        func figure(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(format: "%.3f", value) }
        let pending = d.queues.pending.values.reduce(0, +)
        var items = [
            "'pending'=\(pending);;;0",
            "'attention'=\(d.attention.open);\(t.attentionWarning);\(t.attentionCritical);0",
            "'overdue'=\(d.overdue.total);\(t.overdueWarning);\(t.overdueCritical);0",
            "'cycle'=\(figure(d.lastCycle?.durationSeconds ?? 0))s;;;0",
            "'oldest_pending'=\(figure(d.queues.oldestPendingAgeSeconds ?? 0))s;;;0",
            "'failed_sends'=\(d.queues.failedSends);;;0",
        ]
        for (name, endpoint) in d.endpoints.sorted(by: { $0.key < $1.key }) {
            items.append("'\(name)_failing_cycles'=\(endpoint.consecutiveFailures);;;0")
        }
        if let lease = d.leadership {
            items.append("'leader'=\(lease.role == "leader" ? 1 : 0);;;0;1")
            items.append("'epoch'=\(lease.leaseEpoch ?? 0);;;0")
            items.append("'lease_left'=\(figure((lease.leaseExpiresInSeconds ?? 0).rounded()))s;;;")
        }
        return items.joined(separator: " ")
    }

    public static func evaluate(fileAt path: String, now: Date = Date()) -> MonitoringCheck {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            guard code == ENOENT else {
                // A directory above it this user may not search: a permission problem, not a missing file.
                return MonitoringCheck(state: .unknown, reasons: ["the status file \(path) cannot be reached by this user (\(String(cString: strerror(code)))): a directory above it does not let this user through; /run/hallsync is 0755 as the unit makes it — check the modes of every directory above the file"], document: nil)
            }
            return MonitoringCheck(state: .unknown, reasons: ["no status file at \(path): is hallsync running, and is this its statusFile?"], document: nil)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = access(path, R_OK) != 0 ? String(cString: strerror(errno)) : "it cannot be read"
            return MonitoringCheck(state: .unknown, reasons: ["the status file \(path) exists but this user cannot read it (\(reason)): it is written 0644 in a 0755 directory (/run/hallsync); check the modes of the file and of every directory above it"], document: nil)
        }
        guard let document = try? JSONDecoder().decode(StatusDocument.self, from: data) else {
            return MonitoringCheck(state: .unknown, reasons: ["the status file \(path) cannot be read as hallsync status (schema 2)"], document: nil)
        }
        return evaluate(document, now: now)
    }

    public static func evaluate(_ d: StatusDocument, now: Date = Date()) -> MonitoringCheck {
        let t = d.monitoring
        let age = now.timeIntervalSince1970 - d.writtenAtUnix
        if age > t.staleAfterIntervals * max(d.intervalSeconds, 1) + 30 {
            return MonitoringCheck(state: .unknown, reasons: ["the status file is \(Int(age)) s old (written \(d.writtenAt)): hallsync is not running cycles"], document: d)
        }
        var findings: [(State, String)] = []
        for (name, endpoint) in d.endpoints.sorted(by: { $0.key < $1.key }) {
            guard let since = endpoint.failingSinceUnix else { continue }
            let minutes = (now.timeIntervalSince1970 - since) / 60
            let text = "\(name) failing for \(Int(minutes.rounded())) min (\(endpoint.consecutiveFailures) cycles): \(endpoint.lastError ?? "")"
            if minutes >= t.endpointCriticalMinutes { findings.append((.critical, text)) }
            else if minutes >= t.endpointWarningMinutes { findings.append((.warning, text)) }
        }
        if d.attention.open >= t.attentionCritical { findings.append((.critical, "\(d.attention.open) reservations on the attention list")) }
        else if d.attention.open >= t.attentionWarning && t.attentionWarning > 0 { findings.append((.warning, "\(d.attention.open) reservations on the attention list")) }
        if d.overdue.total >= t.overdueCritical { findings.append((.critical, "\(d.overdue.total) overdue items")) }
        else if d.overdue.total >= t.overdueWarning && t.overdueWarning > 0 { findings.append((.warning, "\(d.overdue.total) overdue items")) }
        for warning in d.calendar.warnings + (d.warnings ?? []) { findings.append((.warning, warning)) }
        if let lease = d.leadership { findings += leadershipFindings(lease) }
        if d.state == "stopping" { findings.append((.warning, "hallsync is stopping")) }
        if d.state == "stopped" { findings.append((.critical, "hallsync is not running (stopped at \(d.writtenAt))")) }
        if d.state == "failed" { findings.append((.critical, "hallsync stopped by itself at \(d.writtenAt): \(d.stateReason ?? "see its log")")) }
        findings.sort { $0.0 > $1.0 }
        return MonitoringCheck(state: findings.first?.0 ?? .ok, reasons: findings.map(\.1), document: d)
    }

    /// One of a pair: a standby while another leads is fine; this daemon leading while the
    /// database names another holder (two leaders) is critical; nobody holding an unexpired lease
    /// is a warning, and critical once that has lasted longer than the lease's TTL.
    static func leadershipFindings(_ lease: LeadershipStatus) -> [(State, String)] {
        guard let holder = lease.leaseHolder, let expiresIn = lease.leaseExpiresInSeconds else {
            return lease.role == "leader" ? [] : [(.warning, "no lease row for region \(lease.region) yet: no daemon has led it")]
        }
        if lease.role == "leader" || lease.role == "takingOver", holder != lease.holder || lease.leaseEpoch != lease.epoch {
            return [(.critical, "this daemon (\(lease.holder), epoch \(lease.epoch ?? 0)) acts as leader, but the database gives the lease to \(holder) at epoch \(lease.leaseEpoch ?? 0): two leaders")]
        }
        if expiresIn < 0 {
            let text = "no daemon holds the lease of region \(lease.region): it expired \(Int(-expiresIn)) s ago (last holder \(holder))"
            return [(-expiresIn > lease.ttlSeconds ? .critical : .warning, text)]
        }
        return []
    }

    /// How far the last cycle got: a standby does nothing (the leader works), so it is neither
    /// caught up nor catching up.
    static func progress(_ cycle: StatusDocument.Cycle, leadership: LeadershipStatus?) -> String {
        if let role = leadership?.role, role != "leader" { return ", standing by (the leader works)" }
        return cycle.caughtUp ? ", caught up" : ", catching up"
    }

    /// A person-readable rendering of the whole status.
    public func render() -> String {
        guard let d = document else { return summary }
        var lines = [summary, ""]
        lines.append("hallsync \(d.version), pid \(d.pid), \(d.state), started \(d.startedAt) (Beijing time), configuration generation \(d.configGeneration)")
        if let lease = d.leadership {
            let since = lease.since.map { ", since \(BeijingTime(Date(timeIntervalSince1970: $0)).rfc3339)" } ?? ""
            let row = lease.leaseHolder.map { "; the database: \($0) at epoch \(lease.leaseEpoch ?? 0), \(Int(lease.leaseExpiresInSeconds ?? 0)) s left" } ?? ""
            lines.append("pair          \(lease.role) as \(lease.holder), region \(lease.region)\(lease.epoch.map { ", epoch \($0)" } ?? "")\(since)\(row)")
        }
        if let c = d.lastCycle {
            lines.append("last cycle    \(c.startedAt), \(String(format: "%.2f", c.durationSeconds)) s: pulled \(c.pulled), stored \(c.stored), feed changes \(c.feedChanges), delivered \(c.delivered), pushed \(c.pushed), retried \(c.retried), refused \(c.refused)\(Self.progress(c, leadership: d.leadership))")
            for error in c.errors.prefix(5) { lines.append("              error: \(error)") }
        }
        lines.append("portal        position \(d.cursors.portalPosition ?? "-"), safe horizon \(d.cursors.portalSafeHorizon ?? "-")")
        lines.append("feeds         " + d.cursors.feeds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for (name, e) in d.endpoints.sorted(by: { $0.key < $1.key }) {
            lines.append("\(name.padding(toLength: 13, withPad: " ", startingAt: 0)) last success \(e.lastSuccess ?? "never")" + (e.consecutiveFailures > 0 ? ", failing \(e.consecutiveFailures) cycles: \(e.lastError ?? "")" : ""))
        }
        lines.append("queues        pending " + StatusDocument.peers.map { "\($0) \(d.queues.pending[$0] ?? 0)" }.joined(separator: ", ")
                     + (d.queues.oldestPendingAgeSeconds.map { ", oldest \(Int($0)) s" } ?? "") + ", failed \(d.queues.failedSends)")
        lines.append("reservations  \(d.reservations.total) (\(d.reservations.deliverable) deliverable, \(d.reservations.withoutPhone) of them without a usable phone; \(d.reservations.phoneVerifiedOnly) phone-verified only, \(d.reservations.undeliverable) held)")
        lines.append("hall items    " + d.items.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        lines.append("attention     \(d.attention.open)" + (d.attention.byCode.isEmpty ? "" : ": " + d.attention.byCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        lines.append("overdue       \(d.overdue.total)" + (d.overdue.byDepartment.isEmpty ? "" : " by department: " + d.overdue.byDepartment.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        if let r = d.retention {
            lines.append("retention     personal data erased \(r.personalDataDays) days after the appointment once settled: \(r.purgedTotal) reservations so far, \(r.purgedLastCycle) in the last cycle")
        }
        lines.append("calendar      covers \(d.calendar.coveredYears.map(String.init).joined(separator: ", "))" + (d.calendar.warnings.isEmpty ? "" : "; " + d.calendar.warnings.joined(separator: "; ")))
        return lines.joined(separator: "\n")
    }
}
