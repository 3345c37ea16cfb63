import Foundation
import HallsyncDomain
import HallsyncStandIns
import Synchronization
import Testing
@testable import HallsyncTransport

/// Peers that answer what the contract does not allow, over real loopback HTTP.
@Suite struct HostilePeerTests {
    func tokenFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-token-\(UUID())").path
        try Data("tok\n".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aPathGoesOutExactlyAsBuiltWithoutDotSegmentsCollapsed() throws {
        let targets = Mutex<[String]>([])
        let server = try LoopbackServer { request in
            targets.withLock { $0.append(request.target) }
            return .respond(.json(200, ["ok": true]))
        }
        defer { server.stop() }
        let client = try CurlHTTPClient()
        _ = try client.perform(HTTPRequest(method: .post, url: server.baseURL + "/intake/inbox/items/../actions", body: Data("{}".utf8)))
        #expect(targets.withLock { $0 } == ["/intake/inbox/items/../actions"])
    }

    @Test(arguments: [".", "..", "../actions", "ZH1\u{0}", "ZH 1", "ZH1/actions", ""])
    func anItemNumberNotOfTheContractsFormNeverBecomesAPath(_ itemNo: String) throws {
        let requests = Mutex(0)
        let server = try LoopbackServer { _ in requests.withLock { $0 += 1 }; return .respond(.json(200, ["itemNo": "ZH1", "status": "CANCELLED"])) }
        defer { server.stop() }
        let hall = HallClient(target: .intake, baseURL: server.baseURL + "/intake", token: TokenSource(path: try tokenFile()), http: try CurlHTTPClient())
        let action = try JSONEncoder().encode(HallClient.ActionBody(action: .cancel, origin: .portal, operator: "hallsync", at: "2021-09-11 10:00:00"))
        #expect(throws: TransportError.self) { try hall.act(itemNo: itemNo, body: action, idempotencyKey: "k") }
        #expect(throws: TransportError.self) { try hall.updateItem(itemNo: itemNo, body: Data("{}".utf8)) }
        #expect(requests.withLock { $0 } == 0, "nothing may be sent for \(WireIdentifier.printable(itemNo))")
    }

    @Test func aCreateAnsweredWithAMalformedItemNumberIsTheHallsFaultAndKeptForRetry() throws {
        let server = try LoopbackServer { _ in .respond(.json(201, ["itemNo": ".."])) }
        defer { server.stop() }
        let hall = HallClient(target: .intake, baseURL: server.baseURL + "/intake", token: TokenSource(path: try tokenFile()), http: try CurlHTTPClient())
        do { _ = try hall.createItem(body: Data("{}".utf8), idempotencyKey: "k"); Issue.record("accepted ..") } catch {
            #expect(error.code == .badItemNumber)
            #expect(error.needsOperator, "not the record's fault: the send must stay pending")
        }
    }

    @Test func aLookupLeavesOutItemsItCouldNeverAddressOrThatAreSomeoneElses() throws {
        let json = #"{"items": [{"itemNo": "..", "externalId": "YY1", "status": "PENDING", "revision": 1},"#
            + #"{"itemNo": "ZH2", "externalId": "YY2", "status": "PENDING", "revision": 1},"#
            + #"{"itemNo": "ZH1", "externalId": "YY1", "status": "HANDLED", "revision": 1}]}"#
        let server = try LoopbackServer { _ in .respond(LoopbackServer.Response(status: 200, body: Data(json.utf8))) }
        defer { server.stop() }
        let hall = HallClient(target: .intake, baseURL: server.baseURL + "/intake", token: TokenSource(path: try tokenFile()), http: try CurlHTTPClient())
        #expect(try hall.findItems(externalId: "YY1").map(\.itemNo) == ["ZH1"])
    }
}
