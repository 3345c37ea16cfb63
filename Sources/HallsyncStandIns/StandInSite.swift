import Foundation
import HallsyncDomain

/// A whole fake site on loopback: the portal, both halls, a traffic generator, and the files
/// a daemon needs (app secret, hall token files, matter catalogue, working calendar, configuration).
///
///     let site = try StandInSite(directory: tmp, options: .init(lag: 3, faults: .unkind))
///     try site.writeConfiguration(to: tmp + "/hallsync.yaml", interval: 0.5)
///     site.generator.step()
///     let verdict = site.verify(attention: codesById)
public final class StandInSite: @unchecked Sendable {
    public struct Options: Sendable {
        public var lag: Double = 60
        public var faults: Faults = .unkind
        /// How long the halls remember idempotency keys (24 h; shorter to exercise lookups).
        public var keyRetention: Double = 86_400
        public var seed: UInt64 = 20210911
        /// The IPv4 address the portal and the halls listen on: loopback, or one that daemons in
        /// network namespaces reach (``PairNetwork/standInAddress``).
        public var host = "127.0.0.1"

        public init(lag: Double = 60, faults: Faults = .unkind, keyRetention: Double = 86_400, seed: UInt64 = 20210911,
                    host: String = "127.0.0.1") {
            self.lag = lag
            self.faults = faults
            self.keyRetention = keyRetention
            self.seed = seed
            self.host = host
        }
    }

    public let directory: String
    public let options: Options
    public let portal: PortalStandIn
    public let intake: HallStandIn
    public let licensing: HallStandIn
    public let generator: TrafficGenerator
    public let startedAt: BeijingTime

    public init(directory: String, options: Options = Options()) throws {
        self.directory = directory
        self.options = options
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let secret = "s3cr3t-" + UUID().uuidString
        try HallStandIn.writeSecret(secret, to: directory + "/portal-secret")
        try Data(TrafficGenerator.catalogueCSV.utf8).write(to: URL(fileURLWithPath: directory + "/matters.csv"))
        let calendar = ProjectFiles.workingCalendar
            ?? "# Config/working-calendar.txt was not found: deadlines count weekends only.\n"
        try Data(calendar.utf8).write(to: URL(fileURLWithPath: directory + "/working-calendar.txt"))
        startedAt = BeijingTime.now().adding(seconds: -5)
        portal = try PortalStandIn(appSecret: secret, lag: options.lag, faults: options.faults, host: options.host)
        intake = try HallStandIn(target: .intake, tokenFile: directory + "/intake-token", faults: options.faults, keyRetention: options.keyRetention,
                                 host: options.host)
        licensing = try HallStandIn(target: .licensing, tokenFile: directory + "/licensing-token", faults: options.faults,
                                    keyRetention: options.keyRetention, host: options.host)
        generator = TrafficGenerator(portal: portal, seed: options.seed)
    }

    public func hall(_ target: HallTarget) -> HallStandIn {
        switch target {
        case .intake: return intake
        case .licensing: return licensing
        }
    }

    /// The lying-peer mode: both halls err in content in every way they know, at moderate rates
    /// drawn from `seed`, one of them hiding its rewinds and the other not; the portal lists other
    /// regions' records in ours. (The portal's other lies are the traffic generator's ``TrafficGenerator/lie()``.)
    public func startLying(seed: UInt64) {
        intake.lies = .some(loudRewinds: seed % 2 == 1)
        intake.seedLies(seed)
        licensing.lies = .some(loudRewinds: seed % 2 == 0)
        licensing.seedLies(seed &+ 1)
        portal.lies.listsOtherRegions = true
    }

    /// Every request the portal and both halls received from `peer` (an IPv4 address), in order of arrival.
    public func arrivals(from peer: String) -> [LoopbackServer.Arrival] {
        (portal.server.arrivals(from: peer) + intake.server.arrivals(from: peer) + licensing.server.arrivals(from: peer)).sorted { $0.at < $1.at }
    }

    public func stop() {
        portal.stop()
        intake.stop()
        licensing.stop()
    }

    /// A daemon configuration pointing at this site, with short retry delays and time-outs.
    public func configurationYAML(database: String, interval: Double = 1, keyRetention: Double? = nil,
                                  requestTimeout: Double = 2) -> String {
        """
        portal:
          baseURL: \(portal.baseURL)
          appId: \(portal.appId)
          appSecretFile: \(directory)/portal-secret
          regionCode: "\(portal.regionCode)"
          visibilityLag: \(max(1, Int(options.lag.rounded(.up))))
          lagMargin: 1
          pageSize: 50
          startFrom: "\(startedAt)"
        intake:
          baseURL: \(intake.baseURL)
          tokenFile: \(intake.tokenFile)
        licensing:
          baseURL: \(licensing.baseURL)
          tokenFile: \(licensing.tokenFile)
        database: \(database)
        catalogue: \(directory)/matters.csv
        calendar: \(directory)/working-calendar.txt
        sync:
          interval: \(interval)
          maxPagesPerCycle: 40
          maxSendsPerCycle: 400
          concurrencyPerTarget: 8
          idempotencyKeyRetention: \(keyRetention ?? options.keyRetention)
          idempotencyKeySafetyMargin: \(min(3600, (keyRetention ?? options.keyRetention) / 3))
          retryBase: 0.2
          retryCap: 2
        http:
          connectTimeout: 1
          requestTimeout: \(requestTimeout)

        """
    }

