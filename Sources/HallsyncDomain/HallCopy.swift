/// What hallsync knows about one reservation's copy in one hall inbox.
public struct HallCopy: Hashable, Sendable {
    public var target: HallTarget
    /// The hall's item number, once a create has been answered (or found by `externalId`).
    public var itemNo: String?
    /// The portal version the item reflects.
    public var revision: Int
    /// What the item says, as last created or updated: its digests (nil: not known — sent
    /// before hallsync kept them, or forgotten after the retention period).
    public var delivered: DeliveredContent?
    /// A send to this copy is in the outbox and not yet settled.
    public var hasPendingSend: Bool
    /// A send was refused for good; the copy waits on the attention list.
    public var isBlocked: Bool
    /// The item's status as last reported by the hall (feed, action answer or lookup).
    public var status: HallItemStatus
    /// Who closed the item, when known.
    public var closedBy: ActionOrigin?
    /// The item was seen carrying the reservation's id (a lookup found it, the feed reported it
    /// under that id); an item number only a create's answer gave is checked before it is acted on.
    public var verified: Bool
    /// How many item numbers a hall gave for this copy turned out to be another reservation's: the
    /// next create goes under a key of its own.
    public var keyGeneration: Int

    public init(target: HallTarget, itemNo: String? = nil, revision: Int = 0, delivered: DeliveredContent? = nil,
                hasPendingSend: Bool = false, isBlocked: Bool = false, status: HallItemStatus = .open,
                closedBy: ActionOrigin? = nil, verified: Bool = false, keyGeneration: Int = 0) {
        self.target = target
        self.itemNo = itemNo
        self.revision = revision
        self.delivered = delivered
        self.hasPendingSend = hasPendingSend
        self.isBlocked = isBlocked
        self.status = status
        self.closedBy = closedBy
        self.verified = verified
        self.keyGeneration = keyGeneration
    }

    /// A copy that was sent `content` (tests and tools that hold the content itself).
    public init(target: HallTarget, itemNo: String? = nil, revision: Int = 0, content: HallItemContent,
                hasPendingSend: Bool = false, isBlocked: Bool = false, status: HallItemStatus = .open,
                closedBy: ActionOrigin? = nil, verified: Bool = false, keyGeneration: Int = 0) {
        self.init(target: target, itemNo: itemNo, revision: revision, delivered: DeliveredContent(content),
                  hasPendingSend: hasPendingSend, isBlocked: isBlocked, status: status, closedBy: closedBy,
                  verified: verified, keyGeneration: keyGeneration)
    }

    /// The item exists and no one has closed it.
    public var isOpen: Bool { itemNo != nil && status == .open }

    public var exists: Bool { itemNo != nil }
}
