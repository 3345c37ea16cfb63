import Foundation

/// The two databases hallsync keeps its state in.
public enum SQLDialect: String, Hashable, Sendable, CaseIterable {
    /// One file, WAL mode (GRDB): the embedded default, a single machine.
    case sqlite
    /// A cluster the site runs (libpq): the store of an active/standby pair.
    case postgresql
}

/// One open transaction on either database: what every store operation is written against.
///
/// The SQL is the portable subset both run the same (see README, "A pair on PostgreSQL"):
/// `?` parameters (`?N` repeats the N-th), conflict targets always named (`ON CONFLICT (…) DO
/// NOTHING`, never `INSERT OR IGNORE`), `CASE` instead of two-argument `MIN`/`MAX`, no JSON
/// functions (the values the pages read are columns), booleans as integers, `CAST(? AS DOUBLE
/// PRECISION)` where a parameter's type cannot be read from its context. SQLite's "not through
/// an index" hint, a unary `+` before a column, is dropped for PostgreSQL.
public protocol SQLSession {
    var dialect: SQLDialect { get }

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int

    /// Runs a query; returns its rows.
    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow]

    /// Runs a query and hands its rows over one at a time, without holding them all (an export of
    /// any size in flat memory); `body` returns false to stop.
    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws
}

extension SQLSession {
    @discardableResult
    public func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    public func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }

    /// The first row, nil when there is none.
    public func row(_ sql: String, _ arguments: SQLArguments = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row; nil when there is no row or it holds NULL.
    public func value<T: SQLReadable>(_ type: T.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> T? {
        guard let row = try rows(sql, arguments).first else { return nil }
        return row[0] as T?
    }

    /// The first column of every row (NULLs left out).
    public func values<T: SQLReadable>(_ type: T.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> [T] {
        try rows(sql, arguments).compactMap { $0[0] as T? }
    }
}
