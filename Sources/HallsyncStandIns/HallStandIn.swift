import Crypto
import Foundation
import HallsyncDomain
import Synchronization

/// A hall inbox (intake or licensing) that behaves as the contract says (§3, §4): bearer
/// tokens that expire and are renewed in a file; validation with 422; idempotency keys
/// remembered for a limited time and *no* deduplication by `externalId`; creates and actions
/// whose answer is lost after the commit; 429/5xx, resets and half answers; staff who close
/// items on their own screens; a change feed with gaps in `seq` that can expire (410).
public final class HallStandIn: @unchecked Sendable {
    public let target: HallTarget
    public let server: LoopbackServer
    /// The file the daemon reads its token from; renewed when the token expires.
    public let tokenFile: String
    private let state: Mutex<State>

    public struct Item: Codable, Hashable, Sendable {
        public var itemNo: String
        public var externalId: String
        public var revision: Int
        public var status: String
        public var itemName: String
        public var registerTime: String
        public var deadline: String
        public var applicantType: String
        public var applicantName: String
        public var idType: String
        public var idNumber: String
        public var orgName: String?
        public var orgCode: String?
        public var phone: String?
        public var regionCode: String
        public var deptCode: String
        public var itemCode: String
        public var source: String
        public var linkedItemNo: String?
        public var remark: String?
    }

    /// One entry of the change feed (contract §3.7).
    public struct Change: Codable, Hashable, Sendable {
        public var seq: Int64
        public var itemNo: String
        public var externalId: String
        public var status: String
        public var origin: String
        public var `operator`: String
        public var at: String
        public var remark: String
    }

    /// Ways a hall can break the contract or be unkind beyond it, for tests: each a rate per
    /// occasion (0…1), drawn from the hall's own seeded generator so that a run can be repeated.
    public struct Lies: Sendable, Hashable {
        /// Every create is refused with a 422 whose message echoes the applicant's name, ID number
        /// and phone, spelt the way people type them (spaced, `+86`, full-width).
        public var refuseEchoingValues = false
        /// A create is answered 201 with the number of another external id's item; nothing is made.
        public var createAnsweredWithOthersItem = 0.0
        /// A change is reported in the feed under another item's external id (the item number kept).
        public var feedNamesOtherExternalId = 0.0
        /// When a create makes an item, a clerk also registers the reservation by hand at the
        /// counter: a second item with the same external id (source `COUNTER`) that staff may close.
        public var counterDuplicate = 0.0
        /// Per feed read: the hall is restored from a backup — its newest changes vanish from the
        /// feed and its numbering goes back, so new changes are numbered below a reader's position.
        public var rewind = 0.0
        /// After a rewind, a read above the numbering answers `lastSeq` = the hall's newest (below
        /// `after`) instead of `after` (the contract's answer, which hides the rewind).
        public var rewindLoudly = false
        /// A 409 `ITEM_CLOSED` names `PENDING` as the item's status.
        public var closedAnswerSaysPending = 0.0
        /// A change is reported with a status the contract does not define (`DONE`).
        public var unknownStatus = 0.0

        public init(refuseEchoingValues: Bool = false, createAnsweredWithOthersItem: Double = 0, feedNamesOtherExternalId: Double = 0,
                    counterDuplicate: Double = 0, rewind: Double = 0, rewindLoudly: Bool = false, closedAnswerSaysPending: Double = 0,
                    unknownStatus: Double = 0) {
            self.refuseEchoingValues = refuseEchoingValues
            self.createAnsweredWithOthersItem = createAnsweredWithOthersItem
            self.feedNamesOtherExternalId = feedNamesOtherExternalId
            self.counterDuplicate = counterDuplicate
            self.rewind = rewind
            self.rewindLoudly = rewindLoudly
            self.closedAnswerSaysPending = closedAnswerSaysPending
            self.unknownStatus = unknownStatus
        }

        /// Every lie of this kind at a moderate rate (the lying-peer mode).
        public static func some(loudRewinds: Bool) -> Lies {
            Lies(createAnsweredWithOthersItem: 0.03, feedNamesOtherExternalId: 0.03, counterDuplicate: 0.03, rewind: 0.01,
                 rewindLoudly: loudRewinds, closedAnswerSaysPending: 0.1, unknownStatus: 0.02)
        }
    }

