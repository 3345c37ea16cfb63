/// The hall item's name: `（预约）` + the matter's name, exactly once.
///
///     MatterName.hallItemName(portalName: "【预约】公司设立登记", catalogueName: nil)
///     // "（预约）公司设立登记"
public enum MatterName {
    public static let prefix = "（预约）"

    /// The name with every leading reservation-prefix variant removed: `（预约）`, `(预约)`,
    /// `【预约】`, `[预约]`, mixed brackets, and the spaces around them.
    public static func strippingReservationPrefix(_ raw: String) -> String {
        var text = TextCleaning.visible(raw)
        let openers: Set<Character> = ["（", "(", "【", "[", "〔", "［", "〖"]
        let closers: Set<Character> = ["）", ")", "】", "]", "〕", "］", "〗"]
        while true {
            guard let first = text.first, openers.contains(first) else { break }
            let rest = TextCleaning.trimmed(String(text.dropFirst()))
            guard rest.hasPrefix("预约") else { break }
            let afterWord = TextCleaning.trimmed(String(rest.dropFirst(2)))
            guard let close = afterWord.first, closers.contains(close) else { break }
            text = TextCleaning.visible(String(afterWord.dropFirst()))
        }
        return text
    }

    /// The hall's `itemName`: the catalogue's name when it has one, else the portal's.
    public static func hallItemName(portalName: String?, catalogueName: String?) -> String? {
        let base = strippingReservationPrefix(catalogueName ?? portalName ?? "")
        return base.isEmpty ? nil : prefix + base
    }
}
