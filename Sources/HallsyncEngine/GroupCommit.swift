import HallsyncStore
import Synchronization

/// Commits the answers of concurrent sends together: a worker hands in its answer and goes on
/// sending; whichever worker finds no commit under way commits everything handed in so far, in
/// one transaction, and again until nothing is left. Under load, one transaction settles many
/// answers (one WAL write, one fsync-free commit); alone, an answer is committed at once.
///
/// An answer handed in is not durable until its batch commits: a crash in between leaves the
/// send pending with its attempt marked, and it goes again under the same idempotency key —
/// exactly what a crash between the peer's answer and any commit would do.
final class GroupCommit<Item: Sendable>: Sendable {
    private struct State: Sendable {
        var waiting: [Item] = []
        var committing = false
        var failure: StoreError?
    }

    private let state = Mutex(State())
    private let apply: @Sendable ([Item]) throws(StoreError) -> Void

    /// - Parameter apply: commits one batch (one transaction), in the order handed in.
    init(apply: @escaping @Sendable ([Item]) throws(StoreError) -> Void) {
        self.apply = apply
    }

    /// The first store failure, after which nothing more is committed.
    var failure: StoreError? { state.withLock { $0.failure } }

    /// Hands in one item; commits it (and what others handed in) unless a commit is under way,
    /// whose committer then takes it.
    func submit(_ item: Item) {
        var batch: [Item] = state.withLock { s in
            s.waiting.append(item)
            guard !s.committing, s.failure == nil else { return [] }
            s.committing = true
            defer { s.waiting.removeAll(keepingCapacity: true) }
            return s.waiting
        }
        while !batch.isEmpty {
            var failed: StoreError?
            do throws(StoreError) { try apply(batch) } catch { failed = error }
            batch = state.withLock { s in
                if let failed { s.failure = s.failure ?? failed }
                guard s.failure == nil, !s.waiting.isEmpty else {
                    s.committing = false
                    return []
                }
                defer { s.waiting.removeAll(keepingCapacity: true) }
                return s.waiting
            }
        }
    }
}
