import Foundation
import HallsyncDomain

/// The portal's API (contract §2): list reservations by update time, push a status.
///
///     let portal = PortalClient(baseURL: "https://portal.example.gov.cn/gateway", signer: signer, http: http)
///     let page = try portal.listReservations(regionCode: "371002", from: start, until: end, pageNo: 1, pageSize: 100)
///
/// Every request is signed; business failures that come as HTTP 200 become
/// ``TransportError``s (`PORTAL_5001` retryable, `PORTAL_4001` not, …).
public final class PortalClient: @unchecked Sendable {
    public let baseURL: String
    private let signer: PortalSigner
    private let http: CurlHTTPClient
    private let basePath: String

    /// The portal's clock as last read from `X-Server-Time`, with the local monotonic time of reading.
    public private(set) var lastServerTime: (time: BeijingTime, readAt: ContinuousClock.Instant)?

    public init(baseURL: String, signer: PortalSigner, http: CurlHTTPClient) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.signer = signer
        self.http = http
        // The path part of the base URL: the signed request target starts with it.
        if let schemeEnd = self.baseURL.range(of: "://"),
           let slash = self.baseURL[schemeEnd.upperBound...].firstIndex(of: "/") {
            basePath = String(self.baseURL[slash...])
        } else {
            basePath = ""
        }
    }

    /// The portal's current time, estimated from its last `X-Server-Time` plus the time elapsed since.
    public func estimatedServerTime() -> BeijingTime? {
        guard let last = lastServerTime else { return nil }
        let elapsed = ContinuousClock.now - last.readAt
        return last.time.adding(seconds: Int(elapsed.components.seconds))
    }

    public struct Page: Sendable {
        public var total: Int
        public var pageNo: Int
        public var pageSize: Int
        public var entries: [Entry]
    }

    /// One element of a page's `list`: a readable reservation, or what could be salvaged of one.
    public enum Entry: Sendable {
        case reservation(PortalReservation)
        case unreadable(reservationId: String?, updateTime: String?, reason: String)
    }

    public func listReservations(regionCode: String, from start: BeijingTime, until end: BeijingTime,
                                 pageNo: Int, pageSize: Int) throws(TransportError) -> Page {
        let query = QueryEncoding.query([
            ("regionCode", regionCode), ("startTime", start.description), ("endTime", end.description),
            ("pageNo", String(pageNo)), ("pageSize", String(pageSize)),
        ])
        let data = try send(method: .get, path: "/api/v1/reservations?\(query)", body: nil, extraHeaders: [])
        struct Body: Decodable {
            var total: Int
            var pageNo: Int?
            var pageSize: Int?
            var list: [LenientEntry]
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: data) else {
            throw .malformed("the reservation page is not {total, list}", url: baseURL)
        }
        return Page(total: body.total, pageNo: body.pageNo ?? pageNo, pageSize: body.pageSize ?? pageSize,
                    entries: body.list.map(\.entry))
    }

    /// A status push (contract §2.4).
    public struct StatusPush: Codable, Hashable, Sendable {
        public var processStatus: String
        public var hallItemNo: String?
        public var operator_: String
        public var changedAt: String
        public var remark: String

        enum CodingKeys: String, CodingKey {
            case processStatus, hallItemNo, operator_ = "operator", changedAt, remark
        }

        public init(processStatus: String, hallItemNo: String?, operator_: String, changedAt: String, remark: String) {
            self.processStatus = processStatus
            self.hallItemNo = hallItemNo
            self.operator_ = operator_
            self.changedAt = changedAt
            self.remark = remark
        }
    }

    public func pushStatus(reservationId: String, body: Data, requestId: String) throws(TransportError) {
        _ = try send(method: .post, path: "/api/v1/reservations/\(QueryEncoding.encode(reservationId))/status",
                     body: body, extraHeaders: [("X-Request-Id", requestId)])
    }

    /// Sends one signed request; returns the envelope's `data` as JSON bytes.
    func send(method: HTTPRequest.Method, path: String, body: Data?, extraHeaders: [(name: String, value: String)]) throws(TransportError) -> Data {
        let target = basePath + path
        let millis = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        var headers = signer.headers(method: method.rawValue, target: target, body: body ?? Data(),
                                     timestampMillis: millis, nonce: PortalSigner.makeNonce())
        headers.append(contentsOf: extraHeaders)
        headers.append(("Accept", "application/json"))
        let response = try http.perform(HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body))
        if let serverTime = response.header("x-server-time").flatMap({ BeijingTime(parsing: $0) }) {
            lastServerTime = (serverTime, ContinuousClock.now)
        }
        let envelope = try? JSONDecoder().decode(Envelope.self, from: response.body)
        switch response.status {
        case 200:
            guard let envelope else { throw .malformed("not a {code, msg, data} envelope", url: baseURL) }
            if envelope.code == "0" { return envelope.data ?? Data("null".utf8) }
            let retryable = envelope.code == "5001" || envelope.code == "5002"
            throw TransportError(code: "PORTAL_\(envelope.code)", message: "the portal answered \(envelope.code): \(envelope.msg ?? "")",
                                 isRetryable: retryable, status: 200)
        case 401:
            let code = envelope?.code ?? "401"
            let hint: String
            switch code {
            case "4011": hint = "the portal says our clock is more than 300 s off; fix the host's time (NTP)"
            case "4012": hint = "the portal saw this nonce before; this should not happen, report it"
            default: hint = "the signature or app id was refused; check portal.appId and the app secret"
            }
            throw TransportError(code: "PORTAL_\(code)", message: "\(hint) (\(envelope?.msg ?? "401"))", isRetryable: false, status: 401, needsOperator: true)
        default:
            throw TransportError(code: "HTTP_\(response.status)",
                                 message: "the portal answered HTTP \(response.status)\(envelope?.msg.map { ": \($0)" } ?? "")",
                                 isRetryable: response.isRetryableStatus, retryAfter: response.retryAfter, status: response.status)
        }
    }
}

/// `{"code": "0", "msg": "成功", "data": …}`; `code` may come as a number from some sites.
struct Envelope: Decodable {
    var code: String
    var msg: String?
    var data: Data?

    enum CodingKeys: String, CodingKey { case code, msg, data }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try? c.decode(String.self, forKey: .code) { code = text } else { code = String(try c.decode(Int.self, forKey: .code)) }
        msg = try? c.decode(String.self, forKey: .msg)
        if let value = try? c.decode(JSONValue.self, forKey: .data), value != .null {
            data = try JSONEncoder().encode(value)
        } else {
            data = nil
        }
    }
}

/// Decodes one list element without failing the page.
struct LenientEntry: Decodable {
    let entry: PortalClient.Entry

    init(from decoder: any Decoder) throws {
        do {
            entry = .reservation(try PortalReservation(from: decoder))
        } catch {
            struct Key: Decodable { var reservationId: String?; var updateTime: String? }
            let key = try? Key(from: decoder)
            entry = .unreadable(reservationId: key?.reservationId, updateTime: key?.updateTime,
                                reason: "the portal record could not be read: \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "field \(key.stringValue) is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        default: return "malformed JSON"
        }
    }
}

/// Any JSON value, to carry `data` through untouched.
enum JSONValue: Codable, Hashable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
