import Foundation

/// A wall-clock instant in Beijing time (Asia/Shanghai, UTC+8, no daylight saving), the
/// only time the portal and the halls speak.
///
///     let t = BeijingTime(parsing: "2021-09-11 10:00:00")!
///     t.date                // 2021-09-11
///     t.secondOfDay         // 36000
///     t.description         // "2021-09-11 10:00:00"
///     t.instant             // the absolute `Date`, whatever the host's TZ
///
/// The conversion is plain arithmetic with a fixed +08:00 offset; no `TimeZone`,
/// `Calendar` or `DateFormatter` is involved, so the host's TZ can never leak in.
public struct BeijingTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let utcOffsetSeconds = 8 * 3600

    public let date: CivilDate
    /// Seconds since midnight, 0..<86400.
    public let secondOfDay: Int

    public init(date: CivilDate, secondOfDay: Int) {
        precondition((0..<86_400).contains(secondOfDay), "secondOfDay out of range")
        self.date = date
        self.secondOfDay = secondOfDay
    }

    public init?(date: CivilDate, hour: Int, minute: Int, second: Int = 0) {
        guard (0..<24).contains(hour), (0..<60).contains(minute), (0..<60).contains(second) else { return nil }
        self.init(date: date, secondOfDay: hour * 3600 + minute * 60 + second)
    }

    /// The Beijing wall-clock reading of an absolute instant (sub-second part dropped).
    public init(_ instant: Date) {
        let seconds = Int((instant.timeIntervalSince1970).rounded(.down)) + BeijingTime.utcOffsetSeconds
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        self.date = CivilDate(daysSince1970: days)
        self.secondOfDay = seconds - days * 86_400
    }

    /// Parses the wire format `yyyy-MM-dd HH:mm:ss`.
    public init?(parsing text: some StringProtocol) {
        if let fast = Self.parsingDigits(text) {
            self = fast
        } else {
            self.init(generalParsing: text)
        }
    }

    /// ``init(parsing:)`` by fields, whatever the text: what decides when the byte-wise reading
    /// (``parsingDigits(_:)``) does not apply.
    init?(generalParsing text: some StringProtocol) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, let date = CivilDate(iso: parts[0]) else { return nil }
        let clock = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
              let h = Int(clock[0]), let m = Int(clock[1]), let s = Int(clock[2]) else { return nil }
        self.init(date: date, hour: h, minute: m, second: s)
    }

    /// The common case of ``init(parsing:)`` read byte by byte: `dddd-dd-dd dd:dd:dd` with ASCII
    /// digits only. Anything else (nil here) goes through the general parser, which decides.
    static func parsingDigits(_ text: some StringProtocol) -> BeijingTime? {
        var fields = (0, 0, 0, 0, 0, 0)
        let parsed: Bool? = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard bytes.count == 19, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x20, bytes[13] == 0x3A, bytes[16] == 0x3A else { return false }
            func number(_ from: Int, _ count: Int) -> Int? {
                var value = 0
                for i in from..<(from + count) {
                    let digit = Int(bytes[i]) - 0x30
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let y = number(0, 4), let mo = number(5, 2), let d = number(8, 2),
                  let h = number(11, 2), let mi = number(14, 2), let s = number(17, 2) else { return false }
            fields = (y, mo, d, h, mi, s)
            return true
        }
        guard parsed == true, let date = CivilDate(year: fields.0, month: fields.1, day: fields.2) else { return nil }
        return BeijingTime(date: date, hour: fields.3, minute: fields.4, second: fields.5)
    }

    public var hour: Int { secondOfDay / 3600 }
    public var minute: Int { secondOfDay / 60 % 60 }
    public var second: Int { secondOfDay % 60 }

    /// Seconds since the Unix epoch.
    public var unixSeconds: Int {
        date.daysSince1970 * 86_400 + secondOfDay - BeijingTime.utcOffsetSeconds
    }

    public var instant: Date { Date(timeIntervalSince1970: TimeInterval(unixSeconds)) }

    public init(unixSeconds: Int) {
        self.init(Date(timeIntervalSince1970: TimeInterval(unixSeconds)))
    }

    public func adding(seconds: Int) -> BeijingTime {
        BeijingTime(unixSeconds: unixSeconds + seconds)
    }

    /// The wire format `yyyy-MM-dd HH:mm:ss`.
    public var description: String {
        "\(date) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
    }

    public static func < (lhs: BeijingTime, rhs: BeijingTime) -> Bool {
        (lhs.date, lhs.secondOfDay) < (rhs.date, rhs.secondOfDay)
    }

    public static func now() -> BeijingTime { BeijingTime(Date()) }

    /// RFC 3339 with the offset, for files people and programs read elsewhere: `2021-09-11T10:00:00+08:00`.
    public var rfc3339: String {
        "\(date)T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))+08:00"
    }
}
