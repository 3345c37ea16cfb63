/// The identifiers that become keys: reservation ids and hall item numbers reach SQL (where
/// SQLite cuts text at a NUL), URL paths (where `.` and `..` are dot segments) and idempotency
/// keys. Only the contract's form is let through; anything else is refused where it enters.
///
///     WireIdentifier.isValid("YY3710022021090800017")   // true
///     WireIdentifier.isValid("ZH2021091100012")         // true
///     WireIdentifier.isValid("YY1\u{0}2")                // false: a NUL
///     WireIdentifier.isValid("..")                       // false: a dot segment
///     WireIdentifier.printable("YY1\u{0}2")              // "YY1\u{0}2" spelt out with a backslash
///
/// The form: 1–64 ASCII letters, digits, `-` and `_` (contract §2.3 `YY3710022021090800017`,
/// §3.3 `ZH2021091100012`, `XK…`).
public enum WireIdentifier {
    public static let maxLength = 64

    public static func isValid(_ text: some StringProtocol) -> Bool {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        return bytes.allSatisfy(isAllowed)
    }

    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// A rendering of any text that is safe in SQL, a log line and a web page, and never a valid
    /// identifier unless the text was one: controls, non-ASCII and `\` are spelt `\u{…}`, and a
    /// text longer than 64 characters is cut with its length noted. Injective up to that cut, so
    /// two malformed ids do not share one attention entry.
    public static func printable(_ text: String) -> String {
        if isValid(text) { return text }
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            guard count <= maxLength else { continue }
            if scalar.value >= 0x21 && scalar.value < 0x7F && scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        if count > maxLength { out += "…(\(count) characters)" }
        return out.isEmpty ? "\\u{}" : out
    }
}

/// Region, department and matter codes: the keys the summary is scoped and grouped by.
///
///     CodeForm.isRegionCode("371002")                 // true
///     CodeForm.isCode("11371002MB0000000B")           // true
///     CodeForm.isCode("11371002\u{0}MB")              // false
public enum CodeForm {
    /// An administrative division code: 6 to 12 ASCII digits.
    public static func isRegionCode(_ text: some StringProtocol) -> Bool {
        (6...12).contains(text.utf8.count) && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// A department or matter code: the form of ``WireIdentifier``.
    public static func isCode(_ text: some StringProtocol) -> Bool { WireIdentifier.isValid(text) }
}
