/// The appointment the applicant chose, read from the portal's date and slot.
///
///     let a = try Appointment.parse(date: "2021/9/11", slot: "上午", sessions: .weihai)
///     a.start   // 2021-09-11 09:00:00 Beijing time
public struct Appointment: Hashable, Sendable {
    public let start: BeijingTime

    public struct Sessions: Hashable, Sendable {
        /// Second of day at which the morning session (上午) starts.
        public var morningStart: Int
        /// Second of day at which the afternoon session (下午) starts.
        public var afternoonStart: Int

        public init(morningStart: Int, afternoonStart: Int) {
            self.morningStart = morningStart
            self.afternoonStart = afternoonStart
        }

        /// Weihai halls: 09:00 and 13:30.
        public static let weihai = Sessions(morningStart: 9 * 3600, afternoonStart: 13 * 3600 + 1800)
    }

    public static func parse(date rawDate: String?, slot rawSlot: String?, sessions: Sessions) throws(DomainError) -> Appointment {
        let date = try parseDate(rawDate)
        let second = try parseSlotStart(rawSlot, sessions: sessions)
        return Appointment(start: BeijingTime(date: date, secondOfDay: second))
    }

    static func parseDate(_ raw: String?) throws(DomainError) -> CivilDate {
        let field = "appointmentDate"
        let text = TextCleaning.trimmed(TextCleaning.halfWidth(raw ?? ""))
        guard !text.isEmpty else {
            throw DomainError(code: .missingField, field: field,
                              zh: "缺少预约日期，请联系申请人确认预约时间",
                              en: "The appointment date is missing; confirm the appointment with the applicant.")
        }
        let invalid = DomainError(code: .appointmentDate, field: field,
                                  zh: "预约日期无法识别或不存在，请联系申请人确认预约时间",
                                  en: "The appointment date cannot be read or does not exist; confirm the appointment with the applicant.")
        var parts: [Substring]
        if TextCleaning.isASCIIDigits(text) {
            guard text.count == 8 else { throw invalid }
            parts = [text.prefix(4), text.dropFirst(4).prefix(2), text.suffix(2)]
        } else {
            let separators: Set<Character> = ["-", "/", ".", "年", "月", "日"]
            parts = text.split(whereSeparator: { separators.contains($0) })
        }
        guard parts.count == 3, parts[0].count == 4, (1...2).contains(parts[1].count), (1...2).contains(parts[2].count),
              parts.allSatisfy({ TextCleaning.isASCIIDigits($0) }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              let date = CivilDate(year: y, month: m, day: d) else { throw invalid }
        return date
    }

    static func parseSlotStart(_ raw: String?, sessions: Sessions) throws(DomainError) -> Int {
        let field = "appointmentSlot"
        let text = TextCleaning.trimmed(TextCleaning.halfWidth(raw ?? ""))
        guard !text.isEmpty else {
            throw DomainError(code: .missingField, field: field,
                              zh: "缺少预约时段，请联系申请人确认预约时间",
                              en: "The appointment slot is missing; confirm the appointment with the applicant.")
        }
        if text.hasPrefix("上午") { return sessions.morningStart }
        if text.hasPrefix("下午") { return sessions.afternoonStart }
        let invalid = DomainError(code: .appointmentSlot, field: field,
                                  zh: "预约时段无法识别，请联系申请人确认预约时间",
                                  en: "The appointment slot cannot be read; confirm the appointment with the applicant.")
        // The start is what precedes the first range separator: - ~ ～ — – 至 到.
        let separators: Set<Character> = ["-", "~", "～", "—", "–", "至", "到", "〜", "−"]
        let start = TextCleaning.trimmed(String(text.prefix(while: { !separators.contains($0) })))
        let clock = start.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(clock.count), (1...2).contains(clock[0].count), clock[1].count == 2,
              clock.allSatisfy({ TextCleaning.isASCIIDigits($0) }),
              let h = Int(clock[0]), let m = Int(clock[1]), h < 24, m < 60 else { throw invalid }
        return h * 3600 + m * 60
    }
}
