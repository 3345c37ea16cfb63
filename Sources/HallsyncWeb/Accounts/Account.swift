import Foundation
import GRDB
import HallsyncDomain

/// Who may see what (the notice's 预约数据汇总, contract §1.7): a department's staff all
/// reservations of their department(s), a region administrator all of the region's.
///
///     let clerk = Account(name: "zhang", role: .staff, departments: ["11371002MB0000000B"])
///     clerk.seesInFull(department: "11371002MB0000000B")   // true: they call the applicants
///     clerk.scope().sql                                   // "r.deptCode IN (?)"
///
/// The scope is a predicate every query of a reservation carries, on the server: a page, a
/// list, an export, a single record and an attention action alike.
public struct Account: Hashable, Sendable, Codable {
    public enum Role: String, Hashable, Sendable, Codable, CaseIterable {
        case staff, admin
        public var chineseName: String { self == .staff ? "部门工作人员" : "区划管理员" }
    }

    public var name: String
    public var role: Role
    /// Staff: the departments whose reservations they see.
    public var departments: [String]
    /// Admin: the region whose reservations they see.
    public var region: String?
    public var disabled: Bool

    public init(name: String, role: Role, departments: [String] = [], region: String? = nil, disabled: Bool = false) {
        self.name = name
        self.role = role
        self.departments = departments
        self.region = region
        self.disabled = disabled
    }

    /// The reservations this account may see, as a predicate on the reservation table (alias `r`).
    public func scope(_ alias: String = "r") -> (sql: String, arguments: StatementArguments) {
        switch role {
        case .staff:
            guard !departments.isEmpty else { return ("0", []) }
            return ("\(alias).deptCode IN (\(departments.map { _ in "?" }.joined(separator: ",")))", StatementArguments(departments))
        case .admin:
            guard let region else { return ("0", []) }
            return ("\(alias).regionCode = ?", [region])
        }
    }

    /// Whether a reservation of this department is in scope (the region is checked by the query).
    public func covers(department: String?, region: String?) -> Bool {
        switch role {
        case .staff: return department.map(departments.contains) ?? false
        case .admin: return region != nil && region == self.region
        }
    }

    /// Names and phones in full: the department's own staff, who must call the applicants; everyone
    /// else sees them masked.
    public func seesInFull(department: String?) -> Bool {
        role == .staff && department.map(departments.contains) == true
    }

    /// What the account covers, for people.
    public var scopeDescription: String {
        switch role {
        case .staff: return "部门 " + departments.joined(separator: "、")
        case .admin: return "区划 " + (region ?? "—")
        }
    }

    /// An account name: 1–32 letters, digits, `.`, `_` or `-` (Chinese letters too).
    public static func isValidName(_ name: String) -> Bool {
        (1...32).contains(name.count) && name.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-"
        }
    }

    /// At least 10 characters, not only digits: a password an office can live with and a guess cannot.
    public static func passwordProblem(_ password: String) -> String? {
        if password.count < 10 { return "a password has at least 10 characters" }
        if password.allSatisfy(\.isNumber) { return "a password is not only digits" }
        return nil
    }
}
