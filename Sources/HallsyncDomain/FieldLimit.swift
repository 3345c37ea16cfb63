/// The longest value of a field the halls accept: a longer one (a name of a megabyte) is held on
/// the attention list, never sent — a hall would refuse it or cut it, and it would carry
/// personal data nobody asked for into two more systems.
///
///     try FieldLimit.applicantName.check("王某")   // "王某"
///     try FieldLimit.applicantName.check(String(repeating: "王", count: 101))   // throws FIELD_TOO_LONG
public struct FieldLimit: Hashable, Sendable {
    public let field: String
    /// In characters (what a person counts), as the hall's form shows them.
    public let maxCharacters: Int
    let zh: String
    let en: String

    /// A person's name: the longest names on Chinese documents (minority and foreign names with
    /// middle dots) stay far below.
    public static let applicantName = FieldLimit(field: "applicant.name", maxCharacters: 100, zh: "申请人姓名", en: "applicant's name")
    public static let orgName = FieldLimit(field: "applicant.orgName", maxCharacters: 200, zh: "单位名称", en: "organisation's name")
    /// `（预约）` and the matter's name.
    public static let itemName = FieldLimit(field: "itemName", maxCharacters: 200, zh: "事项名称", en: "matter name")

    public func check(_ value: String) throws(DomainError) -> String {
        // Counting stops past the limit: a megabyte is not walked to the end.
        var count = 0
        for _ in value {
            count += 1
            if count > maxCharacters {
                throw DomainError(code: .fieldTooLong, field: field,
                                  zh: "\(zh)超过\(maxCharacters)个字符，大厅系统不接受，未送入大厅，请与门户核实该预约",
                                  en: "The \(en) is longer than the \(maxCharacters) characters the halls accept; nothing was sent. Check the reservation with the portal.")
            }
        }
        return value
    }
}
