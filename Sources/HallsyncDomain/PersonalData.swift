/// Masking of personal data for logs, the status file and metrics, which must never carry
/// an ID number, a phone number or a name in full.
///
///     PersonalData.maskIdNumber("37100219800101001X")   // "3710**********001X"
///     PersonalData.maskPhone("13806310000")             // "138****0000"
///     PersonalData.maskName("王小明")                    // "王*"
///     PersonalData.redact("refused 37100219800101001X, call 13806310000")
///     // "refused 3710**********001X, call 138****0000"
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
        let trimmed = TextCleaning.trimmed(name)
        guard let first = trimmed.first else { return "" }
        return String(first) + "*"
    }

    /// Masks every ID-number-like and phone-like run of digits in free text (an error message
    /// that echoes a value, a record a peer could not read). Names cannot be recognised in
    /// free text; log them only as fields, which the log handler masks by key.
    public static func redact(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }
        while index < scalars.count {
            guard isDigit(scalars[index]), index == 0 || !isDigit(scalars[index - 1]) else {
                output.append(scalars[index]); index += 1; continue
            }
            var end = index
            while end < scalars.count && isDigit(scalars[end]) { end += 1 }
            var run = String(String.UnicodeScalarView(scalars[index..<end]))
            // An ID number's last character may be X.
            if end < scalars.count, scalars[end] == "X" || scalars[end] == "x", run.count == 17 { run.append("X"); end += 1 }
            // A landline: area code, hyphen, local number.
            if run.hasPrefix("0"), (3...4).contains(run.count), end + 7 <= scalars.count, scalars[end] == "-" {
                var localEnd = end + 1
                while localEnd < scalars.count && isDigit(scalars[localEnd]) { localEnd += 1 }
                if (7...8).contains(localEnd - end - 1) {
                    output.append(contentsOf: maskPhone(String(String.UnicodeScalarView(scalars[index..<localEnd]))).unicodeScalars)
                    index = localEnd
                    continue
                }
            }
            switch run.count {
            case 15, 18: output.append(contentsOf: maskIdNumber(run).unicodeScalars)
            case 11 where run.hasPrefix("1"), 13 where run.hasPrefix("861"): output.append(contentsOf: maskPhone(run).unicodeScalars)
            default: output.append(contentsOf: run.unicodeScalars)
            }
            index = end
        }
        return String(output)
    }
}
