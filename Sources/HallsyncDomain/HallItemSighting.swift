/// What a hall said about an item that carries one of our reservations' ids but is not (yet)
/// that reservation's copy there: made by hand at the counter, a change hallsync cannot place,
/// or — until the answer of a create arrives — perhaps our own.
public struct HallItemSighting: Hashable, Sendable {
    public enum Source: String, Sendable { case feed = "FEED", lookup = "LOOKUP" }
    public var target: HallTarget
    public var itemNo: String
    public var reservationId: String
    /// As the hall said it (`PENDING`, `HANDLED`, …).
    public var status: String
    public var origin: String?
    public var `operator`: String?
    public var at: String?
    public var source: Source

    public init(target: HallTarget, itemNo: String, reservationId: String, status: String, origin: String?, operator: String?,
                at: String?, source: Source) {
        self.target = target
        self.itemNo = itemNo
        self.reservationId = reservationId
        self.status = status
        self.origin = origin
        self.operator = `operator`
        self.at = at
        self.source = source
    }
}
