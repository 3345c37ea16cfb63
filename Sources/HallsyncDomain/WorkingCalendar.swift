/// Which days the halls work, after the State Council's yearly holiday arrangement.
///
///     let calendar = WorkingCalendar(holidays: [CivilDate(year: 2021, month: 9, day: 20)!, …],
///                                    makeUpWorkdays: [CivilDate(year: 2021, month: 9, day: 18)!],
///                                    coveredYears: [2021])
///     calendar.isWorkingDay(CivilDate(year: 2021, month: 9, day: 18)!)   // true: 调休上班
///
/// Weekends are off except make-up working days; public holidays are off. For a year the
/// data does not cover, only weekends are off, and ``Deadline/usedFallback`` says so.
public struct WorkingCalendar: Hashable, Sendable {
    public var holidays: Set<CivilDate>
    public var makeUpWorkdays: Set<CivilDate>
    public var coveredYears: Set<Int>
    /// What the notice calls a listed day (`中秋节`, `中秋节（调休上班）`), for people reading a deadline.
    public var dayNames: [CivilDate: String]

    public init(holidays: Set<CivilDate> = [], makeUpWorkdays: Set<CivilDate> = [], coveredYears: Set<Int> = [],
                dayNames: [CivilDate: String] = [:]) {
        self.holidays = holidays
        self.makeUpWorkdays = makeUpWorkdays
        self.coveredYears = coveredYears
        self.dayNames = dayNames
    }

    /// Weekends off, nothing else known.
    public static let weekendsOnly = WorkingCalendar()

    public func covers(_ date: CivilDate) -> Bool { coveredYears.contains(date.year) }

    public func isWorkingDay(_ date: CivilDate) -> Bool {
        if makeUpWorkdays.contains(date) { return true }
        if holidays.contains(date) { return false }
        return !date.weekday.isWeekend
    }

    /// The processing deadline of an appointment (contract §1.4): the same clock time on the
    /// first working day strictly after the appointment's date.
    public func deadline(forAppointmentStart start: BeijingTime) -> Deadline {
        var day = start.date.adding(days: 1)
        var skipped: [CivilDate] = []
        var usedFallback = !covers(start.date)
        // A holiday block never exceeds a few weeks; the bound only guards corrupt data.
        for _ in 0..<366 {
            if !covers(day) { usedFallback = true }
            if isWorkingDay(day) { break }
            skipped.append(day)
            day = day.adding(days: 1)
        }
        return Deadline(time: BeijingTime(date: day, secondOfDay: start.secondOfDay), skipped: skipped, usedFallback: usedFallback)
    }
}

/// A processing deadline and how it was reached.
public struct Deadline: Hashable, Sendable {
    public let time: BeijingTime
    /// The non-working days between the appointment's date and the deadline's.
    public let skipped: [CivilDate]
    /// True when a day on the way lies in a year the calendar does not cover (weekends-only rule used).
    public let usedFallback: Bool
}
