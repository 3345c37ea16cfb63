import Foundation
import GRDB
import HallsyncDomain
import HallsyncStore
import HummingbirdBcrypt
import NIOPosix

/// The accounts in the web page's database: managed on the server (`hallsync user …`), checked
/// at login. Passwords are kept only as bcrypt hashes (cost 12: about a quarter of a second each).
public struct AccountStore: Sendable {
    public let web: WebStore
    /// bcrypt's cost, log2 of its rounds.
    public let cost: UInt8

    public init(web: WebStore, cost: UInt8 = 12) {
        self.web = web
        self.cost = cost
    }

    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    public func add(_ account: Account, password: String) throws -> Account {
        try validate(account)
        if let problem = Account.passwordProblem(password) { throw Problem(problem) }
        let hash = Bcrypt.hash(password, cost: cost)
        let now = Date().timeIntervalSince1970
        return try web.write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM account WHERE name = ?", arguments: [account.name]) == nil else {
                throw Problem("an account named \(account.name) exists already; use `hallsync user passwd` or choose another name")
            }
            try db.execute(sql: """
                INSERT INTO account (name, passwordHash, role, departments, region, disabled, createdAt, passwordChangedAt)
                VALUES (?, ?, ?, ?, ?, 0, ?, ?)
                """, arguments: [account.name, hash, account.role.rawValue, account.departments.joined(separator: ","), account.region, now, now])
            return account
        }
    }

    func validate(_ account: Account) throws {
        guard Account.isValidName(account.name) else {
            throw Problem("an account name has 1 to 32 letters, digits, '.', '_' or '-'; found \(WireIdentifier.printable(account.name))")
        }
        switch account.role {
        case .staff:
            guard !account.departments.isEmpty, account.region == nil else { throw Problem("a staff account names its department(s) with --department CODE, and no --region") }
            for code in account.departments where !CodeForm.isCode(code) {
                throw Problem("\(WireIdentifier.printable(code)) is not a department code (letters, digits and '-', e.g. 11371002MB0000000B)")
            }
        case .admin:
            guard let region = account.region, account.departments.isEmpty else { throw Problem("a region administrator names the region with --region CODE, and no --department") }
            guard CodeForm.isRegionCode(region) else { throw Problem("\(WireIdentifier.printable(region)) is not a region code (6 digits, e.g. 371002)") }
        }
    }

    public func setPassword(of name: String, to password: String) throws {
        if let problem = Account.passwordProblem(password) { throw Problem(problem) }
        let hash = Bcrypt.hash(password, cost: cost)
        try web.write { db in
            try db.execute(sql: "UPDATE account SET passwordHash = ?, passwordChangedAt = ? WHERE name = ?",
                           arguments: [hash, Date().timeIntervalSince1970, name])
            guard db.changesCount == 1 else { throw Problem("there is no account named \(name)") }
            // Sessions of the old password end.
            try db.execute(sql: "DELETE FROM persist WHERE value LIKE ?", arguments: ["%\"account\":\"\(name)\"%"])
        }
    }

    public func setDisabled(_ name: String, _ disabled: Bool) throws {
        try web.write { db in
            try db.execute(sql: "UPDATE account SET disabled = ? WHERE name = ?", arguments: [disabled, name])
            guard db.changesCount == 1 else { throw Problem("there is no account named \(name)") }
            if disabled { try db.execute(sql: "DELETE FROM persist WHERE value LIKE ?", arguments: ["%\"account\":\"\(name)\"%"]) }
        }
    }

    public func list() throws -> [Account] {
        try web.read { db in try Row.fetchAll(db, sql: "SELECT * FROM account ORDER BY name").map(Self.account(from:)) }
    }

    public func find(_ name: String) throws -> Account? {
        try web.read { db in try Row.fetchOne(db, sql: "SELECT * FROM account WHERE name = ?", arguments: [name]).map(Self.account(from:)) }
    }

    /// The account when the password is right and the account enabled, else nil. As slow for an
    /// unknown name as for a known one, so that a login does not tell which names exist.
    public func verify(name: String, password: String) async throws -> Account? {
        let row = try web.read { db in try Row.fetchOne(db, sql: "SELECT * FROM account WHERE name = ?", arguments: [name]) }
        let hash: String = row?["passwordHash"] ?? Self.unknownAccountHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        guard matches, let row else { return nil }
        let account = Self.account(from: row)
        return account.disabled ? nil : account
    }

    /// A hash of nothing anyone knows, verified against when the name is unknown.
    static let unknownAccountHash = Bcrypt.hash(UUID().uuidString, cost: 12)

    static func account(from row: Row) -> Account {
        let departments: String = row["departments"]
        return Account(name: row["name"], role: Account.Role(rawValue: row["role"]) ?? .staff,
                       departments: departments.split(separator: ",").map(String.init), region: row["region"], disabled: row["disabled"])
    }
}
