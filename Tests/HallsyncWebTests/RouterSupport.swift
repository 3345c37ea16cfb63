import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
@testable import HallsyncWeb

/// The web page's real router and middleware in this process, through Hummingbird's test client
/// (`.router`: no socket): what the scope, CSRF, masking and label tests send their requests to.
extension WebSite {
    func withRouter<T: Sendable>(_ body: @Sendable @escaping (RouterSite) async throws -> T) async throws -> T {
        let server = try WebServer(configuration: configuration, logger: Self.logger, bcryptCost: 4)
        let application = Application(router: server.makeRouter(), logger: Self.logger)
        return try await application.test(.router) { client in try await body(RouterSite(client: client)) }
    }
}

/// The test client, from which browsers with cookie jars of their own are made.
struct RouterSite: Sendable {
    let client: any TestClientProtocol
    func browser() -> RouterBrowser { RouterBrowser(client: client) }
}

/// A client with a cookie jar that follows 303 redirects by hand, over the router.
final class RouterBrowser: @unchecked Sendable {
    enum Verb { case get, post }

    struct Page: Sendable {
        var status: Int
        var body: String
        var headers: [String: String]
        var setCookies: [String]
        var location: String?
    }

    let client: any TestClientProtocol
    var cookies: [String: String] = [:]
    /// Every Set-Cookie line received, for checking its attributes.
    var setCookies: [String] = []
    /// The client address the requests claim to come from (`X-Forwarded-For` is honoured only behind a proxy).
    var headers: [String: String] = [:]

    init(client: any TestClientProtocol) { self.client = client }

    @discardableResult
    func request(_ verb: Verb, _ path: String, form: [String: String]? = nil, follow: Bool = true) async throws -> Page {
        var fields = HTTPFields()
        if !cookies.isEmpty { fields[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        var body: ByteBuffer?
        if let form {
            body = ByteBuffer(string: form.sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
            fields[.contentType] = "application/x-www-form-urlencoded"
        }
        let response = try await client.executeRequest(uri: path, method: verb == .get ? .get : .post, headers: fields, body: body)
        var received: [String] = []
        for value in response.headers[values: .setCookie] {
            received.append(value)
            setCookies.append(value)
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pair.count == 2 else { continue }
            if value.lowercased().contains("max-age=0") || pair[1].isEmpty { cookies[pair[0]] = nil } else { cookies[pair[0]] = pair[1] }
        }
        var headers: [String: String] = [:]
        for field in response.headers { headers[field.name.canonicalName] = field.value }
        let page = Page(status: Int(response.status.code), body: String(buffer: response.body), headers: headers, setCookies: received,
                        location: response.headers[.location])
        if follow, page.status == 303, let location = page.location { return try await request(.get, location) }
        return page
    }

    func get(_ path: String) async throws -> Page { try await request(.get, path) }

    /// The hidden `csrf` field of a page.
    func csrf(in page: Page) -> String? {
        guard let range = page.body.range(of: #"name="csrf" value=""#) else { return nil }
        return String(page.body[range.upperBound...].prefix { $0 != "\"" })
    }

    @discardableResult
    func login(_ name: String, password: String = WebSite.password) async throws -> Page {
        let form = try await get("/login")
        return try await request(.post, "/login", form: ["name": name, "password": password, "csrf": csrf(in: form) ?? ""])
    }
}
