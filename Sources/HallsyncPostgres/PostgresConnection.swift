import CPostgres
import Foundation

/// One blocking connection to PostgreSQL over libpq.
///
///     let connection = try PostgresConnection(conninfo: "host=db1,db2 dbname=hallsync user=hallsync target_session_attrs=read-write")
///     let rows = try connection.execute("SELECT holder, epoch FROM leaderLease WHERE region = $1", ["110105"])
///     try connection.transaction {
///         try connection.execute("UPDATE … WHERE id = $1", [id])
///     }
///
/// Every value goes to the server as a text parameter (`$1`, `$2`, … through `PQexecParams`),
/// never spliced into the SQL; every value comes back as text, `nil` for SQL NULL. One call runs
/// one statement.
///
/// **One connection per thread or task, like a curl easy handle.** libpq lets different threads
/// use different connections, never one connection at once; a statement blocks its thread until
/// the server answers (or a lock it waits for is released). The type is deliberately not
/// `Sendable`: create the connection on the thread or in the task that uses it, and keep blocking
/// calls off the cooperative pool (a dedicated thread, as the curl workers do).
///
/// Connection strings are libpq's own (`key=value` pairs or a `postgresql://` URI), so
/// multi-host failover works as libpq has it: `host=a,b target_session_attrs=read-write` tries
/// each host in turn and keeps the first that accepts writes. ``Options`` supplies defaults
/// (connect timeout, TCP keepalives, application name) that the string may override.
///
/// Every failure is a ``PostgresError``, whose message never contains the statement's parameters.
public final class PostgresConnection {
    /// Defaults for what the connection string leaves out.
    public struct Options: Hashable, Sendable {
        /// Seconds to wait for each host to accept the connection (libpq's `connect_timeout`;
        /// libpq treats 1 as 2).
        public var connectTimeout: Int
        /// TCP keepalives, so a primary that vanished (power, network partition) is noticed
        /// while a statement waits: probes after `keepalivesIdle` seconds of silence, every
        /// `keepalivesInterval` seconds, `keepalivesCount` unanswered ones end the connection.
        public var keepalivesIdle: Int
        public var keepalivesInterval: Int
        public var keepalivesCount: Int
        /// Milliseconds sent data may stay unacknowledged before the connection is given up
        /// (`tcp_user_timeout`; 0 for the system's default). Ignored on Unix sockets.
        public var tcpUserTimeoutMilliseconds: Int
        /// Shown in `pg_stat_activity`, so an operator can tell hallsync's sessions apart.
        public var applicationName: String

        public init(connectTimeout: Int = 5, keepalivesIdle: Int = 10, keepalivesInterval: Int = 5, keepalivesCount: Int = 3,
                    tcpUserTimeoutMilliseconds: Int = 30_000, applicationName: String = "hallsync") {
            self.connectTimeout = connectTimeout
            self.keepalivesIdle = keepalivesIdle
            self.keepalivesInterval = keepalivesInterval
            self.keepalivesCount = keepalivesCount
            self.tcpUserTimeoutMilliseconds = tcpUserTimeoutMilliseconds
            self.applicationName = applicationName
        }
    }

    private var handle: OpaquePointer?
    /// Statements prepared on this connection (``executePrepared(_:_:)``), by their SQL; a
    /// reconnect starts a new server session, with none.
    private var prepared: [String: String] = [:]

