import Foundation
import HallsyncOperations
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket bound to a path or an abstract name, as systemd's notify socket is.
final class NotifySocket {
    let fd: Int32
    let name: String

    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        let unique = "hallsync-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        name = abstract ? "@" + unique : NSTemporaryDirectory() + unique + ".sock"
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram, nil after 5 s without one.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    deinit {
        close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }
}

@Suite struct SystemdNotifierTests {
    @Test(arguments: [false, true])
    func sendsOneDatagramPerMessageToAPathOrAnAbstractSocket(_ abstract: Bool) throws {
        let socket = try NotifySocket(abstract: abstract)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name])
        #expect(notifier.isEnabled)
        #expect(notifier.notify(["READY=1", "STATUS=caught up;\nno newline inside"]))
        #expect(socket.receive() == "READY=1\nSTATUS=caught up; no newline inside")
        #expect(notifier.notify(["WATCHDOG=1"]))
        #expect(socket.receive() == "WATCHDOG=1")
    }

    @Test func doesNothingOutsideSystemdAndReadsTheWatchdogInterval() {
        let outside = SystemdNotifier(environment: [:])
        #expect(!outside.isEnabled && !outside.notify(["READY=1"]))
        #expect(outside.watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000"]).watchdogInterval == 30)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
    }
}

