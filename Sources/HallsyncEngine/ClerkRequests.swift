import Foundation
import HallsyncDomain
import HallsyncStore
import Logging

/// The clerks' requests from the web page — retry a reservation, resolve an attention entry —
/// carried out by the daemon, the only writer of sync state. The web page stores them in its
/// own database; each cycle starts by applying the new ones in order, each in one transaction
/// with the daemon's cursor (`web.requests`), so a request is applied exactly once, between two
/// phases, never racing them.
final class ClerkRequests: @unchecked Sendable {
    let configuration: Configuration
    let store: Store
    let logger: Logger
    private var web: WebStore?

    let clock: any EngineClock

    init(configuration: Configuration, store: Store, logger: Logger, clock: any EngineClock) {
        self.clock = clock
        self.configuration = configuration
        self.store = store
        self.logger = logger
    }

    /// Applies the requests not applied yet (at most `limit`); returns how many.
    func apply(normalizer: ReservationNormalizer, limit: Int = 500) throws -> Int {
        guard let web = try open() else { return 0 }
        let after = try store.read { tx in try tx.cursor(.clerkRequests) }.flatMap(Int64.init) ?? 0
        let requests = try web.requests(after: after, limit: limit)
        for request in requests {
            let ledger = Ledger(normalizer: normalizer, now: clock.now)
            try store.write { tx in
                try ledger.apply(request, in: tx)
                try tx.setCursor(.clerkRequests, to: String(request.id), now: ledger.now)
            }
            logger.notice("applied a clerk's request from the web page",
                          metadata: ["kind": "\(request.kind.rawValue)", "reservation": "\(request.reservationId)",
                                     "account": "\(request.account)", "request": "\(request.id)"])
        }
        return requests.count
    }

    /// The web page's database, once it exists (the web page may never have run); on a pair, its
    /// tables in the region's schema, beside the daemon's (whichever machine the clerk used).
    private func open() throws(StoreError) -> WebStore? {
        if let web { return web }
        if store.dialect == .postgresql {
            web = try WebStore(sharing: store)
            return web
        }
        guard FileManager.default.fileExists(atPath: configuration.web.database) else { return nil }
        web = try WebStore(path: configuration.web.database, readOnly: true)
        return web
    }
}
