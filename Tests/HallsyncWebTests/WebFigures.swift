import Foundation
import GRDB
import HallsyncDomain
import HallsyncStore
import Testing
@testable import HallsyncWeb

/// The data behind the README's figures for the web page — not a test of speed (those are
/// measured by hand, see the README): with `HALLSYNC_WEB_FIGURES=DIR` it writes a daemon
/// database of 122,760 reservations over two months in 60 departments × 62 matters (3,720
/// summary lines) with 7,509 attention entries, and a configuration for `hallsync web`, into DIR.
@Suite struct WebFigures {
    static let directory = ProcessInfo.processInfo.environment["HALLSYNC_WEB_FIGURES"]

    @Test(.enabled(if: directory != nil, "set HALLSYNC_WEB_FIGURES=DIR to write the figures' data set"))
    func writeTheFiguresDataSet() throws {
        let target = try #require(Self.directory)
        let site = try WebSite("figures", process: false)
        site.stop()
        try WebFixtures.insert(into: site.configuration.database, departments: 60, matters: 62, perLine: 33, date: "2021-09-01", days: 61)
        try WebFixtures.insertAttention(into: site.configuration.database, count: 7_509)
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let database = try DatabaseQueue(path: site.configuration.database)
        try database.backup(to: try DatabaseQueue(path: target + "/state.sqlite"))
        try database.close()
        let yaml = try String(contentsOfFile: site.directory + "/hallsync.yaml", encoding: .utf8)
            .replacingOccurrences(of: site.directory + "/state.sqlite", with: target + "/state.sqlite")
            .replacingOccurrences(of: site.directory + "/web.sqlite", with: target + "/web.sqlite")
            .replacingOccurrences(of: "loginAttemptsPerMinute: 3", with: "loginAttemptsPerMinute: 100")
        try yaml.write(toFile: target + "/hallsync.yaml", atomically: true, encoding: .utf8)
        let store = try Store(path: target + "/state.sqlite", readOnly: true, attaching: ["web": site.configuration.web.database])
        let lines = try store.read { tx in
            try tx.summary(scope: .region("371002"), from: CivilDate(iso: "2021-09-01")!, to: CivilDate(iso: "2021-10-31")!, now: BeijingTime.now()).count
        }
        #expect(lines == 3_720)
        print("web figures: data set in \(target) (3,720 summary lines)")
    }
}
