import Foundation
import HallsyncDomain

/// One hall system's inbox API (contract §3), the same for intake and licensing.
///
///     let hall = HallClient(target: .intake, baseURL: "https://hall.example/intake", token: token, http: http)
///     let itemNo = try hall.createItem(body: bodyBytes, idempotencyKey: "hs-YY…-intake")
///
/// A `TOKEN_EXPIRED` answer re-reads the token file and repeats the request once, with the
/// same idempotency key. Other failures become ``TransportError``s carrying the hall's code
/// and message; 4xx other than 408/429 are not retryable, and 401/403 need an operator.
public final class HallClient: @unchecked Sendable {
    public let target: HallTarget
    public let baseURL: String
    private let token: TokenSource
    private let http: CurlHTTPClient

    public init(target: HallTarget, baseURL: String, token: TokenSource, http: CurlHTTPClient) {
        self.target = target
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.http = http
    }

    /// An item as the hall lists it (contract §3.4).
    public struct Item: Decodable, Hashable, Sendable {
        public var itemNo: String
        public var externalId: String
        public var status: String
        public var revision: Int?
        public var source: String?
        /// What the item says, as created (or updated): tells the item hallsync made from one made
        /// by hand with the same id.
        public var itemName: String?
        public var registerTime: String?
        public var idNumber: String?
        public var linkedItemNo: String?

        public init(itemNo: String, externalId: String, status: String, revision: Int?, source: String? = nil, itemName: String? = nil,
                    registerTime: String? = nil, idNumber: String? = nil, linkedItemNo: String? = nil) {
            self.itemNo = itemNo
            self.externalId = externalId
            self.status = status
            self.revision = revision
            self.source = source
            self.itemName = itemName
            self.registerTime = registerTime
            self.idNumber = idNumber
            self.linkedItemNo = linkedItemNo
        }
    }

    /// Creates an item; returns its `itemNo` (the same one again for a repeated key).
    public func createItem(body: Data, idempotencyKey: String) throws(TransportError) -> String {
        try Self.createdItemNumber(try send(.post, "/inbox/items", body: body, headers: [("Idempotency-Key", idempotencyKey)]), hall: target, url: baseURL)
    }

    /// The `itemNo` of a create's 2xx answer (contract §3.3).
    static func createdItemNumber(_ response: HTTPResponse, hall: HallTarget, url: String) throws(TransportError) -> String {
        struct Created: Decodable { var itemNo: String }
        guard let created = try? JSONDecoder().decode(Created.self, from: response.body) else {
            throw .malformed("the create answer has no itemNo", url: url)
        }
        guard WireIdentifier.isValid(created.itemNo) else {
            // The same key would bring the same number back: not the record's fault, nor a passing one.
            throw TransportError(code: .badItemNumber,
                                 message: "the \(hall) hall answered the item number \(WireIdentifier.printable(created.itemNo)), which is not of the contract's form (letters, digits, - and _); the send is kept until the hall is fixed, report it to the hall's operators",
                                 isRetryable: false, status: response.status, needsOperator: true)
        }
        return created.itemNo
    }

    /// Items whose `externalId` is the reservation's id, zero or more. Items whose number is not
    /// of the contract's form are left out: hallsync could never address them.
    public func findItems(externalId: String) throws(TransportError) -> [Item] {
        try Self.foundItems(try send(.get, "/inbox/items?externalId=\(QueryEncoding.encode(externalId))", body: nil, headers: []),
                            externalId: externalId, url: baseURL)
    }

    /// The items of a lookup's 2xx answer (contract §3.4) that are the reservation's and addressable.
    static func foundItems(_ response: HTTPResponse, externalId: String, url: String) throws(TransportError) -> [Item] {
        struct Found: Decodable { var items: [Item] }
        guard let found = try? JSONDecoder().decode(Found.self, from: response.body) else {
            throw .malformed("the lookup answer is not {items: [...]}", url: url)
        }
        return found.items.filter { WireIdentifier.isValid($0.itemNo) && $0.externalId == externalId }
    }

    /// Updates an open item (contract §3.5).
    public func updateItem(itemNo: String, body: Data) throws(TransportError) {
        _ = try send(.patch, try itemPath(itemNo), body: body, headers: [])
    }

