/// Whether an appointment can be what the applicant chose: not before the reservation was made
/// (a day's leeway for clocks), and not implausibly far after it was made or last changed — an
/// appointment in 1970 would be overdue the moment it reached the halls, one in 2099 would sit
/// in the inboxes for decades. Measured against the record's own times, so the rule is pure.
///
///     let rule = AppointmentPlausibility(maxDaysAhead: 366)
///     try rule.check(appointment, of: record)   // throws APPOINTMENT_IMPLAUSIBLE for 1970 or 2099
public struct AppointmentPlausibility: Hashable, Sendable {
    public var maxDaysAhead: Int

    public init(maxDaysAhead: Int) { self.maxDaysAhead = maxDaysAhead }

    public func check(_ appointment: Appointment, of record: PortalReservation) throws(DomainError) {
        let created = record.createTime.flatMap { BeijingTime(parsing: TextCleaning.trimmed($0)) }
        let updated = BeijingTime(parsing: TextCleaning.trimmed(record.updateTime))
        // A record whose times cannot be read has nothing to be measured against (its position
        // could not be read either; the pull reports it).
        guard let earliest = created ?? updated else { return }
        let latest = [created, updated].compactMap { $0 }.max() ?? earliest
        let date = appointment.start.date
        if date < earliest.date.adding(days: -1) {
            throw DomainError(code: .appointmentImplausible, field: "appointmentDate",
                              zh: "预约日期（\(date)）早于预约提交日期（\(earliest.date)），未送入大厅，请联系申请人确认预约时间",
                              en: "The appointment date \(date) lies before the reservation was made (\(earliest.date)); nothing was sent. Confirm the appointment with the applicant.")
        }
        if date > latest.date.adding(days: maxDaysAhead) {
            throw DomainError(code: .appointmentImplausible, field: "appointmentDate",
                              zh: "预约日期（\(date)）在预约提交或变更后\(maxDaysAhead)天以上，未送入大厅，请联系申请人确认预约时间",
                              en: "The appointment date \(date) lies more than \(maxDaysAhead) days after the reservation was made or changed (\(latest.date)); nothing was sent. Confirm the appointment with the applicant.")
        }
    }
}
