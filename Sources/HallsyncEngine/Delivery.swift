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

    init(configuration: Configuration, store: Store, tokens: [HallTarget: TokenSource], logger: Logger,
         makePortalClient: () throws(TransportError) -> PortalClient) throws(TransportError) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        var workers: [SendTarget: [Worker]] = [:]
        for target in HallTarget.allCases {
            workers[SendTarget(target)] = try (0..<configuration.sync.concurrencyPerTarget).map { _ throws(TransportError) in
                .hall(try configuration.hallClient(target, token: tokens[target]!))
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
    }

    func run(normalizer: ReservationNormalizer, stop: StopSignal) throws(StoreError) -> Report {
        // Taking the due sends and marking them attempted is one transaction: the mark is durable
        // before any request leaves.
        let due = try store.write { tx in
            let now = Date().timeIntervalSince1970
            let due = try tx.dueSends(now: now, limit: configuration.sync.maxSendsPerCycle)
            try tx.markAttempted(ids: due.compactMap(\.id), now: now)
            return due
        }
        guard !due.isEmpty else { return Report() }

        // One queue of work per hall; every worker slot of that hall takes from it. One thread
        // per slot: Dispatch's concurrentPerform would cap the parallelism at the core count,
        // and these workers mostly wait on the network.
        let tally = Tally()
        let group = DispatchGroup()
        for (target, entries) in Dictionary(grouping: due, by: \.target) {
            let queue = WorkQueue(entries)
            for client in workers[target]!.prefix(min(entries.count, configuration.sync.concurrencyPerTarget)) {
                group.enter()
                let thread = Thread {
                    self.send(from: queue, with: client, normalizer: normalizer, tally: tally, stop: stop)
                    group.leave()
                }
                thread.name = "hallsync send \(target)"
                thread.start()
            }
        }
        group.wait()
        if let error = tally.storeFailure.withLock({ $0 }) { throw error }
        // Sends taken from the queue but not attempted because of a stop keep their
        // attempt mark: harmless, the same key is used next time.
        return tally.report.withLock { $0 }
    }

    /// One worker: takes sends until the queue is empty, committing each answer as it comes.
    private func send(from queue: WorkQueue<OutboxEntry>, with client: Worker, normalizer: ReservationNormalizer,
                      tally: Tally, stop: StopSignal) {
        while !stop.isSet, tally.storeFailure.withLock({ $0 == nil }), let entry = queue.next() {
            let outcome = attempt(entry, with: client)
            do throws(StoreError) {
                let ledger = Ledger(normalizer: normalizer, now: Date().timeIntervalSince1970)
                try store.write { tx in try ledger.apply(outcome, to: entry, in: tx) }
            } catch {
                tally.storeFailure.withLock { $0 = error }
                return
            }
            tally.report.withLock { r in
                r.attempted += 1
                switch outcome {
                case .closed where entry.kind == .update:
                    // The hall answered (it is up), but the change was not applied: the attention list says why.
                    r.refused += 1
                    r.succeeded[entry.target, default: 0] += 1
                    r.answered[entry.target, default: 0] += 1
                case .itemPresent, .updated, .superseded, .closed, .pushed:
                    r.delivered += 1
                    r.succeeded[entry.target, default: 0] += 1
                    r.answered[entry.target, default: 0] += 1
                case .retry(let error, _):
                    r.retried += 1
                    r.lastError[entry.target] = error.description
                    if error.needsOperator { r.needsOperator.insert(entry.target) }
                case .refused(let error):
                    r.refused += 1
                    r.lastError[entry.target] = error.description
                    // Refused for the record's sake: the peer answered, it works.
                    if !error.isRetryable && !error.needsOperator { r.answered[entry.target, default: 0] += 1 }
                }
            }
        }
    }

    /// One attempt of one send; no store access here. A peer's message may echo the record's
    /// values (a 422 naming the ID number it refused): it is masked, by what the values are,
    /// before it reaches a log line, the attention list or the status file.
    func attempt(_ entry: OutboxEntry, with worker: Worker) -> Ledger.SendOutcome {
        let outcome: Ledger.SendOutcome
        do {
            switch worker {
            case .portal(let portal):
                guard let body = try? JSONDecoder().decode(PortalClient.StatusPush.self, from: entry.body),
                      let status = PortalProcessStatus(rawValue: body.processStatus) else {
                    return .refused(TransportError(code: "BAD_PUSH", message: "a status push that cannot be read; this is a bug", isRetryable: false))
                }
                try portal.pushStatus(reservationId: entry.reservationId, body: entry.body, requestId: entry.idempotencyKey)
                return .pushed(status)
            case .hall(let hall):
                return try attempt(entry, with: hall)
            }
        } catch where error.code == "STALE_REVISION" {
            return .superseded
        } catch {
            outcome = failed(entry, Self.masked(error, sending: entry))
        }
        return outcome
    }

    /// `error` with every personal value of the send's body masked in its message.
    static func masked(_ error: TransportError, sending entry: OutboxEntry) -> TransportError {
        struct Names: Decodable { var applicantName: String?; var orgName: String?; var `operator`: String? }
        let names = (try? JSONDecoder().decode(Names.self, from: entry.body)).map { [$0.applicantName, $0.orgName, $0.operator].compactMap { $0 } } ?? []
        return error.withMessage(PersonalData.redact(error.message, names: names))
    }

    /// What a failed attempt comes to: kept for a retry (an endpoint problem, a passing fault) or
    /// refused (the record is at fault: the attention list).
    func failed(_ entry: OutboxEntry, _ error: TransportError) -> Ledger.SendOutcome {
        if error.needsOperator {
            // Not the reservation's fault: it stays in the outbox and goes out once fixed.
            let delay = configuration.retryPolicy.delay(afterAttempt: entry.attempts, retryAfter: nil, jitter: Double.random(in: 0...1))
            logger.error("the \(entry.target) cannot be used until an operator acts: \(error.message)",
                         metadata: ["target": "\(entry.target)", "error": "\(error.code)"])
            return .retry(error, delay: delay)
        }
        if error.isRetryable {
            let delay = configuration.retryPolicy.delay(afterAttempt: entry.attempts, retryAfter: error.retryAfter,
                                                        jitter: Double.random(in: 0...1))
            logger.info("send will be retried", metadata: ["reservation": "\(entry.reservationId)", "target": "\(entry.target)",
                                                           "kind": "\(entry.kind.rawValue)", "attempt": "\(entry.attempts)",
                                                           "in": "\(String(format: "%.1f", delay))s", "error": "\(error.code)"])
            return .retry(error, delay: delay)
        }
        logger.warning("send refused; reservation put on the attention list: \(error.message)",
                       metadata: ["reservation": "\(entry.reservationId)", "target": "\(entry.target)", "kind": "\(entry.kind.rawValue)", "error": "\(error.code)"])
        return .refused(error)
    }

    func attempt(_ entry: OutboxEntry, with hall: HallClient) throws(TransportError) -> Ledger.SendOutcome {
        switch entry.kind {
        case .create:
            // `entry` was read before this attempt was marked: a first-attempt time means an earlier
            // attempt may have been committed by the hall.
            if let first = entry.firstAttemptAt,
               Date().timeIntervalSince1970 - first > configuration.sync.idempotencyKeyRetention - configuration.sync.idempotencyKeySafetyMargin {
                let found = try hall.findItems(externalId: entry.reservationId)
                if let item = found.sorted(by: { $0.itemNo < $1.itemNo }).first {
                    logger.notice("adopted an item found by externalId after the key's retention",
                                  metadata: ["reservation": "\(entry.reservationId)", "target": "\(entry.target)", "itemNo": "\(item.itemNo)", "found": "\(found.count)"])
                    return .itemPresent(itemNo: item.itemNo)
                }
            }
            return .itemPresent(itemNo: try hall.createItem(body: entry.body, idempotencyKey: entry.idempotencyKey))
        case .update:
            guard let itemNo = entry.itemNo else {
                return .refused(TransportError(code: "NO_ITEM", message: "an update without an item number; this is a bug", isRetryable: false))
            }
            do {
                try hall.updateItem(itemNo: itemNo, body: entry.body)
                return .updated
            } catch {
                // 409 ITEM_CLOSED names the status: the copy is closed, which is news about the item,
                // learnt like the same answer to an action.
                guard error.code == "ITEM_CLOSED", let status = error.itemStatus.flatMap(HallItemStatus.init(rawValue:)) else { throw error }
                return .closed(status, origin: nil)
            }
        case .action:
            guard let itemNo = entry.itemNo, let body = try? JSONDecoder().decode(HallClient.ActionBody.self, from: entry.body) else {
                return .refused(TransportError(code: "BAD_ACTION", message: "an action that cannot be read; this is a bug", isRetryable: false))
            }
            switch try hall.act(itemNo: itemNo, body: entry.body, idempotencyKey: entry.idempotencyKey) {
            case .applied:
                return .closed(body.action.resultingStatus, origin: body.origin)
            case .alreadyClosed(let status):
                guard let status = HallItemStatus(rawValue: status) else {
                    return .refused(TransportError(code: "ITEM_CLOSED", message: "the item is closed with an unknown status \(status)", isRetryable: false))
                }
                return .closed(status, origin: nil)
            }
        case .push:
            return .refused(TransportError(code: "BAD_PUSH", message: "a status push queued for a hall; this is a bug", isRetryable: false))
        }
    }
}

/// What the sending threads of one delivery run report, shared among them.
final class Tally: Sendable {
    let report = Mutex(Delivery.Report())
    let storeFailure = Mutex<StoreError?>(nil)
}

/// Items shared by several workers, each taken once.
final class WorkQueue<Item: Sendable>: Sendable {
    private let items: Mutex<(list: [Item], next: Int)>
    let count: Int

    init(_ items: [Item]) {
        self.items = Mutex((items, 0))
        self.count = items.count
    }

    func next() -> Item? {
        items.withLock { state in
            guard state.next < state.list.count else { return nil }
            defer { state.next += 1 }
            return state.list[state.next]
        }
    }
}