    /// `/inbox/items/{itemNo}`: only a number of the contract's form becomes a path segment, so a
    /// request cannot be steered to another endpoint (`..` would be collapsed by a URL library).
    func itemPath(_ itemNo: String, _ suffix: String = "") throws(TransportError) -> String {
        guard WireIdentifier.isValid(itemNo) else {
            throw TransportError(code: .badItemNumber,
                                 message: "refused to address the item \(WireIdentifier.printable(itemNo)) in the \(target) hall: not of the contract's form; this is a bug, report it",
                                 isRetryable: false, needsOperator: true)
        }
        return "/inbox/items/" + itemNo + suffix
    }

    /// The body of `POST /inbox/items/{itemNo}/actions` (contract §3.6).
    public struct ActionBody: Codable, Hashable, Sendable {
        public var action: HallAction
        public var origin: ActionOrigin
        public var `operator`: String
        public var at: String
        public var remark: String

        public init(action: HallAction, origin: ActionOrigin, operator: String, at: String, remark: String = "") {
            self.action = action
            self.origin = origin
            self.operator = `operator`
            self.at = at
            self.remark = remark
        }
    }

    /// What the hall made of an action.
    public enum ActionResult: Hashable, Sendable {
        /// The item is now (or already was) in the action's status.
        case applied
        /// 409 `ITEM_CLOSED`: someone closed the item first, with this status.
        case alreadyClosed(status: String)
    }

    /// Closes an item (contract §3.6); repeating the same key, or the same action on an item
    /// already in its status, changes nothing.
    public func act(itemNo: String, body: Data, idempotencyKey: String) throws(TransportError) -> ActionResult {
        do {
            _ = try send(.post, try itemPath(itemNo, "/actions"), body: body, headers: [("Idempotency-Key", idempotencyKey)])
            return .applied
        } catch where error.code == .itemClosed {
            guard let status = error.itemStatus else { throw error }
            return .alreadyClosed(status: status)
        }
    }

    /// One status change in the change feed (contract §3.7).
    public struct Change: Decodable, Hashable, Sendable {
        public var seq: Int64
        public var itemNo: String
        public var externalId: String
        public var status: String
        public var origin: String?
        public var `operator`: String?
        public var at: String?
        public var remark: String?
    }

    public struct ChangePage: Decodable, Hashable, Sendable {
        public var changes: [Change]
        public var lastSeq: Int64
    }

    /// The changes after `after`, oldest first. A 410 throws `FEED_EXPIRED` (not retryable):
    /// the caller must reconcile its open items and start again from a fresh read.
    public func changes(after: Int64, limit: Int) throws(TransportError) -> ChangePage {
        try Self.changePage(try send(.get, "/inbox/changes?after=\(after)&limit=\(limit)", body: nil, headers: []), after: after, url: baseURL)
    }

    /// A change feed's 2xx answer (contract §3.7). `lastSeq` is the highest `seq` of the changes,
    /// or `after` when there are none (after `after=0`: the newest existing); changes come in
    /// strictly increasing `seq` after `after`. An answer that breaks this cannot be trusted to
    /// move the cursor (a `lastSeq` far ahead would skip every change until then): it is refused.
    static func changePage(_ response: HTTPResponse, after: Int64, url: String) throws(TransportError) -> ChangePage {
        guard let page = try? JSONDecoder().decode(ChangePage.self, from: response.body) else {
            throw .malformed("the change feed answer is not {changes: [...], lastSeq: N}", url: url)
        }
        let seqs = page.changes.map(\.seq)
        // Numbering below the position asked for: the hall's feed went back (restored from a
        // backup?). Changes numbered below it would never be read: the reader starts over.
        if after > 0, page.lastSeq < after || seqs.contains(where: { $0 <= after }) {
            throw TransportError(code: .feedRewound,
                                 message: "the change feed at \(url) answered seq values at or below the position asked for (after \(after), lastSeq \(page.lastSeq)): its numbering went back, as after a restore from a backup; hallsync reads it again from its oldest change and looks up every open item",
                                 isRetryable: false, status: response.status)
        }
        let lastSeqRight = seqs.last.map { $0 == page.lastSeq } ?? (after == 0 ? page.lastSeq >= 0 : page.lastSeq == after)
        guard lastSeqRight, zip(seqs, seqs.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw .malformed("the change feed answered seq values out of order, or a lastSeq that is not its last change (after \(after), lastSeq \(page.lastSeq))", url: url)
        }
        return page
    }

