import Crypto
import Foundation
import HallsyncDomain
import Synchronization

/// A portal that behaves as the contract says, unpleasant parts included (§2, §4):
/// signatures, clock window and nonce replay enforced; a lagging replica that shows records
/// late and out of order, so offset pages shift; HTTP 200 business errors; 429/5xx, resets
/// and half answers; status pushes that bump `version` and `updateTime`.
public final class PortalStandIn: @unchecked Sendable {
    public let appId: String
    public let appSecret: String
    public let regionCode: String
    public let server: LoopbackServer
    private let state: Mutex<State>

    struct Version: Sendable {
        var reservation: PortalReservation
        var updateTime: BeijingTime
        /// Server time (unix seconds) from which the replica shows this version.
        var visibleAt: Double
    }

    struct Record: Sendable {
        var versions: [Version]
        var latest: PortalReservation { versions.last!.reservation }
    }

    /// Ways a portal can break the contract, for tests of what hallsync does when a peer lies.
    public struct Lies: Sendable, Hashable {
        /// Seconds added to `X-Server-Time` (the portal's own checks keep the true clock).
        public var clockOffset: Double = 0
        /// Added to every page's `total`.
        public var totalOffset = 0
        /// A page past the end of the list answers from its start again, full, for ever.
        public var pagesWrapAround = false
        /// The list holds every region's records, not only the region asked for.
        public var listsOtherRegions = false

        public init(clockOffset: Double = 0, totalOffset: Int = 0, pagesWrapAround: Bool = false, listsOtherRegions: Bool = false) {
            self.clockOffset = clockOffset
            self.totalOffset = totalOffset
            self.pagesWrapAround = pagesWrapAround
            self.listsOtherRegions = listsOtherRegions
        }
    }

    /// The replica's view: every record's newest visible version, sorted as the list answers,
    /// valid until the next publish or the next moment a version becomes visible.
    struct Snapshot: Sendable {
        var generation: Int
        var validUntil: Double
        var versions: [Version]
        /// Records with a version not yet visible when the snapshot was built.
        var waiting: Set<String>
    }

    /// What the portal did, for a benchmark's bookkeeping: called outside the portal's lock.
    public enum Event: Sendable {
        /// A status push was accepted (Unix seconds).
        case accepted(reservationId: String, status: String, at: Double)
    }

    struct State: Sendable {
        var lies = Lies()
        /// +1 on every publish.
        var generation = 0
        var snapshot: Snapshot?
        /// Records published since the snapshot was built.
        var changed: Set<String> = []
        var records: [String: Record] = [:]
        /// Every region code published: with one, a page is a slice of the window.
        var regions: Set<String> = []
        var nonces = ExpiringKeys<Bool>()
        var requestIds = ExpiringKeys<Data>()
        var faults: Faults
        var lag: Double
        var requestCount = 0
        var listCount = 0
        var pushCount = 0
        /// Accepted pushes in order, and refused ones (4090) with the portal's message.
        var accepted: [(id: String, status: String)] = []
        var refused: [(id: String, status: String, message: String)] = []
        var lostAnswers = 0
        var requestIdRetention: Double
    }

    /// - Parameters:
    ///   - lag: the visibility lag, seconds; a version appears at a random moment within it.
    ///   - requestIdRetention: how long an `X-Request-Id` is remembered (24 h; shorter in tests).
    ///   - host: the IPv4 address to listen on (loopback; another for daemons in network namespaces).
    public init(appId: String = "hallsync", appSecret: String, regionCode: String = "371002", lag: Double = 60,
                faults: Faults = .none, requestIdRetention: Double = 86_400, port: Int = 0, host: String = "127.0.0.1") throws {
        self.appId = appId
        self.appSecret = appSecret
        self.regionCode = regionCode
        let state = Mutex(State(faults: faults, lag: lag, requestIdRetention: requestIdRetention))
        self.state = state
        let box = HandlerBox()
        server = try LoopbackServer(port: port, host: host) { request in box.handle?(request) ?? .reset }
        box.handle = { [unowned self] in self.handle($0) }
    }

    public var baseURL: String { server.baseURL + "/gateway" }

    public func stop() { server.stop() }

    public var faults: Faults {
        get { state.withLock { $0.faults } }
        set { state.withLock { $0.faults = newValue } }
    }

    public var lies: Lies {
        get { state.withLock { $0.lies } }
        set { state.withLock { $0.lies = newValue } }
    }

