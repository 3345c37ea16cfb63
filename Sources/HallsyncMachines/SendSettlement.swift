import HallsyncDomain

/// What one attempt of one send comes to, decided without I/O: from what the peer answered
/// (or how the request failed), the outcome the ledger records, and how the cycle's report
/// counts it. The delivery phase only performs the request and hands the result here.
///
///     let outcome = SendSettlement.outcome(of: .failed(error), kind: .create, attempts: 3,
///                                          policy: RetryPolicy(base: 1, cap: 300), jitter: 0.5)
///     // .retry(error, delay: 3.0)     a 503: later, under the same key
///     // .refused(error)               a 422: the attention list
///     SendSettlement.effect(of: outcome, kind: .create)   // .retried
///
///     answered ──created / found / replayed──▶ itemPresent ─▶ copy recorded, settled DONE
///     answered ──updated──▶ updated;  ──409 STALE_REVISION──▶ superseded (a newer one is there)
///     answered ──action applied / already in that status──▶ closed(status, origin) ─▶ DONE
///     answered ──409 ITEM_CLOSED to an action or update──▶ closed(status, nil): the item's news
///     answered ──push accepted──▶ pushed(status)
///     failed ──endpoint's fault (URL, token, TLS)──▶ retry (backoff), the peer flagged for an operator
///     failed ──passing fault (5xx, 429, reset, time-out)──▶ retry (backoff, Retry-After honoured)
///     failed ──the record's fault (422, 409 business)──▶ refused: FAILED, the attention list
///
/// The machine knows a failure only by what settling it needs (``SettlementFailure``): the
/// transport's errors are one kind of it, a test's are another. Nothing below the domain is imported.
public enum SendSettlement<Failure: SettlementFailure> {
    /// What the transport returned for one attempt.
    public enum Result: Sendable {
        /// The hall holds the item: created now, replayed under the same key, or found by `externalId`
        /// (with what the lookup said of it and of other items with the id).
        case itemPresent(itemNo: String, found: [HallItemSighting] = [])
        /// A lookup before an update or action did not list the item under the reservation's id.
        case notOurs(itemNo: String, found: [HallItemSighting])
        case updated
        /// An action was applied; the item now has this status.
        case acted(HallItemStatus, origin: ActionOrigin?)
        /// The item was closed already (an action or an update answered 409 `ITEM_CLOSED`, or an
        /// action answered with the item's status).
        case alreadyClosed(HallItemStatus)
        case pushed(PortalProcessStatus)
        case failed(Failure)
    }

    /// What one attempt of a send came to: what the ledger records.
    public enum Outcome: Sendable {
        /// The hall holds the item (created now, replayed under the same key, or found by `externalId`);
        /// `found`: what a lookup by `externalId` said of it and of other items with the id.
        case itemPresent(itemNo: String, found: [HallItemSighting] = [])
        /// A lookup by the reservation's id before an update or action did not list the item: it is
        /// not the reservation's; nothing was sent.
        case notOurs(itemNo: String, found: [HallItemSighting])
        case updated
        /// The hall already holds a newer revision: nothing to do.
        case superseded
        /// The item is closed with this status: by our action (`origin` ours), or already by someone
        /// (`origin` nil: a 409 `ITEM_CLOSED` to an action or an update).
        case closed(HallItemStatus, origin: ActionOrigin?)
        /// The portal took the status.
        case pushed(PortalProcessStatus)
        case retry(Failure, delay: Double)
        case refused(Failure)
    }

    /// How the cycle's report counts an outcome.
    public enum Effect: Equatable, Sendable {
        /// The peer accepted the send.
        case delivered
        /// The peer answered, but the change was not applied (an update to a closed item): the
        /// attention list says why. The peer works.
        case refusedAnswered
        /// The record was refused for good; `answered`: the peer answered (it works).
        case refused(answered: Bool)
        /// Kept for a later attempt; `needsOperator`: the endpoint, not time, must change.
        case retried(needsOperator: Bool)
    }

    public static func outcome(of result: Result, kind: SendKind, attempts: Int, policy: RetryPolicy,
                        jitter: Double) -> Outcome {
        switch result {
        case .itemPresent(let itemNo, let found): return .itemPresent(itemNo: itemNo, found: found)
        case .notOurs(let itemNo, let found): return .notOurs(itemNo: itemNo, found: found)
        case .updated: return .updated
        case .acted(let status, let origin): return .closed(status, origin: origin)
        case .alreadyClosed(let status): return .closed(status, origin: nil)
        case .pushed(let status): return .pushed(status)
        case .failed(let error):
            if error.isStaleRevision { return .superseded }
            if error.needsOperator || error.isRetryable {
                // Not the reservation's fault: it stays in the outbox; an endpoint's fault goes
                // out once fixed (a reload makes it due at once).
                let delay = policy.delay(afterAttempt: attempts, retryAfter: error.needsOperator ? nil : error.retryAfter, jitter: jitter)
                return .retry(error, delay: delay)
            }
            return .refused(error)
        }
    }

    public static func effect(of outcome: Outcome, kind: SendKind) -> Effect {
        switch outcome {
        case .closed where kind == .update: return .refusedAnswered
        case .notOurs: return .retried(needsOperator: false)
        case .itemPresent, .updated, .superseded, .closed, .pushed: return .delivered
        case .retry(let error, _): return .retried(needsOperator: error.needsOperator)
        case .refused(let error): return .refused(answered: !error.isRetryable && !error.needsOperator)
        }
    }
}

/// What settling a failed attempt needs to know of the failure.
public protocol SettlementFailure: Error, Sendable {
    /// The hall holds a newer revision already (409 `STALE_REVISION`): the send is superseded.
    var isStaleRevision: Bool { get }
    /// The endpoint (its address, token, certificate) must be fixed by an operator.
    var needsOperator: Bool { get }
    /// Passing: the same send may succeed later (5xx, 429, a reset, a time-out).
    var isRetryable: Bool { get }
    /// Seconds the peer asked to wait (`Retry-After`), if it said.
    var retryAfter: Double? { get }
}
