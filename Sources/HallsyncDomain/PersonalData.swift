/// Masking of personal data for logs, the status file, metrics, the attention list and errors,
/// which must never carry an ID number, a phone number or a name in full — in whatever form the
/// value arrives: spaced, hyphenated, full-width, with `+86`.
///
///     PersonalData.maskIdNumber("37100219800101001X")   // "3710**********001X"
///     PersonalData.maskPhone("13806310000")             // "138****0000"
///     PersonalData.maskName("王小明")                    // "王*"
///     PersonalData.redactPeerText("refused 371002 19800101 001X, call +86 138-0631-0000")
///     // "refused 3710**********001X, call 138****0000"
///     PersonalData.redactPeerText("王 小明的证件号有误", values: PersonalValues(names: ["王小明"]))   // "王*的证件号有误"
///     PersonalData.redact("the portal's clock is 2592000 s ahead")   // unchanged: not personal
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

    /// Masks personal data in hallsync's own text (a log line, a warning, the status file), which
    /// never puts a personal value in by itself: only numbers whose very shape is an ID number or a
    /// mobile or landline number with its area code are masked, as a last line of defence. Other
    /// numbers — a clock difference, a byte count, a region code — are left as they are: personal
    /// data is masked by the field it came in (``redactPeerText(_:values:)``, the log's name fields).
    public static func redact(_ text: String) -> String {
        maskNumbers(text, policy: .ownText)
    }

    /// Masks a text a peer wrote (a hall's or the portal's error message, which may echo what it
    /// was sent), and every spelling of the personal values given — the record's names, ID
    /// numbers and phones, as the portal sent them and as normalised — wherever they stand:
    /// spaced, hyphenated, full-width, with `+86`, with or without the middle dot.
    public static func redactPeerText(_ text: String, values: PersonalValues = PersonalValues()) -> String {
        var out = text
        for number in values.numberDigits.sorted(by: { $0.count > $1.count }) { out = maskNumber(number, in: out) }
        out = maskNumbers(out, policy: .peerText(values.numberDigits))
        for name in values.names.sorted(by: { $0.count > $1.count }) { out = maskName(name, in: out) }
        return out
    }

    /// Every occurrence of the number `digits` in `text` — separators (spaces, hyphens, brackets,
    /// dots) between its digits, full-width digits, glued to letters — replaced by its mask.
    static func maskNumber(_ digits: String, in text: String) -> String {
        let wanted = Array(digits.unicodeScalars)
        guard wanted.count >= 5 else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            // Try to read the number from here: its digits in order, separators between them.
            var j = i, matched = 0
            while j < scalars.count, matched < wanted.count {
                if let d = digit(scalars[j]), Unicode.Scalar(0x30 + d)! == wanted[matched] { matched += 1; j += 1; continue }
                if matched > 0, isSeparator(scalars[j]) || scalars[j] == "\u{3000}" { j += 1; continue }
                break
            }
            if matched == wanted.count {
                let masked = wanted.count >= 15 ? maskIdNumber(digits) : digits.hasPrefix("0") && wanted.count >= 10
                    ? maskPhone(String(digits.prefix(digits.hasPrefix("01") || digits.hasPrefix("02") ? 3 : 4)) + "-" + String(digits.dropFirst(digits.hasPrefix("01") || digits.hasPrefix("02") ? 3 : 4)))
                    : maskPhone(digits)
                out.append(contentsOf: masked.unicodeScalars)
                // An ID's check X goes with it.
                if j < scalars.count, wanted.count == 17, isCheckX(scalars[j]) { j += 1 }
                i = j
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }

    // MARK: Names in free text

    /// A character as names are compared: full-width forms half-width, Latin letters lower-cased;
    /// nil for what may stand inside a name without changing it (spaces, middle dots, invisibles).
    static func nameKey(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
        if TextCleaning.isSpace(scalar) || TextCleaning.isInvisible(scalar) || PersonName.middleDots.contains(scalar) || scalar == "." { return nil }
        var v = scalar
        if (0xFF01...0xFF5E).contains(v.value) { v = Unicode.Scalar(v.value - 0xFEE0)! }
        if (0x41...0x5A).contains(v.value) { v = Unicode.Scalar(v.value + 0x20)! }
        return v
    }

    /// Every occurrence of `name` in `text`, however spelt (spaces, middle dots, width, case), replaced by its mask.
    static func maskName(_ name: String, in text: String) -> String {
        let key = name.unicodeScalars.compactMap(nameKey)
        // A name of one letter is masked only where it stands as written: its letter alone is everywhere.
        guard key.count >= 2 else {
            let literal = TextCleaning.trimmed(name)
            return literal.count >= 2 ? text.replacingOccurrences(of: literal, with: maskName(literal)) : text
        }
        let scalars = Array(text.unicodeScalars)
        // The text as names are compared, with where each key character stands in the text.
        var projected: [(key: Unicode.Scalar, at: Int)] = []
        for (i, scalar) in scalars.enumerated() { if let k = nameKey(scalar) { projected.append((k, i)) } }
        guard projected.count >= key.count else { return text }
        var spans: [Range<Int>] = []
        var i = 0
        while i + key.count <= projected.count {
            if (0..<key.count).allSatisfy({ projected[i + $0].key == key[$0] }) {
                spans.append(projected[i].at..<(projected[i + key.count - 1].at + 1))
                i += key.count
            } else {
                i += 1
            }
        }
        guard !spans.isEmpty else { return text }
        var out = String.UnicodeScalarView()
        var position = 0
        for span in spans {
            out.append(contentsOf: scalars[position..<span.lowerBound])
            out.append(contentsOf: maskName(String(String.UnicodeScalarView(scalars[span]))).unicodeScalars)
            position = span.upperBound
        }
        out.append(contentsOf: scalars[position...])
        return String(out)
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

    /// Which numbers are masked: in hallsync's own text only those shaped like an ID number or a
    /// phone with its prefix; in a peer's text every number-like run a person could be identified
    /// by, and the record's own numbers however spelt.
    enum Policy {
        case ownText
        case peerText(Set<String>)
    }

    static func maskNumbers(_ text: String, policy: Policy = .peerText([])) -> String {
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
                    if let masked = mask(digits: digits, checkX: x, groups: span.map(\.digits.count), policy: policy) { best = (to, masked, x); break }
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
    static func mask(digits: String, checkX: Bool, groups: [Int], policy: Policy) -> String? {
        let count = digits.count
        if checkX { return maskIdNumber(digits + "X") }
        var ownText = false
        switch policy {
        case .peerText(let known):
            // The record's own numbers, in whatever grouping the peer wrote them.
            if known.contains(digits) || (digits.hasPrefix("86") && known.contains(String(digits.dropFirst(2)))) {
                return count >= 15 ? maskIdNumber(digits) : digits.hasPrefix("0") && count >= 10
                    ? maskPhone(String(digits.prefix(groups.count >= 2 ? groups[0] : 4)) + "-" + String(digits.dropFirst(groups.count >= 2 ? groups[0] : 4)))
                    : maskPhone(digits.hasPrefix("86") && count == 13 ? String(digits.dropFirst(2)) : digits)
            }
        case .ownText:
            ownText = true
        }
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
        case 7...8 where !ownText && groups.allSatisfy({ $0 >= 3 }) && !isDate(digits):
            // A local number without its area code (5201234, 5201 2334).
            return maskPhone(digits)
        case 16...17 where !ownText:
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

/// The personal values of one record, masked wherever and however a peer's text repeats them.
public struct PersonalValues: Hashable, Sendable {
    public var names: [String]
    /// ID numbers and phones, as sent or canonical.
    public var numbers: [String]

    public init(names: [String] = [], numbers: [String] = []) {
        self.names = names.filter { !$0.isEmpty }
        self.numbers = numbers.filter { !$0.isEmpty }
    }

    /// The numbers as their digits (half-width; an ID's check X dropped, as the masking reads it).
    /// A landline's local part too (`5201234` of `0631-5201234`): a peer may leave the area code off.
    var numberDigits: Set<String> {
        func digits(of text: some StringProtocol) -> String {
            var digits = ""
            for scalar in text.unicodeScalars { if let d = PersonalData.digit(scalar) { digits.unicodeScalars.append(Unicode.Scalar(0x30 + d)!) } }
            return digits
        }
        var all: Set<String> = []
        for number in numbers {
            var d = digits(of: number)
            if d.hasPrefix("86"), d.count == 13 { d = String(d.dropFirst(2)) }
            if d.count >= 5 { all.insert(d) }
            if d.hasPrefix("0"), (10...12).contains(d.count) {
                let local = number.split(separator: "-").count == 2 ? digits(of: number.split(separator: "-")[1])
                    : String(d.dropFirst(d.hasPrefix("01") || d.hasPrefix("02") ? 3 : 4))
                if local.count >= 7 { all.insert(local) }
            }
        }
        return all
    }
}
