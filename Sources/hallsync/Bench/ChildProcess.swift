import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process `hallsync bench` starts and reaps itself (posix_spawn, wait4), so that its own
/// resource usage — CPU time, peak resident memory — is measured by the kernel, apart from the
/// benchmark's and the stand-ins'.
final class ChildProcess {
    let pid: pid_t
    /// Its stdin, when piped.
    private(set) var input: Int32 = -1
    /// Its stdout, when piped.
    let output: Int32
    private var buffer = [UInt8]()

    struct Exit {
        var status: Int32
        var cpuSeconds: Double
        /// The system (kernel) part of `cpuSeconds`: sockets, file writes, scheduling.
        var systemSeconds: Double
        var peakResidentBytes: Int
    }

    /// Starts `executable`; stdout is piped when `pipeOutput`, else it goes to `log` with stderr.
    init(_ executable: String, _ arguments: [String], log: String, pipeInput: Bool, pipeOutput: Bool) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var inputPipe: [Int32] = [-1, -1], outputPipe: [Int32] = [-1, -1]
        if pipeInput {
            guard pipe(&inputPipe) == 0 else { throw Self.error("pipe") }
            posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
            posix_spawn_file_actions_addclose(&actions, inputPipe[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        if pipeOutput {
            guard pipe(&outputPipe) == 0 else { throw Self.error("pipe") }
            posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
            posix_spawn_file_actions_addclose(&actions, outputPipe[0])
        } else {
            posix_spawn_file_actions_adddup2(&actions, 2, 1)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, nil, argv, environ)
        guard result == 0 else { throw Self.error("posix_spawn \(executable)", code: result) }
        pid = child
        if pipeInput {
            close(inputPipe[0])
            input = inputPipe[1]
        }
        if pipeOutput { close(outputPipe[1]) }
        output = pipeOutput ? outputPipe[0] : -1
    }

    static func error(_ what: String, code: Int32 = errno) -> NSError {
        NSError(domain: "hallsync.bench", code: Int(code), userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(code)))"])
    }

    /// The next line of its stdout, nil at its end.
    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = read(output, &chunk, chunk.count)
            if n <= 0 {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    func write(line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
    }

    func closeInput() {
        if input >= 0 { close(input); input = -1 }
    }

    func send(_ signal: Int32) { kill(pid, signal) }

    /// Resident memory now (VmRSS), bytes.
    var residentBytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes * 1024
    }

    /// Waits for it to end; its CPU time (user + system) and peak resident memory.
    func wait() -> Exit {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        if output >= 0 { close(output) }
        closeInput()
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + system
        return Exit(status: status, cpuSeconds: cpu, systemSeconds: system, peakResidentBytes: usage.ru_maxrss * 1024)
    }
}
