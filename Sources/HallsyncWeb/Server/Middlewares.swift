import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth

/// Headers every page carries: nothing from elsewhere may load or frame it, nothing is cached
/// (pages hold personal data), no referrer leaves with a link.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.cacheControl] = "no-store"
        return response
    }
}

/// Finds the session's account: enabled, and logged in after its password last changed. The
/// session's life is extended on every request (it ends after `sessionMinutes` without one).
struct AccountMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let accounts: AccountStore
    let sessionMinutes: Int

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        var context = context
        if let session = context.session {
            if let account = try accounts.find(session.account), !account.disabled {
                context.account = account
                context.sessions.withLockedSession { $0?.expiresIn = .seconds(sessionMinutes * 60) }
            } else {
                context.sessions.clearSession()
            }
        }
        return try await next(request, context)
    }
}

/// The pages behind the login: without an account, to the login page.
struct RequireAccountMiddleware: RouterMiddleware {
    typealias Context = WebContext

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        guard context.account != nil else {
            return Response(status: .seeOther, headers: [.location: "/login"])
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
