import Foundation
import HallsyncDomain

/// How each peer has fared over the cycles: last success, last error, failures in a row.
///
///     var health = EndpointHealth()
///     health.record(cycleAt: now, contacted: ["portal", "intake"], failing: ["intake": "HTTP_503 …"])
///     health.endpoints["intake"]?.consecutiveFailures   // 1
public struct EndpointHealth: Sendable {
    /// Every hall and the portal.
    public static let names = StatusDocument.peers
    public private(set) var endpoints: [String: StatusDocument.Endpoint] =
        Dictionary(uniqueKeysWithValues: names.map { ($0, StatusDocument.Endpoint(consecutiveFailures: 0)) })

    public init() {}

    /// Records one cycle: every endpoint not failing is counted a success (each cycle talks to all three).
    public mutating func record(cycleAt now: Double, failing: [String: String]) {
        let time = BeijingTime(Date(timeIntervalSince1970: now)).rfc3339
        for name in Self.names {
            var endpoint = endpoints[name] ?? StatusDocument.Endpoint(consecutiveFailures: 0)
            if let error = failing[name] {
                endpoint.lastError = PersonalData.redact(error)
                endpoint.lastErrorAt = time
                endpoint.consecutiveFailures += 1
                endpoint.failingSinceUnix = endpoint.failingSinceUnix ?? now
            } else {
                endpoint.lastSuccess = time
                endpoint.consecutiveFailures = 0
                endpoint.failingSinceUnix = nil
            }
            endpoints[name] = endpoint
        }
    }
}
