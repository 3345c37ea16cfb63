/// The per-reservation state machine: from what the portal says now, what the halls hold
/// and what the portal has been told, the sends that must happen next.
///
///     let plan = DeliveryPlanner.plan(for: reservation, copies: [:], lifecycle: Lifecycle())
///     plan.sends      // [.create(.intake, HallItemCreate(externalId: …, linkedItemNo: nil))]
///     plan.findings   // what a person must look at
///
/// One copy, in one hall:
///
///     absent ──create──▶ open ──update (newer content)──▶ open
///     open ──STAFF HANDLE/CONSULT (feed)──▶ closed: the reservation's outcome (the first one wins)
///     open ──SYNC HANDLE/CONSULT (the other copy's outcome)──▶ closed
///     open ──PORTAL CANCEL (cancelled online, no outcome)──▶ closed
///     closed ──newer content──▶ closed, and the attention list (ITEM_CLOSED)
///     refused for good ──▶ blocked until a newer portal version
///     exists ──another applicant (ID number, document, type, org code) or another route──▶ held:
///         nothing created or updated, the attention list (IDENTITY_CHANGED, ROUTE_CHANGED),
///         until the portal reverts it or a person confirms it (retry)
///     closed by the cancellation ──the portal lists it live again──▶ the attention list (REVIVED_AFTER_CANCEL)
///
/// The reservation, towards the portal (one push outstanding at a time, in this order):
///
///     nothing ──every routed copy open or closed──▶ RECEIVED ──outcome──▶ HANDLED | CONSULTED
///     cancelled, every copy closed (or none made) ──▶ CANCEL_ACKNOWLEDGED
///     cancelled after an outcome ──▶ the outcome is reported if RECEIVED was, and the attention list
///                                    (CANCELLED_AFTER_OUTCOME); never CANCEL_ACKNOWLEDGED
///
/// The licensing copy of an intake-routed reservation waits until the intake copy has an
/// item number, which it carries as `linkedItemNo`. A copy with a send in flight gets no
/// second one: at most one send per copy, and one push, is outstanding, so order is kept.
/// Pure: it reads its arguments and nothing else.
public enum DeliveryPlanner {
    public enum Send: Hashable, Sendable {
        case create(HallTarget, HallItemCreate)
        case update(HallTarget, itemNo: String, HallItemUpdate)
        case act(HallTarget, itemNo: String, HallAction, ActionOrigin, operator: String)
        /// A status for the portal; `hallItemNo` is the intake copy's item when there is one.
        case push(PortalProcessStatus, hallItemNo: String?, operator: String, changedAt: String?)

        public var target: HallTarget? {
            switch self {
            case .create(let target, _), .update(let target, _, _), .act(let target, _, _, _, _): return target
            case .push: return nil
            }
        }
    }

    public struct Plan: Hashable, Sendable {
        public var sends: [Send] = []
        public var findings: [LifecycleFinding] = []
    }

    /// The name hallsync acts and reports under when no person did.
    public static let systemOperator = "hallsync"

