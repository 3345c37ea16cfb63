import HTTPTypes
import HallsyncDomain

/// A request the page cannot act on as it stands — a value out of its range, a choice not made —
/// with what to do about it, in words a clerk reads. Shown as a page (400 unless said otherwise).
struct RequestProblem: Error, Sendable, CustomStringConvertible {
    var status: HTTPResponse.Status = .badRequest
    var heading: String = "无法识别的请求"
    var message: String
    var back: String = "/summary"

    init(_ message: String, heading: String = "无法识别的请求", back: String = "/summary", status: HTTPResponse.Status = .badRequest) {
        self.message = message
        self.heading = heading
        self.back = back
        self.status = status
    }

    var description: String { message }

    /// A value as the message may quote it: short, printable, personal data masked.
    static func quote(_ value: String) -> String {
        let printable = String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.properties.generalCategory != .control })).prefix(40)
        return "“" + PersonalData.redact(String(printable)) + (value.count > 40 ? "…" : "") + "”"
    }
}
