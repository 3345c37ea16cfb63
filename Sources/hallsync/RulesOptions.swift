import ArgumentParser
import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncStandIns

/// `--config` for the tools that need only the site's rules (catalogue, calendar, sessions,
/// area code), not the portal or the halls.
struct RulesOptions: ParsableArguments {
    @Option(name: .long, help: """
        The configuration file. Default: /etc/hallsync/hallsync.yaml when it exists, else the \
        Config/hallsync.yaml of the source checkout this binary was built from.
        """)
    var config: String?

    /// The configuration file to read, following the default order above.
    func configurationPath() throws -> String {
        if let config { return config }
        let installed = "/etc/hallsync/hallsync.yaml"
        if FileManager.default.fileExists(atPath: installed) { return installed }
        if let checkout = ProjectFiles.configDirectory { return checkout + "/hallsync.yaml" }
        throw ValidationError("no configuration found: pass --config FILE")
    }

    func loadRules() throws -> SiteRules {
        let path = try configurationPath()
        do {
            return try SiteRules.load(try Configuration.load(path: path, resolvingCredentials: false))
        } catch {
            FileHandle.standardError.write(Data("hallsync: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}
