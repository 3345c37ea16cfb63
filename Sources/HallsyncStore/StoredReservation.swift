import Foundation
import HallsyncDomain

/// A reservation as the store keeps it: the latest portal version and its normalised form.
public struct StoredReservation: Hashable, Sendable {
    public enum Disposition: String, Sendable, Codable {
        case deliverable = "DELIVERABLE"
        case phoneVerifiedOnly = "PHONE"
        case undeliverable = "UNDELIVERABLE"
    }

    public var portal: PortalReservation
    public var disposition: Disposition
    public var route: Route?
    public var content: HallItemContent?

    public init(portal: PortalReservation, disposition: Disposition, route: Route?, content: HallItemContent?) {
        self.portal = portal
        self.disposition = disposition
        self.route = route
        self.content = content
    }

    public var id: String { portal.reservationId }
    public var version: Int { portal.version }

    /// What the summary's list and the attention page show of the reservation, kept in columns of
    /// their own (read without JSON functions): the matter's name, the slot's start, the slot as
    /// the portal sent it, the applicant's name and phone — the hall's forms once deliverable —
    /// and the department's name as the portal gave it.
    public var shown: (itemName: String?, registerTime: String?, slot: String?, applicantName: String?, phone: String?, deptName: String?) {
        (content?.itemName ?? portal.itemName, content?.registerTime, portal.appointmentSlot,
         content?.applicantName ?? portal.applicant.name, content.map(\.phone) ?? portal.applicant.phone, portal.deptName)
    }

    /// The summary's category of a reservation (its `state` column): PHONE (verified by phone
    /// only), HELD (on the attention list, not deliverable), the staff's outcome HANDLED |
    /// CONSULTED, CANCELLED online without an outcome, else PENDING.
    public static func summaryState(disposition: Disposition, outcome: HallItemStatus?, isCancelled: Bool) -> String {
        switch disposition {
        case .phoneVerifiedOnly: return "PHONE"
        case .undeliverable: return "HELD"
        case .deliverable: return outcome.flatMap(closing)?.rawValue ?? (isCancelled ? "CANCELLED" : "PENDING")
        }
    }

    /// An outcome that is a category of its own (handled, consulted); nil for the others.
    public static func closing(_ outcome: HallItemStatus) -> HallItemStatus? {
        outcome == .handled || outcome == .consulted ? outcome : nil
    }

    /// ``summaryState(disposition:outcome:isCancelled:)`` as an SQL expression over columns (or
    /// parameters), for a statement that changes some of its inputs; the closing outcome is NULL
    /// or HANDLED | CONSULTED. Portable SQL: the same in both dialects.
    static func summaryStateSQL(disposition: String, closingOutcome: String, isCancelled: String) -> String {
        "CASE WHEN \(disposition) = 'PHONE' THEN 'PHONE' WHEN \(disposition) = 'UNDELIVERABLE' THEN 'HELD' "
            + "ELSE COALESCE(\(closingOutcome), CASE WHEN \(isCancelled) = 1 THEN 'CANCELLED' ELSE 'PENDING' END) END"
    }

    /// The region the summary scopes this reservation by: the normalised one when deliverable,
    /// else the portal's when it has the form of a region code (never a text SQL would cut short).
    public var regionKey: String? {
        if let code = content?.regionCode { return code }
        let raw = (portal.regionCode ?? "").trimmingCharacters(in: .whitespaces)
        return CodeForm.isRegionCode(raw) ? raw : nil
    }

    /// The appointment's date, `yyyy-MM-dd`: the normalised one when deliverable, else the
    /// portal's when it can be read.
    public var appointmentKey: String? {
        if let content { return String(content.registerTime.prefix(10)) }
        return Appointment.date(fromPortal: portal.appointmentDate)?.description
    }

    /// The matter code the summary groups by, in the catalogue's form when it has the form of a code.
    public var itemKey: String? {
        if let content { return content.itemCode }
        let code = MatterCatalogue.key(portal.itemCode ?? "")
        return CodeForm.isCode(code) ? code : nil
    }

    /// The department the summary scopes this reservation by, likewise.
    public var deptKey: String? {
        if let code = content?.deptCode { return code }
        let raw = (portal.deptCode ?? "").trimmingCharacters(in: .whitespaces)
        return CodeForm.isCode(raw) ? raw : nil
    }

    /// The outcome and the portal's status, as far as hallsync knows them.
    public var lifecycle = Lifecycle()

    /// The normalised reservation the planner works on, when it is deliverable.
    public var normalized: NormalizedReservation? {
        guard disposition == .deliverable, let route, let content else { return nil }
        return NormalizedReservation(reservationId: id, version: version, isCancelled: portal.isCancelled,
                                     content: content, route: route)
    }
}

/// Where a send goes: one of the halls, or the portal (status pushes). Stored as the hall's
/// name or `portal`.
public enum SendTarget: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case hall(HallTarget)
    case portal

    public init(_ hall: HallTarget) { self = .hall(hall) }

    /// The stored form, nil for a name no peer has (a corrupt row: never sent anywhere).
    public init?(rawValue: String) {
        if rawValue == "portal" { self = .portal } else if let hall = HallTarget(rawValue: rawValue) { self = .hall(hall) } else { return nil }
    }

    public var rawValue: String {
        switch self {
        case .hall(let hall): return hall.rawValue
        case .portal: return "portal"
        }
    }

    public static var allCases: [SendTarget] { HallTarget.allCases.map(SendTarget.hall) + [.portal] }

    public var hall: HallTarget? {
        switch self {
        case .hall(let hall): return hall
        case .portal: return nil
        }
    }

    public var description: String { rawValue }
}

