import Foundation

/// Why a PostgreSQL operation failed, what kind of failure it was, and what to do about it.
///
///     do { try store.checkFence(region: "110105", holder: me, epoch: epoch) }
///     catch let error where error.code == .notTheLeader { /* step down: stop writing */ }
///     catch let error where error.isRetryable { /* reconnect or retry the whole transaction */ }
///
/// `code` is stable and compared by name; `sqlState` is the server's five-character SQLSTATE
/// (`23505`, `40001`, `57P01`, …) when the server sent one.
///
/// **No data in messages.** A message never contains a query's parameters, nor the server's
/// DETAIL or CONTEXT fields (which quote row values: `Key (region)=(…) already exists`): a
/// parameter may be a name, an ID number or a phone number, and error messages end up in logs,
/// the status file and metrics labels. Data-exception errors (SQLSTATE class 22, which quote
/// the rejected input) and errors raised by server-side functions (class P0) are described from
/// their SQLSTATE and the column/type names alone. Any other server message is kept, with every
/// parameter value that appears in it replaced by `…` as a second guard.
public struct PostgresError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// The connection string is not `key=value` pairs or a `postgresql://` URI.
        case invalidConnectionString
        /// No server could be reached, or none accepted the connection (authentication,
        /// unknown database, no read-write server for `target_session_attrs=read-write`, …).
        case connectionFailed
        /// The connection broke, or the server ended it (restart, failover, administrator).
        /// A transaction in progress was rolled back by the server; open a new connection.
        case connectionLost
        /// The connection lost during `COMMIT`: the transaction may or may not have committed.
        case commitOutcomeUnknown
        /// `close()` was called; this connection cannot be used again.
        case connectionClosed
        /// The server rejected the statement (SQLSTATE in `sqlState`).
        case queryFailed
        /// Serialization failure or deadlock (40001, 40P01): retry the whole transaction.
        case transactionConflict
        /// A lock could not be taken within `lock_timeout`, or with NOWAIT (55P03).
        case lockNotAvailable
        /// Cancelled, or stopped by `statement_timeout` (57014).
        case queryCancelled
        /// The server is read-only (25006): after a failover this may be the old primary,
        /// now a standby. Reconnect (`target_session_attrs=read-write` finds the new primary).
        case serverReadOnly
        /// The lease row is not (holder, epoch), or it has expired: this process is no longer
        /// the leader and must stop writing. The transaction was rolled back.
        case notTheLeader
        /// The caller used the API wrongly (a fence outside a transaction, a nested transaction).
        case misuse
        /// The server answered with a result this code does not understand.
        case unexpectedResult

        public var description: String { rawValue }
    }

    public let code: Code
    /// The server's SQLSTATE, when it sent one.
    public let sqlState: String?
    /// What happened and what to do. Never contains query parameters or row data.
    public let message: String

    public init(code: Code, sqlState: String? = nil, message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    /// The same request may succeed later without anyone changing anything: reconnect (for a
    /// lost connection) or run the whole transaction again.
    public var isRetryable: Bool {
        switch code {
        case .connectionFailed, .connectionLost, .transactionConflict, .lockNotAvailable, .queryCancelled, .serverReadOnly:
            return true
        case .invalidConnectionString, .commitOutcomeUnknown, .connectionClosed, .queryFailed, .notTheLeader, .misuse, .unexpectedResult:
            return false
        }
    }

    public var description: String {
        "PostgresError.\(code)\(sqlState.map { " [\($0)]" } ?? ""): \(message)"
    }
}

extension PostgresError {
    /// The code for a server error, from its SQLSTATE (and whether the connection survived it).
    static func code(forSQLState state: String?, connectionBroken: Bool) -> Code {
        if connectionBroken { return .connectionLost }
        guard let state else { return .queryFailed }
        switch state {
        case "40001", "40P01": return .transactionConflict
        case "55P03": return .lockNotAvailable
        case "57014": return .queryCancelled
        case "25006": return .serverReadOnly
        default:
            // Class 08 (connection exception), 57P01…57P03 (shutdown, crash, cannot connect now).
            if state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) { return .connectionLost }
            return .queryFailed
        }
    }

    /// What to do, per code: the second half of every message.
    public static func advice(for code: Code) -> String {
        switch code {
        case .invalidConnectionString:
            return "check the connection string: key=value pairs separated by spaces (values with spaces in single quotes) or a postgresql:// URI"
        case .connectionFailed:
            return "check that the server is running and reachable, and the connection string's host, port, dbname, user and password"
        case .connectionLost:
            return "open a new connection and run the whole transaction again; the server rolled back any transaction in progress"
        case .commitOutcomeUnknown:
            return "the transaction may or may not have committed: reconnect and read back what it wrote before doing it again"
        case .connectionClosed:
            return "open a new connection; a closed one cannot be used again"
        case .queryFailed:
            return "the statement or the schema is at fault; see the SQLSTATE"
        case .transactionConflict:
            return "run the whole transaction again"
        case .lockNotAvailable:
            return "another transaction holds the lock; try again later"
        case .queryCancelled:
            return "the statement was cancelled or ran past statement_timeout; try again, or raise the timeout"
        case .serverReadOnly:
            return "this server is read-only (a standby, perhaps after a failover); reconnect with target_session_attrs=read-write"
        case .notTheLeader:
            return "this process is no longer the leader for the region: stop writing and go back to standby"
        case .misuse:
            return "this is a bug in the caller"
        case .unexpectedResult:
            return "this is a bug, or the schema is not what this version expects"
        }
    }

    /// `text` with every parameter value of two characters or more replaced by `…`. A second
    /// guard only: messages are built so that they do not quote data in the first place.
    static func redact(_ text: String, parameters: [String?]) -> String {
        var result = text
        for case let value? in parameters where value.count >= 2 {
            result = result.replacingOccurrences(of: value, with: "…")
        }
        return result
    }
}
