import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 (or another address), one thread per connection, keep-alive, able to
/// misbehave on purpose: reset a connection, stop an answer half-way, or never answer.
///
///     let server = try LoopbackServer { request in .respond(.json(200, ["ok": true])) }
///     print(server.port)       // an ephemeral port
///     server.stop()
///
/// Every request is logged with the client's address and the moment it arrived
/// (``arrivals(from:)``): a test of a pair tells its two daemons apart by their addresses (each in
/// a network namespace of its own, the server on another `host` than loopback).
public final class LoopbackServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        /// Path and query exactly as received.
        public var target: String
        public var headers: [String: String]
        public var body: Data
        /// 1 for the first request on its connection, 2 for the next on the same kept-alive one, ….
        public var onConnection = 1
        /// The client's IPv4 address, as text.
        public var peer = ""
        /// When its first byte was in hand (Unix seconds): a request its client began writing
        /// before it was stopped (SIGSTOP) and finished after it was continued began earlier
        /// than it arrived.
        public var begunAt = 0.0

        public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }

        public var query: [String: String] {
            guard let q = target.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
            var out: [String: String] = [:]
            for pair in q.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                let value = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
                out[key] = value
            }
            return out
        }

        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: Data

        public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public static func json(_ status: Int, _ object: some Encodable, headers: [(String, String)] = []) -> Response {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            let body = (try? encoder.encode(object)) ?? Data()
            return Response(status: status, headers: headers + [("Content-Type", "application/json; charset=utf-8")], body: body)
        }
    }

    /// What the server does with a request.
    public enum Reply: Sendable {
        case respond(Response)
        /// Close with a TCP reset, no answer.
        case reset
        /// Send the head and half the body, then close.
        case truncate(Response)
        /// Keep the connection silent for this many seconds, then close it.
        case hang(Double)
    }

    /// One request as it arrived: who sent it, when (Unix seconds, when its head and body had
    /// been read), what.
    public struct Arrival: Sendable, Hashable {
        public var peer: String
        /// When the whole request was in hand.
        public var at: Double
        public var method: String
        public var path: String
        /// When its first byte was (``Request/begunAt``).
        public var begunAt: Double
    }

    public let port: Int
    /// The IPv4 address listened on.
    public let host: String
    private let listener: Int32
    private let log = Mutex<[Arrival]>([])
    private let handler: @Sendable (Request) -> Reply
    private let connections = Mutex<Set<Int32>>([])
    private let stopped = Atomic<Bool>(false)
    private let accepted = Atomic<Int>(0)

    /// Connections accepted so far (a keep-alive client makes one).
    public var acceptedConnections: Int { accepted.load(ordering: .relaxed) }
    private let maxBody = 8 << 20

    /// - Parameter host: the IPv4 address to listen on; loopback unless a test needs the server
    ///   reachable from another network namespace.
    public init(port: Int = 0, host: String = "127.0.0.1", handler: @escaping @Sendable (Request) -> Reply) throws {
        self.handler = handler
        self.host = host
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket() failed: \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { close(fd); throw ServerError("\(host) is not an IPv4 address") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else { close(fd); throw ServerError("cannot listen on \(host):\(port): errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.listener = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "stand-in accept \(self.port)"
        thread.start()
    }

    public var baseURL: String { "http://\(host):\(port)" }

    /// The requests received so far, in order of arrival; only those from `peer` when given.
    public func arrivals(from peer: String? = nil) -> [Arrival] {
        let all = log.withLock { $0 }
        guard let peer else { return all }
        return all.filter { $0.peer == peer }
    }

    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in connections.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            var client = sockaddr_in()
            var clientLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &client) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &clientLength) }
            }
            if fd < 0 {
                if stopped.load(ordering: .acquiring) { return }
                if errno == EINTR || errno == ECONNABORTED { continue }
                usleep(10_000)
                continue
            }
            accepted.add(1, ordering: .relaxed)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections.withLock { _ = $0.insert(fd) }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            let peer = inet_ntop(AF_INET, &client.sin_addr, &text, socklen_t(text.count)) != nil
                ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
            let thread = Thread { [self] in
                serve(fd, peer: peer)
                connections.withLock { _ = $0.remove(fd) }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func serve(_ fd: Int32, peer: String) {
        var buffer = Data()
        var served = 0
        defer { close(fd) }
        while !stopped.load(ordering: .acquiring) {
            guard var request = readRequest(fd, &buffer) else { return }
            served += 1
            request.onConnection = served
            request.peer = peer
            let arrival = Arrival(peer: peer, at: Date().timeIntervalSince1970, method: request.method, path: request.path, begunAt: request.begunAt)
            log.withLock { $0.append(arrival) }
            switch handler(request) {
            case .respond(let response):
                guard write(fd, head(response) + response.body) else { return }
                if request.header("connection")?.lowercased() == "close" { return }
            case .truncate(let response):
                _ = write(fd, head(response) + response.body.prefix(max(1, response.body.count / 2)))
                return
            case .reset:
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                return
            case .hang(let seconds):
                let until = Date().addingTimeInterval(seconds)
                while Date() < until, !stopped.load(ordering: .acquiring) { usleep(20_000) }
                return
            }
        }
    }

    private func head(_ response: Response) -> Data {
        var text = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        for (name, value) in response.headers { text += "\(name): \(value)\r\n" }
        text += "Content-Length: \(response.body.count)\r\n\r\n"
        return Data(text.utf8)
    }

    private func write(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
    }

    private func readRequest(_ fd: Int32, _ buffer: inout Data) -> Request? {
        let separator = Data("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        // Bytes left from the last read on the connection are this request's first.
        var begunAt: Double? = buffer.isEmpty ? nil : Date().timeIntervalSince1970
        while buffer.range(of: separator) == nil {
            guard buffer.count < 65_536, let n = receive(fd, &chunk) else { return nil }
            if begunAt == nil { begunAt = Date().timeIntervalSince1970 }
            buffer.append(contentsOf: chunk[0..<n])
        }
        let headEnd = buffer.range(of: separator)!
        let headText = String(decoding: buffer[buffer.startIndex..<headEnd.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard length <= maxBody else { return nil }
        buffer.removeSubrange(buffer.startIndex..<headEnd.upperBound)
        while buffer.count < length {
            guard let n = receive(fd, &chunk) else { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
        let body = Data(buffer.prefix(length))
        buffer.removeSubrange(buffer.startIndex..<(buffer.startIndex + length))
        buffer = Data(buffer)  // re-base indices
        var request = Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body)
        request.begunAt = begunAt ?? Date().timeIntervalSince1970
        return request
    }

    private func receive(_ fd: Int32, _ chunk: inout [UInt8]) -> Int? {
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { return n }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 422: return "Unprocessable Entity"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Status"
        }
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
