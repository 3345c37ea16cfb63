import Foundation
import Synchronization

/// A hall's bearer token, read from a file that is renewed out of band (contract §3.1).
///
///     let token = TokenSource(path: "/run/credentials/hallsync.service/intake-token")
///     try token.current()    // read once, then cached
///     try token.reload()     // after a TOKEN_EXPIRED answer
public final class TokenSource: Sendable {
    public let path: String
    private let cached = Mutex<String?>(nil)

    public init(path: String) { self.path = path }

    public func current() throws(TransportError) -> String {
        if let token = cached.withLock({ $0 }) { return token }
        return try reload()
    }

    /// Forgets the cached token: the next ``current()`` reads the file again (after a 401, an
    /// operator may have fixed it).
    public func invalidate() {
        cached.withLock { $0 = nil }
    }

    @discardableResult
    public func reload() throws(TransportError) -> String {
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8) else {
            throw TransportError(code: .tokenUnreadable, message: "the hall token file \(path) cannot be read; check that it exists and is readable by the hallsync user", isRetryable: false, needsOperator: true)
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw TransportError(code: .tokenEmpty, message: "the hall token file \(path) is empty; put the token issued by the hall into it", isRetryable: false, needsOperator: true)
        }
        cached.withLock { $0 = token }
        return token
    }
}
