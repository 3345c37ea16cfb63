import HallsyncStore

/// A form that changes something carries the session's token back (``SignedInContext``'s `csrf`).
protocol TokenForm {
    var csrf: String? { get }
}

/// The login form: the name, the password, the login page's own token.
struct LoginForm: Decodable {
    var name: String
    var password: String
    var csrf: String?

    enum CodingKeys: String, CodingKey { case name, password, csrf }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // A name longer than any account's is not refused here: it is simply no account.
        name = String((try c.decodeIfPresent(String.self, forKey: .name) ?? "").trimmingCharacters(in: .whitespaces).prefix(64))
        password = try Field.raw(c, .password, limit: 1024, name: "密码")
        csrf = try c.decodeIfPresent(String.self, forKey: .csrf)
    }
}

/// A form that is only a confirmation: logging out, retrying an attention entry.
struct ConfirmForm: Decodable, TokenForm {
    var csrf: String?
}

/// 标记已处理: what was done (required).
struct ResolveForm: Decodable, TokenForm {
    var csrf: String?
    var note: String?

    enum CodingKeys: String, CodingKey { case csrf, note }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        csrf = try c.decodeIfPresent(String.self, forKey: .csrf)
        note = try Field.text(c, .note, limit: 500, name: "处理说明")
    }
}

/// A phone call's result. The result has no default: a clerk who clicks 记录 without choosing
/// one is asked to choose (``result`` nil), not recorded as a confirmation.
struct CallForm: Decodable, TokenForm {
    var csrf: String?
    var result: PhoneCallResult?
    var note: String
    var back: String?

    enum CodingKeys: String, CodingKey { case csrf, result, note, back }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        csrf = try c.decodeIfPresent(String.self, forKey: .csrf)
        result = try Field.choice(c, .result, PhoneCallResult.self, name: "核实结果")
        note = try Field.text(c, .note, limit: 200, name: "备注") ?? ""
        back = try Field.text(c, .back, limit: 500, name: "返回地址")
    }
}
