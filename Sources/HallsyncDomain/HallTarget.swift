/// One of the hall systems whose inboxes hallsync fills: everything that differs between them is
/// here, in exhaustive switches, so that a hall added to the enum fails to compile wherever it
/// has not been described yet instead of being taken for another.
public enum HallTarget: String, Codable, CaseIterable, Sendable, Comparable, CustomStringConvertible {
    /// 综合受理 — comprehensive intake.
    case intake
    /// 行政许可 — administrative licensing.
    case licensing

    public var description: String { rawValue }

    /// The hall's name as staff know it.
    public var chineseName: String {
        switch self {
        case .intake: return "综合受理"
        case .licensing: return "行政许可"
        }
    }

    /// In the order their copies are made (`allCases`).
    public static func < (lhs: HallTarget, rhs: HallTarget) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
