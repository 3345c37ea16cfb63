import HallsyncDomain
import Testing
@testable import HallsyncEngine
@testable import HallsyncMachines

@Suite struct PortalClockTests {
    let local = BeijingTime(parsing: "2026-11-29 10:00:00")!

    @Test func theEarlierClockIsNowAndTheSkewIsReported() {
        let fast = PortalClock.reading(portal: local.adding(seconds: 30 * 86_400), local: local)
        #expect(fast.now == local && fast.skewSeconds == 30 * 86_400 && !fast.agrees)
        #expect(fast.warning?.contains("ahead of") == true)
        let slow = PortalClock.reading(portal: local.adding(seconds: -40), local: local)
        #expect(slow.now == local.adding(seconds: -40) && slow.agrees && slow.warning == nil)
        #expect(PortalClock.reading(portal: local.adding(seconds: 301), local: local).warning != nil)
        #expect(PortalClock.reading(portal: local.adding(seconds: 300), local: local).warning == nil)
    }

    @Test func aPositionBeyondTheClockOfItsWritingIsRewoundToBeforeThatMoment() {
        #expect(PortalClock.rewind(position: local.adding(seconds: -62), writtenAt: local, lagSeconds: 62) == nil)
        #expect(PortalClock.rewind(position: local.adding(seconds: 300), writtenAt: local, lagSeconds: 62) == nil)
        let rewound = PortalClock.rewind(position: local.adding(seconds: 30 * 86_400), writtenAt: local, lagSeconds: 62)
        #expect(rewound == local.adding(seconds: -(62 + 3600)))
    }
}

@Suite struct PortalPagingTests {
    let now = BeijingTime(parsing: "2026-11-29 10:00:00")!
    let settings = PortalPaging.Settings(pageSize: 3, lagSeconds: 62, pageBudget: 40)

    func position(_ time: String, _ id: String = "") -> PortalPosition { PortalPosition(time: BeijingTime(parsing: time)!, id: id) }

    func key(_ second: Int, _ id: String) -> PortalPosition? {
        PortalPosition(time: BeijingTime(parsing: "2026-11-29 09:00:00")!.adding(seconds: second), id: id)
    }

    func requests(_ effects: [PortalPaging.Effect]) -> [PortalPaging.Request] {
        effects.compactMap { if case .request(let r, _) = $0 { return r } else { return nil } }
    }

    func commits(_ effects: [PortalPaging.Effect]) -> [PortalPosition] {
        effects.compactMap { if case .ingest(_, let commit?, _) = $0 { return commit } else { return nil } }
    }

    @Test func aPortalThirtyDaysFastCannotMoveThePositionIntoTheFuture() {
        let clock = PortalClock.reading(portal: now.adding(seconds: 30 * 86_400), local: now)
        var paging = PortalPaging(settings: settings, position: position("2026-11-29 09:00:00"), clock: clock)
        #expect(paging.horizon == now.adding(seconds: -62))
        var effects = paging.start()
        var committed: [PortalPosition] = []
        while let request = requests(effects).first {
            #expect(request.end <= now.adding(seconds: 60), "never asks beyond what both clocks allow")
            #expect(request.start <= request.end)
            effects = paging.pageArrived(keys: [], total: 0)
            committed += commits(effects)
        }
        #expect(committed.allSatisfy { $0.time <= now.adding(seconds: -62) })
        #expect(paging.position.time == now.adding(seconds: -62))
        #expect(paging.stopReason == .caughtUp)
    }

    @Test func readsByKeysetAndCommitsEachPageWithItsRecords() {
        let clock = PortalClock.reading(portal: now, local: now)
        var paging = PortalPaging(settings: settings, position: position("2026-11-29 09:00:00"), clock: clock)
        var effects = paging.start()
        #expect(requests(effects) == [.init(start: position("2026-11-29 09:00:00").time, end: now.adding(seconds: -62), pageNo: 1)])
        // A full page: the next request starts at the last record's second, and skips it.
        effects = paging.pageArrived(keys: [key(1, "A"), key(2, "B"), key(5, "C")], total: 9)
        #expect(effects.first == .ingest([0, 1, 2], commit: key(5, "C"), crowded: nil))
        #expect(requests(effects).first?.start == key(5, "C")!.time)
        effects = paging.pageArrived(keys: [key(5, "C"), key(6, "D")], total: 2)
        #expect(effects.first == .ingest([1], commit: PortalPosition(time: now.adding(seconds: -62), id: ""), crowded: nil))
        // Then the recent part: ingested, nothing committed.
        let recent = requests(effects)
        #expect(recent.first?.start == now.adding(seconds: -62) && recent.first?.end == now.adding(seconds: 60))
        effects = paging.pageArrived(keys: [key(3600, "E")], total: 1)
        #expect(effects == [.ingest([0], commit: nil, crowded: nil), .stop(.caughtUp)])
        #expect(paging.caughtUp)
    }

