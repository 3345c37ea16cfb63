import Testing
@testable import HallsyncDomain

@Suite struct PersonalDataRetentionTests {
    @Test func theCutoffIsTheRetentionBeforeToday() {
        let rule = PersonalDataRetention(days: 180)
        #expect(rule.cutoff(today: CivilDate(year: 2026, month: 11, day: 29)!) == CivilDate(year: 2026, month: 6, day: 2)!)
    }

    @Test func erasesNameIdNumberAndPhoneAndKeepsWhatTheSummaryNeeds() {
        let rule = PersonalDataRetention(days: 180)
        let r = PortalReservation(reservationId: "YY1", version: 3, updateTime: "2021-09-08 09:00:00",
                                  applicant: .init(type: "ORG", name: "王某", idNumber: "37100219800101015X", orgName: "威海某某有限公司",
                                                   orgCode: "91371002MA3C123456", phone: "13806310000"),
                                  regionCode: "371002", deptCode: "D1", itemCode: "371002-XK-0012", itemName: "公司设立登记",
                                  appointmentDate: "2021/9/11", appointmentSlot: "上午")
        let erased = rule.erase(r)
        #expect(erased.applicant.name == "" && erased.applicant.idNumber == "" && erased.applicant.phone == "")
        #expect(erased.reservationId == "YY1" && erased.deptCode == "D1" && erased.itemCode == "371002-XK-0012"
                && erased.appointmentDate == "2021/9/11" && erased.applicant.orgName == "威海某某有限公司")
        var missing = r
        missing.applicant.phone = nil
        #expect(rule.erase(missing).applicant.phone == nil, "nothing is invented where there was nothing")
    }

    @Test func readsTheAppointmentDateOfAnyRecord() {
        #expect(Appointment.date(fromPortal: "2021/9/11") == CivilDate(year: 2021, month: 9, day: 11))
        #expect(Appointment.date(fromPortal: "20210911") == CivilDate(year: 2021, month: 9, day: 11))
        #expect(Appointment.date(fromPortal: "2021-02-29") == nil)
        #expect(Appointment.date(fromPortal: nil) == nil)
    }
}