    private let observer = Mutex<Observer<Event>?>(nil)

    /// Called for every accepted push (a benchmark counts completions by it).
    public func observe(_ handler: @escaping @Sendable (Event) -> Void) { observer.withLock { $0 = Observer(handler) } }

    public var requestCount: Int { state.withLock { $0.requestCount } }
    public var listRequestCount: Int { state.withLock { $0.listCount } }
    /// Status pushes received, whatever their fate.
    public var pushRequestCount: Int { state.withLock { $0.pushCount } }
    /// Pushes answered with a lost answer after they were applied.
    public var lostAnswerCount: Int { state.withLock { $0.lostAnswers } }
    public var acceptedPushes: [(id: String, status: String)] { state.withLock { $0.accepted } }
    public var refusedPushes: [(id: String, status: String, message: String)] { state.withLock { $0.refused } }

    /// The applicant cancels online: a new version with `status` = `CANCELLED`.
    @discardableResult
    public func cancel(_ reservationId: String) -> PortalReservation? {
        guard var latest = reservation(id: reservationId), !latest.isCancelled else { return nil }
        latest.status = "CANCELLED"
        return publish(latest)
    }

    /// Adds a reservation or a new version of one: `version` + 1, `updateTime` = now (or `at`,
    /// Unix seconds in the past, for a backlog that waited while the daemon was away).
    @discardableResult
    public func publish(_ reservation: PortalReservation, at past: Double? = nil) -> PortalReservation {
        state.withLock { s in
            let now = past ?? Date().timeIntervalSince1970
            var r = reservation
            let time = BeijingTime(unixSeconds: Int(now))
            r.updateTime = time.description
            r.version = (s.records[r.reservationId]?.latest.version ?? 0) + 1
            if r.createTime == nil { r.createTime = time.description }
            let guaranteed = Double(time.unixSeconds) + s.lag
            let visibleAt = now + Double.random(in: 0...max(0, guaranteed - now))
            s.records[r.reservationId, default: Record(versions: [])].versions.append(Version(reservation: r, updateTime: time, visibleAt: visibleAt))
            s.regions.insert(r.regionCode ?? "\u{0}")   // none: never matches a query
            s.changed.insert(r.reservationId)
            s.generation += 1
            return r
        }
    }

    /// The id is issued again, for another reservation: its versions start over at 1 (a lie: ids
    /// are stable and versions only grow).
    @discardableResult
    public func reissue(_ reservation: PortalReservation) -> PortalReservation {
        state.withLock { s in s.records[reservation.reservationId] = nil }
        return publish(reservation)
    }

    /// The newest version is sent again with other content under the same version number (a lie).
    /// It is listed as changed now: the listing is by update time (§2.3), so a change that kept
    /// its time would reach no reader that had already read past it.
    @discardableResult
    public func republishSameVersion(_ reservation: PortalReservation) -> PortalReservation? {
        state.withLock { s in
            guard var record = s.records[reservation.reservationId], let last = record.versions.last else { return nil }
            let now = Date().timeIntervalSince1970
            let time = BeijingTime(unixSeconds: Int(now))
            var r = reservation
            r.version = last.reservation.version
            r.updateTime = time.description
            r.createTime = last.reservation.createTime
            record.versions[record.versions.count - 1] = Version(reservation: r, updateTime: time, visibleAt: Double(time.unixSeconds) + s.lag)
            s.records[r.reservationId] = record
            s.changed.insert(r.reservationId)
            s.generation += 1
            return r
        }
    }

    /// The newest version of every reservation, as the portal's primary database holds it.
    public func allReservations() -> [PortalReservation] {
        state.withLock { $0.records.values.map(\.latest) }.sorted { $0.reservationId < $1.reservationId }
    }

    public func reservation(id: String) -> PortalReservation? {
        state.withLock { $0.records[id]?.latest }
    }

    // MARK: Handling

