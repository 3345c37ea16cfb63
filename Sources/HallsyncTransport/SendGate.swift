import Foundation

/// Asked before every request leaves the process. One daemon of an active/standby pair may send
/// only while it can trust its lease, and no request may outlive that trust: the answer caps the
/// request's time-out to what is left of it (``CurlHTTPClient`` asks, so no request of any peer
/// can be sent around it).
///
///     let gate = SendGate { timeout in keeper.mayTrust ? .granted(timeout: min(timeout, left)) : .refused("standby") }
public struct SendGate: Sendable {
    public enum Decision: Hashable, Sendable {
        /// Send now, with at most this total time-out (seconds).
        case granted(timeout: Double)
        /// Do not send; why, for the log (no personal data).
        case refused(String)
    }

    private let decision: @Sendable (Double) -> Decision

    /// - Parameter decide: given the request's own time-out, whether it may start now and with which.
    public init(_ decide: @escaping @Sendable (_ timeout: Double) -> Decision) {
        decision = decide
    }

    public func decide(timeout: Double) -> Decision { decision(timeout) }
}
