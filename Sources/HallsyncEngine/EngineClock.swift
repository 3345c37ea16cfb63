import Foundation
import HallsyncDomain
import Synchronization

/// What time it is for the engine and how it waits: passed in, never read from `Date()` by a
/// phase, so that a test can move time on instead of sleeping (a feed left unread for six
/// days, a key older than its retention, personal data past its retention).
///
///     let engine = try SyncEngine(configuration: c, logger: logger)                       // the system's clock
///     let clock = SkippingClock()
///     let engine = try SyncEngine(configuration: c, logger: logger, clock: clock)        // a test's
///     clock.advance(6 * 86_400)                                                          // six days on, at once
public protocol EngineClock: Sendable {
    /// Unix seconds.
    var now: Double { get }
    /// Waits `seconds` (or until `stop` is set); returns whether `stop` is set.
    func sleep(_ seconds: Double, stop: StopSignal) -> Bool
}

extension EngineClock {
    /// The time now, in Beijing time.
    public var beijing: BeijingTime { BeijingTime(Date(timeIntervalSince1970: now)) }
}

/// The system's clock.
public struct SystemClock: EngineClock {
    public init() {}
    public var now: Double { Date().timeIntervalSince1970 }
    public func sleep(_ seconds: Double, stop: StopSignal) -> Bool { stop.sleep(seconds) }
}

/// The system's clock moved on by as much as a test asks, and by every sleep asked of it (which
/// returns at once): for tests of what the engine does as time passes — next to peers that keep
/// real time — without waiting for it.
public final class SkippingClock: EngineClock {
    private let skipped = Mutex<Double>(0)

    public init() {}

    public var now: Double { Date().timeIntervalSince1970 + skipped.withLock { $0 } }

    public func advance(_ seconds: Double) { skipped.withLock { $0 += seconds } }

    public func sleep(_ seconds: Double, stop: StopSignal) -> Bool {
        advance(seconds)
        return stop.isSet
    }
}
