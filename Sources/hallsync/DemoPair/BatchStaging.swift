import Foundation
import HallsyncStandIns

/// Sets a partition up so that the cut meets the leader with a full batch of sends under way, which
/// needs no database and which only its lease's trust can stop (otherwise a leader cut between
/// two cycles just waits for the database, and the trust is never put to the test):
///
/// 1. the halls refuse creates (503, retried later) for ``outage`` seconds: a backlog of creates
///    builds in the leader's outbox;
/// 2. at the leader's next cycle (its next read of the portal) creates are taken again and every
///    hall write takes ``writeLatency`` to answer (reads stay quick);
/// 3. the fault comes right after the first writes of that cycle's delivery: its first batch from
///    the outbox (32 sends per hall, 8 in flight) has three more rounds queued, the first of them
///    due about 1.9 s after the cut and the next about 3.8 s after it — after the leader's trust
///    has ended (3 s): its gate must refuse them.
///
/// The halls go back to their faults when the link is back (``undo()``). (A freeze mid-batch needs
/// no staging: the leader stops itself right after taking a batch, ``FreezeForTests``.)
final class BatchStaging {
    /// Seconds the halls refuse creates, for a backlog.
    static let outage = 3.0
    /// Seconds each hall takes to answer a write while staged: under the 2 s that a granted request
    /// always has left of its trust (renewals every second, trust 3 s), so that writes succeed.
    static let writeLatency = 1.9
    /// Seconds after which the fault comes whatever the stage (a leader that never reads the portal).
    static let giveUp = 15.0

    private enum Stage { case backlog(until: Date), waitingForCycle(since: Double), slowed(since: Double) }

    private let site: StandInSite
    private let began = Date()
    private var stage: Stage
    private var saved: [(hall: HallStandIn, faults: Faults)] = []

    init(site: StandInSite) {
        self.site = site
        stage = .backlog(until: began.addingTimeInterval(Self.outage))
        for hall in [site.intake, site.licensing] { hall.createOutage = true }
    }

    /// Whether the fault is to come now to the leader whose requests come from `address`.
    func ready(leader address: String, log: (String) -> Void) -> Bool {
        let now = Date()
        if now.timeIntervalSince(began) > Self.giveUp {
            log("the staging took longer than \(Int(Self.giveUp)) s: the fault comes now")
            return true
        }
        switch stage {
        case .backlog(let until):
            if now >= until {
                stage = .waitingForCycle(since: now.timeIntervalSince1970)
                log("the halls made a backlog of creates (\(Int(Self.outage)) s of 503); at the leader's next cycle they write slowly (\(Self.writeLatency) s)")
            }
            return false
        case .waitingForCycle(let since):
            guard site.portal.server.arrivals(from: address).last(where: { $0.method == "GET" }).map({ $0.at > since }) ?? false else { return false }
            for hall in [site.intake, site.licensing] {
                saved.append((hall, hall.faults))
                var faults = hall.faults
                faults.writeLatency = Self.writeLatency...Self.writeLatency
                hall.faults = faults
                hall.createOutage = false
            }
            stage = .slowed(since: now.timeIntervalSince1970)
            return false
        case .slowed(let since):
            // The first round of the delivery has arrived (all of it: 0.1 s after its first write).
            let writes = [site.intake, site.licensing].compactMap { hall in hall.server.arrivals(from: address).first { $0.at > since && $0.method != "GET" } }
            return writes.contains { now.timeIntervalSince1970 > $0.at + 0.1 }
        }
    }

    /// The halls as they were.
    func undo() {
        for hall in [site.intake, site.licensing] { hall.createOutage = false }
        for (hall, faults) in saved { hall.faults = faults }
        saved = []
    }
}
