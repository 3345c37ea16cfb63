import Crypto
import Foundation
import HallsyncStore
import Hummingbird

/// Sessions: a random token in a cookie that lives as long as the browser (no `Expires`, no
/// `Max-Age`: on a shared counter PC the next person to open the browser is not signed in), its
/// SHA-256 in the web page's database with the account, the login time and an idle expiry
/// (`web.sessionMinutes`).
struct Sessions: Sendable {
    static let cookieName = "hallsync_session"
    let web: WebStore
    let minutes: Int
    /// `Secure` cookies: under TLS, here or at the site's proxy.
    let secure: Bool

    /// A new session for the account; its earlier sessions end (a login on one PC signs the
    /// account out of another). Returns the cookie to set.
    func start(for account: Account, at now: Double) throws -> Cookie {
        let token = Token.make()
        try web.startSession(SessionRecord(tokenHash: Self.hash(token), account: account.name, csrf: Token.make(), loginAt: now, seenAt: now,
                                           expiresAt: now + Double(minutes * 60)), endingOthers: true)
        return cookie(token)
    }

    func cookie(_ token: String) -> Cookie {
        Cookie(name: Self.cookieName, value: token, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    /// Tells the browser to forget the cookie.
    var expiredCookie: Cookie {
        Cookie(name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Finds the request's session and its account. A session counts only while its account is
/// enabled and it logged in after the account's password last changed and after its sessions
/// were last ended (a disable): the store deletes such sessions by their account column, and this
/// check refuses one that survived anyway. The idle expiry moves on with each request (at most
/// once a minute, to spare the database a write per request).
struct SignInMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let sessions: Sessions

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var context = context
        var forget = false
        if let token = request.cookies[Sessions.cookieName]?.value, !token.isEmpty {
            let sessions = self.sessions
            let found = try await offTheEventLoop { () throws -> SignedIn? in
                let now = Date().timeIntervalSince1970
                let tokenHash = Sessions.hash(String(token))
                guard let session = try sessions.web.session(tokenHash: tokenHash, now: now),
                      let record = try sessions.web.account(named: session.account),
                      record.accepts(sessionLoggedInAt: session.loginAt) else {
                    try sessions.web.endSession(tokenHash: tokenHash)
                    return nil
                }
                if now - session.seenAt >= 60 {
                    try sessions.web.extendSession(tokenHash: tokenHash, seenAt: now, expiresAt: now + Double(sessions.minutes * 60))
                }
                return SignedIn(account: Account(record), tokenHash: tokenHash, csrf: session.csrf, loginAt: session.loginAt)
            }
            context.signedIn = found
            forget = found == nil
        }
        var response = try await next(request, context)
        let setsSession = response.headers[values: .setCookie].contains { $0.hasPrefix(Sessions.cookieName + "=") }
        if forget, !setsSession { response.headers[values: .setCookie].append(sessions.expiredCookie.description) }
        return response
    }
}
