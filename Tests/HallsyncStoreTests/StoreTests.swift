import Foundation
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

    @Test func migratesAFreshFileAndReopensIt() throws {
        let (store, directory) = try makeStore()
        #expect(try store.appliedMigrations().count == 2)
        try store.write { tx in try tx.setCursor(.portalPosition, to: "2021-09-08 09:00:00|YY1", now: 1) }
        let reopened = try Store(path: directory + "/state.sqlite")
        #expect(try reopened.read { tx in try tx.cursor(.portalPosition) } == "2021-09-08 09:00:00|YY1")
        let mode = try reopened.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func anIdempotencyKeyIsEnqueuedOnce() throws {
        let (store, _) = try makeStore()
        let portal = PortalReservation(reservationId: "YY1", version: 1, updateTime: "2021-09-08 09:00:00", applicant: .init())
        try store.write { tx in try tx.save(StoredReservation(portal: portal, disposition: .undeliverable, route: nil, content: nil), now: 1) }
        let entry = OutboxEntry(reservationId: "YY1", target: .intake, kind: .create, idempotencyKey: "k1", body: Data("{}".utf8), revision: 1, nextAttemptAt: 0)
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

    @Test func attentionIsRaisedOnceAndResolvedWhenFixed() throws {
        let (store, _) = try makeStore()
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
}
