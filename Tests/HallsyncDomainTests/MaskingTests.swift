import Testing
@testable import HallsyncDomain
import HallsyncStandIns

/// Personal data masked in whatever form it arrives, checked with the normaliser's fuzz generator.
@Suite struct MaskingTests {
    @Test(arguments: [
        ("INVALID_FIELD: idNumber 371002 19800101 015X is not valid", "3710**********015X"),
        ("证件号 371002-19800101-015x 校验位错误", "3710**********015X"),
        ("idNumber ３７１００２１９８００１０１０１５Ｘ", "3710**********015X"),
        ("first generation 371002800101015", "3710*******1015"),
        ("phone 138-0631-0000 unreachable", "138****0000"),
        ("phone 138 0631 0000", "138****0000"),
        ("phone +86 138-0631-0000", "138****0000"),
        ("phone 8613806310000", "138****0000"),
        ("phone １３８０６３１００００", "138****0000"),
        ("电话13806310000", "138****0000"),
        ("landline (0631)5201234", "0631-***1234"),
        ("landline 0631-5201234", "0631-***1234"),
        ("landline 0631 520 1234", "0631-***1234"),
        ("证件号码52012334校验失败", "520*2334"),
        ("电话 +86 139-1234-5678（１３９１２３４５６７８）", "139****5678（139****5678）"),
    ])
    func masksEveryFormTheContractLists(_ text: String, _ masked: String) {
        let out = PersonalData.redactPeerText(text)
        #expect(out.contains(masked), "\(out)")
        #expect(!Self.projection(out).contains("1980010101") && !Self.projection(out).contains("06310000") && !Self.projection(out).contains("5201234"), "\(out)")
    }

    @Test(arguments: [
        "HTTP 503 UNAVAILABLE after 2 attempts",
        "registerTime 2021-09-11 10:00:00 deadline 2021-09-13 10:00:00",
        "item ZH2021091100012 of YY3710022021090800017 is HANDLED",
        "could not connect to http://127.0.0.1:35173/intake/inbox/changes?after=1042&limit=500",
        "key hs-c-intake-YY3710022021090800017-3, seq 1042, 20210911",
    ])
    func leavesWhatIsNotPersonalAlone(_ text: String) {
        #expect(PersonalData.redact(text) == text)
        #expect(PersonalData.redactPeerText(text) == text)
    }

    /// hallsync's own words carry no personal value: its numbers are masked only when their very
    /// shape is an ID number or a phone with its prefix (personal data is masked by its field).
    @Test(arguments: [
        "the portal's clock is 2592000 s ahead of ours; reading from 2026-12-01 10:00:00",
        "portal.regionCode must be the region's division code, 6 digits such as \"371002\" (quote it); found 3710021",
        "the answer from http://127.0.0.1:8080/x exceeded 16777216 bytes and was abandoned",
        "pruned 52012345 settled sends; erased 1234567 reservations",
    ])
    func leavesHallsyncsOwnNumbersAlone(_ text: String) {
        #expect(PersonalData.redact(text) == text)
    }

    @Test func stillMasksWhatIsShapedLikeAnIdNumberOrAPhoneInItsOwnText() {
        #expect(PersonalData.redact("x 37100219800101015X y 13806310000 z +86 138-0631-0000") == "x 3710**********015X y 138****0000 z 138****0000")
    }

    @Test func masksTheRecordsOwnNamesHoweverSpelt() {
        let values = PersonalValues(names: ["阿依古丽•买买提", "阿依古丽·买买提", "Ｊｏｈｎ Smith", "王  某"])
        for text in ["申请人 阿依古丽·买买提（阿依古丽•买买提）姓名有误", "applicant Ｊｏｈｎ Smith / JOHN SMITH / johnsmith",
                     "申请人阿依古丽买买提、阿依古丽・买买提、阿依古丽．买买提、阿依古丽 · 买买提", "王 某，王某，王　某"] {
            let out = PersonalData.redactPeerText(text, values: values)
            #expect(!out.contains("买买提") && !out.lowercased().contains("smith") && !out.contains("某"), "\(text) → \(out)")
        }
        #expect(PersonalData.redactPeerText("申请人阿依古丽・买买提的证件有误", values: values) == "申请人阿*的证件有误")
    }

