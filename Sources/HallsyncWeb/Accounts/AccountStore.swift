import Foundation
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
        let now = Date().timeIntervalSince1970
        let record = AccountRecord(name: account.name, passwordHash: Bcrypt.hash(password, cost: cost), role: account.role.rawValue,
                                   departments: account.departments, region: account.region, createdAt: now, passwordChangedAt: now)
        guard try web.insertAccount(record) else {
            throw Problem("an account named \(account.name) exists already; use `hallsync user passwd` or choose another name")
        }
        return account
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

    /// A new password; every session of the account ends (the store deletes them by account, and
    /// the session check refuses any that logged in before the change).
    public func setPassword(of name: String, to password: String) throws {
        if let problem = Account.passwordProblem(password) { throw Problem(problem) }
        guard try web.setPasswordHash(Bcrypt.hash(password, cost: cost), of: name, at: Date().timeIntervalSince1970) else {
            throw Problem("there is no account named \(WireIdentifier.printable(name)); `hallsync user list` shows them")
        }
    }

    /// Disabling ends every session of the account; enabling brings none back.
    public func setDisabled(_ name: String, _ disabled: Bool) throws {
        guard try web.setDisabled(name, disabled, at: Date().timeIntervalSince1970) else {
            throw Problem("there is no account named \(WireIdentifier.printable(name)); `hallsync user list` shows them")
        }
    }

    public func list() throws -> [Account] {
        try web.accounts().map(Account.init)
    }

    public func find(_ name: String) throws -> Account? {
        try web.account(named: name).map(Account.init)
    }

    /// The account when the password is right and the account enabled, else nil. As slow for an
    /// unknown name as for a known one, so that a login does not tell which names exist.
    public func verify(name: String, password: String) async throws -> Account? {
        // The account's row and the slow hash, both off the event loop.
        let web = self.web
        let record = try await offTheEventLoop { try web.account(named: name) }
        let hash = record?.passwordHash ?? Self.unknownAccountHash
        let matches = try await offTheEventLoop { Bcrypt.verify(password, hash: hash) }
        guard matches, let record, !record.disabled else { return nil }
        return Account(record)
    }

    /// A hash of nothing anyone knows, verified against when the name is unknown.
    static let unknownAccountHash = Bcrypt.hash(UUID().uuidString, cost: 12)
}
