import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One daemon of the demo's pair: `hallsync run` as a child process of this one.
final class PairDaemon {
    let name: String
    let config: String
    let log: String
    let logLevel: String
    /// The test-only variables it is started with (the negative control's switch, the freeze's
    /// file), on top of this process's environment.
    let testEnvironment: [String: String]
    /// What the daemon is started through (`ip netns exec <namespace>`); empty: directly.
    let launcher: [String]
    private var process: Process?

    init(name: String, config: String, log: String, logLevel: String, testEnvironment: [String: String], launcher: [String] = []) {
        self.testEnvironment = testEnvironment
        self.name = name
        self.config = config
        self.log = log
        self.logLevel = logLevel
        self.launcher = launcher
    }

    /// The status file, next to its configuration (and its database).
    var statusFile: String { (config as NSString).deletingLastPathComponent + "/status.json" }

    /// The role its status file gives (`leader`, `standby`, …) and when the file was written.
    func statusRole() -> (role: String, written: Date)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: statusFile),
              let written = attributes[.modificationDate] as? Date,
              let data = FileManager.default.contents(atPath: statusFile),
              let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let leadership = document["leadership"] as? [String: Any],
              let role = leadership["role"] as? String else { return nil }
        return (role, written)
    }

    /// The lines it logged from `offset` (a ``logSize`` taken earlier) on.
    func logged(from offset: UInt64) -> [Substring] {
        guard let handle = FileHandle(forReadingAtPath: log) else { return [] }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
    }

    /// The sends its gate refused since `offset` of its log (it logs each at level info: "send will
    /// be retried … error=NOT_LEADER"; the gate refuses only once the lease's trust has ended).
    func gateRefusals(since offset: UInt64) -> Int {
        logged(from: offset).filter { $0.contains("send will be retried") && $0.contains("error=NOT_LEADER") }.count
    }

    var logSize: UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: log))?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    func start() throws {
        let process = Process()
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let argv = launcher + [binary, "run", "--config", config, "--log-level", logLevel]
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if !testEnvironment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(testEnvironment) { $1 } }
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
    }

    func signal(_ number: Int32) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, number)
    }

    /// Whether it is stopped (SIGSTOP): its state in /proc is `T`.
    var isStopped: Bool {
        guard let process, process.isRunning,
              let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("T")
    }

    func waitForExit() {
        process?.waitUntilExit()
    }

    /// At the end, whatever state it is in: continued if frozen, stopped, waited for.
    func terminate() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}