    /// What a hall lied about, for the model check after a run.
    public struct LieLog: Sendable, Hashable {
        public var createsAnsweredWithOthersItem = 0
        /// Changes the feed reported under another external id: (item, the id it really carries, the id said).
        public var mislabelled: [(itemNo: String, externalId: String, said: String)] = []
        /// Items registered by hand at the counter.
        public var counterItems: [String] = []
        public var rewinds = 0
        public var closedAnswersSayingPending = 0
        /// Changes reported with an unknown status: (item, external id).
        public var unknownStatuses: [(itemNo: String, externalId: String)] = []

        public static func == (a: LieLog, b: LieLog) -> Bool {
            a.createsAnsweredWithOthersItem == b.createsAnsweredWithOthersItem && a.counterItems == b.counterItems && a.rewinds == b.rewinds
                && a.mislabelled.map(\.itemNo) == b.mislabelled.map(\.itemNo)
        }
        public func hash(into h: inout Hasher) { h.combine(counterItems); h.combine(rewinds) }
    }

    struct State: Sendable {
        var lies = Lies()
        var lieLog = LieLog()
        var rng = SplitMix64(seed: 7)
        /// What the change feed serves: the history, less what a rewind lost.
        var feed: [Change] = []
        var items: [String: Item] = [:]
        var order: [String] = []
        /// Item numbers by external id, for lookups (a hall indexes them too).
        var byExternalId: [String: [String]] = [:]
        var keys = ExpiringKeys<(bodyDigest: String, itemNo: String)>()
        var actionKeys = ExpiringKeys<(bodyDigest: String, answer: LoopbackServer.Response)>()
        /// Every change ever made, for verification; `retainedFrom` is the feed's window.
        var history: [Change] = []
        var retainedFrom = 0
        var droppedThrough: Int64 = 0
        var seq: Int64 = 1000
        var feedReads = 0
        var feedOutage = false
        var createOutage = false
        var writeCount = 0
        var sequence = 0
        var token: String
        var faults: Faults
        var keyRetention: Double
        /// When the first item of each external id was created (Unix seconds): latency figures.
        var createdAt: [String: Double] = [:]
        var requestCount = 0
        var lostAnswers = 0
    }

    /// - Parameter keyRetention: how long an idempotency key is remembered (24 h; shorter in tests).
    /// - Parameter host: the IPv4 address to listen on (loopback; another for daemons in network namespaces).
    public init(target: HallTarget, tokenFile: String, faults: Faults = .none, keyRetention: Double = 86_400, port: Int = 0,
                host: String = "127.0.0.1") throws {
        self.target = target
        self.tokenFile = tokenFile
        let token = Self.newToken()
        try Self.writeSecret(token, to: tokenFile)
        state = Mutex(State(token: token, faults: faults, keyRetention: keyRetention))
        let box = HandlerBox()
        server = try LoopbackServer(port: port, host: host) { request in box.handle?(request) ?? .reset }
        box.handle = { [unowned self] in self.handle($0) }
    }

    public var baseURL: String { server.baseURL + "/" + target.rawValue }

    public func stop() { server.stop() }

    public var faults: Faults {
        get { state.withLock { $0.faults } }
        set { state.withLock { $0.faults = newValue } }
    }

    public var lies: Lies {
        get { state.withLock { $0.lies } }
        set { state.withLock { $0.lies = newValue } }
    }

    /// What the hall lied about so far.
    public var lieLog: LieLog { state.withLock { $0.lieLog } }

    /// Seeds the generator the lies are drawn from.
    public func seedLies(_ seed: UInt64) { state.withLock { $0.rng = SplitMix64(seed: seed) } }

    static func draw(_ rate: Double, _ s: inout State) -> Bool {
        rate > 0 && Double(s.rng.next() % 1_000_000) / 1_000_000 < rate
    }

