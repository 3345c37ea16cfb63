import Foundation
import HallsyncDomain
@testable import HallsyncOperations
import HallsyncStandIns
import HallsyncPostgres
import HallsyncTestSupport
import Synchronization
import Testing
@testable import HallsyncStore

/// The store's operations on both databases: the same test, the same expectations, a SQLite file
/// in a temporary directory or a region's schema of its own on the suite's private cluster.
@Suite(.privateCluster) struct StoreOnBothDatabasesTests {
    let cluster: PrivateCluster

    init() throws {
        cluster = try #require(PrivateCluster.current)
    }

    /// A fresh store: a new file, or a new region (its own schema) on the cluster.
    func makeStore(_ dialect: SQLDialect, region: String? = nil) throws -> Store {
        switch dialect {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-store-\(UUID())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return try Store(path: directory + "/state.sqlite")
        case .postgresql:
            return try Store(postgres: PostgresStoreSettings(conninfo: cluster.conninfo, region: region ?? Self.newRegion()))
        }
    }

    static func newRegion() -> String { "t" + String(UInt64.random(in: 0..<UInt64.max), radix: 36) }

    /// A send whose row says something no version of hallsync writes is never guessed into a
    /// send to some peer: it is refused for good and its reservation goes to the attention list.
    @Test(arguments: SQLDialect.allCases, [("target", "archive"), ("kind", "DELETE"), ("state", "MAYBE"), ("action", "REOPEN")])
    func aDamagedSendIsSentNowhereAndShown(_ dialect: SQLDialect, _ damage: (column: String, value: String)) throws {
        let (column, value) = damage
        let store = try makeStore(dialect)
        let portal = PortalReservation(reservationId: "YY1", version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init())
        _ = try store.write { tx in try tx.save(StoredReservation(portal: portal, disposition: .undeliverable, route: nil, content: nil), now: 1) }
        let entry = OutboxEntry(reservationId: "YY1", target: .hall(.licensing), kind: .action, itemNo: "XK1", idempotencyKey: "k1",
                                body: Data("{}".utf8), revision: 1, nextAttemptAt: 0, action: .handle, origin: .sync)
        try store.write { tx in _ = try tx.enqueue(entry, now: 1) }
        try store.write { tx in try tx.db.execute("UPDATE outbox SET \(column) = ?", [value]) }
        let due = try store.write { tx in try tx.dueSends(target: .hall(.licensing), now: 5, limit: 10) + tx.dueSends(now: 5, limit: 10) }
        #expect(due.isEmpty, "sent on a guess")
        if column != "state" {
            #expect(try store.read { tx in try tx.openAttention() }.map(\.code) == ["SEND_UNREADABLE"])
            #expect(try store.read { tx in try tx.db.row("SELECT state FROM outbox")?["state"] as String? } == "FAILED")
        }
    }

    @Test(arguments: SQLDialect.allCases)
    func anIdempotencyKeyIsEnqueuedOnce(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        let portal = PortalReservation(reservationId: "YY1", version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init())
        _ = try store.write { tx in try tx.save(StoredReservation(portal: portal, disposition: .undeliverable, route: nil, content: nil), now: 1) }
        let entry = OutboxEntry(reservationId: "YY1", target: .hall(.intake), kind: .create, idempotencyKey: "k1", body: Data("{}".utf8), revision: 1, nextAttemptAt: 0)
        #expect(try store.write { tx in try tx.enqueue(entry, now: 1) })
        #expect(try store.write { tx in try tx.enqueue(entry, now: 2) } == false)
        let due = try store.read { tx in try tx.dueSends(now: 5, limit: 10) }
        #expect(due.count == 1)
        try store.write { tx in try tx.markAttempted(ids: [due[0].id!], now: 5) }
        try store.write { tx in try tx.markAttempted(ids: [due[0].id!], now: 9) }
        let marked = try store.read { tx in try tx.outbox(reservationId: "YY1") }.first!
        #expect(marked.attempts == 2)
        #expect(marked.firstAttemptAt == 5)
        #expect(try store.read { tx in try tx.copies(of: "YY1") }[.intake]?.hasPendingSend == true)
        try store.write { tx in try tx.settle(outboxId: due[0].id!, state: .done, error: nil, now: 10) }
        #expect(try store.read { tx in try tx.dueSends(now: 50, limit: 10) }.isEmpty)
    }


