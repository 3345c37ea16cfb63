import Dispatch
import Foundation
import HallsyncDomain
import HallsyncStore
import HallsyncTransport
import Logging
import Synchronization

/// The delivery phase: due outbox sends go to the halls and the portal, at most
/// `concurrencyPerTarget` in flight per peer, each answer committed as soon as it arrives.
///
/// A create whose first attempt is older than the hall's key retention (less a safety
/// margin) is looked up by `externalId` before it is sent again (contract §3.4): the key
/// may be forgotten, and the hall does not deduplicate by `externalId`.
final class Delivery: @unchecked Sendable {
    let configuration: Configuration
    let store: Store
    let logger: Logger
    /// A client of one worker slot, with its own curl handle, kept for keep-alive.
    enum Worker {
        case hall(HallClient)
        case portal(PortalClient)
    }

    /// The worker slots of each peer.
    private let workers: [SendTarget: [Worker]]

    let clock: any EngineClock

    init(configuration: Configuration, store: Store, tokens: [HallTarget: TokenSource], logger: Logger, clock: any EngineClock,
         gate: SendGate? = nil, makePortalClient: () throws(TransportError) -> PortalClient) throws(TransportError) {
        self.clock = clock
        self.configuration = configuration
        self.store = store
        self.logger = logger
        var workers: [SendTarget: [Worker]] = [:]
        for target in HallTarget.allCases {
            workers[SendTarget(target)] = try (0..<configuration.sync.concurrencyPerTarget).map { _ throws(TransportError) in
                .hall(try configuration.hallClient(target, token: tokens[target]!, gate: gate))
            }
        }
        var pushers: [Worker] = []
        for _ in 0..<min(4, configuration.sync.concurrencyPerTarget) { pushers.append(.portal(try makePortalClient())) }
        workers[.portal] = pushers
        self.workers = workers
    }

    struct Report {
        var attempted = 0
        var delivered = 0
        var retried = 0
        var refused = 0
        var lastError: [SendTarget: String] = [:]
        /// Requests the peer answered as the contract says (accepted, or refused for the record's sake).
        var answered: [SendTarget: Int] = [:]
        /// Peers whose last error needs an operator (a wrong URL or token, TLS).
        var needsOperator: Set<SendTarget> = []
        var succeeded: [SendTarget: Int] = [:]
        /// The cycle's send budget ran out with sends perhaps still due: the next cycle need not wait.
        var budgetSpent = false
    }

    /// Sends due sends until none is due or the cycle's budget (`maxSendsPerCycle`) is spent.
    /// Each peer's worker slots take their peer's due sends in batches, refilled as they go —
    /// a send planned meanwhile (the licensing create once the intake item exists, the RECEIVED
    /// once both exist) goes out in the same cycle — and the answers are committed in groups.
    func run(normalizer: ReservationNormalizer, stop: StopSignal) throws(StoreError) -> Report {
        let tally = Tally()
        let budget = SendBudget(configuration.sync.maxSendsPerCycle)
        let unsettled = UnsettledSends()
        let feeders = Dictionary(uniqueKeysWithValues: SendTarget.allCases.map { ($0, DueSends(target: $0, store: store, unsettled: unsettled, clock: clock)) })
        let retryPolicy = configuration.retryPolicy
        let commits = GroupCommit<Settled> { [store, clock] batch throws(StoreError) in
            let planned = PlannedTargets()
            let ledger = Ledger(normalizer: normalizer, now: clock.now, planned: planned, retryPolicy: retryPolicy)
            let contradictions = try store.write { tx in
                try batch.compactMap { settled in try ledger.apply(settled.outcome, to: settled.entry, in: tx) }
            }
            // An answer that contradicted hallsync's records was the peer's fault: its endpoint says so.
            if !contradictions.isEmpty {
                tally.report.withLock { r in
                    for c in contradictions {
                        r.lastError[c.target] = c.error.description
                        r.delivered -= 1
                        r.retried += 1
                    }
                }
                for c in contradictions {
                    self.logger.error("a peer's answer contradicts hallsync's records; the send is kept: \(c.error.message)",
                                      metadata: ["target": "\(c.target)", "error": "\(c.error.code)"])
                }
            }
            let finished = batch.filter { feeders[$0.entry.target]?.finished($0.entry) == true }.count
            unsettled.settled(finished, planned: planned.all)
        }
        // Every peer gets its workers when any send is due: a peer with nothing due yet gets the
        // sends the others' answers plan.
        var anyDue = false
        for target in SendTarget.allCases {
            if try feeders[target]!.refill(budget: budget, batch: configuration.sync.concurrencyPerTarget * 4) { anyDue = true }
        }
        guard anyDue else { return Report() }
        // One thread per slot: these workers mostly wait on the network, and Dispatch's
        // concurrentPerform would cap them at the core count.
        let group = DispatchGroup()
        for target in SendTarget.allCases {
            let feeder = feeders[target]!
            for client in workers[target]! {
                group.enter()
                let thread = Thread {
                    self.send(from: feeder, with: client, budget: budget, commits: commits, tally: tally, stop: stop)
                    group.leave()
                }
                thread.name = "hallsync send \(target)"
                thread.start()
            }
        }
        group.wait()
        // Sends taken but not attempted (a stop, the budget) are due again at once.
        for feeder in feeders.values { try feeder.release() }
        if let error = commits.failure ?? tally.storeFailure.withLock({ $0 }) { throw error }
        var report = tally.report.withLock { $0 }
        report.budgetSpent = budget.left <= 0
        return report
    }

