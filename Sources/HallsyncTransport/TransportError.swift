import HallsyncDomain

/// Why a request to the portal or a hall failed, whether the same request may simply be
/// tried again, and whether an operator must fix something first.
///
///     do { … } catch let error as TransportError where error.isRetryable || error.needsOperator {
///         // back off, honouring error.retryAfter; the reservation itself is not at fault
///     }
///
/// A failure that is neither retryable nor the operator's is about the record: the peer
/// refused *this* request (422 …), and a person must look at the reservation.
///
/// `code` is stable: a curl condition (`TIMEOUT`, `CONNECTION_RESET`, …), an HTTP status
/// (`HTTP_503`), or the peer's own code (`INVALID_FIELD`, `PORTAL_5001`, …).
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable code: hallsync's own conditions are named here and compared by name; a peer's own
    /// code (`INVALID_FIELD`, `PORTAL_4001`, `HTTP_503`) is carried as it came, made printable.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // The transfer (libcurl's conditions).
        public static let timeout = Code(rawValue: "TIMEOUT")
        public static let connectionReset = Code(rawValue: "CONNECTION_RESET")
        public static let connectFailed = Code(rawValue: "CONNECT_FAILED")
        public static let dnsFailed = Code(rawValue: "DNS_FAILED")
        public static let tlsFailed = Code(rawValue: "TLS_FAILED")
        public static let emptyReply = Code(rawValue: "EMPTY_REPLY")
        public static let partialResponse = Code(rawValue: "PARTIAL_RESPONSE")
        public static let aborted = Code(rawValue: "ABORTED")
        /// Not sent: this daemon of a pair may not trust its lease now (``SendGate``). Retryable:
        /// the outbox keeps the send, and the leader sends it.
        public static let notLeader = Code(rawValue: "NOT_LEADER")
        public static let outOfMemory = Code(rawValue: "OUT_OF_MEMORY")
        public static let badURL = Code(rawValue: "BAD_URL")
        public static let curlInit = Code(rawValue: "CURL_INIT")
        public static let curlOption = Code(rawValue: "CURL_OPTION")
        /// Another CURLcode, by number.
        public static func curl(_ number: UInt32) -> Code { Code(rawValue: "CURL_\(number)") }
        public static let responseTooLarge = Code(rawValue: "RESPONSE_TOO_LARGE")
        public static let malformedResponse = Code(rawValue: "MALFORMED_RESPONSE")

        // The hall's answers hallsync acts on (contract §3).
        public static let tokenUnreadable = Code(rawValue: "TOKEN_UNREADABLE")
        public static let tokenEmpty = Code(rawValue: "TOKEN_EMPTY")
        public static let tokenExpired = Code(rawValue: "TOKEN_EXPIRED")
        public static let itemClosed = Code(rawValue: "ITEM_CLOSED")
        public static let staleRevision = Code(rawValue: "STALE_REVISION")
        public static let feedExpired = Code(rawValue: "FEED_EXPIRED")
        /// The feed's numbering went back below the position asked for.
        public static let feedRewound = Code(rawValue: "FEED_REWOUND")
        /// Any other code a hall sent, made printable and cut to 40 characters.
        public static func hall(_ raw: String) -> Code { Code(rawValue: WireIdentifier.printable(String(raw.prefix(40)))) }

        // The portal's answers (contract §2).
        public static let portalClockRefused = Code(rawValue: "PORTAL_4011")
        public static let portalNonceSeen = Code(rawValue: "PORTAL_4012")
        public static let portalTransitionRefused = Code(rawValue: "PORTAL_4090")
        /// The envelope's `code`, made printable and cut to 16 characters: `PORTAL_4001`, ….
        public static func portal(_ raw: String) -> Code { Code(rawValue: "PORTAL_" + WireIdentifier.printable(String(raw.prefix(16)))) }
        public static func http(_ status: Int) -> Code { Code(rawValue: "HTTP_\(status)") }
        public static let portalUnstable = Code(rawValue: "PORTAL_UNSTABLE")
        public static let noServerTime = Code(rawValue: "NO_SERVER_TIME")

        // What hallsync found wrong in a send or an answer.
        public static let badItemNumber = Code(rawValue: "BAD_ITEM_NUMBER")
        public static let badReservationId = Code(rawValue: "BAD_RESERVATION_ID")
        public static let badPush = Code(rawValue: "BAD_PUSH")
        public static let badAction = Code(rawValue: "BAD_ACTION")
        public static let noItem = Code(rawValue: "NO_ITEM")
        /// A 409 `ITEM_CLOSED` that names no closed status.
        public static let itemClosedUnreadable = Code(rawValue: "ITEM_CLOSED_UNREADABLE")
        /// An item number the hall gave is another reservation's, or not listed under this one's id.
        public static let itemNumberConflict = Code(rawValue: "ITEM_NUMBER_CONFLICT")
        public static let feedFailed = Code(rawValue: "FEED_FAILED")
    }

    public let code: Code
    /// What happened and what to do, for a log line or the attention list.
    public let message: String
    public let isRetryable: Bool
    /// Seconds the server asked to wait (429/503 `Retry-After`).
    public let retryAfter: Double?
    /// The HTTP status, when an answer arrived.
    public let status: Int?
    /// The configuration, a credential or the installation is wrong (bad token, bad URL, TLS):
    /// no request would succeed until an operator acts, and no record is to blame.
    public let needsOperator: Bool
    /// A hall's 409 `ITEM_CLOSED` names the status the item is closed with.
    public var itemStatus: String?

    public init(code: Code, message: String, isRetryable: Bool, retryAfter: Double? = nil, status: Int? = nil,
                needsOperator: Bool = false) {
        self.code = code
        self.message = message
        self.isRetryable = isRetryable
        self.retryAfter = retryAfter
        self.status = status
        self.needsOperator = needsOperator
    }

    public var description: String {
        "\(code)\(status.map { " (HTTP \($0))" } ?? ""): \(message)\(isRetryable ? " [will retry]" : needsOperator ? " [operator action needed]" : "")"
    }
}

extension TransportError {
    /// The same error with another message (masked, shortened).
    public func withMessage(_ message: String) -> TransportError {
        var copy = TransportError(code: code, message: message, isRetryable: isRetryable, retryAfter: retryAfter, status: status,
                                  needsOperator: needsOperator)
        copy.itemStatus = itemStatus
        return copy
    }

    static func responseTooLarge(limit: Int, url: String) -> TransportError {
        TransportError(code: .responseTooLarge,
                       message: "the answer from \(url) exceeded \(limit) bytes and was abandoned; raise http.maxResponseBytes if the peer is right to send that much",
                       isRetryable: false)
    }

    static func malformed(_ what: String, url: String) -> TransportError {
        TransportError(code: .malformedResponse, message: "the answer from \(url) could not be read: \(what)", isRetryable: true)
    }
}
