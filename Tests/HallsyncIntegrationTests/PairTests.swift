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

    /// The pair through PgBouncer in transaction mode (a private one in front of the cluster; the
    /// daemons' statements not prepared, as PgBouncer 1.18 of Debian 12 needs): the leader killed,
    /// then the new leader stopped, under traffic with every fault on — nothing lost, nothing
    /// twice, the kill's takeover within TTL + 2 s, the stop's handover within 3 s, and the
    /// daemons' transactions seen passing through the pooler.
    @Test func killedAndStoppedLeadersThroughPgBouncerInTransactionMode() async throws {
        try await offPool {
            let run = try Support.run(Support.hallsyncBinary, [
                "demo", "--pair", "--pgbouncer", "--duration", "20", "--rate", "15", "--lag", "1", "--drain-timeout", "60",
                "--key-retention", "5", "--pair-faults", "kill,stop",
            ])
            #expect(run.status == 0, "\(run.text.suffix(4000))")
            #expect(run.stdout.contains("through PgBouncer in transaction mode"), "\(run.stdout.prefix(1500))")
            #expect(run.stdout.contains("PASS: 0 lost, 0 duplicated"), "\(run.stdout.suffix(3000))")
            #expect(run.stdout.contains("duplicated               0") && run.stdout.contains("lost                     0"))
            let takeovers = Self.takeovers(run.stdout)
            #expect(takeovers.count == 2, "\(takeovers)")
            #expect(takeovers.contains { $0.line.contains("SIGKILL") && $0.seconds <= Self.ttl + 2 }, "\(takeovers)")
            #expect(takeovers.contains { $0.line.contains("SIGTERM") && $0.seconds <= 3 }, "\(takeovers)")
            let pooler = run.stdout.split(separator: "\n").first { $0.hasPrefix("PgBouncer     pool_mode ") } ?? ""
            #expect(pooler.hasPrefix("PgBouncer     pool_mode transaction, "), "\(run.stdout.suffix(2000))")
            #expect((Self.number(after: "transaction, ", in: pooler) ?? 0) > 0, "\(pooler)")
        }
    }

    /// A partition (root: each daemon in a network namespace of its own): the leader's link to the
    /// database is cut while it still reaches the portal and the halls, and while it has a batch of
    /// sends under way (the halls slow to write; see `BatchStaging`). The portal and the halls
    /// log each request's sender and arrival: nothing of the cut leader arrives after the cut + TTL
    /// − margin (its gate refuses the rest of its batch), the other leads within TTL + 2 s, and
    /// when the link is back the cut one's first write is refused by the fence (NOT_LEADER), it
    /// says standby and sends nothing more; 0 lost, 0 duplicated.
    @Test(.enabled(if: PairNetwork.unavailableReason == nil, "network namespaces need root and ip (iproute2)"))
    func aLeaderCutFromTheDatabaseSendsNothingAfterItsTrustAndStandsByWhenTheLinkReturns() async throws {
        try await offPool {
            let run = try Support.run(Support.hallsyncBinary, Self.partitionDemo)
            #expect(run.status == 0, "\(run.text.suffix(4000))")
            #expect(run.stdout.contains("PASS: 0 lost, 0 duplicated"), "\(run.stdout.suffix(3000))")
            #expect(run.stdout.contains("duplicated               0") && run.stdout.contains("lost                     0"))
            let cut = try #require(Self.partition(run.stdout), "\(run.stdout.suffix(3000))")
            // The cut met sends under way, and the gate, not the database, stopped the rest.
            #expect(cut.afterCut > 0, "\(cut.lines)")
            #expect(cut.afterTrust == 0 && cut.afterLinkBack == 0, "\(cut.lines)")
            #expect(cut.gateRefusals > 0, "\(cut.lines)")
            #expect(cut.trustEnds <= Self.ttl - Self.margin + 0.2, "\(cut.lines)")
            // The other daemon leads within TTL + 2 s of the cut.
            #expect(cut.otherLedAfter <= Self.ttl + 2, "\(cut.lines)")
            #expect(!cut.leader.isEmpty && cut.leader != cut.victim, "\(cut.lines)")
            // The link back: its first write refused by the fence, then standby (its status file).
            #expect(cut.lines.contains("its first write after the link came back: ") && cut.lines.contains("NOT_LEADER: not written"), "\(cut.lines)")
            #expect(cut.lines.contains("\(cut.victim) stood by "), "\(cut.lines)")
            let takeovers = Self.takeovers(run.stdout)
            #expect(takeovers.count == 1 && takeovers.allSatisfy { $0.line.contains("cut database link") }, "\(takeovers)")
            // Both namespaces are gone.
            #expect(!Self.namespaces().contains { $0.hasPrefix("hallsync-") }, "\(Self.namespaces())")
        }
    }

    /// The negative control of the partition: the same run with the fence and the gate off (the
    /// test-only switch) — the cut leader goes on sending its batch after its trust has ended, and
    /// once its link is back goes on as a second leader. The verdict fails on the partition's
    /// check; the halls' idempotency keys and the takeover's lookups may still keep every item single.
    @Test(.enabled(if: PairNetwork.unavailableReason == nil, "network namespaces need root and ip (iproute2)"))
    func withoutTheFenceACutLeaderGoesOnSendingAfterItsTrust() async throws {
        try await offPool {
            let run = try Support.run(Support.hallsyncBinary, Self.partitionDemo + ["--unsafe-without-fence"])
            #expect(run.status == 1, "\(run.text.suffix(4000))")
            #expect(run.stdout.contains("a partition's check failed"), "\(run.stdout.suffix(3000))")
            let cut = try #require(Self.partition(run.stdout), "\(run.stdout.suffix(3000))")
            #expect(cut.afterTrust > 0, "\(cut.lines)")
            #expect(cut.gateRefusals == 0, "without the gate nothing is refused: \(cut.lines)")
        }
    }

    /// SIGSTOP right after the leader took a batch of new creates, before it sent any (it stops
    /// itself when the demo asks: `FreezeForTests`), for 15 s: past the lease (4 s) and the halls'
    /// key retention (5 s). The other leads and makes those items itself; by the time the frozen
    /// one wakes the halls have forgotten the keys, so any send of its batch would be a second
    /// item. Its gate refuses them all: nothing from it reaches the portal or a hall after it
    /// wakes, and it stands by; 0 lost, 0 duplicated.
    @Test(.enabled(if: PairNetwork.unavailableReason == nil, "network namespaces need root and ip (iproute2)"))
    func aLeaderFrozenMidBatchPastTheKeyRetentionSendsNothingWhenItWakes() async throws {
        try await offPool {
            let run = try Support.run(Support.hallsyncBinary, Self.freezeDemo(drainTimeout: 60))
            #expect(run.status == 0, "\(run.text.suffix(4000))")
            #expect(run.stdout.contains("PASS: 0 lost, 0 duplicated"), "\(run.stdout.suffix(3000))")
            #expect(Self.verified("duplicated", in: run.stdout) == 0)
            let freeze = try #require(Self.freeze(run.stdout), "\(run.stdout.suffix(3000))")
            #expect(freeze.seconds >= Self.ttl + 5 + 1, "frozen past the lease and the key retention: \(freeze.lines)")
            #expect(freeze.afterWake == 0, "\(freeze.lines)")
            // Its batch was still to send when it woke (the freeze comes only with one in hand), and
            // the gate or the fence, not an empty queue, stopped it: workers already sending meet
            // the gate, a delivery still taking the other peers' batches the fence.
            #expect(freeze.gateRefusals + freeze.fenceRefusals > 0, "\(freeze.lines)")
            #expect(freeze.otherLedAfter <= Self.ttl + 2 && freeze.stoodBy, "\(freeze.lines)")
        }
    }

    /// The negative control of the freeze: the same run with the gate and the fence off (the
    /// test-only switch). The woken leader sends its queued batch, whose keys the halls have
    /// forgotten: second items, which the verification finds.
    @Test(.enabled(if: PairNetwork.unavailableReason == nil, "network namespaces need root and ip (iproute2)"))
    func withoutTheGateAFrozenLeaderWakesAndMakesSecondItems() async throws {
        try await offPool {
            let run = try Support.run(Support.hallsyncBinary, Self.freezeDemo(drainTimeout: 20) + ["--unsafe-without-fence"])
            #expect(run.status == 1, "\(run.text.suffix(4000))")
            let duplicated = Self.verified("duplicated", in: run.stdout) ?? 0
            #expect(duplicated > 0, "without the gate the frozen leader's batch makes second items: \(run.stdout.suffix(3000))")
            #expect(run.stdout.contains("a frozen leader's check failed"), "\(run.stdout.suffix(3000))")
            let freeze = try #require(Self.freeze(run.stdout), "\(run.stdout.suffix(3000))")
            #expect(freeze.afterWake > 0 && freeze.gateRefusals == 0 && freeze.fenceRefusals == 0, "\(freeze.lines)")
        }
    }

    /// The control's verification never passes: its catching up ends at the drain's time-out.
    static func freezeDemo(drainTimeout: Int) -> [String] {
        ["demo", "--pair", "--pair-faults", "freeze-mid-batch", "--duration", "20", "--rate", "15", "--lag", "1",
         "--drain-timeout", "\(drainTimeout)", "--key-retention", "5", "--log-level", "info"]
    }

    /// A count of the demo's verification (`  duplicated               2`).
    static func verified(_ name: String, in stdout: String) -> Int? {
        stdout.split(separator: "\n").first { $0.hasPrefix("  \(name)  ") }.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    /// What the demo says of its (first) freeze mid-batch.
    struct Freeze {
        var seconds = 0.0, afterWake = -1, gateRefusals = -1, fenceRefusals = -1
        var otherLedAfter = Double.infinity, stoodBy = false
        var lines = ""
    }

    static func freeze(_ stdout: String) -> Freeze? {
        let all = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = all.firstIndex(where: { $0.contains(" frozen for ") && $0.contains("arrived while it was frozen") }) else { return nil }
        var f = Freeze()
        let block = all[start...].prefix { $0.hasPrefix("  ") }
        f.lines = block.joined(separator: "\n")
        let first = all[start]
        f.seconds = number(after: "frozen for ", in: first) ?? 0
        f.afterWake = number(after: "while it was frozen, ", in: first).map(Int.init) ?? -1
        if let led = block.first(where: { $0.contains(" led ") && $0.hasSuffix(" s after the freeze") }) {
            f.otherLedAfter = Double(led.trimmingCharacters(in: .whitespaces).split(separator: " ").dropFirst(2).first ?? "") ?? .infinity
        }
        f.stoodBy = block.contains { $0.contains(" stood by ") && $0.hasSuffix("after it woke (its status file)") }
        if let refused = block.first(where: { $0.contains("sends refused by its gate after it woke") }) {
            f.gateRefusals = Int(refused.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") ?? -1
            f.fenceRefusals = number(after: "in its log), ", in: refused).map(Int.init) ?? -1
        }
        return f
    }

    static let margin = 1.0   // PairMember.trustMargin(ttl: 4): a quarter of the TTL

    static let partitionDemo = [
        "demo", "--pair", "--pair-faults", "partition", "--duration", "20", "--rate", "15", "--lag", "1",
        "--drain-timeout", "60", "--key-retention", "5", "--log-level", "info",
    ]

    /// The takeover lines of a demo's output, each with its seconds.
    static func takeovers(_ stdout: String) -> [(line: String, seconds: Double)] {
        stdout.split(separator: "\n").filter { $0.contains(" → ") && $0.hasSuffix(" s") }.map { line in
            (String(line), Double(line.split(separator: " ").dropLast().last ?? "") ?? .infinity)
        }
    }

    /// What the demo says of its (first) partition.
    struct Partition {
        var victim = "", leader = ""
        var afterCut = -1, afterTrust = -1, afterLinkBack = -1, gateRefusals = -1
        var trustEnds = Double.infinity, otherLedAfter = Double.infinity
        var lines = ""
    }

    static func partition(_ stdout: String) -> Partition? {
        let all = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = all.firstIndex(where: { $0.contains(" cut for ") && $0.contains("requests from it before the cut") }) else { return nil }
        var p = Partition()
        p.lines = all[start...].prefix(6).joined(separator: "\n")
        let first = all[start]
        p.victim = String(first.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        p.afterCut = number(after: "before the cut; ", in: first).map(Int.init) ?? -1
        p.afterTrust = first.range(of: " after its trust ended (").flatMap { Int(first[..<$0.lowerBound].split(separator: " ").last ?? "") } ?? -1
        p.trustEnds = number(after: "after its trust ended (", in: first) ?? .infinity
        p.afterLinkBack = number(after: "after the cut), ", in: first).map(Int.init) ?? -1
        if let led = all[start...].prefix(6).first(where: { $0.contains(" led ") && $0.hasSuffix(" s after the cut") }) {
            let words = led.trimmingCharacters(in: .whitespaces).split(separator: " ")
            p.leader = String(words.first ?? "")
            p.otherLedAfter = Double(words.dropFirst(2).first ?? "") ?? .infinity
        }
        if let refused = all[start...].prefix(6).first(where: { $0.contains("sends refused by its gate after the cut") }) {
            p.gateRefusals = Int(refused.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") ?? -1
        }
        return p
    }

    /// The number that follows `marker` in `text`.
    static func number(after marker: String, in text: some StringProtocol) -> Double? {
        guard let range = text.range(of: marker) else { return nil }
        return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    static func namespaces() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [])
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
