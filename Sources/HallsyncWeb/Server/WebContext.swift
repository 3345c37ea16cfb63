import Foundation
import HallsyncDomain
import Hummingbird
import HummingbirdAuth
import NIOCore

/// What a session remembers: who logged in, when, and the token every form carries back.
public struct WebSession: Codable, Sendable, Equatable {
    public var account: String
    /// Compared with every form's `csrf` field: a page of another site cannot post as the clerk.
    public var csrf: String
    public var loginAt: Double
}

/// The request context: the session, and the account once the session is checked.
public struct WebContext: RequestContext, SessionRequestContext {
    public typealias Session = WebSession
    public var coreContext: CoreRequestContextStorage
    public let sessions: SessionContext<WebSession>
    /// The logged-in account (set by ``AccountMiddleware``).
    public var account: Account?
    /// The client's address, for the throttle and the audit log.
    public var clientAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        sessions = .init()
        account = nil
        clientAddress = source.channel.remoteAddress?.ipAddress ?? ""
    }

    public var session: WebSession? { sessions.session }
}

/// Random tokens: session CSRF tokens and login form tokens.
enum Token {
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Compares without telling, by its time, how much matched.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
