import Foundation

/// A value bound to a statement or read from a row, whichever database runs it: the five
/// storage classes both SQLite and PostgreSQL (through hallsync's column types) agree on.
public enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// What a statement's parameter can be given as.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .integer(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .real(self) } }
/// Stored as the integers 0 and 1 in both databases (no BOOLEAN column anywhere).
extension Bool: SQLBindable { public var sqlValue: SQLValue { .integer(self ? 1 : 0) } }
extension Data: SQLBindable { public var sqlValue: SQLValue { .blob(self) } }
extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { map(\.sqlValue) ?? .null }
}

/// A statement's parameters, in order (`?` in the SQL; `?N` names the N-th again).
///
///     try db.execute("UPDATE cursor SET value = ? WHERE name = ?", [value, name])
public struct SQLArguments: ExpressibleByArrayLiteral, Hashable, Sendable {
    public var values: [SQLValue]

    public init(_ values: [SQLValue]) { self.values = values }

    public init(arrayLiteral elements: (any SQLBindable)?...) {
        values = elements.map { $0?.sqlValue ?? .null }
    }

    public static func + (lhs: SQLArguments, rhs: SQLArguments) -> SQLArguments { SQLArguments(lhs.values + rhs.values) }
    public static func += (lhs: inout SQLArguments, rhs: SQLArguments) { lhs.values += rhs.values }
}

/// What a column can be read as. SQLite hands over typed values; PostgreSQL (libpq's text
/// format) hands over text, read here by the type the caller asks for.
public protocol SQLReadable {
    /// nil: NULL, or a value that is not this type.
    static func read(_ value: SQLValue) -> Self?
    /// A non-NULL value in PostgreSQL's text output format.
    static func read(postgresText text: String) -> Self?
}

extension String: SQLReadable {
    public static func read(_ value: SQLValue) -> String? {
        switch value {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        case .blob(let data): return String(data: data, encoding: .utf8)
        case .null: return nil
        }
    }
    public static func read(postgresText text: String) -> String? { text }
}

extension Int64: SQLReadable {
    public static func read(_ value: SQLValue) -> Int64? {
        switch value {
        case .integer(let i): return i
        case .real(let d): return Int64(exactly: d)
        case .text(let s): return Int64(s)
        case .blob, .null: return nil
        }
    }
    public static func read(postgresText text: String) -> Int64? { Int64(text) }
}

extension Int: SQLReadable {
    public static func read(_ value: SQLValue) -> Int? { Int64.read(value).flatMap { Int(exactly: $0) } }
    public static func read(postgresText text: String) -> Int? { Int(text) }
}

extension Double: SQLReadable {
    public static func read(_ value: SQLValue) -> Double? {
        switch value {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        case .text(let s): return Double(s)
        case .blob, .null: return nil
        }
    }
    public static func read(postgresText text: String) -> Double? {
        switch text {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text)
        }
    }
}

extension Bool: SQLReadable {
    public static func read(_ value: SQLValue) -> Bool? {
        switch value {
        case .integer(let i): return i != 0
        case .real(let d): return d != 0
        case .text(let s): return read(postgresText: s)
        case .blob, .null: return nil
        }
    }
    /// A boolean expression's `t` / `f`, or an integer column's digits.
    public static func read(postgresText text: String) -> Bool? {
        switch text {
        case "t", "true": return true
        case "f", "false": return false
        default: return Int64(text).map { $0 != 0 }
        }
    }
}

extension Data: SQLReadable {
    public static func read(_ value: SQLValue) -> Data? {
        switch value {
        case .blob(let data): return data
        case .text(let s): return Data(s.utf8)
        case .integer, .real, .null: return nil
        }
    }
    /// A `bytea` in PostgreSQL's hex output format (`\x4142`), the default since 9.0.
    public static func read(postgresText text: String) -> Data? { PostgresBytea.decode(text) }
}

/// `bytea` values in PostgreSQL's hex format, both ways.
enum PostgresBytea {
    static func encode(_ data: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 2 + data.count * 2)
        out[0] = UInt8(ascii: "\\")
        out[1] = UInt8(ascii: "x")
        var i = 2
        for byte in data {
            out[i] = digits[Int(byte >> 4)]
            out[i + 1] = digits[Int(byte & 0x0F)]
            i += 2
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> Data? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        // Into a plain array, then one Data (appending to a Data byte by byte was the hot spot of
        // reading the outbox's bodies).
        var out = [UInt8](repeating: 0, count: (bytes.count - 2) / 2)
        var i = 2
        var j = 0
        while i < bytes.count {
            guard let high = nibble(bytes[i]), let low = nibble(bytes[i + 1]) else { return nil }
            out[j] = high << 4 | low
            i += 2
            j += 1
        }
        return Data(out)
    }
}
