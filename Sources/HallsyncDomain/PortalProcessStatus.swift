/// The processing status hallsync reports to the portal (contract §2.4), in the order the
/// portal accepts them: null → RECEIVED → HANDLED | CONSULTED; null | RECEIVED →
/// CANCEL_ACKNOWLEDGED on a cancelled record.
public enum PortalProcessStatus: String, Codable, Hashable, Sendable, CustomStringConvertible {
    case received = "RECEIVED"
    case handled = "HANDLED"
    case consulted = "CONSULTED"
    case cancelAcknowledged = "CANCEL_ACKNOWLEDGED"

    public var description: String { rawValue }

    /// Statuses after which the portal accepts nothing more.
    public var isFinal: Bool { self != .received }

    /// The status reporting a staff outcome.
    public init?(outcome: HallItemStatus) {
        switch outcome {
        case .handled: self = .handled
        case .consulted: self = .consulted
        default: return nil
        }
    }

    /// Whether the portal accepts `next` after `current` (contract §2.4).
    public static func allows(_ next: PortalProcessStatus, after current: PortalProcessStatus?, cancelled: Bool) -> Bool {
        switch (current, next) {
        case (nil, .received): return !cancelled
        case (.received?, .handled), (.received?, .consulted): return true
        case (nil, .cancelAcknowledged), (.received?, .cancelAcknowledged): return cancelled
        default: return false
        }
    }
}
