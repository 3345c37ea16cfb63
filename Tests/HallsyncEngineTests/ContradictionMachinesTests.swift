import Foundation
import HallsyncDomain
@testable import HallsyncEngine
@testable import HallsyncMachines
import HallsyncStore
import HallsyncTransport
import Testing

/// The engine's pure decisions about what a peer said: which found item is the one hallsync
/// made, whether a portal version repeats or contradicts the stored one, when a hall's feed is
/// swept. No socket, no store, no sleep.
@Suite struct ContradictionMachinesTests {
    static let sent = Data(#"{"externalId":"YY1","revision":3,"source":"ONLINE_RESERVATION","itemName":"（预约）公司设立登记","registerTime":"2021-09-11 10:00:00","idNumber":"37100219800101015X"}"#.utf8)

    func item(_ no: String, source: String? = "ONLINE_RESERVATION", revision: Int? = 3, register: String? = "2021-09-11 10:00:00",
              id: String? = "37100219800101015X") -> HallClient.Item {
        HallClient.Item(itemNo: no, externalId: "YY1", status: "PENDING", revision: revision, source: source, itemName: "（预约）公司设立登记",
                        registerTime: register, idNumber: id)
    }

    @Test func theItemHallsyncMadeIsToldFromOneMadeAtTheCounter() {
        let (ours, others) = CreatedItemMatch.split([item("ZH9", source: "COUNTER"), item("ZH5")], sent: Self.sent)
        #expect(ours?.itemNo == "ZH5" && others.map(\.itemNo) == ["ZH9"])
        // Whatever their order, and a revision moved on by status pushes does not matter.
        #expect(CreatedItemMatch.split([item("ZH5", revision: 5), item("ZH9", source: "COUNTER")], sent: Self.sent).ours?.itemNo == "ZH5")
        // Nothing of ours: a create is still due, the others are shown.
        let none = CreatedItemMatch.split([item("ZH9", source: "COUNTER")], sent: Self.sent)
        #expect(none.ours == nil && none.others.count == 1)
    }

    @Test func amongSeveralOfOursTheOneThatSaysMostOfWhatWasSentAndThenTheOldestIsKept() {
        #expect(CreatedItemMatch.split([item("ZH7", id: "11010119900307757X"), item("ZH8")], sent: Self.sent).ours?.itemNo == "ZH8")
        #expect(CreatedItemMatch.split([item("ZH8"), item("ZH7")], sent: Self.sent).ours?.itemNo == "ZH7")
        #expect(CreatedItemMatch.split([item("ZH8", register: "2021-09-12 10:00:00"), item("ZH9")], sent: Self.sent).ours?.itemNo == "ZH9")
    }

    func head(_ portal: PortalReservation, purged: Bool = false) throws -> PortalVersionCheck.Held {
        PortalVersionCheck.Held(version: portal.version, updateTime: portal.updateTime, content: purged ? nil : try StoreTransaction.canonicalJSON(portal))
    }

    func check(_ incoming: PortalReservation, _ stored: PortalVersionCheck.Held) throws -> (zh: String, en: String)? {
        try PortalVersionCheck.contradiction(of: incoming, content: try StoreTransaction.canonicalJSON(incoming), stored: stored)
    }

    func record(version: Int, updated: String, name: String = "王某") -> PortalReservation {
        PortalReservation(reservationId: "YY1", version: version, updateTime: updated, applicant: .init(name: name, idNumber: "37100219800101015X"),
                          regionCode: "371002", itemCode: "371002-XK-0012", appointmentDate: "2021-09-11", appointmentSlot: "10:00")
    }

    @Test func aRepeatIsIgnoredAndAContradictionIsNamed() throws {
        let stored = try head(record(version: 3, updated: "2021-09-08 10:00:00"))
        #expect(try check(record(version: 3, updated: "2021-09-08 10:00:00"), stored) == nil)
        #expect(try check(record(version: 2, updated: "2021-09-08 09:00:00"), stored) == nil, "an older version, older")
        #expect(try check(record(version: 3, updated: "2021-09-08 10:00:00", name: "李四"), stored) != nil)
        #expect(try check(record(version: 1, updated: "2021-09-09 08:00:00", name: "李四"), stored) != nil,
                "the id issued again for another applicant")
        // Retention erased the stored record: a repeat cannot be told from it, and is not held against it.
        let purged = try head(record(version: 3, updated: "2021-09-08 10:00:00", name: "*"), purged: true)
        #expect(try check(record(version: 3, updated: "2021-09-08 10:00:00"), purged) == nil)
    }

    @Test func theFeedIsSweptOnItsIntervalAndStartedOverWhenStale() {
        let cursor = HallFeedCursor(seq: 42)
        let day = 86_400.0, now = 10 * day
        #expect(cursor.start(lastRead: now - 5, lastSweep: now - 100, haveOpenItems: true, retention: 7 * day, sweepInterval: day, now: now) == .readOn)
        #expect(cursor.start(lastRead: now - 5, lastSweep: now - day, haveOpenItems: true, retention: 7 * day, sweepInterval: day, now: now)
                == .sweep(createdBefore: now - day))
        #expect(cursor.start(lastRead: now - 5, lastSweep: nil, haveOpenItems: false, retention: 7 * day, sweepInterval: day, now: now)
                == .sweep(createdBefore: now - day), "never swept: at once")
        #expect(cursor.start(lastRead: now - 6.5 * day, lastSweep: now - 5, haveOpenItems: true, retention: 7 * day, sweepInterval: day, now: now)
                == .startOver)
        #expect(cursor.start(lastRead: now - 6.5 * day, lastSweep: now - 5, haveOpenItems: false, retention: 7 * day, sweepInterval: day, now: now)
                == .readOn, "nothing open: nothing to look up")
        // While reconciling, nothing else starts.
        let reconciling = HallFeedCursor(seq: 0, reconcileAfter: "YY5", reconcileCreatedBefore: now - day)
        #expect(reconciling.start(lastRead: nil, lastSweep: nil, haveOpenItems: true, retention: 7 * day, sweepInterval: day, now: now) == .readOn)
        #expect(HallFeedCursor(feed: "seq:7", reconcile: "YY5", createdBefore: "123.5").reconcileCreatedBefore == 123.5)
        #expect(HallFeedCursor(feed: "seq:7", reconcile: nil, createdBefore: "123.5").reconcileCreatedBefore == nil)
    }
}
