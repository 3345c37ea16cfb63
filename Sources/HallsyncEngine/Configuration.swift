import Foundation
import HallsyncDomain
import HallsyncTransport
import Yams

/// Everything an operator can set, read from a YAML file. Every key has a default except
/// the URLs and credentials; see `Config/hallsync.yaml` for the commented example.
///
///     let configuration = try Configuration.load(path: "/etc/hallsync/hallsync.yaml")
///     configuration.sync.interval   // 10
public struct Configuration: Sendable {
    public struct Portal: Sendable {
        public var baseURL: String
        public var appId: String
        /// File holding the app secret (a systemd credential or a 0600 file).
        public var appSecretFile: String
        public var regionCode: String
        /// Seconds after which a record is guaranteed visible in the list (contract §2.5).
        public var visibilityLag: Int = 60
        /// Extra seconds kept below the lag horizon for clock reading and rounding.
        public var lagMargin: Int = 2
        public var pageSize: Int = 100
        /// Where a fresh database starts reading (`yyyy-MM-dd HH:mm:ss`); default 24 h before the first start.
        public var startFrom: String?
    }

    public struct Hall: Sendable {
        public var baseURL: String
        public var tokenFile: String
    }

    public struct Sync: Sendable {
        /// Seconds between the starts of two cycles.
        public var interval: Double = 10
        /// Portal pages read per cycle at most (settled windows and the recent scan together).
        public var maxPagesPerCycle: Int = 50
        /// Sends attempted per cycle at most.
        public var maxSendsPerCycle: Int = 2000
        /// Requests in flight per hall at once.
        public var concurrencyPerTarget: Int = 8
        /// Open items looked up per cycle and hall while reconciling after an expired feed.
        public var maxLookupsPerCycle: Int = 2000
        public var unknownMatter: Route.UnknownMatterPolicy = .licensing
        /// How long the halls remember an idempotency key, seconds (contract §3.3: 24 h).
        public var idempotencyKeyRetention: Double = 86_400
        /// Before that retention ends, a retry of an uncertain create looks the item up first.
        public var idempotencyKeySafetyMargin: Double = 3_600
        public var retryBase: Double = 1
        public var retryCap: Double = 300
        /// How long the halls retain their change feeds, seconds (contract §3.7: 7 days). A feed not
        /// read for most of that time is reconciled item by item before it is read again.
        public var feedRetention: Double = 604_800
    }

    /// Where the daemon reports on itself, and what monitoring calls unhealthy.
    public struct Operations: Sendable {
        /// The status file, JSON, rewritten after every cycle. Default: `status.json` next to the database.
        public var statusFile: String = ""
        /// Prometheus text exposition for node_exporter's textfile collector; nil: not written.
        public var metricsFile: String?
        /// Seconds the requests in flight may still take after SIGTERM before they are abandoned.
        public var stopGrace: Double = 5
        /// `hallsync status`: the file is stale after this many intervals without a cycle (UNKNOWN).
        public var staleAfterIntervals: Double = 3
        /// An endpoint failing for this many minutes is WARNING, then CRITICAL.
        public var endpointWarningMinutes: Double = 5
        public var endpointCriticalMinutes: Double = 30
        /// Open attention entries (reservations) at which the status is WARNING, then CRITICAL.
        public var attentionWarning: Int = 50
        public var attentionCritical: Int = 500
        /// Overdue open items (超期) at which the status is WARNING, then CRITICAL.
        public var overdueWarning: Int = 1
        public var overdueCritical: Int = 20
    }

    /// How long applicants' personal data is kept (see ``PersonalDataRetention``).
    public struct Retention: Sendable {
        /// Days after the appointment, once everything about the reservation is settled.
        public var personalDataDays: Int = 180
    }

    public struct Site: Sendable {
        public var areaCode: String = "0631"
        public var morningStart: String = "09:00"
        public var afternoonStart: String = "13:30"
    }

    public struct HTTP: Sendable {
        public var connectTimeout: Double = 5
        public var requestTimeout: Double = 30
        public var maxResponseBytes: Int = 16 << 20
        public var verifyTLS: Bool = true
        public var caFile: String?
    }

