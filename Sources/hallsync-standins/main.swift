import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HallsyncStandIns

/// The stand-ins alone, for manual testing: the portal and both halls on loopback, with
/// generated traffic, and a configuration file for `hallsync run`.
struct StandIns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hallsync-standins",
        abstract: "Run stand-ins of the portal and both halls on loopback, with generated reservations.")

    @Argument(help: "Directory for the secret, token files, catalogue and the daemon's configuration.")
    var directory: String = FileManager.default.temporaryDirectory.path + "/hallsync-standins"

    @Flag(help: "Turn every fault off.") var noFaults = false
    @Option(help: "New reservations per second.") var rate: Double = 5
    @Option(help: "The portal's visibility lag, seconds.") var lag: Double = 60

    func run() throws {
        let site = try StandInSite(directory: directory, options: .init(lag: lag, faults: noFaults ? .none : .unkind))
        let configPath = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/hallsync.sqlite", interval: 10)
        print("portal    \(site.portal.baseURL)\nintake    \(site.intake.baseURL)\nlicensing \(site.licensing.baseURL)")
        print("configuration for the daemon: \(configPath)\nrun: hallsync run --config \(configPath)")
        print("generating \(rate) reservations/s; Ctrl-C to stop")
        // Out now, even into a file or a pipe: the addresses and the configuration's path must be
        // readable while this runs for ever.
        fflush(nil)
        while true {
            site.generator.step()
            Thread.sleep(forTimeInterval: 1 / max(rate, 0.01))
        }
    }
}

StandIns.main()
