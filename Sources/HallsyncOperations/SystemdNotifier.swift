import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how the service is doing (`sd_notify(3)`), without libsystemd: one datagram
/// per message to the `AF_UNIX` socket named by `$NOTIFY_SOCKET`.
///
///     let systemd = SystemdNotifier()
///     systemd.notify(["READY=1", "STATUS=caught up, 0 pending"])
///     systemd.notify(["WATCHDOG=1"])
///
/// A name starting with `@` is in the abstract namespace (a leading NUL byte, no terminating
/// one; the address length counts exactly the name). Outside systemd every call does nothing.
public struct SystemdNotifier: Sendable {
    /// The socket address, nil when not started by systemd with `Type=notify`.
    public let socketPath: String?
    /// How often systemd expects `WATCHDOG=1`, seconds, when `WatchdogSec=` is set for this process.
    public let watchdogInterval: Double?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"]
        socketPath = (path?.isEmpty ?? true) ? nil : path
        if let usec = environment["WATCHDOG_USEC"].flatMap(Double.init), usec > 0,
           environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true {
            watchdogInterval = usec / 1_000_000
        } else {
            watchdogInterval = nil
        }
    }

    public var isEnabled: Bool { socketPath != nil }

    /// Sends the assignments as one message; returns false when there is no socket or the send failed.
    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        guard let socketPath else { return false }
        // A STATUS= text must be one line.
        let message = assignments.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n")
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(socketPath.utf8)
        if name.first == UInt8(ascii: "@") { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard name.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: name)
            if name.count < raw.count { raw[name.count] = 0 }
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + name.count)
        let sent = message.withCString { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, text, strlen(text), Int32(MSG_NOSIGNAL), $0, length) }
            }
        }
        return sent >= 0
    }
}
