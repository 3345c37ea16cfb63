/// Failed logins allowed per account name and per client address within a minute; past that,
/// the login is refused without checking the password until the minute has passed. Pure: the
/// caller keeps it (behind a lock) and passes the time.
///
///     var throttle = LoginThrottle(limit: 5, window: 60)
///     throttle.allows(keys: ["zhang", "10.0.0.7"], now: t)      // true
///     throttle.failed(keys: ["zhang", "10.0.0.7"], now: t)      // five times…
///     throttle.allows(keys: ["zhang", "10.0.0.7"], now: t + 1)  // false, until t + 60
public struct LoginThrottle: Sendable {
    public let limit: Int
    public let window: Double
    private var failures: [String: [Double]] = [:]

    public init(limit: Int, window: Double = 60) {
        self.limit = limit
        self.window = window
    }

    public func allows(keys: [String], now: Double) -> Bool {
        keys.allSatisfy { key in (failures[key] ?? []).filter { now - $0 < window }.count < limit }
    }

    public mutating func failed(keys: [String], now: Double) {
        for key in keys { failures[key, default: []].append(now) }
        // Forget what is past the window, so the table cannot grow without bound.
        if failures.count > 10_000 { failures = failures.filter { $0.value.contains { now - $0 < window } } }
        for key in keys { failures[key] = failures[key]?.filter { now - $0 < window } }
    }

    /// A successful login clears the account's count (not the address's).
    public mutating func succeeded(account: String) {
        failures[account] = nil
    }

    /// Seconds until a refused key may try again.
    public func retryAfter(keys: [String], now: Double) -> Double {
        keys.compactMap { key -> Double? in
            let recent = (failures[key] ?? []).filter { now - $0 < window }.sorted()
            guard recent.count >= limit else { return nil }
            return recent[recent.count - limit] + window - now
        }.max() ?? 0
    }
}
