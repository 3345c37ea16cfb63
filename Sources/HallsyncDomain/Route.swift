/// The inboxes a reservation belongs in, in the order its copies are created.
///
/// Through intake: intake first, then licensing with `linkedItemNo` = the intake item.
/// Otherwise licensing alone (contract §1.1).
public enum Route: String, Codable, Hashable, Sendable {
    case intakeThenLicensing = "INTAKE_LICENSING"
    case licensingOnly = "LICENSING"

    public var targets: [HallTarget] {
        switch self {
        case .intakeThenLicensing: return [.intake, .licensing]
        case .licensingOnly: return [.licensing]
        }
    }

    /// What to do with a matter the catalogue does not list.
    public enum UnknownMatterPolicy: String, Codable, Sendable {
        /// Deliver to licensing and put the reservation on the attention list.
        case licensing
        /// Deliver nothing; keep it on the attention list until the catalogue lists the matter.
        case hold
    }
}