    /// An answered send, waiting for its group's commit.
    struct Settled: Sendable {
        var entry: OutboxEntry
        var outcome: Ledger.SendOutcome
    }

    /// One worker: takes its peer's due sends until none is left, the budget is spent or a stop
    /// is asked for; hands each answer to the group commit.
    private func send(from feeder: DueSends, with client: Worker, budget: SendBudget, commits: GroupCommit<Settled>,
                      tally: Tally, stop: StopSignal) {
        while !stop.isSet, commits.failure == nil, tally.storeFailure.withLock({ $0 == nil }) {
            let mark = feeder.unsettled.mark(for: feeder.target)
            let next: OutboxEntry?
            do throws(StoreError) {
                next = try feeder.next(budget: budget, batch: configuration.sync.concurrencyPerTarget * 4)
            } catch {
                tally.storeFailure.withLock { $0 = $0 ?? error }
                return
            }
            guard let entry = next else {
                // Nothing due for this peer: wait while an answer elsewhere may plan a send for it
                // (the stop, the budget and failures are looked at every 0.2 s meanwhile: after a
                // failure, sends another worker took may never settle).
                var wait = UnsettledSends.Wait.keepWaiting
                while wait == .keepWaiting, budget.left > 0, !stop.isSet, commits.failure == nil,
                      tally.storeFailure.withLock({ $0 == nil }) {
                    wait = feeder.unsettled.wait(for: feeder.target, after: mark, timeout: 0.2)
                }
                guard wait == .lookAgain else { return }
                continue
            }
            let outcome = attempt(entry, with: client)
            commits.submit(Settled(entry: entry, outcome: outcome))
            tally.report.withLock { r in
                r.attempted += 1
                switch SendSettlement<TransportError>.effect(of: outcome, kind: entry.kind) {
                case .delivered:
                    r.delivered += 1
                    r.succeeded[entry.target, default: 0] += 1
                    r.answered[entry.target, default: 0] += 1
                case .refusedAnswered:
                    r.refused += 1
                    r.succeeded[entry.target, default: 0] += 1
                    r.answered[entry.target, default: 0] += 1
                case .retried(let needsOperator):
                    r.retried += 1
                    if case .retry(let error, _) = outcome { r.lastError[entry.target] = error.description }
                    if needsOperator { r.needsOperator.insert(entry.target) }
                case .refused(let answered):
                    r.refused += 1
                    if case .refused(let error) = outcome { r.lastError[entry.target] = error.description }
                    if answered { r.answered[entry.target, default: 0] += 1 }
                }
            }
        }
    }