    func handle(_ request: LoopbackServer.Request) -> LoopbackServer.Reply {
        let (faults, lies) = state.withLock { s -> (Faults, Lies) in s.requestCount += 1; return (s.faults, s.lies) }
        faults.sleepLatency()
        let serverTime = BeijingTime(Date().addingTimeInterval(lies.clockOffset))
        let timeHeader = [("X-Server-Time", serverTime.description)]
        if let refusal = authenticate(request) {
            return .respond(.json(401, Envelope(code: refusal.0, msg: refusal.1, data: nil as Int?), headers: timeHeader))
        }
        switch faults.drawBefore(portal: true) {
        case .busy:
            let code = Bool.random() ? "5001" : "5002"
            return .respond(.json(200, Envelope(code: code, msg: code == "5001" ? "系统繁忙" : "数据库超时", data: nil as Int?), headers: timeHeader))
        case .tooMany:
            return .respond(.json(429, Envelope(code: "429", msg: "too many requests", data: nil as Int?), headers: timeHeader + [("Retry-After", "1")]))
        case .serverError:
            return .respond(LoopbackServer.Response(status: [502, 503, 504].randomElement()!, headers: timeHeader, body: Data("<html>bad gateway</html>".utf8)))
        case .reset:
            return .reset
        case .truncate:
            if case .respond(let response) = route(request, serverTime: serverTime, headers: timeHeader, sideEffects: false) {
                return .truncate(response)
            }
            return .reset
        case .none:
            return route(request, serverTime: serverTime, headers: timeHeader, sideEffects: true)
        }
    }

    func route(_ request: LoopbackServer.Request, serverTime: BeijingTime, headers: [(String, String)], sideEffects: Bool) -> LoopbackServer.Reply {
        let path = request.path
        if request.method == "GET", path == "/gateway/api/v1/reservations" {
            return .respond(list(request.query, headers: headers))
        }
        let prefix = "/gateway/api/v1/reservations/"
        if request.method == "POST", path.hasPrefix(prefix), path.hasSuffix("/status") {
            let id = String(path.dropFirst(prefix.count).dropLast("/status".count)).removingPercentEncoding ?? ""
            guard sideEffects else { return .reset }
            let (response, applied) = push(id: id, request: request, headers: headers)
            if applied, Double.random(in: 0..<1) < state.withLock({ $0.faults.lostAnswerAfterCommit }) {
                // Applied and remembered under its X-Request-Id, but the answer never arrives.
                state.withLock { $0.lostAnswers += 1 }
                return Bool.random() ? .reset : .respond(LoopbackServer.Response(status: 504, headers: headers, body: Data("<html>gateway timeout</html>".utf8)))
            }
            return .respond(response)
        }
        return .respond(.json(404, Envelope(code: "404", msg: "no such endpoint \(request.method) \(path)", data: nil as Int?), headers: headers))
    }

    func list(_ query: [String: String], headers: [(String, String)]) -> LoopbackServer.Response {
        func bad(_ message: String) -> LoopbackServer.Response {
            .json(200, Envelope(code: "4001", msg: message, data: nil as Int?), headers: headers)
        }
        guard let start = query["startTime"].flatMap({ BeijingTime(parsing: $0) }) else { return bad("startTime 格式错误") }
        guard let end = query["endTime"].flatMap({ BeijingTime(parsing: $0) }) else { return bad("endTime 格式错误") }
        guard end.unixSeconds - start.unixSeconds <= 86_400, end >= start else { return bad("时间窗口不能超过24小时") }
        guard let pageNo = query["pageNo"].flatMap(Int.init), pageNo >= 1 else { return bad("pageNo 错误") }
        guard let pageSize = query["pageSize"].flatMap(Int.init), (1...200).contains(pageSize) else { return bad("pageSize 应为1-200") }
        let region = query["regionCode"] ?? ""
        let now = Date().timeIntervalSince1970
        let lies = state.withLock { $0.lies }
        let (total, slice): (Int, [PortalReservation]) = state.withLock { s in
            s.listCount += 1
            let sorted = Self.snapshot(&s, now: now).versions
            // The window, by binary search over the sorted view.
            func firstIndex(notBefore time: BeijingTime) -> Int {
                var low = 0, high = sorted.count
                while low < high { let mid = (low + high) / 2; if sorted[mid].updateTime < time { low = mid + 1 } else { high = mid } }
                return low
            }
            let lower = firstIndex(notBefore: start), upper = firstIndex(notBefore: end)
            if !s.regions.contains(region) && !lies.listsOtherRegions { return (0, []) }
            // One region published (the usual site): a page is a slice of the window, which is
            // not copied (a backlog of a million is paged in constant time).
            if s.regions.count == 1 || lies.listsOtherRegions {
                return Self.page(count: upper - lower, pageNo: pageNo, pageSize: pageSize, wrap: lies.pagesWrapAround) { sorted[lower + $0].reservation }
            }
            let visible = sorted[lower..<upper].compactMap { $0.reservation.regionCode == region ? $0.reservation : nil }
            return Self.page(count: visible.count, pageNo: pageNo, pageSize: pageSize, wrap: lies.pagesWrapAround) { visible[$0] }
        }
        return .json(200, Envelope(code: "0", msg: "成功", data: ListData(total: total + lies.totalOffset, pageNo: pageNo, pageSize: pageSize, list: slice)), headers: headers)
    }