    /// A clerk registers the reservation by hand at the counter: an item with the same external id
    /// and content, source `COUNTER`, that hallsync did not make. Returns its number.
    @discardableResult
    public func registerAtCounter(like itemNo: String) -> String? {
        state.withLock { s in Self.counterItem(like: itemNo, &s) }
    }

    static func counterItem(like itemNo: String, _ s: inout State) -> String? {
        guard var item = s.items[itemNo] else { return nil }
        s.sequence += 1
        item.itemNo = String(itemNo.prefix(2)) + "C" + String(format: "%07d", s.sequence)
        item.source = "COUNTER"
        item.status = "PENDING"
        item.linkedItemNo = nil
        s.items[item.itemNo] = item
        s.order.append(item.itemNo)
        s.byExternalId[item.externalId, default: []].append(item.itemNo)
        s.lieLog.counterItems.append(item.itemNo)
        return item.itemNo
    }

    /// The hall is restored from a backup: the newest `count` changes vanish from its feed and its
    /// numbering goes back to the last one kept; new changes are numbered from there.
    public func rewindFeed(dropping count: Int) {
        state.withLock { s in Self.rewind(dropping: count, &s) }
    }

    static func rewind(dropping count: Int, _ s: inout State) {
        let keep = max(s.retainedFrom, s.feed.count - count)
        s.feed.removeSubrange(keep...)
        s.seq = s.feed.last?.seq ?? s.droppedThrough
        s.lieLog.rewinds += 1
    }

    /// Puts a change in the feed as the hall would report it, whatever the items say (a lie).
    public func reportInFeed(itemNo: String, externalId: String, status: String, origin: String = "STAFF", operator name: String = "李四") {
        state.withLock { s in
            s.seq += 1
            s.feed.append(Change(seq: s.seq, itemNo: itemNo, externalId: externalId, status: status, origin: origin, operator: name,
                                 at: BeijingTime.now().description, remark: ""))
        }
    }

    public var requestCount: Int { state.withLock { $0.requestCount } }

    /// While set, the change feed answers 503 and everything else works: a reader learns of
    /// closed items only from the answers to its own requests.
    public var feedOutage: Bool {
        get { state.withLock { $0.feedOutage } }
        set { state.withLock { $0.feedOutage = newValue } }
    }
    /// While set, creates answer 503 (nothing is made) and everything else works.
    public var createOutage: Bool {
        get { state.withLock { $0.createOutage } }
        set { state.withLock { $0.createOutage = newValue } }
    }

    /// The hall loses an item (restored from a backup taken before it was made).
    public func forget(itemNo: String) {
        state.withLock { s in
            guard let item = s.items.removeValue(forKey: itemNo) else { return }
            s.order.removeAll { $0 == itemNo }
            s.byExternalId[item.externalId]?.removeAll { $0 == itemNo }
        }
    }

    /// Requests that could change something (creates, updates, actions); polls are not counted.
    public var writeRequestCount: Int { state.withLock { $0.writeCount } }
    public var feedReadCount: Int { state.withLock { $0.feedReads } }
    /// Every status change, retained in the feed or not, in order.
    public var history: [Change] { state.withLock { $0.history } }

    private let observer = Mutex<Observer<(externalId: String, at: Double)>?>(nil)

    /// Called for every item created (a benchmark counts completions and latencies by it).
    public func observeCreations(_ handler: @escaping @Sendable (_ externalId: String, _ at: Double) -> Void) {
        observer.withLock { $0 = Observer { handler($0.externalId, $0.at) } }
    }

    /// When the first item carrying `externalId` was created here (Unix seconds), nil if none.
    public func createdAt(externalId: String) -> Double? { state.withLock { $0.createdAt[externalId] } }

    /// How many distinct external ids have an item here.
    public var externalIdCount: Int { state.withLock { $0.createdAt.count } }
    /// Creates answered with a lost answer after the commit.
    public var lostAnswerCount: Int { state.withLock { $0.lostAnswers } }

    public func allItems() -> [Item] {
        state.withLock { s in s.order.compactMap { s.items[$0] } }
    }

    public func items(externalId: String) -> [Item] {
        state.withLock { s in (s.byExternalId[externalId] ?? []).compactMap { s.items[$0] } }
    }

