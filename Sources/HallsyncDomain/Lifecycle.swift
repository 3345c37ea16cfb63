/// What hallsync has learnt about a reservation after its copies were created: the staff
/// outcome that decides it, and what the portal has been told.
///
///     var lifecycle = Lifecycle()
///     lifecycle.outcome = StaffOutcome(status: .handled, target: .intake, operator: "李四", at: "2021-09-11 10:05:00")
///     lifecycle.portalStatus = .received
///
/// Stored with the reservation; read by ``DeliveryPlanner``.
public struct Lifecycle: Codable, Hashable, Sendable {
    /// The first terminal staff outcome on any copy. It wins: a later different outcome is a conflict.
    public var outcome: StaffOutcome?
    /// The furthest status the portal holds, from our confirmed pushes or the portal's own record.
    public var portalStatus: PortalProcessStatus?

    public init(outcome: StaffOutcome? = nil, portalStatus: PortalProcessStatus? = nil) {
        self.outcome = outcome
        self.portalStatus = portalStatus
    }

    /// Takes the portal's `processStatus` into account: a push whose answer was lost may
    /// still have been applied, and the portal's record says so.
    public mutating func learn(portalProcessStatus raw: String?) {
        if case .ahead(let status) = news(inPortalProcessStatus: raw) { portalStatus = status }
    }

    /// What the portal's `processStatus` tells that hallsync does not hold yet.
    public enum PortalStatusNews: Hashable, Sendable {
        /// Nothing new: no status, or one at or behind what hallsync holds.
        case none
        /// A status further on than hallsync holds: a push whose answer was lost may have been
        /// applied — hallsync takes it only when it did plan that push.
        case ahead(PortalProcessStatus)
        /// Another final status than the one the portal took from hallsync (HANDLED where
        /// hallsync pushed CONSULTED): not hallsync's doing.
        case contradicting(PortalProcessStatus)
        /// A status the contract does not define.
        case unknown(String)
    }

    public func news(inPortalProcessStatus raw: String?) -> PortalStatusNews {
        guard let raw, !raw.isEmpty else { return .none }
        guard let status = PortalProcessStatus(rawValue: raw) else { return .unknown(raw) }
        if portalStatus == nil || (portalStatus == .received && status.isFinal) { return .ahead(status) }
        if let held = portalStatus, held.isFinal, status.isFinal, status != held { return .contradicting(status) }
        return .none
    }
}

/// A closing action staff took on one copy (origin `STAFF`).
public struct StaffOutcome: Codable, Hashable, Sendable {
    public var status: HallItemStatus
    public var target: HallTarget
    public var `operator`: String
    /// Beijing time, `yyyy-MM-dd HH:mm:ss`, as the hall reported it.
    public var at: String

    public init(status: HallItemStatus, target: HallTarget, operator: String, at: String) {
        self.status = status
        self.target = target
        self.operator = `operator`
        self.at = at
    }
}
