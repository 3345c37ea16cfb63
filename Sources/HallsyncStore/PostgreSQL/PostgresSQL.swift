import Foundation
import Synchronization

/// The store's portable SQL, as PostgreSQL reads it: SQLite's `?` parameters become `$n`
/// (numbered as SQLite numbers them: `?N` is the N-th, a bare `?` one more than the largest
/// so far), SQLite's "not through an index" hint — a unary `+` right before a column name —
/// is dropped, and so is the schema `web.` of the web page's tables (a file attached as `web` on
/// SQLite, the region's own schema on PostgreSQL). Quoted text, quoted names and `--` comments are copied unchanged.
enum PostgresSQL {
    private static let cache = Mutex<[String: String]>([:])

    /// The translation of `sql`, kept: the store's statements are a fixed set.
    static func translate(_ sql: String) -> String {
        if let known = cache.withLock({ $0[sql] }) { return known }
        let translated = translateUncached(sql)
        cache.withLock { cache in
            // Statements built with a list of `?` (IN lists) vary a little; the set stays small.
            if cache.count < 4096 { cache[sql] = translated }
        }
        return translated
    }

    static func translateUncached(_ sql: String) -> String {
        let chars = Array(sql.unicodeScalars)
        var out = String.UnicodeScalarView()
        out.reserveCapacity(chars.count + 16)
        var i = 0
        var highest = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "'", "\"":
                // Copied through the closing quote (a doubled quote stays inside).
                out.append(c)
                i += 1
                while i < chars.count {
                    out.append(chars[i])
                    if chars[i] == c {
                        if i + 1 < chars.count, chars[i + 1] == c { out.append(chars[i + 1]); i += 2; continue }
                        i += 1
                        break
                    }
                    i += 1
                }
            case "-" where i + 1 < chars.count && chars[i + 1] == "-":
                while i < chars.count, chars[i] != "\n" { out.append(chars[i]); i += 1 }
            case "?":
                i += 1
                var digits = ""
                while i < chars.count, let d = chars[i].properties.numericType, d == .decimal {
                    digits.unicodeScalars.append(chars[i])
                    i += 1
                }
                let number = Int(digits) ?? (highest + 1)
                highest = max(highest, number)
                out.append(contentsOf: "$\(number)".unicodeScalars)
            case "w" where i + 4 < chars.count && chars[i + 1] == "e" && chars[i + 2] == "b" && chars[i + 3] == "."
                && isNameStart(chars[i + 4]) && (i == 0 || !(isNameStart(chars[i - 1]) || chars[i - 1] == "." || chars[i - 1].properties.numericType != nil)):
                // The web page's tables: an attached file (`web.audit`) on SQLite, the same schema on PostgreSQL.
                i += 4
            case "+" where i + 1 < chars.count && isNameStart(chars[i + 1])
                && (i == 0 || chars[i - 1] == " " || chars[i - 1] == "(" || chars[i - 1] == "\n"):
                i += 1
            default:
                out.append(c)
                i += 1
            }
        }
        return String(out)
    }

    /// A value as a text parameter (libpq's text format; nil is NULL).
    static func parameter(_ value: SQLValue) -> String? {
        switch value {
        case .null: return nil
        case .integer(let i): return String(i)
        case .real(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
            return "\(d)"
        case .text(let s): return s
        case .blob(let data): return PostgresBytea.encode(data)
        }
    }
}
