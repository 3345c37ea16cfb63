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

    /// Control and format characters (zero-width space, BOM, direction marks): never meant to be seen.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        let category = scalar.properties.generalCategory
        return category == .control || category == .format
    }

    /// Whether a scalar combines with the one before it (accents, vowel signs).
    static func isCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// The text without invisible characters, trimmed, and without combining marks at its start
    /// (which would otherwise fuse with whatever is put before it).
    static func visible(_ text: String) -> String {
        var view = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isInvisible(scalar) || isSpace(scalar) { view.append(scalar) }
        let scalars = String(view).unicodeScalars.drop(while: { isSpace($0) || isCombiningMark($0) })
        return trimmed(String(String.UnicodeScalarView(scalars)))
    }

    /// Trims every kind of space at both ends.
    static func trimmed(_ text: String) -> String {
        // Nothing to trim when both ends are printable ASCII (most values): no copy.
        if let first = text.utf8.first, let last = text.utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return text
        }
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
