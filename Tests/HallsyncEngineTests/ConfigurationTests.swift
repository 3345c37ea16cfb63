import Foundation
import Testing
@testable import HallsyncConfiguration
import HallsyncEngine

/// The configuration file: every mistake found in one reading, each with its key and a fix.
@Suite struct ConfigurationTests {
    static let good = """
        portal:
          baseURL: https://portal.example.gov.cn/gateway
          appId: hallsync
          appSecretFile: /etc/hallsync/portal-secret
          regionCode: "371002"
        intake:
          baseURL: https://hall.example/intake
          tokenFile: /etc/hallsync/intake-token
        licensing:
          baseURL: https://hall.example/licensing
          tokenFile: /etc/hallsync/licensing-token
        database: /var/lib/hallsync/hallsync.sqlite
        catalogue: matters.csv
        calendar: working-calendar.txt

        """

    func problems(_ yaml: String) -> [String] {
        do { _ = try Configuration.parse(yaml: yaml, sourcePath: "/etc/hallsync/hallsync.yaml", environment: [:]); return [] } catch {
            return error.problems
        }
    }

    @Test func aGoodFileGivesTheDefaultsWrittenOnceInTheType() throws {
        let c = try Configuration.parse(yaml: Self.good, sourcePath: "/etc/hallsync/hallsync.yaml", environment: [:])
        let defaults = Configuration.Sync()
        #expect(c.sync.interval == defaults.interval && c.sync.maxPagesPerCycle == defaults.maxPagesPerCycle)
        #expect(c.site.areaCode == "0631" && c.portal.visibilityLag == 60 && c.retention.personalDataDays == 180)
        #expect(c.catalogue == "/etc/hallsync/matters.csv" && c.web.database == "/var/lib/hallsync/web.sqlite")
    }

