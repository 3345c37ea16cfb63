import ArgumentParser
import Foundation
import HallsyncEngine
import HallsyncOperations

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the running daemon's status file and judge it: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
        discussion: """
        The monitoring-plugin convention (Nagios, Icinga, Zabbix agents): the first line is the \
        verdict with performance data. UNKNOWN when there is no status file, it cannot be read, \
        or it is stale (no cycle for monitoring.staleAfterIntervals intervals). The thresholds \
        are the monitoring section of the configuration, copied into the status file.
        """)

    @Option(name: .long, help: "The configuration file, to find the status file.")
    var config: String = "/etc/hallsync/hallsync.yaml"

    @Option(name: .long, help: "The status file itself (instead of the one the configuration names).")
    var file: String?

    @Flag(help: "Print the status file as it is (JSON); the exit code is still the verdict.")
    var json = false

    func run() throws {
        var path = file
        if path == nil {
            do {
                path = try Configuration.load(path: config, resolvingCredentials: false).operations.statusFile
            } catch {
                // The monitoring user may not read the configuration: the packaged places, in order.
                path = ["/run/hallsync/status.json", "/var/lib/hallsync/status.json"].first { FileManager.default.fileExists(atPath: $0) }
                    ?? "/run/hallsync/status.json"
                FileHandle.standardError.write(Data("hallsync: cannot read \(config) (\(error.problems.first ?? "")); reading \(path!)\n".utf8))
            }
        }
        let check = MonitoringCheck.evaluate(fileAt: path!, now: Date())
        if json, let data = FileManager.default.contents(atPath: path!) {
            FileHandle.standardOutput.write(data)
        } else {
            print(check.render())
        }
        throw ExitCode(check.state.exitCode)
    }
}
