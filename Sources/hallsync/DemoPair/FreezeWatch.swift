import Foundation

/// One freeze of a leader with a batch of sends under way (``Fault/freezeMidBatch``), as the demo
/// saw it: frozen (SIGSTOP) past the lease's TTL and the halls' key retention, then woken (SIGCONT).
/// Meanwhile the other daemon leads and sends the frozen one's batch itself; so a send of the
/// frozen one after it wakes would make a second item (the hall has forgotten the key), and its gate
/// must refuse every one.
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
    /// How the halls were set up for it, undone once another daemon leads.
    var staging: BatchStaging?
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
}
