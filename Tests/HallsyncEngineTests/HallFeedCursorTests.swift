import Testing
@testable import HallsyncEngine
@testable import HallsyncMachines

@Suite struct HallFeedCursorTests {
    @Test func readsTheStoredFormsIncludingTheOneBeforeFeedsWereReadOnWhileReconciling() {
        #expect(HallFeedCursor(feed: "seq:1042", reconcile: nil) == HallFeedCursor(seq: 1042))
        #expect(HallFeedCursor(feed: nil, reconcile: nil) == HallFeedCursor(seq: 0))
        #expect(HallFeedCursor(feed: "seq:7", reconcile: "YY5") == HallFeedCursor(seq: 7, reconcileAfter: "YY5"))
        #expect(HallFeedCursor(feed: "reconcile:YY5", reconcile: nil) == HallFeedCursor(seq: 0, reconcileAfter: "YY5"))
        #expect(HallFeedCursor(feed: "reconcile:", reconcile: nil) == .expired)
        #expect(HallFeedCursor(seq: 7, reconcileAfter: "").description == "seq:7, reconciling after the start")
    }
}

@Suite struct ReconcileRoundTests {
    @Test func progressCoversOnlyTheLongestAnsweredPrefixWhateverTheOrderOfAnswers() {
        var round = ReconcileRound(ids: ["A", "B", "C", "D"])
        #expect(round.progress == nil)
        round.answered("C")
        round.answered("B")
        #expect(round.progress == nil, "A is not answered yet")
        round.answered("A")
        #expect(round.progress == "C")
        round.failed("D")
        #expect(round.progress == "C" && round.failures == 1 && !round.allAnswered)
        round.answered("D")
        #expect(round.progress == "D" && round.allAnswered)
    }

    @Test func aFailureAtTheStartHoldsTheProgressBack() {
        var round = ReconcileRound(ids: ["A", "B"])
        round.failed("A")
        round.answered("B")
        #expect(round.progress == nil)
    }
}

/// The feed reader's decisions, effect by effect: no socket, no store.
@Suite struct HallFeedReadingTests {
    @Test func fullPagesAreReadOnUntilAShortOneAndThePositionMovesWithEach() {
        var reading = HallFeedReading(seq: 1041, pageSize: 500, pageBudget: 10)
        #expect(reading.start() == .read(after: 1041))
        #expect(reading.pageArrived(changes: 500, lastSeq: 1600) == [.apply(seq: 1600), .read(after: 1600)])
        #expect(reading.pageArrived(changes: 3, lastSeq: 1607) == [.apply(seq: 1607), .stop(.caughtUp)])
    }

    @Test func thePositionNeverMovesBackOnAPagesWord() {
        var reading = HallFeedReading(seq: 900, pageSize: 500, pageBudget: 10)
        _ = reading.start()
        #expect(reading.pageArrived(changes: 0, lastSeq: 900) == [.apply(seq: 900), .stop(.caughtUp)])
        var lower = HallFeedReading(seq: 900, pageSize: 500, pageBudget: 10)
        _ = lower.start()
        #expect(lower.pageArrived(changes: 0, lastSeq: 10) == [.apply(seq: 900), .stop(.caughtUp)])
    }

    @Test(arguments: [(HallFeedReading.Failure.feedExpired, false), (.feedRewound, true)])
    func changesLostToUsStartOverFromTheOldestAndCostAPage(_ failure: HallFeedReading.Failure, _ rewound: Bool) {
        var reading = HallFeedReading(seq: 5000, pageSize: 500, pageBudget: 2)
        _ = reading.start()
        #expect(reading.failed(failure) == [.startOver(rewound: rewound), .read(after: 0)])
        #expect(reading.failed(failure) == [.startOver(rewound: rewound), .stop(.budgetSpent)], "a hall that answers 410 for ever cannot keep a cycle going")
    }

    @Test func anyOtherFailureEndsTheReadingForThisCycle() {
        var reading = HallFeedReading(seq: 7, pageSize: 500, pageBudget: 5)
        _ = reading.start()
        #expect(reading.failed(.other) == [.stop(.failed)])
    }

    @Test func theBudgetBoundsFullPagesForEver() {
        var reading = HallFeedReading(seq: 0, pageSize: 2, pageBudget: 3)
        var reads = [reading.start()]
        var seq: Int64 = 0
        while case .read = reads.last! {
            seq += 2
            reads.append(contentsOf: reading.pageArrived(changes: 2, lastSeq: seq).filter { if case .apply = $0 { false } else { true } })
        }
        #expect(reads.filter { if case .read = $0 { true } else { false } }.count == 3)
        #expect(reads.last == .stop(.budgetSpent))
    }

    @Test func aRoundFinishesTheReconciliationOnlyWhenEverythingWasAnsweredAndTheRoundWasNotFull() {
        var round = ReconcileRound(ids: ["A", "B"])
        round.answered("A"); round.answered("B")
        #expect(round.conclusion(limit: 3) == .finished)
        #expect(round.conclusion(limit: 2) == .progress("B"), "a full round: there may be more after it")
        var failed = ReconcileRound(ids: ["A", "B"])
        failed.failed("A"); failed.answered("B")
        #expect(failed.conclusion(limit: 3) == .unchanged)
        #expect(ReconcileRound(ids: []).conclusion(limit: 3) == .finished)
    }
}
