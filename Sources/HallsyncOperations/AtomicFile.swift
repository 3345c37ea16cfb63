import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file's contents so that a reader sees the old file or the new one, never a
/// mixture: a temporary file in the same directory, written, fsync'd, renamed over the
/// target, and the directory fsync'd so the rename survives a power cut.
///
///     try AtomicFile.write(Data(json.utf8), to: "/var/lib/hallsync/status.json")
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason); check that the directory exists and the hallsync user may write there" }
    }

    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws(WriteError) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        // The service's umask is 0077; the status file is for administrators and monitoring too.
        if fchmod(fd, mode) != 0 { failure = String(cString: strerror(errno)) }
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 { if errno == EINTR { continue }; failure = String(cString: strerror(errno)); return }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, reason: failure)
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 { fsync(directoryFD); close(directoryFD) }
    }
}