    /// Renews the token: the old one answers `TOKEN_EXPIRED`, the file holds the new one.
    public func expireToken() {
        let token = Self.newToken()
        try? Self.writeSecret(token, to: tokenFile)
        state.withLock { $0.token = token }
    }

    /// How each hall numbers its items (`ZH…` intake, `XK…` licensing, contract §3.3).
    static func itemPrefix(_ target: HallTarget) -> String {
        switch target {
        case .intake: return "ZH"
        case .licensing: return "XK"
        }
    }

    static func newToken() -> String { "tok-" + UUID().uuidString.lowercased() }

    /// Secrets are files only their owner can read, as operations would keep them.
    static func writeSecret(_ value: String, to path: String) throws {
        try Data((value + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    /// A clerk closes an item on the hall's own screen (origin `STAFF`). Returns false when the
    /// item does not exist or is already closed.
    @discardableResult
    public func staffAct(itemNo: String, action: HallAction, operator name: String = "李四") -> Bool {
        state.withLock { s in
            guard var item = s.items[itemNo], item.status == "PENDING" else { return false }
            item.status = action.resultingStatus.rawValue
            s.items[itemNo] = item
            Self.record(&s, item: item, origin: "STAFF", operator: name, remark: "")
            return true
        }
    }

    /// Drops every change retained so far, as seven days without reading would: a reader
    /// behind the newest dropped `seq` gets 410 `FEED_EXPIRED`.
    public func expireFeed() {
        state.withLock { s in
            s.droppedThrough = s.feed.last?.seq ?? s.droppedThrough
            s.retainedFrom = s.feed.count
        }
    }

    static func record(_ s: inout State, item: Item, origin: String, operator name: String, remark: String) {
        // `seq` strictly increases and may skip numbers (contract §3.7).
        s.seq += Int64.random(in: 1...3)
        let change = Change(seq: s.seq, itemNo: item.itemNo, externalId: item.externalId, status: item.status,
                            origin: origin, operator: name, at: BeijingTime.now().description, remark: remark)
        s.history.append(change)
        var reported = change
        let items = s.items
        let candidates = s.lies.feedNamesOtherExternalId > 0
            ? s.order.compactMap { items[$0] }.filter { $0.externalId != item.externalId && $0.source != "COUNTER" } : []
        if !candidates.isEmpty, draw(s.lies.feedNamesOtherExternalId, &s) {
            // The other id is one of an item made earlier; which one depends on the generator only.
            let said = candidates[Int(s.rng.next() % UInt64(candidates.count))].externalId
            reported.externalId = said
            s.lieLog.mislabelled.append((item.itemNo, item.externalId, said))
        } else if draw(s.lies.unknownStatus, &s) {
            reported.status = "DONE"
            s.lieLog.unknownStatuses.append((item.itemNo, item.externalId))
        }
        s.feed.append(reported)
    }

    // MARK: Handling

    func handle(_ request: LoopbackServer.Request) -> LoopbackServer.Reply {
        let faults = state.withLock { s -> Faults in s.requestCount += 1; return s.faults }
        faults.sleepLatency(writing: request.method != "GET")
        if Double.random(in: 0..<1) < faults.tokenExpiry { expireToken() }
        let token = state.withLock { $0.token }
        guard let auth = request.header("authorization"), auth.hasPrefix("Bearer ") else {
            return .respond(error(401, "UNAUTHORIZED", "missing bearer token"))
        }
        if auth.dropFirst("Bearer ".count) != token {
            return .respond(auth.hasPrefix("Bearer tok-") ? error(401, "TOKEN_EXPIRED", "token expired") : error(401, "UNAUTHORIZED", "unknown token"))
        }
        switch faults.drawBefore(portal: false) {
        case .tooMany: return .respond(error(429, "TOO_MANY_REQUESTS", "slow down", headers: [("Retry-After", "1")]))
        case .serverError: return .respond(error([500, 502, 503, 504].randomElement()!, "UNAVAILABLE", "try again"))
        case .reset: return .reset
        case .truncate:
            // Half an answer to a read; for a write, a truncation is a lost answer (below).
            if request.method == "GET", case .respond(let r) = route(request, faults: .none) { return .truncate(r) }
            return .reset
        case .busy, .none: break
        }
        return route(request, faults: faults)
    }

    func route(_ request: LoopbackServer.Request, faults: Faults) -> LoopbackServer.Reply {
        let base = "/" + target.rawValue
        let path = request.path
        if request.method != "GET" { state.withLock { $0.writeCount += 1 } }
        if request.method == "GET", path == base + "/inbox/changes" { return .respond(changes(request.query)) }
        if request.method == "POST", path.hasPrefix(base + "/inbox/items/"), path.hasSuffix("/actions") {
            let itemNo = String(path.dropFirst((base + "/inbox/items/").count).dropLast("/actions".count)).removingPercentEncoding ?? ""
            return act(itemNo, request, faults: faults)
        }
        if request.method == "POST", path == base + "/inbox/items" {
            if state.withLock({ $0.createOutage }) { return .respond(error(503, "UNAVAILABLE", "creates are paused; try again later")) }
            return create(request, faults: faults)
        }
        if request.method == "GET", path == base + "/inbox/items" {
            let id = request.query["externalId"] ?? ""
            return .respond(.json(200, ["items": items(externalId: id)]))
        }
        if request.method == "PATCH", path.hasPrefix(base + "/inbox/items/") {
            return .respond(update(String(path.dropFirst((base + "/inbox/items/").count)).removingPercentEncoding ?? "", request))
        }
        return .respond(error(404, "NOT_FOUND", "no such endpoint \(request.method) \(path)"))
    }

    func create(_ request: LoopbackServer.Request, faults: Faults) -> LoopbackServer.Reply {
        guard let key = request.header("idempotency-key"), !key.isEmpty, key.count <= 64 else {
            return .respond(error(422, "INVALID_FIELD", "Idempotency-Key is required (at most 64 characters)"))
        }
        if state.withLock({ $0.lies.refuseEchoingValues }), case .success(let item) = HallValidation.validate(request.body) {
            let id = Array(item.idNumber), phone = Array(item.phone ?? "")
            let spacedId = id.count == 18 ? "\(String(id[0..<6])) \(String(id[6..<14])) \(String(id[14...]))" : item.idNumber
            let fullWidthPhone = String(String.UnicodeScalarView((item.phone ?? "").unicodeScalars.map { (0x30...0x39).contains($0.value) ? Unicode.Scalar($0.value + 0xFEE0)! : $0 }))
            let plusPhone = phone.count == 11 ? "+86 \(String(phone[0..<3]))-\(String(phone[3..<7]))-\(String(phone[7...]))" : (item.phone ?? "")
            return .respond(error(422, "INVALID_FIELD", "申请人\(item.applicantName)的证件号码 \(spacedId) 与联系电话 \(plusPhone)（\(fullWidthPhone)）不符 / applicant \(item.applicantName): idNumber \(spacedId) does not match phone \(plusPhone)"))
        }
        let digest = SHA256.hash(data: request.body).map { String(format: "%02x", $0) }.joined()
        let now = Date().timeIntervalSince1970
        enum Outcome { case replay(String), mismatch, invalid(String), created(String), lie(String) }
        let outcome: Outcome = state.withLock { s in
            s.keys.prune(before: now - s.keyRetention)
            if let known = s.keys[key]?.value { return known.bodyDigest == digest ? .replay(known.itemNo) : .mismatch }
            let item: Item
            switch HallValidation.validate(request.body) {
            case .failure(let failure): return .invalid(failure.message)
            case .success(let valid): item = valid
            }
            if Self.draw(s.lies.createAnsweredWithOthersItem, &s) {
                let others = s.order.filter { s.items[$0].map { $0.externalId != item.externalId } ?? false }
                if !others.isEmpty {
                    s.lieLog.createsAnsweredWithOthersItem += 1
                    return .lie(others[Int(s.rng.next() % UInt64(others.count))])
                }
            }
            s.sequence += 1
            let day = BeijingTime.now().date.description.replacingOccurrences(of: "-", with: "")
            var stored = item
            stored.itemNo = Self.itemPrefix(target) + day + String(format: "%05d", s.sequence)
            stored.status = "PENDING"
            s.items[stored.itemNo] = stored
            s.order.append(stored.itemNo)
            s.byExternalId[stored.externalId, default: []].append(stored.itemNo)
            s.keys.insert((digest, stored.itemNo), for: key, at: now)
            s.createdAt[stored.externalId] = s.createdAt[stored.externalId] ?? now
            if Self.draw(s.lies.counterDuplicate, &s) { _ = Self.counterItem(like: stored.itemNo, &s) }
            return .created(stored.itemNo)
        }
        switch outcome {
        case .lie(let itemNo): return .respond(.json(201, ["itemNo": itemNo]))
        case .replay(let itemNo): return .respond(.json(200, ["itemNo": itemNo]))
        case .mismatch: return .respond(error(422, "IDEMPOTENCY_MISMATCH", "this Idempotency-Key was used with another body"))
        case .invalid(let field): return .respond(error(422, "INVALID_FIELD", field))
        case .created(let itemNo):
            if let observer = observer.withLock({ $0 }), let externalId = state.withLock({ $0.items[itemNo]?.externalId }) {
                observer.handle((externalId, now))
            }
            if Double.random(in: 0..<1) < faults.lostAnswerAfterCommit {
                state.withLock { $0.lostAnswers += 1 }
                switch faults.lostAnswerAlwaysHangs ? 2 : Int.random(in: 0..<3) {
                case 0: return .respond(error(503, "UNAVAILABLE", "gateway lost the answer"))
                case 1: return .reset
                default: return .hang(faults.hangSeconds)
                }
            }
            return .respond(.json(201, ["itemNo": itemNo]))
        }
    }

    func changes(_ query: [String: String]) -> LoopbackServer.Response {
        guard let after = query["after"].flatMap(Int64.init), after >= 0 else { return error(422, "INVALID_FIELD", "after must be a whole number ≥ 0") }
        guard let limit = query["limit"].flatMap(Int.init), (1...1000).contains(limit) else { return error(422, "INVALID_FIELD", "limit must be 1–1000") }
        return state.withLock { s in
            s.feedReads += 1
            if s.feedOutage { return error(503, "UNAVAILABLE", "the change feed is being rebuilt; try again later") }
            if Self.draw(s.lies.rewind, &s) { Self.rewind(dropping: 1 + Int(s.rng.next() % 8), &s) }
            if after > 0 && after < s.droppedThrough {
                return error(410, "FEED_EXPIRED", "changes up to seq \(s.droppedThrough) are no longer retained; reconcile and read from after=0")
            }
            let retained = s.feed[s.retainedFrom...]
            // `seq` increases along the history: the first change after `after`, by bisection.
            var low = retained.startIndex, high = retained.endIndex
            while low < high { let mid = (low + high) / 2; if retained[mid].seq <= after { low = mid + 1 } else { high = mid } }
            let page = Array(retained[low..<min(low + limit, retained.endIndex)])
            var lastSeq = page.last?.seq ?? (after == 0 ? (retained.last?.seq ?? 0) : after)
            if page.isEmpty, s.lies.rewindLoudly, s.lieLog.rewinds > 0, after > s.seq { lastSeq = s.seq }
            return .json(200, ChangesPage(changes: page, lastSeq: lastSeq))
        }
    }

    struct ChangesPage: Encodable { var changes: [Change]; var lastSeq: Int64 }

    func act(_ itemNo: String, _ request: LoopbackServer.Request, faults: Faults) -> LoopbackServer.Reply {
        struct Body: Decodable { var action: String; var origin: String; var `operator`: String?; var at: String?; var remark: String? }
        guard let key = request.header("idempotency-key"), !key.isEmpty, key.count <= 64 else {
            return .respond(error(422, "INVALID_FIELD", "Idempotency-Key is required (at most 64 characters)"))
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: request.body),
              let action = HallAction(rawValue: body.action) else {
            return .respond(error(422, "INVALID_FIELD", "action must be HANDLE, CONSULT or CANCEL"))
        }
        guard body.origin == "SYNC" || body.origin == "PORTAL" else {
            return .respond(error(422, "INVALID_FIELD", "origin must be SYNC or PORTAL (STAFF is for the hall's own screens)"))
        }
        let digest = SHA256.hash(data: request.body).map { String(format: "%02x", $0) }.joined()
        let now = Date().timeIntervalSince1970
        let (answer, committed): (LoopbackServer.Response, Bool) = state.withLock { s in
            s.actionKeys.prune(before: now - s.keyRetention)
            if let known = s.actionKeys[key]?.value {
                return known.bodyDigest == digest ? (known.answer, false)
                    : (error(422, "IDEMPOTENCY_MISMATCH", "this Idempotency-Key was used with another body"), false)
            }
            guard var item = s.items[itemNo] else { return (error(404, "NOT_FOUND", "no item \(itemNo)"), false) }
            let status = action.resultingStatus.rawValue
            if item.status == status { return (.json(200, ["itemNo": itemNo, "status": status]), false) }
            if item.status != "PENDING" {
                if Self.draw(s.lies.closedAnswerSaysPending, &s) {
                    s.lieLog.closedAnswersSayingPending += 1
                    return (error(409, "ITEM_CLOSED", "item is closed", extra: ["status": "PENDING"]), false)
                }
                return (error(409, "ITEM_CLOSED", "item is \(item.status)", extra: ["status": item.status]), false)
            }
            item.status = status
            s.items[itemNo] = item
            Self.record(&s, item: item, origin: body.origin, operator: body.operator ?? "", remark: body.remark ?? "")
            let answer = LoopbackServer.Response.json(200, ["itemNo": itemNo, "status": status])
            s.actionKeys.insert((digest, answer), for: key, at: now)
            return (answer, true)
        }
        if committed, Double.random(in: 0..<1) < faults.lostAnswerAfterCommit {
            state.withLock { $0.lostAnswers += 1 }
            return Bool.random() ? .reset : .respond(error(503, "UNAVAILABLE", "gateway lost the answer"))
        }
        return .respond(answer)
    }

    func update(_ itemNo: String, _ request: LoopbackServer.Request) -> LoopbackServer.Response {
        guard let patch = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
              let revision = patch["revision"] as? Int else {
            return error(422, "INVALID_FIELD", "revision is required")
        }
        return state.withLock { s in
            guard var item = s.items[itemNo] else { return error(404, "NOT_FOUND", "no item \(itemNo)") }
            if item.status != "PENDING" { return error(409, "ITEM_CLOSED", "item is \(item.status)", extra: ["status": item.status]) }
            if revision < item.revision { return error(409, "STALE_REVISION", "stored revision is \(item.revision)") }
            if revision == item.revision { return .json(200, ["itemNo": itemNo]) }
            var merged = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(item)) as? [String: Any]) ?? [:]
            for (k, v) in patch where k != "externalId" && k != "itemNo" && k != "status" { merged[k] = v }
            guard let data = try? JSONSerialization.data(withJSONObject: merged),
                  case .success(var next) = HallValidation.validate(data) else {
                return error(422, "INVALID_FIELD", "the update makes the item invalid")
            }
            next.itemNo = itemNo
            next.status = item.status
            next.externalId = item.externalId
            item = next
            s.items[itemNo] = item
            return .json(200, ["itemNo": itemNo])
        }
    }

    func error(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = [], extra: [String: String] = [:]) -> LoopbackServer.Response {
        var body = ["error": code, "message": message]
        body.merge(extra) { a, _ in a }
        return .json(status, body, headers: headers)
    }
}

/// The hall's validation of a create body (contract §3.3), written independently of the
/// daemon's normaliser so that the stand-in checks the daemon rather than agreeing with it.
enum HallValidation {
    static func validate(_ body: Data) -> Result<HallStandIn.Item, ValidationFailure> {
        guard let o = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return .failure("body is not a JSON object") }
        func text(_ k: String, required: Bool = true) -> String?? {
            guard let v = o[k], !(v is NSNull) else { return required ? .none : .some(nil) }
            guard let s = v as? String, !(required && s.isEmpty) else { return .none }
            return .some(s)
        }
        for k in ["externalId", "itemName", "registerTime", "deadline", "applicantType", "applicantName", "idType", "idNumber", "regionCode", "deptCode", "itemCode", "source"] {
            if text(k) == nil { return .failure("\(k) is required") }
        }
        guard let revision = o["revision"] as? Int, revision >= 1 else { return .failure("revision is required") }
        let s = { (k: String) -> String in (o[k] as? String) ?? "" }
        guard s("itemName").hasPrefix("（预约）"), !s("itemName").dropFirst(4).hasPrefix("（预约）") else { return .failure("itemName must start with （预约） exactly once") }
        guard let register = parseTime(s("registerTime")) else { return .failure("registerTime must be yyyy-MM-dd HH:mm:ss") }
        guard let deadline = parseTime(s("deadline")) else { return .failure("deadline must be yyyy-MM-dd HH:mm:ss") }
        guard deadline > register else { return .failure("deadline must be later than registerTime") }
        let type = s("applicantType")
        guard type == "PERSON" || type == "ORG" else { return .failure("applicantType must be PERSON or ORG") }
        if s("idType") == "ID_CARD" && !validResidentId(s("idNumber")) { return .failure("idNumber is not a valid resident ID number") }
        if type == "ORG" {
            guard !s("orgName").isEmpty else { return .failure("orgName is required for ORG") }
            guard validCreditCode(s("orgCode")) else { return .failure("orgCode is not a valid unified social credit code") }
        }
        let item = HallStandIn.Item(
            itemNo: "", externalId: s("externalId"), revision: revision, status: "PENDING", itemName: s("itemName"),
            registerTime: s("registerTime"), deadline: s("deadline"), applicantType: type, applicantName: s("applicantName"),
            idType: s("idType"), idNumber: s("idNumber"), orgName: o["orgName"] as? String, orgCode: o["orgCode"] as? String,
            phone: o["phone"] as? String, regionCode: s("regionCode"), deptCode: s("deptCode"), itemCode: s("itemCode"),
            source: s("source"), linkedItemNo: o["linkedItemNo"] as? String, remark: o["remark"] as? String)
        return .success(item)
    }

