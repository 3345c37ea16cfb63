import Foundation
import HTTPTypes
import HallsyncDomain
import HallsyncConfiguration
import HallsyncStore
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The pages: each reads within the account's scope (``Account/reservationScope``, in the store,
/// on the server, for every page, list, export, record and action), masks personal data unless
/// the account's own department's, and writes every unmasked view to the audit log. The data
/// comes through the store's typed operations: no page holds SQL.
final class WebPages: Sendable {
    let configuration: HallsyncConfiguration.Configuration
    let sync: Store
    let web: WebStore
    let accounts: AccountStore
    let sessions: Sessions
    let logger: Logger
    let throttle: Mutex<LoginThrottle>
    /// Rows on a page of a list, the attention list and the audit log.
    static let pageSize = 50
    /// Lines on a page of the summary.
    static let summaryPageSize = 100

    init(configuration: HallsyncConfiguration.Configuration, sync: Store, web: WebStore, accounts: AccountStore, sessions: Sessions, logger: Logger) {
        self.configuration = configuration
        self.sync = sync
        self.web = web
        self.accounts = accounts
        self.sessions = sessions
        self.logger = logger
        throttle = Mutex(LoginThrottle(limit: configuration.web.loginAttemptsPerMinute))
    }

    // MARK: Around every page

    /// The header's account line (name, role, departments by name) and the page's title.
    func chrome(_ signedIn: SignedIn?, title: String, notice: PageQuery.Notice? = nil) -> [String: Any] {
        var model: [String: Any] = ["title": title]
        if let signedIn {
            let account = signedIn.account
            let names = (try? sync.read { tx in try tx.departmentNames(account.departments, scope: account.reservationScope) }) ?? [:]
            model["account"] = ["name": account.name, "roleName": account.role.chineseName, "scope": account.scopeDescription(departmentNames: names),
                                "isAdmin": account.role == .admin, "csrf": signedIn.csrf] as [String: Any]
            if let pair = pairLine() { model["pair"] = pair }
        }
        switch notice {
        case .requested?: model["flash"] = "已提交，同步程序将在下一轮处理。"
        case .resolved?: model["flash"] = "已提交处理说明，同步程序将在下一轮关闭此项。"
        case .recorded?: model["flash"] = "核实结果已记录。"
        case nil: break
        }
        return model
    }

    /// On a pair: which machine leads the region now (the lease row, by the database's clock), and
    /// which machine serves this page. nil on one machine.
    func pairLine() -> [String: Any]? {
        guard sync.dialect == .postgresql else { return nil }
        var line: [String: Any] = ["here": ProcessInfo.processInfo.hostName]
        do {
            switch try sync.leadership() {
            case let lease? where lease.isHeld:
                line["leader"] = lease.holder
                line["epoch"] = lease.epoch
            case let lease?:
                line["why"] = "\(lease.holder) 的租约已过期 \(Int(-lease.expiresInSeconds)) 秒"
            case nil:
                line["why"] = "尚无主机启动"
            }
        } catch {
            logger.warning("cannot read the pair's lease for the page header", metadata: ["error": "\(error)"])
            line["why"] = "无法读取数据库中的租约"
        }
        return line
    }

    func chrome(_ context: SignedInContext, title: String, notice: PageQuery.Notice? = nil) -> [String: Any] {
        chrome(context.session, title: title, notice: notice)
    }

    /// The client's address: behind the site's proxy, the last address it added.
    func clientAddress(_ request: Request, _ peerAddress: String) -> String {
        if configuration.web.behindProxy, let forwarded = request.headers[.xForwardedFor] {
            return forwarded.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? peerAddress
        }
        return peerAddress
    }

    /// The form, when its token is the session's; a ``RequestProblem`` (403) otherwise.
    func checkedForm<T: Decodable & TokenForm>(_ type: T.Type, _ request: Request, _ context: SignedInContext, back: String = "/summary") async throws -> T {
        let form = try await RequestInput.form(T.self, request)
        guard let token = form.csrf, Token.equal(token, context.session.csrf) else {
            throw RequestProblem("表单已过期或来自其他网站，请刷新页面后重试。", heading: "页面已过期", back: back, status: .forbidden)
        }
        return form
    }

    /// Writes a line per reservation shown with its personal data in full: who, when, which, where.
    func audit(_ reservationIds: [String], account: Account, view: String, _ request: Request, _ peerAddress: String) throws {
        try web.recordViews(of: reservationIds, account: account.name, view: view, address: clientAddress(request, peerAddress), at: Date().timeIntervalSince1970)
    }

    /// Entries with no stored reservation (a malformed id, an unreadable record) are the region's:
    /// its administrator sees them.
    func includesUnowned(_ account: Account) -> Bool { account.role == .admin && account.region == configuration.portal.regionCode }

    // MARK: Responses

    static func link(_ path: String, _ parameters: [String: String?]) -> String {
        let query = parameters.compactMapValues { $0 }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? "")" }
        return query.isEmpty ? path : path + "?" + query.joined(separator: "&")
    }

    /// Hidden fields that keep a list's filter when its dates are changed.
    func hidden(_ parameters: [String: String?]) -> [[String: String]] {
        parameters.filter { $0.key != "from" && $0.key != "to" && $0.key != "page" && $0.value != nil }.sorted { $0.key < $1.key }
            .map { ["name": $0.key, "value": $0.value!] }
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func redirect(_ location: String) -> Response { Response(status: .seeOther, headers: [.location: location]) }

    func message(_ signedIn: SignedIn?, status: HTTPResponse.Status, heading: String, text: String, back: String = "/summary") -> Response {
        html(Templates.render("message", chrome(signedIn, title: heading) + ["heading": heading, "text": text, "back": back]), status: status)
    }

    /// The same answer for what does not exist and what is out of scope: nothing tells which.
    func notFound(_ context: SignedInContext, back: String = "/summary") -> Response {
        message(context.session, status: .notFound, heading: "没有找到", text: "没有找到这条记录，或它不在您的查看范围内。", back: back)
    }

    static func time(_ unix: Double?) -> String {
        unix.map { BeijingTime(Date(timeIntervalSince1970: $0)).description } ?? ""
    }

    static func age(_ seconds: Double) -> String {
        let s = Int(max(0, min(seconds, 1e12)))
        if s >= 86_400 { return "\(s / 86_400) 天 \(s % 86_400 / 3600) 小时" }
        if s >= 3600 { return "\(s / 3600) 小时 \(s % 3600 / 60) 分" }
        return "\(s / 60) 分"
    }
}

func + (a: [String: Any], b: [String: Any]) -> [String: Any] { a.merging(b) { $1 } }
