/// Which requests one attempt of one hall send makes, in order: the look-up-first rules in one
/// place, decided without I/O (the delivery phase performs each step and hands the answer back).
///
///     create, never tried, or first tried within the key's retention ─▶ create
///         (the idempotency key makes a repeat harmless)
///     create, first tried longer ago than the retention less its margin, or after a conflict
///         (first attempt 0) ─▶ look up by externalId ─▶ ours listed: adopt it | none: create
///     update or action on an item only a create's answer gave (first attempt 0)
///         ─▶ look up by externalId ─▶ listed: change it | not listed: not ours (nothing sent)
///     update or action on a verified item ─▶ change it
///
///     HallSendSteps.first(.create, itemNo: nil, firstAttemptAt: nil, now: t, rules: r)   // .create
///     HallSendSteps.afterLookUp(.update, itemNo: "XK1", ours: nil, listed: ["XK2"])        // .notOurs("XK1")
///
/// Depends on nothing below it: the kinds, item numbers and times are plain values.
public enum HallSendSteps {
    public enum Kind: Equatable, Sendable { case create, update, action }

    public enum Step: Equatable, Sendable {
        /// Ask the hall for the items listed under the reservation's id first.
        case lookUp
        case create
        /// The item hallsync made is there: record it, create nothing.
        case adopt(itemNo: String)
        /// Send the update or the action to this item.
        case change(itemNo: String)
        /// The item is not listed under the reservation's id: send nothing to it.
        case notOurs(itemNo: String)
        /// The send cannot be carried out as stored (a bug): refused with this reason.
        case unusable(String)
    }

    public struct Rules: Equatable, Sendable {
        /// How long the halls keep an idempotency key (contract §3.3), seconds.
        public var keyRetention: Double
        /// Looked up this long before the key expires, seconds.
        public var safetyMargin: Double

        public init(keyRetention: Double, safetyMargin: Double) {
            self.keyRetention = keyRetention
            self.safetyMargin = safetyMargin
        }
    }

    /// The first step. `firstAttemptAt`: nil, never attempted; 0, to be looked up first (a copy
    /// not yet verified, a create after a conflict); else when it was first attempted.
    public static func first(_ kind: Kind, itemNo: String?, firstAttemptAt: Double?, now: Double, rules: Rules) -> Step {
        switch kind {
        case .create:
            guard let first = firstAttemptAt else { return .create }
            return now - first > rules.keyRetention - rules.safetyMargin ? .lookUp : .create
        case .update, .action:
            guard let itemNo, !itemNo.isEmpty else { return .unusable("an \(kind == .update ? "update" : "action") without an item number") }
            return firstAttemptAt == 0 ? .lookUp : .change(itemNo: itemNo)
        }
    }

    /// After the look-up: `ours`, the item a create made (``CreatedItemMatch``), `listed` every
    /// item number listed under the reservation's id.
    public static func afterLookUp(_ kind: Kind, itemNo: String?, ours: String?, listed: Set<String>) -> Step {
        switch kind {
        case .create:
            return ours.map { .adopt(itemNo: $0) } ?? .create
        case .update, .action:
            guard let itemNo, !itemNo.isEmpty else { return .unusable("an \(kind == .update ? "update" : "action") without an item number") }
            return listed.contains(itemNo) ? .change(itemNo: itemNo) : .notOurs(itemNo: itemNo)
        }
    }
}
