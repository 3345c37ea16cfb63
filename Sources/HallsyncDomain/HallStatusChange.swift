/// One status change of a hall item: from the change feed (§3.7), the answer to an action
/// (§3.6, including a 409 `ITEM_CLOSED` naming the status), or a lookup during reconciliation (§3.4).
///
///     var copy = HallCopy(target: .intake, itemNo: "ZH1")
///     var lifecycle = Lifecycle()
///     let change = HallStatusChange(target: .intake, itemNo: "ZH1", status: .handled, origin: .staff,
///                                   operator: "李四", at: "2021-09-11 10:05:00")
///     change.apply(to: &copy, lifecycle: &lifecycle)   // [] — lifecycle.outcome is now HANDLED by 李四
///
/// Applying the same change twice changes nothing the second time, so the feed can be read
/// again after a crash or a reconciliation without doing any work twice.
public struct HallStatusChange: Hashable, Sendable {
    public var target: HallTarget
    public var itemNo: String
    public var status: HallItemStatus
    /// Nil when the source does not say (a 409 answer, a lookup).
    public var origin: ActionOrigin?
    public var `operator`: String
    public var at: String

    public init(target: HallTarget, itemNo: String, status: HallItemStatus, origin: ActionOrigin?, operator: String, at: String) {
        self.target = target
        self.itemNo = itemNo
        self.status = status
        self.origin = origin
        self.operator = `operator`
        self.at = at
    }

    /// Updates the copy and the reservation's lifecycle; returns what a person must look at.
    /// The copy must be this item's (the caller finds it by `itemNo`). Closing is final
    /// (contract §3.6): a closed item reported open again, or closed with another status,
    /// changes nothing and is a finding.
    public func apply(to copy: inout HallCopy, lifecycle: inout Lifecycle) -> [LifecycleFinding] {
        if copy.status.isClosed && status != copy.status {
            return [.statusContradiction(target, itemNo: itemNo, held: copy.status, reported: status)]
        }
        guard status.isClosed else { return [] }
        if copy.status == status && (origin == nil || copy.closedBy == origin) { return [] }
        copy.status = status
        if let origin { copy.closedBy = origin }
        // hallsync only ever sends HANDLE/CONSULT to mirror the outcome it holds, so an outcome of
        // unknown origin is staff's unless it is that very outcome (our own mirror).
        let byStaff = origin == .staff || (origin == nil && lifecycle.outcome?.status != status)
        guard status.isOutcome, byStaff else { return [] }
        let outcome = StaffOutcome(status: status, target: target, operator: self.operator, at: at)
        guard let first = lifecycle.outcome else {
            lifecycle.outcome = outcome
            return []
        }
        return first.status == status ? [] : [.outcomeConflict(first: first, other: outcome)]
    }
}

/// Something about a reservation's lifecycle that hallsync does not decide alone.
public enum LifecycleFinding: Hashable, Sendable {
    /// Staff closed the two copies with different outcomes; the first stands.
    case outcomeConflict(first: StaffOutcome, other: StaffOutcome)
    /// The applicant cancelled online after staff had already handled or consulted the item.
    case cancelledAfterOutcome(StaffOutcome)
    /// A newer version (a reschedule, corrected data) reached a copy that is already closed.
    case changeOnClosedCopy(HallTarget, HallItemStatus)
    /// A newer version names another applicant than the item in this hall: held.
    case identityChanged(HallTarget)
    /// A newer version moved the reservation to a matter not routed to this hall, whose item is still open: held.
    case routeChanged(HallTarget)
    /// The portal lists the reservation live again after its cancellation was carried out.
    case revivedAfterCancellation
    /// A hall reported a status of our item that contradicts the one it reported before.
    case statusContradiction(HallTarget, itemNo: String, held: HallItemStatus, reported: HallItemStatus)

