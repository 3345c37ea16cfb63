import Foundation
import Testing
@testable import HallsyncDomain

@Suite struct CivilDateTests {
    @Test func roundTripsEveryDayFrom1900To2100() {
        var date = CivilDate(year: 1900, month: 1, day: 1)!
        var days = date.daysSince1970
        while date.year < 2100 {
            #expect(CivilDate(daysSince1970: days) == date)
            let next = date.adding(days: 1)
            #expect(next.daysSince1970 == days + 1)
            date = next
            days += 1
        }
    }

    @Test func knowsWeekdaysAndLeapYears() {
        #expect(CivilDate(year: 2021, month: 9, day: 11)!.weekday == .saturday)
        #expect(CivilDate(year: 1970, month: 1, day: 1)!.weekday == .thursday)
        #expect(CivilDate(year: 2000, month: 2, day: 29) != nil)
        #expect(CivilDate(year: 1900, month: 2, day: 29) == nil)
        #expect(CivilDate(year: 2021, month: 13, day: 1) == nil)
    }
}

@Suite struct BeijingTimeTests {
    @Test func convertsWithAFixedOffsetWhateverTheHostZone() {
        // 2021-09-11 10:00:00 in Beijing is 02:00:00 UTC.
        let t = BeijingTime(parsing: "2021-09-11 10:00:00")!
        #expect(t.unixSeconds == 1_631_325_600)
        #expect(BeijingTime(Date(timeIntervalSince1970: 1_631_325_600)).description == "2021-09-11 10:00:00")
        // Midnight UTC is 08:00 in Beijing on the same date; 16:00 UTC is the next day.
        #expect(BeijingTime(unixSeconds: 1_631_318_400).description == "2021-09-11 08:00:00")
        #expect(BeijingTime(unixSeconds: 1_631_376_000).description == "2021-09-12 00:00:00")
    }

    @Test(arguments: ["2021-09-11 10:00", "2021-9-11 10:00:00", "2021-02-29 10:00:00", "2021-09-11 24:00:00", "", "2021-09-11T10:00:00"])
    func refusesAnythingButTheWireFormat(_ text: String) {
        #expect(BeijingTime(parsing: text) == nil)
    }
}
