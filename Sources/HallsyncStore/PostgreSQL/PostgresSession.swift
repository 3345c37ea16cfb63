import Foundation
import HallsyncPostgres

/// A transaction on PostgreSQL, through one libpq connection: the store's portable SQL
/// translated (``PostgresSQL``), parameters and rows in libpq's text format. Unnamed statements
/// only (`PQexecParams`): nothing is kept on the server between transactions, so a pooler in
/// transaction mode (PgBouncer) may hand each transaction another server connection.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection

    var dialect: SQLDialect { .postgresql }

    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try connection.execute(PostgresSQL.translate(sql), arguments.values.map(PostgresSQL.parameter)).affectedRows
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        let result = try connection.execute(PostgresSQL.translate(sql), arguments.values.map(PostgresSQL.parameter))
        let columns = SQLColumns(result.columns)
        return result.rows.map { SQLRow(columns: columns, storage: .postgresText($0)) }
    }

    /// Reads through a server-side cursor, 500 rows at a time: an export of any size in flat memory.
    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws {
        guard connection.isInTransaction else {
            for row in try rows(sql, arguments) { guard try body(row) else { return } }
            return
        }
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
