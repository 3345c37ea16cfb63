import Foundation
import Synchronization

/// Set once when the daemon must stop; phases check it between requests.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .acquiring) }
    public func set() { flag.store(true, ordering: .releasing) }

    /// Sleeps up to `seconds`, waking early when the signal is set; returns whether it is set.
    @discardableResult
    public func sleep(_ seconds: Double) -> Bool {
        let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while !isSet, ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.05) }
        return isSet
    }
}
