import Foundation
import HallsyncDomain
import Testing
@testable import HallsyncTransport

/// Random bytes and mutated portal and hall answers through the clients' real parsers: no
/// crash, no hang, an answer or a typed error every time.
@Suite struct ClientParserFuzzTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
    }

    static let portalSeeds = [
        #"{"code":"0","msg":"成功","data":{"total":2,"pageNo":1,"pageSize":100,"list":[{"reservationId":"YY3710022021090800017","version":3,"createTime":"2021-09-08 09:00:12","updateTime":"2021-09-08 09:14:55","status":"SUBMITTED","processStatus":null,"handleMode":"HALL","applicant":{"type":"PERSON","name":"王某","idType":"ID_CARD","idNumber":"37100219800101015X","orgName":null,"orgCode":null,"phone":"13806310000"},"regionCode":"371002","deptCode":"11371002MB0000000B","deptName":"环翠区行政审批服务局","itemCode":"371002-XK-0012","itemName":"公司设立登记","appointmentDate":"2021-09-11","appointmentSlot":"10:00-10:30","channel":"PROVINCE_PORTAL"},{"reservationId":"YY2","version":1,"updateTime":"2021-09-08 09:15:00","applicant":{}}]}}"#,
        #"{"code":"0","msg":"成功","data":null}"#,
        #"{"code":4090,"msg":"状态不允许","data":null}"#,
        #"{"code":"5001","msg":"系统繁忙","data":null}"#,
        #"{"code":"4012","msg":"nonce already used"}"#,
    ]

    static let hallSeeds = [
        #"{"itemNo":"ZH2021091100012"}"#,
        #"{"items":[{"itemNo":"ZH2021091100012","externalId":"YY1","status":"PENDING","revision":3,"source":"ONLINE_RESERVATION"}]}"#,
        #"{"changes":[{"seq":1042,"itemNo":"ZH2021091100012","externalId":"YY1","status":"HANDLED","origin":"STAFF","operator":"李四","at":"2021-09-11 10:05:00","remark":""}],"lastSeq":1042}"#,
        #"{"error":"ITEM_CLOSED","message":"item is HANDLED","status":"HANDLED"}"#,
        #"{"error":"TOKEN_EXPIRED"}"#,
    ]

    static let tokens = [#"null"#, #"{}"#, #"[]"#, #""x""#, #"1e309"#, #"-1"#, #"9223372036854775808"#, #""\u0000""#, #"true"#,
                         #""ZH..""#, #"".."#, String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
                         "\"" + String(repeating: "预", count: 2000) + "\"", #"{"list":{"a":1}}"#, #""2021-02-30 25:61:61""#]

    static func mutate(_ seed: String, _ g: inout Generator) -> Data {
        var bytes = Array(seed.utf8)
        switch g.below(7) {
        case 0:  // random bytes
            return Data((0..<g.below(300)).map { _ in UInt8(truncatingIfNeeded: g.next()) })
        case 1:  // truncation
            return Data(bytes.prefix(g.below(bytes.count + 1)))
        default:
            for _ in 0..<(1 + g.below(4)) {
                switch g.below(4) {
                case 0 where !bytes.isEmpty: bytes[g.below(bytes.count)] = UInt8(truncatingIfNeeded: g.next())
                case 1 where !bytes.isEmpty: bytes.remove(at: g.below(bytes.count))
                case 2:
                    // A JSON token where a value stood: after a colon or a bracket.
                    let anchors = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") || bytes[$0] == UInt8(ascii: "[") }
                    let at = anchors.isEmpty ? g.below(bytes.count + 1) : g.pick(anchors) + 1
                    var end = at
                    while end < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[end]) { end += 1 }
                    bytes.replaceSubrange(at..<end, with: Array(g.pick(tokens).utf8))
                default: bytes.insert(contentsOf: Array(g.pick(tokens).utf8), at: g.below(bytes.count + 1))
                }
            }
            return Data(bytes)
        }
    }

    @Test func everyAnswerIsReadOrRefusedWithATypedError() {
        var g = Generator(state: 20211111)
        let statuses = [200, 200, 200, 201, 302, 401, 404, 409, 410, 422, 429, 503]
        var outcomes: [String: Int] = [:]
        var inputs = 0
        func note(_ result: Result<some Any, TransportError>) {
            switch result {
            case .success: outcomes["ok", default: 0] += 1
            case .failure(let error):
                let code = error.code.rawValue
                outcomes[code.hasPrefix("PORTAL_") || code.hasPrefix("HTTP_") ? String(code.prefix(6)) : code, default: 0] += 1
                // Whatever the peer sent, the error is printable: no control characters from the answer.
                #expect(!error.code.rawValue.unicodeScalars.contains { $0.value < 0x20 })
            }
        }
        for _ in 0..<50_000 {
            let body = Self.mutate(g.pick(Self.portalSeeds), &g)
            let response = HTTPResponse(status: g.pick(statuses), headers: g.below(4) == 0 ? ["location": "/x", "retry-after": "abc"] : [:], body: body)
            note(Result { () throws(TransportError) in try PortalClient.interpret(response, answer: ReservationPage.self, path: "/api/v1/reservations?x", url: "u") })
            note(Result { () throws(TransportError) in try PortalClient.interpret(response, answer: Ignored.self, path: "/api/v1/reservations/YY1/status", url: "u") })
            inputs += 1
        }
        for _ in 0..<50_000 {
            let body = Self.mutate(g.pick(Self.hallSeeds), &g)
            let response = HTTPResponse(status: g.pick(statuses), headers: [:], body: body)
            if let failure = HallClient.failure(of: response, hall: .intake, url: "u", tokenFile: "t") {
                note(Result<Int, TransportError>.failure(failure))
            } else {
                note(Result { () throws(TransportError) in try HallClient.createdItemNumber(response, hall: .intake, url: "u") })
                note(Result { () throws(TransportError) in try HallClient.foundItems(response, externalId: "YY1", url: "u") })
                note(Result { () throws(TransportError) in try HallClient.changePage(response, after: Int64(g.below(2000)), url: "u") })
            }
            inputs += 1
        }
        #expect(inputs == 100_000)
        // The mutations reached both sides: answers read, and each kind of refusal.
        for kind in ["ok", "MALFORMED_RESPONSE", "PORTAL", "HTTP_3", "HTTP_4", "HTTP_5"] where !kind.hasPrefix("HTTP") {
            #expect(outcomes[kind, default: 0] > 100, "\(kind): \(outcomes)")
        }
        #expect(outcomes.keys.contains { $0.hasPrefix("HTTP_") }, "\(outcomes)")
        print("parser fuzz: \(inputs) inputs, outcomes \(outcomes.sorted { $0.value > $1.value }.prefix(12))")
    }
}
