import HallsyncDomain
import HallsyncStore
import HallsyncTransport
import Synchronization
import Testing
@testable import HallsyncEngine
@testable import HallsyncMachines

@Suite struct SendSettlementTests {
    let policy = RetryPolicy(base: 1, cap: 300)

    func outcome(_ result: SendSettlement<TransportError>.Result, _ kind: OutboxEntry.Kind = .create, attempts: Int = 1, jitter: Double = 0) -> Ledger.SendOutcome {
        SendSettlement<TransportError>.outcome(of: result, kind: kind, attempts: attempts, policy: policy, jitter: jitter)
    }

    @Test func answersBecomeWhatTheLedgerRecords() {
        guard case .itemPresent("ZH1", []) = outcome(.itemPresent(itemNo: "ZH1")) else { Issue.record("create"); return }
        guard case .updated = outcome(.updated, .update) else { Issue.record("update"); return }
        guard case .closed(.handled, .sync) = outcome(.acted(.handled, origin: .sync), .action) else { Issue.record("action"); return }
        guard case .closed(.consulted, nil) = outcome(.alreadyClosed(.consulted), .action) else { Issue.record("closed"); return }
        guard case .pushed(.received) = outcome(.pushed(.received), .push) else { Issue.record("push"); return }
    }

    @Test func aStaleRevisionIsSupersededNotAFailure() {
        let stale = TransportError(code: .staleRevision, message: "a newer revision is there", isRetryable: false, status: 409)
        guard case .superseded = outcome(.failed(stale), .update) else { Issue.record("stale"); return }
        #expect(SendSettlement<TransportError>.effect(of: .superseded, kind: .update) == .delivered)
    }

    @Test func passingFaultsAreRetriedWithBackoffAndTheServersRetryAfter() {
        let busy = TransportError(code: .hall("UNAVAILABLE"), message: "503", isRetryable: true, status: 503)
        // Attempt 3, no jitter: the lower half of a 4 s ceiling.
        guard case .retry(_, let delay) = outcome(.failed(busy), attempts: 3, jitter: 0) else { Issue.record("retry"); return }
        #expect(delay == 2)
        let slowDown = TransportError(code: .hall("TOO_MANY_REQUESTS"), message: "429", isRetryable: true, retryAfter: 60, status: 429)
        guard case .retry(_, let wait) = outcome(.failed(slowDown), attempts: 1) else { Issue.record("429"); return }
        #expect(wait == 60)
        #expect(SendSettlement<TransportError>.effect(of: outcome(.failed(busy)), kind: .create) == .retried(needsOperator: false))
    }

    @Test func anEndpointsFaultWaitsForAnOperatorWithoutBlamingTheRecord() {
        let token = TransportError(code: .hall("UNAUTHORIZED"), message: "unknown token", isRetryable: false, retryAfter: 5, status: 401, needsOperator: true)
        guard case .retry(_, let delay) = outcome(.failed(token), attempts: 1, jitter: 0) else { Issue.record("kept"); return }
        // A Retry-After of a misconfigured endpoint does not count; the backoff does.
        #expect(delay == 0.5)
        #expect(SendSettlement<TransportError>.effect(of: outcome(.failed(token)), kind: .create) == .retried(needsOperator: true))
    }

    @Test func theRecordsFaultIsRefusedAndThePeerCountsAsAnswering() {
        let invalid = TransportError(code: .hall("INVALID_FIELD"), message: "idNumber", isRetryable: false, status: 422)
        guard case .refused = outcome(.failed(invalid)) else { Issue.record("refused"); return }
        #expect(SendSettlement<TransportError>.effect(of: outcome(.failed(invalid)), kind: .create) == .refused(answered: true))
    }

    @Test func anUpdateThatFindsItsItemClosedIsAnsweredButNotApplied() {
        #expect(SendSettlement<TransportError>.effect(of: outcome(.alreadyClosed(.handled), .update), kind: .update) == .refusedAnswered)
        #expect(SendSettlement<TransportError>.effect(of: outcome(.alreadyClosed(.handled), .action), kind: .action) == .delivered)
    }
}

@Suite struct GroupCommitTests {
    final class Log: Sendable {
        let batches = Mutex<[[Int]]>([])
    }

    @Test func everyItemIsCommittedOnceInOrderWhateverTheConcurrency() async {
        let log = Log()
        let commits = GroupCommit<Int> { batch throws(StoreError) in
            log.batches.withLock { $0.append(batch) }
        }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask { for i in 0..<500 { commits.submit(worker * 1000 + i) } }
            }
        }
        let batches = log.batches.withLock { $0 }
        let all = batches.flatMap { $0 }
        #expect(all.count == 4000 && Set(all).count == 4000)
        // Each worker's items keep their order.
        for worker in 0..<8 {
            let mine = all.filter { $0 / 1000 == worker }
            #expect(mine == mine.sorted())
        }
        #expect(commits.failure == nil)
    }

    @Test func aFailedCommitStopsTheRestAndIsReported() {
        let log = Log()
        let commits = GroupCommit<Int> { batch throws(StoreError) in
            if batch.contains(2) { throw StoreError(code: .write, message: "disk full") }
            log.batches.withLock { $0.append(batch) }
        }
        for i in 0..<5 { commits.submit(i) }
        #expect(commits.failure?.code == .write)
        #expect(log.batches.withLock { $0 }.flatMap { $0 } == [0, 1])
    }
}
