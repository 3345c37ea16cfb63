import Foundation
import HallsyncDomain
import Synchronization

/// One workload of `hallsync bench`: what waits at the portal when the daemon starts, what
/// arrives while it runs, and how the halls answer. Faults are off: the benchmark measures the
/// daemon's work, not its patience.
public struct BenchScenario: Codable, Sendable, Hashable {
    public var name: String
    /// Reservations waiting at the portal when the daemon starts (published over the past hours).
    public var backlog: Int = 0
    /// New reservations per second while the scenario runs, for `duration` seconds.
    public var rate: Double = 0
    public var duration: Double = 0
    /// The portal's visibility lag, seconds.
    public var lag: Double = 2
    /// Every hall request answered after this many seconds.
    public var hallDelay: Double = 0
    /// The daemon's cycle interval.
    public var interval: Double = 2
    /// While arriving: the share of steps that reschedule an earlier reservation, and the
    /// applicants' cancellations and the staff's actions per new reservation.
    public var rescheduleRate: Double = 0
    public var cancellationsPerReservation: Double = 0
    public var staffActionsPerReservation: Double = 0
    public var seed: UInt64 = 20210911

    public init(name: String) { self.name = name }

    /// Reservations the scenario makes in all.
    public var total: Int { backlog + Int((rate * duration).rounded()) }

    /// Whether the end is judged by the full verification (statuses, outcomes, cancellations)
    /// rather than by every routed inbox holding its item and RECEIVED pushed.
    public var verifiesEverything: Bool { cancellationsPerReservation > 0 || staffActionsPerReservation > 0 }

    /// The scenarios of the issue, with their defaults; `backlog` and `rate` may be overridden.
    public static func named(_ name: String) -> BenchScenario? {
        var s = BenchScenario(name: name)
        switch name {
        case "backlog":
            s.backlog = 100_000
        case "slow-halls":
            s.backlog = 10_000
            s.hallDelay = 0.1
        case "steady":
            s.rate = 50
            s.duration = 60
            s.interval = 1
        case "huge":
            s.backlog = 1_000_000
        case "mixed":
            // The first measurement's workload: 3,000 reservations over 30 s, a 2 s cycle.
            s.rate = 100
            s.duration = 30
            s.rescheduleRate = 0.1
            s.cancellationsPerReservation = 0.03
            s.staffActionsPerReservation = 0.3
        default:
            return nil
        }
        return s
    }

    public static let names = ["backlog", "slow-halls", "steady", "huge", "mixed"]
}

/// What the stand-ins saw of one scenario: when each reservation was published, when its
/// items were created and when its RECEIVED was accepted. Fed by the stand-ins' events.
public final class BenchTracker: Sendable {
    struct Entry: Sendable {
        var required: Set<HallTarget>?
        var publishedAt: Double = 0
        var created: [HallTarget: Double] = [:]
        var receivedAt: Double?
        var done = false
    }

    struct State: Sendable {
        var entries: [String: Entry] = [:]
        var required = 0
        var completed = 0
        var lastCompletion: Double = 0
        /// Seconds from publication to the last routed inbox, per completed reservation, with its publication time.
        var inboxLatencies: [(publishedAt: Double, seconds: Double)] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// A reservation that must reach `targets` and have RECEIVED pushed; published at `at`.
    public func expect(_ id: String, targets: Set<HallTarget>, publishedAt at: Double) {
        state.withLock { s in
            s.required += 1
            s.entries[id, default: Entry()].required = targets
            s.entries[id]!.publishedAt = at
            Self.settle(id, &s)
        }
    }

    public func created(_ id: String, in target: HallTarget, at: Double) {
        state.withLock { s in
            if s.entries[id]?.created[target] == nil { s.entries[id, default: Entry()].created[target] = at }
            Self.settle(id, &s)
        }
    }

    public func received(_ id: String, at: Double) {
        state.withLock { s in
            if s.entries[id]?.receivedAt == nil { s.entries[id, default: Entry()].receivedAt = at }
            Self.settle(id, &s)
        }
    }

    static func settle(_ id: String, _ s: inout State) {
        guard let entry = s.entries[id], !entry.done, let targets = entry.required, let received = entry.receivedAt,
              targets.allSatisfy({ entry.created[$0] != nil }) else { return }
        s.entries[id]!.done = true
        s.completed += 1
        let inbox = targets.compactMap { entry.created[$0] }.max() ?? received
        s.lastCompletion = max(s.lastCompletion, max(inbox, received))
        s.inboxLatencies.append((entry.publishedAt, inbox - entry.publishedAt))
    }

    public var progress: (completed: Int, required: Int) { state.withLock { ($0.completed, $0.required) } }
    public var lastCompletion: Double { state.withLock { $0.lastCompletion } }

    /// Publication-to-inbox latencies of the reservations published at or after `from`, sorted.
    public func latencies(publishedFrom from: Double) -> [Double] {
        state.withLock { $0.inboxLatencies.filter { $0.publishedAt >= from }.map(\.seconds) }.sorted()
    }
}

extension Array where Element == Double {
    /// The value below which `fraction` of the sorted values lie (nearest rank).
    public func percentile(_ fraction: Double) -> Double? {
        guard !isEmpty else { return nil }
        let rank = Int((fraction * Double(count)).rounded(.up)) - 1
        return self[Swift.min(Swift.max(rank, 0), count - 1)]
    }
}
