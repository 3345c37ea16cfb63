/// A value for every hall, by construction: what differs between the halls in configuration,
/// counts or columns is a table keyed by ``HallTarget`` rather than a property per hall, so a hall
/// added to the enum is configured, counted and shown wherever such a table is — and a table
/// cannot be built without a value for it.
///
///     let halls = PerHall { target in Configuration.Hall(baseURL: …, tokenFile: …) }
///     halls[.licensing].baseURL
///     for (target, hall) in halls { … }          // in `HallTarget.allCases` order
public struct PerHall<Value> {
    private var values: [Value]

    /// Asks `make` for each hall's value, in `HallTarget.allCases` order.
    public init(_ make: (HallTarget) throws -> Value) rethrows {
        values = try HallTarget.allCases.map(make)
    }

    public subscript(target: HallTarget) -> Value {
        get { values[Self.index(target)] }
        set { values[Self.index(target)] = newValue }
    }

    /// The same table with each value transformed.
    public func map<T>(_ transform: (HallTarget, Value) throws -> T) rethrows -> PerHall<T> {
        try PerHall<T> { try transform($0, self[$0]) }
    }

    static func index(_ target: HallTarget) -> Int {
        // `allCases` is the enum's declaration order: the index of a case never fails.
        HallTarget.allCases.firstIndex(of: target)!
    }
}

extension PerHall: Sequence {
    public func makeIterator() -> AnyIterator<(target: HallTarget, value: Value)> {
        var index = 0
        return AnyIterator {
            guard index < HallTarget.allCases.count else { return nil }
            defer { index += 1 }
            return (HallTarget.allCases[index], values[index])
        }
    }
}

extension PerHall: Sendable where Value: Sendable {}
extension PerHall: Equatable where Value: Equatable {}
extension PerHall: Hashable where Value: Hashable {}
