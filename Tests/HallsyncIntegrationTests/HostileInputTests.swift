import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import Testing

/// Peers that lie and records that attack: the engine against the stand-ins over loopback.
@Suite(.serialized) struct HostileInputTests {
    @Test func aControlCharacterInAnIdCannotReachAnotherApplicantsRecord() throws {
        let (site, engine) = try Support.quietSite("nul-id")
        defer { site.stop() }
        site.portal.publish(Support.reservation("YY-A"))
        Support.drain(engine, lag: 0, timeout: 20)
        let original = try #require(site.intake.items(externalId: "YY-A").first)

        // Same prefix, a NUL, other data, and a higher version than YY-A's.
        var hostile = Support.reservation("YY-A\u{0}X", date: "2021-10-11")
        hostile.applicant.name = "攻击者"
        hostile.applicant.idNumber = "110101199003077578"
        site.portal.publish(hostile)
        site.portal.publish(hostile)
        var spaced = Support.reservation("YY-A X")
        spaced.applicant.name = "另一人"
        site.portal.publish(spaced)
        Support.drain(engine, lag: 0, timeout: 20)

        for hall in [site.intake, site.licensing] {
            let items = hall.items(externalId: "YY-A")
            #expect(items.count == 1)
            #expect(items.first?.applicantName == "王某" && items.first?.registerTime == original.registerTime)
            #expect(hall.allItems().count == 1, "nothing of the hostile records reached \(hall.target)")
        }
        let stored = try engine.store.read { tx in try tx.reservation(id: "YY-A") }
        #expect(stored?.portal.applicant.name == "王某" && stored?.version == site.portal.reservation(id: "YY-A")?.version)
        let attention = try engine.store.read { tx in try tx.openAttention() }
        #expect(Set(attention.map(\.code)) == ["RESERVATION_ID_INVALID"])
        #expect(Set(attention.map(\.reservationId)) == [WireIdentifier.printable("YY-A\u{0}X"), WireIdentifier.printable("YY-A X")])
        #expect(try engine.store.read { tx in try tx.counts() }.reservations == 1)
    }
}
