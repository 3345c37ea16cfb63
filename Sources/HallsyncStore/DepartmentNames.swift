import Foundation

/// Departments by name, not by their 18-character code.
///
/// The catalogue (`matters.csv`) knows each matter's department code but no department name; the
/// portal sends `deptName` with every record. The name shown is the one on the department's
/// reservation with the latest appointment date — the portal's current name for it (a renamed
/// department shows its new name as soon as a reservation under the new name arrives), found
/// with one step down the covering index `(deptCode, appointmentDate, …)` per department, not a
/// scan of its reservations. A department with no named reservation shows its code.
extension StoreTransaction {
    /// The names of these departments that the store knows from reservations in `scope`; a code
    /// without one (or out of scope: a department's name is not shown to whom its reservations are
    /// not) is left out.
    public func departmentNames(_ codes: some Collection<String>, scope: ReservationScope) throws -> [String: String] {
        var names: [String: String] = [:]
        let (sql, scopeArguments) = Self.departmentNameSQL("?", scope: scope)
        for code in Set(codes) {
            let name = Self.cleanName(try db.value(String.self, "SELECT \(sql)", [code] + scopeArguments))
            if !name.isEmpty { names[code] = name }
        }
        return names
    }

    /// The department name of the code `codeExpression` stands for, as a scalar subquery over the
    /// reservations in `scope`; its arguments come after the code's.
    static func departmentNameSQL(_ codeExpression: String, scope: ReservationScope) -> (String, SQLArguments) {
        // The region's condition is kept off the index (`+`): the department's index, in date
        // order, finds the newest reservation in one step; the region's would be walked back
        // until one of the department turned up.
        let (predicate, arguments): (String, SQLArguments)
        switch scope {
        case .departments: (predicate, arguments) = scope.predicate("x")
        case .region(let code): (predicate, arguments) = ("+x.regionCode = ?", [code])
        }
        return ("""
        (SELECT x.deptName FROM reservation x
         WHERE x.deptCode = \(codeExpression) AND \(predicate) AND COALESCE(x.deptName, '') <> ''
         ORDER BY x.appointmentDate DESC LIMIT 1)
        """, arguments)
    }

    /// A name as people read it: without control characters, trimmed, at most 60 characters.
    static func cleanName(_ raw: String?) -> String {
        let visible = String(String.UnicodeScalarView((raw ?? "").unicodeScalars.filter { !$0.properties.isNoncharacterCodePoint && $0.properties.generalCategory != .control && $0.properties.generalCategory != .format }))
        return String(visible.trimmingCharacters(in: .whitespacesAndNewlines).prefix(60))
    }
}
