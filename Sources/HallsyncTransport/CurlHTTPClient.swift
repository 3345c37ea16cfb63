import CCurl
import Foundation

/// A small blocking HTTP client over one libcurl easy handle.
///
///     let client = try CurlHTTPClient(options: .init(connectTimeout: 5, totalTimeout: 30))
///     let response = try client.perform(HTTPRequest(method: .get, url: "http://127.0.0.1:8080/ping"))
///
/// The handle is reused from request to request, so the connection stays alive. One client
/// belongs to one thread at a time: hallsync gives every sending worker its own.
/// Every `CURLcode` becomes a ``TransportError``.
public final class CurlHTTPClient: @unchecked Sendable {
    public struct Options: Hashable, Sendable {
        public var connectTimeout: Double
        public var totalTimeout: Double
        /// A larger answer, announced or streamed, is abandoned with `RESPONSE_TOO_LARGE`.
        public var maxResponseBytes: Int
        public var verifyTLS: Bool
        /// A CA bundle to trust instead of the system's.
        public var caFile: String?

        public init(connectTimeout: Double = 5, totalTimeout: Double = 30, maxResponseBytes: Int = 16 << 20,
                    verifyTLS: Bool = true, caFile: String? = nil) {
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.maxResponseBytes = maxResponseBytes
            self.verifyTLS = verifyTLS
            self.caFile = caFile
        }
    }

    public let options: Options
    /// Asked before every request (one of a pair); nil: every request may go.
    public let gate: SendGate?
    private let handle: UnsafeMutableRawPointer

    /// `curl_global_init` runs exactly once per process, before the first handle.
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    public init(options: Options = Options(), gate: SendGate? = nil) throws(TransportError) {
        guard Self.globalInit == CURLE_OK else {
            throw TransportError(code: .curlInit, message: "libcurl could not initialise (\(Self.globalInit.rawValue)); check the libcurl installation", isRetryable: false, needsOperator: true)
        }
        guard let handle = curl_easy_init() else {
            throw TransportError(code: .curlInit, message: "libcurl could not create a handle; the process may be out of memory", isRetryable: false, needsOperator: true)
        }
        self.handle = handle
        self.options = options
        self.gate = gate
    }

    deinit { curl_easy_cleanup(handle) }

    /// One flag for the whole process: set, every request in flight on any handle stops within
    /// about a second with `ABORTED` (retryable: the outbox keeps the send and its key).
    nonisolated(unsafe) private static let abortFlag: UnsafeMutablePointer<Int32> = {
        let flag = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        flag.initialize(to: 0)
        return flag
    }()

    /// Makes every request in flight, and every later one, stop at once (at shutdown, after the grace period).
    public static func abandonRequestsInFlight() { hallsync_flag_store(abortFlag, 1) }

