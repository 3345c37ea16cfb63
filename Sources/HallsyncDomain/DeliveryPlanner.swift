/// The per-reservation state machine: from what the portal says now and what the halls
/// already hold, the sends that must happen next.
///
///     let sends = DeliveryPlanner.nextSends(for: reservation, copies: [:])
///     // [.create(.intake, HallItemCreate(externalId: …, linkedItemNo: nil))]
///
/// States of one copy and the transitions the planner drives:
///
///     absent ──create──▶ creating ──answer──▶ present(rev, content)
///     present ──content changed, newer version──▶ updating ──answer──▶ present(rev', content')
///     creating/updating ──refused for good──▶ blocked (attention list)
///
/// The licensing copy of an intake-routed reservation waits until the intake copy has an
/// item number, which it carries as `linkedItemNo`. A copy with a send in flight gets no
/// second one: at most one send per copy is outstanding, so ordering is preserved.
/// Pure: it reads its arguments and nothing else.
public enum DeliveryPlanner {
    public enum Send: Hashable, Sendable {
        case create(HallTarget, HallItemCreate)
        case update(HallTarget, itemNo: String, HallItemUpdate)

        public var target: HallTarget {
            switch self {
            case .create(let target, _), .update(let target, _, _): return target
            }
        }
    }

    public static func nextSends(for reservation: NormalizedReservation, copies: [HallTarget: HallCopy]) -> [Send] {
        var sends: [Send] = []
        for target in reservation.route.targets {
            let copy = copies[target] ?? HallCopy(target: target)
            if copy.hasPendingSend || copy.isBlocked { continue }
            if let itemNo = copy.itemNo {
                // Present: bring it up to date when the content changed in a newer version.
                // A version that only echoes a status push has equal content: nothing to send.
                if copy.content != reservation.content && reservation.version > copy.revision {
                    sends.append(.update(target, itemNo: itemNo, HallItemUpdate(revision: reservation.version, content: reservation.content)))
                }
                continue
            }
            // Absent. A reservation cancelled before any copy exists gets no item.
            if reservation.isCancelled { continue }
            var linked: String? = nil
            if target == .licensing && reservation.route == .intakeThenLicensing {
                guard let intakeItem = copies[.intake]?.itemNo else { continue }
                linked = intakeItem
            }
            sends.append(.create(target, HallItemCreate(
                externalId: reservation.reservationId, revision: reservation.version,
                content: reservation.content, linkedItemNo: linked)))
        }
        return sends
    }
}
