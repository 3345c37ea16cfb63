/// Keys remembered for a retention period (idempotency keys, request ids, nonces), forgotten
/// oldest first: pruning costs what it removes, not what is kept, so a stand-in that
/// remembers a million keys still answers each request in constant time.
struct ExpiringKeys<Value: Sendable>: Sendable {
    private(set) var values: [String: (value: Value, at: Double)] = [:]
    /// Insertion order; `head` is the oldest entry not yet pruned.
    private var order: [(key: String, at: Double)] = []
    private var head = 0

    var count: Int { values.count }

    subscript(key: String) -> (value: Value, at: Double)? { values[key] }

    mutating func insert(_ value: Value, for key: String, at time: Double) {
        values[key] = (value, time)
        order.append((key, time))
    }

    /// Forgets what was inserted before `cutoff`.
    mutating func prune(before cutoff: Double) {
        while head < order.count, order[head].at < cutoff {
            let entry = order[head]
            // A key inserted again later stays until its own time passes.
            if let current = values[entry.key], current.at == entry.at { values[entry.key] = nil }
            head += 1
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