    @Test func aCrowdedSecondIsReadWholeByOffsetAndCommittedOnceStable() {
        let clock = PortalClock.reading(portal: now, local: now)
        var paging = PortalPaging(settings: settings, position: position("2026-11-29 09:00:07", "B"), clock: clock)
        var effects = paging.start()
        effects = paging.pageArrived(keys: [key(7, "C"), key(7, "D"), key(7, "E")], total: 5)
        let second = key(7, "")!.time
        #expect(effects.first == .ingest([0, 1, 2], commit: nil, crowded: CrowdedSecond(second: second)), "stored at once, no position yet")
        #expect(requests(effects) == [.init(start: second, end: second.adding(seconds: 1), pageNo: 1)])
        effects = paging.pageArrived(keys: [key(7, "A"), key(7, "B"), key(7, "C")], total: 5)
        #expect(effects.first == .ingest([0, 1, 2], commit: nil, crowded: CrowdedSecond(second: second, nextPage: 2, total: 5, collected: 3)))
        #expect(requests(effects).first?.pageNo == 2)
        // The total changed during the pass: what was read is stored, the pass starts again.
        effects = paging.pageArrived(keys: [key(7, "D"), key(7, "E"), key(7, "F")], total: 6)
        #expect(effects.first == .ingest([0, 1, 2], commit: nil, crowded: CrowdedSecond(second: second)) && requests(effects).first?.pageNo == 1)
        effects = paging.pageArrived(keys: [key(7, "A"), key(7, "B"), key(7, "C")], total: 6)
        effects = paging.pageArrived(keys: [key(7, "D"), key(7, "E"), key(7, "F")], total: 6)
        #expect(effects.first == .ingest([0, 1, 2], commit: key(8, "")!, crowded: nil))
        #expect(paging.position == key(8, "")! && paging.crowded == nil)
    }

    @Test func aTotalThatNeverHoldsStillEndsTheCycleWithoutMovingThePosition() {
        let clock = PortalClock.reading(portal: now, local: now)
        let start = position("2026-11-29 09:00:07", "B")
        var paging = PortalPaging(settings: settings, position: start, clock: clock)
        var effects = paging.start()
        var total = 100
        var rounds = 0
        var committed: [PortalPosition] = []
        while !requests(effects).isEmpty, rounds < 10_000 {
            total += 1
            effects = paging.pageArrived(keys: [key(7, "C"), key(7, "D"), key(7, "E")], total: total)
            committed += commits(effects)
            rounds += 1
        }
        #expect(paging.stopReason == .unstable(key(7, "")!.time))
        #expect(paging.requests <= settings.pageBudget)
        #expect(paging.position == start && committed.isEmpty)
    }

    @Test func pagesThatAreFullForEverSpendTheBudgetAndNoMore() {
        let clock = PortalClock.reading(portal: now, local: now)
        let start = position("2026-11-29 09:00:07", "B")
        var paging = PortalPaging(settings: settings, position: start, clock: clock)
        var effects = paging.start()
        var rounds = 0
        while !requests(effects).isEmpty, rounds < 10_000 {
            effects = paging.pageArrived(keys: [key(7, "C"), key(7, "D"), key(7, "E")], total: 1_000_000)
            rounds += 1
        }
        #expect(paging.stopReason == .budgetSpent)
        #expect(paging.requests == settings.pageBudget)
        #expect(paging.position == start, "the position does not move past a second it could not read whole")
        #expect(paging.crowded?.nextPage == settings.pageBudget && paging.crowded?.total == 1_000_000)
    }

