import Foundation
import HallsyncDomain
import HallsyncStandIns
import Synchronization
import Testing
@testable import HallsyncTransport

/// Real HTTP over libcurl to real loopback servers.
@Suite struct CurlHTTPClientTests {
    @Test func sendsMethodsHeadersAndBodiesAndReusesTheConnection() throws {
        let seen = Mutex<[LoopbackServer.Request]>([])
        let server = try LoopbackServer { request in
            seen.withLock { $0.append(request) }
            return .respond(LoopbackServer.Response(status: 201, headers: [("X-Echo", request.method)], body: request.body))
        }
        defer { server.stop() }
        let client = try CurlHTTPClient(options: .init(connectTimeout: 1, totalTimeout: 2))
        let body = Data(#"{"a":"预约"}"#.utf8)
        for method in [HTTPRequest.Method.get, .post, .patch] {
            let response = try client.perform(HTTPRequest(method: method, url: server.baseURL + "/x?q=%20", headers: [("X-Test", "1")],
                                                          body: method == .get ? nil : body))
            #expect(response.status == 201)
            #expect(response.header("x-echo") == method.rawValue)
            #expect(response.body == (method == .get ? Data() : body))
        }
        let requests = seen.withLock { $0 }
        #expect(requests.map(\.method) == ["GET", "POST", "PATCH"])
        #expect(requests.allSatisfy { $0.header("x-test") == "1" && $0.target == "/x?q=%20" })
        #expect(requests[1].header("content-type")?.hasPrefix("application/json") == true)
    }

    @Test func keepsTheConnectionAlive() throws {
        let server = try LoopbackServer { _ in .respond(.json(200, ["ok": true])) }
        defer { server.stop() }
        let client = try CurlHTTPClient()
        for _ in 0..<20 { _ = try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/")) }
        // One handle, one connection: the server saw a single accepted socket.
        #expect(server.acceptedConnections == 1)
    }

    @Test func mapsResetsHalfAnswersAndSilenceToRetryableErrors() throws {
        let mode = Mutex("reset")
        let server = try LoopbackServer { _ in
            switch mode.withLock({ $0 }) {
            case "reset": return .reset
            case "truncate": return .truncate(LoopbackServer.Response(status: 200, body: Data(repeating: 65, count: 1000)))
            default: return .hang(3)
            }
        }
        defer { server.stop() }
        let client = try CurlHTTPClient(options: .init(connectTimeout: 1, totalTimeout: 0.5))
        for (name, code) in [("reset", ["CONNECTION_RESET", "EMPTY_REPLY"]), ("truncate", ["PARTIAL_RESPONSE"]), ("hang", ["TIMEOUT"])] {
            mode.withLock { $0 = name }
            do {
                _ = try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/"))
                Issue.record("\(name) did not fail")
            } catch {
                #expect(code.contains(error.code.rawValue), "\(name) gave \(error.code)")
                #expect(error.isRetryable)
            }
        }
    }

    @Test func refusesAnAnswerLargerThanTheCap() throws {
        let server = try LoopbackServer { _ in .respond(LoopbackServer.Response(status: 200, body: Data(repeating: 66, count: 200_000))) }
        defer { server.stop() }
        let client = try CurlHTTPClient(options: .init(maxResponseBytes: 10_000))
        #expect(throws: TransportError.self) { try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/")) }
        do { _ = try client.perform(HTTPRequest(method: .get, url: server.baseURL + "/")) } catch {
            #expect(error.code == .responseTooLarge)
            #expect(!error.isRetryable)
        }
    }

    @Test func reportsARefusedConnectionAsRetryable() throws {
        let server = try LoopbackServer { _ in .reset }
        let url = server.baseURL + "/"
        server.stop()
        let client = try CurlHTTPClient(options: .init(connectTimeout: 1, totalTimeout: 1))
        do { _ = try client.perform(HTTPRequest(method: .get, url: url)); Issue.record("connected to a stopped server") } catch {
            #expect(error.code == .connectFailed)
            #expect(error.isRetryable)
        }
    }
}

@Suite struct PortalClientTests {
    func reservation(_ id: String) -> PortalReservation {
        PortalReservation(reservationId: id, version: 0, updateTime: "", applicant: .init(name: "王某", idNumber: "37100219800101015X"),
                          regionCode: "371002", itemCode: "371002-XK-0012", itemName: "公司设立登记", appointmentDate: "2021-09-11", appointmentSlot: "上午")
    }

    @Test func signsRequestsTheStandInAccepts() throws {
        let portal = try PortalStandIn(appSecret: "secret", lag: 0)
        defer { portal.stop() }
        portal.publish(reservation("YY1"))
        let client = PortalClient(baseURL: portal.baseURL, signer: PortalSigner(appId: "hallsync", appSecret: "secret"), http: try CurlHTTPClient())
        let now = BeijingTime.now()
        let page = try client.listReservations(regionCode: "371002", from: now.adding(seconds: -60), until: now.adding(seconds: 60), pageNo: 1, pageSize: 10)
        #expect(page.total == 1)
        guard case .reservation(let r) = page.entries.first else { Issue.record("no reservation"); return }
        #expect(r.reservationId == "YY1")
        #expect(r.version == 1)
        #expect(client.estimatedServerTime() != nil)
    }

    @Test func aWrongSecretIsRefusedAndNotRetryable() throws {
        let portal = try PortalStandIn(appSecret: "secret", lag: 0)
        defer { portal.stop() }
        let client = PortalClient(baseURL: portal.baseURL, signer: PortalSigner(appId: "hallsync", appSecret: "wrong"), http: try CurlHTTPClient())
        let now = BeijingTime.now()
        do { _ = try client.listReservations(regionCode: "371002", from: now, until: now, pageNo: 1, pageSize: 10); Issue.record("accepted") } catch {
            #expect(error.code == .portal("4013"))
            #expect(!error.isRetryable)
        }
    }

    @Test func businessBusyIsRetryableAndBadParametersAreNot() throws {
        var faults = Faults()
        faults.businessBusy = 1
        let portal = try PortalStandIn(appSecret: "secret", lag: 0, faults: faults)
        defer { portal.stop() }
        let client = PortalClient(baseURL: portal.baseURL, signer: PortalSigner(appId: "hallsync", appSecret: "secret"), http: try CurlHTTPClient())
        let now = BeijingTime.now()
        do { _ = try client.listReservations(regionCode: "371002", from: now, until: now, pageNo: 1, pageSize: 10); Issue.record("accepted") } catch {
            #expect([TransportError.Code.portal("5001"), .portal("5002")].contains(error.code))
            #expect(error.isRetryable)
        }
        portal.faults = .none
        do { _ = try client.listReservations(regionCode: "371002", from: now, until: now.adding(seconds: 90_000), pageNo: 1, pageSize: 10); Issue.record("accepted") } catch {
            #expect(error.code == .portal("4001"))
            #expect(!error.isRetryable)
        }
    }

    @Test func theSignatureCoversThePercentEncodedTarget() {
        let canonical = PortalSigner.canonicalString(method: "get", target: "/gateway/api/v1/reservations?startTime=2021-09-08%2009%3A00%3A00",
                                                     timestampMillis: 1_631_325_600_000, nonce: "abcdefghijklmnop", body: Data())
        #expect(canonical == "GET\n/gateway/api/v1/reservations?startTime=2021-09-08%2009%3A00%3A00\n1631325600000\nabcdefghijklmnop\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(QueryEncoding.encode("2021-09-08 09:00:00") == "2021-09-08%2009%3A00%3A00")
    }

    /// Signatures computed independently (Python's hmac and hashlib) for a GET and a POST with a body.
    @Test func signaturesMatchAnIndependentHMAC() {
        let signer = PortalSigner(appId: "hallsync", appSecret: "secret")
        #expect(signer.signature(method: "GET", target: "/gateway/api/v1/reservations?pageNo=1", timestampMillis: 1_631_325_600_000,
                                 nonce: "abcdefghijklmnop", body: Data()) == "2a1c088d35c98d6e00208b3f8b18f0ec15aead380997156bcbecbf475d1178ff")
        #expect(signer.signature(method: "POST", target: "/gateway/api/v1/reservations/Y1/status", timestampMillis: 1_631_325_600_000,
                                 nonce: "abcdefghijklmnop", body: Data(#"{"a":1}"#.utf8)) == "3394bba99bd893d6494d3afcd994da7a8141797db4bddd2db649bc546bfdc761")
    }

    /// Nonces have the contract's form, never repeat, and use the whole alphabet about evenly.
    @Test func noncesAreThirtyTwoCharactersOfTheAlphabetWithoutBias() {
        let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var counts: [Character: Int] = [:]
        var seen = Set<String>()
        for _ in 0..<20_000 {
            let nonce = PortalSigner.makeNonce()
            #expect(nonce.count == 32 && nonce.allSatisfy(alphabet.contains), "\(nonce)")
            #expect(seen.insert(nonce).inserted)
            for c in nonce { counts[c, default: 0] += 1 }
        }
        // 640,000 characters over 62: about 10,323 each, standard deviation about 100.
        #expect(counts.count == 62)
        #expect(counts.values.allSatisfy { (9_700...10_950).contains($0) }, "\(counts.sorted { $0.value < $1.value }.prefix(3)) … \(counts.sorted { $0.value > $1.value }.prefix(3))")
    }
}

@Suite struct HallClientTests {
    /// Encoded once per id: a JSON encoder does not promise the same key order twice.
    func body(_ id: String) -> Data {
        if let cached = Self.bodies.withLock({ $0[id] }) { return cached }
        let data = makeBody(id)
        Self.bodies.withLock { $0[id] = data }
        return data
    }

