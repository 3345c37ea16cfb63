import Foundation
import HallsyncConfiguration
import HallsyncDomain
import HallsyncMachines
import HallsyncPostgres
import HallsyncStore
import HallsyncTransport
import Logging

/// This daemon as one of an active/standby pair on PostgreSQL: the region's lease (kept by a
/// ``LeaseKeeper``), the store's writes fenced by it, and every HTTP request gated by it.
///
///     let member = try PairMember(configuration: configuration, logger: logger)
///     let engine = try SyncEngine(configuration: configuration, logger: logger, store: member.store, gate: member.gate)
///     member.start()
///     // each cycle: guard member.isLeading else { standby }
///
/// Three guards, each enough on its own against a double send by a deposed leader, and each
/// against a different failure: the gate (a request starts only while the lease is trusted by
/// this process's monotonic clock, and cannot outlive that trust), the fence (no plan, settle or
/// cursor is written without the lease row at this epoch), and the halls' idempotency keys (the
/// same key for a reservation's create, whichever daemon sends it).
public final class PairMember: Sendable {
    public let store: Store
    public let keeper: LeaseKeeper
    public let region: String

    /// - Parameter unsafeWithoutFence: tests only (the negative control): writes are not fenced
    ///   and requests not gated, as a pair relying on its loop's view of the lease alone would be.
    public init(configuration: Configuration, logger: Logger, unsafeWithoutFence: Bool = false) throws {
        let settings = configuration.store
        let conninfo = try settings.conninfo()
        region = configuration.portal.regionCode
        // A frozen leader's transaction is ended by the server within a quarter of the lease (at
        // most 2 s), so that the standby's takeover, which waits for it, is not held up longer.
        let store = try Store(postgres: PostgresStoreSettings(conninfo: conninfo, region: region,
                                                              options: PostgresConnection.Options(applicationName: "hallsync"),
                                                              idleInTransaction: min(2, settings.leaseTTL / 4),
                                                              preparedStatements: settings.preparedStatements))
        self.store = store
        let holder = settings.holder.isEmpty ? ProcessInfo.processInfo.hostName : settings.holder
        let lease = LeaderLease.Settings(ttl: settings.leaseTTL, renewInterval: settings.renewInterval,
                                         margin: Self.trustMargin(ttl: settings.leaseTTL), pollInterval: settings.standbyPoll)
        keeper = LeaseKeeper(conninfo: conninfo, region: region, holder: holder, settings: lease) { epoch in
            // A database fail-over may have lost commits: creates are looked up by externalId
            // before any is sent again (as after a restore), and every send is due at once.
            let now = Date().timeIntervalSince1970
            let looked = try store.write { tx in
                try tx.lookUpBeforeEveryPendingCreate(restoredAt: BeijingTime(Date()), now: now)
            }
            logger.notice("took over the lease; pending creates will be looked up before they are sent",
                          metadata: ["epoch": "\(epoch)", "region": "\(configuration.portal.regionCode)", "creates": "\(looked)"])
        }
        if !unsafeWithoutFence {
            let keeper = self.keeper
            let region = self.region
            store.fenceWrites { keeper.fenceToken(region: region) }
        }
        self.unsafeWithoutFence = unsafeWithoutFence
    }

    private let unsafeWithoutFence: Bool

    /// The seconds of each lease a daemon of a pair does not trust (``LeaderLease/Settings/margin``):
    /// a quarter of the TTL, at most 2 s. A leader sends nothing later than the start of its last
    /// granted renewal + TTL − this.
    public static func trustMargin(ttl: Double) -> Double { min(2, ttl / 4) }

    /// Set to `1` in a daemon's environment, its pair membership is unfenced: the negative control
    /// of the pair's tests (`hallsync demo --pair --unsafe-without-fence`), which must then find
    /// double sends. Logged as critical; never set it on a site.
    public static let unfencedForTestsVariable = "HALLSYNC_TEST_ONLY_UNFENCED_PAIR"

    /// Asked by every HTTP client of the engine before each request.
    public var gate: SendGate? {
        unsafeWithoutFence ? nil : keeper.sendGate()
    }

    public func start() { keeper.start() }

    /// Resigns the lease (the standby takes over at once) and stops the keeper.
    @discardableResult
    public func stop(timeout: Double = 5) -> Bool { keeper.stop(timeout: timeout) }

    /// Whether to run a cycle now: the lease is ours and the takeover step has run.
    public var isLeading: Bool {
        if case .leader = keeper.role { return true }
        return false
    }
}

extension LeaseKeeper {
    /// The gate of every HTTP client of a pair's daemon: a request starts only with the keeper's
    /// ``sendPermission(timeout:)``, judged by the monotonic clock at that moment, and its time-out
    /// is capped to what is left of the trust.
    public func sendGate() -> SendGate {
        SendGate { [self] timeout in
            switch sendPermission(timeout: timeout) {
            case .granted(_, let left): return .granted(timeout: left)
            case .refused(let why): return .refused("this daemon may not send now (\(why)): it is not the region's leader, or cannot trust its lease")
            }
        }
    }

    /// The token a write transaction proves, while the lease is ours (taking over or leading).
    public func fenceToken(region: String) -> FenceToken? {
        switch role {
        case .takingOver(let epoch), .leader(let epoch, _): return FenceToken(region: region, holder: holder, epoch: epoch)
        case .standby, .stopped: return nil
        }
    }
}

extension PairMember {
    public var status: LeadershipStatus {
        let role = keeper.role
        let wall = Date().timeIntervalSince1970
        let ttl = keeper.settings.ttl
        var status: LeadershipStatus
        switch role {
        case .leader(let epoch, let since):
            status = LeadershipStatus(role: "leader", holder: keeper.holder, region: region, epoch: epoch, since: wall - (keeper.now - since), ttlSeconds: ttl)
        case .takingOver(let epoch):
            status = LeadershipStatus(role: "takingOver", holder: keeper.holder, region: region, epoch: epoch, ttlSeconds: ttl)
        case .standby:
            status = LeadershipStatus(role: "standby", holder: keeper.holder, region: region, ttlSeconds: ttl)
        case .stopped:
            status = LeadershipStatus(role: "stopped", holder: keeper.holder, region: region, ttlSeconds: ttl)
        }
        // The database's view (a read: a standby may make it).
        if let row = try? store.read({ tx in
            try tx.db.row("SELECT holder, epoch, EXTRACT(EPOCH FROM expiresAt - clock_timestamp()) AS expiresIn FROM leaderLease WHERE region = ?", [region])
        }) {
            status.leaseHolder = row["holder"]
            status.leaseEpoch = row["epoch"]
            status.leaseExpiresInSeconds = row["expiresIn"]
        }
        return status
    }
}
