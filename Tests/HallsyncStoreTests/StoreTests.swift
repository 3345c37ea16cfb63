import Foundation
import GRDB
import HallsyncDomain
import Testing
@testable import HallsyncStore

/// The store on a real SQLite file in a temporary directory.
@Suite struct StoreTests {
    func makeStore() throws -> (Store, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-store-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (try Store(path: directory + "/state.sqlite"), directory)
    }

    /// A file migrated only up to the migration at `index` (what an older version left), written
    /// by `fill`; returns the store this version opens on it (migrating the rest).
    func storeOfAnOlderVersion(upTo index: Int, _ fill: (Database) throws -> Void) throws -> Store {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-store-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let old = try DatabaseQueue(path: directory + "/state.sqlite")
        try Schema.migrator.migrate(old, upTo: Schema.names[index])
        try old.write(fill)
        try old.close()
        return try Store(path: directory + "/state.sqlite")
    }

    @Test func migratesAFreshFileAndReopensIt() throws {
        let (store, directory) = try makeStore()
        #expect(try store.appliedMigrations().count == Schema.names.count && Schema.names.count == 12)
        try store.write { tx in try tx.setCursor(.portalPosition, to: "2021-09-08 09:00:00|YY1", now: 1) }
        let reopened = try Store(path: directory + "/state.sqlite")
        #expect(try reopened.read { tx in try tx.cursor(.portalPosition) } == "2021-09-08 09:00:00|YY1")
        let mode = try reopened.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    /// Sends queued by the version before v6 get their typed columns from their bodies; a
    /// create's content stays to be read from its body when it settles.
    @Test func pendingSendsOfTheVersionBeforeGetTheirTypedColumns() throws {
        let store = try storeOfAnOlderVersion(upTo: 4) { db in
            try db.execute(sql: """
                INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, firstSeenAt, changedAt) VALUES ('YY1', 1, '', '{}', 'DELIVERABLE', 1, 1);
                INSERT INTO outbox (reservationId, target, kind, itemNo, idempotencyKey, body, revision, nextAttemptAt, createdAt) VALUES
                    ('YY1', 'intake', 'ACTION', 'ZH1', 'a1', CAST('{"action":"HANDLE","at":"2021-09-11 10:00:00","operator":"李四","origin":"SYNC"}' AS BLOB), 1, 0, 1),
                    ('YY1', 'portal', 'PUSH', NULL, 'p1', CAST('{"processStatus":"RECEIVED","operator":"hallsync"}' AS BLOB), 1, 0, 1),
                    ('YY1', 'licensing', 'CREATE', NULL, 'c1', CAST('{"externalId":"YY1"}' AS BLOB), 1, 0, 1);
                """)
        }
        let sends = try store.read { tx in try tx.outbox(reservationId: "YY1") }
        #expect(sends.map(\.kind) == [.action, .push, .create])
        #expect(sends[0].action == .handle && sends[0].origin == .sync && sends[0].pushStatus == nil)
        #expect(sends[1].pushStatus == .received && sends[1].action == nil)
        #expect(sends[2].delivered == nil && sends[2].action == nil)
        // The new index serves one peer's due sends.
        #expect(try store.read { tx in try tx.dueSends(target: .portal, now: 10, limit: 10) }.map(\.idempotencyKey) == ["p1"])
    }

    /// A copy and a pending send written by v8 kept the content as JSON (in any key order): v9
    /// keeps their digests and the summary's two columns instead, equal to what this version takes
    /// of the same content, so nothing is updated again; the overdue count still reads the deadline.
    @Test func copiesAndSendsOfTheVersionBeforeKeepDigestsThatCompareEqual() throws {
        let content = HallItemContent(itemName: "（预约）x/y", registerTime: "2021-09-11 10:00:00", deadline: "2021-09-13 10:00:00",
                                      applicantType: "PERSON", applicantName: "张三", idType: "ID_CARD", idNumber: "11010519491231002X",
                                      orgName: nil, orgCode: nil, phone: "13800138000", regionCode: "371002", deptCode: "D1", itemCode: "c")
        // Another encoder's bytes: keys unsorted, slashes escaped — what an older version might have written.
        let unsorted = String(decoding: try JSONEncoder().encode(content), as: UTF8.self)
        let store = try storeOfAnOlderVersion(upTo: 7) { db in
            for sql in ["""
                INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, route, contentJSON, firstSeenAt, changedAt)
                    VALUES ('YY1', 1, '', '{}', 'DELIVERABLE', 'INTAKE_LICENSING', ?, 1, 1)
                """, """
                INSERT INTO hallCopy (reservationId, target, itemNo, revision, contentJSON, status, createdAt, changedAt)
                    VALUES ('YY1', 'intake', 'ZH1', 1, ?, 'PENDING', 1, 1)
                """, """
                INSERT INTO outbox (reservationId, target, kind, idempotencyKey, body, revision, nextAttemptAt, createdAt, contentJSON)
                    VALUES ('YY1', 'licensing', 'CREATE', 'c1', CAST(?1 AS BLOB), 1, 0, 1, ?1)
                """, """
                INSERT INTO outbox (reservationId, target, kind, idempotencyKey, body, revision, nextAttemptAt, createdAt)
                    VALUES ('YY1', 'licensing', 'UPDATE', 'u1', CAST(? AS BLOB), 1, 0, 1)
                """] {
                try db.execute(sql: sql, arguments: [unsorted])
            }
        }
        let expected = DeliveredContent(content)
        let copy = try store.read { tx in try tx.copies(of: "YY1") }[.intake]
        #expect(copy?.delivered == expected && copy?.itemNo == "ZH1")
        // The pending create (content column) and the older update (content only in its body).
        #expect(try store.read { tx in try tx.outbox(reservationId: "YY1") }.map(\.delivered) == [expected, expected])
        // The reservation's content was rewritten canonically: its digests are this version's.
        #expect(try store.read { tx in try tx.planningState(of: "YY1") }?.delivered == expected)
        #expect(try store.read { tx in try tx.counts(now: BeijingTime(parsing: "2021-09-14 09:00:00")!) }.overdueByDept == ["D1": 1])
        // No copy of the content is left in the copies or the sends.
        let columns = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info('hallCopy') UNION ALL SELECT name FROM pragma_table_info('outbox')")
                .map { $0["name"] as String }
        }
        #expect(!columns.contains("contentJSON"), "\(columns)")
        let stored = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT quote(hallCopy.contentDigest) || quote(hallCopy.identityDigest) FROM hallCopy") }
        #expect(!stored.joined().contains("11010519491231002X"))
    }

