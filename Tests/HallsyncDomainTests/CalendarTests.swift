import Foundation
import Testing
@testable import HallsyncDomain

/// The repository's files, found from this source file.
enum RepositoryFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let calendarPath = root.appendingPathComponent("Config/working-calendar.txt").path
    /// The reference holiday data next to the repository (holiday-cn JSON), when present.
    static let holidayCN = root.deletingLastPathComponent().appendingPathComponent("shared/calendar/holiday-cn").path
    static var hasHolidayCN: Bool { FileManager.default.fileExists(atPath: holidayCN + "/2021.json") }

    static func projectCalendar() throws -> WorkingCalendar {
        try WorkingCalendar(text: String(contentsOfFile: calendarPath, encoding: .utf8))
    }
}

func at(_ text: String) -> BeijingTime { BeijingTime(parsing: text)! }
func day(_ text: String) -> CivilDate { CivilDate(iso: text)! }

@Suite struct ProjectCalendarTests {
    @Test func coversEveryYearFrom2020To2026() throws {
        let calendar = try RepositoryFiles.projectCalendar()
        #expect(Set(2020...2026).isSubset(of: calendar.coveredYears))
    }

    @Test(arguments: [
        // The notice's worked examples (contract §1.4).
        ("2021-09-11 10:00:00", "2021-09-13 10:00:00", ["2021-09-12"]),
        ("2021-09-17 10:00:00", "2021-09-18 10:00:00", []),
        ("2021-09-18 10:00:00", "2021-09-22 10:00:00", ["2021-09-19", "2021-09-20", "2021-09-21"]),
        // National Day week, the 2020 extended Spring Festival, a make-up Sunday, 2023's New Year starting in 2022.
        ("2021-09-30 13:30:00", "2021-10-08 13:30:00", ["2021-10-01", "2021-10-02", "2021-10-03", "2021-10-04", "2021-10-05", "2021-10-06", "2021-10-07"]),
        ("2020-01-23 09:00:00", "2020-02-03 09:00:00", ["2020-01-24", "2020-01-25", "2020-01-26", "2020-01-27", "2020-01-28", "2020-01-29", "2020-01-30", "2020-01-31", "2020-02-01", "2020-02-02"]),
        ("2026-01-03 09:00:00", "2026-01-04 09:00:00", []),
        ("2022-12-30 09:00:00", "2023-01-03 09:00:00", ["2022-12-31", "2023-01-01", "2023-01-02"]),
    ])
    func computesDeadlinesWithHolidaysAndMakeUpDays(_ start: String, _ expected: String, _ skipped: [String]) throws {
        let deadline = try RepositoryFiles.projectCalendar().deadline(forAppointmentStart: at(start))
        #expect(deadline.time.description == expected)
        #expect(deadline.skipped.map(\.description) == skipped)
        #expect(!deadline.usedFallback)
    }

    @Test func fallsBackToWeekendsOnlyForAYearItDoesNotCoverAndSaysSo() throws {
        let calendar = try RepositoryFiles.projectCalendar()
        #expect(!calendar.covers(day("2031-01-01")))
        // 2031-01-03 is a Friday: the weekend is skipped, nothing else is known.
        let deadline = calendar.deadline(forAppointmentStart: at("2031-01-03 09:00:00"))
        #expect(deadline.time.description == "2031-01-06 09:00:00")
        #expect(deadline.usedFallback)
        // Reaching into an uncovered year from a covered one is flagged too.
        #expect(calendar.deadline(forAppointmentStart: at("2030-12-31 09:00:00")).usedFallback)
        #expect(calendar.uncoveredYears(from: day("2030-12-01"), days: 60) == [2030, 2031])
        #expect(calendar.uncoveredYears(from: day("2026-03-01"), days: 60) == [])
    }

    /// Every day of every year the reference data covers, against the project's own file.
    @Test(.enabled(if: RepositoryFiles.hasHolidayCN, "../shared/calendar/holiday-cn is not next to the repository"))
    func agreesWithTheReferenceDataOnEveryDay() throws {
        struct Year: Decodable {
            struct Day: Decodable { let date: String; let isOffDay: Bool }
            let year: Int
            let days: [Day]
        }
        var listed: [CivilDate: Bool] = [:]
        var referenceYears: Set<Int> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: RepositoryFiles.holidayCN) where file.range(of: #"^\d{4}\.json$"#, options: .regularExpression) != nil {
            let year = try JSONDecoder().decode(Year.self, from: Data(contentsOf: URL(fileURLWithPath: RepositoryFiles.holidayCN + "/" + file)))
            if !year.days.isEmpty { referenceYears.insert(year.year) }
            for entry in year.days { listed[day(entry.date)] = entry.isOffDay }
        }
        let calendar = try RepositoryFiles.projectCalendar()
        #expect(referenceYears.isSuperset(of: 2020...2026))
        #expect(calendar.coveredYears == referenceYears, "the calendar covers \(calendar.coveredYears.sorted()), the reference \(referenceYears.sorted())")
        var checked = 0
        var mismatches: [String] = []
        for year in referenceYears.sorted() {
            var date = CivilDate(year: year, month: 1, day: 1)!
            while date.year == year {
                let expected = listed[date].map { !$0 } ?? !date.weekday.isWeekend
                if calendar.isWorkingDay(date) != expected { mismatches.append("\(date) \(date.weekday): reference says \(expected ? "working" : "off")") }
                checked += 1
                date = date.adding(days: 1)
            }
        }
        #expect(checked >= 2557)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}

@Suite struct CalendarFileTests {
    @Test func readsRangesMakeUpDaysNamesAndComments() throws {
        let calendar = try WorkingCalendar(text: """
            # comment
            year 2021  国务院办公厅关于2021年部分节假日安排的通知
            off  2021-09-19 .. 2021-09-21  中秋节   # trailing comment
            work 2021-09-18                中秋节（调休上班）
            off  2021-10-01..2021-10-07    国庆节
            """)
        #expect(calendar.coveredYears == [2021])
        #expect(calendar.holidays.count == 10)
        #expect(calendar.makeUpWorkdays == [day("2021-09-18")])
        #expect(calendar.dayNames[day("2021-09-20")] == "中秋节")
        #expect(calendar.dayNames[day("2021-09-18")] == "中秋节（调休上班）")
        #expect(calendar.isWorkingDay(day("2021-09-18")))
        #expect(!calendar.isWorkingDay(day("2021-10-04")))
    }

    @Test func namesEveryBadLineAtOnce() {
        let text = """
            off 2021-01-01
            year 2021
            off 2021-02-30
            work 2021-09-17 a Friday
            off 2021-10-07 .. 2021-10-01
            off 2021-05-01 .. 2021-07-01
            off 2021-06-12
            off 2021-06-12
            holiday 2021-06-14
            year 2021
            work 2021-09-18
            off 2021-09-18
            off 2025-01-01
            """
        do {
            _ = try WorkingCalendar(text: text)
            Issue.record("accepted a broken calendar")
        } catch {
            #expect(error.errors.map(\.line) == [1, 3, 4, 5, 6, 8, 9, 10, 12, 13])
            #expect(error.errors[0].message.contains("before any `year` line"))
            #expect(error.errors[1].message.contains("YYYY-MM-DD"))
            #expect(error.errors[2].message.contains("weekday"))
            #expect(error.errors[5].message.contains("line 7"))
            #expect(error.errors[6].message.contains("unknown statement"))
            #expect(error.errors[7].message.contains("line 2"))
            #expect(error.errors[8].message.contains("make-up working day on line 11"))
            #expect(error.description.contains("working calendar line 13"))
        }
    }
}