    /// The stable code of the attention list.
    public var code: DomainError.Code {
        switch self {
        case .outcomeConflict: return .outcomeConflict
        case .cancelledAfterOutcome: return .cancelledAfterOutcome
        case .changeOnClosedCopy: return .itemClosed
        case .identityChanged: return .identityChanged
        case .routeChanged: return .routeChanged
        case .revivedAfterCancellation: return .revivedAfterCancellation
        case .statusContradiction: return .itemStatusContradiction
        }
    }

    public var target: HallTarget? {
        switch self {
        case .outcomeConflict(_, let other): return other.target
        case .cancelledAfterOutcome, .revivedAfterCancellation: return nil
        case .changeOnClosedCopy(let target, _), .identityChanged(let target), .routeChanged(let target),
             .statusContradiction(let target, _, _, _): return target
        }
    }

    /// What tells two entries of the same code apart (the item concerned).
    public var field: String {
        if case .statusContradiction(_, let itemNo, _, _) = self { return itemNo }
        return ""
    }

    /// The clerk's message, Chinese and English.
    public var messages: (zh: String, en: String) {
        switch self {
        case .outcomeConflict(let first, let other):
            return ("两个系统的办理结果不一致：\(first.target.chineseName)为\(first.status.chineseName)（\(first.at)），\(other.target.chineseName)为\(other.status.chineseName)（\(other.at)）。以先办结果为准，请人工核对",
                    "The halls disagree: \(first.target) says \(first.status) (\(first.at)), \(other.target) says \(other.status) (\(other.at)). The first outcome stands; check the two items by hand.")
        case .cancelledAfterOutcome(let outcome):
            return ("申请人在网上取消预约时，\(outcome.target.chineseName)已\(outcome.status.chineseName)（\(outcome.at)）。办理结果保留，未作取消，请人工联系申请人",
                    "The applicant cancelled online after \(outcome.target) had already \(outcome.status.rawValue.lowercased()) the item (\(outcome.at)). The outcome stands and nothing was cancelled; contact the applicant.")
        case .changeOnClosedCopy(let target, let status):
            return ("\(target.chineseName)办件已\(status.chineseName)，预约的改期或更正未能同步，请人工核对",
                    "The \(target) item is already \(status.rawValue.lowercased()); the reservation's reschedule or correction was not applied. Check it by hand.")
        case .identityChanged(let target):
            return ("门户上该预约的申请人证件（类型、号码或单位代码）与\(target.chineseName)办件中的不一致，已暂停同步。请与申请人或门户核实：确属更正的，点“重新处理”将新证件信息同步到大厅；否则请联系门户",
                    "The portal now names another applicant (document type, number or organisation code) than the \(target) item; nothing is sent. Check with the applicant or the portal: if it is a correction, retry to send the new identity to the halls; otherwise ask the portal's operators.")
        case .routeChanged(let target):
            return ("门户上该预约的事项已变更，不再送\(target.chineseName)，但\(target.chineseName)中的办件仍待办，已暂停同步。请核对后在\(target.chineseName)中手工处理该办件，或点“重新处理”按新事项同步",
                    "The portal moved the reservation to a matter not routed to \(target), whose item is still open; nothing is sent. Close that item by hand in \(target), or retry to deliver the new matter.")
        case .statusContradiction(let target, let itemNo, let held, let reported):
            return ("\(target.chineseName)系统先报办件 \(itemNo) 为“\(held.chineseName)”，现在又报为“\(reported.chineseName)”；办件一经办结不应再变，本系统仍按“\(held.chineseName)”处理。请在\(target.chineseName)中核对该办件",
                    "The \(target) hall reported item \(itemNo) as \(held) and now as \(reported); a closed item does not change, so hallsync keeps \(held). Check the item in the \(target) hall.")
        case .revivedAfterCancellation:
            return ("申请人已在网上取消、大厅办件已按取消关闭，但门户现在又显示该预约为已提交。请联系申请人确认是否仍要办理，必要时在大厅手工登记",
                    "The applicant cancelled online and the hall items were closed for it, but the portal now lists the reservation as submitted again. Contact the applicant; register it by hand in the hall if it still stands.")
        }
    }
}

