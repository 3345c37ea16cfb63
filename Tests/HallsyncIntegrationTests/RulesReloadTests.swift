import Foundation
import HallsyncDomain
import HallsyncEngine
import Testing

/// The catalogue and the calendar are edited by operations while the daemon runs.
@Suite struct RulesReloadTests {
    @Test func aReloadAppliesAnEditedCalendarAndRefusesABrokenOneKeepingTheOld() throws {
        let (site, engine) = try Support.quietSite("reload")
        defer { site.stop() }
        let path = engine.configuration.calendar
        let start = BeijingTime(parsing: "2021-09-18 10:00:00")!
        // The project's calendar: the Mid-Autumn holiday runs to Tuesday 21 September.
        #expect(engine.rules.calendar.deadline(forAppointmentStart: start).time.description == "2021-09-22 10:00:00")

        // An operator's calendar without that holiday.
        try "year 2021\nwork 2021-09-18  中秋节（调休上班）\n".write(toFile: path, atomically: true, encoding: .utf8)
        try engine.reloadRules()
        #expect(engine.rules.calendar.deadline(forAppointmentStart: start).time.description == "2021-09-20 10:00:00")
        site.portal.publish(Support.reservation("YY-RELOAD", itemCode: "371002-XK-0107", itemName: "建筑工程施工许可证核发", date: "2021-09-18", slot: "10:00"))
        Support.drain(engine, lag: 0, timeout: 20)
        #expect(site.licensing.items(externalId: "YY-RELOAD").first?.deadline == "2021-09-20 10:00:00")

        // A broken edit is refused as a whole, with the line, and the rules in use stay.
        try "year 2021\noff 2021-09-31\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try engine.reloadRules() }
        do { try engine.reloadRules() } catch { #expect(error.description.contains("working calendar line 2")) }
        #expect(engine.rules.calendar.deadline(forAppointmentStart: start).time.description == "2021-09-20 10:00:00")

        // So is a catalogue with a duplicate code.
        try "itemCode,matterName,deptCode,throughIntake\nA,n,d,true\nA,n,d,true\n".write(toFile: engine.configuration.catalogue, atomically: true, encoding: .utf8)
        do { try engine.reloadRules(); Issue.record("accepted a broken catalogue") } catch {
            #expect(error.description.contains("line 3"))
        }
        #expect(engine.rules.catalogue.matter(forItemCode: "371002-XK-0107") != nil)
    }
}
