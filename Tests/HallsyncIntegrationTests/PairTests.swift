import Foundation
import HallsyncStandIns
import HallsyncTestSupport
import Testing

/// The pair as a site runs it: two `hallsync run` processes on one PostgreSQL (a private cluster),
/// faults on, the leader killed (SIGKILL), frozen past both the lease and the halls' key retention
/// (SIGSTOP … SIGCONT) and stopped (SIGTERM), then PostgreSQL restarted as after a crash
/// (`pg_ctl restart -m immediate`), all under traffic: nothing lost, nothing twice (the stand-ins
/// count items per reservation and hall), every status right, each takeover in time.
@Suite(.serialized) struct PairTests {
    /// The demo's lease: TTL 4 s.
    static let ttl = 4.0

    @Test func killedFrozenAndStoppedLeadersAndARestartedDatabaseLoseNothingAndSendNothingTwice() async throws {
        try await offPool {
            let run = try Support.run(Support.hallsyncBinary, [
                "demo", "--pair", "--duration", "30", "--rate", "15", "--lag", "1", "--drain-timeout", "90",
                "--key-retention", "5", "--freeze-seconds", "7", "--pair-faults", "kill,freeze,stop,restart-db",
            ])
            #expect(run.status == 0, "\(run.text.suffix(4000))")
            #expect(run.stdout.contains("PASS: 0 lost, 0 duplicated"), "\(run.stdout.suffix(3000))")
            #expect(run.stdout.contains("duplicated               0") && run.stdout.contains("lost                     0"))
            // Each fault was followed by a new epoch within TTL + 2 s (a restarted database: once it is back).
            let takeovers = run.stdout.split(separator: "\n").filter { $0.contains(" → ") && $0.hasSuffix(" s") }
            #expect(takeovers.count == 4, "\(takeovers)")
            for line in takeovers {
                let seconds = Double(line.split(separator: " ").dropLast().last ?? "") ?? .infinity
                #expect(seconds <= Self.ttl + 2 + (line.contains("pg_ctl") ? 5 : 0), "\(line)")
            }
            #expect(takeovers.contains { $0.contains("pg_ctl restart") })
            // At the end one daemon leads and the other stands by, each saying so in its status (and perfdata).
            #expect(run.stdout.components(separatedBy: "pair          leader as daemon-").count == 2, "\(run.stdout.suffix(2500))")
            #expect(run.stdout.components(separatedBy: "pair          standby as daemon-").count == 2)
            #expect(run.stdout.components(separatedBy: ", standing by (the leader works)").count == 2, "the standby's last cycle is said to be catching up")
            #expect(run.stdout.contains("'leader'=1;;;0;1") && run.stdout.contains("'leader'=0;;;0;1"))
            #expect(takeovers.contains { $0.contains("SIGKILL") } && takeovers.contains { $0.contains("SIGSTOP") } && takeovers.contains { $0.contains("SIGTERM") })
        }
    }

    /// `hallsync once` is for one machine: on a pair it says so (the leader works), rather than
    /// run a cycle that stands by and reports nothing done.
    @Test func onceOnAPairSaysTheLeaderWorks() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("once-pair")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let site = try StandInSite(directory: directory, options: .init(lag: 1, faults: .none))
            defer { site.stop() }
            let config = try site.writeConfiguration(to: directory + "/hallsync.yaml", database: directory + "/hallsync.sqlite")
            try (try String(contentsOfFile: config, encoding: .utf8) + "store:\n  kind: postgresql\n  connection: \"host=/nonexistent dbname=hallsync\"\n")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let run = try Support.run(Support.hallsyncBinary, ["once", "--config", config])
            #expect(run.status == 78, "\(run.text)")
            #expect(run.stderr.contains("the daemon holding the region's lease works"), "\(run.text)")
        }
    }
}
