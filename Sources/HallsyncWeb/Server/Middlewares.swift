import Foundation
import HTTPTypes
import HallsyncDomain
import Hummingbird
import Logging

/// Headers every page carries, error pages included: nothing from elsewhere may load or frame it,
/// nothing is cached (pages hold personal data), no referrer leaves with a link.
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

/// What a handler throws becomes a page in Chinese that says what to do: a request the page
/// cannot read (``RequestProblem``) a 400; the way to the login page a redirect; a framework's
/// refusal (a body too large) its status; anything else a 500 whose cause goes to the log, with
/// personal data masked, and not to the browser.
struct ErrorPagesMiddleware: RouterMiddleware {
    typealias Context = WebContext
    let pages: WebPages

    func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as RequestProblem {
            return pages.message(context.signedIn, status: problem.status, heading: problem.heading, text: problem.message, back: problem.back)
        } catch let error as HTTPError where error.status == .seeOther {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let text = error.status == .contentTooLarge ? "提交的内容过多，请减少后重试。" : "请求无法处理（\(error.status.code)），请返回后重试。"
            return pages.message(context.signedIn, status: error.status, heading: "请求无法处理", text: text)
        } catch {
            pages.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(PersonalData.redact(String(describing: error)))"])
            return pages.message(context.signedIn, status: .internalServerError, heading: "服务器出错",
                                 text: "页面暂时无法显示，请稍后再试；如果一直出现，请联系管理员（错误已记入日志）。")
        }
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
