import ArgumentParser
import HallsyncDomain
import HallsyncEngine

struct DeadlineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deadline",
        abstract: "Print the processing deadline of an appointment and the non-working days it skips.",
        discussion: """
        The appointment is Beijing time, as the portal writes it: a date (2021-09-11, 2021/9/11, \
        20210911) and a start (10:00, 10:00-10:30, 上午, 下午), e.g. "2021-09-11 10:00". The \
        deadline is the same clock time on the first working day strictly after that date.
        """)

    @Argument(help: "The appointment, e.g. \"2021-09-11 10:00\".")
    var appointment: String

    @OptionGroup var rules: RulesOptions

    func run() throws {
        let siteRules = try rules.loadRules()
        let parts = appointment.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "T" })
        let start: BeijingTime
        do {
            start = try Appointment.parse(date: parts.first.map(String.init), slot: parts.count > 1 ? String(parts[1]) : nil,
                                          sessions: siteRules.normalizer.settings.sessions).start
        } catch {
            throw ValidationError("cannot read \"\(appointment)\" as an appointment (a date, then a start such as 10:00 or 上午): \(error.en)")
        }
        let calendar = siteRules.calendar
        let deadline = calendar.deadline(forAppointmentStart: start)
        func reason(_ date: CivilDate) -> String {
            var reason = date.weekday.isWeekend ? "weekend" : "working day"
            if calendar.holidays.contains(date) { reason = "public holiday" }
            if calendar.makeUpWorkdays.contains(date) { reason = "make-up working day" }
            if let name = calendar.dayNames[date] { reason += ", \(name)" }
            if !calendar.covers(date) { reason += ", year not in the calendar" }
            return reason
        }
        func describe(_ date: CivilDate) -> String { "\(date) \(date.weekday)  (\(reason(date)))" }
        print("appointment  \(start) \(start.date.weekday)")
        print("deadline     \(deadline.time) \(deadline.time.date.weekday)  (\(reason(deadline.time.date)))")
        if deadline.skipped.isEmpty {
            print("skipped      nothing: the next day is a working day")
        } else {
            for (index, day) in deadline.skipped.enumerated() {
                print("\(index == 0 ? "skipped     " : "            ") \(describe(day))")
            }
        }
        if deadline.usedFallback {
            let years = Set(([start.date] + deadline.skipped + [deadline.time.date]).map(\.year)).subtracting(calendar.coveredYears)
            print("warning      the working calendar has no arrangement for \(years.sorted().map(String.init).joined(separator: ", ")): weekends only were counted")
        }
    }
}
