import Foundation
import Synchronization

/// Work on a thread of its own, for blocking calls (a libpq statement waiting for a lock) that
/// must not hold one of the few cooperative threads. Create connections inside `work`: they
/// are not `Sendable`.
final class Background<Value: Sendable>: Sendable {
    private let outcome = Mutex<Result<Value, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            let result = Result { try work() }
            outcome.withLock { $0 = result }
            done.signal()
        }
        thread.start()
    }

    var isFinished: Bool { outcome.withLock { $0 != nil } }

    /// The work's value, or its error; fails the wait after `timeout`.
    func value(timeout: Duration = .seconds(10)) throws -> Value {
        let (seconds, attoseconds) = timeout.components
        let deadline = DispatchTime.now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        guard done.wait(timeout: deadline) == .success else {
            throw BackgroundTimeout()
        }
        done.signal()  // later calls return at once
        return try outcome.withLock { $0! }.get()
    }
}

struct BackgroundTimeout: Error, CustomStringConvertible {
    var description: String { "the background work did not finish in time" }
}

/// Polls `condition` every 20 ms until it holds; false after `timeout`.
func eventually(timeout: Duration = .seconds(5), _ condition: () throws -> Bool) rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}

/// A value shared between a test and its background work.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
