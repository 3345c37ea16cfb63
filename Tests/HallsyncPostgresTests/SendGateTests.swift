import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncMachines
import HallsyncStandIns
import HallsyncTestSupport
import HallsyncTransport
import Testing

/// A frozen leader wakes and retries a create whose answer it never saw, after the other daemon
/// took over and after the hall forgot the key: through the gate, nothing leaves; without it
/// (the negative control), the hall makes a second item — the double send the gate is for.
@Suite(.privateCluster) struct SendGateTests {
    let cluster: PrivateCluster

    init() throws {
        cluster = try #require(PrivateCluster.current)
    }

    static func body(_ id: String) -> Data {
        let content = HallItemContent(itemName: "（预约）公司设立登记", registerTime: "2021-09-11 10:00:00", deadline: "2021-09-13 10:00:00",
                                      applicantType: "PERSON", applicantName: "王某", idType: "ID_CARD", idNumber: "37100219800101015X",
                                      orgName: nil, orgCode: nil, phone: "13806310000", regionCode: "371002", deptCode: "D", itemCode: "371002-XK-0012")
        return try! JSONEncoder().encode(HallItemCreate(externalId: id, revision: 1, content: content, linkedItemNo: nil))
    }

    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
    }

    @Test(arguments: [true, false])
    func aWokenLeaderSendsNothing(gated: Bool) async throws {
        let conninfo = cluster.conninfo
        try await offPool {
            let region = "g" + String(UInt32.random(in: 0..<UInt32.max), radix: 36)
            let settings = LeaderLease.Settings(ttl: 3, renewInterval: 0.5, margin: 1, pollInterval: 0.2)
            let a = LeaseKeeper(conninfo: conninfo, region: region, holder: "a", settings: settings)
            let b = LeaseKeeper(conninfo: conninfo, region: region, holder: "b", settings: settings)
            defer { _ = a.stop(); _ = b.stop() }
            a.start()
            #expect(waitUntil(10) { if case .leader = a.role { return true } else { return false } })
            b.start()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-gate-\(UUID())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // The hall forgets a key after 1 s: less than the freeze.
            let hall = try HallStandIn(target: .licensing, tokenFile: directory + "/token", keyRetention: 1)
            defer { hall.stop() }
            let client = HallClient(target: .licensing, baseURL: hall.baseURL, token: TokenSource(path: hall.tokenFile),
                                    http: try CurlHTTPClient(gate: gated ? a.sendGate() : nil))
            // The leader's create: made (its answer, say, lost on the way back).
            _ = try client.createItem(body: Self.body("YY1"), idempotencyKey: "k1")
            #expect(hall.items(externalId: "YY1").count == 1)

            // Frozen past the lease (its keeper's thread stops, as under SIGSTOP; the clock goes on).
            _ = a.freeze(seconds: 8)
            #expect(waitUntil(settings.ttl + 2) { if case .leader = b.role { return true } else { return false } }, "b did not take over")
            Thread.sleep(forTimeInterval: 1.2)   // the hall has forgotten k1
            // Woken, before its keeper learns anything: the worker retries the create.
            let retry = Result { () throws(TransportError) in try client.createItem(body: Self.body("YY1"), idempotencyKey: "k1") }
            if gated {
                guard case .failure(let error) = retry else { Issue.record("the woken leader's create was sent"); return }
                #expect(error.code == .notLeader && error.isRetryable)
                #expect(hall.items(externalId: "YY1").count == 1, "a second item")
                #expect(hall.writeRequestCount == 1, "the hall received the woken leader's request")
            } else {
                // The negative control: without the gate the woken leader's retry makes a second item.
                #expect(hall.items(externalId: "YY1").count == 2)
            }
        }
    }
}
