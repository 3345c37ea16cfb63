/// Masking of personal data for logs, the status file, metrics, the attention list and errors,
/// which must never carry an ID number, a phone number or a name in full — in whatever form the
/// value arrives: spaced, hyphenated, full-width, with `+86`.
///
///     PersonalData.maskIdNumber("37100219800101001X")   // "3710**********001X"
///     PersonalData.maskPhone("13806310000")             // "138****0000"
///     PersonalData.maskName("王小明")                    // "王*"
///     PersonalData.redact("refused 371002 19800101 001X, call +86 138-0631-0000")
///     // "refused 3710**********001X, call 138****0000"
///     PersonalData.redact("王小明的证件号有误", names: ["王小明"])   // "王*的证件号有误"
public enum PersonalData {
    public static func maskIdNumber(_ id: String) -> String {
        let characters = Array(id)
        guard characters.count > 8 else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(4)) + String(repeating: "*", count: characters.count - 8) + String(characters.suffix(4))
    }

    public static func maskPhone(_ phone: String) -> String {
        let characters = Array(phone)
        if let dash = characters.firstIndex(of: "-") {
            let local = characters[(dash + 1)...]
            return String(characters[...dash]) + String(repeating: "*", count: max(0, local.count - 4)) + String(local.suffix(4))
        }
        guard characters.count > 7 else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(3)) + String(repeating: "*", count: characters.count - 7) + String(characters.suffix(4))
    }

    /// The family name's first character and one star: `王*`, `阿*`, `J*`.
    public static func maskName(_ name: String) -> String {
        // The first scalar, not the first character: a combining mark must not come along with it.
        guard let first = TextCleaning.trimmed(name).unicodeScalars.first else { return "" }
        return String(first) + "*"
    }

    /// Masks every ID-number-like and phone-like number in free text (an error message that
    /// echoes a value, a record a peer could not read), whatever its spelling, and every
    /// occurrence of the `names` given — the names of the record the text is about, as the
    /// portal sent them and as normalised. Names cannot be recognised in free text otherwise: log
    /// them only as fields, which the log handler masks by key.
    public static func redact(_ text: String, names: [String] = []) -> String {
        var out = maskNumbers(text)
        for name in names.map(TextCleaning.trimmed).filter({ $0.count >= 2 }).sorted(by: { $0.count > $1.count }) {
            out = out.replacingOccurrences(of: name, with: maskName(name))
            // The name's letters the way a peer may have re-spelt it (full-width, other middle dots).
            if let normalized = try? PersonName.normalize(name), normalized != name, normalized.count >= 2 {
                out = out.replacingOccurrences(of: normalized, with: maskName(normalized))
            }
        }
        return out
    }

    // MARK: Numbers in free text

    /// A digit, ASCII or full-width, as its value.
    static func digit(_ s: Unicode.Scalar) -> UInt32? {
        switch s.value {
        case 0x30...0x39: return s.value - 0x30
        case 0xFF10...0xFF19: return s.value - 0xFF10
        default: return nil
        }
    }

    /// What may stand between the digits of one number: spaces, hyphens and dashes, dots, brackets.
    static func isSeparator(_ s: Unicode.Scalar) -> Bool {
        TextCleaning.isSpace(s) || TextCleaning.dashes.contains(s) || ["(", ")", "（", "）", ".", "．", "/"].contains(s)
    }

    static func isCheckX(_ s: Unicode.Scalar) -> Bool { s == "X" || s == "x" || s == "Ｘ" || s == "ｘ" }

    /// A letter that glues to a number and makes it an identifier (`ZH2021091100012`), not a phone.
    static func isASCIILetter(_ s: Unicode.Scalar?) -> Bool {
        guard let s else { return false }
        return (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A) || (s.value >= 0xFF21 && s.value <= 0xFF3A) || (s.value >= 0xFF41 && s.value <= 0xFF5A)
    }

    /// One group of digits of a number-like run, with where it stands in the text.
    struct Group {
        var digits: String
        var range: Range<Int>
    }

    static func maskNumbers(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let start = index
            // A run starts at a digit (or a + before one) that does not follow a letter or a digit.
            var runStart = start
            if scalars[start] == "+" || scalars[start] == "＋", start + 1 < scalars.count, digit(scalars[start + 1]) != nil { runStart = start + 1 }
            guard digit(scalars[runStart]) != nil, start == 0 || (!isASCIILetter(scalars[start - 1]) && digit(scalars[start - 1]) == nil) else {
                output.append(scalars[index]); index += 1; continue
            }
            // The groups of digits, separated by one or two separators (`(0631) 5201234`).
            var groups: [Group] = []
            var cursor = runStart
            while cursor < scalars.count, digit(scalars[cursor]) != nil {
                var digits = ""
                let groupStart = cursor
                while cursor < scalars.count, let d = digit(scalars[cursor]) {
                    digits.unicodeScalars.append(Unicode.Scalar(0x30 + d)!)
                    cursor += 1
                }
                groups.append(Group(digits: digits, range: groupStart..<cursor))
                var next = cursor
                while next < scalars.count, next - cursor < 2, isSeparator(scalars[next]) { next += 1 }
                guard next > cursor, next < scalars.count, digit(scalars[next]) != nil else { break }
                cursor = next
            }
            var end = groups.last!.range.upperBound
            var checkX = false
            if end < scalars.count, isCheckX(scalars[end]) { checkX = true }
            // Glued to letters after it (other than an ID's X): an identifier such as an item number.
            let gluedAfter = end < scalars.count && isASCIILetter(scalars[end]) && !checkX
            if gluedAfter {
                output.append(contentsOf: scalars[start..<end])
                index = end
                continue
            }
            // Several numbers may follow each other (`+86 139-1234-5678（13912345678）`): the longest
            // span of groups that is personal is masked, then the next, left to right.
            var position = start
            var g = 0
            while g < groups.count {
                var best: (to: Int, masked: String, x: Bool)?
                for to in stride(from: groups.count, to: g, by: -1) {
                    let span = groups[g..<to]
                    let digits = span.map(\.digits).joined()
                    let x = checkX && to == groups.count && digits.count == 17
                    if let masked = mask(digits: digits, checkX: x, groups: span.map(\.digits.count)) { best = (to, masked, x); break }
                }
                if let best {
                    // What stood before the span (the + or a separator) is kept, the number replaced.
                    if g > 0 { output.append(contentsOf: scalars[position..<groups[g].range.lowerBound]) }
                    output.append(contentsOf: best.masked.unicodeScalars)
                    position = groups[best.to - 1].range.upperBound + (best.x ? 1 : 0)
                    g = best.to
                } else {
                    output.append(contentsOf: scalars[position..<groups[g].range.upperBound])
                    position = groups[g].range.upperBound
                    g += 1
                }
            }
            end = max(position, groups.last!.range.upperBound)
            if position < end { output.append(contentsOf: scalars[position..<end]) }
            index = end
        }
        return String(output)
    }

    /// The masked form of one number, nil when it is not personal (a date, a count, a time).
    static func mask(digits: String, checkX: Bool, groups: [Int]) -> String? {
        let count = digits.count
        if checkX { return maskIdNumber(digits + "X") }
        // Dates and times written with separators: 2021-09-11, 2021/9/11, 10.30.
        if groups.count >= 2, groups.first == 4, groups.dropFirst().allSatisfy({ $0 <= 2 }) { return nil }
        if groups.count >= 2, groups.allSatisfy({ $0 <= 2 }) { return nil }
        switch count {
        case 15, 18:
            return maskIdNumber(digits)
        case 11 where digits.hasPrefix("1"):
            return maskPhone(digits)
        case 13 where digits.hasPrefix("861"):
            return maskPhone(String(digits.dropFirst(2)))
        case 10...12 where digits.hasPrefix("0"):
            // A landline with its area code: 3 or 4 digits of area code.
            let area = groups.count >= 2 && (3...4).contains(groups[0]) ? groups[0] : (digits.hasPrefix("01") || digits.hasPrefix("02") ? 3 : 4)
            return maskPhone(String(digits.prefix(area)) + "-" + String(digits.dropFirst(area)))
        case 7...8 where groups.allSatisfy({ $0 >= 3 }) && !isDate(digits):
            // A local number without its area code (5201234, 5201 2334).
            return maskPhone(digits)
        case 16, 17:
            // An ID number cut or run into something: mask it all the same.
            return maskIdNumber(digits)
        default:
            return nil
        }
    }

    static func isDate(_ digits: String) -> Bool {
        guard digits.count == 8, let y = Int(digits.prefix(4)), let m = Int(digits.dropFirst(4).prefix(2)), let d = Int(digits.suffix(2)) else { return false }
        return (1900...2100).contains(y) && CivilDate(year: y, month: m, day: d) != nil
    }
}