    /// A batch of sends attempted together counts one attempt for each, whatever its size (the
    /// statement pads its list to a few fixed sizes by repeating the last id).
    @Test(arguments: SQLDialect.allCases, [1, 3, 17, 300])
    func eachSendOfABatchCountsOneAttempt(_ dialect: SQLDialect, _ count: Int) throws {
        let store = try makeStore(dialect)
        let portal = PortalReservation(reservationId: "YY1", version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init())
        _ = try store.write { tx in try tx.save(StoredReservation(portal: portal, disposition: .undeliverable, route: nil, content: nil), now: 1) }
        try store.write { tx in
            for i in 0..<(count + 2) {
                _ = try tx.enqueue(OutboxEntry(reservationId: "YY1", target: .hall(.intake), kind: .update, itemNo: "A1", idempotencyKey: "k\(i)",
                                               body: Data("{}".utf8), revision: i, nextAttemptAt: 0), now: 1)
            }
        }
        let ids = try store.read { tx in try tx.outbox(reservationId: "YY1") }.compactMap(\.id).sorted()
        try store.write { tx in try tx.markAttempted(ids: Array(ids.prefix(count)), now: 7) }
        let attempts = try store.read { tx in try tx.outbox(reservationId: "YY1") }.sorted { $0.id! < $1.id! }.map(\.attempts)
        #expect(attempts == Array(repeating: 1, count: count) + [0, 0], "\(attempts)")
    }

    @Test(arguments: SQLDialect.allCases)
    func keepsStatusesLifecycleOverdueCountsAndPrunesSettledSends(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        let portal = PortalReservation(reservationId: "YY2", version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init(),
                                       regionCode: "371002", deptCode: "D1")
        let content = HallItemContent(itemName: "（预约）x", registerTime: "2021-09-11 10:00:00", deadline: "2021-09-13 10:00:00",
                                      applicantType: "PERSON", applicantName: "n", idType: "ID_CARD", idNumber: "i", orgName: nil, orgCode: nil,
                                      phone: "", regionCode: "371002", deptCode: "D1", itemCode: "c")
        try store.write { tx in
            let delivered = try tx.save(StoredReservation(portal: portal, disposition: .deliverable, route: .intakeThenLicensing, content: content), now: 1)
            #expect(delivered == DeliveredContent(content))
            try tx.recordCopy(reservationId: "YY2", target: .intake, itemNo: "ZH1", revision: 1, delivered: delivered, now: 1)
            try tx.recordCopy(reservationId: "YY2", target: .licensing, itemNo: "XK1", revision: 1, delivered: delivered, now: 1)
        }
        // Both items open and past their deadline: overdue, by department and region.
        let counts = try store.read { tx in try tx.counts(now: BeijingTime(parsing: "2021-09-14 09:00:00")!) }
        #expect(counts.overdueByDept == ["D1": 2] && counts.overdueByRegion == ["371002": 2])
        #expect(try store.read { tx in try tx.counts(now: BeijingTime(parsing: "2021-09-13 09:59:59")!) }.overdue == 0)
        #expect(try store.read { tx in try tx.openCopies(in: .intake, after: "", limit: 10) }.map(\.itemNo) == ["ZH1"])

        var lifecycle = Lifecycle(portalStatus: .received)
        lifecycle.outcome = StaffOutcome(status: .handled, target: .intake, operator: "李四", at: "2021-09-11 10:05:00")
        try store.write { tx in
            try tx.setLifecycle(lifecycle, of: "YY2")
            try tx.recordStatus(reservationId: "YY2", copy: HallCopy(target: .intake, itemNo: "ZH1", status: .handled, closedBy: .staff),
                                at: "2021-09-11 10:05:00", now: 2)
            // A save of a newer portal version keeps what was learnt.
            var newer = portal
            newer.version = 2
            try tx.save(StoredReservation(portal: newer, disposition: .deliverable, route: .intakeThenLicensing, content: content), now: 3)
        }
        #expect(try store.read { tx in try tx.reservation(id: "YY2") }?.lifecycle == lifecycle)
        let copies = try store.read { tx in try tx.copies(of: "YY2") }
        #expect(copies[.intake]?.status == .handled && copies[.intake]?.closedBy == .staff && copies[.intake]?.revision == 1)
        #expect(copies[.licensing]?.status == .open)
        #expect(try store.read { tx in try tx.counts(now: BeijingTime(parsing: "2021-09-14 09:00:00")!) }.overdue == 1)
        #expect(try store.read { tx in try tx.openCopies(in: .intake, after: "", limit: 10) }.isEmpty)

        let push = OutboxEntry(reservationId: "YY2", target: .portal, kind: .push, idempotencyKey: "p1", body: Data("{}".utf8), revision: 2, nextAttemptAt: 0)
        _ = try store.write { tx in try tx.enqueue(push, now: 4) }
        #expect(try store.read { tx in try tx.copiesAndPushPending(of: "YY2").pushPending })
        let id = try store.read { tx in try tx.outbox(reservationId: "YY2") }.first!.id!
        try store.write { tx in try tx.settle(outboxId: id, state: .done, error: nil, now: 5) }
        #expect(try store.read { tx in try tx.copiesAndPushPending(of: "YY2").pushPending } == false)
        #expect(try store.write { tx in try tx.pruneSettled(before: 5) } == 0)
        #expect(try store.write { tx in try tx.pruneSettled(before: 6) } == 1)
    }


