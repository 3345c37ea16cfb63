import Foundation
import HallsyncDomain
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
        /// How often every open item older than this is looked up although its hall's feed seemed
        /// whole, seconds: catches a hall whose numbering went back quietly (restored from a backup).
        public var sweepInterval: Double = 86_400
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

    /// The summary web page (`hallsync web`), a process of its own.
    public struct Web: Sendable {
        /// Address to listen on: loopback unless the site's reverse proxy or TLS says otherwise.
        public var listen: String = "127.0.0.1"
        /// 0: any free port (the demo and the tests).
        public var port: Int = 8443
        /// The web page's own database (accounts, sessions, audit log, clerks' requests). Default:
        /// `web.sqlite` next to the daemon's database.
        public var database: String = ""
        /// TLS from a certificate and key file (PEM); both or neither.
        public var tlsCertificate: String?
        public var tlsKey: String?
        /// A session ends after this many minutes without a request.
        public var sessionMinutes: Int = 30
        /// Failed logins allowed per account and per address per minute.
        public var loginAttemptsPerMinute: Int = 5
        /// Behind the site's reverse proxy (which terminates TLS): session cookies are `Secure`,
        /// and the client address comes from `X-Forwarded-For`.
        public var behindProxy: Bool = false
    }

    /// Where the state is kept: the SQLite file `database` (the default, one machine), or
    /// PostgreSQL for an active/standby pair (both daemons name the same cluster; the one holding
    /// the region's lease works, the other stands by).
    public struct Store: Sendable {
        public enum Kind: String, Sendable, CaseIterable {
            case sqlite
            case postgresql
        }
        public var kind: Kind = .sqlite
        /// libpq's connection string, without the password: `host=db1,db2 port=5432,5432
        /// dbname=hallsync user=hallsync target_session_attrs=read-write`.
        public var connection: String = ""
        /// The database password, in a file of its own (or `credential:NAME`), never in the string.
        public var passwordFile: String?
        /// libpq's `sslmode` to the database: `verify-full` unless the site says otherwise (a
        /// Unix socket ignores it).
        public var tls: String = "verify-full"
        /// The CA that signed the database's certificate (`sslrootcert`).
        public var caFile: String?
        /// The name this daemon holds the lease under (shown on the status and the web page);
        /// default: the machine's host name.
        public var holder: String = ""
        /// The lease: its time to live, how often the leader renews it, how often a standby looks.
        public var leaseTTL: Double = 15
        public var renewInterval: Double = 3
        public var standbyPoll: Double = 1
        /// Statements prepared once per connection (the server plans each once). false behind a
        /// pooler in transaction mode that does not carry them (PgBouncer before 1.21, or
        /// without `max_prepared_statements`).
        public var preparedStatements: Bool = true

        public static let tlsModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
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
    /// Each hall's address and token: one section per hall, named by its ``HallTarget`` (`intake:`, `licensing:`).
    public var halls: PerHall<Hall>
    public var sync = Sync()
    public var site = Site()
    public var http = HTTP()
    public var operations = Operations()
    public var retention = Retention()
    public var web = Web()
    public var store = Store()
    /// The SQLite state file; with `store.kind: postgresql`, it still names the directory of the
    /// daemon's local files (the single-instance lock, the status file, the web page's database).
    public var database: String
    /// The matter catalogue CSV.
    public var catalogue: String
    /// The working-day calendar (`Config/working-calendar.txt`).
    public var calendar: String
    /// Where the file was read from; relative paths are relative to its directory.
    public var sourcePath: String?

    public init(portal: Portal, halls: PerHall<Hall>, database: String, catalogue: String, calendar: String) {
        self.portal = portal
        self.halls = halls
        self.database = database
        self.catalogue = catalogue
        self.calendar = calendar
    }

    public func hall(_ target: HallTarget) -> Hall { halls[target] }

    public var retryPolicy: RetryPolicy { RetryPolicy(base: sync.retryBase, cap: sync.retryCap) }

    public func normalizerSettings() throws(ConfigurationError) -> ReservationNormalizer.Settings {
        ReservationNormalizer.Settings(
            areaCode: site.areaCode,
            sessions: Appointment.Sessions(morningStart: try Self.clock(site.morningStart, key: "site.morningStart"),
                                           afternoonStart: try Self.clock(site.afternoonStart, key: "site.afternoonStart")),
            unknownMatter: sync.unknownMatter,
            regionCode: portal.regionCode)
    }

    static func clock(_ text: String, key: String) throws(ConfigurationError) -> Int {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
            throw ConfigurationError("\(key) must be a time of day like 09:00, found \(text)")
        }
        return h * 3600 + m * 60
    }
}