    /// Reservations stored by v9 get the columns the pages read (v10) from their JSON: the hall's
    /// forms once deliverable, the portal's before; the count of those without a phone reads the column.
    @Test func reservationsOfTheVersionBeforeGetTheColumnsThePagesRead() throws {
        let content = HallItemContent(itemName: "（预约）公司设立登记", registerTime: "2021-09-11 10:00:00", deadline: "2021-09-13 10:00:00",
                                      applicantType: "PERSON", applicantName: "张三", idType: "ID_CARD", idNumber: "11010519491231002X",
                                      orgName: nil, orgCode: nil, phone: "", regionCode: "371002", deptCode: "D1", itemCode: "c")
        var portal = PortalReservation(reservationId: "YY1", version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init(),
                                       regionCode: "371002", deptCode: "D1")
        portal.deptName = "环翠区行政审批服务局"
        portal.itemName = "公司设立登记"
        portal.appointmentSlot = "10:00-10:30"
        portal.applicant.name = " 张 三 "
        portal.applicant.phone = "0631-5200000"
        var phoneOnly = portal
        phoneOnly.reservationId = "YY2"
        let store = try storeOfAnOlderVersion(upTo: 8) { db in
            for (id, json, contentJSON, disposition) in [("YY1", try StoreTransaction.canonicalJSON(portal), String(decoding: content.canonicalJSON(), as: UTF8.self), "DELIVERABLE"),
                                                          ("YY2", try StoreTransaction.canonicalJSON(phoneOnly), nil, "PHONE")] {
                try db.execute(sql: """
                    INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, contentJSON, firstSeenAt, changedAt)
                    VALUES (?, 1, '', ?, ?, ?, 1, 1)
                    """, arguments: [id, json, disposition, contentJSON])
            }
        }
        let rows = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, itemName, registerTime, appointmentSlot, applicantName, phone, deptName FROM reservation ORDER BY id")
        }
        #expect(rows.count == 2)
        func columns(_ row: Row) -> [String?] {
            ["itemName", "registerTime", "appointmentSlot", "applicantName", "phone", "deptName"].map { row[$0] as String? }
        }
        #expect(columns(rows[0]) == ["（预约）公司设立登记", "2021-09-11 10:00:00", "10:00-10:30", "张三", "", "环翠区行政审批服务局"])
        #expect(columns(rows[1]) == ["公司设立登记", nil, "10:00-10:30", " 张 三 ", "0631-5200000", "环翠区行政审批服务局"])
        #expect(try store.read { tx in try tx.counts(now: BeijingTime(parsing: "2021-09-14 09:00:00")!) }.withoutPhone == 1)
    }

    /// v5 computed the summary's category from the JSON (generated columns): the rule, as SQL
    /// over the stored JSON, that the columns hallsync writes since v11 must still agree with.
    static let stateAsV5ComputedIt = """
        SELECT id, state, outcome, portalStatus, deadline,
            CASE WHEN disposition = 'PHONE' THEN 'PHONE' WHEN disposition = 'UNDELIVERABLE' THEN 'HELD'
                 WHEN json_extract(lifecycleJSON, '$.outcome.status') IN ('HANDLED', 'CONSULTED') THEN json_extract(lifecycleJSON, '$.outcome.status')
                 WHEN isCancelled = 1 THEN 'CANCELLED' ELSE 'PENDING' END AS computedState,
            json_extract(lifecycleJSON, '$.outcome.status') AS computedOutcome,
            json_extract(lifecycleJSON, '$.portalStatus') AS computedPortalStatus,
            json_extract(contentJSON, '$.deadline') AS computedDeadline
        FROM reservation ORDER BY id
        """

    /// Every combination of what the category depends on, written in every order hallsync
    /// writes it (saved then given an outcome, given an outcome then saved again as cancelled or
    /// as another disposition): the written columns are what v5 computed.
    @Test func theSummaryColumnsAreWhatTheJSONSays() throws {
        let (store, _) = try makeStore()
        let content = HallItemContent(itemName: "（预约）x", registerTime: "2021-09-11 10:00:00", deadline: "2021-09-13 10:00:00",
                                      applicantType: "PERSON", applicantName: "n", idType: "ID_CARD", idNumber: "i", orgName: nil, orgCode: nil,
                                      phone: "", regionCode: "371002", deptCode: "D1", itemCode: "c")
        var n = 0
        for disposition in [StoredReservation.Disposition.deliverable, .phoneVerifiedOnly, .undeliverable] {
            for outcome in [nil] + [HallItemStatus.open, .handled, .consulted, .cancelled] {
                for cancelled in [false, true] {
                    for savedAgain in [false, true] {
                        n += 1
                        var portal = PortalReservation(reservationId: "YY\(n)", version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init())
                        portal.status = cancelled && !savedAgain ? "CANCELLED" : "ACTIVE"
                        let stored = StoredReservation(portal: portal, disposition: disposition, route: disposition == .deliverable ? .licensingOnly : nil,
                                                       content: disposition == .deliverable ? content : nil)
                        try store.write { tx in
                            try tx.save(stored, now: 1)
                            try tx.setLifecycle(Lifecycle(outcome: outcome.map { StaffOutcome(status: $0, target: .licensing, operator: "o", at: "2021-09-11 10:00:00") },
                                                          portalStatus: outcome == nil ? nil : .handled), of: stored.id)
                            if savedAgain {
                                var later = stored
                                later.portal.version = 2
                                later.portal.status = cancelled ? "CANCELLED" : "ACTIVE"
                                try tx.save(later, now: 2)
                            }
                        }
                    }
                }
            }
        }
        let rows = try store.pool.read { db in try Row.fetchAll(db, sql: Self.stateAsV5ComputedIt) }
        #expect(rows.count == n && Set(rows.map { $0["state"] as String }).count == 6)
        for row in rows {
            #expect(row["state"] as String == row["computedState"] as String, "\(row)")
            #expect(row["outcome"] as String? == row["computedOutcome"] as String?, "\(row)")
            #expect(row["portalStatus"] as String? == row["computedPortalStatus"] as String?, "\(row)")
            #expect(row["deadline"] as String? == row["computedDeadline"] as String?, "\(row)")
        }
    }

    /// A file of v10 (generated columns) gets the same categories as plain columns.
    @Test func reservationsOfTheVersionBeforeKeepTheirCategories() throws {
        let lifecycle = { (status: String) in
            #"{"outcome":{"at":"2021-09-11 10:00:00","operator":"o","status":"\#(status)","target":"intake"},"portalStatus":"HANDLED"}"#
        }
        let store = try storeOfAnOlderVersion(upTo: 9) { db in
            for (id, disposition, cancelled, lifecycleJSON, contentJSON) in [
                ("YY1", "DELIVERABLE", 0, lifecycle("HANDLED"), #"{"deadline":"2021-09-13 10:00:00"}"#),
                ("YY2", "DELIVERABLE", 1, lifecycle("PENDING"), #"{"deadline":"2021-09-14 10:00:00"}"#),
                ("YY3", "DELIVERABLE", 0, nil, "{}"),
                ("YY4", "PHONE", 1, nil, nil),
                ("YY5", "UNDELIVERABLE", 0, lifecycle("CONSULTED"), nil),
            ] as [(String, String, Int, String?, String?)] {
                try db.execute(sql: """
                    INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, isCancelled, lifecycleJSON, contentJSON, firstSeenAt, changedAt)
                    VALUES (?, 1, '', '{}', ?, ?, ?, ?, 1, 1)
                    """, arguments: [id, disposition, cancelled, lifecycleJSON, contentJSON])
            }
        }
        let rows = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, state, outcome, portalStatus, deadline FROM reservation ORDER BY id")
        }
        #expect(rows.map { $0["state"] as String } == ["HANDLED", "CANCELLED", "PENDING", "PHONE", "HELD"])
        #expect(rows.map { $0["outcome"] as String? } == ["HANDLED", "PENDING", nil, nil, "CONSULTED"])
        #expect(rows.map { $0["deadline"] as String? } == ["2021-09-13 10:00:00", "2021-09-14 10:00:00", nil, nil, nil])
        #expect(rows[0]["portalStatus"] as String? == "HANDLED")
        // No column of the reservation is computed by SQLite any more (generated columns are hidden from table_info).
        let hidden = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pragma_table_xinfo('reservation') WHERE hidden != 0") }
        #expect(hidden == 0)
        // The summary's indexes are back.
        let indexes = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reservation'") }
        #expect(indexes.contains("reservation_summary_dept") && indexes.contains("reservation_summary_region"))
    }

    /// The overdue count reads only overdue items, through the index, however many items there are.
    @Test func theOverdueCountReadsItsIndex() throws {
        let (store, _) = try makeStore()
        let plan = try store.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + StoreTransaction.overdueQuery, arguments: ["2021-09-14 09:00:00"])
                .map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("USING INDEX hallCopy_overdue") }, "\(plan)")
    }

    /// Every migration is written for PostgreSQL too, under the same name.
    /// v12: a file of v11 gets the peer's due sends' index in their order (nextAttemptAt, id), and
    /// the due sends come in that order.
    @Test func v12OrdersAPeersDueSendsByIndex() throws {
        let store = try storeOfAnOlderVersion(upTo: 10) { _ in }
        let columns = try store.read { tx in try tx.db.rows("SELECT name FROM pragma_index_info('outbox_due_target') ORDER BY seqno").map { $0[0] as String } }
        #expect(columns == ["target", "nextAttemptAt", "id"])
        let portal = PortalReservation(reservationId: "YY1", version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init())
        _ = try store.write { tx in try tx.save(StoredReservation(portal: portal, disposition: .undeliverable, route: nil, content: nil), now: 1) }
        for (key, at) in [("k1", 5.0), ("k2", 3.0), ("k3", 5.0), ("k4", 3.0)] {
            let entry = OutboxEntry(reservationId: "YY1", target: .hall(.intake), kind: .action, itemNo: "SL1", idempotencyKey: key,
                                    body: Data("{}".utf8), revision: 1, nextAttemptAt: at, action: .handle, origin: .sync)
            #expect(try store.write { tx in try tx.enqueue(entry, now: 1) })
        }
        let due = try store.write { tx in try tx.dueSends(target: .hall(.intake), now: 10, limit: 3) }
        #expect(due.map(\.idempotencyKey) == ["k2", "k4", "k1"])
    }

    @Test func everyMigrationHasItsPostgreSQLForm() {
        #expect(PostgresSchema.names == Schema.names)
    }

    /// The portable SQL as PostgreSQL reads it: parameters numbered as SQLite numbers them,
    /// SQLite's index hint dropped, quoted text and comments untouched.
    @Test(arguments: [
        ("SELECT ? , ?", "SELECT $1 , $2"),
        ("CASE WHEN x > ?1 THEN x ELSE ?1 END WHERE id = ?2 AND t = ?", "CASE WHEN x > $1 THEN x ELSE $1 END WHERE id = $2 AND t = $3"),
        ("VALUES (?, ?, ?, CASE WHEN ?3 = 'CREATE' THEN 0 END, ?)", "VALUES ($1, $2, $3, CASE WHEN $3 = 'CREATE' THEN 0 END, $4)"),
        ("SET e = 'it''s ? not a parameter', f = ?", "SET e = 'it''s ? not a parameter', f = $1"),
        ("SELECT \"a?b\" FROM t -- why? because\nWHERE x = ?", "SELECT \"a?b\" FROM t -- why? because\nWHERE x = $1"),
        ("WHERE reservationId = ? AND +target = ? AND (+c.status = 'PENDING')", "WHERE reservationId = $1 AND target = $2 AND (c.status = 'PENDING')"),
        ("SET attempts = attempts + 1, k = k+1, n = 1 +2", "SET attempts = attempts + 1, k = k+1, n = 1 +2"),
    ])
    func portableSQLReadsAsPostgreSQL(_ sqlite: String, _ postgres: String) {
        #expect(PostgresSQL.translateUncached(sqlite) == postgres)
    }

    /// A body's bytes through PostgreSQL's `bytea` text form and back; what is not that form is refused.
    @Test func byteaRoundTrips() {
        let data = Data((0...255).map { UInt8($0) })
        #expect(PostgresBytea.encode(data).hasPrefix("\\x000102"))
        #expect(PostgresBytea.decode(PostgresBytea.encode(data)) == data)
        #expect(PostgresBytea.decode("\\xABcd") == Data([0xAB, 0xCD]))
        for bad in ["", "x00", "\\x0", "\\xzz", "\\x0g"] { #expect(PostgresBytea.decode(bad) == nil, "\(bad)") }
    }
}
