import ArgumentParser
import Foundation
import HallsyncDomain
import HallsyncOperations

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check the configuration, catalogue, calendar coverage (next 60 days), secrets and paths; list every problem.",
        discussion: "Exits 0 when the service can start and work (warnings are printed), 1 when any problem was found.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/hallsync/hallsync.yaml"

    @Option(name: .long, help: "Where the unit's LoadCredential= lines take the secrets from (for credential:NAME outside systemd).")
    var credentialSource: String = "/etc/hallsync"

    @Flag(help: "Also try each endpoint once: the portal's signature, each hall's token, TLS; with store.kind postgresql, the database and the region's lease.")
    var probe = false

    func run() throws {
        var check = ConfigurationCheck.run(path: config, today: BeijingTime.now().date, credentialSource: credentialSource)
        if probe {
            var environment = ProcessInfo.processInfo.environment
            if (environment["CREDENTIALS_DIRECTORY"] ?? "").isEmpty { environment["CREDENTIALS_DIRECTORY"] = credentialSource }
            check.probe(path: config, environment: environment)
        }
        for line in check.checked { print("ok       \(line)") }
        for line in check.warnings { print("WARNING  \(line)") }
        for line in check.problems { print("PROBLEM  \(line)") }
        let warnings = check.warnings.isEmpty ? "" : " (\(check.warnings.count) warning\(check.warnings.count == 1 ? "" : "s"))"
        print(check.problems.isEmpty ? "configuration ready\(warnings)" : "\(check.problems.count) problem\(check.problems.count == 1 ? "" : "s") found\(warnings)")
        if !check.problems.isEmpty { throw ExitCode(1) }
    }
}
