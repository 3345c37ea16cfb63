import Foundation
import HallsyncDomain
import HallsyncStore
import HallsyncTransport
import Logging

/// One sync cycle: pull from the portal, then deliver to the halls. Each phase does bounded
/// work, so a large backlog drains over consecutive cycles while each cycle stays short.
///
///     let engine = try SyncEngine(configuration: configuration, logger: logger)
///     let report = engine.runCycle(stop: StopSignal())
///     print(report.summary)
public final class SyncEngine: @unchecked Sendable {
    public let configuration: Configuration
    public let store: Store
    /// This daemon as one of a pair (`store.kind: postgresql`): cycles run only while it leads.
    public let pair: PairMember?
    /// The catalogue, calendar and site settings in use. A reload builds a new engine (``Daemon``).
    public let rules: SiteRules
    let pull: PortalPull
    let requests: ClerkRequests
    let feeds: HallFeeds
    let delivery: Delivery
    let logger: Logger
    /// Unsafe but working settings (`verifyTLS: false`, a secret others can read), in every cycle's report.
    public let configurationWarnings: [String]

    /// The engine's time: the system's, or a test's that moves on without waiting.
    public let clock: any EngineClock

    /// - Parameter store: the state database already open (a reload keeps the running one);
    ///   nil opens `configuration.database`, or the region's schema on PostgreSQL.
    /// - Parameter pair: the pair membership already running (a reload keeps it); nil makes one
    ///   when the configuration says `store.kind: postgresql` (``Daemon`` starts it).
    public init(configuration: Configuration, logger: Logger, store: Store? = nil, pair: PairMember? = nil,
                clock: any EngineClock = SystemClock()) throws {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        rules = try SiteRules.load(configuration)
        for warning in rules.coverageWarnings(today: clock.beijing.date) { logger.warning("\(warning)") }
        configurationWarnings = configuration.warnings()
        for warning in configurationWarnings { logger.warning("\(warning)") }
        let signer = try configuration.portalSigner()
        switch (configuration.store.kind, pair) {
        case (.postgresql, let pair?):
            self.pair = pair
        case (.postgresql, nil):
            let unfenced = ProcessInfo.processInfo.environment[PairMember.unfencedForTestsVariable] == "1"
            if unfenced { logger.critical("\(PairMember.unfencedForTestsVariable)=1: writes are not fenced and requests not gated — a test's negative control; never in production") }
            if let file = FreezeForTests.file {
                logger.critical("\(FreezeForTests.variable)=\(file): this daemon stops itself (SIGSTOP) after taking a batch when the file is there — a test's freeze; never in production")
            }
            self.pair = try PairMember(configuration: configuration, logger: logger, unsafeWithoutFence: unfenced)
        case (.sqlite, _):
            self.pair = nil
        }
        if let store {
            let same = configuration.store.kind == .sqlite ? store.path == configuration.database : store.dialect == .postgresql
            guard same else {
                throw ConfigurationError("the configuration names another state (database, store) than the one this hallsync runs on (\(store.path)); it cannot change on a reload: restart hallsync to use another")
            }
            self.store = store
        } else if let pair = self.pair {
            self.store = pair.store
        } else {
            self.store = try Store(path: configuration.database)
        }
        let gate = self.pair?.gate
        let makePortalClient = { () throws(TransportError) -> PortalClient in try configuration.portalClient(signer: signer, gate: gate) }
        let store = self.store
        pull = PortalPull(configuration: configuration, store: store, portal: try makePortalClient(), logger: logger, clock: clock)
        requests = ClerkRequests(configuration: configuration, store: store, logger: logger, clock: clock)
        // One token per hall, shared by the feed reader and every send slot.
        let tokens = Dictionary(uniqueKeysWithValues: HallTarget.allCases.map { ($0, TokenSource(path: configuration.hall($0).tokenFile)) })
        feeds = try HallFeeds(configuration: configuration, store: store, tokens: tokens, logger: logger, clock: clock, gate: gate)
        delivery = try Delivery(configuration: configuration, store: store, tokens: tokens, logger: logger, clock: clock, gate: gate,
                                makePortalClient: makePortalClient)
    }

    /// Settled sends are kept for `settledSendRetention` (a trail for people investigating a
    /// reservation), then deleted, at most once an hour. Nothing depends on them: a copy that
    /// exists, a closed item or a reported status is what stops the planner from sending again.
    public static let settledSendRetention: Double = 30 * 86_400
    private var lastPrune: Double = 0

    /// An item a hall holds with a reservation's id that is not its copy waits, unshown, while a
    /// create is on its way that could claim it (a create whose answer was lost). Whatever ends
    /// that wait, the item is shown: looked at again here every cycle, so no path that ends a
    /// create (settled, refused, dropped by a cancellation) can leave it unseen.
    func showSightingsNoLongerWaiting(normalizer: ReservationNormalizer) throws {
        let due = try store.read { tx in try tx.sightingsNoLongerWaiting(limit: 500) }
        guard !due.isEmpty else { return }
        let ledger = Ledger(normalizer: normalizer, now: clock.now)
        try store.write { tx in
            for (reservationId, target) in due where try ledger.reviewSightings(of: reservationId, in: target, tx: tx) {
                try ledger.plan(reservationId, in: tx)
            }
        }
    }

