import Foundation

/// What is done to the leader.
enum Fault: String {
    case kill = "SIGKILL", freeze = "SIGSTOP", stop = "SIGTERM", restartDatabase = "pg_ctl restart -m immediate"
    case partition = "cut database link"
    /// The leader stopped (SIGSTOP) right after it took a batch of new creates, before sending any
    /// (it stops itself: FreezeForTests), for longer than the lease and the halls' key retention
    /// together: what it sends after waking is a second item, unless its gate refuses.
    case freezeMidBatch = "SIGSTOP mid-batch"

    init?(name: String) {
        switch name {
        case "kill": self = .kill
        case "freeze": self = .freeze
        case "stop": self = .stop
        case "restart-db": self = .restartDatabase
        case "partition": self = .partition
        case "freeze-mid-batch": self = .freezeMidBatch
        default: return nil
        }
    }

    /// The fault is judged by what reaches the portal and the halls from the leader's own address:
    /// each daemon needs a network namespace of its own (root).
    var needsNetwork: Bool { self == .partition || self == .freezeMidBatch }
}
