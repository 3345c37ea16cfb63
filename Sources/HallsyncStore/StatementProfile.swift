import Foundation
import GRDB
import Synchronization

/// Where a run's SQL time goes: with `HALLSYNC_SQL_PROFILE=FILE` in the environment, every
/// statement's time is summed by its SQL text and written to FILE at exit (a diagnostic for
/// `hallsync bench`, off otherwise). The same trace tells a store's statement observer.
enum StatementProfile {
    struct Entry { var count = 0; var nanoseconds: UInt64 = 0 }
    static let path = ProcessInfo.processInfo.environment["HALLSYNC_SQL_PROFILE"]
    static let entries = Mutex<[String: Entry]>([:])
    static let registered = Mutex(false)

    /// One trace per connection (GRDB keeps one): the profile when asked for by the environment,
    /// and `observer`, told the SQL of every statement run (the query-plan test).
    static func trace(_ db: Database, observer: (@Sendable (String) -> Void)?) {
        let profiling = path != nil
        guard profiling || observer != nil else { return }
        if profiling {
            registered.withLock { done in
                guard !done else { return }
                done = true
                atexit { StatementProfile.write() }
            }
        }
        db.trace(options: .profile) { event in
            guard case let .profile(statement, duration) = event else { return }
            let sql = statement.sql
            observer?(sql)
            guard profiling else { return }
            entries.withLock { entries in
                entries[sql, default: Entry()].count += 1
                entries[sql, default: Entry()].nanoseconds += UInt64(duration * 1e9)
            }
        }
    }

    /// When profiling, now (to pass to ``record(_:since:)``); nil otherwise, so that the hot
    /// path reads no clock for a diagnostic that is off.
    static var start: ContinuousClock.Instant? { path == nil ? nil : ContinuousClock.now }

    /// Counts a statement run on PostgreSQL (its round trip included), when profiling.
    static func record(_ sql: String, since start: ContinuousClock.Instant?) {
        guard let start else { return }
        let elapsed = start.duration(to: .now)
        let nanoseconds = UInt64(elapsed.components.seconds) * 1_000_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000)
        registered.withLock { done in
            guard !done else { return }
            done = true
            atexit { StatementProfile.write() }
        }
        entries.withLock { entries in
            entries[sql, default: Entry()].count += 1
            entries[sql, default: Entry()].nanoseconds += nanoseconds
        }
    }

    static func write() {
        guard let path else { return }
        let rows = entries.withLock { $0 }.sorted { $0.value.nanoseconds > $1.value.nanoseconds }
        let total = rows.reduce(0) { $0 + $1.value.nanoseconds }
        var text = String(format: "total %.3f s\n", Double(total) / 1e9)
        for (sql, entry) in rows {
            text += String(format: "%9.3f s %8d × %7.1f µs  ", Double(entry.nanoseconds) / 1e9, entry.count, Double(entry.nanoseconds) / 1e3 / Double(max(entry.count, 1)))
                + sql.replacingOccurrences(of: "\n", with: " ").prefix(300) + "\n"
        }
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
