import Foundation
import HallsyncDomain

/// A whole fake site on loopback: the portal, both halls, a traffic generator, and the files
/// a daemon needs (app secret, hall token files, matter catalogue, working calendar, configuration).
///
///     let site = try StandInSite(directory: tmp, options: .init(lag: 3, faults: .unkind))
///     try site.writeConfiguration(to: tmp + "/hallsync.yaml", interval: 0.5)
///     site.generator.step()
///     let verdict = site.verify(attention: ids)
public final class StandInSite: @unchecked Sendable {
    public struct Options: Sendable {
        public var lag: Double = 60
        public var faults: Faults = .unkind
        /// How long the halls remember idempotency keys (24 h; shorter to exercise lookups).
        public var keyRetention: Double = 86_400
        public var seed: UInt64 = 20210911

        public init(lag: Double = 60, faults: Faults = .unkind, keyRetention: Double = 86_400, seed: UInt64 = 20210911) {
            self.lag = lag
            self.faults = faults
            self.keyRetention = keyRetention
            self.seed = seed
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
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/portal-secret"))
        try Data(TrafficGenerator.catalogueCSV.utf8).write(to: URL(fileURLWithPath: directory + "/matters.csv"))
        let calendar = ProjectFiles.workingCalendar
            ?? "# Config/working-calendar.txt was not found: deadlines count weekends only.\n"
        try Data(calendar.utf8).write(to: URL(fileURLWithPath: directory + "/working-calendar.txt"))
        startedAt = BeijingTime.now().adding(seconds: -5)
        portal = try PortalStandIn(appSecret: secret, lag: options.lag, faults: options.faults)
        intake = try HallStandIn(target: .intake, tokenFile: directory + "/intake-token", faults: options.faults, keyRetention: options.keyRetention)
        licensing = try HallStandIn(target: .licensing, tokenFile: directory + "/licensing-token", faults: options.faults, keyRetention: options.keyRetention)
        generator = TrafficGenerator(portal: portal, seed: options.seed)
    }

    public func hall(_ target: HallTarget) -> HallStandIn { target == .intake ? intake : licensing }

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
          visibilityLag: \(Int(options.lag.rounded(.up)))
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

    /// Compares what the halls hold with what the generated traffic should have produced.
    public func verify(attentionIds: Set<String>) -> Verdict {
        var verdict = Verdict()
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
                case (true, 0): verdict.lost += 1; verdict.problems.append("\(e.reservationId): lost in \(target)")
                case (true, 1): verdict.delivered += 1
                case (false, 0): break
                case (false, _): verdict.unexpected += 1; verdict.problems.append("\(e.reservationId): unexpected item in \(target)")
                case (true, _): verdict.duplicated += items.count - 1; verdict.problems.append("\(e.reservationId): \(items.count) items in \(target)")
                }
                if expected, let item = items.first {
                    var wrong: [String] = []
                    if item.registerTime != e.registerTime { wrong.append("registerTime \(item.registerTime) ≠ \(e.registerTime)") }
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
        return verdict
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
        public var problems: [String] = []

        public var passed: Bool { lost == 0 && duplicated == 0 && unexpected == 0 && wrongContent == 0 && notReported == 0 }

        public var description: String {
            "reservations=\(reservations) phoneOnly=\(phoneOnly) expectedCopies=\(expectedCopies) delivered=\(delivered) lost=\(lost) duplicated=\(duplicated) unexpected=\(unexpected) wrongContent=\(wrongContent) unreported=\(notReported)"
        }
    }
}