    /// One attempt of one send; no store access here. A peer's message may echo the record's
    /// values (a 422 naming the ID number it refused): it is masked, by what the values are,
    /// before it reaches a log line, the attention list or the status file.
    func attempt(_ entry: OutboxEntry, with worker: Worker) -> Ledger.SendOutcome {
        let result: SendSettlement<TransportError>.Result
        do {
            switch worker {
            case .portal(let portal):
                // Every push has its status in its typed column (v6 filled those queued before).
                guard let status = entry.pushStatus else {
                    return .refused(TransportError(code: .badPush, message: "a status push without a status in the outbox; this is a bug in hallsync: report it, then retry the reservation from the attention list (hallsync attention retry)", isRetryable: false))
                }
                try portal.pushStatus(reservationId: entry.reservationId, body: entry.body, requestId: entry.idempotencyKey)
                result = .pushed(status)
            case .hall(let hall):
                result = try attempt(entry, with: hall)
            }
        } catch {
            result = .failed(Self.masked(error, sending: entry))
        }
        let outcome = SendSettlement<TransportError>.outcome(of: result, kind: entry.kind, attempts: entry.attempts, policy: configuration.retryPolicy,
                                             jitter: Double.random(in: 0...1))
        log(outcome, of: entry)
        return outcome
    }

    /// `error` with every personal value of the send's body masked in its message, however the
    /// peer spelt it back.
    static func masked(_ error: TransportError, sending entry: OutboxEntry) -> TransportError {
        struct Values: Decodable {
            var applicantName: String?; var orgName: String?; var `operator`: String?; var idNumber: String?; var phone: String?
        }
        guard let v = try? JSONDecoder().decode(Values.self, from: entry.body) else { return error.withMessage(PersonalData.redactPeerText(error.message)) }
        let values = PersonalValues(names: [v.applicantName, v.orgName, v.operator].compactMap { $0 }, numbers: [v.idNumber, v.phone].compactMap { $0 })
        return error.withMessage(PersonalData.redactPeerText(error.message, values: values))
    }

    /// The log line of a failed attempt: an endpoint an operator must fix, a passing fault, or a refusal.
    func log(_ outcome: Ledger.SendOutcome, of entry: OutboxEntry) {
        switch outcome {
        case .retry(let error, _) where error.needsOperator:
            logger.error("the \(entry.target) cannot be used until an operator acts: \(error.message)",
                         metadata: ["target": "\(entry.target)", "error": "\(error.code)"])
        case .retry(let error, let delay):
            logger.info("send will be retried", metadata: ["reservation": "\(entry.reservationId)", "target": "\(entry.target)",
                                                           "kind": "\(entry.kind.rawValue)", "attempt": "\(entry.attempts)",
                                                           "in": "\(String(format: "%.1f", delay))s", "error": "\(error.code)"])
        case .refused(let error):
            logger.warning("send refused; reservation put on the attention list: \(error.message)",
                           metadata: ["reservation": "\(entry.reservationId)", "target": "\(entry.target)", "kind": "\(entry.kind.rawValue)", "error": "\(error.code)"])
        default:
            break
        }
    }

