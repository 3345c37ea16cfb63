/// One cycle's reading of one hall's change feed (contract §3.7), decided without I/O: which
/// page to ask for next, where the position moves when a page arrives, when the cycle's page
/// budget is spent, and what a 410 or a numbering that went back means. The I/O loop
/// (``HallFeeds``) asks for the next effect, carries it out and feeds the answer back.
///
///     var reading = HallFeedReading(seq: 1041, pageSize: 500, pageBudget: 50)
///     reading.start()                                    // .read(after: 1041)
///     reading.pageArrived(changes: 500, lastSeq: 1600)   // [.apply(seq: 1600), .read(after: 1600)]
///     reading.pageArrived(changes: 3, lastSeq: 1607)     // [.apply(seq: 1607), .stop(.caughtUp)]
///     reading.failed(.feedExpired)                       // [.startOver(rewound: false), .read(after: 0)]
///
///     read(after) ──page, full──▶ apply(seq), read(after: seq)      (while pages are left)
///     read(after) ──page, short──▶ apply(seq), stop(caughtUp)
///     read(after) ──410 / numbering went back──▶ startOver (reconcile every open item), read(after: 0)
///     read(after) ──any other failure──▶ stop(failed)
///     no page left ──▶ stop(budgetSpent)
///
/// The position never moves back on a page's word: `seq` is the larger of where the read started
/// and the page's `lastSeq` (a page whose numbering is below the position is refused by the
/// client as `FEED_REWOUND` before it gets here). Pure.
public struct HallFeedReading: Hashable, Sendable {
    public enum Effect: Hashable, Sendable {
        case read(after: Int64)
        /// Apply the page's changes and move the position to `seq`, in one transaction.
        case apply(seq: Int64)
        /// Changes may be lost to us: the position goes back to 0 and every open item is looked up.
        case startOver(rewound: Bool)
        case stop(Stop)
    }

    public enum Stop: Hashable, Sendable {
        case caughtUp
        case budgetSpent
        /// A failure other than the two that start over: tried again next cycle.
        case failed
    }

    /// Why a read failed, as far as the machine cares.
    public enum Failure: Hashable, Sendable {
        /// 410 `FEED_EXPIRED`: changes were dropped unread.
        case feedExpired
        /// The hall's numbering went back below the position asked for.
        case feedRewound
        case other
    }

    public private(set) var seq: Int64
    public private(set) var pagesLeft: Int
    let pageSize: Int

    public init(seq: Int64, pageSize: Int, pageBudget: Int) {
        self.seq = seq
        self.pageSize = pageSize
        self.pagesLeft = pageBudget
    }

    public mutating func start() -> Effect { nextRead() }

    public mutating func pageArrived(changes: Int, lastSeq: Int64) -> [Effect] {
        seq = max(seq, lastSeq)
        return [.apply(seq: seq), changes < pageSize ? .stop(.caughtUp) : nextRead()]
    }

    public mutating func failed(_ failure: Failure) -> [Effect] {
        switch failure {
        case .feedExpired, .feedRewound:
            seq = 0
            return [.startOver(rewound: failure == .feedRewound), nextRead()]
        case .other:
            return [.stop(.failed)]
        }
    }

    /// Every request spends a page of the budget, a re-read after a start-over included.
    private mutating func nextRead() -> Effect {
        guard pagesLeft > 0 else { return .stop(.budgetSpent) }
        pagesLeft -= 1
        return .read(after: seq)
    }
}
