import Foundation

/// An HTTP request as hallsync sends it.
public struct HTTPRequest: Sendable {
    public enum Method: String, Sendable { case get = "GET", post = "POST", patch = "PATCH" }

    public var method: Method
    /// Absolute URL, query already percent-encoded exactly as it will be sent.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// On a new connection, never one kept alive: after a peer refused a copy libcurl re-sent on a
    /// new connection (a portal's 4012), the next try must not meet the same dying connection.
    public var freshConnection: Bool

    public init(method: Method, url: String, headers: [(name: String, value: String)] = [], body: Data? = nil, freshConnection: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.freshConnection = freshConnection
    }
}

/// An HTTP response: status, headers (names lower-cased), body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data
    /// Every header in order, a repeated name (`set-cookie`) as many times as it came.
    public var allHeaders: [(name: String, value: String)] = []

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// `Retry-After` in seconds, when the server sent the delta-seconds form.
    public var retryAfter: Double? {
        header("retry-after").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// 408, 429 and the 5xx that mean "try again" (contract §2.2, §3.2).
    public var isRetryableStatus: Bool { [408, 429, 500, 502, 503, 504].contains(status) }
}

/// Percent-encoding for query components: everything but RFC 3986 unreserved characters.
public enum QueryEncoding {
    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// `a=1&b=2`, each value encoded.
    public static func query(_ items: [(String, String)]) -> String {
        items.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