    func pruneSettledSends() throws {
        let now = clock.now
        guard now - lastPrune > 3600 else { return }
        lastPrune = now
        let pruned = try store.write { tx in try tx.pruneSettled(before: now - Self.settledSendRetention) }
        if pruned > 0 { logger.info("pruned settled sends", metadata: ["count": "\(pruned)"]) }
    }

    /// Erases the personal data of settled reservations past the retention: one bounded batch,
    /// at most once an hour unless the last batch was full (a backlog). Returns how many.
    private var lastRetention: Double = 0
    private var retentionBacklog = false
    public static let retentionBatch = 2000

    func applyRetention() throws -> Int {
        let now = clock.now
        guard retentionBacklog || now - lastRetention > 3600 else { return 0 }
        lastRetention = now
        let rule = PersonalDataRetention(days: configuration.retention.personalDataDays)
        let cutoff = rule.cutoff(today: BeijingTime(Date(timeIntervalSince1970: now)).date).description
        let changedBefore = now - Double(rule.days) * 86_400
        let erased = try store.write { tx in
            let due = try tx.retentionDue(cutoff: cutoff, changedBefore: changedBefore, limit: Self.retentionBatch)
            for id in due { try tx.erasePersonalData(of: id, rule: rule, now: now) }
            return due.count
        }
        retentionBacklog = erased == Self.retentionBatch
        for copy in store.removeMigrationCopies(changedBefore: Date(timeIntervalSince1970: changedBefore)) {
            logger.notice("removed a copy an upgrade kept, older than the personal data's retention", metadata: ["file": "\(copy)", "days": "\(rule.days)"])
        }
        if erased > 0 {
            try store.checkpoint()
            logger.notice("erased the personal data of settled reservations past the retention",
                          metadata: ["count": "\(erased)", "appointmentsBefore": "\(cutoff)", "days": "\(rule.days)"])
        }
        return erased
    }

    public struct CycleReport: Sendable {
        public var startedAt: Date
        public var duration: Double = 0
        public var pages = 0
        /// Records received from the portal.
        public var pulled = 0
        /// New versions stored.
        public var stored = 0
        /// Stored versions whose deadline counted weekends only (the calendar lacks the year).
        public var deadlineFallbacks = 0
        /// Hall feed changes read, and those that changed something (echoes of our own actions do not).
        public var feedChanges = 0
        public var feedApplied = 0
        /// Open items looked up after an expired feed.
        public var reconciled = 0
        /// Sends the halls and the portal accepted.
        public var delivered = 0
        public var retried = 0
        public var refused = 0
        public var caughtUp = false
        /// Work was left for lack of budget (portal pages, sends), not for errors: the next cycle
        /// starts at once instead of an interval later, so a backlog drains at full speed.
        public var moreWork = false
        public var portalPosition: String?
        /// The portal time below which every record is visible (the lag horizon), as last computed.
        public var portalHorizon: String?
        /// Sends accepted per peer (`intake`, `licensing`, `portal`).
        public var succeeded: [String: Int] = [:]
        /// Peers that failed this cycle without any success, with the last error.
        public var failingEndpoints: [String: String] = [:]
        public var feedPositions: [String: String] = [:]
        /// Portal − local clock, seconds, as last read.
        public var portalClockSkewSeconds: Int?
        /// What an operator should know although nothing failed (clocks disagree, a position rewound).
        public var warnings: [String] = []
        public var errors: [String] = []
        /// Whether an error of this cycle needs an operator (a wrong URL, token or clock, TLS, the
        /// store) rather than time: `hallsync once` exits 2 then, 1 for passing errors only.
        public var needsOperator = false
        public var counts = StoreTransaction.Counts()
        /// Clerks' requests from the web page applied this cycle.
        public var clerkRequests = 0
        /// Reservations whose personal data was erased this cycle (retention), and in all.
        public var purged = 0
        public var purgedTotal = 0
        /// A failure after which the daemon must not go on (its database file was deleted or replaced).
        public var fatal: StoreError?
        /// One of a pair: the lease as this daemon sees it; nil on a single machine.
        public var leadership: LeadershipStatus?
        /// One of a pair that does not lead now: nothing was done this cycle.
        public var standby = false

        public init(startedAt: Date) { self.startedAt = startedAt }

        /// Requests each peer answered this cycle (portal pages, feed pages, lookups, sends): with
        /// any, the peer worked, whatever else failed there (its "last success").
        public var answered: [String: Int] = [:]
        /// The last error of each peer this cycle.
        public var endpointErrors: [String: String] = [:]

        /// Records an endpoint's error.
        mutating func record(_ error: String, endpoint: String, label: String) {
            errors.append("\(label): \(error)")
            endpointErrors[endpoint] = endpointErrors[endpoint] ?? error
        }

        /// Peers that failed this cycle without answering anything.
        mutating func settleFailingEndpoints() {
            failingEndpoints = endpointErrors.filter { answered[$0.key, default: 0] == 0 }
        }

