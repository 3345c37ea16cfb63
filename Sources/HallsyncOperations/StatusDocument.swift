import Foundation
import HallsyncDomain
import HallsyncEngine

/// The status file (`status.json`): what an administrator or a monitoring check needs to know
/// about a running hallsync, written after every cycle. No personal data: ids, counts and
/// codes only. The schema is documented in the README; `schema` changes when it does.
public struct StatusDocument: Codable, Hashable, Sendable {
    /// The peers a status names, in this order: every hall (``HallTarget``), then the portal.
    public static let peers = HallTarget.allCases.map(\.rawValue) + ["portal"]

    /// 2: times with their offset (`2026-11-27T05:22:16+08:00`).
    public var schema = 2
    public var version: String
    public var pid: Int32
    /// Beijing time with its offset, `2026-11-27T05:21:33+08:00` (as every time here but the portal's cursors).
    public var startedAt: String
    public var startedAtUnix: Double
    public var writtenAt: String
    /// Unix seconds of `writtenAt`, for staleness checks.
    public var writtenAtUnix: Double
    /// `running`, `stopping`, `stopped`, or `failed` (it stopped by itself: see `stateReason`).
    public var state: String
    /// Why the daemon stopped by itself (`failed`).
    public var stateReason: String?
    public var configPath: String
    /// 1 at start, +1 on every reload that was accepted.
    public var configGeneration: Int
    public var intervalSeconds: Double
    public var lastCycle: Cycle?
    public var cursors: Cursors
    /// `portal`, `intake`, `licensing`.
    public var endpoints: [String: Endpoint]
    public var queues: Queues
    public var reservations: Reservations
    /// Hall items by status (`PENDING`, `HANDLED`, `CONSULTED`, `CANCELLED`).
    public var items: [String: Int]
    public var attention: Attention
    public var overdue: Overdue
    public var calendar: CalendarCoverage
    public var monitoring: Thresholds
    /// Applicants' personal data erased after the retention (`retention.personalDataDays`).
    public var retention: Retention?

    public struct Retention: Codable, Hashable, Sendable {
        public var personalDataDays: Int
        public var purgedLastCycle: Int
        /// Reservations whose name, ID number and phone are erased.
        public var purgedTotal: Int
    }

    /// What an operator should act on although nothing failed: clocks that disagree, insecure
    /// settings, a position rewound. `hallsync status` says WARNING while there are any.
    public var warnings: [String]?

    /// One daemon of an active/standby pair: its role and the lease as the database holds it;
    /// nil on a single machine.
    public var leadership: LeadershipStatus?

    public struct Cycle: Codable, Hashable, Sendable {
        public var startedAt: String
        public var endedAt: String
        public var durationSeconds: Double
        /// Portal records received, new versions stored.
        public var pulled: Int
        public var stored: Int
        /// Hall feed changes read and applied.
        public var feedChanges: Int
        public var feedApplied: Int
        /// Sends accepted by the halls (creates, updates, actions) and status pushes accepted by the portal.
        public var delivered: Int
        public var pushed: Int
        public var retried: Int
        public var refused: Int
        public var caughtUp: Bool
        public var errors: [String]
    }

    public struct Cursors: Codable, Hashable, Sendable {
        /// `updateTime|reservationId` read completely.
        public var portalPosition: String?
        /// Portal time below which every record is visible.
        public var portalSafeHorizon: String?
        /// The portal's clock minus this host's, seconds (the horizon uses the earlier of the two).
        public var portalClockSkewSeconds: Int?
        /// `seq:N` or `reconcile:…` per hall.
        public var feeds: [String: String]
    }

    public struct Endpoint: Codable, Hashable, Sendable {
        public var lastSuccess: String?
        public var lastError: String?
        public var lastErrorAt: String?
        /// Cycles in a row in which the endpoint failed and nothing succeeded.
        public var consecutiveFailures: Int
        /// Unix seconds of the first failure of the current run of failures.
        public var failingSinceUnix: Double?
    }

    public struct Queues: Codable, Hashable, Sendable {
        /// Pending sends per peer.
        public var pending: [String: Int]
        public var oldestPendingAgeSeconds: Double?
        public var failedSends: Int
    }

    public struct Reservations: Codable, Hashable, Sendable {
        public var total: Int
        public var deliverable: Int
        public var phoneVerifiedOnly: Int
        public var undeliverable: Int
        /// Delivered without a usable phone number (with a remark for staff).
        public var withoutPhone: Int
    }

    public struct Attention: Codable, Hashable, Sendable {
        /// Reservations with at least one open entry.
        public var open: Int
        public var byCode: [String: Int]
    }

    public struct Overdue: Codable, Hashable, Sendable {
        public var total: Int
        public var byDepartment: [String: Int]
        public var byRegion: [String: Int]
    }

    public struct CalendarCoverage: Codable, Hashable, Sendable {
        public var coveredYears: [Int]
        /// Years within the next 60 days the calendar lacks, with what that means.
        public var warnings: [String]
        /// Versions stored last cycle whose deadline counted weekends only.
        public var deadlineFallbacksLastCycle: Int
    }

    public struct Thresholds: Codable, Hashable, Sendable {
        public var staleAfterIntervals: Double
        public var endpointWarningMinutes: Double
        public var endpointCriticalMinutes: Double
        public var attentionWarning: Int
        public var attentionCritical: Int
        public var overdueWarning: Int
        public var overdueCritical: Int
    }

    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
