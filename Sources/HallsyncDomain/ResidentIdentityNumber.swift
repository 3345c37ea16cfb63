/// The 居民身份证 number of GB 11643-1999: 17 digits and a check character.
///
///     try ResidentIdentityNumber.normalize("３７１００２ 800101 015x")   // "37100219800101015X"
///     try ResidentIdentityNumber.normalize("371002800101015")          // 15 digits → "37100219800101015X"
///
/// The area code is not checked: area codes change and older holders keep theirs.
public enum ResidentIdentityNumber {
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters = Array("10X98765432")
    static let field = "applicant.idNumber"

    /// The check character for the first 17 digits.
    public static func checkCharacter(for seventeenDigits: some StringProtocol) -> Character? {
        guard seventeenDigits.count == 17, TextCleaning.isASCIIDigits(seventeenDigits) else { return nil }
        let sum = zip(seventeenDigits.utf8, weights).reduce(0) { $0 + Int($1.0 - 0x30) * $1.1 }
        return checkCharacters[sum % 11]
    }

    public static func normalize(_ raw: String?) throws(DomainError) -> String {
        let text = TextCleaning.removing(TextCleaning.dashes, from: TextCleaning.halfWidth(raw ?? "")).uppercased()
        guard !text.isEmpty else {
            throw DomainError(code: .missingField, field: field,
                              zh: "缺少身份证号，请联系申请人补充",
                              en: "The ID number is missing; ask the applicant for it.")
        }
        let formatError = DomainError(code: .idFormat, field: field,
                                      zh: "身份证号应为18位（或旧版15位）数字，末位可为X，请联系申请人核对",
                                      en: "An ID number has 18 characters (or 15 on old cards), digits with a final X allowed; ask the applicant to check it.")
        if text.count == 15 {
            // First generation: insert the century after the area code, append the check character.
            guard TextCleaning.isASCIIDigits(text) else { throw formatError }
            let seventeen = String(text.prefix(6) + "19" + text.dropFirst(6))
            try checkBirthDate(seventeen)
            return seventeen + String(checkCharacter(for: seventeen)!)
        }
        guard text.count == 18, TextCleaning.isASCIIDigits(text.prefix(17)),
              let last = text.last, last.isASCII, last.isNumber || last == "X" else { throw formatError }
        try checkBirthDate(text)
        guard checkCharacter(for: text.prefix(17)) == last else {
            throw DomainError(code: .idCheckDigit, field: field,
                              zh: "身份证号校验位错误，请联系申请人核对证件号码",
                              en: "The ID number's check character is wrong; ask the applicant to confirm the number.")
        }
        return text
    }

    static func checkBirthDate(_ digits: String) throws(DomainError) {
        let chars = Array(digits)
        guard chars.count >= 14,
              let y = Int(String(chars[6..<10])), let m = Int(String(chars[10..<12])), let d = Int(String(chars[12..<14])),
              y >= 1900, CivilDate(year: y, month: m, day: d) != nil else {
            throw DomainError(code: .idBirthDate, field: field,
                              zh: "身份证号中的出生日期不存在，请联系申请人核对证件号码",
                              en: "The birth date inside the ID number does not exist; ask the applicant to confirm the number.")
        }
    }
}
