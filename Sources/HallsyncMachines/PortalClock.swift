import HallsyncDomain

/// What time it is for the portal pull, from two clocks that may disagree: the portal's
/// (`X-Server-Time`, which every record's `updateTime` is written in) and ours.
///
///     let reading = PortalClock.reading(portal: serverTime, local: .now())
///     reading.now            // the earlier of the two: no record can be newer than both clocks allow
///     reading.skewSeconds    // portal − local
///     reading.warning        // set when they disagree by more than the contract's 300 s
///
/// The portal refuses a request whose timestamp is more than 300 s from its clock (4011), so a
/// portal time further than that from ours cannot both be right and answer us: one clock lies.
/// The earlier of the two is what both allow — a portal 30 days fast cannot move the cursor into
/// the future, a portal 30 days slow only holds it back — and the pull recovers by itself once
/// the clocks agree. Pure.
public enum PortalClock {
    /// Contract §2.1: the portal's window for `X-Timestamp`.
    public static let tolerance = 300

    public struct Reading: Hashable, Sendable {
        /// The time the pull may treat as now.
        public var now: BeijingTime
        /// Portal − local, seconds; nil when the portal's time is not known.
        public var skewSeconds: Int?

        public var agrees: Bool { abs(skewSeconds ?? 0) <= PortalClock.tolerance }

        /// What an operator reads in the log and the status file when the clocks disagree.
        public var warning: String? {
            guard let skew = skewSeconds, !agrees else { return nil }
            let side = skew > 0 ? "ahead of" : "behind"
            return "the portal's clock (X-Server-Time) is \(abs(skew)) s \(side) this host's, more than the \(PortalClock.tolerance) s the portal itself allows: one of them is wrong (check NTP here, and tell the portal's operators); the portal position moves only as far as both clocks allow"
        }
    }

    public static func reading(portal: BeijingTime?, local: BeijingTime) -> Reading {
        guard let portal else { return Reading(now: local, skewSeconds: nil) }
        return Reading(now: min(portal, local), skewSeconds: portal.unixSeconds - local.unixSeconds)
    }

    /// A stored position this far beyond the local time of its own writing was written under a
    /// lying clock (by a version before this rule): the records since then may have been skipped.
    /// Returns where to read again from — an hour before the lag horizon of that moment — or nil
    /// when the position is plausible.
    public static func rewind(position: BeijingTime, writtenAt: BeijingTime, lagSeconds: Int) -> BeijingTime? {
        guard position.unixSeconds > writtenAt.unixSeconds + tolerance else { return nil }
        return writtenAt.adding(seconds: -(lagSeconds + 3600))
    }
}
