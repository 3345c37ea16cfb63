import Foundation
import GRDB
import HallsyncDomain
@testable import HallsyncEngine
import HallsyncStandIns
@testable import HallsyncStore
import HallsyncTestSupport
import Testing

/// Peers that err in content: every answer is checked against what hallsync holds and the
/// contract before it changes anything; one that contradicts them changes nothing, and is shown
/// (the attention list, the peer's endpoint) — never a silent merge, drop or overwrite. Real
/// stand-ins over loopback, a real SQLite file; each peer keeps to the contract but in one way.
@Suite struct ContradictionTests {
    /// A quiet site with `ids` delivered to both halls and reported RECEIVED.
    func delivered(_ name: String, _ ids: [String], interval: Double = 1, clock: any EngineClock = SystemClock(),
                   editing: @escaping (String) -> String = { $0 }) throws -> (StandInSite, SyncEngine) {
        let (site, engine) = try Support.site(name, options: .init(lag: 0, faults: .none), interval: interval, clock: clock, editing: editing)
        for id in ids { site.portal.publish(Support.reservation(id)) }
        Support.drain(engine, timeout: 20)
        for id in ids {
            #expect(site.intake.items(externalId: id).count == 1 && site.licensing.items(externalId: id).count == 1, "\(id) delivered")
        }
        return (site, engine)
    }

    func codes(_ engine: SyncEngine, _ id: String) throws -> Set<String> { try Support.attention(engine.store)[id] ?? [] }

    /// A send that failed waits at least 1.5 s: no retry within the cycle that failed it.
    static func slowRetries(_ yaml: String) -> String {
        yaml.replacingOccurrences(of: "retryBase: 0.2", with: "retryBase: 3").replacingOccurrences(of: "retryCap: 2", with: "retryCap: 3")
    }

