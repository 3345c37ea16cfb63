import Foundation
import HallsyncStore
import Testing
@testable import HallsyncEngine
@testable import HallsyncMachines

/// A worker with nothing due waits for the other peers' answers, looks at the outbox again only
/// when one planned a send for its peer, and goes when nothing more can come.
@Suite struct UnsettledSendsTests {
    @Test func nothingUnsettledAndNothingPlannedSinceMeansTheWorkerMayGo() {
        let unsettled = UnsettledSends()
        let start = Date()
        #expect(unsettled.wait(for: .hall(.licensing), after: unsettled.mark(for: .hall(.licensing)), timeout: 5) == .done)
        #expect(Date().timeIntervalSince(start) < 4, "it did not wait for the timeout")
    }

    @Test func anAnswerThatPlannedForThisPeerIsWorthALookEvenWhenNothingIsLeft() {
        let unsettled = UnsettledSends()
        unsettled.took(1)
        let mark = unsettled.mark(for: .hall(.licensing))
        unsettled.settled(1, planned: [.hall(.licensing)])
        #expect(unsettled.wait(for: .hall(.licensing), after: mark, timeout: 5) == .lookAgain)
        // Having looked again, nothing is left: go.
        #expect(unsettled.wait(for: .hall(.licensing), after: unsettled.mark(for: .hall(.licensing)), timeout: 5) == .done)
    }

    @Test func anAnswerThatPlannedForAnotherPeerDoesNotSendThisOneToTheOutbox() {
        let unsettled = UnsettledSends()
        unsettled.took(2)
        let mark = unsettled.mark(for: .hall(.licensing))
        unsettled.settled(1, planned: [.portal])
        #expect(unsettled.wait(for: .hall(.licensing), after: mark, timeout: 0.05) == .keepWaiting)
        unsettled.settled(1, planned: [])
        #expect(unsettled.wait(for: .hall(.licensing), after: mark, timeout: 5) == .done)
        #expect(unsettled.wait(for: .portal, after: 0, timeout: 5) == .lookAgain)
    }

    @Test func aWaitingWorkerWakesWhenAnotherPeersAnswerPlansForIt() {
        let unsettled = UnsettledSends()
        unsettled.took(2)
        let mark = unsettled.mark(for: .portal)
        let start = Date()
        let other = Thread {
            Thread.sleep(forTimeInterval: 0.1)
            unsettled.settled(1, planned: [.portal])
        }
        other.start()
        #expect(unsettled.wait(for: .portal, after: mark, timeout: 10) == .lookAgain)
        let waited = Date().timeIntervalSince(start)
        #expect(waited >= 0.09 && waited < 9, "woken by the settlement, not the timeout: \(waited) s")
    }
}
