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
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, let date = CivilDate(iso: parts[0]) else { return nil }
        let clock = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
              let h = Int(clock[0]), let m = Int(clock[1]), let s = Int(clock[2]) else { return nil }
        self.init(date: date, hour: h, minute: m, second: s)
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
