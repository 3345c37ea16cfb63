import Synchronization

/// Items shared by several workers, each taken once.
final class WorkQueue<Item: Sendable>: Sendable {
    private let items: Mutex<(list: [Item], next: Int)>
    let count: Int

    init(_ items: [Item]) {
        self.items = Mutex((items, 0))
        self.count = items.count
    }

    func next() -> Item? {
        items.withLock { state in
            guard state.next < state.list.count else { return nil }
            defer { state.next += 1 }
            return state.list[state.next]
        }
    }
}