    /// The store of a pair: read with its defaults, every mistake said at once, the password
    /// never in the string, libpq's string assembled with TLS and the password quoted.
    @Test func theStoreOfAPairIsReadAndChecked() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-config-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "s3cr't \\x\n".write(toFile: directory + "/db-password", atomically: true, encoding: .utf8)
        let pair = Self.good + """
            store:
              kind: postgresql
              connection: "host=db1,db2 dbname=hallsync user=hallsync target_session_attrs=read-write"
              passwordFile: \(directory)/db-password

            """
        let c = try Configuration.parse(yaml: pair, sourcePath: "/etc/hallsync/hallsync.yaml", environment: [:])
        #expect(c.store.kind == .postgresql && c.store.tls == "verify-full" && c.store.leaseTTL == 15 && c.store.renewInterval == 3 && c.store.standbyPoll == 1)
        let conninfo = try c.store.conninfo()
        #expect(conninfo == "host=db1,db2 dbname=hallsync user=hallsync target_session_attrs=read-write sslmode='verify-full' password='s3cr\\'t \\\\x'")
        // A systemd credential the command left unresolved (the web page, the tools): read from
        // the unit's credentials directory, and outside a unit a message that says how.
        var unresolved = c.store
        unresolved.passwordFile = "credential:db-password"
        #expect(try unresolved.conninfo(environment: ["CREDENTIALS_DIRECTORY": directory]).hasSuffix("password='s3cr\\'t \\\\x'"))
        #expect { try unresolved.conninfo(environment: [:]) } throws: {
            "\($0)".contains("names the systemd credential db-password, which only a service sees") && !"\($0)".contains("s3cr")
        }
        // Without a section, one machine and its SQLite file.
        #expect(try Configuration.parse(yaml: Self.good, sourcePath: nil, environment: [:]).store.kind == .sqlite)

        let found = problems(Self.good + """
            store:
              kind: postgres
              tls: sometimes
              leaseTTL: 10
              renewInterval: 6

            """)
        #expect(found.contains("store.kind must be sqlite or postgresql, found postgres"), "\(found)")
        #expect(found.contains { $0.hasPrefix("store.tls must be one of disable, allow, prefer, require, verify-ca, verify-full") }, "\(found)")
        let postgres = problems(Self.good + """
            store:
              kind: postgresql
              connection: "host=db1 password=hunter2"
              leaseTTL: 10
              renewInterval: 6
              standbyPoll: 12
              passwordFile: /nonexistent/db-password

            """)
        #expect(postgres.contains { $0.hasPrefix("store.connection holds a password") }, "\(postgres)")
        #expect(!postgres.contains { $0.contains("hunter2") }, "the password is repeated in a message")
        #expect(postgres.contains { $0.hasPrefix("store.renewInterval (6.0 s) must be at most half of store.leaseTTL") }, "\(postgres)")
        #expect(postgres.contains { $0.hasPrefix("store.standbyPoll (12.0 s) must be shorter") }, "\(postgres)")
        #expect(postgres.contains { $0.hasPrefix("store.passwordFile: /nonexistent/db-password does not exist") }, "\(postgres)")
        #expect(problems(Self.good + "store:\n  kind: postgresql\n").contains { $0.hasPrefix("store.connection is required") })
        #expect(problems(Self.good + "store:\n  knd: sqlite\n").contains("store.knd is not a setting hallsync knows; did you mean store.kind?"))
    }

    @Test func unknownKeysAreRefusedWithTheNearestKnownName() {
        let found = problems(Self.good + "sync:\n  intervall: 5\nhtttp:\n  verifyTLS: true\n")
        #expect(found.contains("sync.intervall is not a setting hallsync knows; did you mean sync.interval?"), "\(found)")
        #expect(found.contains("htttp is not a setting hallsync knows; did you mean http?"), "\(found)")
        #expect(problems(Self.good + "colour: blue\n").contains("colour is not a setting hallsync knows"))
    }

    @Test func codeLikeValuesAreKeptAsWritten() throws {
        let c = try Configuration.parse(yaml: Self.good + "site:\n  areaCode: 0631\n  morningStart: 09:00\n", sourcePath: nil, environment: [:])
        #expect(c.site.areaCode == "0631", "YAML 1.1 would read an octal 409")
        #expect(c.site.morningStart == "09:00", "and a sexagesimal 540")
        #expect(try c.normalizerSettings().areaCode == "0631")
        let octal = problems(Self.good.replacingOccurrences(of: #"regionCode: "371002""#, with: "regionCode: 0371002"))
        #expect(octal.contains { $0.hasPrefix("portal.regionCode must be the region's division code") && $0.contains("0371002") }, "\(octal)")
        #expect(problems(Self.good + "sync:\n  maxPagesPerCycle: 050\n").contains { $0.contains("sync.maxPagesPerCycle must be a whole number (decimal, no leading zero), found 050") })
    }

    @Test func everyMistakeIsListedInOneReading() {
        let found = problems(Self.good + """
            site:
              areaCode: abc
            sync:
              retryBase: 600
              retryCap: 300
              interval: fast
            monitoring:
              attentionWarning: 100
              attentionCritical: 50
            http:
              caFile: /nonexistent/ca.pem
              verifyTLS: maybe

            """)
        for expected in ["site.areaCode must be a telephone area code", "sync.retryBase (600.0 s) is larger than sync.retryCap (300.0 s)",
                         "sync.interval must be a number, found fast", "monitoring.attentionCritical (50) is below monitoring.attentionWarning (100)",
                         "http.caFile: /nonexistent/ca.pem does not exist", "http.verifyTLS must be true or false, found maybe"] {
            #expect(found.contains { $0.hasPrefix(expected) }, "missing \(expected) in \(found)")
        }
        #expect(found.count == 6, "\(found)")
        #expect(problems("portal: 5\n").contains("portal must be a section (its keys indented below it)"))
        #expect(problems("portal: [unclosed").first?.hasPrefix("the configuration is not valid YAML") == true)
    }

    @Test func insecureSettingsWorkButWarn() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-config-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "secret\n".write(toFile: directory + "/portal-secret", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/portal-secret")
        let yaml = Self.good.replacingOccurrences(of: "/etc/hallsync/portal-secret", with: directory + "/portal-secret") + "http:\n  verifyTLS: false\n"
        let c = try Configuration.parse(yaml: yaml, sourcePath: nil, environment: [:])
        let warnings = c.warnings()
        #expect(warnings.contains { $0.hasPrefix("http.verifyTLS is false") })
        #expect(warnings.contains { $0.contains("portal-secret is readable by every user") })
        // A systemd credential's source is what may be exposed.
        var credential = try Configuration.parse(yaml: Self.good.replacingOccurrences(of: "/etc/hallsync/portal-secret", with: "credential:portal-secret"),
                                                 sourcePath: nil, environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/hallsync.service"])
        credential.http.verifyTLS = true
        #expect(credential.warnings(credentialSource: directory).contains { $0.contains("\(directory)/portal-secret is readable by every user") })
    }

    /// What the file says is what runs: nothing is taken silently that would lose records or leak them.
    @Test func whatWouldRunWronglyIsRefusedAsAProblem() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-config-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let twice = problems(Self.good + "sync:\n  interval: 5\n  interval: 50\nsync:\n  retryCap: 9\n")
        #expect(twice.contains { $0.contains("sync.interval is given twice") }, "\(twice)")
        #expect(twice.contains { $0.contains("sync is given twice") }, "\(twice)")
        let future = problems(Self.good.replacingOccurrences(of: #"regionCode: "371002""#, with: "regionCode: \"371002\"\n  startFrom: \"2099-01-01 00:00:00\""))
        #expect(future.contains { $0.contains("portal.startFrom") && $0.contains("future") }, "\(future)")
        #expect(problems(Self.good.replacingOccurrences(of: #"regionCode: "371002""#, with: "regionCode: \"371002\"\n  visibilityLag: 0"))
            .contains { $0.contains("portal.visibilityLag must lie in 1") })
        let userinfo = problems(Self.good.replacingOccurrences(of: "https://hall.example/intake", with: "https://ops:s3cret@hall.example/intake"))
        #expect(userinfo.contains { $0.contains("intake.baseURL carries a user name or password") && !$0.contains("s3cret") }, "\(userinfo)")
        let plain = problems(Self.good.replacingOccurrences(of: "https://hall.example/licensing", with: "http://hall.example/licensing"))
        #expect(plain.contains { $0.contains("licensing.baseURL") && $0.contains("plain http") }, "\(plain)")
        #expect(problems(Self.good.replacingOccurrences(of: "https://hall.example/licensing", with: "http://127.0.0.1:8080/licensing")).isEmpty)
        let folder = problems(Self.good.replacingOccurrences(of: "/var/lib/hallsync/hallsync.sqlite", with: directory))
        #expect(folder.contains { $0.hasPrefix("database is \(directory), which is a directory") }, "\(folder)")
    }
}
