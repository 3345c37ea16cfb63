import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncPostgres
import HallsyncTransport

/// `hallsync check-config`: everything an operator can get wrong before starting the service,
/// listed at once rather than one failed start at a time.
///
///     let check = ConfigurationCheck.run(path: "/etc/hallsync/hallsync.yaml", today: BeijingTime.now().date)
///     check.problems   // [] when the service can start and will work
public struct ConfigurationCheck: Sendable {
    public var checked: [String] = []
    /// What stops the service from starting or working: exit 1.
    public var problems: [String] = []
    /// What works but should be seen to (next year's calendar not published yet, TLS not verified): exit 0.
    public var warnings: [String] = []

    /// - Parameter credentialSource: where the unit's `LoadCredential=` lines read the secrets
    ///   from, for `credential:NAME` when not running under systemd.
    public static func run(path: String, today: CivilDate, credentialSource: String = "/etc/hallsync",
                           environment: [String: String] = ProcessInfo.processInfo.environment) -> ConfigurationCheck {
        var check = ConfigurationCheck()
        let configuration: Configuration
        do {
            configuration = try Configuration.load(path: path, resolvingCredentials: false, environment: environment)
            check.checked.append("configuration \(path) is valid")
        } catch {
            check.problems += error.problems.map { "configuration: \($0)" }
            return check
        }
        check.warnings += configuration.warnings(credentialSource: credentialSource).filter { !$0.contains("readable by every user") }
        do {
            let rules = try SiteRules.load(configuration)
            check.checked.append("matter catalogue \(configuration.catalogue): \(rules.catalogue.matters.count) matters")
            check.checked.append("working calendar \(configuration.calendar): covers \(rules.calendar.coveredYears.sorted().map(String.init).joined(separator: ", "))")
            let uncovered = rules.calendar.uncoveredYears(from: today, days: 60)
            for year in uncovered {
                // The notice comes out in November or December: until then, deadlines in that year count weekends only.
                let message = "working calendar: no arrangement for \(year), which starts within 60 days; add the State Council's \(year) notice to \(configuration.calendar) when it is published (until then deadlines in \(year) count weekends only)"
                if year == today.year { check.problems.append(message) } else { check.warnings.append(message) }
            }
        } catch {
            check.problems.append("\(error)")
        }
        for (key, file) in [("portal.appSecretFile", configuration.portal.appSecretFile)]
                + configuration.halls.map({ ("\($0.target).tokenFile", $0.value.tokenFile) }) {
            if file.hasPrefix("credential:") {
                let name = String(file.dropFirst("credential:".count))
                let directory = environment["CREDENTIALS_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0 } ?? credentialSource
                check.secret(directory + "/" + name, key: "\(key) (systemd credential \(name))")
            } else {
                check.secret(file, key: key)
            }
        }
        for (key, url) in [("portal.baseURL", configuration.portal.baseURL)] + configuration.halls.map({ ("\($0.target).baseURL", $0.value.baseURL) }) {
            // Configuration.load checked the form (https, no credentials inside): the daemon applies the same rules.
            check.checked.append("\(key) \(url)")
        }
        for (key, file) in [("database", configuration.database), ("operations.statusFile", configuration.operations.statusFile)]
            + (configuration.operations.metricsFile.map { [("operations.metricsFile", $0)] } ?? []) {
            let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
                check.problems.append("\(key): the directory \(directory) does not exist (systemd creates StateDirectory=hallsync as /var/lib/hallsync)")
            } else if access(directory, W_OK) != 0 {
                check.problems.append("\(key): this user cannot write in \(directory)")
            } else {
                check.checked.append("\(key) \(file)")
            }
        }
        return check
    }