    static let bodies = Mutex<[String: Data]>([:])

    func hallAndClient(_ target: HallTarget) throws -> (HallStandIn, HallClient) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-hall-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let hall = try HallStandIn(target: target, tokenFile: directory + "/token")
        return (hall, HallClient(target: target, baseURL: hall.baseURL, token: TokenSource(path: hall.tokenFile), http: try CurlHTTPClient()))
    }

    func makeBody(_ id: String) -> Data {
        let content = HallItemContent(itemName: "（预约）公司设立登记", registerTime: "2021-09-11 10:00:00", deadline: "2021-09-13 10:00:00",
                                      applicantType: "PERSON", applicantName: "王某", idType: "ID_CARD", idNumber: "37100219800101015X",
                                      orgName: nil, orgCode: nil, phone: "13806310000", regionCode: "371002", deptCode: "D", itemCode: "371002-XK-0012")
        return try! JSONEncoder().encode(HallItemCreate(externalId: id, revision: 1, content: content, linkedItemNo: nil))
    }

    @Test func aRepeatedKeyReturnsTheSameItemAndTheHallDoesNotDedupeByExternalId() throws {
        let (hall, client) = try hallAndClient(.intake)
        defer { hall.stop() }
        let first = try client.createItem(body: body("YY1"), idempotencyKey: "k1")
        #expect(try client.createItem(body: body("YY1"), idempotencyKey: "k1") == first)
        #expect(first.hasPrefix("ZH"))
        _ = try client.createItem(body: body("YY1"), idempotencyKey: "k2")
        #expect(try client.findItems(externalId: "YY1").count == 2)
        do { _ = try client.createItem(body: body("YY2"), idempotencyKey: "k1"); Issue.record("mismatch accepted") } catch {
            #expect(error.code == .hall("IDEMPOTENCY_MISMATCH"))
            #expect(!error.isRetryable)
        }
    }

