import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncStandIns
import HallsyncStore
import HallsyncTransport
#if canImport(Glibc)
import Glibc
#endif

/// `hallsync bench floor`: what the work every reservation needs costs by itself on this machine
/// — a record read from a portal page, normalised, a hall create, a status push, a one-row
/// commit — each measured alone with hallsync's own clients against the stand-ins (in their own
/// process), on one thread, by that thread's CPU clock. No daemon runs: the figures are the
/// floor under the daemon's CPU per reservation, whatever the engine does around them.
struct BenchFloor {
    struct Figures: Codable {
        var records: Int
        /// CPU microseconds per unit, by what was measured.
        var listPerRecord: Double
        var normalizePerRecord: Double
        var hallCreate: Double
        var portalPush: Double
        var oneRowCommit: Double
        /// A record routed to both halls: a record read, normalised, two creates, one push.
        var requestsPerReservation: Double
        /// The same with the three commits a crash-safe sync needs at the least (the version
        /// stored before its sends, each create's item number before the push that names it, the push).
        var withCommitsPerReservation: Double
        var host: String
    }

    /// CPU time of the calling thread, seconds (user + system).
    static func threadCPU() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func measure(records: Int, executable: String, host: String) throws -> Figures {
        var scenario = BenchScenario(name: "floor")
        scenario.backlog = records
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-bench-floor-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (site, configPath) = try BenchSite.launch(scenario, directory: directory, executable: executable, timeout: 3600)
        defer {
            site.closeInput()
            _ = site.wait()
        }
        let configuration = try Configuration.load(path: configPath)
        let rules = try SiteRules.load(configuration)
        let portal = try configuration.portalClient(signer: try configuration.portalSigner())
        let halls = Dictionary(uniqueKeysWithValues: try HallTarget.allCases.map { target throws in
            (target, try configuration.hallClient(target, token: TokenSource(path: configuration.hall(target).tokenFile)))
        })

        // Every page of the backlog, as the daemon reads it (its page size).
        var started = threadCPU()
        var portalRecords: [PortalReservation] = []
        let from = BeijingTime(parsing: configuration.portal.startFrom ?? "") ?? BeijingTime.now().adding(seconds: -86_400 * 30)
        let until = BeijingTime.now()
        var pageNo = 1
        while true {
            let page = try portal.listReservations(regionCode: configuration.portal.regionCode, from: from, until: until,
                                                   pageNo: pageNo, pageSize: configuration.portal.pageSize)
            for case .reservation(let r) in page.entries { portalRecords.append(r) }
            if page.entries.isEmpty || pageNo * configuration.portal.pageSize >= page.total { break }
            pageNo += 1
        }
        let list = (threadCPU() - started) / Double(max(portalRecords.count, 1))

        started = threadCPU()
        var normalized: [NormalizedReservation] = []
        for record in portalRecords {
            if case .deliverable(let n) = rules.normalizer.normalize(record) { normalized.append(n) }
        }
        let normalize = (threadCPU() - started) / Double(max(portalRecords.count, 1))

        // One create per deliverable record in the first hall of its route, then one push each.
        let encoder = JSONEncoder()
        var bodies: [(HallTarget, Data, String)] = []
        for n in normalized {
            let target = n.route.targets.first ?? .licensing
            bodies.append((target, try encoder.encode(HallItemCreate(externalId: n.reservationId, revision: n.version, content: n.content, linkedItemNo: nil)),
                           n.reservationId))
        }
        var itemNumbers: [(String, String)] = []
        started = threadCPU()
        for (target, body, id) in bodies {
            itemNumbers.append((id, try halls[target]!.createItem(body: body, idempotencyKey: "floor-\(id)")))
        }
        let create = (threadCPU() - started) / Double(max(bodies.count, 1))

        let at = BeijingTime.now().description
        let pushes = try itemNumbers.map { id, itemNo in
            (id, try encoder.encode(PortalClient.StatusPush(processStatus: "RECEIVED", hallItemNo: itemNo, operator_: "", changedAt: at, remark: "")))
        }
        started = threadCPU()
        for (id, body) in pushes {
            try portal.pushStatus(reservationId: id, body: body, requestId: "floor-\(id)")
        }
        let push = (threadCPU() - started) / Double(max(pushes.count, 1))

        // A one-row write transaction in a database of hallsync's schema and settings (WAL, synchronous NORMAL).
        let store = try Store(path: directory + "/floor.sqlite")
        let commits = max(records, 1000)
        started = threadCPU()
        for i in 0..<commits {
            try store.write { tx in try tx.setCursor(.portalPosition, to: "2026-11-29 10:00:00|\(i)", now: Double(i)) }
        }
        let commit = (threadCPU() - started) / Double(commits)

        let requests = list + normalize + 2 * create + push
        return Figures(records: portalRecords.count, listPerRecord: list * 1e6, normalizePerRecord: normalize * 1e6,
                       hallCreate: create * 1e6, portalPush: push * 1e6, oneRowCommit: commit * 1e6,
                       requestsPerReservation: requests * 1e6, withCommitsPerReservation: (requests + 3 * commit) * 1e6, host: host)
    }

    static func line(_ f: Figures) -> String {
        func us(_ v: Double) -> String { String(format: "%.0f", v) }
        return "floor      \(f.records) records, µs of CPU each: page read \(us(f.listPerRecord)), normalise \(us(f.normalizePerRecord)), "
            + "hall create \(us(f.hallCreate)), portal push \(us(f.portalPush)), one-row commit \(us(f.oneRowCommit)); "
            + "a reservation for both halls needs \(us(f.requestsPerReservation)) µs of requests, \(us(f.withCommitsPerReservation)) µs with three commits"
    }
}