/// A configuration that cannot be used: every problem found, each with the key at fault and
/// what to write instead.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let problems: [String]
    public init(_ message: String) { problems = [message] }
    public init(problems: [String]) { self.problems = problems }
    public var message: String { problems.joined(separator: "\n") }
    public var description: String {
        problems.count == 1 ? problems[0] : "\(problems.count) problems in the configuration:\n" + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}

extension Configuration {
    /// Reads and checks a YAML configuration file; throws every problem at once.
    ///
    /// - Parameter resolvingCredentials: false leaves `credential:NAME` secrets unresolved, for
    ///   the tools that need no secret (`deadline`, `normalize`, `status`, `check-config`).
    public static func load(path: String, resolvingCredentials: Bool = true,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the configuration file \(path); check the path and its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("the configuration file \(path) is not UTF-8 text")
        }
        return try parse(yaml: text, sourcePath: path, resolvingCredentials: resolvingCredentials, environment: environment)
    }

    public static func parse(yaml text: String, sourcePath: String?, resolvingCredentials: Bool = true,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> Configuration {
        let (file, unknown) = try ConfigurationFile.decode(text)
        var reader = ConfigurationReader()
        reader.problems += unknown
        var configuration = reader.build(file)
        configuration.sourcePath = sourcePath
        // Secrets may come from systemd credentials (LoadCredential=): `credential:NAME`.
        let credentials = environment["CREDENTIALS_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0 }
        func secret(_ value: String, key: String) -> String {
            guard value.hasPrefix("credential:"), resolvingCredentials else { return value }
            let name = String(value.dropFirst("credential:".count))
            guard !name.isEmpty, !name.contains("/") else {
                reader.problems.append("\(key): a credential name follows credential:, found \(value)")
                return value
            }
            guard let credentials else {
                reader.problems.append("\(key) names the systemd credential \(name), but $CREDENTIALS_DIRECTORY is not set: run under systemd with LoadCredential=\(name):/path/to/file, or give a file path instead")
                return value
            }
            return credentials + "/" + name
        }
        configuration.portal.appSecretFile = secret(configuration.portal.appSecretFile, key: "portal.appSecretFile")
        for target in HallTarget.allCases {
            configuration.halls[target].tokenFile = secret(configuration.halls[target].tokenFile, key: "\(target).tokenFile")
        }
        configuration.store.passwordFile = configuration.store.passwordFile.map { secret($0, key: "store.passwordFile") }
        configuration = configuration.resolvingPaths()
        if configuration.store.kind == .postgresql, let file = configuration.store.passwordFile, !FileManager.default.isReadableFile(atPath: file) {
            reader.problems.append("store.passwordFile: \(file) does not exist or cannot be read by this user; give the file holding the database password (mode 0600, owned by hallsync)")
        }
        if let ca = configuration.store.caFile, !FileManager.default.isReadableFile(atPath: ca) {
            reader.problems.append("store.caFile: \(ca) does not exist or cannot be read; give the CA certificate of the database's server, or remove the key")
        }
        for (key, path) in [("database", configuration.database), ("web.database", configuration.web.database)] {
            var isDirectory: ObjCBool = false
            if !path.isEmpty, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                reader.problems.append("\(key) is \(path), which is a directory: give the path of the file inside it, such as \(path.hasSuffix("/") ? path : path + "/")\(key == "database" ? "hallsync" : "web").sqlite")
            }
        }
        if let caFile = configuration.http.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            reader.problems.append("http.caFile: \(caFile) does not exist or cannot be read; give the CA bundle's path or remove the key")
        }
        guard reader.problems.isEmpty else { throw ConfigurationError(problems: reader.problems) }
        return configuration
    }

    /// Relative file paths made absolute against the configuration file's directory.
    func resolvingPaths() -> Configuration {
        let base = sourcePath.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
            ?? FileManager.default.currentDirectoryPath
        func resolve(_ p: String) -> String { p.isEmpty || p.hasPrefix("/") || p.hasPrefix("credential:") ? p : base + "/" + p }
        var c = self
        c.portal.appSecretFile = resolve(c.portal.appSecretFile)
        for target in HallTarget.allCases { c.halls[target].tokenFile = resolve(c.halls[target].tokenFile) }
        c.database = resolve(c.database)
        c.catalogue = resolve(c.catalogue)
        c.calendar = resolve(c.calendar)
        c.http.caFile = c.http.caFile.map(resolve)
        c.store.passwordFile = c.store.passwordFile.map(resolve)
        c.store.caFile = c.store.caFile.map(resolve)
        c.operations.statusFile = c.operations.statusFile.isEmpty
            ? URL(fileURLWithPath: c.database).deletingLastPathComponent().appendingPathComponent("status.json").path
            : resolve(c.operations.statusFile)
        c.operations.metricsFile = c.operations.metricsFile.map(resolve)
        c.web.database = c.web.database.isEmpty
            ? URL(fileURLWithPath: c.database).deletingLastPathComponent().appendingPathComponent("web.sqlite").path
            : resolve(c.web.database)
        c.web.tlsCertificate = c.web.tlsCertificate.map(resolve)
        c.web.tlsKey = c.web.tlsKey.map(resolve)
        return c
    }

    /// Settings that work but that an operator should know are unsafe or wrong: logged at start
    /// and carried in the status file (`hallsync status` says WARNING while there are any).
    public func warnings(credentialSource: String = "/etc/hallsync") -> [String] {
        var warnings: [String] = []
        if !http.verifyTLS {
            warnings.append("http.verifyTLS is false: the peers' certificates are not checked, and personal data may go to an impostor; set it to true (and http.caFile for a site's own authority)")
        }
        var files = [("portal.appSecretFile", portal.appSecretFile)] + halls.map { ("\($0.target).tokenFile", $0.value.tokenFile) }
        if store.kind == .postgresql, let password = store.passwordFile { files.append(("store.passwordFile", password)) }
        if store.kind == .postgresql, store.tls == "disable" || store.tls == "allow" || store.tls == "prefer" {
            warnings.append("store.tls is \(store.tls): the connection to PostgreSQL may be unencrypted or unchecked, and personal data may travel in the clear or to an impostor; use verify-full (with store.caFile), or a Unix socket")
        }
        // Under systemd the credential is a private copy; the file it was copied from is what may be exposed.
        for (key, file) in files where file.hasPrefix("/run/credentials/") || file.contains("/credentials/") {
            files.append((key, credentialSource + "/" + URL(fileURLWithPath: file).lastPathComponent))
        }
        for (key, file) in files {
            var info = stat()
            if stat(file, &info) == 0, info.st_mode & 0o004 != 0 {
                warnings.append("\(key): \(file) is readable by every user of this machine (mode \(String(info.st_mode & 0o777, radix: 8))); chmod o-rwx \(file)")
            }
        }
        return warnings
    }
}

