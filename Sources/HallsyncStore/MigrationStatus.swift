import Foundation
import GRDB
import HallsyncPostgres

/// Where a state's schema stands: what is applied, what a `hallsync db migrate` (or the daemon's
/// next start) would apply, and what only a newer hallsync knows. Read without changing anything.
public struct MigrationStatus: Hashable, Sendable {
    /// The file, or `PostgreSQL schema hallsync_<region>`.
    public var location: String
    public var applied: [String]
    public var pending: [String]
    /// Recorded by a newer hallsync: this one refuses to work on the state.
    public var unknown: [String]

    public var isCurrent: Bool { pending.isEmpty && unknown.isEmpty }
}

extension Store {
    /// The SQLite files: the daemon's state and the web page's (either may not exist yet: then
    /// everything is pending).
    public static func migrationStatus(path: String, webPath: String) throws(StoreError) -> [MigrationStatus] {
        [try sqliteStatus(path, names: Schema.names), try sqliteStatus(webPath, names: WebStore.migrationNames)]
    }

    static func sqliteStatus(_ path: String, names: [String]) throws(StoreError) -> MigrationStatus {
        var recorded: [String] = []
        if FileManager.default.fileExists(atPath: path) {
            do {
                var configuration = Configuration()
                configuration.readonly = true
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                recorded = try queue.read { db in
                    try db.tableExists("grdb_migrations") ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : []
                }
            } catch {
                throw StoreError(code: .open, message: "cannot read the state database \(path): \(error); check the path and its permissions")
            }
        }
        return MigrationStatus(location: path, applied: names.filter(recorded.contains), pending: names.filter { !recorded.contains($0) },
                               unknown: recorded.filter { !names.contains($0) })
    }

    /// The region's schema on PostgreSQL: the daemon's tables and the web page's together.
    public static func migrationStatus(postgres settings: PostgresStoreSettings) throws(StoreError) -> MigrationStatus {
        let schema = try PostgresSchema.schemaName(region: settings.region)
        let names = PostgresSchema.names + PostgresSchema.webMigrations.flatMap(\.names)
        do {
            let connection = try PostgresConnection(conninfo: settings.conninfo, options: settings.options)
            let recorded = try PostgresSchema.recorded(connection, schema: schema)
            return MigrationStatus(location: "PostgreSQL schema " + schema, applied: names.filter(recorded.contains),
                                   pending: names.filter { !recorded.contains($0) }, unknown: recorded.filter { !names.contains($0) }.sorted())
        } catch {
            throw StoreError(code: .open, message: "cannot read the schema \(schema) on PostgreSQL: \(error); check store.connection and the credential file")
        }
    }
}
