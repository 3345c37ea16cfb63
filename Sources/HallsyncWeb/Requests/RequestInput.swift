import Foundation
import HallsyncDomain
import Hummingbird

/// Query strings and posted forms, decoded by Hummingbird's `URLEncodedFormDecoder` into the
/// typed values below. Every field is read into its allowed range where it is decoded: a value
/// outside it is a ``RequestProblem`` (a 400 that says what to do), never a number that traps
/// further on.
enum RequestInput {
    /// The request's query as `T`.
    static func query<T: Decodable>(_ type: T.Type, _ request: Request) throws -> T {
        try decode(T.self, from: request.uri.query ?? "")
    }

    /// The posted form as `T` (at most 64 KiB).
    static func form<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        return try decode(T.self, from: String(buffer: body))
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        do {
            return try URLEncodedFormDecoder().decode(T.self, from: text)
        } catch let problem as RequestProblem {
            throw problem
        } catch {
            throw RequestProblem("链接或表单的参数无法识别，请从页面上的链接或按钮重新进入。")
        }
    }
}

/// The fields a page reads, each into its range.
enum Field {
    /// Text, trimmed; nil when absent or empty. Longer than `limit` characters is refused.
    static func text<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K, limit: Int, name: String) throws -> String? {
        guard let raw = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count <= limit else { throw RequestProblem("\(name)最多 \(limit) 个字，请删减后再提交。", heading: "内容过长") }
        return text.isEmpty ? nil : text
    }

    /// Text as it was typed (a password), at most `limit` characters; "" when absent.
    static func raw<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K, limit: Int, name: String) throws -> String {
        let raw = try c.decodeIfPresent(String.self, forKey: key) ?? ""
        guard raw.count <= limit else { throw RequestProblem("\(name)最多 \(limit) 个字符。", heading: "内容过长") }
        return raw
    }

    /// The earliest and latest date a page filters by: the portal's reservations, and the audit log, fall in between.
    static let dates = CivilDate(year: 2000, month: 1, day: 1)!...CivilDate(year: 2099, month: 12, day: 31)!

    /// A date `yyyy-MM-dd` within ``dates``.
    static func date<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> CivilDate? {
        guard let text = try Self.text(c, key, limit: 40, name: "日期") else { return nil }
        guard let date = CivilDate(iso: text), dates.contains(date) else {
            throw RequestProblem("日期 \(RequestProblem.quote(text)) 无法识别：请按“年-月-日”填写，例如 2021-09-11，年份在 2000 至 2099 之间。")
        }
        return date
    }

    /// A page number, 1 through ``PageNumber/maximum``.
    static func page<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Int? {
        guard let text = try Self.text(c, key, limit: 40, name: "页码") else { return nil }
        guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text.count <= 7, let page = Int(text), (1...PageNumber.maximum).contains(page) else {
            throw RequestProblem("页码 \(RequestProblem.quote(text)) 不在 1 至 \(PageNumber.maximum) 之间，请用页面下方的“上一页”“下一页”翻页。")
        }
        return page
    }

    /// A department or matter code (letters, digits and `-`).
    static func code<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K, name: String) throws -> String? {
        guard let text = try Self.text(c, key, limit: 64, name: name) else { return nil }
        guard CodeForm.isCode(text) else { throw RequestProblem("\(name) \(RequestProblem.quote(text)) 不是编码（字母、数字和“-”），请从汇总页的链接进入。") }
        return text
    }

    /// One of an enumeration's raw values.
    static func choice<K: CodingKey, T: RawRepresentable>(_ c: KeyedDecodingContainer<K>, _ key: K, _ type: T.Type, name: String) throws -> T?
    where T.RawValue == String {
        guard let text = try Self.text(c, key, limit: 64, name: name) else { return nil }
        guard let value = T(rawValue: text) else { throw RequestProblem("\(name) \(RequestProblem.quote(text)) 无法识别，请从页面上的链接重新进入。") }
        return value
    }
}

/// Page numbers: 50 rows a page up to page 1,000,000 (fifty million rows) — an offset that cannot
/// overflow whatever the page asks for.
enum PageNumber {
    static let maximum = 1_000_000
}
