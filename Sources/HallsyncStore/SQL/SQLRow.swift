import Foundation

/// One row of a result, read by position (the hot paths) or by column name (case-insensitive:
/// PostgreSQL folds unquoted names to lower case).
///
///     let id: Int64 = row[0]
///     let itemNo: String? = row["itemNo"]
///
/// Reading NULL or a value of another type as a non-optional stops the process, as GRDB's rows
/// do: a column the statement itself selects is never a surprise, and a damaged value is read
/// as an optional and refused by the code that reads it (``StoreError/Code/unreadableRow``).
public struct SQLRow {
    enum Storage {
        /// SQLite: typed values.
        case values([SQLValue])
        /// PostgreSQL: text, nil for NULL.
        case postgresText([String?])
    }

    let columns: SQLColumns
    let storage: Storage

    public var count: Int { columns.names.count }

    public subscript<T: SQLReadable>(_ index: Int) -> T? {
        switch storage {
        case .values(let values): return T.read(values[index])
        case .postgresText(let texts): return texts[index].flatMap(T.read(postgresText:))
        }
    }

    public subscript<T: SQLReadable>(_ index: Int) -> T {
        guard let value: T = self[index] else {
            preconditionFailure("column \(index) (\(columns.names[index])) is NULL or not a \(T.self)")
        }
        return value
    }

    public subscript<T: SQLReadable>(_ name: String) -> T? {
        guard let index = columns.index(of: name) else { preconditionFailure("no column \(name) in \(columns.names)") }
        return self[index]
    }

    public subscript<T: SQLReadable>(_ name: String) -> T {
        guard let index = columns.index(of: name) else { preconditionFailure("no column \(name) in \(columns.names)") }
        return self[index]
    }

    /// Whether the column holds NULL.
    public func isNull(_ index: Int) -> Bool {
        switch storage {
        case .values(let values): return values[index] == .null
        case .postgresText(let texts): return texts[index] == nil
        }
    }
}

/// A result's column names, shared by its rows. A lookup by name compares without case: the
/// hot paths read by position, so no index of names is built for every statement.
final class SQLColumns: Sendable {
    let names: [String]

    init(_ names: [String]) {
        self.names = names
    }

    func index(of name: String) -> Int? {
        names.firstIndex { $0.caseInsensitiveCompare(name) == .orderedSame }
    }
}