    public func perform(_ request: HTTPRequest) throws(TransportError) -> HTTPResponse {
        // The gate is asked last before the request starts (only option setting lies between), and
        // its time-out bounds the whole request: none outlives the trust it was granted under.
        var totalTimeout = options.totalTimeout
        if let gate {
            switch gate.decide(timeout: totalTimeout) {
            case .granted(let timeout):
                totalTimeout = min(totalTimeout, timeout)
            case .refused(let why):
                throw TransportError(code: .notLeader, message: "not sent: \(why); the send stays in the outbox for the daemon that leads", isRetryable: true)
            }
        }
        curl_easy_reset(handle)  // keeps the live connection, drops the previous request's options
        let sink = ResponseSink(limit: options.maxResponseBytes)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        // No `Expect: 100-continue` round trip; the peers answer the whole request at once.
        headerList = curl_slist_append(headerList, "Expect:")
        if request.body != nil { headerList = curl_slist_append(headerList, "Content-Type: application/json; charset=utf-8") }

        var code = CURLE_OK
        func set(_ result: CURLcode) { if code == CURLE_OK { code = result } }
        set(hallsync_curl_setopt_string(handle, CURLOPT_URL, request.url))
        set(hallsync_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        // At least 1 ms: 0 would mean "no time-out" to libcurl.
        set(hallsync_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(min(options.connectTimeout, totalTimeout) * 1000))))
        set(hallsync_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, Int(totalTimeout * 1000))))
        set(hallsync_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, options.verifyTLS ? 1 : 0))
        set(hallsync_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, options.verifyTLS ? 2 : 0))
        if let caFile = options.caFile { set(hallsync_curl_setopt_string(handle, CURLOPT_CAINFO, caFile)) }
        set(hallsync_curl_setopt_off_t(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options.maxResponseBytes)))
        set(hallsync_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        // The path goes out exactly as built: no dot-segment collapsing (`/items/../actions`).
        set(hallsync_curl_setopt_long(handle, CURLOPT_PATH_AS_IS, 1))
        set(hallsync_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        // The handle is reset per request (options do not carry over): a fresh connection is asked for each time.
        set(hallsync_curl_setopt_long(handle, CURLOPT_FRESH_CONNECT, request.freshConnection ? 1 : 0))
        set(hallsync_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        set(hallsync_curl_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteBody))
        set(hallsync_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer))
        set(hallsync_curl_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader))
        set(hallsync_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, sinkPointer))
        set(hallsync_curl_install_abort_flag(handle, Self.abortFlag))
        switch request.method {
        case .get:
            set(hallsync_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case .post, .patch:
            let body = request.body ?? Data()
            set(hallsync_curl_setopt_long(handle, CURLOPT_POST, 1))
            if request.method == .patch { set(hallsync_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, "PATCH")) }
            set(hallsync_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            body.withUnsafeBytes { bytes in
                // COPYPOSTFIELDS copies the bytes, so nothing must outlive this closure.
                let base = bytes.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start)
                set(hallsync_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)))
            }
        }
        guard code == CURLE_OK else {
            throw TransportError(code: .curlOption, message: "libcurl refused an option for \(request.url): \(String(cString: curl_easy_strerror(code))); this is a bug or an unsupported libcurl", isRetryable: false, needsOperator: true)
        }

        let result = withExtendedLifetime(sink) { curl_easy_perform(handle) }
        if sink.exceeded { throw .responseTooLarge(limit: options.maxResponseBytes, url: request.url) }
        guard result == CURLE_OK else { throw Self.error(for: result, url: request.url) }
        var status = 0
        _ = hallsync_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var response = HTTPResponse(status: status, headers: sink.headers, body: sink.body)
        response.allHeaders = sink.allHeaders
        return response
    }

    /// The taxonomy of libcurl failures: what may be retried and what needs a person.
    static func error(for code: CURLcode, url: String) -> TransportError {
        let detail = String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return TransportError(code: .timeout, message: "no complete answer from \(url) in time (\(detail))", isRetryable: true)
        case CURLE_COULDNT_CONNECT:
            return TransportError(code: .connectFailed, message: "could not connect to \(url) (\(detail)); is the service up and the URL right?", isRetryable: true)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return TransportError(code: .dnsFailed, message: "could not resolve the host of \(url) (\(detail)); check DNS and the configured URL", isRetryable: true)
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR:
            return TransportError(code: .connectionReset, message: "the connection to \(url) broke (\(detail))", isRetryable: true)
        case CURLE_GOT_NOTHING:
            return TransportError(code: .emptyReply, message: "\(url) closed the connection without answering", isRetryable: true)
        case CURLE_PARTIAL_FILE:
            return TransportError(code: .partialResponse, message: "the answer from \(url) stopped half-way (\(detail))", isRetryable: true)
        case CURLE_FILESIZE_EXCEEDED, CURLE_WRITE_ERROR:
            return TransportError(code: .responseTooLarge, message: "the answer from \(url) was too large and was abandoned; raise http.maxResponseBytes if the peer is right to send that much", isRetryable: false)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            return TransportError(code: .tlsFailed, message: "TLS with \(url) failed (\(detail)); check the server certificate and http.caFile", isRetryable: false, needsOperator: true)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return TransportError(code: .badURL, message: "\(url) is not a usable http(s) URL (\(detail)); fix it in the configuration", isRetryable: false, needsOperator: true)
        case CURLE_ABORTED_BY_CALLBACK:
            return TransportError(code: .aborted, message: "the request to \(url) was abandoned because hallsync is stopping; it is sent again after the restart", isRetryable: true)
        case CURLE_OUT_OF_MEMORY:
            return TransportError(code: .outOfMemory, message: "libcurl ran out of memory talking to \(url)", isRetryable: true)
        default:
            return TransportError(code: .curl(code.rawValue), message: "request to \(url) failed: \(detail)", isRetryable: true)
        }
    }
}

/// Collects one response; refuses to grow past its limit.
final class ResponseSink {
    let limit: Int
    var body = Data()
    var headers: [String: String] = [:]
    /// Every header line in order, repeated names included (`Set-Cookie`).
    var allHeaders: [(name: String, value: String)] = []
    var exceeded = false

    init(limit: Int) { self.limit = limit }

    func appendHeaderLine(_ line: UnsafeRawBufferPointer) {
        let bytes = line.bindMemory(to: UInt8.self)
        if bytes.starts(with: "HTTP/".utf8) { headers = [:]; allHeaders = []; return }  // a new response (e.g. after 100 Continue)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return }
        // Byte by byte: a name is an ASCII token (lower-cased here), a value is trimmed of
        // blanks and the line end; Foundation's trimming and `lowercased()` cost more than the rest.
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        func trimmed(_ range: Range<Int>) -> Range<Int> {
            var lower = range.lowerBound, upper = range.upperBound
            while lower < upper, isBlank(bytes[lower]) { lower += 1 }
            while upper > lower, isBlank(bytes[upper - 1]) { upper -= 1 }
            return lower..<upper
        }
        let name = String(decoding: bytes[trimmed(0..<colon)].lazy.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
        let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[trimmed(colon + 1..<bytes.count)]), as: UTF8.self)
        headers[name] = value
        allHeaders.append((name, value))
    }
}

private let curlWriteBody: hallsync_curl_write_callback = { pointer, size, count, userData in
    guard let pointer, let userData else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(userData).takeUnretainedValue()
    let length = size * count
    if sink.body.count + length > sink.limit {
        sink.exceeded = true
        return 0  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    sink.body.append(UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
    return length
}

private let curlWriteHeader: hallsync_curl_write_callback = { pointer, size, count, userData in
    guard let pointer, let userData else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(userData).takeUnretainedValue()
    let length = size * count
    sink.appendHeaderLine(UnsafeRawBufferPointer(start: pointer, count: length))
    return length
}
