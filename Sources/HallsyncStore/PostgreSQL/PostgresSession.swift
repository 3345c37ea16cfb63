import Foundation
import HallsyncPostgres

/// A transaction on PostgreSQL, through one libpq connection: the store's portable SQL
/// translated (``PostgresSQL``), parameters and rows in libpq's text format. Each statement is
/// prepared once per connection (parsed and planned once); with `prepared` off, unnamed
/// statements only (`PQexecParams`), for a pooler in transaction mode that may hand each
/// transaction another server connection without the session's statements.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    /// Statements prepared once per connection (the default); off behind a pooler in transaction
    /// mode that does not carry them (``PostgresStoreSettings/preparedStatements``).
    var prepared = true

    var dialect: SQLDialect { .postgresql }

    private func run(_ sql: String, _ arguments: SQLArguments) throws(PostgresError) -> PostgresRows {
        let translated = PostgresSQL.translate(sql)
        let parameters = arguments.values.map(PostgresSQL.parameter)
        let start = StatementProfile.start
        defer { StatementProfile.record(sql, since: start) }
        return prepared ? try connection.executePrepared(translated, parameters) : try connection.execute(translated, parameters)
    }

    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try run(sql, arguments).affectedRows
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        let result = try run(sql, arguments)
        let columns = SQLColumns(result.columns)
        return result.rows.map { SQLRow(columns: columns, storage: .postgresText($0)) }
    }

    /// Reads through a server-side cursor, 500 rows at a time: an export of any size in flat memory.
    /// (A session exists only inside ``PostgresBackend``'s transactions, where a cursor lives.)
    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws {
        try connection.execute("DECLARE hallsync_rows NO SCROLL CURSOR FOR " + PostgresSQL.translate(sql),
                               arguments.values.map(PostgresSQL.parameter))
        defer { _ = try? connection.execute("CLOSE hallsync_rows") }
        while true {
            let batch = try connection.execute("FETCH 500 FROM hallsync_rows")
            if batch.rows.isEmpty { return }
            let columns = SQLColumns(batch.columns)
            for row in batch.rows {
                guard try body(SQLRow(columns: columns, storage: .postgresText(row))) else { return }
            }
        }
    }
}
