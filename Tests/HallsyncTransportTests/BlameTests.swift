import Foundation
import HallsyncDomain
import HallsyncStandIns
import Synchronization
import Testing
@testable import HallsyncTransport

/// Whose problem a failed answer is: the record's, a passing one, or the endpoint's.
@Suite struct BlameTests {
    func response(_ status: Int, _ body: String = "", headers: [String: String] = [:]) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: Data(body.utf8))
    }

    func hallFailure(_ response: HTTPResponse) -> TransportError? {
        HallClient.failure(of: response, hall: .intake, url: "https://hall.example/intake/inbox/items", tokenFile: "/etc/hallsync/intake-token")
    }

    @Test func onlyTheContractsRecordLevelAnswersBlameTheRecord() throws {
        let invalid = try #require(hallFailure(response(422, #"{"error":"INVALID_FIELD","message":"idNumber"}"#)))
        #expect(!invalid.isRetryable && !invalid.needsOperator)
        let closed = try #require(hallFailure(response(409, #"{"error":"ITEM_CLOSED","status":"HANDLED"}"#)))
        #expect(!closed.isRetryable && !closed.needsOperator && closed.itemStatus == "HANDLED")
        for status in [408, 429, 500, 502, 503, 504] {
            #expect(hallFailure(response(status))?.isRetryable == true, "\(status)")
        }
    }

    @Test(arguments: [301, 302, 307, 308, 400, 401, 403, 404, 405, 410, 415])
    func aWrongAddressARedirectOrARefusedTokenIsTheEndpointsProblem(_ status: Int) throws {
        let error = try #require(hallFailure(response(status, #"{"error":"NOT_FOUND"}"#, headers: ["location": "https://elsewhere/"])))
        #expect(error.needsOperator, "HTTP \(status) must keep the send pending, not blame the record")
        #expect(error.message.contains("intake"))
        if (300...399).contains(status) { #expect(error.message.contains("redirect") && error.message.contains("https://elsewhere/")) }
    }

    @Test func theFeedsOwnExpiryIsLeftToTheFeedReader() throws {
        let expired = try #require(hallFailure(response(410, #"{"error":"FEED_EXPIRED"}"#)))
        #expect(expired.code == .feedExpired && !expired.needsOperator && !expired.isRetryable)
    }

    func portal(_ response: HTTPResponse) -> TransportError? {
        do { _ = try PortalClient.interpret(response, answer: Ignored.self, path: "/api/v1/reservations/YY1/status", url: "https://portal.example/gateway") } catch {
            return error
        }
        return nil
    }

    @Test func thePortalsAnswersAreBlamedTheSameWay() throws {
        #expect(portal(response(200, #"{"code":"0","msg":"成功","data":null}"#)) == nil)
        for code in ["4001", "4040", "4090"] {
            let e = try #require(portal(response(200, #"{"code":"\#(code)","msg":"x","data":null}"#)))
            #expect(!e.isRetryable && !e.needsOperator, "\(code) is about the record")
        }
        for code in ["5001", "5002"] { #expect(portal(response(200, #"{"code":"\#(code)","data":null}"#))?.isRetryable == true) }
        #expect(portal(response(401, #"{"code":"4012","msg":"nonce"}"#))?.isRetryable == true, "a re-sent nonce passes")
        #expect(portal(response(401, #"{"code":"4011"}"#))?.needsOperator == true)
        #expect(portal(response(401, #"{"code":"4013"}"#))?.needsOperator == true)
        #expect(portal(response(200, #"{"code":"9999","data":null}"#))?.needsOperator == true, "a code the contract lacks")
        for status in [302, 404, 405, 400, 403] {
            #expect(portal(response(status, "<html>moved</html>", headers: ["location": "/new"]))?.needsOperator == true, "\(status)")
        }
        #expect(portal(response(503, "<html/>"))?.isRetryable == true)
    }
}

/// libcurl re-sends a request by itself when a reused connection dies before any answer; a
/// signed request re-sent that way carries a nonce the portal has seen (4012).
@Suite struct NonceReuseTests {
    /// A portal that remembers nonces and closes the keep-alive connection without answering
    /// the second request, as a server that drops idle connections does.
    final class Seen: Sendable { let nonces = Mutex<[String]>([]) }

    func server(seen: Seen, observe: @escaping @Sendable (LoopbackServer.Request) -> Void = { _ in }) throws -> LoopbackServer {
        try LoopbackServer { request in
            observe(request)
            let nonce = request.header("x-nonce") ?? ""
            let (index, repeated) = seen.nonces.withLock { nonces in
                defer { nonces.append(nonce) }
                return (nonces.count, nonces.contains(nonce))
            }
            let envelope = #"{"code":"0","msg":"成功","data":{"total":0,"pageNo":1,"pageSize":1,"list":[]}}"#
            if repeated { return .respond(LoopbackServer.Response(status: 401, body: Data(#"{"code":"4012","msg":"nonce already used","data":null}"#.utf8))) }
            if index == 1 { return .reset }
            return .respond(LoopbackServer.Response(status: 200, headers: [("X-Server-Time", BeijingTime.now().description)], body: Data(envelope.utf8)))
        }
    }

    @Test func aNonceReSentByLibcurlIsSignedAgainAndTheRequestSucceeds() throws {
        let seen = Seen()
        let server = try server(seen: seen)
        defer { server.stop() }
        let client = PortalClient(baseURL: server.baseURL + "/gateway", signer: PortalSigner(appId: "a", appSecret: "s"), http: try CurlHTTPClient())
        let now = BeijingTime.now()
        _ = try client.listReservations(regionCode: "371002", from: now, until: now, pageNo: 1, pageSize: 1)
        let page = try client.listReservations(regionCode: "371002", from: now, until: now, pageNo: 1, pageSize: 1)
        #expect(page.total == 0)
        let nonces = seen.nonces.withLock { $0 }
        #expect(nonces.count == 4, "\(nonces.count) requests: the answer, the lost one, libcurl's re-send, ours")
        #expect(nonces[1] == nonces[2], "libcurl re-sent the second request with its nonce")
        #expect(Set(nonces).count == 3)
    }

    /// A push whose connection dies after the portal took it: libcurl re-sends it (4012), it is
    /// signed again and goes once more under the same `X-Request-Id`, which the portal answers
    /// without a second effect (contract §2.4). The push reuses the live connection.
    @Test func aPushReSentByLibcurlIsSignedAgainUnderItsRequestId() throws {
        let seen = Seen()
        let requestIds = Mutex<[String]>([])
        let server = try server(seen: seen) { request in
            if let id = request.header("x-request-id") { requestIds.withLock { $0.append(id) } }
        }
        defer { server.stop() }
        let client = PortalClient(baseURL: server.baseURL + "/gateway", signer: PortalSigner(appId: "a", appSecret: "s"), http: try CurlHTTPClient())
        let now = BeijingTime.now()
        _ = try client.listReservations(regionCode: "371002", from: now, until: now, pageNo: 1, pageSize: 1)
        try client.pushStatus(reservationId: "YY1", body: Data("{}".utf8), requestId: "hs-p-YY1-RECEIVED")
        let nonces = seen.nonces.withLock { $0 }
        #expect(nonces.count == 4, "\(nonces.count) requests: the page, the push whose answer was lost, libcurl's re-send, ours")
        #expect(nonces[1] == nonces[2], "libcurl re-sent the push on the connection it had kept alive")
        #expect(Set(nonces).count == 3)
        #expect(requestIds.withLock { $0 } == Array(repeating: "hs-p-YY1-RECEIVED", count: 3), "every copy of the push carries its idempotency key")
    }

    /// A peer that drops every re-used connection after reading a request: libcurl re-sends the
    /// request on a new connection with its nonce (4012); the copy hallsync signs again goes out on
    /// a fresh connection — on the kept-alive one it would be dropped and re-sent with its nonce
    /// again, for ever.
    @Test func afterA4012TheRequestSignedAgainGoesOutOnAFreshConnection() throws {
        let seen = Seen()
        let server = try LoopbackServer { request in
            let nonce = request.header("x-nonce") ?? ""
            let repeated = seen.nonces.withLock { nonces in
                defer { nonces.append(nonce) }
                return nonces.contains(nonce)
            }
            if request.onConnection > 1 { return .reset }
            if repeated { return .respond(LoopbackServer.Response(status: 401, body: Data(#"{"code":"4012","msg":"nonce already used","data":null}"#.utf8))) }
            let envelope = #"{"code":"0","msg":"成功","data":{"total":0,"pageNo":1,"pageSize":1,"list":[]}}"#
            return .respond(LoopbackServer.Response(status: 200, headers: [("X-Server-Time", BeijingTime.now().description)], body: Data(envelope.utf8)))
        }
        defer { server.stop() }
        let client = PortalClient(baseURL: server.baseURL + "/gateway", signer: PortalSigner(appId: "a", appSecret: "s"), http: try CurlHTTPClient())
        let now = BeijingTime.now()
        for _ in 0..<3 {
            let page = try client.listReservations(regionCode: "371002", from: now, until: now, pageNo: 1, pageSize: 1)
            #expect(page.total == 0)
        }
    }
}
