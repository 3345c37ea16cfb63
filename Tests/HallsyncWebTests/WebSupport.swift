import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncOperations
import HallsyncStandIns
import HallsyncStore
@testable import HallsyncTransport
@testable import HallsyncWeb
import Logging
import HallsyncTestSupport
import Testing

/// A stand-in site with two departments' reservations delivered, the daemon's engine, and three
/// accounts: a clerk of each department and the region's administrator. With `process`, the
/// real `hallsync web` serves it on loopback; without, the tests send requests to the real router
/// and middleware in this process (``withRouter(_:)``).
final class WebSite: @unchecked Sendable {
    static let deptA = "11371002MB0000000B"
    static let deptB = "11371002MB0000001C"
    static let password = "correct horse battery"

    let directory: String
    let site: StandInSite
    var engine: SyncEngine
    let configuration: HallsyncEngine.Configuration
    /// The web page's database, as the test sees it (the server is another process).
    let web: WebStore
    let port: Int
    private let process: Process?

    static let logger = Logger(label: "hallsync-web-test") { JournalLogHandler(label: $0, level: .error) }

    /// - Parameter dialect: `.postgresql` puts the daemon's state and the web page's tables in a
    ///   database of its own on the suite's private cluster (``PrivateCluster/current``), the
    ///   daemon one of a pair holding the region's lease (as `web-test-daemon`).
    init(_ name: String, extraYAML: String = "", unknownMatter: String = "licensing", process serve: Bool = true,
         dialect: SQLDialect = .sqlite) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-web-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        site = try StandInSite(directory: directory, options: .init(lag: 0, faults: .none))
        var store = ""
        if dialect == .postgresql {
            let cluster = try #require(PrivateCluster.current, "a suite with web sites on PostgreSQL needs the .privateCluster trait")
            let conninfo = try cluster.createDatabase("web_" + name.lowercased().filter { $0.isLetter || $0.isNumber } + "_" + String(UInt32.random(in: 0..<UInt32.max), radix: 36))
            store = "store:\n  kind: postgresql\n  connection: \"\(conninfo)\"\n  holder: web-test-daemon\n  leaseTTL: 4\n  renewInterval: 1\n  standbyPoll: 0.5\n"
        }
        let yaml = site.configurationYAML(database: directory + "/state.sqlite", interval: 1)
            .replacingOccurrences(of: "sync:\n", with: "sync:\n  unknownMatter: \(unknownMatter)\n")
            + "web:\n  listen: 127.0.0.1\n  port: 0\n  database: \(directory)/web.sqlite\n  loginAttemptsPerMinute: 3\n" + store + extraYAML
        try yaml.write(toFile: directory + "/hallsync.yaml", atomically: true, encoding: .utf8)
        configuration = try Configuration.load(path: directory + "/hallsync.yaml")
        engine = try SyncEngine(configuration: configuration, logger: Self.logger)
        if let pair = engine.pair {
            // One of a pair: it works once it leads (the only daemon: at once).
            pair.start()
            let deadline = Date().addingTimeInterval(20)
            while !pair.isLeading, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            guard pair.isLeading else { throw CommandFailed(arguments: ["(lease)"], status: 1, output: "the test's daemon did not win the lease in 20 s") }
        }
        // The daemon must have created its database before the web page opens it.
        _ = engine.runCycle(stop: StopSignal())
        web = dialect == .sqlite ? try WebStore(path: configuration.web.database) : try WebState(configuration: configuration).web
        let accounts = AccountStore(web: web, cost: 4)
        _ = try accounts.add(Account(name: "clerkA", role: .staff, departments: [Self.deptA]), password: Self.password)
        _ = try accounts.add(Account(name: "clerkB", role: .staff, departments: [Self.deptB]), password: Self.password)
        _ = try accounts.add(Account(name: "admin", role: .admin, region: "371002"), password: Self.password)
        guard serve else {
            process = nil
            port = 0
            return
        }
        // The real `hallsync web`, a process of its own, on a free port it reports in its log.
        let (started, found) = try Self.startWeb(config: directory + "/hallsync.yaml", log: directory + "/web.log")
        process = started
        port = found
    }

    /// Starts `hallsync web --config CONFIG` (port 0) and waits for the port it reports in its log
    /// (0 when it did not start within 30 s).
    static func startWeb(config: String, log: String) throws -> (Process, Int) {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.hallsyncBinary)
        process.arguments = ["web", "--config", config, "--log-level", "notice"]
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        var found = 0
        let deadline = Date().addingTimeInterval(30)
        while found == 0, Date() < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"address=http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression) {
                found = Int(text[range].split(separator: ":").last!.dropLast()) ?? 0
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        return (process, found)
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    var isRunning: Bool { process?.isRunning ?? false }

    /// Runs `hallsync user ARGS --config …` (the real command, another process), with `input` on
    /// its standard input; fails the test when it exits non-zero.
    func user(_ arguments: [String], input: String = "") throws {
        let command = Process()
        command.executableURL = URL(fileURLWithPath: Self.hallsyncBinary)
        command.arguments = ["user"] + arguments + ["--config", directory + "/hallsync.yaml"]
        let stdin = Pipe(), output = Pipe()
        command.standardInput = stdin
        command.standardOutput = output
        command.standardError = output
        try command.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        command.waitUntilExit()
        guard command.terminationStatus == 0 else { throw CommandFailed(arguments: arguments, status: command.terminationStatus, output: text) }
    }

    struct CommandFailed: Error, CustomStringConvertible {
        let arguments: [String]
        let status: Int32
        let output: String
        var description: String { "hallsync user \(arguments.joined(separator: " ")) exited \(status): \(output)" }
    }

    func stop() {
        if let process, process.isRunning { process.terminate(); process.waitUntilExit() }
        engine.pair?.stop()
        site.stop()
    }

    /// The `hallsync` executable built next to the test bundle.
    static var hallsyncBinary: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("hallsync").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/hallsync").path
    }

    /// A reservation of the site's region; `dept` picks the department, `matter` the catalogue matter.
    static func reservation(_ id: String, dept: String = deptA, matter: String = "371002-XK-0012", name: String = "王某某",
                            phone: String = "13806310000", date: String = "2021-09-11") -> PortalReservation {
        // Born 1980-01-01; the sequence from the id, the same in every run (`hashValue` is seeded
        // per process, and its first digit once made the day of birth 00).
        let seventeen = "37100219800101" + String(format: "%03d", id.unicodeScalars.reduce(0) { ($0 * 31 + Int($1.value)) % 1000 })
        // Made before the appointment: an appointment before the reservation was made is held.
        return PortalReservation(reservationId: id, version: 0, createTime: "2021-09-01 09:00:00", updateTime: "",
                                 applicant: .init(name: name, idNumber: seventeen + String(ResidentIdentityNumber.checkCharacter(for: seventeen)!), phone: phone),
                                 regionCode: "371002", deptCode: dept, deptName: dept == deptA ? "环翠区行政审批服务局" : "环翠区住房和城乡建设局",
                                 itemCode: matter, itemName: "事项", appointmentDate: date, appointmentSlot: "10:00-10:30")
    }

    func publish(_ r: PortalReservation) { site.portal.publish(r) }

    /// Two departments, each with a delivered reservation and a phone-verified one, and in
    /// department A a held one (a wrong check digit); served in this process (``withRouter(_:)``).
    static func populated(_ name: String, _ dialect: SQLDialect = .sqlite) throws -> WebSite {
        let site = try WebSite(name, process: false, dialect: dialect)
        site.publish(reservation("YY-A1", name: "欧阳娜娜", phone: "13911112222"))
        site.publish(reservation("YY-B1", dept: deptB, matter: "371002-XK-0107", name: "司马相如", phone: "13933334444"))
        var phoneA = reservation("YY-PA", name: "诸葛孔明", phone: "5201234")
        phoneA.handleMode = "PHONE"
        site.publish(phoneA)
        var phoneB = reservation("YY-PB", dept: deptB, matter: "371002-XK-0107", name: "上官婉儿", phone: "13955556666")
        phoneB.handleMode = "PHONE"
        site.publish(phoneB)
        var held = reservation("YY-HA", name: "东方不败")
        held.applicant.idNumber = "371002198001010150"
        site.publish(held)
        site.drain()
        return site
    }


    /// Cycles until everything published is in and nothing is pending.
    func drain() {
        // Until a cycle that started after everything published is below the horizon (the
        // portal's visibility lag and hallsync's margin, and the second being read).
        let mustStartAfter = Date().addingTimeInterval(Double(configuration.portal.visibilityLag + configuration.portal.lagMargin) + 2)
        for _ in 0..<100 {
            let report = engine.runCycle(stop: StopSignal())
            if report.startedAt > mustStartAfter, report.caughtUp, report.errors.isEmpty, report.counts.pendingSends.values.reduce(0, +) == 0,
               report.clerkRequests == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    func browser() throws -> Browser { try Browser(baseURL: baseURL) }
}

/// A client with a cookie jar, over libcurl, that follows 303 redirects by hand.
final class Browser: @unchecked Sendable {
    let baseURL: String
    let http: CurlHTTPClient
    var cookies: [String: String] = [:]
    /// Every Set-Cookie line received, for checking its attributes.
    var setCookies: [String] = []

    init(baseURL: String) throws {
        self.baseURL = baseURL
        http = try CurlHTTPClient(options: .init(connectTimeout: 2, totalTimeout: 30))
    }

    struct Page {
        var status: Int
        var body: String
        var bytes: Data
        var headers: [String: String]
        var location: String?
    }

    func request(_ method: HTTPRequest.Method, _ path: String, form: [String: String]? = nil, follow: Bool = true) throws -> Page {
        var headers: [(name: String, value: String)] = []
        if !cookies.isEmpty { headers.append(("Cookie", cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))) }
        var body: Data?
        if let form {
            body = Data(form.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&").utf8)
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        }
        let response = try http.perform(HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body))
        for (name, value) in response.allHeaders where name == "set-cookie" {
            setCookies.append(value)
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if value.lowercased().contains("max-age=0") || value.contains("1970") { cookies[pair[0]] = nil } else { cookies[pair[0]] = pair[1] }
        }
        let page = Page(status: response.status, body: String(decoding: response.body, as: UTF8.self), bytes: response.body,
                        headers: response.headers, location: response.header("location"))
        if follow, response.status == 303, let location = page.location { return try request(.get, location) }
        return page
    }

    func get(_ path: String) throws -> Page { try request(.get, path) }

    /// The hidden `csrf` field of the page at `path` (or of `page`).
    func csrf(in page: Page) -> String? {
        guard let range = page.body.range(of: #"name="csrf" value=""#) else { return nil }
        return String(page.body[range.upperBound...].prefix { $0 != "\"" })
    }

    @discardableResult
    func login(_ name: String, password: String = WebSite.password) throws -> Page {
        let form = try get("/login")
        return try request(.post, "/login", form: ["name": name, "password": password, "csrf": csrf(in: form) ?? ""])
    }
}