    @Test func rereadsTheTokenFileAfterTokenExpired() throws {
        let (hall, client) = try hallAndClient(.licensing)
        defer { hall.stop() }
        _ = try client.findItems(externalId: "YY1")
        hall.expireToken()
        #expect(try client.createItem(body: body("YY1"), idempotencyKey: "k").hasPrefix("XK"))
        // Renewed again on every request: still TOKEN_EXPIRED after the re-read, which is retryable.
        var faults = Faults()
        faults.tokenExpiry = 1
        hall.faults = faults
        do { _ = try client.findItems(externalId: "YY1"); Issue.record("accepted an expired token") } catch {
            #expect(error.code == .tokenExpired)
            #expect(error.isRetryable)
        }
    }

    @Test func aValidationFailureNamesTheField() throws {
        let (hall, client) = try hallAndClient(.intake)
        defer { hall.stop() }
        let bad = Data(String(decoding: body("YY1"), as: UTF8.self).replacingOccurrences(of: "37100219800101015X", with: "371002198001010151").utf8)
        do { _ = try client.createItem(body: bad, idempotencyKey: "k"); Issue.record("accepted") } catch {
            #expect(error.code == .hall("INVALID_FIELD"))
            #expect(error.message.contains("idNumber"))
            #expect(!error.isRetryable)
        }
    }
}
