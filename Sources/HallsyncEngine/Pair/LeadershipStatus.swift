import Foundation

/// The lease as one daemon of a pair sees it, for the status file, metrics and the web page.
public struct LeadershipStatus: Hashable, Sendable, Codable {
    /// `leader`, `takingOver`, `standby` or `stopped`.
    public var role: String
    public var holder: String
    public var region: String
    /// The epoch held (the fencing token); nil while standing by.
    public var epoch: Int?
    /// When this daemon won the lease (Unix seconds); nil while standing by.
    public var since: Double?
    /// The lease row as the database holds it: its holder and epoch, and seconds until it
    /// expires by the database's clock (negative: expired that long ago). nil: never held, or
    /// the database could not be read.
    public var leaseHolder: String?
    public var leaseEpoch: Int?
    public var leaseExpiresInSeconds: Double?
    /// The lease's time to live (what "no leader for too long" is measured against).
    public var ttlSeconds: Double

    public init(role: String, holder: String, region: String, epoch: Int? = nil, since: Double? = nil, ttlSeconds: Double = 15) {
        self.role = role
        self.holder = holder
        self.region = region
        self.epoch = epoch
        self.since = since
        self.ttlSeconds = ttlSeconds
    }
}
