import Foundation
import HallsyncStore
import Synchronization

/// The sends a cycle may still make, shared by every peer's worker slots.
final class SendBudget: Sendable {
    private let remaining: Atomic<Int>

    init(_ sends: Int) { remaining = Atomic(sends) }

    /// Takes one send's worth; false when the budget is spent.
    func take() -> Bool { remaining.wrappingSubtract(1, ordering: .relaxed).newValue >= 0 }

    var left: Int { remaining.load(ordering: .relaxed) }
}

/// One peer's due sends during a delivery run, taken from the outbox in batches as the worker
/// slots ask for them. Taking a batch marks its sends attempted in the same transaction, so the
/// mark is durable before any request leaves. A send stays "in flight" until its answer is
/// committed: a refill skips it although the outbox still shows it pending.
final class DueSends: Sendable {
    let target: SendTarget
    let store: Store

    private struct State: Sendable {
        var queue: [OutboxEntry] = []
        var next = 0
        /// Taken and not yet settled (queued, being sent, or answered and waiting for the commit).
        var inFlight: Set<Int64> = []
        /// How many times the outbox was read for this peer.
        var looks = 0
    }

    private let state = Mutex(State())
    /// Refills are one at a time; a worker waiting for one takes from what it brought. A plain
    /// pthread mutex: the workers waiting for a refill (a write transaction) sleep at once, where
    /// `Synchronization.Mutex` would have them spin first — 2 % of a backlog's CPU.
    private let refilling = NSLock()

    /// Every peer's sends of the run not yet settled: what this peer takes is counted there.
    let unsettled: UnsettledSends

    let clock: any EngineClock

    init(target: SendTarget, store: Store, unsettled: UnsettledSends, clock: any EngineClock = SystemClock()) {
        self.clock = clock
        self.target = target
        self.store = store
        self.unsettled = unsettled
    }

    /// The next send to make, refilling from the outbox when the batch is used up; nil when
    /// nothing is due or the cycle's budget is spent (one unit taken per send).
    func next(budget: SendBudget, batch: Int) throws(StoreError) -> OutboxEntry? {
        while budget.left > 0 {
            let looked = state.withLock { $0.looks }
            if let entry = take(budget: budget) { return entry }
            guard try refill(budget: budget, batch: batch, unlessLookedSince: looked) else { return take(budget: budget) }
        }
        return nil
    }

    private func take(budget: SendBudget) -> OutboxEntry? {
        state.withLock { s in
            guard s.next < s.queue.count else { return nil }
            guard budget.take() else { return nil }
            defer { s.next += 1 }
            return s.queue[s.next]
        }
    }

    /// Takes the next due sends of this peer; false when none was due.
    ///
    /// - Parameter looked: the outbox looks counted when the worker found its queue empty; when
    ///   another worker has looked since, what was due is in the queue already (or was not
    ///   there), and the outbox is not read again for nothing.
    @discardableResult
    func refill(budget: SendBudget, batch: Int, unlessLookedSince looked: Int? = nil) throws(StoreError) -> Bool {
        refilling.lock()
        defer { refilling.unlock() }
        let (pending, inFlight, looks) = state.withLock { s in (s.queue.count - s.next, s.inFlight, s.looks) }
        if pending > 0 { return true }   // another worker refilled meanwhile
        if let looked, looks != looked { return false }
        guard budget.left > 0 else { return false }
        let now = clock.now
        // No more than the budget may still send: a send taken and not made keeps its attempt mark.
        // (The budget is shared: other peers' workers may have spent it since the guard.)
        let size = max(1, min(batch, budget.left))
        let taken: [OutboxEntry] = try store.write { tx in
            // The ones in flight come first in the outbox's order: skip them.
            let due = try tx.dueSends(target: target, now: now, limit: size + inFlight.count)
                .filter { !inFlight.contains($0.id ?? -1) }.prefix(size)
            try tx.markAttempted(ids: due.compactMap(\.id), now: now)
            return Array(due)
        }
        FreezeForTests.tookBatch(taken)
        state.withLock { s in
            s.looks += 1
            s.queue = taken
            s.next = 0
            for entry in taken { if let id = entry.id { s.inFlight.insert(id) } }
        }
        unsettled.took(taken.count)
        return !taken.isEmpty
    }

    /// The answer to `entry` is committed: a later refill may take what the ledger planned after it.
    /// Returns whether it was one of this run's.
    @discardableResult
    func finished(_ entry: OutboxEntry) -> Bool {
        guard let id = entry.id else { return false }
        return state.withLock { $0.inFlight.remove(id) } != nil
    }

    /// After the run: sends taken but never attempted keep their attempt mark (harmless: the same
    /// key goes next time) and are due at once.
    func release() throws(StoreError) {
        let unsent = state.withLock { s -> [Int64] in
            defer { s.queue.removeAll(); s.next = 0 }
            return s.queue[s.next...].compactMap(\.id)
        }
        guard !unsent.isEmpty else { return }
        let now = clock.now
        try store.write { tx in try tx.makeDue(ids: unsent, at: now) }
    }
}
