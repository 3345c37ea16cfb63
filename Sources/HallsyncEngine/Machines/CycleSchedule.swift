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
}