/// Reads a ``ConfigurationFile`` into a ``Configuration`` whose defaults are the type's own,
/// checking every value and collecting every problem with its key and what would be right.
struct ConfigurationReader {
    var problems: [String] = []

    mutating func build(_ file: ConfigurationFile) -> Configuration {
        var c = Configuration(portal: .init(baseURL: "", appId: "", appSecretFile: "", regionCode: ""),
                              halls: PerHall { _ in .init(baseURL: "", tokenFile: "") },
                              database: "", catalogue: "", calendar: "")
        let portal = section(file.portal, "portal", required: true)
        c.portal.baseURL = url(portal?.baseURL, "portal.baseURL")
        c.portal.appId = required(portal?.appId, "portal.appId")
        c.portal.appSecretFile = required(portal?.appSecretFile, "portal.appSecretFile")
        c.portal.regionCode = required(portal?.regionCode, "portal.regionCode")
        if !c.portal.regionCode.isEmpty, !(CodeForm.isRegionCode(c.portal.regionCode) && [6, 9, 12].contains(c.portal.regionCode.count) && !c.portal.regionCode.hasPrefix("0")) {
            problems.append("portal.regionCode must be the region's division code, 6 digits such as \"371002\" (quote it); found \(c.portal.regionCode)")
        }
        // 0 would read records before the portal's replica shows them all (contract §2.5): lost for good.
        read(portal?.visibilityLag, "portal.visibilityLag", into: &c.portal.visibilityLag, in: 1...3600)
        read(portal?.lagMargin, "portal.lagMargin", into: &c.portal.lagMargin, in: 0...600)
        read(portal?.pageSize, "portal.pageSize", into: &c.portal.pageSize, in: 1...200)
        if let start = portal?.startFrom?.text, !start.isEmpty {
            if let time = BeijingTime(parsing: start) {
                if time > BeijingTime.now() {
                    problems.append("portal.startFrom (\(start)) lies in the future: every reservation until then would be skipped; give a time in the past (Beijing time), or remove the key to start 24 hours back")
                }
            } else {
                problems.append("portal.startFrom must look like \"2021-09-08 09:00:00\" (Beijing time), found \(start)")
            }
            c.portal.startFrom = start
        }
        for target in HallTarget.allCases {
            let hall = section(file.halls[target], target.rawValue, required: true)
            c.halls[target] = Configuration.Hall(baseURL: url(hall?.baseURL, "\(target).baseURL"), tokenFile: required(hall?.tokenFile, "\(target).tokenFile"))
        }
        c.database = required(file.database, "database")
        c.catalogue = required(file.catalogue, "catalogue")
        c.calendar = required(file.calendar, "calendar")

        let sync = section(file.sync, "sync")
        read(sync?.interval, "sync.interval", into: &c.sync.interval, in: 0.05...86_400)
        read(sync?.maxPagesPerCycle, "sync.maxPagesPerCycle", into: &c.sync.maxPagesPerCycle, in: 1...100_000)
        read(sync?.maxSendsPerCycle, "sync.maxSendsPerCycle", into: &c.sync.maxSendsPerCycle, in: 1...1_000_000)
        read(sync?.maxLookupsPerCycle, "sync.maxLookupsPerCycle", into: &c.sync.maxLookupsPerCycle, in: 1...1_000_000)
        read(sync?.concurrencyPerTarget, "sync.concurrencyPerTarget", into: &c.sync.concurrencyPerTarget, in: 1...64)
        if let policy = sync?.unknownMatter {
            if let value = Route.UnknownMatterPolicy(rawValue: policy.text) { c.sync.unknownMatter = value }
            else { problems.append("sync.unknownMatter must be licensing or hold, found \(policy.text)") }
        }
        read(sync?.idempotencyKeyRetention, "sync.idempotencyKeyRetention", into: &c.sync.idempotencyKeyRetention, in: 1...(30 * 86_400))
        read(sync?.idempotencyKeySafetyMargin, "sync.idempotencyKeySafetyMargin", into: &c.sync.idempotencyKeySafetyMargin, in: 0...86_400)
        read(sync?.retryBase, "sync.retryBase", into: &c.sync.retryBase, in: 0.001...3600)
        read(sync?.retryCap, "sync.retryCap", into: &c.sync.retryCap, in: 0.001...86_400)
        read(sync?.feedRetention, "sync.feedRetention", into: &c.sync.feedRetention, in: 1...(90 * 86_400))
        read(sync?.sweepInterval, "sync.sweepInterval", into: &c.sync.sweepInterval, in: 1...(30 * 86_400))
        if c.sync.retryBase > c.sync.retryCap {
            problems.append("sync.retryBase (\(c.sync.retryBase) s) is larger than sync.retryCap (\(c.sync.retryCap) s): the first retry would wait longer than any; make retryBase the smaller")
        }
        if c.sync.idempotencyKeySafetyMargin >= c.sync.idempotencyKeyRetention {
            problems.append("sync.idempotencyKeySafetyMargin (\(c.sync.idempotencyKeySafetyMargin) s) must be smaller than sync.idempotencyKeyRetention (\(c.sync.idempotencyKeyRetention) s)")
        }

        let site = section(file.site, "site")
        if let area = site?.areaCode {
            c.site.areaCode = area.text
            let digits = area.text
            if !(3...4).contains(digits.count) || !digits.hasPrefix("0") || !digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                problems.append("site.areaCode must be a telephone area code of 3 or 4 digits starting with 0, such as \"0631\" (quote it, or YAML may read it as a number); found \(area.text)")
            }
        }
        if let morning = site?.morningStart { c.site.morningStart = morning.text }
        if let afternoon = site?.afternoonStart { c.site.afternoonStart = afternoon.text }
        let morning = clock(c.site.morningStart, "site.morningStart"), afternoon = clock(c.site.afternoonStart, "site.afternoonStart")
        if let morning, let afternoon, morning >= afternoon {
            problems.append("site.morningStart (\(c.site.morningStart)) must be earlier than site.afternoonStart (\(c.site.afternoonStart))")
        }

