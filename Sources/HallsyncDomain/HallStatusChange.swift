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
    public func apply(to copy: inout HallCopy, lifecycle: inout Lifecycle) -> [LifecycleFinding] {
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

    /// The stable code of the attention list.
    public var code: DomainError.Code {
        switch self {
        case .outcomeConflict: return .outcomeConflict
        case .cancelledAfterOutcome: return .cancelledAfterOutcome
        case .changeOnClosedCopy: return .itemClosed
        }
    }

    public var target: HallTarget? {
        switch self {
        case .outcomeConflict(_, let other): return other.target
        case .cancelledAfterOutcome: return nil
        case .changeOnClosedCopy(let target, _): return target
        }
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
        }
    }
}

extension HallTarget {
    public var chineseName: String { self == .intake ? "综合受理" : "行政许可" }
}