    /// - Parameter identityConfirmed: a person looked at a reservation held for a changed identity or
    ///   route and asked to send it as it is now (the attention list's retry): this once, the
    ///   content goes out.
    /// - Parameter delivered: the reservation's content as digests, when the caller holds them
    ///   (the store takes them over the JSON it keeps); nil: taken here.
    public static func plan(for reservation: NormalizedReservation, copies: [HallTarget: HallCopy],
                            lifecycle: Lifecycle = Lifecycle(), pushPending: Bool = false,
                            identityConfirmed: Bool = false, delivered: DeliveredContent? = nil) -> Plan {
        var plan = Plan()
        // What the copies were sent is compared by digest: the same content, the same applicant.
        let current = delivered ?? DeliveredContent(reservation.content)
        let outcome = lifecycle.outcome
        // What the halls hold must stay about the same applicant and the same inboxes: a version that
        // says otherwise after items were made is held — nothing created or updated — until a person
        // decides. Actions and statuses about the items that exist go on.
        for (target, copy) in copies.sorted(by: { $0.key < $1.key }) where copy.exists {
            if !reservation.route.targets.contains(target), copy.status == .open {
                plan.findings.append(.routeChanged(target))
            } else if let delivered = copy.delivered, delivered.identity != current.identity {
                plan.findings.append(.identityChanged(target))
            }
        }
        // Live on the portal again after the halls closed it for the cancellation (or the portal
        // acknowledged it): the closed items cannot be opened again, and new ones would be refused
        // a RECEIVED; a person calls the applicant.
        let cancellationCarriedOut = lifecycle.portalStatus == .cancelAcknowledged
            || copies.values.contains { $0.exists && $0.status == .cancelled }
        let revived = !reservation.isCancelled && outcome == nil && cancellationCarriedOut
        if revived { plan.findings.append(.revivedAfterCancellation) }
        let holdContent = revived || (!plan.findings.isEmpty && !identityConfirmed)
        for target in reservation.route.targets {
            let copy = copies[target] ?? HallCopy(target: target)
            if copy.hasPendingSend || copy.isBlocked { continue }
            if let itemNo = copy.itemNo {
                let changed = copy.delivered?.digest != current.digest && reservation.version > copy.revision
                if copy.status.isClosed {
                    // A version that only echoes a status push or a cancellation has equal content.
                    if changed && !reservation.isCancelled && !revived { plan.findings.append(.changeOnClosedCopy(target, copy.status)) }
                } else if let outcome, outcome.target != target, let action = outcome.status.action {
                    plan.sends.append(.act(target, itemNo: itemNo, action, .sync, operator: outcome.name))
                } else if reservation.isCancelled && outcome == nil {
                    plan.sends.append(.act(target, itemNo: itemNo, .cancel, .portal, operator: systemOperator))
                } else if changed && !reservation.isCancelled && !holdContent {
                    plan.sends.append(.update(target, itemNo: itemNo, HallItemUpdate(revision: reservation.version, content: reservation.content)))
                }
                continue
            }
            // Absent. A reservation cancelled before a copy exists gets no item there.
            if reservation.isCancelled || holdContent { continue }
            // A hall after the first of the route is created after the one before it, linked to its item.
            var linked: String? = nil
            let targets = reservation.route.targets
            if let index = targets.firstIndex(of: target), index > 0 {
                guard let previous = copies[targets[index - 1]]?.itemNo else { continue }
                linked = previous
            }
            plan.sends.append(.create(target, HallItemCreate(
                externalId: reservation.reservationId, revision: reservation.version,
                content: reservation.content, linkedItemNo: linked)))
        }
        if reservation.isCancelled, let outcome { plan.findings.append(.cancelledAfterOutcome(outcome)) }
        if !pushPending, !revived, let push = nextPush(for: reservation, copies: copies, lifecycle: lifecycle) { plan.sends.append(push) }
        return plan
    }

    static func nextPush(for reservation: NormalizedReservation, copies: [HallTarget: HallCopy], lifecycle: Lifecycle) -> Send? {
        let reported = lifecycle.portalStatus
        // The portal is told the first hall's item (in `HallTarget` order), whichever halls there are.
        let hallItemNo = HallTarget.allCases.lazy.compactMap { copies[$0]?.itemNo }.first
        let everyCopyExists = reservation.route.targets.allSatisfy { copies[$0]?.itemNo != nil }
        if let outcome = lifecycle.outcome, let status = PortalProcessStatus(outcome: outcome.status) {
            // A record cancelled online takes no RECEIVED: an outcome it never received cannot be
            // reported, and the attention list says so (cancelled after the outcome).
            if reported == nil && everyCopyExists && !reservation.isCancelled {
                return .push(.received, hallItemNo: hallItemNo, operator: systemOperator, changedAt: nil)
            }
            if reported == .received {
                return .push(status, hallItemNo: hallItemNo, operator: outcome.name, changedAt: outcome.at.isEmpty ? nil : outcome.at)
            }
            return nil
        }
        if reservation.isCancelled {
            let settled = copies.values.allSatisfy { !$0.isOpen && !$0.hasPendingSend }
            guard settled, reported == nil || reported == .received else { return nil }
            return .push(.cancelAcknowledged, hallItemNo: hallItemNo, operator: systemOperator, changedAt: nil)
        }
        if reported == nil && everyCopyExists {
            return .push(.received, hallItemNo: hallItemNo, operator: systemOperator, changedAt: nil)
        }
        return nil
    }

    /// The sends alone, for callers that hold no lifecycle yet.
    public static func nextSends(for reservation: NormalizedReservation, copies: [HallTarget: HallCopy]) -> [Send] {
        plan(for: reservation, copies: copies, lifecycle: Lifecycle(), pushPending: true).sends
    }
}

extension StaffOutcome {
    /// Who to name for the outcome: the clerk, or hallsync when the hall did not say (a 409 answer, a lookup).
    var name: String { self.operator.isEmpty ? DeliveryPlanner.systemOperator : self.operator }
}
