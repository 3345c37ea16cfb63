import Foundation
import GRDB
@testable import HallsyncStore
import HallsyncTestSupport

/// Reservations written straight into the daemon's database, for the tests and figures that need
/// many (a stand-in portal delivers a few hundred a second), and a count of the statements a read
/// runs.
enum WebFixtures {
    /// `departments` × `matters` lines of `perLine` deliverable reservations each, on `date`, in
    /// region 371002: ids `T-0000000` …, departments `11371002MB0000000N` named `测试部门N+1`,
    /// matters `371002-XK-9NNN`.
    /// With `days` > 1 the appointments spread over that many days from `date`.
    static func insert(into database: String, departments: Int, matters: Int, perLine: Int, date: String, days: Int = 1, first: Int = 0) throws {
        let queue = try DatabaseQueue(path: database)
        defer { try? queue.close() }
        let count = departments * matters * perLine
        try queue.write { db in
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?),
                k AS (SELECT i, printf('T-%07d', i) AS id, (i / (? * ?)) % ? AS d, (i / ?) % ? AS m, date('\(date)', '+' || (i % ?) || ' days') AS day FROM n)
                INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, route, contentJSON, isCancelled, regionCode, deptCode,
                                         appointmentDate, itemCode, firstSeenAt, changedAt,
                                         itemName, registerTime, appointmentSlot, applicantName, phone, deptName)
                SELECT id, 1, '2021-09-01 09:00:00',
                       json_object('reservationId', id, 'version', 1, 'updateTime', '2021-09-01 09:00:00', 'status', 'SUBMITTED', 'handleMode', 'HALL',
                                   'regionCode', '371002', 'deptCode', printf('11371002MB%08d', d), 'deptName', '测试部门' || (d + 1),
                                   'itemCode', printf('371002-XK-9%03d', m), 'itemName', '测试事项' || m, 'appointmentDate', ?1,
                                   'appointmentSlot', '10:00-10:30', 'applicant', json_object('name', '测试' || i, 'phone', '13800000000')),
                       'DELIVERABLE', 'LICENSING',
                       json_object('itemName', '（预约）测试事项' || m, 'registerTime', ?1 || ' 10:00:00', 'deadline', '2099-09-13 10:00:00',
                                   'applicantType', 'PERSON', 'applicantName', '测试' || i, 'idType', 'ID_CARD', 'idNumber', '',
                                   'phone', '13800000000', 'regionCode', '371002', 'deptCode', printf('11371002MB%08d', d),
                                   'itemCode', printf('371002-XK-9%03d', m), 'source', 'ONLINE_RESERVATION', 'remark', ''),
                       0, '371002', printf('11371002MB%08d', d), ?1, printf('371002-XK-9%03d', m), 0, 0,
                       '（预约）测试事项' || m, ?1 || ' 10:00:00', '10:00-10:30', '测试' || i, '13800000000', '测试部门' || (d + 1)
                FROM k
                """.replacingOccurrences(of: "?1", with: "day"),
                arguments: [first, first + count - 1, matters, perLine, departments, perLine, matters, max(1, days)])
        }
    }

    /// The same reservations in the daemon's store, on either database (PostgreSQL's own functions
    /// in place of SQLite's: a fixture, not the store's portable SQL).
    static func insert(into store: Store, departments: Int, matters: Int, perLine: Int, date: String, days: Int = 1, first: Int = 0) throws {
        guard store.dialect == .postgresql else {
            return try insert(into: store.path, departments: departments, matters: matters, perLine: perLine, date: date, days: days, first: first)
        }
        let count = departments * matters * perLine
        try store.write { tx in
            try tx.db.execute("""
                INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, route, contentJSON, isCancelled, regionCode, deptCode,
                                         appointmentDate, itemCode, firstSeenAt, changedAt,
                                         itemName, registerTime, appointmentSlot, applicantName, phone, deptName)
                SELECT id, 1, '2021-09-01 09:00:00',
                       json_build_object('reservationId', id, 'version', 1, 'updateTime', '2021-09-01 09:00:00', 'status', 'SUBMITTED', 'handleMode', 'HALL',
                                         'regionCode', '371002', 'deptCode', dept, 'deptName', '测试部门' || (d + 1),
                                         'itemCode', item, 'itemName', '测试事项' || m, 'appointmentDate', day,
                                         'appointmentSlot', '10:00-10:30', 'applicant', json_build_object('name', '测试' || i, 'phone', '13800000000'))::text,
                       'DELIVERABLE', 'LICENSING',
                       json_build_object('itemName', '（预约）测试事项' || m, 'registerTime', day || ' 10:00:00', 'deadline', '2099-09-13 10:00:00',
                                         'applicantType', 'PERSON', 'applicantName', '测试' || i, 'idType', 'ID_CARD', 'idNumber', '',
                                         'phone', '13800000000', 'regionCode', '371002', 'deptCode', dept,
                                         'itemCode', item, 'source', 'ONLINE_RESERVATION', 'remark', '')::text,
                       0, '371002', dept, day, item, 0, 0,
                       '（预约）测试事项' || m, day || ' 10:00:00', '10:00-10:30', '测试' || i, '13800000000', '测试部门' || (d + 1)
                FROM (SELECT i, d, m, 'T-' || lpad(i::text, 7, '0') AS id, '11371002MB' || lpad(d::text, 8, '0') AS dept,
                             '371002-XK-9' || lpad(m::text, 3, '0') AS item, day
                      FROM (SELECT i, (i / \(matters * perLine)) % \(departments) AS d, (i / \(perLine)) % \(matters) AS m,
                                   to_char(DATE '\(date)' + (i % \(max(1, days))), 'YYYY-MM-DD') AS day
                            FROM generate_series(\(first), \(first + count - 1)) AS i) n) k
                """)
        }
    }

    /// `count` open attention entries about the reservations `T-0000000` …, of the codes a held
    /// record gets.
    static func insertAttention(into database: String, count: Int) throws {
        let queue = try DatabaseQueue(path: database)
        defer { try? queue.close() }
        try queue.write { db in
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
                INSERT INTO attention (reservationId, code, field, target, messageZh, messageEn, version, raisedAt)
                SELECT printf('T-%07d', i * 7), CASE i % 3 WHEN 0 THEN 'UNKNOWN_MATTER' WHEN 1 THEN 'ID_NUMBER_CHECK_DIGIT' ELSE 'HALL_REJECTED' END,
                       CASE i % 3 WHEN 0 THEN 'itemCode' WHEN 1 THEN 'applicant.idNumber' ELSE 'VALIDATION_FAILED' END,
                       CASE i % 3 WHEN 2 THEN 'licensing' ELSE '' END,
                       CASE i % 3 WHEN 0 THEN '事项编码不在事项目录中，请在事项目录中补充该事项' WHEN 1 THEN '身份证号校验位错误，请联系申请人核对证件号码' ELSE '大厅拒收：字段不符合要求' END,
                       'test', 1, 1700000000 + i FROM n
                """, arguments: [count])
        }
    }

    /// Runs `body` in a read of `store` and counts the statements it runs.
    static func countingStatements<T>(_ store: Store, _ body: (StoreTransaction) throws -> T) throws -> (Int, T) {
        try store.read { tx in
            let counting = CountingSession(base: tx.db)
            let value = try body(StoreTransaction(db: counting))
            return (counting.count.value, value)
        }
    }
}

