import Foundation
import HallsyncStandIns

// Starts the stand-ins for manual testing and prints where they listen.
// Usage: hallsync-standins [DIRECTORY] [--no-faults] [--rate N]
var arguments = CommandLine.arguments.dropFirst()
let noFaults = arguments.contains("--no-faults")
var rate = 5.0
if let i = arguments.firstIndex(of: "--rate"), arguments.index(after: i) < arguments.endIndex {
    rate = Double(arguments[arguments.index(after: i)]) ?? rate
}
let directory = arguments.first(where: { !$0.hasPrefix("--") && Double($0) == nil }) ?? (FileManager.default.temporaryDirectory.path + "/hallsync-standins")
let site = try StandInSite(directory: directory, options: .init(lag: 60, faults: noFaults ? .none : .unkind))
let configPath = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/hallsync.sqlite", interval: 10)
print("portal    \(site.portal.baseURL)\nintake    \(site.intake.baseURL)\nlicensing \(site.licensing.baseURL)")
print("configuration for the daemon: \(configPath)\nrun: hallsync run --config \(configPath)")
print("generating \(rate) reservations/s; Ctrl-C to stop")
while true {
    site.generator.step()
    Thread.sleep(forTimeInterval: 1 / max(rate, 0.01))
}
