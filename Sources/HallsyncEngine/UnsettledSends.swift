import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HallsyncStore
import Synchronization

/// The sends of one delivery run taken and not yet settled, across every peer, and which peers
/// their answers planned new sends for. An answer of one peer plans sends for another (the
/// licensing create once the intake item exists, the RECEIVED once both exist): a worker with
/// nothing due waits while such an answer may still come, instead of leaving the new send to
/// the next cycle — an interval later — and looks at the outbox again only when a committed
/// answer planned something for its peer.
final class UnsettledSends: @unchecked Sendable {
    // One mutex, one condition per peer: a commit wakes only the workers of the peers it
    // planned for (waking every worker on every commit cost more than the sends themselves).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let conditions: [SendTarget: UnsafeMutablePointer<pthread_cond_t>]
    private var count = 0
    private var planned: [SendTarget: Int] = [:]

    init() {
        pthread_mutex_init(mutex, nil)
        var conditions: [SendTarget: UnsafeMutablePointer<pthread_cond_t>] = [:]
        for target in SendTarget.allCases {
            let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
            pthread_cond_init(condition, nil)
            conditions[target] = condition
        }
        self.conditions = conditions
    }

    deinit {
        for condition in conditions.values {
            pthread_cond_destroy(condition)
            condition.deallocate()
        }
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// What a worker of `target` waits for next.
    enum Wait: Equatable {
        /// An answer committed since `mark` planned a send for this peer: look at the outbox.
        case lookAgain
        /// Sends of the run are still unanswered; nothing planned for this peer yet.
        case keepWaiting
        /// Nothing is unsettled and nothing was planned for this peer since `mark`: the worker may go.
        case done
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// How many committed batches planned sends for `target` so far: read before looking at the outbox.
    func mark(for target: SendTarget) -> Int { locked { planned[target, default: 0] } }

    func took(_ sends: Int) {
        guard sends > 0 else { return }
        locked { count += sends }
    }

    /// Answers committed: `sends` settled, their ledger planned new sends for `targets`.
    func settled(_ sends: Int, planned targets: Set<SendTarget>) {
        guard sends > 0 || !targets.isEmpty else { return }
        locked {
            count -= sends
            for target in targets {
                planned[target, default: 0] += 1
                pthread_cond_broadcast(conditions[target]!)
            }
            // Nothing more can be planned: every waiting worker may go.
            if count <= 0 { for condition in conditions.values { pthread_cond_broadcast(condition) } }
        }
    }

    /// Waits at most `timeout` seconds for something planned for `target` after `mark`.
    func wait(for target: SendTarget, after mark: Int, timeout: Double) -> Wait {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nanoseconds = Int(now.tv_nsec) + Int(timeout * 1e9)
        var deadline = timespec(tv_sec: now.tv_sec + nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        return locked {
            while planned[target, default: 0] == mark, count > 0 {
                if pthread_cond_timedwait(conditions[target]!, mutex, &deadline) == ETIMEDOUT { break }
            }
            if planned[target, default: 0] != mark { return .lookAgain }
            return count > 0 ? .keepWaiting : .done
        }
    }
}

/// The peers a ledger's planning enqueued sends for, while one batch of answers is applied.
final class PlannedTargets: Sendable {
    private let targets = Mutex<Set<SendTarget>>([])

    func insert(_ target: SendTarget) { targets.withLock { _ = $0.insert(target) } }

    var all: Set<SendTarget> { targets.withLock { $0 } }
}
