/// How long applicants' personal data is kept: until `days` after the appointment, once nothing
/// about the reservation is open any more. Then names, ID numbers and phones are erased; what
/// the summary and the audit need — ids, dates, statuses, department, matter — stays.
///
///     let rule = PersonalDataRetention(days: 180)
///     rule.cutoff(today: CivilDate(year: 2026, month: 11, day: 29)!)   // 2026-06-02: appointments before it are due
///     rule.erase(portalRecord)    // the same record without name, ID number and phone
///
/// Pure. Whether a reservation is settled (no send pending, no copy open, the portal told its
/// final status, nothing on the attention list) is the store's question.
public struct PersonalDataRetention: Hashable, Sendable {
    public var days: Int

    public init(days: Int) { self.days = days }

    /// Appointments before this date are past the retention.
    public func cutoff(today: CivilDate) -> CivilDate { today.adding(days: -days) }

    /// What replaces an erased value.
    public static let erased = ""

    public func erase(_ r: PortalReservation) -> PortalReservation {
        var copy = r
        copy.applicant.name = copy.applicant.name.map { _ in Self.erased }
        copy.applicant.idNumber = copy.applicant.idNumber.map { _ in Self.erased }
        copy.applicant.phone = copy.applicant.phone.map { _ in Self.erased }
        return copy
    }

    public func erase(_ content: HallItemContent) -> HallItemContent {
        var copy = content
        copy.applicantName = Self.erased
        copy.idNumber = Self.erased
        copy.phone = Self.erased
        return copy
    }

    /// The keys of a hall create or update body (contract §3.3) that hold personal data.
    public static let bodyKeys = ["applicantName", "idNumber", "phone"]
}

extension Appointment {
    /// The appointment's date as the portal wrote it (`2021/9/11`, `20210911`, …), nil when it
    /// cannot be read: for the summary's date ranges and the retention of any record, held or not.
    public static func date(fromPortal raw: String?) -> CivilDate? {
        try? parseDate(raw)
    }
}
