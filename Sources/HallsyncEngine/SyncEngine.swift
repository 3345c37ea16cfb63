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
    let normalizer: ReservationNormalizer
    let pull: PortalPull
    let delivery: Delivery
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        guard let catalogueText = FileManager.default.contents(atPath: configuration.catalogue).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw ConfigurationError("cannot read the matter catalogue \(configuration.catalogue); check catalogue in the configuration")
        }
        let catalogue = try MatterCatalogue(csv: catalogueText)
        normalizer = ReservationNormalizer(catalogue: catalogue, calendar: .weekendsOnly, settings: try configuration.normalizerSettings())
        guard let secret = FileManager.default.contents(atPath: configuration.portal.appSecretFile)
            .flatMap({ String(data: $0, encoding: .utf8) })?.trimmingCharacters(in: .whitespacesAndNewlines), !secret.isEmpty else {
            throw ConfigurationError("cannot read the portal app secret from \(configuration.portal.appSecretFile); check portal.appSecretFile")
        }
        store = try Store(path: configuration.database)
        let portal = PortalClient(baseURL: configuration.portal.baseURL,
                                  signer: PortalSigner(appId: configuration.portal.appId, appSecret: secret),
                                  http: try CurlHTTPClient(options: configuration.httpOptions))
        pull = PortalPull(configuration: configuration, store: store, portal: portal, logger: logger)
        delivery = try Delivery(configuration: configuration, store: store, logger: logger)
    }

    public struct CycleReport: Sendable {
        public var startedAt: Date
        public var duration: Double
        public var pages: Int
        /// Records received from the portal.
        public var pulled: Int
        /// New versions stored.
        public var stored: Int
        /// Sends the halls accepted.
        public var delivered: Int
        public var retried: Int
        public var refused: Int
        public var caughtUp: Bool
        public var portalPosition: String?
        public var errors: [String]
        public var counts: StoreTransaction.Counts

        public var summary: String {
            "pulled=\(pulled) stored=\(stored) delivered=\(delivered) retried=\(retried) refused=\(refused) pending=\(counts.pendingSends.values.reduce(0, +)) attention=\(counts.openAttention) caughtUp=\(caughtUp) took=\(String(format: "%.2f", duration))s"
        }
    }

    /// Runs one cycle. Never throws: a failing phase is reported and the next cycle tries again.
    public func runCycle(stop: StopSignal) -> CycleReport {
        let started = Date()
        var report = CycleReport(startedAt: started, duration: 0, pages: 0, pulled: 0, stored: 0, delivered: 0, retried: 0,
                                 refused: 0, caughtUp: false, portalPosition: nil, errors: [], counts: .init())
        do {
            let pulled = try pull.run(normalizer: normalizer, stop: stop)
            report.pages = pulled.pages
            report.pulled = pulled.received
            report.stored = pulled.stored
            report.caughtUp = pulled.caughtUp
            report.portalPosition = pulled.settledPosition?.description
            if let error = pulled.error { report.errors.append("portal: \(error)") }
            if !stop.isSet {
                let delivered = try delivery.run(normalizer: normalizer, stop: stop)
                report.delivered = delivered.delivered
                report.retried = delivered.retried
                report.refused = delivered.refused
                for (target, error) in delivered.lastError.sorted(by: { $0.key < $1.key }) { report.errors.append("\(target): \(error)") }
            }
            report.counts = try store.read { tx in try tx.counts() }
        } catch {
            report.errors.append("store: \(error)")
            logger.error("cycle failed", metadata: ["error": "\(error)"])
        }
        report.duration = Date().timeIntervalSince(started)
        return report
    }
}