    /// Page `pageNo` of `count` records, `element(i)` the i-th; with `wrap` (a lie), pages past
    /// the end start again from the first record, full.
    static func page(count: Int, pageNo: Int, pageSize: Int, wrap: Bool, element: (Int) -> PortalReservation) -> (Int, [PortalReservation]) {
        guard count > 0 else { return (0, []) }
        var from = min((pageNo - 1) * pageSize, count)
        if wrap { from = ((pageNo - 1) * pageSize) % count }
        var slice = (from..<min(from + pageSize, count)).map(element)
        if wrap { while slice.count < pageSize { slice.append(element(slice.count % count)) } }
        return (count, slice)
    }

    /// The replica's sorted view at `now`, rebuilt only when something was published or a version
    /// became visible since it was built (a backlog is read without sorting it on every page).
    static func snapshot(_ s: inout State, now: Double) -> Snapshot {
        if let cached = s.snapshot, cached.generation == s.generation, now < cached.validUntil { return cached }
        func before(_ a: Version, _ b: Version) -> Bool {
            (a.updateTime, a.reservation.reservationId) < (b.updateTime, b.reservation.reservationId)
        }
        var validUntil = Double.infinity
        var waiting: Set<String> = []
        var versions: [Version] = []
        if let cached = s.snapshot {
            // Only what changed since is looked at again: records published since, and records
            // that had a version still invisible. The rest keeps its place in the sorted view.
            let affected = s.changed.union(cached.waiting)
            var fresh: [Version] = []
            for id in affected {
                guard let record = s.records[id] else { continue }
                if let version = record.versions.last(where: { $0.visibleAt <= now }) { fresh.append(version) }
                for version in record.versions where version.visibleAt > now {
                    validUntil = min(validUntil, version.visibleAt)
                    waiting.insert(id)
                }
            }
            fresh.sort(by: before)
            let kept = affected.isEmpty ? cached.versions : cached.versions.filter { !affected.contains($0.reservation.reservationId) }
            // New versions are newer than the rest, mostly: then they go at the end; else a merge.
            if let last = kept.last, let first = fresh.first, before(first, last) {
                versions.reserveCapacity(kept.count + fresh.count)
                var i = 0, j = 0
                while i < kept.count || j < fresh.count {
                    if j == fresh.count || (i < kept.count && before(kept[i], fresh[j])) { versions.append(kept[i]); i += 1 } else { versions.append(fresh[j]); j += 1 }
                }
            } else {
                versions = kept + fresh
            }
        } else {
            versions.reserveCapacity(s.records.count)
            for (id, record) in s.records {
                if let version = record.versions.last(where: { $0.visibleAt <= now }) { versions.append(version) }
                for version in record.versions where version.visibleAt > now {
                    validUntil = min(validUntil, version.visibleAt)
                    waiting.insert(id)
                }
            }
            versions.sort(by: before)
        }
        s.changed.removeAll(keepingCapacity: true)
        let snapshot = Snapshot(generation: s.generation, validUntil: validUntil, versions: versions, waiting: waiting)
        s.snapshot = snapshot
        return snapshot
    }