    @Test(arguments: SQLDialect.allCases)
    func attentionIsRaisedOnceAndResolvedWhenFixed(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        let entry = AttentionEntry(reservationId: "YY1", code: "ID_NUMBER_CHECK_DIGIT", field: "applicant.idNumber",
                                   messageZh: "校验位错误", messageEn: "wrong check digit", version: 1, raisedAt: 1)
        try store.write { tx in
            try tx.raiseAttention(entry)
            try tx.raiseAttention(entry)
        }
        #expect(try store.read { tx in try tx.openAttention() }.count == 1)
        try store.write { tx in try tx.resolveAttention(reservationId: "YY1", keeping: [], now: 2) }
        #expect(try store.read { tx in try tx.openAttention() }.isEmpty)
        try store.write { tx in try tx.raiseAttention(entry) }
        #expect(try store.read { tx in try tx.counts() }.attentionByCode == ["ID_NUMBER_CHECK_DIGIT": 1])
    }

    /// Closing entries of a reservation read to have none open costs no statement (most plans
    /// close conditions that never held); and what was read holds only while it is true: an entry
    /// raised later in the same transaction, or open before it, is closed as asked, whichever read
    /// (the reservation's row, its lifecycle, a copy's owner) told.
    @Test(arguments: SQLDialect.allCases)
    func closingWhatIsNotOpenCostsNoStatementAndWhatWasOpenedIsStillClosed(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        for id in ["YY1", "YY2", "YY3"] { try saveDeliverable(store, id) }
        func entry(_ id: String, _ code: String) -> AttentionEntry {
            AttentionEntry(reservationId: id, code: code, field: "f", target: "intake", messageZh: "zh", messageEn: "en", version: 1, raisedAt: 1)
        }
        try store.write { tx in
            try tx.recordCopy(reservationId: "YY3", target: .intake, itemNo: "SL3", revision: 1, delivered: nil, verified: true, now: 1)
            try tx.raiseAttention(entry("YY2", "HALL_ITEM_MISSING"))
        }
        func counted<T>(_ body: (StoreTransaction) throws -> T) throws -> (statements: Int, value: T) {
            try store.write { tx in
                let counting = CountingSession(base: tx.db)
                let value = try body(StoreTransaction(db: counting))
                return (counting.count.value, value)
            }
        }
        // Read clear: every kind of closing is skipped.
        let clear = try counted { tx in
            _ = try tx.lifecycle(of: "YY1")
            try tx.resolveAttention(reservationId: "YY1", keeping: [], now: 2)
            try tx.resolveAttention(reservationId: "YY1", codes: ["ROUTE_CHANGED"], now: 2)
            try tx.resolveAttention(reservationId: "YY1", code: "HALL_ITEM_MISSING", target: "intake", now: 2)
            try tx.resolveAttention(reservationId: "YY1", code: "PORTAL_REFUSED", field: "f", now: 2)
            _ = try tx.copyOwner(target: .intake, itemNo: "SL3")
            try tx.resolveAttention(reservationId: "YY3", keeping: [], now: 2)
        }
        #expect(clear.statements == 2, "only the two reads")
        // Raised after the read, in the same transaction: closed, by each kind of closing.
        for close in 0..<4 {
            let raisedAndClosed = try counted { tx in
                _ = try tx.planningState(of: "YY1")
                // Closing all but the lifecycle's own codes: a code of the portal's record.
                try tx.raiseAttention(entry("YY1", close == 0 ? "ID_NUMBER_CHECK_DIGIT" : "HALL_ITEM_MISSING"))
                switch close {
                case 0: try tx.resolveAttention(reservationId: "YY1", keeping: [], now: 2)
                case 1: try tx.resolveAttention(reservationId: "YY1", codes: ["HALL_ITEM_MISSING"], now: 2)
                case 2: try tx.resolveAttention(reservationId: "YY1", code: "HALL_ITEM_MISSING", target: "intake", now: 2)
                default: try tx.resolveAttention(reservationId: "YY1", code: "HALL_ITEM_MISSING", field: "f", now: 2)
                }
                return try tx.openAttention().map(\.reservationId)
            }
            #expect(raisedAndClosed.value.allSatisfy { $0 != "YY1" }, "closing \(close)")
            #expect(raisedAndClosed.statements == 4, "the read, the raise, the closing, the list")
        }
        // Open before the transaction: each read says so, and the closing runs.
        let openBefore = try counted { tx in
            _ = try tx.planningState(of: "YY2")
            try tx.resolveAttention(reservationId: "YY2", codes: ["HALL_ITEM_MISSING"], now: 2)
            return try tx.openAttention().map(\.reservationId)
        }
        #expect(openBefore.value.isEmpty && openBefore.statements == 3)
        // A copy's owner read clear, then an entry raised for it: closed.
        let owner = try counted { tx in
            _ = try tx.copyOwner(target: .intake, itemNo: "SL3")
            try tx.raiseAttention(entry("YY3", "ID_NUMBER_CHECK_DIGIT"))
            try tx.resolveAttention(reservationId: "YY3", keeping: [], now: 3)
            return try tx.openAttention().map(\.reservationId)
        }
        #expect(owner.value.isEmpty && owner.statements == 4)
    }