    /// Connects, blocking until a server accepts or every host has failed.
    ///
    /// `conninfo` is libpq's: `host=/run/postgresql dbname=hallsync`, `host=db1,db2 port=5432,5432
    /// target_session_attrs=read-write`, or `postgresql://…`. Settings it names win over `options`.
    public init(conninfo: String, options: Options = Options()) throws(PostgresError) {
        // libpq's own parse errors quote the string, which may hold a password: checked first,
        // and reported without it.
        var parseError: UnsafeMutablePointer<CChar>? = nil
        guard let parsed = PQconninfoParse(conninfo, &parseError) else {
            if let parseError { PQfreemem(parseError) }
            throw PostgresError(code: .invalidConnectionString,
                                message: "the connection string could not be read; \(PostgresError.advice(for: .invalidConnectionString))")
        }
        PQconninfoFree(parsed)

        // Processed in order, the last value of a repeated keyword winning (libpq's rule): the
        // defaults first, then `dbname`, which libpq expands into the caller's settings, then
        // the one setting hallsync depends on, since every value is decoded as UTF-8.
        let settings: [(String, String)] = [
            ("connect_timeout", String(options.connectTimeout)),
            ("keepalives", "1"),
            ("keepalives_idle", String(options.keepalivesIdle)),
            ("keepalives_interval", String(options.keepalivesInterval)),
            ("keepalives_count", String(options.keepalivesCount)),
            ("tcp_user_timeout", String(options.tcpUserTimeoutMilliseconds)),
            ("application_name", options.applicationName),
            ("dbname", conninfo),
            ("client_encoding", "UTF8"),
        ]
        let connection: OpaquePointer? = withCStrings(settings.map(\.0) + [nil]) { keywords in
            withCStrings(settings.map(\.1) + [nil]) { values in
                PQconnectdbParams(keywords, values, 1)
            }
        }
        guard let connection else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection; the process may be out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.libpqMessage(PQerrorMessage(connection)) ?? "no reason given"
            PQfinish(connection)
            throw PostgresError(code: .connectionFailed,
                                message: "could not connect to PostgreSQL (\(reason)); \(PostgresError.advice(for: .connectionFailed))")
        }
        hallsync_pq_ignore_notices(connection)
        handle = connection
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Closes the connection (a transaction in progress is rolled back by the server). Later calls
    /// throw `connectionClosed`. Closing twice is harmless.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared.removeAll()
    }

    /// Connects again with the same settings (after `connectionLost`), trying every host again.
    public func reconnect() throws(PostgresError) {
        let connection = try open()
        prepared.removeAll()
        PQreset(connection)
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.libpqMessage(PQerrorMessage(connection)) ?? "no reason given"
            throw PostgresError(code: .connectionFailed,
                                message: "could not reconnect to PostgreSQL (\(reason)); \(PostgresError.advice(for: .connectionFailed))")
        }
        hallsync_pq_ignore_notices(connection)
    }

    /// Whether the connection is up (not closed, not broken): a pool drops one that is not.
    public var isOpen: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The server process serving this connection (`pg_stat_activity.pid`), for diagnostics.
    public var backendProcessID: Int32 {
        handle.map { PQbackendPID($0) } ?? 0
    }

    /// A transaction is open (possibly aborted by a failed statement and waiting for ROLLBACK).
    public var isInTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …; `nil` is SQL NULL) and returns
    /// its rows as text. Blocks until the server answers.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        let connection = try open()
        if parameters.contains(where: { $0?.utf8.contains(0) == true }) {
            throw PostgresError(code: .misuse, message: "a parameter contains a NUL character, which PostgreSQL text cannot hold; \(PostgresError.advice(for: .misuse))")
        }
        let result: OpaquePointer? = withCStrings(parameters) { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        guard let result else {
            // Nothing came back at all: the request could not be sent, or memory ran out.
            throw failure(connection, result: nil, parameters: parameters)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            throw failure(connection, result: result, parameters: parameters)
        default:
            // COPY, pipeline or single-row results: not something `execute` starts.
            throw PostgresError(code: .unexpectedResult,
                                message: "the statement returned a result of kind \(PQresultStatus(result).rawValue), which execute does not read (COPY?); \(PostgresError.advice(for: .unexpectedResult))")
        }
    }

    /// ``execute(_:_:)`` through a statement prepared once on this connection (named, kept for the
    /// session): the server parses and plans it once, not at every call. Not through a pooler in
    /// transaction mode older than PgBouncer 1.21 (its next transaction may run on a server
    /// connection that never saw the statement).
    @discardableResult
    public func executePrepared(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresRows {
        let connection = try open()
        if parameters.contains(where: { $0?.utf8.contains(0) == true }) {
            throw PostgresError(code: .misuse, message: "a parameter contains a NUL character, which PostgreSQL text cannot hold; \(PostgresError.advice(for: .misuse))")
        }
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "hallsync_\(prepared.count + 1)"
            guard let made = PQprepare(connection, name, sql, Int32(parameters.count), nil) else {
                throw failure(connection, result: nil, parameters: parameters)
            }
            defer { PQclear(made) }
            guard PQresultStatus(made) == PGRES_COMMAND_OK else { throw failure(connection, result: made, parameters: parameters) }
            prepared[sql] = name
        }
        let result: OpaquePointer? = withCStrings(parameters) { values in
            PQexecPrepared(connection, name, Int32(parameters.count), values, nil, nil, 0)
        }
        guard let result else { throw failure(connection, result: nil, parameters: parameters) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result)
        default:
            throw failure(connection, result: result, parameters: parameters)
        }
    }

    /// Runs `body` between `BEGIN` and `COMMIT` (READ COMMITTED, the server's default). When
    /// `body` throws, the transaction is rolled back and the error passes through unchanged.
    ///
    /// A statement that failed inside `body` aborts the transaction even if `body` caught its
    /// error; `COMMIT` would then quietly roll back, so it is not sent: the transaction is rolled
    /// back and `queryFailed` thrown. A connection lost during `COMMIT` throws
    /// `commitOutcomeUnknown`: the server may have committed before the connection broke.
    /// Transactions do not nest (`misuse`).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try transaction(beginningWith: "BEGIN") { _ in try body() }
    }

    /// ``transaction(_:)`` begun by `script`: `BEGIN` and what the transaction needs first, sent
    /// as one request (the simple protocol: several statements, no parameters — give values with
    /// ``literal(_:)``). `body` gets the result of the script's last statement.
    ///
    ///     try connection.transaction(beginningWith: "BEGIN; SELECT 1 FROM lease WHERE … FOR SHARE") { fence in … }
    public func transaction<T>(beginningWith script: String, _ body: (PostgresRows) throws -> T) throws -> T {
        let connection = try open()
        guard PQtransactionStatus(connection) == PQTRANS_IDLE else {
            throw PostgresError(code: .misuse, message: "a transaction was started inside another one (or during another statement); \(PostgresError.advice(for: .misuse))")
        }
        let first: PostgresRows
        do {
            first = try executeScript(script)
        } catch {
            rollbackQuietly()
            throw error
        }
        let value: T
        do {
            value = try body(first)
        } catch {
            rollbackQuietly()
            throw error
        }
        if PQtransactionStatus(connection) == PQTRANS_INERROR {
            rollbackQuietly()
            throw PostgresError(code: .queryFailed,
                                message: "a statement in the transaction failed and its error was caught, so the transaction was rolled back; let the error reach transaction { } or run the whole transaction again")
        }
        try commit()
        return value
    }

    /// Runs statements separated by `;` in one request (libpq's `PQexec`), without parameters;
    /// returns the last one's rows. A failing statement ends the request with its error.
    @discardableResult
    public func executeScript(_ sql: String) throws(PostgresError) -> PostgresRows {
        let connection = try open()
        guard let result = PQexec(connection, sql) else { throw failure(connection, result: nil, parameters: []) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result)
        default:
            throw failure(connection, result: result, parameters: [])
        }
    }

    /// `text` as an SQL string literal for a script (`E'…'`, with `\` and `'` escaped: the same
    /// whatever `standard_conforming_strings` says). A NUL, which PostgreSQL text cannot hold, is dropped.
    public static func literal(_ text: String) -> String {
        "E'" + text.replacingOccurrences(of: "\u{0}", with: "").replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    private func commit() throws(PostgresError) {
        let committed: PostgresRows
        do {
            committed = try execute("COMMIT")
        } catch where error.code == .connectionLost {
            throw PostgresError(code: .commitOutcomeUnknown, sqlState: error.sqlState,
                                message: "the connection was lost during COMMIT; \(PostgresError.advice(for: .commitOutcomeUnknown))")
        }
        if committed.commandTag == "ROLLBACK" {
            throw PostgresError(code: .queryFailed, message: "the server rolled the transaction back at COMMIT; run the whole transaction again")
        }
    }

    // MARK: - Internals

    private func open() throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(code: .connectionClosed, message: "the connection was closed; \(PostgresError.advice(for: .connectionClosed))")
        }
        return handle
    }

    private func rollbackQuietly() {
        guard let handle, PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) != PQTRANS_IDLE else { return }
        if let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
    }

    /// The error for a failed statement. The server's DETAIL, CONTEXT and position are never
    /// used (they quote row data); see ``PostgresError``.
    private func failure(_ connection: OpaquePointer, result: OpaquePointer?, parameters: [String?]) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let result, let value = PQresultErrorField(result, code) else { return nil }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        let sqlState = field(Int32(HALLSYNC_PG_DIAG_SQLSTATE))
        var broken = PQstatus(connection) == CONNECTION_BAD
        if !broken && sqlState == nil {
            // libpq's own error, not the server's. When sending hit a reset socket, libpq says
            // "server closed the connection unexpectedly" and still reports the connection as
            // OK (seen after an immediate shutdown); one attempt to read settles it.
            broken = PQconsumeInput(connection) == 0 || PQstatus(connection) == CONNECTION_BAD
        }
        let code = PostgresError.code(forSQLState: sqlState, connectionBroken: broken)

        var what: String
        if let sqlState, sqlState.hasPrefix("22") || sqlState.hasPrefix("P0") {
            // Data exceptions quote the rejected input ("invalid input syntax for type bigint:
            // "…""); errors raised by functions may say anything. Described from names alone.
            what = sqlState.hasPrefix("22") ? "the server rejected a value" : "a server-side function raised an error"
            if let column = field(Int32(HALLSYNC_PG_DIAG_COLUMN_NAME)) { what += " for column \(column)" }
            if let table = field(Int32(HALLSYNC_PG_DIAG_TABLE_NAME)) { what += " of table \(table)" }
            if let type = field(Int32(HALLSYNC_PG_DIAG_DATATYPE_NAME)) { what += " of type \(type)" }
            if let constraint = field(Int32(HALLSYNC_PG_DIAG_CONSTRAINT_NAME)) { what += " (constraint \(constraint))" }
            what += "; check the value's type, format and range against the column"
        } else if let primary = field(Int32(HALLSYNC_PG_DIAG_MESSAGE_PRIMARY)) {
            what = "PostgreSQL reported: \(primary)"
            if let hint = field(Int32(HALLSYNC_PG_DIAG_MESSAGE_HINT)) { what += " (hint: \(hint))" }
        } else {
            // An error libpq made itself ("server closed the connection unexpectedly", …).
            let own = result.flatMap { Self.libpqMessage(PQresultErrorMessage($0)) } ?? Self.libpqMessage(PQerrorMessage(connection))
            what = own ?? "the statement failed without a reason"
        }
        if broken && code == .connectionLost { what += "; the connection is closed" }
        let message = PostgresError.redact("\(what); \(PostgresError.advice(for: code))", parameters: parameters)
        return PostgresError(code: code, sqlState: sqlState, message: message)
    }

    /// A libpq message on one line, without its trailing newline; nil when empty.
    static func libpqMessage(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        let text = String(cString: pointer)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        return text.isEmpty ? nil : text
    }
}

