import Foundation
import HallsyncDomain
import HallsyncEngine
import Logging

/// Builds the status document after every cycle and writes the status file and, when
/// configured, the Prometheus textfile — both atomically.
///
///     let reporter = StatusReporter(version: "0.4.0", configPath: path, logger: logger)
///     reporter.cycleFinished(report, engine: engine)   // status.json and metrics rewritten
public final class StatusReporter: @unchecked Sendable {
    public let version: String
    public let configPath: String
    public let startedAt = Date()
    public private(set) var configGeneration = 1
    public private(set) var health = EndpointHealth()
    public private(set) var last: StatusDocument?
    let logger: Logger
    /// Cumulative counters for the metrics (since this process started).
    private(set) var totals = Totals()

    struct Totals {
        var cycles = 0
        var pulled = 0
        var delivered = 0
        var pushed = 0
        /// Sends each peer accepted: creates, updates and actions for the halls, status pushes for the portal.
        var sent: [String: Int] = [:]
        var refused = 0
        var feedChanges = 0
        var cycleErrors = 0
    }

    public init(version: String, configPath: String, logger: Logger) {
        self.version = version
        self.configPath = configPath
        self.logger = logger
    }

    public func configurationReloaded() { configGeneration += 1 }

    /// Records the cycle and rewrites the files. Never throws: a file that cannot be written is logged.
    @discardableResult
    public func cycleFinished(_ report: SyncEngine.CycleReport, engine: SyncEngine, state: String = "running") -> StatusDocument {
        let now = Date().timeIntervalSince1970
        health.record(cycleAt: now, failing: report.failingEndpoints)
        totals.cycles += 1
        totals.pulled += report.pulled
        totals.delivered += report.delivered
        totals.pushed += report.succeeded["portal", default: 0]
        for (peer, count) in report.succeeded { totals.sent[peer, default: 0] += count }
        totals.refused += report.refused
        totals.feedChanges += report.feedChanges
        if !report.errors.isEmpty { totals.cycleErrors += 1 }
        let document = makeDocument(report, engine: engine, state: state, now: now)
        last = document
        write(document, operations: engine.configuration.operations)
        return document
    }

    /// Rewrites the files with a new state (`stopping`, `stopped`, `failed` with its reason) and
    /// the last cycle's figures.
    public func stateChanged(to state: String, engine: SyncEngine, reason: String? = nil) {
        guard var document = last else { return }
        let now = Date().timeIntervalSince1970
        document.state = state
        document.stateReason = reason.map { PersonalData.redact($0) }
        document.writtenAt = BeijingTime(Date(timeIntervalSince1970: now)).rfc3339
        document.writtenAtUnix = now
        last = document
        write(document, operations: engine.configuration.operations)
    }

    func makeDocument(_ report: SyncEngine.CycleReport, engine: SyncEngine, state: String, now: Double) -> StatusDocument {
        let c = report.counts
        let ops = engine.configuration.operations
        let rules = engine.rules
        func time(_ date: Date) -> String { BeijingTime(date).rfc3339 }
        let cycle = StatusDocument.Cycle(
            startedAt: time(report.startedAt), endedAt: time(report.startedAt.addingTimeInterval(report.duration)),
            durationSeconds: (report.duration * 1000).rounded() / 1000, pulled: report.pulled, stored: report.stored,
            feedChanges: report.feedChanges, feedApplied: report.feedApplied,
            delivered: report.delivered - report.succeeded["portal", default: 0], pushed: report.succeeded["portal", default: 0],
            retried: report.retried, refused: report.refused, caughtUp: report.caughtUp,
            errors: report.errors.map { PersonalData.redact($0) })
        return StatusDocument(
            version: version, pid: getpid(), startedAt: time(startedAt),
            startedAtUnix: startedAt.timeIntervalSince1970, writtenAt: time(Date(timeIntervalSince1970: now)),
            writtenAtUnix: now, state: state, configPath: configPath, configGeneration: configGeneration,
            intervalSeconds: engine.configuration.sync.interval, lastCycle: cycle,
            cursors: .init(portalPosition: report.portalPosition, portalSafeHorizon: report.portalHorizon,
                           portalClockSkewSeconds: report.portalClockSkewSeconds, feeds: report.feedPositions),
            endpoints: health.endpoints,
            queues: .init(pending: Dictionary(uniqueKeysWithValues: StatusDocument.peers.map { ($0, c.pendingSends[$0] ?? 0) }),
                          oldestPendingAgeSeconds: c.oldestPendingCreatedAt.map { max(0, (now - $0).rounded()) },
                          failedSends: c.failedSends),
            reservations: .init(total: c.reservations, deliverable: c.deliverable, phoneVerifiedOnly: c.phoneVerifiedOnly, undeliverable: c.undeliverable,
                                  withoutPhone: c.withoutPhone),
            items: c.copiesByStatus,
            attention: .init(open: c.openAttention, byCode: c.attentionByCode),
            overdue: .init(total: c.overdue, byDepartment: c.overdueByDept, byRegion: c.overdueByRegion),
            calendar: .init(coveredYears: rules.calendar.coveredYears.sorted(),
                            warnings: rules.coverageWarnings(today: BeijingTime(Date(timeIntervalSince1970: now)).date),
                            deadlineFallbacksLastCycle: report.deadlineFallbacks),
            monitoring: .init(staleAfterIntervals: ops.staleAfterIntervals, endpointWarningMinutes: ops.endpointWarningMinutes,
                              endpointCriticalMinutes: ops.endpointCriticalMinutes, attentionWarning: ops.attentionWarning,
                              attentionCritical: ops.attentionCritical, overdueWarning: ops.overdueWarning,
                              overdueCritical: ops.overdueCritical),
            retention: .init(personalDataDays: engine.configuration.retention.personalDataDays, purgedLastCycle: report.purged,
                             purgedTotal: report.purgedTotal),
            warnings: report.warnings.map { PersonalData.redact($0) },
            leadership: report.leadership)
    }

    /// Writes the metrics first and the status file last: whoever sees a cycle in the status
    /// file (`hallsync status`, the monitoring plugin, a test) finds that cycle's metrics too.
    func write(_ document: StatusDocument, operations: HallsyncEngine.Configuration.Operations) {
        if let metricsFile = operations.metricsFile {
            do {
                try AtomicFile.write(Data(PrometheusText.render(document, totals: totals).utf8), to: metricsFile)
            } catch {
                logger.error("the metrics file could not be written: \(error)")
            }
        }
        do {
            try AtomicFile.write(try StatusDocument.encoder.encode(document) + Data("\n".utf8), to: operations.statusFile)
        } catch {
            logger.error("the status file could not be written: \(error)")
        }
    }
}