    /// No statement about one reservation's sends may be answered from a peer's queue of due sends
    /// (`outbox_due_target`, whose predicate a statement naming the pending state matches): each is
    /// explained as PostgreSQL plans it once cached (a generic plan), on a schema never analysed —
    /// what a daemon starting on a new schema has while a backlog fills its outbox. The copies'
    /// read did so, scanning every pending send of a hall for one reservation's.
    @Test func aReservationsSendsAreNotReadFromAPeersQueueOfDueSends() throws {
        let store = try makeStore(.postgresql)
        try saveDeliverable(store, "YY1")
        try store.write { tx in
            // A hall's queue of pending sends of other reservations, and one of this reservation's.
            for i in 0..<200 {
                let id = "YQ\(i)"
                let portal = PortalReservation(reservationId: id, version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init())
                _ = try tx.save(StoredReservation(portal: portal, disposition: .deliverable, route: .intakeThenLicensing, content: Self.content), now: 1)
                _ = try tx.enqueue(OutboxEntry(reservationId: id, target: .hall(.intake), kind: .create, idempotencyKey: "q\(i)", body: Data("{}".utf8),
                                               revision: 1, nextAttemptAt: 0), now: 1)
            }
            _ = try tx.enqueue(OutboxEntry(reservationId: "YY1", target: .hall(.intake), kind: .create, idempotencyKey: "c1", body: Data("{}".utf8),
                                           revision: 1, nextAttemptAt: 0), now: 1)
        }
        try store.write { tx in
            let recording = CountingSession(base: tx.db)
            let recorded = StoreTransaction(db: recording)
            _ = try recorded.copiesAndPushPending(of: "YY1")
            _ = try recorded.hasPendingCreate(reservationId: "YY1", target: .intake)
            try recorded.holdCreates(reservationId: "YY1", target: .intake, until: 5)
            try recorded.unclaim(reservationId: "YY1", target: .intake, itemNo: "SL1", now: 5)
            _ = try recorded.plannedPush(reservationId: "YY1", status: .received)
            _ = try tx.db.rows("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
            let statements = recording.count.statements.filter { $0.sql.contains("outbox") }
            #expect(statements.count >= 5)
            for (sql, arguments) in statements {
                let plan = try tx.db.rows("EXPLAIN " + sql, arguments).map { $0[0] as String }.joined(separator: "\n")
                #expect(!plan.contains("outbox_due_target"), "\(sql)\n\(plan)")
            }
        }
    }

    static let content = HallItemContent(itemName: "（预约）公司设立登记", registerTime: "2021-09-11 10:00:00", deadline: "2021-09-13 10:00:00",
                                         applicantType: "PERSON", applicantName: "张三", idType: "ID_CARD", idNumber: "11010519491231002X",
                                         orgName: nil, orgCode: nil, phone: "13800000000", regionCode: "371002", deptCode: "D1", itemCode: "c")

    func saveDeliverable(_ store: Store, _ id: String, version: Int = 1, cancelled: Bool = false) throws {
        var portal = PortalReservation(reservationId: id, version: version, updateTime: "2021-09-08 09:00:00", applicant: .init(),
                                       regionCode: "371002", deptCode: "D1")
        portal.status = cancelled ? "CANCELLED" : "ACTIVE"
        try store.write { tx in
            try tx.save(StoredReservation(portal: portal, disposition: .deliverable, route: .intakeThenLicensing, content: Self.content), now: 1)
        }
    }

    /// Values come back as they went in: every byte of a body, text in any script, doubles to the
    /// last bit, the largest integers, NULL.
    @Test(arguments: SQLDialect.allCases)
    func valuesRoundTrip(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        try saveDeliverable(store, "YY1")
        let body = Data((0...255).map { UInt8($0) } + Array("{\"办件\":\"张三\\u0000\"}".utf8))
        let entry = OutboxEntry(reservationId: "YY1", target: .hall(.intake), kind: .create, idempotencyKey: "k'1?--", body: body,
                                revision: Int(Int32.max) + 7, nextAttemptAt: 1733590000.123456789)
        #expect(try store.write { tx in try tx.enqueue(entry, now: 0.1) })
        let read = try #require(try store.read { tx in try tx.outbox(reservationId: "YY1") }.first)
        #expect(read.body == body && read.idempotencyKey == "k'1?--" && read.revision == Int(Int32.max) + 7)
        #expect(read.nextAttemptAt == 1733590000.123456789 && read.firstAttemptAt == nil && read.itemNo == nil)
        let texts = try store.read { tx in
            try tx.db.rows("SELECT ? AS a, ? AS b, CAST(? AS DOUBLE PRECISION) AS c, ? AS d, ?1 AS e",
                           ["（预约）𠀀 é\n\t'\"?", Int64.max, 0.1, nil])
        }
        #expect(texts.count == 1)
        #expect(texts[0]["a"] as String == "（预约）𠀀 é\n\t'\"?" && texts[0]["e"] as String == "（预约）𠀀 é\n\t'\"?")
        #expect(texts[0]["b"] as Int64 == Int64.max && texts[0]["c"] as Double == 0.1)
        #expect(texts[0]["d"] as String? == nil && texts[0].isNull(3))
    }

    /// Every operation of a copy's life, on both databases alike.
    @Test(arguments: SQLDialect.allCases)
    func copiesSightingsAndClaims(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        try saveDeliverable(store, "YY1")
        try saveDeliverable(store, "YY2")
        let delivered = DeliveredContent(Self.content)
        try store.write { tx in
            try tx.recordCopy(reservationId: "YY1", target: .intake, itemNo: "ZH1", revision: 2, delivered: delivered, now: 1)
            // An older revision's answer leaves the newer one's in place; a lookup verifies.
            try tx.recordCopy(reservationId: "YY1", target: .intake, itemNo: "ZH1", revision: 1, delivered: nil, verified: true, now: 2)
        }
        var copy = try #require(try store.read { tx in try tx.copies(of: "YY1") }[.intake])
        #expect(copy.revision == 2 && copy.delivered == delivered && copy.verified && copy.itemNo == "ZH1")
        // One hall item belongs to one reservation: the store refuses a second owner.
        #expect(throws: StoreError.self) {
            try store.write { tx in try tx.recordCopy(reservationId: "YY2", target: .intake, itemNo: "ZH1", revision: 1, delivered: nil, now: 3) }
        }
        #expect(try store.read { tx in try tx.copyOwner(target: .intake, itemNo: "ZH1") } == "YY1")
        #expect(try store.read { tx in try tx.recordedCopies() }.map(\.itemNo) == ["ZH1"])

        // A sighting, newest word kept; shown once no create waits for it.
        let sighting = HallItemSighting(target: .licensing, itemNo: "XK9", reservationId: "YY2", status: "PENDING", origin: nil,
                                        operator: nil, at: nil, source: .feed)
        try store.write { tx in
            try tx.recordSighting(sighting, now: 1)
            var later = sighting
            later.status = "HANDLED"
            later.operator = "王五"
            try tx.recordSighting(later, now: 2)
        }
        #expect(try store.read { tx in try tx.sightings(of: "YY2", in: .licensing) }.map(\.status) == ["HANDLED"])
        #expect(try store.read { tx in try tx.sightingsNoLongerWaiting(limit: 10) }.map(\.reservationId) == ["YY2"])
        let create = OutboxEntry(reservationId: "YY2", target: .hall(.licensing), kind: .create, idempotencyKey: "c2", body: Data("{}".utf8),
                                 revision: 1, nextAttemptAt: 100)
        try store.write { tx in _ = try tx.enqueue(create, now: 1) }
        #expect(try store.read { tx in try tx.sightingsNoLongerWaiting(limit: 10) }.isEmpty)
        #expect(try store.read { tx in try tx.hasPendingCreate(reservationId: "YY2", target: .licensing) })

        // Held off (the later time wins), made due (the earlier wins), rescheduled.
        try store.write { tx in try tx.holdCreates(reservationId: "YY2", target: .licensing, until: 50) }
        #expect(try store.read { tx in try tx.outbox(reservationId: "YY2") }.first?.nextAttemptAt == 100)
        try store.write { tx in try tx.holdCreates(reservationId: "YY2", target: .licensing, until: 200) }
        #expect(try store.read { tx in try tx.outbox(reservationId: "YY2") }.first?.nextAttemptAt == 200)
        let id = try #require(try store.read { tx in try tx.outbox(reservationId: "YY2") }.first?.id)
        try store.write { tx in try tx.makeDue(ids: [id], at: 300) }
        #expect(try store.read { tx in try tx.outbox(reservationId: "YY2") }.first?.nextAttemptAt == 200)
        try store.write { tx in try tx.makeDue(ids: [id], at: 20) }
        #expect(try store.read { tx in try tx.dueSends(target: .hall(.licensing), now: 20, limit: 5) }.map(\.id) == [id])
        #expect(try store.write { tx in try tx.rescheduleAllPending(at: 10) } == 1)

        // The item turns out to be another's: the copy forgets it, its sends to it are refused.
        let update = OutboxEntry(reservationId: "YY1", target: .hall(.intake), kind: .update, itemNo: "ZH1", idempotencyKey: "u1",
                                 body: Data("{}".utf8), revision: 3, nextAttemptAt: 0)
        try store.write { tx in
            _ = try tx.enqueue(update, now: 4)
            try tx.unclaim(reservationId: "YY1", target: .intake, itemNo: "ZH1", now: 5)
            try tx.nextKeyGeneration(reservationId: "YY1", target: .intake, now: 6)
        }
        copy = try #require(try store.read { tx in try tx.copies(of: "YY1") }[.intake])
        #expect(copy.itemNo == nil && copy.keyGeneration == 2 && copy.revision == 0 && copy.delivered == nil && !copy.verified)
        #expect(try store.read { tx in try tx.outbox(reservationId: "YY1") }.map(\.state) == [.failed])
        try store.write { tx in
            try tx.blockCopy(reservationId: "YY1", target: .licensing, now: 7)
            try tx.markVerified(target: .intake, itemNo: "ZH1")
        }
        #expect(try store.read { tx in try tx.copies(of: "YY1") }[.licensing]?.isBlocked == true)
        try store.write { tx in try tx.unblockCopies(reservationId: "YY1", now: 8) }
        #expect(try store.read { tx in try tx.copies(of: "YY1") }[.licensing]?.isBlocked == false)
        #expect(try store.write { tx in try tx.forgetRefusedSends(of: "YY1") } == 1)
    }