    /// Runs `n` cycles; returns the errors reported about each peer in any of them.
    @discardableResult
    func cycles(_ engine: SyncEngine, _ n: Int) -> [String: [String]] {
        var errors: [String: [String]] = [:]
        for _ in 0..<n {
            for error in engine.runCycle(stop: StopSignal()).errors {
                let peer = ["intake", "licensing", "portal"].first { error.hasPrefix($0) } ?? "other"
                errors[peer, default: []].append(error)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return errors
    }

    // MARK: 1. One hall item belongs to one reservation

    @Test func aCreateAnsweredWithAnotherReservationsItemIsNotTakenAndTheReservationGetsItsOwn() async throws {
        try await offPool {
            let (site, engine) = try delivered("conflict-create", ["YY-O1"])
            defer { site.stop() }
            let first = try #require(site.intake.items(externalId: "YY-O1").first?.itemNo)
            site.intake.lies.createAnsweredWithOthersItem = 1
            site.portal.publish(Support.reservation("YY-O2"))
            let report = cycles(engine, 4)
            let copies = try engine.store.read { tx in try tx.copies(of: "YY-O2") }
            #expect(copies[.intake]?.itemNo == nil, "the other reservation's item was recorded as YY-O2's")
            #expect(try engine.store.read { tx in try tx.copyOwner(target: .intake, itemNo: first) } == "YY-O1")
            #expect(try codes(engine, "YY-O2").contains("HALL_ITEM_CONFLICT"))
            #expect(report["intake"]?.contains { $0.contains("ITEM_NUMBER_CONFLICT") } == true, "\(report)")
            #expect(site.portal.reservation(id: "YY-O2")?.processStatus == nil, "RECEIVED told with no item of its own")

            // The hall answers honestly again: YY-O2 gets an item of its own, once.
            site.intake.lies.createAnsweredWithOthersItem = 0
            Support.drain(engine, timeout: 30)
            let own = try #require(site.intake.items(externalId: "YY-O2").first?.itemNo)
            #expect(site.intake.items(externalId: "YY-O2").count == 1 && own != first)
            #expect(!(try codes(engine, "YY-O2").contains("HALL_ITEM_CONFLICT")), "closed once the reservation has its own item")
            // Staff handle YY-O2 in licensing: the mirror goes to YY-O2's intake item, not YY-O1's.
            let licensing = try #require(site.licensing.items(externalId: "YY-O2").first?.itemNo)
            site.licensing.staffAct(itemNo: licensing, action: .handle)
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-O2").first?.status == "HANDLED")
            #expect(site.intake.items(externalId: "YY-O1").first?.status == "PENDING", "YY-O1's item was closed by YY-O2's outcome")
        }
    }

    /// The same rule when a create's answer named an item the hall lists under another id (here
    /// one a clerk registered at the counter for another reservation): the feed that reports the
    /// item under that id is not believed for the copy that holds it — it is shown there — nor
    /// lost for the reservation it names: that one is shown the item and its staff outcome.
    @Test func anItemListedUnderAnotherIdIsShownOnBothReservations() async throws {
        try await offPool {
            let (site, engine) = try delivered("conflict-listed", ["YY-U1"])
            defer { site.stop() }
            let first = try #require(site.intake.items(externalId: "YY-U1").first?.itemNo)
            let counter = try #require(site.intake.registerAtCounter(like: first))
            site.intake.lies.createAnsweredWithOthersItem = 1
            site.portal.publish(Support.reservation("YY-U2"))
            // The lie names one of the hall's other items: go on until it named the counter's.
            var claimed = false
            for _ in 0..<30 where !claimed {
                _ = cycles(engine, 1)
                claimed = try engine.store.read { tx in try tx.copyOwner(target: .intake, itemNo: counter) } == "YY-U2"
            }
            try #require(claimed, "the hall never answered with the counter's item")
            site.intake.lies.createAnsweredWithOthersItem = 0
            #expect(site.intake.staffAct(itemNo: counter, action: .handle, operator: "王五"))
            Support.drain(engine, timeout: 30)
            #expect(try codes(engine, "YY-U2").contains("ITEM_STATUS_CONTRADICTION"), "the copy's claim is contradicted: shown")
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-U2") }[.intake]?.status == .open, "HANDLED under another id was applied")
            let shown = try engine.store.read { tx in try tx.openAttention() }.filter { $0.code == "OTHER_HALL_ITEM" && $0.field == counter }
            #expect(shown.map(\.reservationId) == ["YY-U1"], "the counter item's outcome is shown on the reservation it is listed under")
            #expect(shown.first?.messageZh.contains("已办理") == true)
        }
    }

    @Test func theStoreRefusesASecondReservationForOneItem() async throws {
        try await offPool {
            let (site, engine) = try delivered("conflict-store", ["YY-S1", "YY-S2"])
            defer { site.stop() }
            let first = try #require(site.intake.items(externalId: "YY-S1").first?.itemNo)
            #expect(throws: (any Error).self, "a unique index, not only a check in the engine") {
                try engine.store.write { tx in
                    try tx.recordCopy(reservationId: "YY-S2", target: .intake, itemNo: first, revision: 9, delivered: nil, now: 0)
                }
            }
        }
    }

    @Test func aDatabaseThatAlreadyHoldsTwoCopiesOfOneItemKeepsItForTheOlderAndShowsTheOther() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("conflict-migrate")
            let path = directory + "/state.sqlite"
            // A file of the version before, in which the bug recorded one item for two reservations.
            var migrator = Schema.migrator
            migrator.eraseDatabaseOnSchemaChange = false
            let queue = try DatabaseQueue(path: path)
            try migrator.migrate(queue, upTo: "v7: the status counts read small indexes, not whole tables")
            try queue.write { db in
                for (id, created) in [("YY-D1", 1.0), ("YY-D2", 2.0)] {
                    try db.execute(sql: "INSERT INTO reservation (id, version, updateTime, portalJSON, disposition, firstSeenAt, changedAt) VALUES (?, 1, '', '{}', 'DELIVERABLE', 0, 0)", arguments: [id])
                    try db.execute(sql: "INSERT INTO hallCopy (reservationId, target, itemNo, createdAt, changedAt) VALUES (?, 'intake', 'ZH1', ?, 0)", arguments: [id, created])
                }
                try db.execute(sql: "INSERT INTO outbox (reservationId, target, kind, itemNo, idempotencyKey, body, revision, nextAttemptAt, createdAt) VALUES ('YY-D2', 'intake', 'ACTION', 'ZH1', 'k', x'7b7d', 1, 0, 0)")
            }
            try queue.close()
            let store = try Store(path: path)
            #expect(try store.read { tx in try tx.copyOwner(target: .intake, itemNo: "ZH1") } == "YY-D1")
            #expect(try Support.attention(store)["YY-D2"] == ["HALL_ITEM_CONFLICT"])
            #expect(try store.read { tx in try tx.outbox(reservationId: "YY-D2") }.map(\.state) == [.failed], "a send addressed to the other's item")
        }
    }

    // MARK: 2. A copy's status belongs to its item number

    @Test func aFeedChangeNamingAnotherReservationsItemChangesNothing() async throws {
        try await offPool {
            let (site, engine) = try delivered("conflict-feed", ["YY-F1"])
            defer { site.stop() }
            let item = try #require(site.intake.items(externalId: "YY-F1").first?.itemNo)
            // YY-F2's create cannot get through; meanwhile the feed names YY-F1's item under YY-F2.
            site.intake.createOutage = true
            site.portal.publish(Support.reservation("YY-F2"))
            _ = cycles(engine, 2)
            site.intake.reportInFeed(itemNo: item, externalId: "YY-F2", status: "HANDLED")
            let report = cycles(engine, 2)
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-F2") }[.intake]?.itemNo == nil, "adopted from the feed")
            #expect(try engine.store.read { tx in try tx.lifecycle(of: "YY-F2") }?.outcome == nil, "an outcome nobody gave YY-F2")
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-F1") }[.intake]?.status == .open, "YY-F1's item is open in the hall")
            #expect(try codes(engine, "YY-F1").contains("ITEM_STATUS_CONTRADICTION"))
            #expect(report["intake"]?.contains { $0.contains("CONTRADICTION") } == true, "\(report)")

            site.intake.createOutage = false
            Support.drain(engine, timeout: 30)
            let own = try #require(site.intake.items(externalId: "YY-F2").first)
            #expect(own.itemNo != item && own.status == "PENDING")
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-F2") }[.intake]?.status == .open)
            #expect(site.portal.reservation(id: "YY-F2")?.processStatus == "RECEIVED", "the portal was told HANDLED")
        }
    }

    /// A change about an item hallsync does not know yet, under the id of a reservation whose create
    /// is on its way: kept until the create's answer says whose it is — ours (its answer was lost
    /// and staff closed it meanwhile: the outcome is not lost) or another (shown).
    @Test func aChangeAboutAnItemNotYetKnownWaitsForTheCreatesAnswer() async throws {
        try await offPool {
            let (site, engine) = try Support.site("conflict-sighting", options: .init(lag: 0, faults: .none), editing: Self.slowRetries)
            defer { site.stop() }
            // The create is committed and its answer lost; creates then fail for a while, and staff
            // close the item before hallsync knows its number.
            site.intake.faults.lostAnswerAfterCommit = 1
            site.intake.faults.hangSeconds = 0.1
            site.portal.publish(Support.reservation("YY-W1"))
            for _ in 0..<20 where site.intake.items(externalId: "YY-W1").isEmpty { _ = cycles(engine, 1) }
            site.intake.createOutage = true
            site.intake.faults.lostAnswerAfterCommit = 0
            let ours = try #require(site.intake.items(externalId: "YY-W1").first?.itemNo)
            site.intake.staffAct(itemNo: ours, action: .consult, operator: "张三")
            _ = cycles(engine, 2)
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-W1") }[.intake]?.itemNo == nil)
            site.intake.createOutage = false
            Support.drain(engine, timeout: 30)
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-W1") }[.intake]?.status == .consulted)
            #expect(site.licensing.items(externalId: "YY-W1").first?.status == "CONSULTED", "the outcome is mirrored")
            #expect(site.portal.reservation(id: "YY-W1")?.processStatus == "CONSULTED")
            #expect(try codes(engine, "YY-W1").isEmpty)

            // Another item with the id, never ours: shown once our copy has its own item.
            site.intake.reportInFeed(itemNo: "ZH-HAND-1", externalId: "YY-W1", status: "HANDLED", operator: "王五")
            Support.drain(engine, timeout: 20)
            let entry = try #require(try engine.store.read { tx in try tx.openAttention() }.first { $0.code == "OTHER_HALL_ITEM" })
            #expect(entry.reservationId == "YY-W1" && entry.field == "ZH-HAND-1" && entry.messageZh.contains(ours))
        }
    }

    /// The rule behind the wait above, whatever ends it: an item seen with a reservation's id that
    /// is not its copy, with no create on its way that could claim it, is shown within a cycle —
    /// even when the path that ended the create did not look at it (a sighting left behind).
    @Test func anItemSeenWithTheIdIsShownOnceNoCreateCanClaimIt() async throws {
        try await offPool {
            let (site, engine) = try delivered("conflict-sighting-left", ["YY-W3"])
            defer { site.stop() }
            #expect(try codes(engine, "YY-W3").isEmpty)
            // Left behind: noted while a create was on its way, never looked at again.
            try engine.store.write { tx in
                try tx.recordSighting(HallItemSighting(target: .intake, itemNo: "ZH-HAND-3", reservationId: "YY-W3", status: "HANDLED",
                                                       origin: "STAFF", operator: "王五", at: "2021-09-11 11:00:00", source: .feed), now: 0)
            }
            _ = cycles(engine, 1)
            let entry = try #require(try engine.store.read { tx in try tx.openAttention() }.first { $0.code == "OTHER_HALL_ITEM" })
            #expect(entry.reservationId == "YY-W3" && entry.field == "ZH-HAND-3" && entry.messageZh.contains("已办理"))
            // Shown once: a person closes it, and it stays closed.
            let closed = try engine.store.write { tx in
                let id = try tx.db.value(Int64.self, "SELECT id FROM attention WHERE code = 'OTHER_HALL_ITEM' AND resolvedAt IS NULL") ?? 0
                return try tx.resolveAttention(id: id, of: "YY-W3", by: "clerk", note: "已核对", now: 1)
            }
            #expect(closed)
            _ = cycles(engine, 2)
            #expect(!(try codes(engine, "YY-W3").contains("OTHER_HALL_ITEM")), "raised again after a person closed it")
        }
    }

    // MARK: 3. More than one item for a reservation

    @Test func aLookupFindingTwoItemsKeepsTheOneHallsyncMadeAndShowsTheOther() async throws {
        try await offPool {
            let clock = SkippingClock()
            let (site, engine) = try Support.site("conflict-lookup", options: .init(lag: 0, faults: .none, keyRetention: 2), keyRetention: 2,
                                                  clock: clock, editing: Self.slowRetries)
            defer { site.stop() }
            site.intake.faults.lostAnswerAfterCommit = 1
            site.intake.faults.hangSeconds = 0.1
            site.portal.publish(Support.reservation("YY-T1"))
            for _ in 0..<20 where site.intake.items(externalId: "YY-T1").isEmpty { _ = cycles(engine, 1) }
            site.intake.createOutage = true
            site.intake.faults.lostAnswerAfterCommit = 0
            let ours = try #require(site.intake.items(externalId: "YY-T1").first?.itemNo)
            // A clerk registers the same reservation by hand at the counter; the key is then forgotten.
            let counter = try #require(site.intake.registerAtCounter(like: ours))
            clock.advance(2.5)   // the create's first attempt is older than the key's retention now
            site.intake.createOutage = false
            Support.drain(engine, timeout: 30)
            #expect(site.intake.items(externalId: "YY-T1").count == 2, "a third item was made")
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-T1") }[.intake]?.itemNo == ours, "the hand-made one was adopted")
            #expect(site.licensing.items(externalId: "YY-T1").first?.linkedItemNo == ours)
            let shown = try engine.store.read { tx in try tx.openAttention() }.filter { $0.code == "OTHER_HALL_ITEM" }
            #expect(shown.map(\.field) == [counter])

            // A staff outcome on the other item: shown, not mirrored as if it were ours.
            site.intake.staffAct(itemNo: counter, action: .handle, operator: "王五")
            Support.drain(engine, timeout: 20)
            #expect(site.licensing.items(externalId: "YY-T1").first?.status == "PENDING")
            let updated = try #require(try engine.store.read { tx in try tx.openAttention() }.first { $0.code == "OTHER_HALL_ITEM" })
            #expect(updated.messageZh.contains("已办理") && updated.messageZh.contains("王五"), "\(updated.messageZh)")
        }
    }

    @Test func aReconciliationShowsOtherItemsAndAnItemTheHallNoLongerHas() async throws {
        try await offPool {
            let (site, engine) = try delivered("conflict-reconcile", ["YY-K1", "YY-K2", "YY-K3", "YY-K4", "YY-K5"])
            defer { site.stop() }
            // One outcome read first, so that the feed's position stands past 0 (an expiry is then a 410).
            site.intake.staffAct(itemNo: try #require(site.intake.items(externalId: "YY-K3").first?.itemNo), action: .handle)
            Support.drain(engine, timeout: 20)
            func reconcile() throws {
                site.intake.expireFeed()
                Support.drain(engine, timeout: 30)
                for _ in 0..<5 where try engine.store.read({ tx in try tx.cursor(.reconcile(.intake)) }) != nil { cycles(engine, 1) }
            }
            let k1 = try #require(site.intake.items(externalId: "YY-K1").first?.itemNo)
            let k2 = try #require(site.intake.items(externalId: "YY-K2").first?.itemNo)
            let k4 = try #require(site.intake.items(externalId: "YY-K4").first?.itemNo)
            let counter = try #require(site.intake.registerAtCounter(like: k1))
            // An item only a create's answer named, not listed under the reservation's id: not its item —
            // the reservation is delivered again.
            site.intake.forget(itemNo: k4)
            site.intake.staffAct(itemNo: k1, action: .handle)
            try reconcile()
            var attention = try engine.store.read { tx in try tx.openAttention() }
            #expect(attention.contains { $0.code == "OTHER_HALL_ITEM" && $0.reservationId == "YY-K1" && $0.field == counter })
            #expect(site.licensing.items(externalId: "YY-K1").first?.status == "HANDLED", "the outcome found by the lookup is mirrored")
            let conflict = try engine.store.read { tx in try tx.history(of: "YY-K4") }.attention.first { $0.code == "HALL_ITEM_CONFLICT" }
            #expect(conflict?.field == k4 && conflict?.resolvedAt != nil, "shown, and closed once the reservation had an item of its own")
            #expect(site.intake.items(externalId: "YY-K4").count == 1, "delivered again")
            // An item the lookup had shown under the reservation's id, gone since: the hall lost it; shown.
            // (An outcome read first: the feed's position must stand past what the expiry drops.)
            site.intake.staffAct(itemNo: try #require(site.intake.items(externalId: "YY-K4").first?.itemNo), action: .consult)
            Support.drain(engine, timeout: 20)
            site.intake.forget(itemNo: k2)
            site.intake.staffAct(itemNo: try #require(site.intake.items(externalId: "YY-K5").first?.itemNo), action: .consult)
            try reconcile()
            attention = try engine.store.read { tx in try tx.openAttention() }
            #expect(attention.contains { $0.code == "HALL_ITEM_MISSING" && $0.reservationId == "YY-K2" && $0.field == k2 })
            #expect(site.intake.items(externalId: "YY-K2").isEmpty, "re-created on the word of one lookup")
        }
    }

    // MARK: 4. A feed's numbering never goes back unnoticed

    @Test(arguments: [true, false])
    func aFeedWhoseNumberingWentBackLosesNoOutcome(_ loudly: Bool) async throws {
        try await offPool {
            // Quietly (lastSeq = after), only the daily sweep of old open items finds it: a day passes.
            let clock = SkippingClock()
            let (site, engine) = try delivered("rewind-\(loudly ? "loud" : "quiet")", ["YY-B1", "YY-B2", "YY-B3"], clock: clock)
            defer { site.stop() }
            let items = (1...3).compactMap { site.intake.items(externalId: "YY-B\($0)").first?.itemNo }
            // Two outcomes read, so hallsync's position stands past them; then the hall is restored.
            site.licensing.staffAct(itemNo: try #require(site.licensing.items(externalId: "YY-B1").first?.itemNo), action: .handle)
            site.licensing.staffAct(itemNo: try #require(site.licensing.items(externalId: "YY-B2").first?.itemNo), action: .consult)
            Support.drain(engine, timeout: 20)
            site.intake.lies.rewindLoudly = loudly
            site.intake.rewindFeed(dropping: 4)
            // A new outcome, numbered below hallsync's position.
            site.intake.staffAct(itemNo: items[2], action: .handle, operator: "赵六")
            if !loudly { clock.advance(86_400) }
            let report = Support.drain(engine, timeout: 30)
            for _ in 0..<10 where site.licensing.items(externalId: "YY-B3").first?.status != "HANDLED" { _ = cycles(engine, 1) }
            #expect(site.licensing.items(externalId: "YY-B3").first?.status == "HANDLED", "the outcome below the position was lost")
            #expect(site.portal.reservation(id: "YY-B3")?.processStatus == "HANDLED")
            _ = report
        }
    }

    /// The sweep looks up what a quiet rewind may have hidden, not only open items: a reservation
    /// whose items hallsync holds closed may have another item in the hall (a clerk's, at the
    /// counter) whose outcome the feed lost.
    @Test func anOutcomeAQuietRewindHidOnAClosedReservationsOtherItemIsFoundByTheSweep() async throws {
        try await offPool {
            let clock = SkippingClock()
            let (site, engine) = try delivered("rewind-closed", ["YY-K1", "YY-K2"], clock: clock)
            defer { site.stop() }
            let ours = try #require(site.intake.items(externalId: "YY-K1").first?.itemNo)
            let counter = try #require(site.intake.registerAtCounter(like: ours))
            #expect(site.licensing.staffAct(itemNo: try #require(site.licensing.items(externalId: "YY-K1").first?.itemNo), action: .handle))
            Support.drain(engine, timeout: 20)
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-K1") }[.intake]?.status == .handled, "closed in both halls")
            site.intake.rewindFeed(dropping: 4)
            #expect(site.intake.staffAct(itemNo: counter, action: .handle, operator: "王五"))   // numbered below hallsync's position
            clock.advance(86_400)
            var shown = false
            for _ in 0..<10 where !shown {
                _ = cycles(engine, 1)
                shown = try engine.store.read { tx in try tx.openAttention() }.contains { $0.code == "OTHER_HALL_ITEM" && $0.field == counter }
            }
            #expect(shown, "the counter item's outcome, hidden by the rewind, was never looked up")
            #expect(try codes(engine, "YY-K1") == ["OTHER_HALL_ITEM"], "the closed copy looked up again changes nothing else")
        }
    }

    // MARK: 5. The portal

    @Test func aRecordOfAnotherRegionInOurListGoesToNoHall() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("foreign-region")
            defer { site.stop() }
            site.portal.lies.listsOtherRegions = true
            var r = Support.reservation("YY-X1")
            r.regionCode = "371003"
            site.portal.publish(r)
            site.portal.publish(Support.reservation("YY-X2"))
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-X1").isEmpty && site.licensing.items(externalId: "YY-X1").isEmpty)
            #expect(try codes(engine, "YY-X1") == ["REGION_FOREIGN"])
            #expect(site.licensing.items(externalId: "YY-X2").count == 1, "our own region's record is delivered")
        }
    }

    @Test func anotherApplicantInANewVersionIsHeldUntilAPersonConfirmsIt() async throws {
        try await offPool {
            let (site, engine) = try delivered("identity", ["YY-I1"])
            defer { site.stop() }
            var other = try #require(site.portal.reservation(id: "YY-I1"))
            other.applicant = .init(name: "李四", idNumber: "110101199003077571", phone: "13912345678")
            other.appointmentDate = "2021-09-13"
            site.portal.publish(other)
            Support.drain(engine, timeout: 20)
            for hall in [site.intake, site.licensing] {
                let item = try #require(hall.items(externalId: "YY-I1").first)
                #expect(item.idNumber == "37100219800101015X" && item.applicantName == "王某" && item.phone == "13806310000", "PATCHed into \(hall.target)")
            }
            #expect(try codes(engine, "YY-I1") == ["IDENTITY_CHANGED"])

            // A clerk checked with the applicant and retries: the new identity goes to both items.
            _ = try engine.store.write { tx in try Ledger(normalizer: engine.rules.normalizer, now: Date().timeIntervalSince1970).retry("YY-I1", in: tx) }
            Support.drain(engine, timeout: 20)
            for hall in [site.intake, site.licensing] {
                #expect(hall.items(externalId: "YY-I1").first?.idNumber == "110101199003077571")
            }
            #expect(try codes(engine, "YY-I1").isEmpty)
        }
    }

    @Test func aChangedIdentityThatThePortalRevertsNeedsNobody() async throws {
        try await offPool {
            let (site, engine) = try delivered("identity-revert", ["YY-I2"])
            defer { site.stop() }
            let original = try #require(site.portal.reservation(id: "YY-I2"))
            var other = original
            other.applicant.idNumber = "110101199003077571"
            site.portal.publish(other)
            Support.drain(engine, timeout: 20)
            #expect(try codes(engine, "YY-I2") == ["IDENTITY_CHANGED"])
            var back = try #require(site.portal.reservation(id: "YY-I2"))
            back.applicant = original.applicant
            back.appointmentSlot = "11:00-11:30"
            site.portal.publish(back)
            Support.drain(engine, timeout: 20)
            #expect(try codes(engine, "YY-I2").isEmpty)
            #expect(site.intake.items(externalId: "YY-I2").first?.registerTime == "2021-09-11 11:00:00", "the reschedule goes through again")
        }
    }

    @Test func aVersionThatContradictsTheStoredOneChangesNothing() async throws {
        try await offPool {
            let (site, engine) = try delivered("version", ["YY-V1", "YY-V2"])
            defer { site.stop() }
            let stored = try #require(try engine.store.read { tx in try tx.reservation(id: "YY-V1") })
            // The id issued again, at version 1, for another applicant.
            var reissued = Support.reservation("YY-V1")
            reissued.applicant = .init(name: "李四", idNumber: "110101199003077571", phone: "13912345678")
            site.portal.reissue(reissued)
            // The newest version sent again with other content under its number.
            var changed = try #require(site.portal.reservation(id: "YY-V2"))
            changed.appointmentDate = "2021-09-14"
            site.portal.republishSameVersion(changed)
            Support.drain(engine, timeout: 20)
            let after = try #require(try engine.store.read { tx in try tx.reservation(id: "YY-V1") })
            #expect(after.portal == stored.portal, "the stored version was overwritten")
            #expect(site.intake.items(externalId: "YY-V1").first?.idNumber == "37100219800101015X")
            #expect(site.intake.items(externalId: "YY-V2").first?.registerTime == "2021-09-11 10:00:00")
            #expect(try codes(engine, "YY-V1") == ["VERSION_CONFLICT"])
            #expect(try codes(engine, "YY-V2") == ["VERSION_CONFLICT"])
        }
    }

    @Test func aReservationLiveAgainAfterItsCancellationWasCarriedOutIsShown() async throws {
        try await offPool {
            let (site, engine) = try delivered("revived", ["YY-R1"])
            defer { site.stop() }
            site.portal.cancel("YY-R1")
            Support.drain(engine, timeout: 20)
            #expect(site.portal.reservation(id: "YY-R1")?.processStatus == "CANCEL_ACKNOWLEDGED")
            var again = try #require(site.portal.reservation(id: "YY-R1"))
            again.status = "SUBMITTED"
            site.portal.publish(again)
            Support.drain(engine, timeout: 20)
            #expect(try codes(engine, "YY-R1") == ["REVIVED_AFTER_CANCEL"])
            #expect(site.intake.items(externalId: "YY-R1").count == 1, "no second item")
            // Cancelled again: the condition is gone.
            site.portal.cancel("YY-R1")
            Support.drain(engine, timeout: 20)
            #expect(try codes(engine, "YY-R1").isEmpty)
        }
    }

    @Test func implausibleAppointmentsAreHeld() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("implausible")
            defer { site.stop() }
            site.portal.publish(Support.reservation("YY-P1", date: "1970-01-01"))
            site.portal.publish(Support.reservation("YY-P2", date: "2099-12-31"))
            site.portal.publish(Support.reservation("YY-P3", date: "2021-09-30"))
            Support.drain(engine, timeout: 20)
            #expect(site.intake.items(externalId: "YY-P1").isEmpty && site.intake.items(externalId: "YY-P2").isEmpty)
            #expect(try codes(engine, "YY-P1") == ["APPOINTMENT_IMPLAUSIBLE"] && codes(engine, "YY-P2") == ["APPOINTMENT_IMPLAUSIBLE"])
            #expect(site.intake.items(externalId: "YY-P3").count == 1)
        }
    }

    @Test func aStatusThePortalShowsThatHallsyncNeverPushedIsShownNotBelieved() async throws {
        try await offPool {
            let (site, engine) = try delivered("unexplained-status", ["YY-U1"])
            defer { site.stop() }
            var r = try #require(site.portal.reservation(id: "YY-U1"))
            r.processStatus = "HANDLED"
            site.portal.publish(r)
            Support.drain(engine, timeout: 20)
            #expect(try engine.store.read { tx in try tx.lifecycle(of: "YY-U1") }?.portalStatus == .received)
            #expect(try codes(engine, "YY-U1") == ["PORTAL_STATUS_UNEXPLAINED"])
        }
    }

    @Test func aDeliveredReservationListedAsAPhoneOneOrMovedToAnotherRouteIsHeld() async throws {
        try await offPool {
            let (site, engine) = try delivered("mode-route", ["YY-M1", "YY-M2"])
            defer { site.stop() }
            var phone = try #require(site.portal.reservation(id: "YY-M1"))
            phone.handleMode = "PHONE"
            site.portal.publish(phone)
            var moved = try #require(site.portal.reservation(id: "YY-M2"))
            moved.itemCode = "371002-XK-0107"
            moved.itemName = "建筑工程施工许可证核发"
            site.portal.publish(moved)
            Support.drain(engine, timeout: 20)
            #expect(try codes(engine, "YY-M1") == ["MODE_CHANGED_AFTER_DELIVERY"])
            #expect(try codes(engine, "YY-M2") == ["ROUTE_CHANGED"])
            #expect(site.licensing.items(externalId: "YY-M2").first?.itemCode == "371002-XK-0012", "the licensing item was changed")
            #expect(site.intake.items(externalId: "YY-M2").first?.status == "PENDING")
        }
    }

    @Test func aFieldLongerThanTheHallsAcceptIsHeldNotSent() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("too-long")
            defer { site.stop() }
            var r = Support.reservation("YY-L1")
            r.applicant.name = String(repeating: "王", count: 1_000_000)
            site.portal.publish(r)
            Support.drain(engine, timeout: 20)
            #expect(site.intake.allItems().isEmpty && site.licensing.allItems().isEmpty)
            #expect(try codes(engine, "YY-L1") == ["FIELD_TOO_LONG"])
        }
    }

    // MARK: Halls that contradict themselves

    @Test func aClosedAnswerThatNamesAnOpenStatusKeepsTheSend() async throws {
        try await offPool {
            let (site, engine) = try delivered("closed-pending", ["YY-C1"])
            defer { site.stop() }
            let intake = try #require(site.intake.items(externalId: "YY-C1").first?.itemNo)
            let licensing = try #require(site.licensing.items(externalId: "YY-C1").first?.itemNo)
            // Licensing's feed is down, staff consult there and handle in intake: the mirror meets a closed item.
            site.licensing.feedOutage = true
            site.licensing.staffAct(itemNo: licensing, action: .consult)
            site.intake.staffAct(itemNo: intake, action: .handle)
            site.licensing.lies.closedAnswerSaysPending = 1
            let report = cycles(engine, 3)
            let action = try #require(try engine.store.read { tx in try tx.outbox(reservationId: "YY-C1") }.first { $0.kind == .action })
            #expect(action.state == .pending, "settled on an answer that contradicts itself")
            #expect(report["licensing"]?.contains { $0.contains("ITEM_CLOSED_UNREADABLE") } == true, "\(report)")
            site.licensing.lies.closedAnswerSaysPending = 0
            site.licensing.feedOutage = false
            Support.drain(engine, timeout: 20)
            #expect(try codes(engine, "YY-C1") == ["OUTCOME_CONFLICT"])
        }
    }

    @Test func aStatusTheContractDoesNotDefineIsShownForOurItem() async throws {
        try await offPool {
            let (site, engine) = try delivered("unknown-status", ["YY-N1"])
            defer { site.stop() }
            let item = try #require(site.intake.items(externalId: "YY-N1").first?.itemNo)
            site.intake.reportInFeed(itemNo: item, externalId: "YY-N1", status: "DONE")
            Support.drain(engine, timeout: 20)
            #expect(try codes(engine, "YY-N1") == ["ITEM_STATUS_CONTRADICTION"])
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-N1") }[.intake]?.status == .open)
        }
    }

    @Test func aClosedItemReportedOpenOrClosedOtherwiseKeepsItsFirstStatus() async throws {
        try await offPool {
            let (site, engine) = try delivered("status-flip", ["YY-Z1"])
            defer { site.stop() }
            let item = try #require(site.intake.items(externalId: "YY-Z1").first?.itemNo)
            site.intake.staffAct(itemNo: item, action: .handle)
            Support.drain(engine, timeout: 20)
            site.intake.reportInFeed(itemNo: item, externalId: "YY-Z1", status: "CONSULTED")
            site.intake.reportInFeed(itemNo: item, externalId: "YY-Z1", status: "PENDING")
            Support.drain(engine, timeout: 20)
            #expect(try engine.store.read { tx in try tx.copies(of: "YY-Z1") }[.intake]?.status == .handled)
            #expect(site.portal.reservation(id: "YY-Z1")?.processStatus == "HANDLED")
            #expect(try codes(engine, "YY-Z1") == ["ITEM_STATUS_CONTRADICTION"])
        }
    }
}
