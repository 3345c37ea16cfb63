import Foundation
import HallsyncDomain
import HallsyncEngine
import Synchronization
import HallsyncTestSupport
import Testing

/// The catalogue and the calendar are edited by operations while the daemon runs; a reload
/// (what SIGHUP asks for) builds the engine anew between cycles, or keeps the running one.
@Suite struct RulesReloadTests {
    @Test func aReloadAppliesAnEditedCalendarAndRefusesABrokenOneKeepingTheOld() async throws {
        try await offPool {
            let (site, engine) = try Support.quietSite("reload")
            defer { site.stop() }
            let configPath = try #require(engine.configuration.sourcePath)
            let daemon = Daemon(engine: engine, logger: Support.logger)
            daemon.reload = { try SyncEngine(configuration: try Configuration.load(path: configPath), logger: Support.logger) }
            let failure = Mutex<String?>(nil)
            daemon.onReload = { starting, error, _ in if !starting { failure.withLock { $0 = error.map { "\($0)" } } } }
            func reload() -> String? {
                daemon.requestReload()
                daemon.queue.sync {}
                return failure.withLock { $0 }
            }
            let path = engine.configuration.calendar
            let start = BeijingTime(parsing: "2021-09-18 10:00:00")!
            // The project's calendar: the Mid-Autumn holiday runs to Tuesday 21 September.
            #expect(daemon.engine.rules.calendar.deadline(forAppointmentStart: start).time.description == "2021-09-22 10:00:00")

            // An operator's calendar without that holiday.
            try "year 2021\nwork 2021-09-18  中秋节（调休上班）\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(reload() == nil)
            #expect(daemon.engine !== engine)
            #expect(daemon.engine.rules.calendar.deadline(forAppointmentStart: start).time.description == "2021-09-20 10:00:00")
            site.portal.publish(Support.reservation("YY-RELOAD", itemCode: "371002-XK-0107", itemName: "建筑工程施工许可证核发", date: "2021-09-18", slot: "10:00"))
            Support.drain(daemon.engine, timeout: 20)
            #expect(site.licensing.items(externalId: "YY-RELOAD").first?.deadline == "2021-09-20 10:00:00")

            // A broken edit is refused as a whole, with the line, and the engine in use stays.
            let running = daemon.engine
            try "year 2021\noff 2021-09-31\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(reload()?.contains("working calendar line 2") == true)
            #expect(daemon.engine === running)
            #expect(daemon.engine.rules.calendar.deadline(forAppointmentStart: start).time.description == "2021-09-20 10:00:00")

            // So is a catalogue with a duplicate code.
            try "year 2021\n".write(toFile: path, atomically: true, encoding: .utf8)
            try "itemCode,matterName,deptCode,throughIntake\nA,n,d,true\nA,n,d,true\n".write(toFile: engine.configuration.catalogue, atomically: true, encoding: .utf8)
            #expect(reload()?.contains("matter catalogue line 3") == true)
            #expect(daemon.engine === running)
            #expect(daemon.engine.rules.catalogue.matter(forItemCode: "371002-XK-0107") != nil)
        }
    }
}
