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
    public let code: String
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

    public init(code: String, message: String, isRetryable: Bool, retryAfter: Double? = nil, status: Int? = nil,
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
        TransportError(code: "RESPONSE_TOO_LARGE",
                       message: "the answer from \(url) exceeded \(limit) bytes and was abandoned; raise http.maxResponseBytes if the peer is right to send that much",
                       isRetryable: false)
    }

    static func malformed(_ what: String, url: String) -> TransportError {
        TransportError(code: "MALFORMED_RESPONSE", message: "the answer from \(url) could not be read: \(what)", isRetryable: true)
    }
}
