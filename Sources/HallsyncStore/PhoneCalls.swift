import Foundation

/// What a clerk's call to the applicant of a phone-verified (pre-upgrade) reservation found.
public enum PhoneCallResult: String, CaseIterable, Codable, Hashable, Sendable {
    case confirmed = "CONFIRMED"
    case cancelledByApplicant = "CANCELLED_BY_APPLICANT"
    case unreachable = "UNREACHABLE"
}

/// One call as the record page shows it.
public struct PhoneCall: Hashable, Sendable {
    public var reservationId: String
    public var result: PhoneCallResult
    /// The clerk's free text: it may hold personal data, and is shown like it.
    public var note: String
    public var account: String
    public var at: Double

    public init(reservationId: String, result: PhoneCallResult, note: String, account: String, at: Double) {
        self.reservationId = reservationId
        self.result = result
        self.note = note
        self.account = account
        self.at = at
    }
}

extension WebStore {
    /// Records a call, and makes it the reservation's latest result (what the summary counts).
    public func recordCall(_ call: PhoneCall) throws {
        try write { db in
            try db.execute("INSERT INTO phoneCall (reservationId, result, note, account, at) VALUES (?, ?, ?, ?, ?)",
                           [call.reservationId, call.result.rawValue, call.note, call.account, call.at])
            try db.execute("""
                INSERT INTO phoneCallLatest (reservationId, result, account, at) VALUES (?, ?, ?, ?)
                ON CONFLICT(reservationId) DO UPDATE SET result = excluded.result, account = excluded.account, at = excluded.at
                """, [call.reservationId, call.result.rawValue, call.account, call.at])
        }
    }

    /// Every call of a reservation, oldest first.
    public func calls(of reservationId: String) throws -> [PhoneCall] {
        try read { db in
            try db.rows("SELECT * FROM phoneCall WHERE reservationId = ? ORDER BY id", [reservationId]).map {
                PhoneCall(reservationId: $0["reservationId"], result: ($0["result"] as String?).flatMap(PhoneCallResult.init(rawValue:)) ?? .unreachable,
                          note: $0["note"], account: $0["account"], at: $0["at"])
            }
        }
    }
}
