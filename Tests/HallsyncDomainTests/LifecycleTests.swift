import Testing
@testable import HallsyncDomain

/// The per-reservation state machine after the copies exist: outcomes, mirrors, pushes,
/// cancellations, reschedules on closed copies.
@Suite struct LifecycleTests {
    let normalizer = ReservationNormalizer(catalogue: catalogue, calendar: .weekendsOnly, settings: .weihai)

    func reservation(cancelled: Bool = false, version: Int = 1, date: String = "2021-09-11") -> NormalizedReservation {
        guard case .deliverable(let r) = normalizer.normalize(portalReservation(version: version, date: date, status: cancelled ? "CANCELLED" : "SUBMITTED")) else {
            fatalError("fixture not deliverable")
        }
        return r
    }

    func bothCopies(_ r: NormalizedReservation, intake: HallItemStatus = .open, licensing: HallItemStatus = .open) -> [HallTarget: HallCopy] {
        [.intake: HallCopy(target: .intake, itemNo: "ZH1", revision: r.version, content: r.content, status: intake),
         .licensing: HallCopy(target: .licensing, itemNo: "XK1", revision: r.version, content: r.content, status: licensing)]
    }

    func staff(_ target: HallTarget, _ status: HallItemStatus, at: String = "2021-09-11 10:05:00") -> HallStatusChange {
        HallStatusChange(target: target, itemNo: target == .intake ? "ZH1" : "XK1", status: status, origin: .staff, operator: "李四", at: at)
    }

    @Test func reportsReceivedOnlyOnceEveryRoutedCopyExistsAndOnePushAtATime() {
        let r = reservation()
        var copies = bothCopies(r)
        copies[.licensing] = nil
        #expect(!DeliveryPlanner.plan(for: r, copies: copies).sends.contains { if case .push = $0 { true } else { false } })
        let all = bothCopies(r)
        #expect(DeliveryPlanner.plan(for: r, copies: all).sends == [.push(.received, hallItemNo: "ZH1", operator: "hallsync", changedAt: nil)])
        #expect(DeliveryPlanner.plan(for: r, copies: all, pushPending: true).sends.isEmpty)
        #expect(DeliveryPlanner.plan(for: r, copies: all, lifecycle: Lifecycle(portalStatus: .received)).sends.isEmpty)
    }

