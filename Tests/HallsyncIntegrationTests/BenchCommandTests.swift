import Foundation
import HallsyncTestSupport
import Testing

/// `hallsync bench` at a small scale, real processes: what it reports is what the stand-ins saw.
/// (The figures themselves are a benchmark's, not a test's: nothing here is timed.)
@Suite(.serialized) struct BenchCommandTests {
    func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// On the SQLite file, and on PostgreSQL (a private cluster: the server's CPU is counted too).
    @Test(arguments: ["sqlite", "postgresql"])
    func aSmallBacklogIsMirroredAndItsFiguresAddUp(_ store: String) async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("bench-backlog")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let output = try Support.run(Support.hallsyncBinary, ["bench", "backlog", "--backlog", "200", "--store", store,
                                                                  "--json", directory + "/figures.json", "--timeout", "300"])
            #expect(output.status == 0, "\(output.text)")
            #expect(output.stdout.contains("backlog    \(store.padding(toLength: 10, withPad: " ", startingAt: 0)) PASS 200 reservations"), "\(output.stdout)")
            let results = try #require(try json(directory + "/figures.json") as? [[String: Any]])
            let result = try #require(results.first)
            #expect(result["passed"] as? Bool == true && result["store"] as? String == store)
            if store == "postgresql" {
                let server = try #require(result["databaseCPUSeconds"] as? Double)
                let total = try #require(result["totalCPUMicrosecondsPerReservation"] as? Double)
                #expect(server > 0 && total > (result["cpuMicrosecondsPerReservation"] as? Double ?? .infinity))
            } else {
                #expect(result["databaseCPUSeconds"] == nil)
            }
            #expect(result["reservations"] as? Int == 200)
            let required = try #require(result["required"] as? Int)
            #expect(required > 150 && required <= 200, "phone-only and held reservations need no inbox: \(required)")
            #expect(result["completed"] as? Int == required)
            // Every required reservation reached an inbox and had its RECEIVED accepted, as the stand-ins counted.
            let writes = try #require(result["hallWrites"] as? [String: Int])
            #expect((writes["licensing"] ?? 0) >= required, "\(writes)")
            #expect((result["portalPushes"] as? Int ?? 0) >= required)
            let cpu = try #require(result["daemonCPUSeconds"] as? Double)
            let system = try #require(result["daemonSystemSeconds"] as? Double)
            #expect(cpu > 0 && system >= 0 && system <= cpu)
            let perReservation = try #require(result["cpuMicrosecondsPerReservation"] as? Double)
            #expect(abs(perReservation - cpu / 200 * 1e6) < 1)
        }
    }

    @Test func theFloorMeasuresEveryPartAndAddsThemUp() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("bench-floor")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let output = try Support.run(Support.hallsyncBinary, ["bench", "floor", "--backlog", "200", "--json", directory + "/figures.json"])
            #expect(output.status == 0, "\(output.text)")
            let all = try #require(try json(directory + "/figures.json") as? [String: Any])
            let floor = try #require((all["floor"] as? [[String: Any]])?.first)
            #expect(floor["records"] as? Int == 200, "every record of the backlog read back from the portal's pages")
            let parts = ["listPerRecord", "normalizePerRecord", "hallCreate", "portalPush", "oneRowCommit"].map { floor[$0] as? Double ?? 0 }
            #expect(parts.allSatisfy { $0 > 0 }, "\(floor)")
            let requests = try #require(floor["requestsPerReservation"] as? Double)
            #expect(abs(requests - (parts[0] + parts[1] + 2 * parts[2] + parts[3])) < 0.01)
            #expect(abs((floor["withCommitsPerReservation"] as? Double ?? 0) - (requests + 3 * parts[4])) < 0.01)
        }
    }

    @Test func anUnknownScenarioIsRefusedWithTheNamesThatExist() async throws {
        try await offPool {
            let output = try Support.run(Support.hallsyncBinary, ["bench", "flor"])
            #expect(output.status != 0)
            #expect(output.text.contains("unknown scenario flor") && output.text.contains("floor"), "\(output.text)")
        }
    }
}
