import Foundation

/// CSV for the spreadsheet programs the offices use: UTF-8 with a byte-order mark (so that they
/// read Chinese right), CRLF lines, RFC 4180 quoting of commas, quotes and line breaks, and a
/// cell that starts like a formula (`=`, `+`, `-`, `@`) kept as text.
///
///     CSVExport.render(headers: ["姓名", "电话"], rows: [["王*", "138****0000"]])
///     // "\u{FEFF}姓名,电话\r\n王*,138****0000\r\n"
public enum CSVExport {
    public static let byteOrderMark = "\u{FEFF}"

    public static func render(headers: [String], rows: [[String]]) -> String {
        var out = byteOrderMark + line(headers)
        for row in rows { out += line(row) }
        return out
    }

    static func line(_ cells: [String]) -> String {
        cells.map(cell).joined(separator: ",") + "\r\n"
    }

    static func cell(_ raw: String) -> String {
        var text = raw
        // A spreadsheet would run `=HYPERLINK(…)` from a name; a leading ' keeps it text.
        if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) || text.hasPrefix(" ") || text.hasSuffix(" ") else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