        let http = section(file.http, "http")
        read(http?.connectTimeout, "http.connectTimeout", into: &c.http.connectTimeout, in: 0.1...600)
        read(http?.requestTimeout, "http.requestTimeout", into: &c.http.requestTimeout, in: 0.1...3600)
        read(http?.maxResponseBytes, "http.maxResponseBytes", into: &c.http.maxResponseBytes, in: 1024...(1 << 30))
        read(http?.verifyTLS, "http.verifyTLS", into: &c.http.verifyTLS)
        if let ca = http?.caFile, !ca.text.isEmpty { c.http.caFile = ca.text }

        let ops = section(file.operations, "operations")
        if let status = ops?.statusFile { c.operations.statusFile = status.text }
        if let metrics = ops?.metricsFile, !metrics.text.isEmpty { c.operations.metricsFile = metrics.text }
        read(ops?.stopGrace, "operations.stopGrace", into: &c.operations.stopGrace, in: 0...60)

        let monitoring = section(file.monitoring, "monitoring")
        read(monitoring?.staleAfterIntervals, "monitoring.staleAfterIntervals", into: &c.operations.staleAfterIntervals, in: 1...1000)
        read(monitoring?.endpointWarningMinutes, "monitoring.endpointWarningMinutes", into: &c.operations.endpointWarningMinutes, in: 0...10_000)
        read(monitoring?.endpointCriticalMinutes, "monitoring.endpointCriticalMinutes", into: &c.operations.endpointCriticalMinutes, in: 0...10_000)
        read(monitoring?.attentionWarning, "monitoring.attentionWarning", into: &c.operations.attentionWarning, in: 0...10_000_000)
        read(monitoring?.attentionCritical, "monitoring.attentionCritical", into: &c.operations.attentionCritical, in: 0...10_000_000)
        read(monitoring?.overdueWarning, "monitoring.overdueWarning", into: &c.operations.overdueWarning, in: 0...10_000_000)
        read(monitoring?.overdueCritical, "monitoring.overdueCritical", into: &c.operations.overdueCritical, in: 0...10_000_000)
        for (name, warning, critical) in [("endpoint…Minutes", c.operations.endpointWarningMinutes, c.operations.endpointCriticalMinutes),
                                          ("attention…", Double(c.operations.attentionWarning), Double(c.operations.attentionCritical)),
                                          ("overdue…", Double(c.operations.overdueWarning), Double(c.operations.overdueCritical))] where critical < warning {
            let key = name.replacingOccurrences(of: "…", with: "")
            problems.append("monitoring.\(key)Critical (\(critical)) is below monitoring.\(key)Warning (\(warning)): a critical threshold must be at least the warning one".replacingOccurrences(of: "endpointMinutes", with: "endpoint").replacingOccurrences(of: ".0)", with: ")"))
        }

