/// Where hallsync stands with one hall's change feed (contract §3.7), as stored: the `seq` up to
/// which every change is applied, and — after changes were dropped unread (a 410, a feed left
/// unread for most of its retention) — how far the reconciliation of the open items has got.
///
///     let cursor = HallFeedCursor(feed: "seq:1042", reconcile: "YY3710022021090800017")
///     cursor.seq            // 1042: read on from here, also while reconciling
///     cursor.reconcileAfter // "YY…17": the open items after this id are still to be looked up
///
/// The feed is read on during a reconciliation — from its oldest retained change after a 410 —
/// so outcomes are mirrored while the lookups run. Pure.
public struct HallFeedCursor: Hashable, Sendable, CustomStringConvertible {
    public var seq: Int64
    /// Non-nil while reconciling: the last reservation id looked up in order ("" before the first).
    public var reconcileAfter: String?
    /// While a periodic sweep reconciles: only items made before this moment (Unix seconds) are
    /// looked up. Nil: every open item (after changes were lost).
    public var reconcileCreatedBefore: Double?

    public init(seq: Int64, reconcileAfter: String? = nil, reconcileCreatedBefore: Double? = nil) {
        self.seq = seq
        self.reconcileAfter = reconcileAfter
        self.reconcileCreatedBefore = reconcileAfter == nil ? nil : reconcileCreatedBefore
    }

    /// Reads the stored cursors. `reconcile:<id>` in the feed cursor is the form before the feed
    /// was read on during a reconciliation: the feed then starts again from its oldest change.
    public init(feed: String?, reconcile: String?, createdBefore: String? = nil) {
        if let feed, feed.hasPrefix("reconcile:") {
            self.init(seq: 0, reconcileAfter: reconcile ?? String(feed.dropFirst("reconcile:".count)))
        } else {
            self.init(seq: feed.flatMap { Int64($0.dropFirst("seq:".count)) } ?? 0, reconcileAfter: reconcile,
                      reconcileCreatedBefore: createdBefore.flatMap(Double.init))
        }
    }

    /// What a cycle does first with a hall's feed.
    public enum Start: Hashable, Sendable {
        /// Read on from `seq`.
        case readOn
        /// Changes may have been dropped unread (the feed was not read for most of its retention,
        /// or never while we had items there): start over from its oldest change and look every
        /// open item up.
        case startOver
        /// The periodic sweep is due: look up the open items made before `createdBefore`, reading on meanwhile.
        case sweep(createdBefore: Double)
    }

    /// - Parameters:
    ///   - lastRead, lastSweep: Unix seconds, nil when never.
    ///   - sweepInterval: how often the open items older than that are looked up whatever the feed
    ///     said — a hall whose numbering went back quietly (restored from a backup, its new changes
    ///     numbered below our position) would otherwise never show their outcomes.
    public func start(lastRead: Double?, lastSweep: Double?, haveOpenItems: Bool, retention: Double, sweepInterval: Double,
                      now: Double) -> Start {
        guard reconcileAfter == nil else { return .readOn }
        let stale = lastRead.map { now - $0 > retention * 0.9 } ?? true
        if stale && haveOpenItems { return .startOver }
        if lastSweep.map({ now - $0 >= sweepInterval }) ?? true { return .sweep(createdBefore: now - sweepInterval) }
        return .readOn
    }

    /// The stored form of the feed cursor.
    public var feed: String { "seq:\(seq)" }

    /// After changes were dropped unread: every open item is to be looked up, and the feed read
    /// again from its oldest retained change.
    public static let expired = HallFeedCursor(seq: 0, reconcileAfter: "")

    public var description: String {
        let what = reconcileCreatedBefore == nil ? "reconciling" : "sweeping"
        return reconcileAfter.map { "\(feed), \(what) after \($0.isEmpty ? "the start" : $0)" } ?? feed
    }
}

/// One round of reconciliation lookups, answered in any order by concurrent workers: how far
/// the stored progress may move (every id up to it answered), so a lookup that fails for good
/// is tried again next cycle and none is skipped. Pure.
///
///     var round = ReconcileRound(ids: ["A", "B", "C"])
///     round.answered("B"); round.failed("A"); round.answered("C")
///     round.progress   // nil: "A" must be looked up again, so the cursor stays where it was
public struct ReconcileRound: Hashable, Sendable {
    public let ids: [String]
    private var outcome: [String: Bool] = [:]

    /// `ids` in the order the store gives them (ascending).
    public init(ids: [String]) { self.ids = ids }

    public mutating func answered(_ id: String) { outcome[id] = true }
    public mutating func failed(_ id: String) { outcome[id] = false }

    /// The last id of the longest answered prefix: where the stored progress may move to.
    public var progress: String? {
        var last: String?
        for id in ids {
            guard outcome[id] == true else { break }
            last = id
        }
        return last
    }

    public var failures: Int { outcome.values.filter { !$0 }.count }
    public var allAnswered: Bool { ids.allSatisfy { outcome[$0] == true } }

    /// What the round means for the reconciliation: finished when every open item was answered and
    /// the round was not full (no more after it), else the progress moves over the answered prefix.
    public enum Conclusion: Hashable, Sendable {
        case finished
        case progress(String)
        case unchanged
    }

    /// - Parameter limit: the most ids a round takes; a full round may have more after it.
    public func conclusion(limit: Int) -> Conclusion {
        if allAnswered && ids.count < limit { return .finished }
        return progress.map(Conclusion.progress) ?? .unchanged
    }
}