    /// One attempt of one hall send: the requests ``HallSendSteps`` decides, performed in order.
    func attempt(_ entry: OutboxEntry, with hall: HallClient) throws(TransportError) -> SendSettlement<TransportError>.Result {
        let kind: HallSendSteps.Kind
        switch entry.kind {
        case .create: kind = .create
        case .update: kind = .update
        case .action: kind = .action
        case .push: throw TransportError(code: .badPush, message: "a status push queued for a hall; this is a bug", isRetryable: false)
        }
        let rules = HallSendSteps.Rules(keyRetention: configuration.sync.idempotencyKeyRetention, safetyMargin: configuration.sync.idempotencyKeySafetyMargin)
        // `entry` was read before this attempt was marked: a first-attempt time means an earlier
        // attempt may have been committed by the hall.
        var step = HallSendSteps.first(kind, itemNo: entry.itemNo, firstAttemptAt: entry.firstAttemptAt, now: clock.now, rules: rules)
        var seen: [HallItemSighting] = []
        if step == .lookUp {
            let found = try hall.findItems(externalId: entry.reservationId)
            // For a create, the one hallsync made, told from items made by hand with the same id.
            let ours = kind == .create ? CreatedItemMatch.split(found, sent: entry.body).ours : nil
            seen = found.map { Self.sighting($0, target: hall.target) }
            step = HallSendSteps.afterLookUp(kind, itemNo: entry.itemNo, ours: ours?.itemNo, listed: Set(found.map(\.itemNo)))
        }
        switch step {
        case .lookUp, .unusable:
            let reason: String = if case .unusable(let why) = step { why } else { "a look-up asked for twice" }
            throw TransportError(code: kind == .action ? .badAction : .noItem,
                                 message: "\(reason); this is a bug in hallsync: report it, then retry the reservation from the attention list (hallsync attention retry)",
                                 isRetryable: false)
        case .adopt(let itemNo):
            logger.notice("adopted the item found by externalId",
                          metadata: ["reservation": "\(entry.reservationId)", "target": "\(entry.target)", "itemNo": "\(itemNo)", "found": "\(seen.count)"])
            return .itemPresent(itemNo: itemNo, found: seen)
        case .create:
            return .itemPresent(itemNo: try hall.createItem(body: entry.body, idempotencyKey: entry.idempotencyKey), found: seen)
        case .notOurs(let itemNo):
            return .notOurs(itemNo: itemNo, found: seen)
        case .change(let itemNo) where kind == .update:
            do {
                try hall.updateItem(itemNo: itemNo, body: entry.body)
                return .updated
            } catch {
                // 409 ITEM_CLOSED names the status: the copy is closed, which is news about the item,
                // learnt like the same answer to an action.
                guard error.code == .itemClosed else { throw error }
                return .alreadyClosed(try Self.closedStatus(error.itemStatus, itemNo: itemNo, hall: hall.target))
            }
        case .change(let itemNo):
            // What the action is: its typed columns (a send queued before they existed: its body).
            guard let (action, origin) = entry.action.map({ ($0, entry.origin) })
                    ?? (try? JSONDecoder().decode(HallClient.ActionBody.self, from: entry.body)).map({ ($0.action, Optional($0.origin)) }) else {
                throw TransportError(code: .badAction, message: "an action that cannot be read; this is a bug", isRetryable: false)
            }
            switch try hall.act(itemNo: itemNo, body: entry.body, idempotencyKey: entry.idempotencyKey) {
            case .applied:
                return .acted(action.resultingStatus, origin: origin)
            case .alreadyClosed(let status):
                return .alreadyClosed(try Self.closedStatus(status, itemNo: itemNo, hall: hall.target))
            }
        }
    }
}

/// A hall's item, as the look-up lists it, is matched against what the create sent.
/// The transport's errors, as send settlement knows failures.
extension TransportError: SettlementFailure {
    public var isStaleRevision: Bool { code == .staleRevision }
}

extension HallClient.Item: FoundItem {}

extension Delivery {
    static func sighting(_ item: HallClient.Item, target: HallTarget) -> HallItemSighting {
        HallItemSighting(target: target, itemNo: item.itemNo, reservationId: item.externalId, status: item.status,
                         origin: nil, operator: nil, at: nil, source: .lookup)
    }

    /// The status a 409 `ITEM_CLOSED` names. An answer that calls the item closed but names no
    /// closed status (none, `PENDING`, one the contract does not define) contradicts itself: the
    /// send is kept (the hall's fault), never settled on it — an action settled on a "closed" item
    /// that is open would leave an outcome unmirrored.
    static func closedStatus(_ raw: String?, itemNo: String, hall: HallTarget) throws(TransportError) -> HallItemStatus {
        guard let raw, let status = HallItemStatus(rawValue: raw), status.isClosed else {
            throw TransportError(code: .itemClosedUnreadable,
                                 message: "the \(hall) hall answered 409 ITEM_CLOSED for item \(itemNo) with the status \(raw.map { WireIdentifier.printable(String($0.prefix(40))) } ?? "(none)"), which is not a closed status; the send is kept and tried again — report it to the hall's operators",
                                 isRetryable: true, status: 409)
        }
        return status
    }
}

/// What the sending threads of one delivery run report, shared among them.
final class Tally: Sendable {
    let report = Mutex(Delivery.Report())
    let storeFailure = Mutex<StoreError?>(nil)
}