        let store = section(file.store, "store")
        if let kind = store?.kind {
            if let value = Configuration.Store.Kind(rawValue: kind.text) { c.store.kind = value }
            else { problems.append("store.kind must be sqlite or postgresql, found \(kind.text)") }
        }
        if let connection = store?.connection { c.store.connection = connection.text }
        if let password = store?.passwordFile, !password.text.isEmpty { c.store.passwordFile = password.text }
        if let tls = store?.tls {
            if Configuration.Store.tlsModes.contains(tls.text) { c.store.tls = tls.text }
            else { problems.append("store.tls must be one of \(Configuration.Store.tlsModes.joined(separator: ", ")) (libpq's sslmode), found \(tls.text)") }
        }
        if let ca = store?.caFile, !ca.text.isEmpty { c.store.caFile = ca.text }
        if let holder = store?.holder { c.store.holder = holder.text }
        read(store?.leaseTTL, "store.leaseTTL", into: &c.store.leaseTTL, in: 2...600)
        read(store?.renewInterval, "store.renewInterval", into: &c.store.renewInterval, in: 0.1...300)
        read(store?.standbyPoll, "store.standbyPoll", into: &c.store.standbyPoll, in: 0.05...300)
        read(store?.preparedStatements, "store.preparedStatements", into: &c.store.preparedStatements)
        if c.store.kind == .postgresql {
            if c.store.connection.isEmpty {
                problems.append("store.connection is required with store.kind postgresql: libpq's connection string, such as \"host=db1,db2 dbname=hallsync user=hallsync target_session_attrs=read-write\"")
            } else if c.store.connection.range(of: "password", options: .caseInsensitive) != nil {
                problems.append("store.connection holds a password: put it in a file of its own and name that file in store.passwordFile (the string is shown in messages; the file is not)")
            }
            if c.store.renewInterval * 2 > c.store.leaseTTL {
                problems.append("store.renewInterval (\(c.store.renewInterval) s) must be at most half of store.leaseTTL (\(c.store.leaseTTL) s): one lost renewal must not cost the lease")
            }
            if c.store.standbyPoll >= c.store.leaseTTL {
                problems.append("store.standbyPoll (\(c.store.standbyPoll) s) must be shorter than store.leaseTTL (\(c.store.leaseTTL) s)")
            }
        }

