import Foundation

/// How unkind a stand-in is (contract §4): each fault with its own rate, 0…1 per request.
public struct Faults: Sendable, Hashable {
    /// Portal only: HTTP 200 with code 5001/5002.
    public var businessBusy: Double = 0
    /// 429 with `Retry-After`.
    public var tooManyRequests: Double = 0
    /// 500/502/503/504 before anything happened.
    public var serverError: Double = 0
    /// The connection is reset without an answer.
    public var reset: Double = 0
    /// The answer stops half-way.
    public var truncate: Double = 0
    /// Hall creates: the item is committed, then the answer is lost (503, reset or silence).
    public var lostAnswerAfterCommit: Double = 0
    /// Halls: the token expires before the request is handled (the token file is renewed).
    public var tokenExpiry: Double = 0
    /// How long a silent answer keeps the client waiting, seconds.
    public var hangSeconds: Double = 3
    /// A create's lost answer is always a hang of ``hangSeconds`` (else a 503, a reset or a hang,
    /// one in three each): a test that needs a request held in flight.
    public var lostAnswerAlwaysHangs = false
    /// Extra latency per request, seconds (real halls answer in 0.05–0.2 s).
    public var latency: ClosedRange<Double> = 0...0
    /// Extra latency of a hall's writes only (creates, updates, actions), on top of ``latency``:
    /// a hall slow to write and quick to read, so that sends queue in the daemon while its reads
    /// of feeds and lookups keep pace.
    public var writeLatency: ClosedRange<Double> = 0...0

    public init() {}

    /// No faults.
    public static let none = Faults()

    /// Every fault on at a moderate rate.
    public static let unkind: Faults = {
        var f = Faults()
        f.businessBusy = 0.04
        f.tooManyRequests = 0.03
        f.serverError = 0.05
        f.reset = 0.03
        f.truncate = 0.03
        f.lostAnswerAfterCommit = 0.08
        f.tokenExpiry = 0.01
        f.hangSeconds = 2.5
        return f
    }()

    enum Before { case none, busy, tooMany, serverError, reset, truncate }

    /// The fault to play before handling a request, drawn once.
    func drawBefore(portal: Bool) -> Before {
        var r = Double.random(in: 0..<1)
        for (rate, fault) in [(portal ? businessBusy : 0, Before.busy), (tooManyRequests, .tooMany), (serverError, .serverError), (reset, .reset), (truncate, .truncate)] {
            if r < rate { return fault }
            r -= rate
        }
        return .none
    }

    func sleepLatency(writing: Bool = false) {
        let seconds = (latency.upperBound > 0 ? Double.random(in: latency) : 0)
            + (writing && writeLatency.upperBound > 0 ? Double.random(in: writeLatency) : 0)
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
    }
}
