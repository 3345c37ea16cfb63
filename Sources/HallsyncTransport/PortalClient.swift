import Foundation
import HallsyncDomain
import Logging

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

    let logger: Logger

    public init(baseURL: String, signer: PortalSigner, http: CurlHTTPClient,
                logger: Logger = Logger(label: "hallsync", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.signer = signer
        self.http = http
        self.logger = logger
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
            throw TransportError(code: .badReservationId, message: "refused to push a status for \(WireIdentifier.printable(reservationId)): not of the contract's form; this is a bug, report it",
                                 isRetryable: false, needsOperator: true)
        }
        _ = try send(method: .post, path: "/api/v1/reservations/\(QueryEncoding.encode(reservationId))/status",
                     body: body, extraHeaders: [("X-Request-Id", requestId)], answer: Ignored.self)
    }

    /// Sends one signed request; returns the envelope's `data`, decoded once, nil when null.
    ///
    /// A `4012` (nonce already used) is what a request re-sent by libcurl on a new connection
    /// after a reused one died gets — the same nonce twice. It is signed again with a new nonce
    /// and sent once more at once. That holds for a status push too: the first copy may have
    /// been applied before the connection died, and the push sent again carries the same
    /// `X-Request-Id`, which the portal answers with its first answer and no second effect
    /// (contract §2.4). So every request keeps its connection alive; a fresh TCP connection per
    /// push cost about as much CPU as the push itself.
    func send<Answer: Decodable>(method: HTTPRequest.Method, path: String, body: Data?, extraHeaders: [(name: String, value: String)],
                                 answer: Answer.Type) throws(TransportError) -> Answer? {
        var attempt = 0
        while true {
            attempt += 1
            let millis = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
            var headers = signer.headers(method: method.rawValue, target: basePath + path, body: body ?? Data(),
                                         timestampMillis: millis, nonce: PortalSigner.makeNonce())
            headers.append(contentsOf: extraHeaders)
            headers.append(("Accept", "application/json"))
            // After a 4012 the copy goes on a new connection: a peer that drops every re-used one would
            // otherwise have libcurl re-send the new nonce on a new connection too, and refuse it again.
            let response = try http.perform(HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body, freshConnection: attempt > 1))
            if let serverTime = response.header("x-server-time").flatMap({ BeijingTime(parsing: $0) }) {
                lastServerTime = (serverTime, ContinuousClock.now)
            }
            // (A Result: a typed `catch where` in this loop crashes the 6.3 compiler's ownership checker.)
            let interpreted = Result { () throws(TransportError) in try Self.interpret(response, answer: Answer.self, path: path, url: baseURL) }
            if case .failure(let error) = interpreted, error.code == .portalNonceSeen, attempt == 1 {
                logger.notice("the portal saw a nonce twice (a request re-sent on a new connection); signing it again",
                              metadata: ["path": "\(path.split(separator: "?")[0])"])
                continue
            }
            return try interpreted.get()
        }
    }

    /// What a portal answer means (contract §2.1, §2.2): the envelope's `data`, or a typed error
    /// that says whose problem it is — the record's (`4001`, `4040`, `4090`: a person looks at
    /// it), a passing one (`5001`, `5002`, 429, 5xx, a re-sent nonce), or the endpoint's (a
    /// redirect, a 404, a refused signature: an operator fixes it, and nothing is lost meanwhile).
    static func interpret<Answer: Decodable>(_ response: HTTPResponse, answer: Answer.Type, path: String, url: String) throws(TransportError) -> Answer? {
        let decoder = JSONDecoder()
        let typed = try? decoder.decode(Envelope<Answer>.self, from: response.body)
        // Only a failure's envelope, or a `data` of the wrong shape, is read a second time, without `data`.
        let envelope = typed?.withoutData ?? (try? decoder.decode(Envelope<Ignored>.self, from: response.body))
        // The portal's words may echo what it was sent: masked as a peer's text.
        let message = envelope?.msg.map { PersonalData.redactPeerText(String($0.prefix(500))) }
        switch response.status {
        case 200:
            guard let envelope else { throw .malformed("not a {code, msg, data} envelope", url: url) }
            switch envelope.code {
            case "0":
                guard let typed else { throw .malformed("`data` is not what \(path.split(separator: "?")[0]) answers", url: url) }
                return typed.data
            case "5001", "5002":
                throw TransportError(code: .portal(envelope.code), message: "the portal answered \(envelope.code): \(message ?? "")", isRetryable: true, status: 200)
            case "4001", "4040", "4090":
                throw TransportError(code: .portal(envelope.code), message: "the portal answered \(envelope.code): \(message ?? "")", isRetryable: false, status: 200)
            default:
                throw TransportError(code: .portal(envelope.code),
                                     message: "the portal answered the code \(WireIdentifier.printable(String(envelope.code.prefix(16)))), which its contract does not define (\(message ?? "")); nothing is lost: the request is kept and tried again — check portal.baseURL, and ask the portal's operators",
                                     isRetryable: false, status: 200, needsOperator: true)
            }
        case 401:
            let code = envelope?.code ?? "401"
            switch code {
            case "4012":
                throw TransportError(code: .portalNonceSeen, message: "the portal saw this request's nonce before (\(message ?? "401")); it is signed again and retried",
                                     isRetryable: true, status: 401)
            case "4011":
                throw TransportError(code: .portalClockRefused, message: "the portal says our clock is more than 300 s off (\(message ?? "401")); fix the host's time (NTP)",
                                     isRetryable: false, status: 401, needsOperator: true)
            default:
                throw TransportError(code: .portal(code), message: "the portal refused the signature or the app id (\(message ?? "401")); check portal.appId and the app secret",
                                     isRetryable: false, status: 401, needsOperator: true)
            }
        case 300...399:
            throw TransportError(code: .http(response.status),
                                 message: "the portal answered a redirect (HTTP \(response.status)\(response.header("location").map { " to \(WireIdentifier.printable(String($0.prefix(200))))" } ?? "")) at \(url): hallsync does not follow redirects with signed requests; set portal.baseURL to the address the portal really answers at",
                                 isRetryable: false, status: response.status, needsOperator: true)
        case _ where response.isRetryableStatus:
            throw TransportError(code: .http(response.status), message: "the portal answered HTTP \(response.status)\(message.map { ": \($0)" } ?? "")",
                                 isRetryable: true, retryAfter: response.retryAfter, status: response.status)
        default:
            throw TransportError(code: .http(response.status),
                                 message: "the portal answered HTTP \(response.status) at \(url)\(message.map { " (\($0))" } ?? ""): the address or the portal's API is not what its contract says; check portal.baseURL. Nothing is lost: the request is kept and tried again",
                                 isRetryable: false, status: response.status, needsOperator: true)
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