        public var summary: String {
            "pulled=\(pulled) stored=\(stored) feed=\(feedChanges) delivered=\(delivered) retried=\(retried) refused=\(refused) pending=\(counts.pendingSends.values.reduce(0, +)) attention=\(counts.openAttention) overdue=\(counts.overdue) caughtUp=\(caughtUp) took=\(String(format: "%.2f", duration))s"
        }
    }

    /// Runs one cycle. Never throws: a failing phase is reported and the next cycle tries again.
    public func runCycle(stop: StopSignal) -> CycleReport {
        let started = Date(timeIntervalSince1970: clock.now)
        var report = CycleReport(startedAt: started)
        report.warnings = configurationWarnings
        if let pair {
            report.leadership = pair.status
            // A standby (or a leader still looking up creates after a takeover) waits: the leader works.
            guard pair.isLeading else {
                report.standby = true
                // What the leader keeps: the standby's status shows the same queues and counts.
                if let shared = try? store.read({ tx in (try tx.counts(now: clock.beijing), try tx.purgedCount()) }) {
                    (report.counts, report.purgedTotal) = shared
                }
                report.duration = clock.now - started.timeIntervalSince1970
                return report
            }
        }
        let normalizer = rules.normalizer
        do {
            try store.checkFileIdentity()
        } catch {
            report.fatal = error
            report.errors.append("store: \(error)")
            logger.critical("\(error.message)")
            return report
        }
        do {
            // What clerks asked for on the web page, first: a retry's sends go out in this cycle.
            do { report.clerkRequests = try requests.apply(normalizer: normalizer) } catch {
                report.errors.append("web requests: \(error)")
                logger.error("the clerks' requests could not be read from the web page's database: \(error)")
            }
            let pulled = try pull.run(normalizer: normalizer, stop: stop)
            report.pages = pulled.pages
            report.pulled = pulled.received
            report.stored = pulled.stored
            report.deadlineFallbacks = pulled.deadlineFallbacks
            report.caughtUp = pulled.caughtUp
            report.moreWork = !pulled.caughtUp && pulled.error == nil && !stop.isSet
            report.portalPosition = pulled.settledPosition?.description
            report.portalHorizon = pulled.horizon?.description
            report.portalClockSkewSeconds = pulled.clockSkewSeconds
            report.warnings += pulled.warnings
            report.answered["portal", default: 0] += pulled.answered
            if let error = pulled.error {
                report.record(error.description, endpoint: "portal", label: "portal")
                report.needsOperator = report.needsOperator || error.needsOperator
            }
            if !stop.isSet {
                let followed = try feeds.run(normalizer: normalizer, stop: stop)
                report.feedChanges = followed.read
                report.feedApplied = followed.applied
                report.reconciled = followed.reconciled
                report.feedPositions = Dictionary(uniqueKeysWithValues: followed.seqs.map { ($0.key.rawValue, $0.value) })
                for (target, count) in followed.answered { report.answered[target.rawValue, default: 0] += count }
                for (target, error) in followed.errors.sorted(by: { $0.key < $1.key }) {
                    report.record(error.description, endpoint: target.rawValue, label: "\(target) feed")
                    report.needsOperator = report.needsOperator || error.needsOperator
                }
                for (target, messages) in followed.contradictions.sorted(by: { $0.key < $1.key }) {
                    let more = messages.count > 1 ? " (and \(messages.count - 1) more this cycle)" : ""
                    report.record("CONTRADICTION: \(messages[0])\(more)", endpoint: target.rawValue, label: "\(target) feed")
                }
                report.warnings += followed.warnings
            }
            if !stop.isSet {
                let delivered = try delivery.run(normalizer: normalizer, stop: stop)
                report.delivered = delivered.delivered
                report.retried = delivered.retried
                report.refused = delivered.refused
                report.moreWork = report.moreWork || delivered.budgetSpent
                report.succeeded = Dictionary(uniqueKeysWithValues: delivered.succeeded.map { ($0.key.rawValue, $0.value) })
                for (target, count) in delivered.answered { report.answered[target.rawValue, default: 0] += count }
                for (target, error) in delivered.lastError.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                    report.record(error, endpoint: target.rawValue, label: target.rawValue)
                    report.needsOperator = report.needsOperator || delivered.needsOperator.contains(target)
                }
            }
            try showSightingsNoLongerWaiting(normalizer: normalizer)
            try pruneSettledSends()
            report.purged = try applyRetention()
            (report.counts, report.purgedTotal) = try store.read { tx in (try tx.counts(now: clock.beijing), try tx.purgedCount()) }
            try store.checkFileIdentity()
        } catch let error as StoreError where error.code == .databaseGone || error.code == .databaseReplaced {
            report.fatal = error
            report.errors.append("store: \(error)")
            logger.critical("\(error.message)")
        } catch {
            report.errors.append("store: \(error)")
            report.needsOperator = true
            logger.error("cycle failed", metadata: ["error": "\(error)"])
        }
        report.settleFailingEndpoints()
        report.duration = clock.now - started.timeIntervalSince1970
        return report
    }
}
