import HallsyncStore

/// A transaction that counts the statements run through it, and keeps them.
public struct CountingSession: SQLSession {
    public final class Counter {
        /// Each statement and its arguments, in order.
        public var statements: [(sql: String, arguments: SQLArguments)] = []
        /// How many.
        public var value: Int { statements.count }
    }
    public let base: any SQLSession
    public let count = Counter()

    public init(base: any SQLSession) {
        self.base = base
    }

    public var dialect: SQLDialect { base.dialect }

    public func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        count.statements.append((sql, arguments))
        return try base.execute(sql, arguments)
    }

    public func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        count.statements.append((sql, arguments))
        return try base.rows(sql, arguments)
    }

    public func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws {
        count.statements.append((sql, arguments))
        try base.forEachRow(sql, arguments, body)
    }
}
