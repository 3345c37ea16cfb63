/// An applicant's or agent's name in the hall's canonical form.
///
///     PersonName.normalize("　阿依古丽•买买提 ")   // "阿依古丽·买买提"
///     PersonName.normalize("Ｊｏｈｎ  Smith")      // "John Smith"
public enum PersonName {
    /// Every middle-dot variant seen on the portal sites; the hall wants U+00B7.
    static let middleDots: Set<Unicode.Scalar> = ["\u{00B7}", "\u{2022}", "\u{30FB}", "\u{FF0E}", "\u{2027}", "\u{FF65}", "\u{2219}", "\u{22C5}", "\u{0387}", "\u{16EB}", "\u{2E31}"]

    public static func normalize(_ raw: String?, field: String = "applicant.name") throws(DomainError) -> String {
        var view = String.UnicodeScalarView()
        var pendingSpace = false
        // Middle dots first: U+FF0E is a full-width full stop that half-width conversion would turn into ".".
        var dotted = String.UnicodeScalarView()
        for scalar in (raw ?? "").unicodeScalars { dotted.append(middleDots.contains(scalar) ? "\u{00B7}" : scalar) }
        for scalar in TextCleaning.trimmed(TextCleaning.halfWidth(String(dotted))).unicodeScalars {
            if TextCleaning.isSpace(scalar) {
                pendingSpace = true
                continue
            }
            // Invisible characters (zero-width space, BOM, controls) are dropped without ending a run of spaces.
            if TextCleaning.isInvisible(scalar) { continue }
            if pendingSpace { view.append(" "); pendingSpace = false }
            view.append(middleDots.contains(scalar) ? "\u{00B7}" : scalar)
        }
        let name = String(view)
        guard !name.isEmpty else {
            throw DomainError(code: .missingField, field: field,
                              zh: "缺少姓名，请联系申请人补充",
                              en: "The name is missing; ask the applicant for it.")
        }
        guard name.unicodeScalars.contains(where: { $0.properties.isAlphabetic }) else {
            throw DomainError(code: .nameInvalid, field: field,
                              zh: "姓名中没有文字，请联系申请人核对",
                              en: "The name contains no letters; ask the applicant to check it.")
        }
        return name
    }
}
