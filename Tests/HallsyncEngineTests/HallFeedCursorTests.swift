import Testing
@testable import HallsyncEngine

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
