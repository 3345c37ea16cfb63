/// The 统一社会信用代码 of GB 32100-2015: 17 characters and a check character.
///
///     try SocialCreditCode.normalize("91371002MA3C1234 5x")   // upper-cased, spaces removed, checked
public enum SocialCreditCode {
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    static let field = "applicant.orgCode"

    /// The check character for the first 17 characters, nil when one is not in the code's alphabet.
    public static func checkCharacter(for seventeen: some StringProtocol) -> Character? {
        guard seventeen.count == 17 else { return nil }
        var sum = 0
        for (character, weight) in zip(seventeen, weights) {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            sum += value * weight
        }
        let check = (31 - sum % 31) % 31
        return alphabet[check]
    }

    public static func normalize(_ raw: String?) throws(DomainError) -> String {
        let text = TextCleaning.removing(TextCleaning.dashes, from: TextCleaning.halfWidth(raw ?? "")).uppercased()
        guard !text.isEmpty else {
            throw DomainError(code: .missingField, field: field,
                              zh: "单位申请缺少统一社会信用代码，请联系申请单位补充",
                              en: "An organisation's reservation lacks its unified social credit code; ask the organisation for it.")
        }
        guard text.count == 18, text.allSatisfy({ alphabet.contains($0) }) else {
            throw DomainError(code: .orgCodeFormat, field: field,
                              zh: "统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V），请联系申请单位核对",
                              en: "A unified social credit code has 18 digits or capital letters (no I, O, Z, S, V); ask the organisation to check it.")
        }
        guard checkCharacter(for: text.prefix(17)) == text.last else {
            throw DomainError(code: .orgCodeCheck, field: field,
                              zh: "统一社会信用代码校验位错误，请联系申请单位核对",
                              en: "The unified social credit code's check character is wrong; ask the organisation to confirm it.")
        }
        return text
    }
}
