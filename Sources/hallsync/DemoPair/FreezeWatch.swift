import Foundation

/// One freeze of a leader that had just taken a batch of new creates (``Fault/freezeMidBatch``),
/// as the demo saw it: stopped (SIGSTOP) past the lease's TTL and the halls' key retention, then
/// continued (SIGCONT). Meanwhile the other daemon leads and makes those items itself; so a send
/// of the frozen one's batch after it wakes would make a second item (the hall has forgotten the
/// key), and its gate must refuse every one.
///
/// What the gate cannot refuse: a request it let through (with the trust's time left as its
/// time-out) that the stop caught half written may be finished as soon as the process runs again,
/// before curl looks at its time-out (seen once, a status push). The demo counts those apart, by the time the
/// request's first byte reached the stand-in. Closing that window needs the body handed to curl
/// through a read callback that asks the gate again, or a fencing token the halls check.
final class FreezeWatch {
    let daemon: PairDaemon
    /// Its address, as the portal and the halls see it.
    let address: String
    let frozenAt: Date
    let continueAt: Date
    private(set) var wokeAt: Date?
    /// When its status file first said standby after it woke.
    var standbyAt: Date?
    /// Who took the lease after the freeze, and how long after it.
    var takeover: (holder: String, seconds: Double)?
    /// The next fault (or the end): what the daemon sends later is not this freeze's.
    var until: Date?
    /// The size of its log when it woke: its gate's refusals are counted from there.
    private var wokeLogOffset: UInt64 = 0

    init(daemon: PairDaemon, address: String, frozenAt: Date, continueAt: Date) {
        self.daemon = daemon
        self.address = address
        self.frozenAt = frozenAt
        self.continueAt = continueAt
    }

    func woke() {
        wokeLogOffset = daemon.logSize
        daemon.signal(SIGCONT)
        wokeAt = Date()
    }

    /// The sends its gate refused after it woke.
    func gateRefusals() -> Int { daemon.gateRefusals(since: wokeLogOffset) }

    /// The writes its fence refused after it woke ("not written: …" in its log, NOT_LEADER). Which
    /// of the two stops the batch depends on where the wake finds it: workers already sending
    /// meet the gate; a delivery still taking the other peers' batches meets the fence first,
    /// and nothing is sent.
    func fenceRefusals() -> Int {
        daemon.logged(from: wokeLogOffset).filter { $0.contains("not written:") }.count
    }
}
