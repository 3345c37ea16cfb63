/// When the next cycle starts: one interval after the last one started, whatever happened in
/// between (a reload, a burst of SIGHUPs). Pure.
///
///     CycleSchedule.delayUntilNextCycle(lastStart: 100, interval: 10, now: 104)   // 6
///     CycleSchedule.delayUntilNextCycle(lastStart: 100, interval: 10, now: 130)   // 0: overdue, at once
public enum CycleSchedule {
    public static func delayUntilNextCycle(lastStart: Double?, interval: Double, now: Double) -> Double {
        guard let lastStart else { return 0 }
        return max(0, lastStart + interval - now)
    }

    /// After a cycle: at once when it left work for lack of budget (a backlog drains at full
    /// speed, each cycle still bounded), else one interval after it started.
    ///
    ///     CycleSchedule.delayAfterCycle(started: 100, interval: 10, now: 103, moreWork: true)    // 0
    ///     CycleSchedule.delayAfterCycle(started: 100, interval: 10, now: 103, moreWork: false)   // 7
    public static func delayAfterCycle(started: Double, interval: Double, now: Double, moreWork: Bool) -> Double {
        moreWork ? 0 : delayUntilNextCycle(lastStart: started, interval: interval, now: now)
    }
}
