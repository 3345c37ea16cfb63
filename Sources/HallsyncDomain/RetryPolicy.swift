/// Capped exponential backoff with jitter, honouring a server's `Retry-After`.
///
///     let policy = RetryPolicy(base: 1, cap: 300)
///     policy.delay(afterAttempt: 3, retryAfter: nil, jitter: 0.5)   // 2.0 … 4.0 s
public struct RetryPolicy: Hashable, Sendable {
    /// Delay after the first failed attempt, seconds.
    public var base: Double
    /// Longest delay, seconds.
    public var cap: Double

    public init(base: Double, cap: Double) {
        self.base = base
        self.cap = cap
    }

    /// The delay before the next attempt. `jitter` in 0...1 picks a point in the upper half
    /// of the backoff interval ("equal jitter"), so retries of many sends spread out.
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, jitter: Double) -> Double {
        let ceiling = min(cap, base * Double(1 << max(0, min(attempt - 1, 30))))
        let backoff = ceiling / 2 + ceiling / 2 * min(max(jitter, 0), 1)
        // The server's wish wins when it asks for longer, even beyond the cap.
        return max(backoff, retryAfter ?? 0)
    }
}