    @Test func aCrowdedSecondLongerThanACyclesBudgetGoesOnNextCycleWhereItStopped() {
        let clock = PortalClock.reading(portal: now, local: now)
        let start = position("2026-11-29 09:00:07", "B")
        let small = PortalPaging.Settings(pageSize: 3, lagSeconds: 62, pageBudget: 3)
        var first = PortalPaging(settings: small, position: start, clock: clock)
        var effects = first.start()
        effects = first.pageArrived(keys: [key(7, "C"), key(7, "D"), key(7, "E")], total: 8)
        effects = first.pageArrived(keys: [key(7, "A"), key(7, "B"), key(7, "C")], total: 8)
        effects = first.pageArrived(keys: [key(7, "D"), key(7, "E"), key(7, "F")], total: 8)
        #expect(first.stopReason == .budgetSpent)
        let saved = CrowdedSecond(second: key(7, "")!.time, nextPage: 3, total: 8, collected: 6)
        #expect(effects.first == .ingest([0, 1, 2], commit: nil, crowded: saved))
        // The next cycle: on from page 3.
        var second = PortalPaging(settings: small, position: start, crowded: CrowdedSecond(stored: saved.description), clock: clock)
        effects = second.start()
        #expect(requests(effects) == [.init(start: saved.second, end: saved.second.adding(seconds: 1), pageNo: 3)])
        effects = second.pageArrived(keys: [key(7, "G"), key(7, "H")], total: 8)
        #expect(effects.first == .ingest([0, 1], commit: key(8, "")!, crowded: nil))
        // Progress about another second than the position's is not resumed.
        var other = PortalPaging(settings: small, position: position("2026-11-29 09:00:09"), crowded: saved, clock: clock)
        #expect(requests(other.start()).first?.start == key(9, "")!.time && other.crowded == nil)
    }

    @Test func retriesSpendTheBudgetToo() {
        let clock = PortalClock.reading(portal: now, local: now)
        var paging = PortalPaging(settings: .init(pageSize: 3, lagSeconds: 62, pageBudget: 2), position: position("2026-11-29 09:00:00"), clock: clock)
        _ = paging.start()
        #expect(paging.requestFailed(retryable: true, delay: 1.5) == [.request(.init(start: position("2026-11-29 09:00:00").time, end: now.adding(seconds: -62), pageNo: 1), after: 1.5)])
        #expect(paging.requestFailed(retryable: true, delay: 1.5) == [.stop(.failed)], "the budget of 2 is spent")
        var other = PortalPaging(settings: settings, position: position("2026-11-29 09:00:00"), clock: clock)
        _ = other.start()
        #expect(other.requestFailed(retryable: false, delay: 0) == [.stop(.failed)])
    }

    @Test func anInvalidIdIsStoredAsTheStartOfItsSecond() {
        #expect(PortalPosition(time: now, id: "YY1\u{0}X").description == "\(now)|")
        #expect(PortalPosition(stored: "\(now)|YY1") == PortalPosition(time: now, id: "YY1"))
    }
}

@Suite struct CycleScheduleTests {
    @Test func aBacklogStartsTheNextCycleAtOnceElseAnIntervalAfterTheLastStart() {
        #expect(CycleSchedule.delayAfterCycle(started: 100, interval: 10, now: 103, moreWork: true) == 0)
        #expect(CycleSchedule.delayAfterCycle(started: 100, interval: 10, now: 103, moreWork: false) == 7)
        #expect(CycleSchedule.delayAfterCycle(started: 100, interval: 10, now: 130, moreWork: false) == 0)
    }

    @Test func theNextCycleComesOneIntervalAfterTheLastStartWhateverHappensBetween() {
        #expect(CycleSchedule.delayUntilNextCycle(lastStart: nil, interval: 10, now: 5) == 0)
        #expect(CycleSchedule.delayUntilNextCycle(lastStart: 100, interval: 10, now: 104) == 6)
        #expect(CycleSchedule.delayUntilNextCycle(lastStart: 100, interval: 10, now: 130) == 0)
        // A burst of reloads at 101, 102, 103 … changes nothing about when the cycle is due.
        for now in stride(from: 101.0, through: 109.0, by: 1) {
            #expect(CycleSchedule.delayUntilNextCycle(lastStart: 100, interval: 10, now: now) + now == 110)
        }
    }
}
