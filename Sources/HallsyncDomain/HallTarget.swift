/// One of the two hall systems whose inboxes hallsync fills.
public enum HallTarget: String, Codable, CaseIterable, Sendable, Comparable, CustomStringConvertible {
    /// 综合受理 — comprehensive intake.
    case intake
    /// 行政许可 — administrative licensing.
    case licensing

    public var description: String { rawValue }

    public static func < (lhs: HallTarget, rhs: HallTarget) -> Bool {
        lhs == .intake && rhs == .licensing
    }
}
