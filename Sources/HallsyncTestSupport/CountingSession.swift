import HallsyncStore

/// A transaction that counts the statements run through it.
public struct CountingSession: SQLSession {
    public final class Counter { public var value = 0 }
    public let base: any SQLSession
    public let count = Counter()

    public init(base: any SQLSession) {
        self.base = base
    }

    public var dialect: SQLDialect { base.dialect }

    public func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        count.value += 1
        return try base.execute(sql, arguments)
    }

    public func rows(_ sql: String, _ arguments: SQLArguments) throws -> [SQLRow] {
        count.value += 1
        return try base.rows(sql, arguments)
    }

    public func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: (SQLRow) throws -> Bool) throws {
        count.value += 1
        try base.forEachRow(sql, arguments, body)
    }
}