        let retention = section(file.retention, "retention")
        read(retention?.personalDataDays, "retention.personalDataDays", into: &c.retention.personalDataDays, in: 30...36_500)

        let web = section(file.web, "web")
        if let listen = web?.listen { c.web.listen = listen.text }
        read(web?.port, "web.port", into: &c.web.port, in: 0...65_535)
        if let database = web?.database { c.web.database = database.text }
        if let cert = web?.tlsCertificate, !cert.text.isEmpty { c.web.tlsCertificate = cert.text }
        if let key = web?.tlsKey, !key.text.isEmpty { c.web.tlsKey = key.text }
        if (c.web.tlsCertificate == nil) != (c.web.tlsKey == nil) {
            problems.append("web.tlsCertificate and web.tlsKey go together: give both (TLS) or neither (plain HTTP, on loopback or behind the site's reverse proxy)")
        }
        read(web?.sessionMinutes, "web.sessionMinutes", into: &c.web.sessionMinutes, in: 5...24 * 60)
        read(web?.loginAttemptsPerMinute, "web.loginAttemptsPerMinute", into: &c.web.loginAttemptsPerMinute, in: 1...100)
        read(web?.behindProxy, "web.behindProxy", into: &c.web.behindProxy)
        return c
    }

    mutating func section<Content>(_ section: Section<Content>?, _ name: String, required: Bool = false) -> Content? {
        switch section {
        case .content(let content)?: return content
        case .notAMapping?: problems.append("\(name) must be a section (its keys indented below it)")
        case nil: if required { problems.append("the configuration needs a section \(name)") }
        }
        return nil
    }

    mutating func required(_ field: Field<String>?, _ key: String) -> String {
        guard let text = field?.text, !text.isEmpty else {
            problems.append("\(key) is required")
            return ""
        }
        return text
    }

    mutating func url(_ field: Field<String>?, _ key: String) -> String {
        let text = required(field, key)
        guard !text.isEmpty else { return text }
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), let host = url.host, url.query == nil else {
            problems.append("\(key) must be an http(s) URL such as https://hall.example/intake, found \(text)")
            return text
        }
        // A user or password in the URL would be written wherever the URL is: the log, the world-readable status file.
        if url.user != nil || url.password != nil {
            problems.append("\(key) carries a user name or password (…//user:password@host…): it would be written into logs and the status file; remove it — the halls take their token from tokenFile, the portal signs with appSecretFile")
            return text
        }
        if scheme != "https" && !Self.isLoopback(host) {
            problems.append("\(key) is \(URL(string: text).map { "\($0.scheme ?? "")://\(host)\($0.path)" } ?? text): plain http to another host would carry personal data unencrypted; use https (plain http is for loopback only)")
        }
        return text
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    mutating func read<Value: ConfigurationValue & Comparable>(_ field: Field<Value>?, _ key: String, into target: inout Value, in range: ClosedRange<Value>) {
        guard let field else { return }
        guard let value = field.value else {
            problems.append("\(key) must be \(Value.kind), found \(field.text.isEmpty ? "nothing" : field.text)")
            return
        }
        guard range.contains(value) else {
            problems.append("\(key) must lie in \(range.lowerBound)…\(range.upperBound), found \(field.text)")
            return
        }
        target = value
    }

    mutating func read(_ field: Field<Bool>?, _ key: String, into target: inout Bool) {
        guard let field else { return }
        guard let value = field.value else {
            problems.append("\(key) must be true or false, found \(field.text)")
            return
        }
        target = value
    }

    mutating func clock(_ text: String, _ key: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
            problems.append("\(key) must be a time of day like \"09:00\" (quote it), found \(text)")
            return nil
        }
        return h * 3600 + m * 60
    }
}
