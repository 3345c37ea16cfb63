import Foundation
import HallsyncPostgres

/// Who leads the region, as the web page shows it on either machine of a pair.
public struct PairLeadership: Hashable, Sendable {
    /// The lease's holder (a daemon's `store.holder`, by default its host name).
    public var holder: String
    public var epoch: Int
    /// Seconds until the lease expires by the database's clock; zero or less: expired.
    public var expiresInSeconds: Double
    /// When the holder won it.
    public var acquiredAt: Date

    public var isHeld: Bool { expiresInSeconds > 0 }
}

extension Store {
    /// The region's lease row on a pair; nil on SQLite (one machine) and when the region's lease
    /// was never held. A database error comes through as a ``StoreError``.
    public func leadership() throws(StoreError) -> PairLeadership? {
        guard case .postgresql(let backend) = backend else { return nil }
        do {
            return try backend.withConnection { connection in
                try LeaseStore(connection).current(region: backend.settings.region).map { lease in
                    PairLeadership(holder: lease.holder, epoch: lease.epoch, expiresInSeconds: lease.expiresAt.timeIntervalSince(lease.databaseTime),
                                   acquiredAt: lease.acquiredAt)
                }
            }
        } catch {
            throw Self.failure(error, writing: false, path: path)
        }
    }
}
