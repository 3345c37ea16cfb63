/// The site's matter catalogue: which hall inboxes a matter goes to.
///
///     let catalogue = try MatterCatalogue(csv: """
///         itemCode,matterName,deptCode,throughIntake
///         371002-XK-0012,公司设立登记,11371002MB0000000B,true
///         """)
///     catalogue.matter(forItemCode: "371002-XK-0012")?.throughIntake   // true
///
/// Operations maintain it as a CSV exported from a spreadsheet; errors name the line.
public struct MatterCatalogue: Hashable, Sendable {
    public struct Matter: Hashable, Sendable {
        public let itemCode: String
        public let name: String
        public let deptCode: String
        public let throughIntake: Bool

        public init(itemCode: String, name: String, deptCode: String, throughIntake: Bool) {
            self.itemCode = itemCode
            self.name = name
            self.deptCode = deptCode
            self.throughIntake = throughIntake
        }
    }

    /// A line of the catalogue that cannot be read.
    public struct LoadError: Error, Hashable, Sendable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "matter catalogue line \(line): \(message)" }
    }

    public private(set) var matters: [String: Matter]

    public init(matters: [Matter]) {
        self.matters = Dictionary(matters.map { (Self.key($0.itemCode), $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The matter for a portal item code, however the site spelt it (`371002-xk- 0107`, full-width).
    public func matter(forItemCode code: String?) -> Matter? {
        guard let code else { return nil }
        return matters[Self.key(code)]
    }

    /// An item code in the form codes are compared in: half-width, no spaces, upper case.
    public static func key(_ code: String) -> String {
        TextCleaning.removing([], from: TextCleaning.halfWidth(code)).uppercased()
    }

    public static let header = ["itemCode", "matterName", "deptCode", "throughIntake"]

    /// Reads the CSV; every problem is collected and thrown together, each with its line.
    public init(csv text: String) throws(CatalogueErrors) {
        var errors: [LoadError] = []
        var matters: [Matter] = []
        var seen: [String: Int] = [:]
        let rows = CSV.rows(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        guard let header = rows.first else {
            throw CatalogueErrors(errors: [LoadError(line: 1, message: "the file is empty; expected the header \(Self.header.joined(separator: ","))")])
        }
        if header.fields.map({ TextCleaning.trimmed($0) }) != Self.header {
            errors.append(LoadError(line: header.line, message: "the header must be \(Self.header.joined(separator: ",")), found \(header.fields.joined(separator: ","))"))
        }
        for row in rows.dropFirst() {
            let fields = row.fields.map { TextCleaning.trimmed($0) }
            if fields.allSatisfy(\.isEmpty) { continue }
            guard fields.count == 4 else {
                errors.append(LoadError(line: row.line, message: "expected 4 fields, found \(fields.count)"))
                continue
            }
            var bad = false
            for (index, name) in Self.header.enumerated() where fields[index].isEmpty {
                errors.append(LoadError(line: row.line, message: "\(name) is empty"))
                bad = true
            }
            let intake: Bool
            switch fields[3].lowercased() {
            case "true", "yes", "1", "是", "y": intake = true
            case "false", "no", "0", "否", "n": intake = false
            default:
                if !fields[3].isEmpty {
                    errors.append(LoadError(line: row.line, message: "throughIntake must be true or false, found \(fields[3])"))
                }
                bad = true
                intake = false
            }
            if !fields[0].isEmpty, !CodeForm.isCode(Self.key(fields[0])) {
                errors.append(LoadError(line: row.line, message: "item code \(fields[0]) may hold only letters, digits, - and _ (at most 64)"))
                bad = true
            }
            if !fields[2].isEmpty, !CodeForm.isCode(fields[2]) {
                errors.append(LoadError(line: row.line, message: "department code \(fields[2]) may hold only letters, digits, - and _ (at most 64)"))
                bad = true
            }
            if let first = seen[Self.key(fields[0])] {
                errors.append(LoadError(line: row.line, message: "item code \(fields[0]) already appears on line \(first)"))
                bad = true
            }
            if bad { continue }
            seen[Self.key(fields[0])] = row.line
            matters.append(Matter(itemCode: fields[0], name: MatterName.strippingReservationPrefix(fields[1]), deptCode: fields[2], throughIntake: intake))
        }
        if !errors.isEmpty { throw CatalogueErrors(errors: errors) }
        self.init(matters: matters)
    }
}

/// Every problem found in a matter catalogue.
public struct CatalogueErrors: Error, Hashable, Sendable, CustomStringConvertible {
    public let errors: [MatterCatalogue.LoadError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// A small RFC 4180 reader: quoted fields, doubled quotes, CRLF or LF.
enum CSV {
    struct Row { let line: Int; let fields: [String] }

    static func rows(_ text: String) -> [Row] {
        var rows: [Row] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var rowLine = 1
        var iterator = Array(text).makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.append("\"") } else { inQuotes = false; pending = n }
                    } else { inQuotes = false }
                } else {
                    if c == "\n" || c == "\r\n" { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty: inQuotes = true
            case ",": fields.append(field); field = ""
            case "\n", "\r\n", "\r":
                fields.append(field)
                rows.append(Row(line: rowLine, fields: fields))
                fields = []; field = ""
                line += 1
                rowLine = line
            default: field.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            rows.append(Row(line: rowLine, fields: fields))
        }
        return rows
    }
}