    public var portal: Portal
    public var intake: Hall
    public var licensing: Hall
    public var sync = Sync()
    public var site = Site()
    public var http = HTTP()
    public var operations = Operations()
    public var retention = Retention()
    /// The SQLite state file.
    public var database: String
    /// The matter catalogue CSV.
    public var catalogue: String
    /// The working-day calendar (`Config/working-calendar.txt`).
    public var calendar: String
    /// Where the file was read from; relative paths are relative to its directory.
    public var sourcePath: String?

    public init(portal: Portal, intake: Hall, licensing: Hall, database: String, catalogue: String, calendar: String) {
        self.portal = portal
        self.intake = intake
        self.licensing = licensing
        self.database = database
        self.catalogue = catalogue
        self.calendar = calendar
    }

    public func hall(_ target: HallTarget) -> Hall { target == .intake ? intake : licensing }

    /// A client of one hall with its own curl handle (a handle is never shared between threads).
    /// Clients of the same hall share `token`, so a token re-read by one serves all.
    public func hallClient(_ target: HallTarget, token: TokenSource) throws(TransportError) -> HallClient {
        HallClient(target: target, baseURL: hall(target).baseURL, token: token, http: try CurlHTTPClient(options: httpOptions))
    }

    public var retryPolicy: RetryPolicy { RetryPolicy(base: sync.retryBase, cap: sync.retryCap) }

    public var httpOptions: CurlHTTPClient.Options {
        CurlHTTPClient.Options(connectTimeout: http.connectTimeout, totalTimeout: http.requestTimeout,
                               maxResponseBytes: http.maxResponseBytes, verifyTLS: http.verifyTLS, caFile: http.caFile)
    }

    public func normalizerSettings() throws(ConfigurationError) -> ReservationNormalizer.Settings {
        ReservationNormalizer.Settings(
            areaCode: site.areaCode,
            sessions: Appointment.Sessions(morningStart: try Self.clock(site.morningStart, key: "site.morningStart"),
                                           afternoonStart: try Self.clock(site.afternoonStart, key: "site.afternoonStart")),
            unknownMatter: sync.unknownMatter)
    }

    static func clock(_ text: String, key: String) throws(ConfigurationError) -> Int {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
            throw ConfigurationError("\(key) must be a time of day like 09:00, found \(text)")
        }
        return h * 3600 + m * 60
    }
}