    /// Tries each endpoint once, as the daemon would: the portal with a signed one-record list,
    /// each hall with a one-change read of its feed. Says which failed, and why (TLS, DNS, a
    /// refused signature or token, a wrong address).
    public mutating func probe(path: String, environment: [String: String]) {
        let configuration: Configuration
        do { configuration = try Configuration.load(path: path, environment: environment) } catch {
            problems += error.problems.map { "probe: \($0)" }
            return
        }
        do {
            let signer: PortalSigner
            do { signer = try configuration.portalSigner() } catch {
                problems.append("probe portal: \(error.message)")
                return
            }
            let portal = try configuration.portalClient(signer: signer)
            let now = BeijingTime.now()
            do {
                _ = try portal.listReservations(regionCode: configuration.portal.regionCode, from: now.adding(seconds: -1), until: now, pageNo: 1, pageSize: 1)
                let skew = portal.estimatedServerTime().map { $0.unixSeconds - now.unixSeconds }
                checked.append("probe portal \(configuration.portal.baseURL): signature accepted\(configuration.portal.baseURL.hasPrefix("https") ? ", TLS verified" : "")\(skew.map { ", clock \($0 >= 0 ? "+" : "")\($0) s from ours" } ?? "")")
                if let skew, abs(skew) > PortalClock.tolerance { warnings.append("probe portal: its clock is \(skew) s from ours; fix NTP here or tell the portal's operators") }
            } catch {
                problems.append("probe portal \(configuration.portal.baseURL): \(error)")
            }
            for target in HallTarget.allCases {
                let hall = try configuration.hallClient(target, token: TokenSource(path: configuration.hall(target).tokenFile))
                do {
                    _ = try hall.changes(after: 0, limit: 1)
                    checked.append("probe \(target) \(configuration.hall(target).baseURL): token accepted\(configuration.hall(target).baseURL.hasPrefix("https") ? ", TLS verified" : "")")
                } catch {
                    problems.append("probe \(target) \(configuration.hall(target).baseURL): \(error)")
                }
            }
        } catch {
            problems.append("probe: libcurl could not start: \(error)")
        }
        if configuration.store.kind == .postgresql { probeDatabase(configuration) }
    }

    /// One of a pair: the database answers as a writable server with this role and password, and
    /// the region's lease (if any) is shown. Nothing is created or changed.
    mutating func probeDatabase(_ configuration: Configuration) {
        do {
            let connection = try PostgresConnection(conninfo: try configuration.store.conninfo())
            defer { connection.close() }
            let version = try connection.execute("SHOW server_version").rows.first?.first ?? nil
            let readOnly = try connection.execute("SHOW transaction_read_only").rows.first?.first ?? nil
            var line = "probe database: connected (PostgreSQL \(version ?? "?")\(readOnly == "on" ? ", READ ONLY" : ""))"
            if readOnly == "on" {
                problems.append("probe database: the server connected to is read-only (a standby): add target_session_attrs=read-write to store.connection and name every host of the cluster")
            }
            if let lease = try? LeaseStore(connection).current(region: configuration.portal.regionCode) {
                let left = lease.expiresAt.timeIntervalSince(lease.databaseTime)
                line += left > 0 ? "; the region's lease: \(lease.holder), epoch \(lease.epoch), \(Int(left)) s left" : "; the region's lease expired \(Int(-left)) s ago (last \(lease.holder))"
            } else {
                line += "; no lease for the region yet (the first daemon to start takes it)"
            }
            checked.append(line)
        } catch {
            problems.append("probe database: \(error)")
        }
    }

    mutating func secret(_ path: String, key: String) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            problems.append("\(key): \(path) does not exist; put the secret there (one line), mode 0640, group hallsync")
            return
        }
        if info.st_mode & 0o007 != 0 {
            problems.append("\(key): \(path) is readable by every user (mode \(String(info.st_mode & 0o777, radix: 8))); chmod o-rwx \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            problems.append("\(key): \(path) cannot be read by this user; it must be readable by the hallsync user")
            return
        }
        if String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.append("\(key): \(path) is empty")
            return
        }
        checked.append("\(key) \(path) (mode \(String(info.st_mode & 0o777, radix: 8)))")
    }
}
