import Foundation

/// An account of the web page as its database keeps it. The web page turns it into its
/// `Account` (who may see what); the password only ever as a bcrypt hash.
public struct AccountRecord: Hashable, Sendable {
    public var name: String
    public var passwordHash: String
    /// `staff` or `admin`.
    public var role: String
    public var departments: [String]
    public var region: String?
    public var disabled: Bool
    public var createdAt: Double
    public var passwordChangedAt: Double
    /// When its sessions were last ended by a password change or a disable (0: never).
    public var sessionsEndedAt: Double

    public init(name: String, passwordHash: String, role: String, departments: [String], region: String?, disabled: Bool = false,
                createdAt: Double, passwordChangedAt: Double, sessionsEndedAt: Double = 0) {
        self.name = name
        self.passwordHash = passwordHash
        self.role = role
        self.departments = departments
        self.region = region
        self.disabled = disabled
        self.createdAt = createdAt
        self.passwordChangedAt = passwordChangedAt
        self.sessionsEndedAt = sessionsEndedAt
    }

    /// A session that logged in at `loginAt` may go on: the account is enabled, and neither its
    /// password changed nor were its sessions ended since.
    public func accepts(sessionLoggedInAt loginAt: Double) -> Bool {
        !disabled && loginAt > passwordChangedAt && loginAt > sessionsEndedAt
    }
}

extension WebStore {
    /// Adds an account; false when one of that name exists already.
    public func insertAccount(_ account: AccountRecord) throws -> Bool {
        try write { db in
            // Two administrators adding the same name at once: one row, the other told it exists.
            let added = try db.execute("""
                INSERT INTO account (name, passwordHash, role, departments, region, disabled, createdAt, passwordChangedAt, sessionsEndedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING
                """, [account.name, account.passwordHash, account.role, account.departments.joined(separator: ","), account.region,
                      account.disabled, account.createdAt, account.passwordChangedAt, account.sessionsEndedAt])
            return added == 1
        }
    }

    public func account(named name: String) throws -> AccountRecord? {
        try read { db in try db.row("SELECT * FROM account WHERE name = ?", [name]).map(Self.accountRecord) }
    }

    public func accounts() throws -> [AccountRecord] {
        try read { db in try db.rows("SELECT * FROM account ORDER BY name").map(Self.accountRecord) }
    }

    /// A new password hash, and the end of every session of the account (in one transaction);
    /// false when there is no such account.
    public func setPasswordHash(_ hash: String, of name: String, at time: Double) throws -> Bool {
        try write { db in
            guard try db.execute("UPDATE account SET passwordHash = ?, passwordChangedAt = ?, sessionsEndedAt = ? WHERE name = ?",
                                 [hash, time, time, name]) == 1 else { return false }
            try db.execute("DELETE FROM session WHERE account = ?", [name])
            return true
        }
    }

    /// Disables (ending every session of the account) or enables an account; false when there is
    /// no such account. Enabling brings no session back.
    public func setDisabled(_ name: String, _ disabled: Bool, at time: Double) throws -> Bool {
        try write { db in
            let changed = disabled
                ? try db.execute("UPDATE account SET disabled = 1, sessionsEndedAt = ? WHERE name = ?", [time, name])
                : try db.execute("UPDATE account SET disabled = 0 WHERE name = ?", [name])
            guard changed == 1 else { return false }
            if disabled { try db.execute("DELETE FROM session WHERE account = ?", [name]) }
            return true
        }
    }

    static func accountRecord(_ row: SQLRow) -> AccountRecord {
        let departments: String = row["departments"]
        return AccountRecord(name: row["name"], passwordHash: row["passwordHash"], role: row["role"],
                             departments: departments.split(separator: ",").map(String.init), region: row["region"] as String?, disabled: row["disabled"],
                             createdAt: row["createdAt"], passwordChangedAt: row["passwordChangedAt"], sessionsEndedAt: row["sessionsEndedAt"])
    }
}