/// A connection is used by one thread at a time and is therefore not `Sendable`; see
/// ``PostgresConnection``.
@available(*, unavailable)
extension PostgresConnection: Sendable {}

/// The rows of one statement, every value as text (`nil` for SQL NULL).
public struct PostgresRows: Hashable, Sendable {
    /// Column names as the server reports them: unquoted identifiers are folded to lower case
    /// (`expiresAt` comes back as `expiresat`).
    public let columns: [String]
    public let rows: [[String?]]
    /// The command tag: `SELECT 1`, `INSERT 0 1`, `UPDATE 0`, `COMMIT`, ….
    public let commandTag: String
    /// Rows the statement inserted, updated, deleted or returned (from the command tag).
    public let affectedRows: Int

    public init(columns: [String], rows: [[String?]], commandTag: String = "", affectedRows: Int? = nil) {
        self.columns = columns
        self.rows = rows
        self.commandTag = commandTag
        self.affectedRows = affectedRows ?? rows.count
    }

    init(_ result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            }
        }
        commandTag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
        affectedRows = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
    }

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }

    /// The index of a column by name (compared as the server reports it), or nil.
    public func index(of column: String) -> Int? { columns.firstIndex(of: column) }

    /// The value at `row` in the column named `column`; nil for NULL or an unknown column.
    public subscript(row: Int, column: String) -> String? {
        guard let index = index(of: column) else { return nil }
        return rows[row][index]
    }
}

/// Calls `body` with C copies of `strings` (`nil` stays a null pointer), freed afterwards.
private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