    /// Applies a status push; returns the answer and whether it changed the record.
    func push(id: String, request: LoopbackServer.Request, headers: [(String, String)]) -> (LoopbackServer.Response, Bool) {
        struct Push: Decodable { var processStatus: String; var hallItemNo: String? }
        state.withLock { $0.pushCount += 1 }
        guard let requestId = request.header("x-request-id"), !requestId.isEmpty, requestId.count <= 64 else {
            return (.json(200, Envelope(code: "4001", msg: "缺少 X-Request-Id", data: nil as Int?), headers: headers), false)
        }
        guard let body = try? JSONDecoder().decode(Push.self, from: request.body) else {
            return (.json(200, Envelope(code: "4001", msg: "请求体格式错误", data: nil as Int?), headers: headers), false)
        }
        let now = Date().timeIntervalSince1970
        enum Outcome { case replay(Data), answer(Envelope<Int>), publish(PortalReservation) }
        let outcome: Outcome = state.withLock { s in
            s.requestIds.prune(before: now - s.requestIdRetention)
            if let remembered = s.requestIds[requestId] { return .replay(remembered.value) }
            guard let record = s.records[id] else { return .answer(Envelope(code: "4040", msg: "预约不存在", data: nil)) }
            let current = record.latest.processStatus
            let cancelled = record.latest.isCancelled
            let allowed: Bool
            switch (current, body.processStatus) {
            case (nil, "RECEIVED"): allowed = !cancelled
            case ("RECEIVED", "HANDLED"), ("RECEIVED", "CONSULTED"): allowed = true
            case (nil, "CANCEL_ACKNOWLEDGED"), ("RECEIVED", "CANCEL_ACKNOWLEDGED"): allowed = cancelled
            default: allowed = false
            }
            guard allowed else {
                let message = "状态不允许从 \(current ?? "null") 变为 \(body.processStatus)"
                s.refused.append((id, body.processStatus, message))
                return .answer(Envelope(code: "4090", msg: message, data: nil))
            }
            s.accepted.append((id, body.processStatus))
            var next = record.latest
            next.processStatus = body.processStatus
            return .publish(next)
        }
        switch outcome {
        case .replay(let data):
            return (LoopbackServer.Response(status: 200, headers: headers + [("Content-Type", "application/json")], body: data), false)
        case .answer(let envelope):
            return (.json(200, envelope, headers: headers), false)
        case .publish(let next):
            publish(next)
            let response = LoopbackServer.Response.json(200, Envelope(code: "0", msg: "成功", data: nil as Int?), headers: headers)
            state.withLock { $0.requestIds.insert(response.body, for: requestId, at: now) }
            observer.withLock { $0 }?.handle(.accepted(reservationId: id, status: next.processStatus ?? "", at: now))
            return (response, true)
        }
    }

    /// Checks §2.1; returns the refusal code and message, nil when the request is authentic.
    func authenticate(_ request: LoopbackServer.Request) -> (String, String)? {
        guard request.header("x-app-id") == appId else { return ("4013", "unknown app id") }
        guard let stamp = request.header("x-timestamp").flatMap(Int64.init) else { return ("4013", "malformed timestamp") }
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        guard abs(nowMillis - stamp) <= 300_000 else { return ("4011", "timestamp more than 300 s from the portal's clock") }
        guard let nonce = request.header("x-nonce"), (16...64).contains(nonce.count),
              nonce.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return ("4013", "malformed nonce") }
        let canonical = [request.method.uppercased(), request.target, String(stamp), nonce,
                         SHA256.hash(data: request.body).map { String(format: "%02x", $0) }.joined()].joined(separator: "\n")
        let expected = HMAC<SHA256>.authenticationCode(for: Data(canonical.utf8), using: SymmetricKey(data: Data(appSecret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
        guard request.header("x-signature") == expected else { return ("4013", "bad signature") }
        let now = Date().timeIntervalSince1970
        let replayed: Bool = state.withLock { s in
            s.nonces.prune(before: now - 600)
            if s.nonces[nonce] != nil { return true }
            s.nonces.insert(true, for: nonce, at: now)
            return false
        }
        return replayed ? ("4012", "nonce already used") : nil
    }
}

struct Envelope<T: Encodable>: Encodable {
    var code: String
    var msg: String
    var data: T?

    enum CodingKeys: String, CodingKey { case code, msg, data }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        try c.encode(msg, forKey: .msg)
        try c.encode(data, forKey: .data)
    }
}

struct ListData: Encodable {
    var total: Int
    var pageNo: Int
    var pageSize: Int
    var list: [PortalReservation]
}

/// A stand-in's event handler, held by reference (a closure stored in a `Mutex` and read back
/// is wrapped in a new reabstraction thunk on every read).
final class Observer<Event>: Sendable {
    let handle: @Sendable (Event) -> Void
    init(_ handle: @escaping @Sendable (Event) -> Void) { self.handle = handle }
}

/// Lets a server's handler reach its owner once the owner exists.
final class HandlerBox: @unchecked Sendable {
    var handle: (@Sendable (LoopbackServer.Request) -> LoopbackServer.Reply)?
}
