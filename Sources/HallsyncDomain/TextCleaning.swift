/// Character-level clean-ups shared by the normalisers.
enum TextCleaning {
    /// Full-width ASCII forms (U+FF01…U+FF5E) to their ASCII counterparts and U+3000 to a space.
    static func halfWidth(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0xFF01...0xFF5E:
                scalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!)
            case 0x3000:
                scalars.append(" ")
            default:
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    /// Whitespace of any kind the portal sites produce, including U+3000 and NBSP.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || scalar.value == 0x3000 || scalar.value == 0xA0 || scalar.value == 0xFEFF
    }

    /// Trims every kind of space at both ends.
    static func trimmed(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[first...last])
        return String(view)
    }

    /// Removes every character in `characters` and every space.
    static func removing(_ characters: Set<Unicode.Scalar>, from text: String) -> String {
        var view = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !characters.contains(scalar) && !isSpace(scalar) {
            view.append(scalar)
        }
        return String(view)
    }

    /// Hyphen and dash variants that appear inside numbers.
    static let dashes: Set<Unicode.Scalar> = ["-", "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2015}", "\u{2212}", "\u{FE63}", "\u{FF0D}", "_"]

    static func isASCIIDigits(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