    /// Cursors, a restore's look-ups, pushes and actions planned, the summary's category.
    @Test(arguments: SQLDialect.allCases)
    func cursorsRestoreLookupsAndCategories(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        try saveDeliverable(store, "YY1")
        try store.write { tx in try tx.setCursor(.portalPosition, to: "2021-09-08 09:00:00|YY1", now: 5) }
        try store.write { tx in try tx.setCursor(.portalPosition, to: "2021-09-08 10:00:00|YY2", now: 6) }
        #expect(try store.read { tx in try tx.cursor(.portalPosition) } == "2021-09-08 10:00:00|YY2")
        #expect(try store.read { tx in try tx.cursorChangedAt(.portalPosition) } == 6)
        let before = OutboxEntry(reservationId: "YY1", target: .hall(.intake), kind: .create, idempotencyKey: "c1", body: Data("{}".utf8),
                                 revision: 1, nextAttemptAt: 0)
        try store.write { tx in _ = try tx.enqueue(before, now: 1) }
        #expect(try store.write { tx in try tx.lookUpBeforeEveryPendingCreate(restoredAt: BeijingTime(parsing: "2021-09-09 09:00:00")!, now: 7) } == 1)
        // A create planned after the restore looks its item up first too; a push does not.
        let after = OutboxEntry(reservationId: "YY1", target: .hall(.licensing), kind: .create, idempotencyKey: "c2", body: Data("{}".utf8),
                                revision: 1, nextAttemptAt: 0)
        let push = OutboxEntry(reservationId: "YY1", target: .portal, kind: .push, idempotencyKey: "p1", body: Data("{}".utf8),
                               revision: 1, nextAttemptAt: 0, pushStatus: .received)
        try store.write { tx in
            _ = try tx.enqueue(after, now: 8)
            _ = try tx.enqueue(push, now: 8)
        }
        #expect(try store.read { tx in try tx.outbox(reservationId: "YY1") }.map(\.firstAttemptAt) == [0, 0, nil])
        #expect(try store.read { tx in try tx.plannedPush(reservationId: "YY1", status: .received) })
        #expect(try store.read { tx in try tx.plannedPush(reservationId: "YY1", status: .handled) } == false)
        #expect(try store.read { tx in try tx.sentAction(reservationId: "YY1", target: .intake) } == false)
        try store.write { tx in try tx.removeCursor(.restoreLookUpThrough) }
        #expect(try store.read { tx in try tx.cursor(.restoreLookUpThrough) } == nil)

        // The category follows the outcome and a cancellation, whichever is written last.
        func state() throws -> String? { try store.read { tx in try tx.db.value(String.self, "SELECT state FROM reservation WHERE id = ?", ["YY1"]) } }
        #expect(try state() == "PENDING")
        try store.write { tx in
            try tx.setLifecycle(Lifecycle(outcome: StaffOutcome(status: .consulted, target: .intake, operator: "o", at: "2021-09-11 10:00:00")), of: "YY1")
        }
        #expect(try state() == "CONSULTED")
        try saveDeliverable(store, "YY1", version: 2, cancelled: true)
        #expect(try state() == "CONSULTED")
        try store.write { tx in try tx.setLifecycle(Lifecycle(), of: "YY1") }
        #expect(try state() == "CANCELLED")
        #expect(try store.read { tx in try tx.counts() }.deliverable == 1)
    }