    @Test(arguments: [(HallTarget.intake, HallItemStatus.handled), (.intake, .consulted), (.licensing, .handled), (.licensing, .consulted)])
    func mirrorsAStaffOutcomeToTheOtherCopyAndReportsItAfterReceived(_ target: HallTarget, _ status: HallItemStatus) {
        let r = reservation()
        var copies = bothCopies(r)
        var lifecycle = Lifecycle(portalStatus: .received)
        #expect(staff(target, status).apply(to: &copies[target]!, lifecycle: &lifecycle).isEmpty)
        #expect(lifecycle.outcome?.status == status)
        let other: HallTarget = target == .intake ? .licensing : .intake
        let plan = DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle)
        #expect(plan.sends == [
            .act(other, itemNo: other == .intake ? "ZH1" : "XK1", status.action!, .sync, operator: "李四"),
            .push(PortalProcessStatus(outcome: status)!, hallItemNo: "ZH1", operator: "李四", changedAt: "2021-09-11 10:05:00"),
        ])
        // The mirror's own change comes back in the feed: nothing more to do for that copy.
        let mirror = HallStatusChange(target: other, itemNo: "x", status: status, origin: .sync, operator: "李四", at: "2021-09-11 10:05:01")
        #expect(mirror.apply(to: &copies[other]!, lifecycle: &lifecycle).isEmpty)
        #expect(mirror.apply(to: &copies[other]!, lifecycle: &lifecycle).isEmpty)
        lifecycle.portalStatus = PortalProcessStatus(outcome: status)
        #expect(DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle) == .init())
    }

    @Test func pushesReceivedBeforeTheOutcomeWhenStaffActedFirst() {
        let r = reservation()
        var copies = bothCopies(r)
        var lifecycle = Lifecycle()
        _ = staff(.intake, .handled).apply(to: &copies[.intake]!, lifecycle: &lifecycle)
        let pushes = DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).sends.filter { if case .push = $0 { true } else { false } }
        #expect(pushes == [.push(.received, hallItemNo: "ZH1", operator: "hallsync", changedAt: nil)])
    }

    @Test func keepsTheFirstOutcomeAndReportsADifferentSecondOneWithoutFlipping() {
        let r = reservation()
        var copies = bothCopies(r)
        var lifecycle = Lifecycle(portalStatus: .received)
        _ = staff(.intake, .handled).apply(to: &copies[.intake]!, lifecycle: &lifecycle)
        let findings = staff(.licensing, .consulted, at: "2021-09-11 10:06:00").apply(to: &copies[.licensing]!, lifecycle: &lifecycle)
        #expect(findings.count == 1)
        guard case .outcomeConflict(let first, let other) = findings.first else { Issue.record("no conflict"); return }
        #expect(first.status == .handled && first.target == .intake)
        #expect(other.status == .consulted && other.target == .licensing)
        #expect(lifecycle.outcome?.status == .handled)
        #expect(findings.first!.messages.zh.contains("办理") && findings.first!.messages.zh.contains("咨询"))
        // Both copies closed: no action, only the first outcome is reported.
        #expect(DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).sends == [
            .push(.handled, hallItemNo: "ZH1", operator: "李四", changedAt: "2021-09-11 10:05:00")])
    }

    @Test func readsAnOutcomeOfUnknownOriginAsStaffOnlyWhenThereIsNoneYet() {
        var copies = bothCopies(reservation())
        var lifecycle = Lifecycle()
        // A 409 ITEM_CLOSED naming HANDLED, in answer to our CANCEL: staff got there first.
        let closed = HallStatusChange(target: .licensing, itemNo: "XK1", status: .handled, origin: nil, operator: "", at: "2021-09-11 10:00:00")
        #expect(closed.apply(to: &copies[.licensing]!, lifecycle: &lifecycle).isEmpty)
        #expect(lifecycle.outcome?.status == .handled)
        // Once an outcome is held, the same status of unknown origin is our own mirror.
        var intake = copies[.intake]!
        let mirror = HallStatusChange(target: .intake, itemNo: "ZH1", status: .handled, origin: nil, operator: "", at: "2021-09-11 10:01:00")
        #expect(mirror.apply(to: &intake, lifecycle: &lifecycle).isEmpty)
        #expect(lifecycle.outcome?.target == .licensing)
        // A 409 naming another outcome, in answer to our mirror, was staff's: a conflict, found without the feed.
        var other = HallCopy(target: .intake, itemNo: "ZH1")
        let refused = HallStatusChange(target: .intake, itemNo: "ZH1", status: .consulted, origin: nil, operator: "", at: "2021-09-11 10:02:00")
        #expect(refused.apply(to: &other, lifecycle: &lifecycle).map(\.code) == [.outcomeConflict])
        #expect(lifecycle.outcome?.status == .handled)
    }

    @Test func aReservationCancelledBeforeAnyCopyIsOnlyAcknowledged() {
        let r = reservation(cancelled: true)
        #expect(DeliveryPlanner.plan(for: r, copies: [:]).sends == [.push(.cancelAcknowledged, hallItemNo: nil, operator: "hallsync", changedAt: nil)])
    }

    @Test func aCancellationClosesEveryOpenCopyThenIsAcknowledged() {
        let r = reservation(cancelled: true, version: 2)
        var copies = bothCopies(reservation())
        let lifecycle = Lifecycle(portalStatus: .received)
        #expect(DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).sends == [
            .act(.intake, itemNo: "ZH1", .cancel, .portal, operator: "hallsync"),
            .act(.licensing, itemNo: "XK1", .cancel, .portal, operator: "hallsync"),
        ])
        copies[.intake]!.status = .cancelled
        #expect(DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).sends == [
            .act(.licensing, itemNo: "XK1", .cancel, .portal, operator: "hallsync")])
        copies[.licensing]!.status = .cancelled
        #expect(DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).sends == [
            .push(.cancelAcknowledged, hallItemNo: "ZH1", operator: "hallsync", changedAt: nil)])
        #expect(DeliveryPlanner.plan(for: r, copies: copies, lifecycle: Lifecycle(portalStatus: .cancelAcknowledged)) == .init())
    }

    @Test func aCancellationAfterAnOutcomeIsRecordedNotForced() {
        let r = reservation(cancelled: true, version: 2)
        var copies = bothCopies(reservation())
        var lifecycle = Lifecycle(portalStatus: .received)
        _ = staff(.intake, .handled).apply(to: &copies[.intake]!, lifecycle: &lifecycle)
        let plan = DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle)
        #expect(plan.findings == [.cancelledAfterOutcome(lifecycle.outcome!)])
        #expect(!plan.sends.contains(.act(.licensing, itemNo: "XK1", .cancel, .portal, operator: "hallsync")))
        #expect(plan.sends.contains(.act(.licensing, itemNo: "XK1", .handle, .sync, operator: "李四")))
        #expect(plan.sends.contains(.push(.handled, hallItemNo: "ZH1", operator: "李四", changedAt: "2021-09-11 10:05:00")))
    }

    @Test func aRescheduleUpdatesOpenCopiesAndIsReportedOnClosedOnes() {
        let original = reservation()
        let moved = reservation(version: 2, date: "2021-09-13")
        let open = DeliveryPlanner.plan(for: moved, copies: bothCopies(original), lifecycle: Lifecycle(portalStatus: .received))
        #expect(open.sends.count == 2)
        #expect(open.sends.allSatisfy { if case .update(_, _, let body) = $0 { body.revision == 2 && body.content.registerTime == "2021-09-13 10:00:00" } else { false } })
        var lifecycle = Lifecycle(portalStatus: .handled)
        lifecycle.outcome = StaffOutcome(status: .handled, target: .intake, operator: "李四", at: "2021-09-11 10:05:00")
        let closed = DeliveryPlanner.plan(for: moved, copies: bothCopies(original, intake: .handled, licensing: .handled), lifecycle: lifecycle)
        #expect(closed.sends.isEmpty)
        #expect(closed.findings == [.changeOnClosedCopy(.intake, .handled), .changeOnClosedCopy(.licensing, .handled)])
    }

    @Test func learnsWhatThePortalAlreadyHolds() {
        var lifecycle = Lifecycle()
        lifecycle.learn(portalProcessStatus: "RECEIVED")
        #expect(lifecycle.portalStatus == .received)
        lifecycle.learn(portalProcessStatus: nil)
        lifecycle.learn(portalProcessStatus: "bogus")
        #expect(lifecycle.portalStatus == .received)
        lifecycle.learn(portalProcessStatus: "HANDLED")
        #expect(lifecycle.portalStatus == .handled)
        lifecycle.learn(portalProcessStatus: "RECEIVED")
        #expect(lifecycle.portalStatus == .handled)
    }

    /// Random interleavings of staff actions, cancellations, reschedules and lost answers,
    /// played against a model of the halls and the portal: the planner never makes the portal
    /// refuse a push, never closes a copy twice, and ends where the notice says.
    @Test func reachesTheNoticesEndStateUnderRandomInterleavings() {
        var seed: UInt64 = 7
        func roll(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        for run in 0..<3000 {
            var r = reservation()
            var copies: [HallTarget: HallCopy] = [:]
            var lifecycle = Lifecycle()
            var hall: [HallTarget: (status: HallItemStatus, origin: ActionOrigin?)] = [:]
            var portal: PortalProcessStatus? = nil
            var refusals = 0, creates = 0, closings: [HallTarget: Int] = [:]
            var conflict = false
            /// What the halls and the portal do with one send, and what hallsync learns from the answer.
            func execute(_ send: DeliveryPlanner.Send) {
                switch send {
                case .create(let target, _):
                    creates += 1
                    hall[target] = (.open, nil)
                    copies[target, default: HallCopy(target: target)].itemNo = target.rawValue
                    copies[target]!.delivered = DeliveredContent(r.content)
                    copies[target]!.revision = r.version
                case .update(let target, _, let body):
                    if hall[target]?.status == .open { copies[target]!.delivered = DeliveredContent(body.content); copies[target]!.revision = body.revision }
                case .act(let target, _, let action, let origin, _):
                    let answer: HallStatusChange
                    if hall[target]?.status == .open {
                        hall[target] = (action.resultingStatus, origin)
                        closings[target, default: 0] += 1
                        answer = HallStatusChange(target: target, itemNo: target.rawValue, status: action.resultingStatus, origin: origin, operator: "", at: "")
                    } else {
                        // 409 ITEM_CLOSED naming the status.
                        answer = HallStatusChange(target: target, itemNo: target.rawValue, status: hall[target]!.status, origin: nil, operator: "", at: "")
                    }
                    if answer.apply(to: &copies[target]!, lifecycle: &lifecycle).contains(where: { $0.code == .outcomeConflict }) { conflict = true }
                case .push(let status, _, _, _):
                    if PortalProcessStatus.allows(status, after: portal, cancelled: r.isCancelled) {
                        portal = status
                        lifecycle.portalStatus = status
                    } else {
                        refusals += 1
                    }
                }
            }
            for step in 0..<40 {
                // The world moves: staff act, the applicant cancels or reschedules.
                switch roll(10) {
                case 0, 1:
                    let target: HallTarget = roll(2) == 0 ? .intake : .licensing
                    if hall[target]?.status == .open {
                        let status: HallItemStatus = roll(2) == 0 ? .handled : .consulted
                        hall[target] = (status, .staff)
                        closings[target, default: 0] += 1
                        let change = HallStatusChange(target: target, itemNo: target.rawValue, status: status, origin: .staff, operator: "s", at: "t\(step)")
                        if change.apply(to: &copies[target, default: HallCopy(target: target)], lifecycle: &lifecycle).contains(where: { $0.code == .outcomeConflict }) { conflict = true }
                    }
                case 2 where !r.isCancelled && roll(4) == 0:
                    r = reservation(cancelled: true, version: r.version + 1)
                case 3 where !r.isCancelled && roll(3) == 0:
                    r = reservation(version: r.version + 1, date: ["2021-09-13", "2021-09-14", "2021-09-15"][roll(3)])
                default: break
                }
                // hallsync runs one round; some answers are lost and the send is planned again next round.
                for send in DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).sends where roll(5) != 0 { execute(send) }
            }
            // Quiet: run until nothing is left to send.
            for _ in 0..<10 {
                for send in DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).sends { execute(send) }
            }
            #expect(refusals == 0, "run \(run): the portal refused a push")
            #expect(creates <= 2, "run \(run): \(creates) creates")
            #expect(closings.values.allSatisfy { $0 <= 1 }, "run \(run): a copy closed twice")
            #expect(DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).sends.isEmpty, "run \(run): still sending when quiet")
            if let outcome = lifecycle.outcome {
                if r.isCancelled {
                    // The cancellation raced the staff: recorded for a person, never forced either way.
                    #expect(DeliveryPlanner.plan(for: r, copies: copies, lifecycle: lifecycle).findings.contains(.cancelledAfterOutcome(outcome)))
                    #expect(portal != .cancelAcknowledged)
                } else {
                    if !conflict { #expect(hall.values.allSatisfy { $0.status == outcome.status }, "run \(run): outcome not mirrored \(hall)") }
                    if hall.count == 2 { #expect(portal == PortalProcessStatus(outcome: outcome.status), "run \(run): portal \(String(describing: portal))") }
                }
            } else if r.isCancelled {
                #expect(hall.values.allSatisfy { $0.status == .cancelled }, "run \(run)")
                #expect(portal == .cancelAcknowledged, "run \(run): portal \(String(describing: portal))")
            } else {
                #expect(hall.count == 2 && hall.values.allSatisfy { $0.status == .open })
                #expect(portal == .received)
            }
        }
    }
}
