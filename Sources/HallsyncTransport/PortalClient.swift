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
        guard let body = try send(method: .get, path: "/api/v1/reservations?\(query)", body: nil, extraHeaders: [],
                                  answer: ReservationPage.self) else {
            throw .malformed("the reservation page is null", url: baseURL)
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
        guard WireIdentifier.isValid(reservationId) else {
            throw TransportError(code: "BAD_RESERVATION_ID", message: "refused to push a status for \(WireIdentifier.printable(reservationId)): not of the contract's form; this is a bug, report it",
                                 isRetryable: false, needsOperator: true)
        }
        _ = try send(method: .post, path: "/api/v1/reservations/\(QueryEncoding.encode(reservationId))/status",
                     body: body, extraHeaders: [("X-Request-Id", requestId)], answer: Ignored.self)
    }

    /// Sends one signed request; returns the envelope's `data`, decoded once, nil when null.
    func send<Answer: Decodable>(method: HTTPRequest.Method, path: String, body: Data?, extraHeaders: [(name: String, value: String)],
                                 answer: Answer.Type) throws(TransportError) -> Answer? {
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
        let decoder = JSONDecoder()
        let typed = try? decoder.decode(Envelope<Answer>.self, from: response.body)
        // Only a failure's envelope, or a `data` of the wrong shape, is read a second time, without `data`.
        let envelope = typed?.withoutData ?? (try? decoder.decode(Envelope<Ignored>.self, from: response.body))
        switch response.status {
        case 200:
            guard let envelope else { throw .malformed("not a {code, msg, data} envelope", url: baseURL) }
            if envelope.code == "0" {
                guard let typed else { throw .malformed("`data` is not what \(path.split(separator: "?")[0]) answers", url: baseURL) }
                return typed.data
            }
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
struct Envelope<Answer: Decodable>: Decodable {
    var code: String
    var msg: String?
    var data: Answer?

    enum CodingKeys: String, CodingKey { case code, msg, data }

    init(code: String, msg: String?, data: Answer?) {
        self.code = code
        self.msg = msg
        self.data = data
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try? c.decode(String.self, forKey: .code) { code = text } else { code = String(try c.decode(Int.self, forKey: .code)) }
        msg = try? c.decode(String.self, forKey: .msg)
        data = try c.decodeIfPresent(Answer.self, forKey: .data)
    }

    var withoutData: Envelope<Ignored> { Envelope<Ignored>(code: code, msg: msg, data: nil) }
}

/// A `data` whose content does not matter.
struct Ignored: Decodable {
    init() {}
    init(from decoder: any Decoder) throws {}
}

/// `data` of the reservation list (contract §2.3).
struct ReservationPage: Decodable {
    var total: Int
    var pageNo: Int?
    var pageSize: Int?
    var list: [LenientEntry]
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