    /// Personal data erased past its retention, on both databases: the reservation, its sends'
    /// bodies, its attention entries; nothing left to find.
    @Test(arguments: SQLDialect.allCases)
    func retentionErasesPersonalData(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        try saveDeliverable(store, "YY1")
        let body = try JSONSerialization.data(withJSONObject: ["externalId": "YY1", "applicantName": "张三", "idNumber": "11010519491231002X",
                                                               "phone": "13800000000"], options: [.sortedKeys])
        let create = OutboxEntry(reservationId: "YY1", target: .hall(.intake), kind: .create, idempotencyKey: "c1", body: body,
                                 revision: 1, nextAttemptAt: 0, delivered: DeliveredContent(Self.content))
        try store.write { tx in
            _ = try tx.enqueue(create, now: 1)
            try tx.raiseAttention(AttentionEntry(reservationId: "YY1", code: "X", field: "13800000000", messageZh: "张三 13800000000",
                                                 messageEn: "张三", version: 1, raisedAt: 1))
        }
        #expect(try store.read { tx in try tx.retentionDue(cutoff: "2022-01-01", changedBefore: 10, limit: 10) }.isEmpty)
        let id = try #require(try store.read { tx in try tx.outbox(reservationId: "YY1") }.first?.id)
        try store.write { tx in
            try tx.settle(outboxId: id, state: .done, error: nil, now: 2)
            try tx.resolveAttention(reservationId: "YY1", keeping: [], now: 2)
        }
        // Still waiting for the portal to be told the final status.
        #expect(try store.read { tx in try tx.retentionDue(cutoff: "2022-01-01", changedBefore: 10, limit: 10) }.isEmpty)
        try store.write { tx in try tx.setLifecycle(Lifecycle(portalStatus: .handled), of: "YY1") }
        #expect(try store.read { tx in try tx.retentionDue(cutoff: "2022-01-01", changedBefore: 10, limit: 10) } == ["YY1"])
        try store.write { tx in try tx.erasePersonalData(of: "YY1", rule: PersonalDataRetention(days: 180), now: 3) }
        #expect(try store.read { tx in try tx.isPurged("YY1") } && store.read { tx in try tx.purgedCount() } == 1)
        let everything = try store.read { tx in
            try ["reservation", "outbox", "attention", "hallCopy"].flatMap { table in
                try tx.db.rows("SELECT * FROM \(table)").flatMap { row in (0..<row.count).compactMap { row[$0] as String? } }
            }
        }
        for value in ["张三", "11010519491231002X", "13800000000"] {
            #expect(!everything.contains { $0.contains(value) }, "\(value) left after the erasure")
        }
    }