/// One pending or settled send.
public struct OutboxEntry: Hashable, Sendable {
    public typealias Kind = SendKind
    public enum State: String, Sendable, CaseIterable { case pending = "PENDING", done = "DONE", failed = "FAILED" }

    public var id: Int64?
    public var reservationId: String
    public var target: SendTarget
    public var kind: Kind
    public var itemNo: String?
    public var idempotencyKey: String
    public var body: Data
    public var revision: Int
    public var state: State
    public var attempts: Int
    /// Unix seconds of the first attempt: after the hall's key retention, a retry looks up first.
    public var firstAttemptAt: Double?
    public var nextAttemptAt: Double
    public var lastError: String?
    /// What the send is, in typed columns beside its body, so that sending and settling it never
    /// decode the body: an action's action and origin, a push's status, and for a create or an
    /// update the content sent (as digests: what the copy records once the hall has it).
    public var action: HallAction?
    public var origin: ActionOrigin?
    public var pushStatus: PortalProcessStatus?
    public var delivered: DeliveredContent?

    public init(id: Int64? = nil, reservationId: String, target: SendTarget, kind: Kind, itemNo: String? = nil,
                idempotencyKey: String, body: Data, revision: Int, state: State = .pending, attempts: Int = 0,
                firstAttemptAt: Double? = nil, nextAttemptAt: Double, lastError: String? = nil,
                action: HallAction? = nil, origin: ActionOrigin? = nil, pushStatus: PortalProcessStatus? = nil, delivered: DeliveredContent? = nil) {
        self.id = id
        self.reservationId = reservationId
        self.target = target
        self.kind = kind
        self.itemNo = itemNo
        self.idempotencyKey = idempotencyKey
        self.body = body
        self.revision = revision
        self.state = state
        self.attempts = attempts
        self.firstAttemptAt = firstAttemptAt
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.action = action
        self.origin = origin
        self.pushStatus = pushStatus
        self.delivered = delivered
    }
}

/// What planning a reservation's next sends needs, read without its portal record (the
/// largest part of the row, with the personal data, which planning never looks at).
public struct PlanningState: Sendable {
    public var disposition: StoredReservation.Disposition
    public var version: Int
    public var lifecycle: Lifecycle
    /// The normalised reservation, when deliverable.
    public var normalized: NormalizedReservation?
    /// Its content as digests, taken over the stored canonical JSON: what the copies are compared with.
    public var delivered: DeliveredContent?
    public var route: Route?

    public init(disposition: StoredReservation.Disposition, version: Int, lifecycle: Lifecycle, normalized: NormalizedReservation?,
                delivered: DeliveredContent?, route: Route?) {
        self.disposition = disposition
        self.version = version
        self.lifecycle = lifecycle
        self.normalized = normalized
        self.delivered = delivered
        self.route = route
    }
}

/// An open entry of the attention list.
public struct AttentionEntry: Hashable, Sendable {
    public var reservationId: String
    public var code: String
    public var field: String
    public var target: String
    public var messageZh: String
    public var messageEn: String
    public var version: Int
    public var raisedAt: Double

    public init(reservationId: String, code: String, field: String, target: String = "", messageZh: String,
                messageEn: String, version: Int, raisedAt: Double) {
        self.reservationId = reservationId
        self.code = code
        self.field = field
        self.target = target
        self.messageZh = messageZh
        self.messageEn = messageEn
        self.version = version
        self.raisedAt = raisedAt
    }
}

/// Names of the durable cursors.
public struct CursorName: RawRepresentable, Hashable, Sendable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// `updateTime|reservationId`: every record at or below it, under the lag horizon, was read.
    public static let portalPosition = CursorName(rawValue: "portal.position")

    /// Present after a restore: creates look their items up first until the portal position passes this time.
    public static let restoreLookUpThrough = CursorName(rawValue: "restore.lookUpThrough")

    /// The last clerk's request from the web page that was applied (the web database's request id).
    public static let clerkRequests = CursorName(rawValue: "web.requests")

    /// A second with more records than a page, being read by offset over cycles: `second|nextPage|total|collected`.
    public static let portalCrowdedSecond = CursorName(rawValue: "portal.crowded")

    /// A hall's change feed: `seq:N`, every change up to N applied. (Before 0.5, `reconcile:<id>`
    /// while a reconciliation ran; read as `seq:0` plus ``reconcile(_:)``.)
    public static func feed(_ hall: HallTarget) -> CursorName { CursorName(rawValue: "feed.\(hall.rawValue)") }

    /// Present while a hall's open items are being reconciled: the last reservation id looked up
    /// in order (empty before the first). The feed is read on meanwhile.
    public static func reconcile(_ hall: HallTarget) -> CursorName { CursorName(rawValue: "reconcile.\(hall.rawValue)") }

    /// Present while a periodic sweep reconciles: only items made before this Unix time are looked up.
    public static func reconcileCreatedBefore(_ hall: HallTarget) -> CursorName { CursorName(rawValue: "reconcile.\(hall.rawValue).createdBefore") }

    /// When a hall's open items were last swept (looked up whatever the feed said), Unix seconds.
    public static func sweep(_ hall: HallTarget) -> CursorName { CursorName(rawValue: "sweep.\(hall.rawValue)") }
}

/// A reservation's stored version as the portal sent it: enough to tell a repeat of it from a
/// version that contradicts it.
public struct StoredHead: Sendable {
    public var version: Int
    public var updateTime: String
    public var portalJSON: String
    /// Its personal data was erased (retention): the stored record no longer equals what was sent.
    public var purged: Bool

    public init(version: Int, updateTime: String, portalJSON: String, purged: Bool) {
        self.version = version
        self.updateTime = updateTime
        self.portalJSON = portalJSON
        self.purged = purged
    }
}

