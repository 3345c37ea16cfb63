import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One syncing process per database: an exclusive `flock` on `<database>.lock`, held for the
/// life of the process (the kernel releases it when the process dies, `kill -9` included).
///
///     let lock = try InstanceLock.acquire(forDatabase: "/var/lib/hallsync/hallsync.sqlite")
///     // … run; a second `hallsync run` or `once` on the same file is refused:
///     // ALREADY_RUNNING: another hallsync (pid 4242) is syncing /var/lib/hallsync/hallsync.sqlite …
///
/// Only processes that write sync state take it. Readers — `hallsync status`, the web page —
/// open the database without it and are never locked out.
public final class InstanceLock: Sendable {
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    public static func lockPath(forDatabase database: String) -> String { database + ".lock" }

    public static func acquire(forDatabase database: String) throws(StoreError) -> InstanceLock {
        let path = lockPath(forDatabase: database)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw StoreError(code: .lockOpen, message: "cannot open the lock file \(path): \(String(cString: strerror(errno))); check that the database's directory exists and the hallsync user may write there")
        }
        fchmod(fd, 0o640)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var holder = ""
            if reason == EWOULDBLOCK, let text = try? String(contentsOfFile: path, encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                holder = " (pid \(pid))"
            }
            close(fd)
            guard reason == EWOULDBLOCK else {
                throw StoreError(code: .lockFailed, message: "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            throw StoreError(code: .alreadyRunning,
                             message: "another hallsync\(holder) is already syncing \(database); only one may send from a database. Stop it first (systemctl stop hallsync), or use `hallsync status` to see what it does")
        }
        // Who holds it, for the message a second instance prints.
        let pid = Array("\(getpid())\n".utf8)
        ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return InstanceLock(path: path, descriptor: fd)
    }
}
