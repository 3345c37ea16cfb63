import Foundation
import HTTPTypes
import HallsyncDomain
import Hummingbird

/// 登录 and 退出.
extension WebPages {
    func loginPage(_ request: Request, _ context: WebContext, secure: Bool, error: String? = nil, name: String = "", status: HTTPResponse.Status = .ok) -> Response {
        if context.signedIn != nil, error == nil { return redirect("/summary") }
        // The login form's own token, in a cookie and in the form (a page elsewhere cannot read the cookie).
        let token = Token.make()
        var model: [String: Any] = ["title": "登录", "name": name, "loginToken": token]
        if let error { model["error"] = error }
        var response = html(Templates.render("login", model), status: status)
        response.setCookie(Cookie(name: "hallsync_login", value: token, path: "/login", secure: secure, sameSite: .strict))
        return response
    }

    func login(_ request: Request, _ context: WebContext, secure: Bool) async throws -> Response {
        let form = try await RequestInput.form(LoginForm.self, request)
        let name = form.name
        let address = clientAddress(request, context.peerAddress)
        guard let token = form.csrf, let cookie = request.cookies["hallsync_login"]?.value, Token.equal(token, String(cookie)) else {
            return loginPage(request, context, secure: secure, error: "登录页面已过期，请重新登录", name: name, status: .forbidden)
        }
        let now = Date().timeIntervalSince1970
        let keys = ["account:" + name, "address:" + address]
        guard throttle.withLock({ $0.allows(keys: keys, now: now) }) else {
            let wait = Int(throttle.withLock { $0.retryAfter(keys: keys, now: now) }.rounded(.up))
            logger.warning("login refused: too many failed attempts", metadata: ["account": "\(WireIdentifier.printable(name))", "address": "\(address)"])
            var response = loginPage(request, context, secure: secure, error: "登录失败次数过多，请 \(max(wait, 1)) 秒后再试", name: name, status: .tooManyRequests)
            response.headers[.retryAfter] = String(max(wait, 1))
            return response
        }
        guard let account = try await accounts.verify(name: name, password: form.password) else {
            throttle.withLock { $0.failed(keys: keys, now: now) }
            logger.notice("login failed", metadata: ["account": "\(WireIdentifier.printable(name))", "address": "\(address)"])
            return loginPage(request, context, secure: secure, error: "账号或密码错误", name: name, status: .unauthorized)
        }
        throttle.withLock { $0.succeeded(account: "account:" + name) }
        // A new session (a new token) at every login: a token known before cannot be taken over;
        // the account's earlier sessions end, the one this browser carried included.
        let previous = context.signedIn?.tokenHash
        let sessionCookie = try await offTheEventLoop { [self] in
            if let previous { try web.endSession(tokenHash: previous) }
            return try sessions.start(for: account, at: Date().timeIntervalSince1970)
        }
        logger.notice("login", metadata: ["account": "\(account.name)", "address": "\(address)"])
        var response = redirect("/summary")
        response.setCookie(sessionCookie)
        return response
    }

    func logout(_ request: Request, _ context: SignedInContext) async throws -> Response {
        _ = try await checkedForm(ConfirmForm.self, request, context)
        let tokenHash = context.session.tokenHash
        try await offTheEventLoop { [web] in try web.endSession(tokenHash: tokenHash) }
        var response = redirect("/login")
        response.setCookie(sessions.expiredCookie)
        return response
    }
}