    @discardableResult
    public func writeConfiguration(to path: String, database: String, interval: Double = 1, keyRetention: Double? = nil) throws -> String {
        try Data(configurationYAML(database: database, interval: interval, keyRetention: keyRetention).utf8)
            .write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Compares what the halls and the portal hold with what the generated traffic, the staff's
    /// actions and the cancellations should have produced. `attention` maps reservation ids to
    /// the codes of their open attention entries.
    public func verify(attention: [String: Set<String>]) -> Verdict {
        var verdict = Verdict()
        let attentionIds = Set(attention.keys)
        let historyByItem: [HallTarget: [String: [HallStandIn.Change]]] = [
            .intake: Dictionary(grouping: intake.history, by: \.itemNo),
            .licensing: Dictionary(grouping: licensing.history, by: \.itemNo),
        ]
        // A RECEIVED can cross the applicant's cancellation on the wire; the acknowledgement then
        // follows. Any other refusal must be on the attention list.
        let unexplained = portal.refusedPushes.filter { refused in
            if attention[refused.id]?.contains("PORTAL_REFUSED") == true { return false }
            return !(refused.status == "RECEIVED" && portal.reservation(id: refused.id)?.isCancelled == true)
        }
        verdict.refusedPushes = unexplained.count
        let byHall: [HallTarget: [String: [HallStandIn.Item]]] = [
            .intake: Dictionary(grouping: intake.allItems(), by: \.externalId),
            .licensing: Dictionary(grouping: licensing.allItems(), by: \.externalId),
        ]
        for e in generator.expectations {
            verdict.reservations += 1
            if e.phoneOnly { verdict.phoneOnly += 1 }
            if !e.deliverable && !e.phoneOnly {
                if !attentionIds.contains(e.reservationId) { verdict.problems.append("\(e.reservationId): undeliverable but not on the attention list") ; verdict.notReported += 1 }
            }
            for target in HallTarget.allCases {
                let items = byHall[target]?[e.reservationId] ?? []
                let expected = e.targets.contains(target)
                if expected { verdict.expectedCopies += 1 }
                switch (expected, items.count) {
                case (true, 0) where e.cancelled: break   // cancelled before this copy was made
                case (true, 0): verdict.lost += 1; verdict.problems.append("\(e.reservationId): lost in \(target)")
                case (true, 1): verdict.delivered += 1
                case (false, 0): break
                case (false, _): verdict.unexpected += 1; verdict.problems.append("\(e.reservationId): unexpected item in \(target)")
                case (true, _): verdict.duplicated += items.count - 1; verdict.problems.append("\(e.reservationId): \(items.count) items in \(target)")
                }
                if expected, let item = items.first {
                    var wrong: [String] = []
                    // A reschedule that reached a closed item is reported instead of applied.
                    let closedEarly = item.status != "PENDING" && attention[e.reservationId]?.contains("ITEM_CLOSED") == true
                    if item.registerTime != e.registerTime && !closedEarly && !e.cancelled {
                        wrong.append("registerTime \(item.registerTime) ≠ \(e.registerTime) (item \(item.status)\(e.cancelled ? ", cancelled" : ""))")
                    }
                    if item.itemName != e.itemName { wrong.append("itemName \(item.itemName)") }
                    if item.idNumber != e.idNumber { wrong.append("idNumber") }
                    if (item.phone ?? "") != e.phone { wrong.append("phone") }
                    if target == .licensing, e.targets.contains(.intake) {
                        let intakeNo = byHall[.intake]?[e.reservationId]?.first?.itemNo
                        if item.linkedItemNo == nil || item.linkedItemNo != intakeNo { wrong.append("linkedItemNo") }
                    }
                    if !wrong.isEmpty { verdict.wrongContent += 1; verdict.problems.append("\(e.reservationId) in \(target): " + wrong.joined(separator: ", ")) }
                }
            }
        }
        for e in generator.expectations where e.deliverable && !e.phoneOnly {
            checkStatuses(e, attention: attention[e.reservationId] ?? [], items: byHall, history: historyByItem, verdict: &verdict)
        }
        for refused in unexplained.prefix(5) { verdict.problems.append("\(refused.id): portal refused \(refused.status): \(refused.message)") }
        return verdict
    }

    /// The notice's status rules for one reservation: an outcome mirrored to the other copy and
    /// reported; a cancellation closing every copy and acknowledged; otherwise RECEIVED.
    func checkStatuses(_ e: TrafficGenerator.Expectation, attention: Set<String>, items byHall: [HallTarget: [String: [HallStandIn.Item]]],
                       history: [HallTarget: [String: [HallStandIn.Change]]], verdict: inout Verdict) {
        let items = HallTarget.allCases.flatMap { target in (byHall[target]?[e.reservationId] ?? []).map { (target, $0) } }
        let changes = items.flatMap { target, item in history[target]?[item.itemNo] ?? [] }
        let staff = Set(changes.filter { $0.origin == "STAFF" }.map(\.status))
        let processStatus = portal.reservation(id: e.reservationId)?.processStatus
        var wrong: [String] = []
        if staff.count > 1 || attention.contains("OUTCOME_CONFLICT") || attention.contains("CANCELLED_AFTER_OUTCOME") {
            // Staff disagreed, or the applicant cancelled after staff acted: a person decides.
            if staff.count > 1 && !attention.contains("OUTCOME_CONFLICT") { wrong.append("conflicting outcomes \(staff.sorted()) not reported") }
            if e.cancelled && !staff.isEmpty && !attention.contains("CANCELLED_AFTER_OUTCOME") && staff.count == 1
                && items.contains(where: { $0.1.status == "CANCELLED" }) { wrong.append("cancellation after the outcome not reported") }
            if processStatus == "CANCEL_ACKNOWLEDGED" && !staff.isEmpty { wrong.append("acknowledged a cancellation after an outcome") }
            verdict.conflictsReported += 1
        } else if let outcome = staff.first {
            verdict.outcomes += 1
            for (target, item) in items where item.status != outcome { wrong.append("\(target) is \(item.status), the outcome is \(outcome)") }
            let mirrors = changes.filter { $0.origin == "SYNC" }
            if mirrors.contains(where: { $0.status != outcome }) { wrong.append("a mirror with another status") }
            if items.count == e.targets.count && processStatus != outcome { wrong.append("portal says \(processStatus ?? "null"), the outcome is \(outcome)") }
            if wrong.isEmpty && !mirrors.isEmpty { verdict.mirrored += 1 }
        } else if e.cancelled {
            verdict.cancellations += 1
            for (target, item) in items where item.status != "CANCELLED" { wrong.append("\(target) is \(item.status) after the cancellation") }
            if changes.contains(where: { $0.status == "CANCELLED" && $0.origin != "PORTAL" }) { wrong.append("a cancellation not from the portal") }
            if processStatus != "CANCEL_ACKNOWLEDGED" { wrong.append("portal says \(processStatus ?? "null"), expected CANCEL_ACKNOWLEDGED") }
        } else if attention.isEmpty || attention == ["UNKNOWN_MATTER"] {
            for (target, item) in items where item.status != "PENDING" { wrong.append("\(target) is \(item.status) without any staff action") }
            if items.count == e.targets.count && processStatus != "RECEIVED" { wrong.append("portal says \(processStatus ?? "null"), expected RECEIVED") }
            if processStatus == "RECEIVED" { verdict.received += 1 }
        }
        if !wrong.isEmpty {
            verdict.statusWrong += 1
            verdict.problems.append("\(e.reservationId): " + wrong.joined(separator: "; "))
        }
    }

    public struct Verdict: Sendable, CustomStringConvertible {
        public var reservations = 0
        public var phoneOnly = 0
        public var expectedCopies = 0
        public var delivered = 0
        public var lost = 0
        public var duplicated = 0
        public var unexpected = 0
        public var wrongContent = 0
        public var notReported = 0
        /// Reservations whose statuses break the notice's rules (unmirrored outcome, missing push, …).
        public var statusWrong = 0
        /// Pushes the portal refused (4090) that the daemon did not report.
        public var refusedPushes = 0
        /// Reservations with one staff outcome, those of them mirrored by hallsync, cancellations,
        /// reservations left for a person (conflicts), and untouched ones reported RECEIVED.
        public var outcomes = 0
        public var mirrored = 0
        public var cancellations = 0
        public var conflictsReported = 0
        public var received = 0
        public var problems: [String] = []

        public var passed: Bool {
            lost == 0 && duplicated == 0 && unexpected == 0 && wrongContent == 0 && notReported == 0 && statusWrong == 0 && refusedPushes == 0
        }

        public var description: String {
            "reservations=\(reservations) phoneOnly=\(phoneOnly) expectedCopies=\(expectedCopies) delivered=\(delivered) lost=\(lost) duplicated=\(duplicated) unexpected=\(unexpected) wrongContent=\(wrongContent) unreported=\(notReported) outcomes=\(outcomes) mirrored=\(mirrored) cancellations=\(cancellations) conflicts=\(conflictsReported) received=\(received) statusWrong=\(statusWrong) refusedPushes=\(refusedPushes)"
        }
    }
}
