import Foundation

/// One cut of a leader's link to the database, as the demo saw it.
final class PartitionWatch {
    let daemon: PairDaemon
    /// The daemon's index in the pair's network, and its address as the portal and halls see it.
    let index: Int
    let address: String
    /// Just before the link was set down, and once it was.
    let cutStarted: Date
    let cutDone: Date
    let restoreAt: Date
    private(set) var restoredAt: Date?
    /// The size of the daemon's log when the link came back: what it logged since starts there.
    private var logOffset: UInt64 = 0
    /// When its status file first said standby after the link came back.
    var standbyAt: Date?
    /// Who took the lease after the cut, and how long after it.
    var takeover: (holder: String, seconds: Double)?
    /// The next fault (or the end): what the daemon sends later is not this partition's.
    var until: Date?
    /// How the halls were set up for it, undone when the link is back.
    var staging: BatchStaging?

    /// The size of the daemon's log at the cut.
    private let cutLogOffset: UInt64

    init(daemon: PairDaemon, index: Int, address: String, cutStarted: Date, cutDone: Date, restoreAt: Date) {
        cutLogOffset = daemon.logSize
        self.daemon = daemon
        self.index = index
        self.address = address
        self.cutStarted = cutStarted
        self.cutDone = cutDone
        self.restoreAt = restoreAt
    }

    func restored(logSize: UInt64) {
        restoredAt = Date()
        logOffset = logSize
    }

    /// The first write the daemon logged as refused (NOT_LEADER: the fence) after its link came
    /// back, as its log says it; nil when it logged none.
    func refusedWrite() -> String? {
        guard restoredAt != nil else { return nil }
        return daemon.logged(from: logOffset).first { $0.contains("not written:") }.map { String($0.prefix(400)) }
    }

    /// The sends its gate refused after the cut.
    func gateRefusals() -> Int { daemon.gateRefusals(since: cutLogOffset) }
}