    /// A large read handed over a row at a time, stopping when asked.
    @Test(arguments: SQLDialect.allCases)
    func rowsAreHandedOverOneAtATime(_ dialect: SQLDialect) throws {
        let store = try makeStore(dialect)
        try store.write { tx in
            for i in 0..<1_234 { try tx.setCursor(CursorName(rawValue: String(format: "c%05d", i)), to: "v", now: Double(i)) }
        }
        var seen: [String] = []
        try store.read { tx in
            try tx.db.forEachRow("SELECT name FROM cursor ORDER BY name", []) { row in
                seen.append(row[0])
                return true
            }
        }
        #expect(seen.count == 1_234 && seen.first == "c00000" && seen.last == "c01233")
        var first: [String] = []
        try store.read { tx in
            try tx.db.forEachRow("SELECT name FROM cursor ORDER BY name", []) { row in
                first.append(row[0])
                return first.count < 3
            }
            // The transaction is still usable after stopping early.
            #expect(try tx.db.value(Int.self, "SELECT COUNT(*) FROM cursor") == 1_234)
        }
        #expect(first == ["c00000", "c00001", "c00002"])
    }
}

/// What only PostgreSQL has: regions side by side on one cluster, daemons migrating at once,
/// a schema from a newer version, and writes fenced by the lease.
@Suite(.privateCluster) struct PostgresStoreTests {
    let cluster: PrivateCluster

    init() throws {
        cluster = try #require(PrivateCluster.current)
    }

    func store(_ region: String) throws -> Store {
        try Store(postgres: PostgresStoreSettings(conninfo: cluster.conninfo, region: region))
    }

    /// Two regions on one cluster: each sees its own reservations, cursors and sends only.
    @Test func regionsDoNotSeeEachOther() throws {
        let a = try store(StoreOnBothDatabasesTests.newRegion())
        let b = try store(StoreOnBothDatabasesTests.newRegion())
        try a.write { tx in try tx.setCursor(.portalPosition, to: "A", now: 1) }
        try b.write { tx in try tx.setCursor(.portalPosition, to: "B", now: 1) }
        #expect(try a.read { tx in try tx.cursor(.portalPosition) } == "A")
        #expect(try b.read { tx in try tx.cursor(.portalPosition) } == "B")
        #expect(a.path != b.path)
    }

