import Foundation
import HallsyncPostgres
import HallsyncTestSupport
import Testing

/// The libpq wrapper against a private cluster of its own (one test restarts the server).
@Suite(.privateCluster, .serialized) struct PostgresConnectionTests {
    let cluster: PrivateCluster

    init() throws {
        cluster = try #require(PrivateCluster.current)
    }

    @Test func runsStatementsWithTextParametersAndReadsTextRows() throws {
        let connection = try cluster.connect()
        try connection.execute("CREATE TABLE IF NOT EXISTS sample (id BIGINT PRIMARY KEY, name TEXT, note TEXT)")
        let inserted = try connection.execute("INSERT INTO sample (id, name, note) VALUES ($1, $2, $3), ($4, $5, $6)",
                                              ["1", "预约 'quoted' $2", nil, "2", "second", "x"])
        #expect(inserted.affectedRows == 2)
        #expect(inserted.commandTag == "INSERT 0 2")

        let rows = try connection.execute("SELECT id, name, note AS \"noteAsWritten\" FROM sample WHERE id >= $1 ORDER BY id", ["1"])
        #expect(rows.columns == ["id", "name", "noteAsWritten"])
        #expect(rows.rows == [["1", "预约 'quoted' $2", nil], ["2", "second", "x"]])
        #expect(rows[0, "name"] == "预约 'quoted' $2")
        #expect(rows.affectedRows == 2)

        let updated = try connection.execute("UPDATE sample SET note = $1 WHERE id = $2", [nil, "2"])
        #expect(updated.affectedRows == 1)
        #expect(updated.isEmpty)

        let nul = #expect(throws: PostgresError.self) { try connection.execute("SELECT $1", ["a\u{0}b"]) }
        #expect(nul?.code == .misuse)
        try connection.execute("DROP TABLE sample")
    }

    @Test func transactionsCommitRollBackAndDoNotNest() throws {
        let connection = try cluster.connect()
        try connection.execute("CREATE TABLE IF NOT EXISTS ledger (entry TEXT PRIMARY KEY)")
        defer { _ = try? connection.execute("DROP TABLE ledger") }
        func entries() throws -> [String?] { try connection.execute("SELECT entry FROM ledger ORDER BY entry").rows.map { $0[0] } }

        let value = try connection.transaction {
            try connection.execute("INSERT INTO ledger VALUES ($1)", ["committed"])
            return 42
        }
        #expect(value == 42)

        struct Abandon: Error {}
        #expect(throws: Abandon.self) {
            try connection.transaction {
                try connection.execute("INSERT INTO ledger VALUES ($1)", ["rolled back"])
                throw Abandon()
            }
        }
        #expect(!connection.isInTransaction)

        // A failed statement whose error the body swallowed: not committed, said so.
        let swallowed = #expect(throws: PostgresError.self) {
            try connection.transaction {
                try connection.execute("INSERT INTO ledger VALUES ($1)", ["before the failure"])
                _ = try? connection.execute("INSERT INTO ledger VALUES ($1)", ["committed"])
            }
        }
        #expect(swallowed?.code == .queryFailed)
        #expect(!connection.isInTransaction)

        let nested = #expect(throws: PostgresError.self) {
            try connection.transaction { try connection.transaction {} }
        }
        #expect(nested?.code == .misuse)
        #expect(try entries() == ["committed"])
    }

    @Test func connectsThroughAMultiHostStringToTheWritableServer() throws {
        // The first host is a socket directory with no server: libpq goes on to the next.
        let conninfo = "host=\(cluster.directory)/absent,\(cluster.directory) port=\(cluster.port),\(cluster.port) "
            + "dbname=\(cluster.database) user=\(cluster.user) target_session_attrs=read-write"
        let connection = try PostgresConnection(conninfo: conninfo)
        #expect(try connection.execute("SELECT 1").rows == [["1"]])
    }

    @Test func connectionStringsAreCheckedWithoutRepeatingThem() throws {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConnection(conninfo: "host=/tmp password secret-password-value")
        }
        #expect(error?.code == .invalidConnectionString)
        #expect(error?.message.contains("secret-password-value") == false)
        #expect(error?.isRetryable == false)
    }

    @Test func closedConnectionsSaySo() throws {
        let connection = try cluster.connect()
        connection.close()
        connection.close()
        let error = #expect(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        #expect(error?.code == .connectionClosed)
    }

    /// The server restarts (the suite runs serialized, so no other test sees it).
    @Test func aRestartBreaksConnectionsAndReconnectRecovers() throws {
        for immediate in [true, false] {
            let connection = try cluster.connect()
            try connection.execute("SELECT 1")
            try cluster.restart(immediate: immediate)
            let lost = #expect(throws: PostgresError.self) { try connection.execute("SELECT $1", ["王五"]) }
            #expect(lost?.code == .connectionLost, "\(String(describing: lost))")
            #expect(lost?.message.contains("王五") == false)
            try connection.reconnect()
            #expect(try connection.execute("SELECT $1", ["王五"]).rows == [["王五"]])
        }
    }

    /// A value written into a script as a literal comes back unchanged, quotes and backslashes
    /// included, whatever `standard_conforming_strings` says; a script's last result is returned.
    @Test(arguments: ["on", "off"])
    func literalsInAScriptComeBackUnchanged(_ conforming: String) throws {
        let connection = try cluster.connect()
        let weird = #"it's a \ back'slash\' ; DROP TABLE x; -- 张三 \x00"#
        try connection.execute("SET standard_conforming_strings = \(conforming)")
        let rows = try connection.executeScript("SELECT 1; SELECT \(PostgresConnection.literal(weird)) AS v")
        #expect(rows[0, "v"] == weird)
        try connection.transaction(beginningWith: "BEGIN; SELECT 2 AS two") { first in
            #expect(first[0, "two"] == "2" && connection.isInTransaction)
        }
        #expect(!connection.isInTransaction)
    }

    /// A prepared statement is prepared once and used again, in and out of transactions, after a
    /// rollback (a protocol-level statement is the session's, not the transaction's), and again
    /// after a reconnect (a new session: prepared anew).
    @Test func preparedStatementsOutliveRollbacksAndAreMadeAgainAfterAReconnect() throws {
        let connection = try cluster.connect()
        try connection.execute("CREATE TABLE IF NOT EXISTS prepared_test (k TEXT PRIMARY KEY, v BIGINT)")
        let insert = "INSERT INTO prepared_test (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
        struct Rollback: Error {}
        #expect(throws: Rollback.self) {
            try connection.transaction {
                try connection.executePrepared(insert, ["a", "1"])
                throw Rollback()
            }
        }
        try connection.transaction { try connection.executePrepared(insert, ["a", "2"]) }
        try connection.executePrepared(insert, ["b", "3"])
        let read = "SELECT v FROM prepared_test WHERE k = $1"
        #expect(try connection.executePrepared(read, ["a"])[0, "v"] == "2")
        let prepared = try connection.execute("SELECT COUNT(*) AS n FROM pg_prepared_statements WHERE name LIKE 'hallsync_%'")[0, "n"]
        #expect(prepared == "2")
        try connection.reconnect()
        #expect(try connection.executePrepared(read, ["b"])[0, "v"] == "3")
    }
}
