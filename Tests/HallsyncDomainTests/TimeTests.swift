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
    /// The byte-wise reading of the common form agrees with the general parser on every text:
    /// valid times, impossible dates and clocks, signs, spaces, full-width and other digits.
    @Test func theByteWiseReadingAgreesWithTheGeneralParser() {
        var generator = SystemRandomNumberGenerator()
        let replacements = ["+", "-", " ", "０", "٣", "a", "", "00", ":", "9"]
        var texts = ["2021-09-11 10:00:00", "2020-02-29 23:59:59", "2021-02-29 10:00:00", "2021-09-11 24:00:00",
                     "2021-09-11 10:60:00", "2021-13-01 00:00:00", "0000-01-01 00:00:00", "9999-12-31 23:59:59",
                     "2021-+9-11 10:00:00", "2021-09-11 +1:00:00", "2021-09-11T10:00:00", " 2021-09-11 10:00:00", ""]
        for _ in 0..<20_000 {
            var text = Array(String(format: "%04d-%02d-%02d %02d:%02d:%02d", Int.random(in: 0...9999, using: &generator),
                                    Int.random(in: 0...13, using: &generator), Int.random(in: 0...32, using: &generator),
                                    Int.random(in: 0...25, using: &generator), Int.random(in: 0...61, using: &generator),
                                    Int.random(in: 0...61, using: &generator)))
            if Bool.random(using: &generator) {
                let at = Int.random(in: 0..<text.count, using: &generator)
                text.replaceSubrange(at...at, with: Array(replacements.randomElement(using: &generator)!))
            }
            texts.append(String(text))
        }
        var fast = 0
        for text in texts {
            #expect(BeijingTime(parsing: text) == BeijingTime(generalParsing: text), "\(text)")
            if let byBytes = BeijingTime.parsingDigits(text) {
                fast += 1
                #expect(byBytes == BeijingTime(generalParsing: text), "\(text)")
            }
            // A substring (a slice of a page) reads the same.
            #expect(BeijingTime(parsing: Substring(text)) == BeijingTime(generalParsing: text), "\(text)")
        }
        #expect(fast > 1_000, "the byte-wise reading was used for \(fast) texts")
    }

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