    static func parseTime(_ t: String) -> Int? {
        let chars = Array(t.utf8)
        guard chars.count == 19 else { return nil }
        for (i, c) in chars.enumerated() {
            switch i {
            case 4, 7: if c != UInt8(ascii: "-") { return nil }
            case 10: if c != UInt8(ascii: " ") { return nil }
            case 13, 16: if c != UInt8(ascii: ":") { return nil }
            default: if !(48...57).contains(c) { return nil }
            }
        }
        let n = { (a: Int, b: Int) in Int(String(decoding: chars[a..<b], as: UTF8.self))! }
        let (y, mo, d, h, mi, se) = (n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19))
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(mo), (1...days[mo - 1]).contains(d), h < 24, mi < 60, se < 60 else { return nil }
        return ((y * 12 + mo) * 31 + d) * 86_400 + h * 3600 + mi * 60 + se
    }

    static func validResidentId(_ id: String) -> Bool {
        let c = Array(id)
        guard c.count == 18, c[0..<17].allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        guard parseTime("\(String(c[6..<10]))-\(String(c[10..<12]))-\(String(c[12..<14])) 00:00:00") != nil else { return false }
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = (0..<17).reduce(0) { $0 + Int(String(c[$1]))! * w[$1] }
        return Array("10X98765432")[sum % 11] == c[17]
    }

    static func validCreditCode(_ code: String) -> Bool {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        let c = Array(code)
        guard c.count == 18 else { return false }
        let w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
        var sum = 0
        for i in 0..<17 {
            guard let v = alphabet.firstIndex(of: c[i]) else { return false }
            sum += v * w[i]
        }
        return alphabet[(31 - sum % 31) % 31] == c[17]
    }
}

struct ValidationFailure: Error, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    let message: String
    init(stringLiteral value: String) { message = value }
    init(stringInterpolation: DefaultStringInterpolation) { message = String(stringInterpolation: stringInterpolation) }
}
