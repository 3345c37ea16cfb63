import Foundation

/// A signed-in session as the web page's database keeps it: found by the hash of the cookie's
/// token, and by its account (so that a password change, a disable or a new login ends it).
public struct SessionRecord: Hashable, Sendable {
    public var tokenHash: String
    public var account: String
    public var csrf: String
    public var loginAt: Double
    public var seenAt: Double
    public var expiresAt: Double

    public init(tokenHash: String, account: String, csrf: String, loginAt: Double, seenAt: Double, expiresAt: Double) {
        self.tokenHash = tokenHash
        self.account = account
        self.csrf = csrf
        self.loginAt = loginAt
        self.seenAt = seenAt
        self.expiresAt = expiresAt
    }
}

extension WebStore {
    /// Stores a new session; with `endingOthers`, every earlier session of its account ends in the
    /// same transaction (a login ends the account's session on another PC).
    public func startSession(_ session: SessionRecord, endingOthers: Bool) throws {
        try write { db in
            if endingOthers { try db.execute("DELETE FROM session WHERE account = ?", [session.account]) }
            try db.execute("INSERT INTO session (tokenHash, account, csrf, loginAt, seenAt, expiresAt) VALUES (?, ?, ?, ?, ?, ?)",
                           [session.tokenHash, session.account, session.csrf, session.loginAt, session.seenAt, session.expiresAt])
        }
    }

    /// The session, when it exists and has not expired at `now`.
    public func session(tokenHash: String, now: Double) throws -> SessionRecord? {
        try read { db in
            try db.row("SELECT * FROM session WHERE tokenHash = ? AND expiresAt > ?", [tokenHash, now]).map {
                SessionRecord(tokenHash: $0["tokenHash"], account: $0["account"], csrf: $0["csrf"], loginAt: $0["loginAt"],
                              seenAt: $0["seenAt"], expiresAt: $0["expiresAt"])
            }
        }
    }

    /// Moves the session's idle expiry on (a request came).
    public func extendSession(tokenHash: String, seenAt: Double, expiresAt: Double) throws {
        try write { db in
            try db.execute("UPDATE session SET seenAt = ?, expiresAt = ? WHERE tokenHash = ?", [seenAt, expiresAt, tokenHash])
        }
    }

    public func endSession(tokenHash: String) throws {
        try write { db in try db.execute("DELETE FROM session WHERE tokenHash = ?", [tokenHash]) }
    }

    /// Ends every session of the account; returns how many there were.
    @discardableResult
    public func endSessions(of account: String) throws -> Int {
        try write { db in
            try db.execute("DELETE FROM session WHERE account = ?", [account])
        }
    }

    /// The account's live sessions (for `hallsync user list` and the tests).
    public func sessionCount(of account: String, now: Double) throws -> Int {
        try read { db in try db.value(Int.self, "SELECT COUNT(*) FROM session WHERE account = ? AND expiresAt > ?", [account, now]) ?? 0 }
    }

    /// Forgets what has expired (run now and then, not on every request).
    public func removeExpiredSessions(now: Double) throws {
        try write { db in try db.execute("DELETE FROM session WHERE expiresAt <= ?", [now]) }
    }
}