/// A configuration that cannot be used, with the key at fault.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Configuration {
    /// Reads and checks a YAML configuration file.
    ///
    /// - Parameter resolvingCredentials: false leaves `credential:NAME` secrets unresolved, for
    ///   the tools that need no secret (`deadline`, `normalize`, `status`, `check-config`).
    public static func load(path: String, resolvingCredentials: Bool = true) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("cannot read the configuration file \(path); check the path and its permissions")
        }
        return try parse(yaml: text, sourcePath: path, resolvingCredentials: resolvingCredentials)
    }

    public static func parse(yaml text: String, sourcePath: String?, resolvingCredentials: Bool = true) throws(ConfigurationError) -> Configuration {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw ConfigurationError("the configuration \(sourcePath ?? "") is not valid YAML: \(error)")
        }
        let root = Section(node as? [String: Any] ?? [:], path: "")
        let portalSection = try root.section("portal")
        var portal = Portal(baseURL: try portalSection.url("baseURL"), appId: try portalSection.string("appId"),
                            appSecretFile: try portalSection.string("appSecretFile"),
                            regionCode: try portalSection.string("regionCode"))
        portal.visibilityLag = try portalSection.int("visibilityLag", default: portal.visibilityLag, range: 0...3600)
        portal.lagMargin = try portalSection.int("lagMargin", default: portal.lagMargin, range: 0...600)
        portal.pageSize = try portalSection.int("pageSize", default: portal.pageSize, range: 1...200)
        portal.startFrom = try portalSection.optionalString("startFrom")
        if let start = portal.startFrom, BeijingTime(parsing: start) == nil {
            throw ConfigurationError("portal.startFrom must look like 2021-09-08 09:00:00 (Beijing time), found \(start)")
        }
        func hall(_ name: String) throws(ConfigurationError) -> Hall {
            let s = try root.section(name)
            return Hall(baseURL: try s.url("baseURL"), tokenFile: try s.string("tokenFile"))
        }
        var configuration = Configuration(portal: portal, intake: try hall("intake"), licensing: try hall("licensing"),
                                          database: try root.string("database"), catalogue: try root.string("catalogue"),
                                          calendar: try root.string("calendar"))
        let sync = root.optionalSection("sync")
        configuration.sync.interval = try sync.double("interval", default: 10, range: 0.05...86_400)
        configuration.sync.maxPagesPerCycle = try sync.int("maxPagesPerCycle", default: 50, range: 1...100_000)
        configuration.sync.maxSendsPerCycle = try sync.int("maxSendsPerCycle", default: 2000, range: 1...1_000_000)
        configuration.sync.concurrencyPerTarget = try sync.int("concurrencyPerTarget", default: 8, range: 1...64)
        configuration.sync.maxLookupsPerCycle = try sync.int("maxLookupsPerCycle", default: 2000, range: 1...1_000_000)
        let policy = try sync.optionalString("unknownMatter") ?? "licensing"
        guard let unknown = Route.UnknownMatterPolicy(rawValue: policy) else {
            throw ConfigurationError("sync.unknownMatter must be licensing or hold, found \(policy)")
        }
        configuration.sync.unknownMatter = unknown
        configuration.sync.idempotencyKeyRetention = try sync.double("idempotencyKeyRetention", default: 86_400, range: 1...(30 * 86_400))
        configuration.sync.idempotencyKeySafetyMargin = try sync.double("idempotencyKeySafetyMargin", default: 3_600, range: 0...86_400)
        configuration.sync.retryBase = try sync.double("retryBase", default: 1, range: 0.001...3600)
        configuration.sync.retryCap = try sync.double("retryCap", default: 300, range: 0.001...86_400)
        configuration.sync.feedRetention = try sync.double("feedRetention", default: 604_800, range: 1...(90 * 86_400))
        let site = root.optionalSection("site")
        configuration.site.areaCode = try site.optionalString("areaCode") ?? "0631"
        configuration.site.morningStart = try site.optionalString("morningStart") ?? "09:00"
        configuration.site.afternoonStart = try site.optionalString("afternoonStart") ?? "13:30"
        _ = try configuration.normalizerSettings()
        let http = root.optionalSection("http")
        configuration.http.connectTimeout = try http.double("connectTimeout", default: 5, range: 0.1...600)
        configuration.http.requestTimeout = try http.double("requestTimeout", default: 30, range: 0.1...3600)
        configuration.http.maxResponseBytes = try http.int("maxResponseBytes", default: 16 << 20, range: 1024...(1 << 30))
        configuration.http.verifyTLS = try http.bool("verifyTLS", default: true)
        configuration.http.caFile = try http.optionalString("caFile")
        let retention = root.optionalSection("retention")
        configuration.retention.personalDataDays = try retention.int("personalDataDays", default: 180, range: 1...36_500)
        let ops = root.optionalSection("operations")
        configuration.operations.statusFile = try ops.optionalString("statusFile") ?? ""
        configuration.operations.metricsFile = try ops.optionalString("metricsFile")
        configuration.operations.stopGrace = try ops.double("stopGrace", default: 5, range: 0...60)
        let monitoring = root.optionalSection("monitoring")
        configuration.operations.staleAfterIntervals = try monitoring.double("staleAfterIntervals", default: 3, range: 1...1000)
        configuration.operations.endpointWarningMinutes = try monitoring.double("endpointWarningMinutes", default: 5, range: 0...10_000)
        configuration.operations.endpointCriticalMinutes = try monitoring.double("endpointCriticalMinutes", default: 30, range: 0...10_000)
        configuration.operations.attentionWarning = try monitoring.int("attentionWarning", default: 50, range: 0...10_000_000)
        configuration.operations.attentionCritical = try monitoring.int("attentionCritical", default: 500, range: 0...10_000_000)
        configuration.operations.overdueWarning = try monitoring.int("overdueWarning", default: 1, range: 0...10_000_000)
        configuration.operations.overdueCritical = try monitoring.int("overdueCritical", default: 20, range: 0...10_000_000)
        configuration.sourcePath = sourcePath
        // Secrets may come from systemd credentials (LoadCredential=): `credential:NAME`.
        let credentials = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"]
        func secret(_ value: String, key: String) throws(ConfigurationError) -> String {
            guard value.hasPrefix("credential:"), resolvingCredentials else { return value }
            let name = String(value.dropFirst("credential:".count))
            guard !name.isEmpty, !name.contains("/") else { throw ConfigurationError("\(key): a credential name follows credential:, found \(value)") }
            guard let credentials, !credentials.isEmpty else {
                throw ConfigurationError("\(key) names the systemd credential \(name), but $CREDENTIALS_DIRECTORY is not set: run under systemd with LoadCredential=\(name):/path/to/file, or give a file path instead")
            }
            return credentials + "/" + name
        }
        configuration.portal.appSecretFile = try secret(configuration.portal.appSecretFile, key: "portal.appSecretFile")
        configuration.intake.tokenFile = try secret(configuration.intake.tokenFile, key: "intake.tokenFile")
        configuration.licensing.tokenFile = try secret(configuration.licensing.tokenFile, key: "licensing.tokenFile")
        return configuration.resolvingPaths()
    }

    /// Relative file paths made absolute against the configuration file's directory.
    func resolvingPaths() -> Configuration {
        let base = sourcePath.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
            ?? FileManager.default.currentDirectoryPath
        func resolve(_ p: String) -> String { p.hasPrefix("/") || p.hasPrefix("credential:") ? p : base + "/" + p }
        var c = self
        c.portal.appSecretFile = resolve(c.portal.appSecretFile)
        c.intake.tokenFile = resolve(c.intake.tokenFile)
        c.licensing.tokenFile = resolve(c.licensing.tokenFile)
        c.database = resolve(c.database)
        c.catalogue = resolve(c.catalogue)
        c.calendar = resolve(c.calendar)
        c.http.caFile = c.http.caFile.map(resolve)
        c.operations.statusFile = c.operations.statusFile.isEmpty
            ? URL(fileURLWithPath: c.database).deletingLastPathComponent().appendingPathComponent("status.json").path
            : resolve(c.operations.statusFile)
        c.operations.metricsFile = c.operations.metricsFile.map(resolve)
        return c
    }
}