    /// Daemons of a pair start at once: the schema is made and migrated once, whoever comes first.
    @Test func daemonsMigratingAtOnceMigrateOnce() async throws {
        let region = StoreOnBothDatabasesTests.newRegion()
        let conninfo = cluster.conninfo
        let results = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await offPool {
                        let store = try Store(postgres: PostgresStoreSettings(conninfo: conninfo, region: region))
                        return try store.appliedMigrations()
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 4)
        for applied in results { #expect(applied == Schema.names) }
    }

    /// Both databases hold the same tables with the same columns — the daemon's and the web
    /// page's — so that no statement can work on one and fail on the other for a column one
    /// dialect's migration forgot (names compared as PostgreSQL folds them, in lower case).
    @Test func bothDatabasesHaveTheSameTablesAndColumns() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-schema-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var sqlite: [String: Set<String>] = [:]
        for store in [try Store(path: directory + "/state.sqlite"), try Store(path: directory + "/web.sqlite", attaching: [:])] {
            if store.path.hasSuffix("web.sqlite") { _ = try WebStore(path: store.path) }
            try store.read { tx in
                for table in try tx.db.values(String.self, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'") {
                    sqlite[table.lowercased()] = Set(try tx.db.values(String.self, "SELECT name FROM pragma_table_info(?)", [table]).map { $0.lowercased() })
                }
            }
        }
        let region = StoreOnBothDatabasesTests.newRegion()
        _ = try store(region)
        var postgres: [String: Set<String>] = [:]
        for row in try cluster.connect().execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1", ["hallsync_" + region]).rows {
            guard let table = row[0], let column = row[1], table != "schemamigration" else { continue }
            postgres[table, default: []].insert(column)
        }
        #expect(Set(sqlite.keys) == Set(postgres.keys), "tables only in SQLite: \(Set(sqlite.keys).subtracting(postgres.keys)); only in PostgreSQL: \(Set(postgres.keys).subtracting(sqlite.keys))")
        for (table, columns) in sqlite {
            #expect(columns == postgres[table], "\(table): only in SQLite \(columns.subtracting(postgres[table] ?? [])), only in PostgreSQL \((postgres[table] ?? []).subtracting(columns))")
        }
        #expect(sqlite["account"]?.contains("sessionsendedat") == true && sqlite["reservation"]?.contains("state") == true, "the comparison saw the tables")
    }

    /// A region's schema written by a newer hallsync is refused, not worked on.
    @Test func aNewerSchemaIsRefused() throws {
        let region = StoreOnBothDatabasesTests.newRegion()
        _ = try store(region)
        let connection = try cluster.connect()
        try connection.execute("INSERT INTO hallsync_\(region).schemaMigration (identifier) VALUES ('v99: from the future')")
        #expect { try store(region) } throws: { ($0 as? StoreError)?.code == .schemaNewer }
    }

    /// A region code that would be SQL is refused before anything runs.
    @Test func aRegionThatIsNoNameIsRefused() throws {
        #expect { try store("x; DROP TABLE leaderLease") } throws: { ($0 as? StoreError)?.code == .open }
    }

    /// A leader's write proves the lease first: without it, or after a takeover, nothing is written.
    @Test func writesAreFencedByTheLease() throws {
        let region = StoreOnBothDatabasesTests.newRegion()
        let store = try store(region)
        let lease = LeaseStore(try cluster.connect())
        try lease.migrate()
        let epoch = try #require(try lease.acquire(region: region, holder: "a", ttl: .seconds(30)))
        let token = Mutex<FenceToken?>(FenceToken(region: region, holder: "a", epoch: epoch))
        store.fenceWrites { token.withLock { $0 } }
        try store.write { tx in try tx.setCursor(.portalPosition, to: "written by a", now: 1) }

        // This daemon lost its lease (it thinks so itself): refused without asking the database.
        token.withLock { $0 = nil }
        #expect { try store.write { tx in try tx.setCursor(.portalPosition, to: "no token", now: 2) } } throws: {
            ($0 as? StoreError)?.code == .notLeader
        }
        // It still believes it leads, but another took over: the fence refuses, nothing is written.
        token.withLock { $0 = FenceToken(region: region, holder: "a", epoch: epoch) }
        try lease.resign(region: region, holder: "a", epoch: epoch)
        #expect(try lease.acquire(region: region, holder: "b", ttl: .seconds(30)) == epoch + 1)
        #expect { try store.write { tx in try tx.setCursor(.portalPosition, to: "deposed", now: 3) } } throws: {
            ($0 as? StoreError)?.code == .notLeader
        }
        #expect(try store.read { tx in try tx.cursor(.portalPosition) } == "written by a")
        // Reads need no lease (a standby's status and web page read).
        store.fenceWrites(with: nil)
        try store.write { tx in try tx.setCursor(.portalPosition, to: "unfenced", now: 4) }
        #expect(try store.read { tx in try tx.cursor(.portalPosition) } == "unfenced")
    }
}

/// `hallsync check-config --probe` on a pair's configuration: the database answers, the lease is shown.
@Suite(.privateCluster) struct DatabaseProbeTests {
    @Test func theProbeConnectsAndShowsTheLease() throws {
        let cluster = try #require(PrivateCluster.current)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-probe-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let site = try StandInSite(directory: directory, options: .init(lag: 1, faults: .none))
        defer { site.stop() }
        let config = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/hallsync.sqlite")
        try (try String(contentsOfFile: config, encoding: .utf8) + "store:\n  kind: postgresql\n  connection: \"\(cluster.conninfo)\"\n  tls: disable\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        var check = ConfigurationCheck()
        check.probe(path: config, environment: [:])
        let line = try #require(check.checked.first { $0.hasPrefix("probe database:") }, "\(check.problems)")
        #expect(line.contains("connected (PostgreSQL 15") && line.contains("no lease for the region yet"), "\(line)")
        #expect(!check.problems.contains { $0.contains("database") }, "\(check.problems)")

        // A cluster that is not there: one problem, saying what libpq said.
        try (try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: cluster.directory, with: directory + "/nowhere"))
            .write(toFile: config, atomically: true, encoding: .utf8)
        var missing = ConfigurationCheck()
        missing.probe(path: config, environment: [:])
        #expect(missing.problems.contains { $0.hasPrefix("probe database: ") && $0.contains("could not connect") }, "\(missing.problems)")
    }
}
