import Foundation
import HallsyncDomain
@testable import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing

/// Personal data is erased after the retention, from every place it was kept, once settled.
@Suite(.serialized) struct RetentionTests {
    static func id(_ seventeen: String) -> String { seventeen + String(ResidentIdentityNumber.checkCharacter(for: seventeen)!) }

    @Test func aSettledReservationPastTheRetentionLosesItsPersonalDataAndNothingElse() async throws {
        try await offPool {
            let clock = SkippingClock()
            let (site, engine) = try Support.quietSite("retention", clock: clock)
            defer { site.stop() }
            var settled = Support.reservation("YY-SETTLED")
            settled.applicant.name = "欧阳娜娜"
            settled.applicant.idNumber = Self.id("37100219900101123")
            settled.applicant.phone = "13900001111"
            var open = Support.reservation("YY-OPEN")
            open.applicant.name = "司马相如"
            open.applicant.idNumber = Self.id("37100219850505456")
            var phone = Support.reservation("YY-PHONE")
            phone.handleMode = "PHONE"
            phone.applicant.name = "诸葛亮明"
            phone.applicant.phone = "13900002222"
            var held = Support.reservation("YY-HELD")
            held.applicant.name = "上官婉儿"
            held.applicant.idNumber = "371002198001010150"   // wrong check digit: on the attention list
            for r in [settled, open, phone, held] { site.portal.publish(r) }
            Support.drain(engine, timeout: 20)
            let itemNo = try #require(site.intake.items(externalId: "YY-SETTLED").first?.itemNo)
            site.intake.staffAct(itemNo: itemNo, action: .handle)
            Support.drain(engine, timeout: 20)
            #expect(site.portal.reservation(id: "YY-SETTLED")?.processStatus == "HANDLED")

            // Appointments are in 2021, far beyond 180 days: the settled ones are due, the open and the held are not.
            // (The phone-verified one was settled from the start: the first cycle's run erased it.)
            // Copies an upgrade kept: one older than the retention goes with the personal data, a recent one stays.
            let database = engine.configuration.database
            try Data("old".utf8).write(to: URL(fileURLWithPath: database + ".before-v3"))
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-200 * 86_400)], ofItemAtPath: database + ".before-v3")
            try Data("recent".utf8).write(to: URL(fileURLWithPath: database + ".before-v9"))
            clock.advance(7200)
            _ = try engine.applyRetention()
            #expect(!FileManager.default.fileExists(atPath: database + ".before-v3"))
            #expect(FileManager.default.fileExists(atPath: database + ".before-v9"))
            try FileManager.default.removeItem(atPath: database + ".before-v9")
            #expect(try engine.store.read { tx in try tx.purgedCount() } == 2)
            let (a, b, p, h) = try engine.store.read { tx in
                (try tx.reservation(id: "YY-SETTLED")!, try tx.reservation(id: "YY-OPEN")!, try tx.reservation(id: "YY-PHONE")!, try tx.reservation(id: "YY-HELD")!)
            }
            #expect(a.portal.applicant.name == "" && a.portal.applicant.idNumber == "" && a.portal.applicant.phone == "")
            #expect(a.content?.applicantName == "" && a.content?.idNumber == "" && a.content?.phone == "")
            #expect(a.content?.deptCode == "D" && a.appointmentKey == "2021-09-11" && a.lifecycle.portalStatus == .handled)
            #expect(p.portal.applicant.name == "" && p.portal.applicant.phone == "")
            #expect(b.portal.applicant.name == "司马相如" && h.portal.applicant.name == "上官婉儿")
            let copies = try engine.store.read { tx in try tx.copies(of: "YY-SETTLED") }
            // The copies keep the digests of the erased content (no digest of the ID number stays,
            // and the reservation still reads as delivered: nothing is updated for the erasure).
            let erased = try #require(a.content.map { DeliveredContent($0) })
            #expect(copies.count == 2 && copies.values.allSatisfy { $0.delivered == erased })
            let bodies = try engine.store.read { tx in try tx.outbox(reservationId: "YY-SETTLED") }.map { String(decoding: $0.body, as: UTF8.self) }
            #expect(!bodies.joined().contains("欧阳") && !bodies.joined().contains(settled.applicant.idNumber!))

            // Gone from the file itself, not only from what SQLite shows (secure_delete, checkpoint).
            let directory = URL(fileURLWithPath: engine.configuration.database).deletingLastPathComponent().path
            var bytes = Data()
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix("state.sqlite") {
                bytes += try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
            }
            for secret in [settled.applicant.idNumber!, "13900001111", "13900002222", "欧阳娜娜", "诸葛亮明"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is still in the database files")
            }
            #expect(bytes.range(of: Data("司马相如".utf8)) != nil, "the open reservation keeps its data")

            // The status file reports it.
            let report = engine.runCycle(stop: StopSignal())
            #expect(report.purgedTotal == 2)
            #expect(try engine.store.read { tx in try tx.outbox(reservationId: "YY-SETTLED") }.allSatisfy { $0.kind != .update },
                    "the erasure is not news for the halls")
        }
    }
}
