/// Why a request to the portal or a hall failed, and whether to try again.
///
///     do { … } catch let error as TransportError where error.isRetryable {
///         // back off, honouring error.retryAfter
///     }
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

    public init(code: String, message: String, isRetryable: Bool, retryAfter: Double? = nil, status: Int? = nil) {
        self.code = code
        self.message = message
        self.isRetryable = isRetryable
        self.retryAfter = retryAfter
        self.status = status
    }

    public var description: String {
        "\(code)\(status.map { " (HTTP \($0))" } ?? ""): \(message)\(isRetryable ? " [will retry]" : "")"
    }
}

extension TransportError {
    static func responseTooLarge(limit: Int, url: String) -> TransportError {
        TransportError(code: "RESPONSE_TOO_LARGE",
                       message: "the answer from \(url) exceeded \(limit) bytes and was abandoned; raise http.maxResponseBytes if the peer is right to send that much",
                       isRetryable: false)
    }

    static func malformed(_ what: String, url: String) -> TransportError {
        TransportError(code: "MALFORMED_RESPONSE", message: "the answer from \(url) could not be read: \(what)", isRetryable: true)
    }
}
