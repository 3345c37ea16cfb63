/// The status of a hall inbox item (contract §3.4, §3.6): open until one closing action.
public enum HallItemStatus: String, Codable, Hashable, Sendable, CustomStringConvertible {
    case open = "PENDING"
    /// 办理: the applicant came and the case is taken on.
    case handled = "HANDLED"
    /// 咨询: the applicant cancelled or did not come; closed as a consultation.
    case consulted = "CONSULTED"
    /// The applicant cancelled online.
    case cancelled = "CANCELLED"

    public var description: String { rawValue }
    public var isClosed: Bool { self != .open }

    /// A staff outcome the notice asks to mirror and report (办理 or 咨询).
    public var isOutcome: Bool { self == .handled || self == .consulted }

    /// The action that closes an item with this status.
    public var action: HallAction? {
        switch self {
        case .open: return nil
        case .handled: return .handle
        case .consulted: return .consult
        case .cancelled: return .cancel
        }
    }

    public var chineseName: String {
        switch self {
        case .open: return "待办"
        case .handled: return "办理"
        case .consulted: return "咨询"
        case .cancelled: return "取消"
        }
    }
}

/// A closing action on a hall item (contract §3.6).
public enum HallAction: String, Codable, Hashable, Sendable, CustomStringConvertible {
    case handle = "HANDLE"
    case consult = "CONSULT"
    case cancel = "CANCEL"

    public var description: String { rawValue }

    public var resultingStatus: HallItemStatus {
        switch self {
        case .handle: return .handled
        case .consult: return .consulted
        case .cancel: return .cancelled
        }
    }
}

/// Who closed an item: staff on the hall's own screens, or hallsync mirroring the other
/// hall (`SYNC`) or the portal (`PORTAL`).
public enum ActionOrigin: String, Codable, Hashable, Sendable, CustomStringConvertible {
    case staff = "STAFF"
    case sync = "SYNC"
    case portal = "PORTAL"

    public var description: String { rawValue }
}
