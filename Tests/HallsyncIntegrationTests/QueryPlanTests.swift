import Foundation
import GRDB
import GRDBSQLite
import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import Synchronization
import Testing

/// Every statement a sync runs reads what it needs through an index: the cost of a
/// reservation must not grow with the number of reservations (a backlog of 100,000).
@Suite struct QueryPlanTests {
    @Test func everyStatementOfASyncFindsItsRowsThroughAnIndex() throws {
        let directory = try Support.temporaryDirectory("plans")
        let site = try StandInSite(directory: directory, options: .init(lag: 0, faults: .none))
        defer { site.stop() }
        try site.configurationYAML(database: directory + "/state.sqlite", interval: 0.3, keyRetention: nil)
            .write(toFile: directory + "/hallsync.yaml", atomically: true, encoding: .utf8)
        // What a sync runs, not the migrations that make the file.
        let seen = Mutex<Set<String>?>(nil)
        let store = try Store(path: directory + "/state.sqlite", observingStatements: { sql in _ = seen.withLock { $0?.insert(sql) } })
        seen.withLock { $0 = [] }
        let engine = try SyncEngine(configuration: try Configuration.load(path: directory + "/hallsync.yaml"), logger: Support.logger, store: store)
        // Reschedules, cancellations and staff outcomes: every kind of send and settlement.
        Support.generate(site, count: 120, over: 0.5, rescheduleRate: 0.2, staffRate: 0.4, cancelRate: 0.1)
        Support.drain(engine, timeout: 60)
        let statements = seen.withLock { $0 ?? [] }
        #expect(statements.count > 20, "the sync ran too little to judge: \(statements.count) statements")

        let database = try DatabaseQueue(path: directory + "/state.sqlite")
        var problems: [String] = []
        for sql in statements.sorted() {
            let head = sql.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
            guard head.hasPrefix("SELECT") || head.hasPrefix("UPDATE") || head.hasPrefix("DELETE") || head.hasPrefix("INSERT") else { continue }
            let plan = try database.read { db in try Self.plan(of: sql, in: db) }
            // A statement about one reservation finds it by its id.
            if sql.contains("reservationId = ?"), !plan.contains(where: { $0.contains("reservationId=?") }) {
                problems.append("\(sql)\n    \(plan)")
            }
            // …and a subquery about each row's reservation finds its rows by that reservation, not
            // by a status shared with thousands of others.
            if sql.contains("reservationId = r.id"),
               plan.contains(where: { $0.hasPrefix("SEARCH ") && !$0.contains("reservationId=?") && !$0.contains("id=?") }) {
                problems.append("\(sql)\n    \(plan)")
            }
            // No table is read row by row, except by the hourly pruning; the status counts read
            // indexes (some whole: a few bytes a row, once a cycle).
            let scans = plan.filter { $0.hasPrefix("SCAN ") && !$0.hasPrefix("SCAN CONSTANT") && !$0.contains(" INDEX ") }
            if !scans.isEmpty, !Self.sweeps(sql) {
                problems.append("\(sql)\n    \(plan)")
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// The query plan's lines, the parameters left unbound (NULL).
    static func plan(of sql: String, in db: Database) throws -> [String] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db.sqliteConnection, "EXPLAIN QUERY PLAN " + sql, -1, &statement, nil) == SQLITE_OK else {
            throw DatabaseError(resultCode: .SQLITE_ERROR, message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
        }
        defer { sqlite3_finalize(statement) }
        var lines: [String] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            lines.append(String(cString: sqlite3_column_text(statement, 3)))
        }
        return lines
    }

    /// The statements that may read a whole table: the pruning of settled sends, once an hour.
    static func sweeps(_ sql: String) -> Bool {
        sql.hasPrefix("DELETE FROM outbox WHERE state = 'DONE'")
    }
}
