import Foundation
import HallsyncConfiguration
import HallsyncStore

/// What the web page (and `hallsync attention`, `hallsync user`) reads and writes, opened from
/// the configuration: the daemon's state, read only, and the web page's own tables.
///
/// - One machine (`store.kind: sqlite`): the daemon's file, with the web page's file attached
///   as `web` (the summary counts phone calls beside reservations), and the web page's file.
/// - A pair (`store.kind: postgresql`): the region's schema, where the daemon's tables and the
///   web page's live side by side. The web page's writes (sessions, audit, requests) are not
///   fenced by the lease: it works the same on either machine, whichever leads.
public struct WebState: Sendable {
    public let sync: Store
    public let web: WebStore

    public init(configuration: HallsyncConfiguration.Configuration, applicationName: String = "hallsync-web") throws {
        switch configuration.store.kind {
        case .sqlite:
            web = try WebStore(path: configuration.web.database)
            sync = try Store(path: configuration.database, readOnly: true, attaching: ["web": configuration.web.database])
        case .postgresql:
            let store = configuration.store
            sync = try Store(postgres: PostgresStoreSettings(conninfo: try store.conninfo(), region: configuration.portal.regionCode,
                                                             options: .init(applicationName: applicationName),
                                                             preparedStatements: store.preparedStatements))
            web = try WebStore(sharing: sync)
        }
    }
}
