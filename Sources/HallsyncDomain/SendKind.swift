/// What a send does: make a hall item, change it, close it, or tell the portal a status.
/// Stored in the outbox by its raw value.
public enum SendKind: String, Sendable, CaseIterable {
    case create = "CREATE", update = "UPDATE"
    /// A closing action on a hall item (HANDLE/CONSULT mirrored, CANCEL from the portal).
    case action = "ACTION"
    /// A processing status pushed to the portal.
    case push = "PUSH"
}
