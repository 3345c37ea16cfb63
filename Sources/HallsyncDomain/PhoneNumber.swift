/// A contact phone in the hall's canonical form: a mobile as 11 digits, a landline as
/// `0631-5201234`.
///
///     PhoneNumber.normalize("+86 138-0631-0000", areaCode: "0631")   // .mobile("13806310000")
///     PhoneNumber.normalize("(0631)5201234", areaCode: "0631")       // .landline("0631-5201234")
///     PhoneNumber.normalize("5201234", areaCode: "0631")             // .landline("0631-5201234")
///     PhoneNumber.normalize("", areaCode: "0631")                    // .missing
public enum PhoneNumber: Hashable, Sendable {
    case mobile(String)
    case landline(String)
    /// The portal had no phone.
    case missing
    /// The portal's value could not be read as a phone number.
    case unreadable

    /// The value to send to the hall: `""` when there is none usable.
    public var canonical: String {
        switch self {
        case .mobile(let number), .landline(let number): return number
        case .missing, .unreadable: return ""
        }
    }

    public static func normalize(_ raw: String?, areaCode: String) -> PhoneNumber {
        let half = TextCleaning.halfWidth(raw ?? "")
        var text = TextCleaning.removing(TextCleaning.dashes.union(["(", ")", "（", "）", "."]), from: half)
        if text.isEmpty { return .missing }
        if text.hasPrefix("+86") { text.removeFirst(3) } else if text.hasPrefix("0086") { text.removeFirst(4) }
        guard TextCleaning.isASCIIDigits(text) else { return .unreadable }
        if text.count == 13, text.hasPrefix("861") { text.removeFirst(2) }
        if text.count == 11, text.hasPrefix("1"), let second = text.dropFirst().first, ("3"..."9").contains(second) {
            return .mobile(text)
        }
        if text.hasPrefix("0") {
            // 010 and 02x are three-digit area codes; every other starts with 0 and has four.
            let areaLength = (text.hasPrefix("01") || text.hasPrefix("02")) ? 3 : 4
            let local = text.dropFirst(areaLength)
            guard (7...8).contains(local.count), !local.hasPrefix("0") else { return .unreadable }
            return .landline("\(text.prefix(areaLength))-\(local)")
        }
        if (7...8).contains(text.count), !text.hasPrefix("1") {
            return .landline("\(areaCode)-\(text)")
        }
        return .unreadable
    }
}