/// Typed access to one YAML mapping, with the key path in every error.
struct Section {
    let values: [String: Any]
    let path: String

    init(_ values: [String: Any], path: String) {
        self.values = values
        self.path = path
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func section(_ name: String) throws(ConfigurationError) -> Section {
        guard let v = values[name] as? [String: Any] else { throw ConfigurationError("the configuration needs a section \(key(name))") }
        return Section(v, path: key(name))
    }

    func optionalSection(_ name: String) -> Section {
        Section(values[name] as? [String: Any] ?? [:], path: key(name))
    }

    func optionalString(_ name: String) throws(ConfigurationError) -> String? {
        guard let v = values[name], !(v is NSNull) else { return nil }
        if let s = v as? String { return s }
        if let i = v as? Int { return String(i) }
        throw ConfigurationError("\(key(name)) must be text")
    }

    func string(_ name: String) throws(ConfigurationError) -> String {
        guard let s = try optionalString(name), !s.isEmpty else { throw ConfigurationError("\(key(name)) is required") }
        return s
    }

    func url(_ name: String) throws(ConfigurationError) -> String {
        let s = try string(name)
        guard let url = URL(string: s), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ConfigurationError("\(key(name)) must be an http(s) URL, found \(s)")
        }
        return s
    }

    func double(_ name: String, default value: Double, range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let v = values[name] else { return value }
        let d: Double
        if let x = v as? Double { d = x } else if let x = v as? Int { d = Double(x) } else {
            throw ConfigurationError("\(key(name)) must be a number")
        }
        guard range.contains(d) else { throw ConfigurationError("\(key(name)) must lie in \(range.lowerBound)…\(range.upperBound), found \(d)") }
        return d
    }

    func int(_ name: String, default value: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let v = values[name] else { return value }
        guard let i = v as? Int else { throw ConfigurationError("\(key(name)) must be a whole number") }
        guard range.contains(i) else { throw ConfigurationError("\(key(name)) must lie in \(range.lowerBound)…\(range.upperBound), found \(i)") }
        return i
    }

    func bool(_ name: String, default value: Bool) throws(ConfigurationError) -> Bool {
        guard let v = values[name] else { return value }
        guard let b = v as? Bool else { throw ConfigurationError("\(key(name)) must be true or false") }
        return b
    }
}
