import Foundation
import HallsyncDomain
import HallsyncStore

/// Who may see what (the notice's 预约数据汇总, contract §1.7): a department's staff all
/// reservations of their department(s), a region administrator all of the region's.
///
///     let clerk = Account(name: "zhang", role: .staff, departments: ["11371002MB0000000B"])
///     clerk.seesInFull(department: "11371002MB0000000B")   // true: they call the applicants
///     clerk.reservationScope                              // .departments(["11371002MB0000000B"])
///
/// The scope is a predicate every query of a reservation carries, in the store
/// (``ReservationScope``), on the server: a page, a list, an export, a single record and an
/// attention action alike.
public struct Account: Hashable, Sendable {
    public enum Role: String, Hashable, Sendable, CaseIterable {
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

    /// The account of a stored record (an unknown role is read as staff: it sees its departments only).
    init(_ record: AccountRecord) {
        self.init(name: record.name, role: Role(rawValue: record.role) ?? .staff, departments: record.departments,
                  region: record.region, disabled: record.disabled)
    }

    /// The reservations this account may see.
    public var reservationScope: ReservationScope {
        switch role {
        case .staff: return .departments(departments)
        case .admin: return region.map(ReservationScope.region) ?? .departments([])
        }
    }

    /// Whether its reservations span several departments (the lists then name each row's).
    public var coversSeveralDepartments: Bool { role == .admin || departments.count > 1 }

    /// Names and phones in full: the department's own staff, who must call the applicants; everyone
    /// else sees them masked.
    public func seesInFull(department: String?) -> Bool {
        role == .staff && department.map(departments.contains) == true
    }

    /// What the account covers, for people: its departments by name where known.
    public func scopeDescription(departmentNames: [String: String]) -> String {
        switch role {
        case .staff: return departments.map { departmentNames[$0] ?? $0 }.joined(separator: "、")
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
        if password.count > 200 { return "a password has at most 200 characters" }
        if password.allSatisfy(\.isNumber) { return "a password is not only digits" }
        return nil
    }
}