    func send(_ method: HTTPRequest.Method, _ path: String, body: Data?, headers: [(name: String, value: String)]) throws(TransportError) -> HTTPResponse {
        var response = try perform(method, path, body: body, headers: headers, token: token.current())
        if response.status == 401, Self.errorBody(response)?.error.map(TransportError.Code.hall) == .tokenExpired {
            response = try perform(method, path, body: body, headers: headers, token: token.reload())
        }
        guard let error = Self.failure(of: response, hall: target, url: baseURL + path.split(separator: "?")[0], tokenFile: token.path) else {
            return response
        }
        // Any other 401/403 is about our credentials: the file is read afresh on the next attempt.
        if error.needsOperator && (response.status == 401 || response.status == 403) { token.invalidate() }
        throw error
    }

    /// What a hall's non-2xx answer means (contract §3.2), nil for a 2xx: the record's problem
    /// (422 with the field, 409 with the item's status: a person looks at the reservation), a
    /// passing one (408, 429, 5xx, `TOKEN_EXPIRED` after a re-read), or the endpoint's — a
    /// redirect, a 404, any other 4xx, a refused token: the URL or the credentials are wrong, an
    /// operator fixes them, and the send is kept meanwhile. `FEED_EXPIRED` (410) is the feed
    /// reader's to handle.
    static func failure(of response: HTTPResponse, hall: HallTarget, url: String, tokenFile: String) -> TransportError? {
        guard !(200..<300).contains(response.status) else { return nil }
        let body = errorBody(response)
        let code: TransportError.Code = body?.error.map(TransportError.Code.hall) ?? .http(response.status)
        var message = "the \(hall) hall answered HTTP \(response.status) \(code)"
        // The hall's words may echo what it was sent (a 422 naming the ID number): masked as a peer's text.
        if let text = body?.message, !text.isEmpty { message += ": " + PersonalData.redactPeerText(String(text.prefix(500))) }
        let retryable: Bool
        var needsOperator = false
        switch response.status {
        case 401 where code == .tokenExpired:
            // Still expired right after the re-read: renewed twice in a row. §3.1 makes it the one retryable 401.
            retryable = true
        case 401, 403:
            retryable = false
            needsOperator = true
            message += "; check that the token file \(tokenFile) holds the token the \(hall) hall issued"
        case 422, 409:
            retryable = false
        case 410 where code == .feedExpired:
            retryable = false
        case 300...399:
            retryable = false
            needsOperator = true
            message = "the \(hall) hall answered a redirect (HTTP \(response.status)\(response.header("location").map { " to \(WireIdentifier.printable(String($0.prefix(200))))" } ?? "")) at \(url): hallsync does not follow redirects; set \(hall).baseURL to the address the hall answers at. The send is kept and goes out once it is fixed"
        case _ where response.isRetryableStatus:
            retryable = true
        default:
            retryable = false
            needsOperator = true
            message += " at \(url): the address or the hall's API is not what its contract says; check \(hall).baseURL. The send is kept and goes out once it is fixed"
        }
        var error = TransportError(code: code, message: message, isRetryable: retryable, retryAfter: response.retryAfter,
                                   status: response.status, needsOperator: needsOperator)
        error.itemStatus = body?.status
        return error
    }

    private func perform(_ method: HTTPRequest.Method, _ path: String, body: Data?, headers: [(name: String, value: String)], token: String) throws(TransportError) -> HTTPResponse {
        var all = headers
        all.append(("Authorization", "Bearer \(token)"))
        all.append(("Accept", "application/json"))
        return try http.perform(HTTPRequest(method: method, url: baseURL + path, headers: all, body: body))
    }

    struct ErrorBody: Decodable { var error: String?; var message: String?; var status: String? }

    static func errorBody(_ response: HTTPResponse) -> ErrorBody? {
        try? JSONDecoder().decode(ErrorBody.self, from: response.body)
    }
}
