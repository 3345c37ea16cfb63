/// Reading the working-day calendar from the project's text file (`Config/working-calendar.txt`).
///
///     let calendar = try WorkingCalendar(text: """
///         year 2021  国务院办公厅关于2021年部分节假日安排的通知
///         work 2021-09-18                中秋节（调休上班）
///         off  2021-09-19 .. 2021-09-21  中秋节
///         """)
///     calendar.isWorkingDay(CivilDate(year: 2021, month: 9, day: 18)!)   // true
///
/// One statement per line; `#` starts a comment. Every problem is collected with its line
/// number and thrown together, so an operator fixes the file in one pass.
extension WorkingCalendar {
    /// The longest holiday range one `off` line may span; longer is taken for a typing error.
    public static let longestHoliday = 31

    public init(text: String) throws(CalendarErrors) {
        var errors: [CalendarErrors.LineError] = []
        var holidays: [CivilDate: Int] = [:]
        var workdays: [CivilDate: Int] = [:]
        var years: [Int: Int] = [:]
        var names: [CivilDate: String] = [:]
        var currentYear: Int?

        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            func fail(_ message: String) { errors.append(.init(line: line, message: message)) }
            let content = rawLine.prefix(while: { $0 != "#" })
            // `2021-01-01..2021-01-03` and `2021-01-01 .. 2021-01-03` read alike.
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{3000}" })
                .flatMap { word -> [Substring] in
                    guard let range = word.firstRange(of: ".."), word != ".." else { return [word] }
                    return [word[..<range.lowerBound], "..", word[range.upperBound...]].filter { !$0.isEmpty }
                }
            guard let keyword = words.first else { continue }

            func date(_ word: Substring) -> CivilDate? {
                guard let date = CivilDate(iso: word) else {
                    fail("\(word) is not a date; write dates as YYYY-MM-DD")
                    return nil
                }
                guard let year = currentYear else { return date }
                if abs(date.year - year) > 1 {
                    fail("\(date) is far from the arrangement of \(year) it is listed under")
                    return nil
                }
                return date
            }

            switch keyword {
            case "year":
                guard words.count >= 2, let year = Int(words[1]), (1949...9999).contains(year) else {
                    fail("a year line reads `year YYYY  SOURCE`")
                    continue
                }
                if let first = years[year] {
                    fail("year \(year) is already declared on line \(first)")
                }
                years[year] = years[year] ?? line
                currentYear = year
            case "off", "work":
                guard currentYear != nil else {
                    fail("\(keyword) before any `year` line; start each year's arrangement with `year YYYY`")
                    continue
                }
                guard words.count >= 2, let first = date(words[1]) else {
                    if words.count < 2 { fail("\(keyword) needs a date") }
                    continue
                }
                var last = first
                var nameWords = words.dropFirst(2)
                if keyword == "off", words.count >= 4, words[2] == ".." {
                    nameWords = words.dropFirst(4)
                    guard let end = date(words[3]) else { continue }
                    guard end >= first, end.daysSince1970 - first.daysSince1970 < Self.longestHoliday else {
                        fail("the range \(first) .. \(end) is reversed or longer than \(Self.longestHoliday) days")
                        continue
                    }
                    last = end
                }
                let name = nameWords.joined(separator: " ")
                if keyword == "work" {
                    if !first.weekday.isWeekend {
                        fail("\(first) is a weekday, which is a working day anyway; a `work` line names a make-up Saturday or Sunday")
                    } else if let other = workdays[first] {
                        fail("\(first) is already a make-up working day on line \(other)")
                    } else if let other = holidays[first] {
                        fail("\(first) is a holiday on line \(other) and cannot also be a working day")
                    } else {
                        workdays[first] = line
                        if !name.isEmpty { names[first] = name }
                    }
                    continue
                }
                var day = first
                while day <= last {
                    if let other = holidays[day] {
                        fail("\(day) is already a holiday on line \(other)")
                    } else if let other = workdays[day] {
                        fail("\(day) is a make-up working day on line \(other) and cannot also be a holiday")
                    } else {
                        holidays[day] = line
                        if !name.isEmpty { names[day] = name }
                    }
                    day = day.adding(days: 1)
                }
            default:
                fail("unknown statement `\(keyword)`; expected year, off or work")
            }
        }
        if !errors.isEmpty { throw CalendarErrors(errors: errors) }
        self.init(holidays: Set(holidays.keys), makeUpWorkdays: Set(workdays.keys), coveredYears: Set(years.keys),
                  dayNames: names)
    }

    /// The years from `date` through `days` days later that the data does not cover, in order.
    ///
    ///     calendar.uncoveredYears(from: today, days: 60)   // [2027] in late November 2026
    public func uncoveredYears(from date: CivilDate, days: Int) -> [Int] {
        let last = date.adding(days: max(0, days))
        return (date.year...last.year).filter { !coveredYears.contains($0) }
    }
}

/// Every problem found in a working-day calendar file.
public struct CalendarErrors: Error, Hashable, Sendable, CustomStringConvertible {
    public struct LineError: Hashable, Sendable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "working calendar line \(line): \(message)" }
    }

    public let errors: [LineError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
