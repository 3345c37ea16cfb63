import Foundation
import HallsyncDomain
import Hummingbird
import NIOCore

/// Who is signed in, as ``SignInMiddleware`` found them: the account, and its session.
public struct SignedIn: Sendable {
    public let account: Account
    /// The SHA-256 of the session cookie's token: the session's key in the web page's database.
    public let tokenHash: String
    /// Compared with every form's `csrf` field: a page of another site cannot post as the clerk.
    public let csrf: String
    public let loginAt: Double
}

/// The request context of every request: the client's address, and who is signed in, if anyone.
/// The pages behind the login take a ``SignedInContext`` instead, whose account is not optional.
public struct WebContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``SignInMiddleware`` when the request carries a live session of an enabled account.
    public var signedIn: SignedIn?
    /// The peer's address (behind the site's proxy: the proxy's; see ``WebPages/clientAddress(_:_:)``).
    public let peerAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        signedIn = nil
        peerAddress = source.channel.remoteAddress?.ipAddress ?? ""
    }
}

/// The context of the pages behind the login: built from a ``WebContext`` only when someone is
/// signed in (else the request goes to the login page), so a handler's account is never missing.
public struct SignedInContext: ChildRequestContext {
    public typealias ParentContext = WebContext
    public var coreContext: CoreRequestContextStorage
    public let account: Account
    public let session: SignedIn
    public let peerAddress: String

    public init(context: WebContext) throws {
        guard let signedIn = context.signedIn else { throw HTTPError(.seeOther, headers: [.location: "/login"]) }
        coreContext = context.coreContext
        account = signedIn.account
        session = signedIn
        peerAddress = context.peerAddress
    }
}

/// Random tokens: session tokens, CSRF tokens and login form tokens.
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