    @Test func masksTheRecordsOwnNumbersWhereverTheyStand() {
        let values = PersonalValues(numbers: ["37100219800101015X", "0631-5201234", "13806310000"])
        let out = PersonalData.redactPeerText("ref5201234 / 520 1234 / ０６３１ ５２０１２３４ / 86 13806310000", values: values)
        #expect(!MaskingTests.projection(out).contains("5201234") && !MaskingTests.projection(out).contains("06310000"), "\(out)")
    }

    /// The leak checks' projection (full-width half-width, separators and middle dots removed,
    /// upper-cased): a value spelt any way shows up here as its letters and digits.
    static func projection(_ text: String) -> String { PersonalDataLeaks.projection(text) }

    /// The ways a peer or a log may spell a value the daemon holds in canonical form.
    static func spellings(id: String, _ g: inout NormalizerFuzzTests.Generator) -> [String] {
        let c = Array(id)
        let grouped = [String(c[0..<6]), String(c[6..<14]), String(c[14...])]
        return [id, grouped.joined(separator: " "), grouped.joined(separator: "-"), id.lowercased(), fullWidth(id), grouped.map(fullWidth).joined(separator: "\u{3000}")]
    }

    static func spellings(phone: String) -> [String] {
        guard phone.count == 11, !phone.contains("-") else {
            return [phone, phone.replacingOccurrences(of: "-", with: " "), "(" + phone.replacingOccurrences(of: "-", with: ")"), fullWidth(phone)]
        }
        let c = Array(phone)
        let groups = [String(c[0..<3]), String(c[3..<7]), String(c[7...])]
        return [phone, groups.joined(separator: " "), groups.joined(separator: "-"), "+86 " + phone, "+86 " + groups.joined(separator: "-"), "86" + phone, fullWidth(phone)]
    }

    static func fullWidth(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { (0x21...0x7E).contains($0.value) ? Unicode.Scalar($0.value + 0xFEE0)! : $0 }))
    }

    @Test func nothingOfTheFuzzGeneratorsPersonalDataSurvivesMasking() {
        let normalizer = ReservationNormalizer(catalogue: MatterCatalogue(matters: [
            .init(itemCode: "371002-XK-0012", name: "公司设立登记", deptCode: "11371002MB0000000B", throughIntake: true),
        ]), calendar: .weekendsOnly, settings: .weihai)
        var g = NormalizerFuzzTests.Generator(state: 42)
        let templates = ["INVALID_FIELD: idNumber %@ is not valid", "证件号码%@校验失败", "phone=%@;", "申请人“%@”的记录", "value %@ refused", "%@"]
        var checked = 0
        for _ in 0..<20_000 {
            let r = NormalizerFuzzTests.reservation(&g)
            guard case .deliverable(let n) = normalizer.normalize(r) else { continue }
            let c = n.content
            var values = [r.applicant.idNumber ?? "", r.applicant.phone ?? "", r.applicant.name ?? "", c.applicantName]
            if c.idType == "ID_CARD" { values += Self.spellings(id: c.idNumber, &g) }
            if !c.phone.isEmpty { values += Self.spellings(phone: c.phone) }
            for value in values where !value.isEmpty {
                let message = g.pick(templates).replacingOccurrences(of: "%@", with: value)
                let out = PersonalData.redactPeerText(message, values: PersonalValues(names: [r.applicant.name ?? "", c.applicantName],
                                                                                       numbers: [r.applicant.idNumber ?? "", r.applicant.phone ?? "", c.idNumber, c.phone]))
                let seen = Self.projection(out)
                if c.idType == "ID_CARD" { #expect(!seen.contains(c.idNumber), "\(message) → \(out)") }
                if c.phone.count == 11 { #expect(!seen.contains(c.phone), "\(message) → \(out)") }
                if c.phone.contains("-") { #expect(!seen.contains(c.phone.split(separator: "-")[1]), "\(message.unicodeScalars.map { String($0.value, radix: 16) }) → \(out)") }
                if c.applicantName.count >= 2 {
                    #expect(!Self.projection(out).contains(Self.projection(c.applicantName)), "\(message) → \(out)")
                }
                checked += 1
            }
        }
        #expect(checked > 20_000)
    }
}
