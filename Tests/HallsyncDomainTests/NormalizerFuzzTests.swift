import Foundation
import Testing
@testable import HallsyncDomain

/// 100,000 random and mutated reservations through the normaliser: it never crashes, and
/// every answer is either a hall body that satisfies the hall's rules or typed errors.
@Suite struct NormalizerFuzzTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
    }

    /// Scalars the portal sites are known to produce, and some they are not.
    static let alphabet: [Unicode.Scalar] = Array("0123456789Xx-_ ./:~+()（）【】[]·•・．‧０１２３４５６７８９Ｘ王李阿依古丽预约上午下午年月日至到—～〜".unicodeScalars)
        + ["\u{3000}", "\u{00A0}", "\u{FEFF}", "\u{200B}", "\u{0000}", "\u{0007}", "\u{D7FF}", "\u{E000}", "\u{1F600}", "\u{0301}", "\u{FF0D}", "\u{2212}"]

    static func randomText(_ g: inout Generator, maxLength: Int = 24) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<g.below(maxLength + 1) {
            if g.chance(10) {
                scalars.append(Unicode.Scalar(UInt32(g.below(0xD7FF)))!)
            } else {
                scalars.append(g.pick(alphabet))
            }
        }
        return String(scalars)
    }

    /// A small edit of a plausible value: insertions, deletions, case, width, duplication.
    static func mutate(_ text: String, _ g: inout Generator) -> String {
        var scalars = Array(text.unicodeScalars)
        for _ in 0..<(1 + g.below(3)) {
            switch g.below(7) {
            case 0 where !scalars.isEmpty: scalars.remove(at: g.below(scalars.count))
            case 1: scalars.insert(g.pick(alphabet), at: g.below(scalars.count + 1))
            case 2 where !scalars.isEmpty:
                let i = g.below(scalars.count)
                if (0x21...0x7E).contains(scalars[i].value) { scalars[i] = Unicode.Scalar(scalars[i].value + 0xFEE0)! }
            case 3: scalars += scalars.prefix(g.below(scalars.count + 1))
            case 4 where scalars.count > 1: scalars.removeLast(g.below(scalars.count))
            case 5: scalars.insert(" ", at: g.below(scalars.count + 1))
            default: scalars = Array(String(String.UnicodeScalarView(scalars)).lowercased().unicodeScalars)
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }

    static func plausibleID(_ g: inout Generator) -> String {
        let seventeen = "371002" + String(1930 + g.below(80)) + String(format2(1 + g.below(12))) + format2(1 + g.below(28)) + String(100 + g.below(900))
        return seventeen + String(ResidentIdentityNumber.checkCharacter(for: seventeen)!)
    }

    static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func reservation(_ g: inout Generator) -> PortalReservation {
        // Some records are clean, some have a field or two spoilt, some are mostly noise.
        let dirt = g.pick([0, 2, 6, 40])
        func field(_ plausible: [String]) -> String? {
            guard g.below(100) < dirt else { return g.pick(plausible) }
            switch g.below(6) {
            case 0: return nil
            case 1: return ""
            case 2: return randomText(&g)
            default: return mutate(g.pick(plausible), &g)
            }
        }
        let orgSeventeen = "91371002MA3C" + String(10000 + g.below(90000))
        let orgCode = orgSeventeen + String(SocialCreditCode.checkCharacter(for: orgSeventeen)!)
        let id = plausibleID(&g)
        return PortalReservation(
            reservationId: "YY\(g.next())", version: 1 + g.below(9), updateTime: "2021-09-08 09:14:55",
            status: field(["SUBMITTED", "CANCELLED"]) ?? "SUBMITTED",
            handleMode: field(["HALL", "HALL", "HALL", "PHONE"]),
            applicant: .init(type: field(["PERSON", "ORG", "person"]),
                             name: field(["王某", " 王某 ", "\u{3000}阿依古丽•买买提", "Ｊｏｈｎ  Smith", "欧阳・娜娜"]),
                             idType: field(["ID_CARD", "ID_CARD", "PASSPORT", "HK_MACAO_PERMIT", "TAIWAN_PERMIT", "FOREIGN_PR", "id_card"]),
                             idNumber: field([id, id.lowercased(), String(id.dropLast()) + (id.last == "0" ? "1" : "0"), String(id.prefix(6) + id.dropFirst(8).prefix(9)), "E12345678", "３７１００２ " + id.dropFirst(6)]),
                             orgName: field(["威海某某有限公司"]), orgCode: field([orgCode, orgCode.lowercased()]),
                             phone: field(["13806310000", "138 0631 0000", "+86 13806310000", "8613806310000", "(0631)5201234", "5201234", "52012345", "１３８０６３１００００"])),
            regionCode: field(["371002"]), deptCode: field(["11371002MB0000000B"]),
            itemCode: field(["371002-XK-0012", "371002-XK-0107", "371002-XX-9999"]),
            itemName: field(["公司设立登记", "（预约）公司设立登记", "(预约)公司设立登记", "【预约】公司设立登记", "(预约) 公司设立登记"]),
            appointmentDate: field(["2021-09-11", "2021/09/11", "2021-9-11", "20210911", "2026-12-31", "2031-05-01", "2021-02-29"]),
            appointmentSlot: field(["10:00-10:30", "10:00~10:30", "10:00～10:30", "10:00—10:30", "10:00", "上午", "下午"]))
    }

    /// An upper-case, half-width, trimmed reading of a keyword, written here independently of `TextCleaning`.
    static func plain(_ raw: String?) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in (raw ?? "").unicodeScalars {
            if (0xFF01...0xFF5E).contains(scalar.value) { scalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!) }
            else if !(scalar.properties.isWhitespace || [0x3000, 0xFEFF, 0xA0].contains(scalar.value)) { scalars.append(scalar) }
        }
        return String(scalars).uppercased()
    }

    /// What the hall requires of a body, checked independently of how the normaliser gets there.
    static func violations(_ n: NormalizedReservation, calendar: WorkingCalendar) -> [String] {
        var problems: [String] = []
        let c = n.content
        if !c.itemName.hasPrefix("（预约）") || MatterName.strippingReservationPrefix(String(c.itemName.dropFirst(4))) != String(c.itemName.dropFirst(4)) || c.itemName.count <= 4 {
            problems.append("itemName \(c.itemName)")
        }
        guard let register = BeijingTime(parsing: c.registerTime), let deadline = BeijingTime(parsing: c.deadline) else {
            return problems + ["times \(c.registerTime) \(c.deadline)"]
        }
        if deadline <= register || deadline.secondOfDay != register.secondOfDay || !calendar.isWorkingDay(deadline.date) {
            problems.append("deadline \(c.deadline) for \(c.registerTime)")
        }
        var between = register.date.adding(days: 1)
        while between < deadline.date {
            if calendar.isWorkingDay(between) { problems.append("deadline skips working day \(between)") }
            between = between.adding(days: 1)
        }
        if c.idType == "ID_CARD" {
            if c.idNumber.count != 18 || ResidentIdentityNumber.checkCharacter(for: c.idNumber.prefix(17)) != c.idNumber.last {
                problems.append("idNumber \(c.idNumber)")
            }
        } else if !(5...20).contains(c.idNumber.count) || !c.idNumber.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }) {
            problems.append("document \(c.idNumber)")
        }
        if c.applicantType == "ORG" {
            if c.orgCode == nil || SocialCreditCode.checkCharacter(for: c.orgCode!.prefix(17)) != c.orgCode!.last { problems.append("orgCode") }
        } else if c.applicantType != "PERSON" {
            problems.append("applicantType \(c.applicantType)")
        }
        let mobile = c.phone.count == 11 && c.phone.hasPrefix("1") && c.phone.allSatisfy { $0.isASCII && $0.isNumber }
        let parts = c.phone.split(separator: "-")
        let landline = parts.count == 2 && parts[0].hasPrefix("0") && (3...4).contains(parts[0].count)
            && (7...8).contains(parts[1].count) && !parts[1].hasPrefix("0") && c.phone.allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "-" }
        if !(mobile || landline || (c.phone.isEmpty && !c.remark.isEmpty)) { problems.append("phone \(c.phone) remark \(c.remark)") }
        let name = c.applicantName
        let badScalars: Set<Unicode.Scalar> = ["\u{2022}", "\u{30FB}", "\u{FF0E}", "\u{2027}", "\u{3000}"]
        if name.isEmpty || name.first == " " || name.last == " " || name.contains("  ")
            || name.unicodeScalars.contains(where: { badScalars.contains($0) || (0xFF01...0xFF5E).contains($0.value) || $0.properties.generalCategory == .control }) {
            problems.append("name \(name.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        return problems
    }

    @Test func neverCrashesAndAnswersEitherAValidBodyOrTypedErrors() throws {
        let calendar = try RepositoryFiles.projectCalendar()
        let normalizer = ReservationNormalizer(catalogue: catalogue, calendar: calendar, settings: .weihai)
        let known = Set(DomainError.Code.all)
        var g = Generator(state: 20_210_911)
        var tally: [String: Int] = [:]
        var failures: [String] = []
        for _ in 0..<100_000 {
            let input = Self.reservation(&g)
            switch normalizer.normalize(input) {
            case .deliverable(let n):
                tally["deliverable", default: 0] += 1
                let problems = Self.violations(n, calendar: calendar)
                if !problems.isEmpty { failures.append("\(input): \(problems)") }
                if n.reservationId != input.reservationId || n.version != input.version { failures.append("identity changed") }
            case .phoneVerifiedOnly:
                tally["phone", default: 0] += 1
                if Self.plain(input.handleMode) != "PHONE" { failures.append("phone-only without PHONE: \(String(describing: input.handleMode))") }
            case .undeliverable(let errors):
                tally["undeliverable", default: 0] += 1
                if errors.isEmpty { failures.append("undeliverable without a reason: \(input)") }
                for e in errors where !known.contains(e.code) || e.field.isEmpty || e.zh.isEmpty || e.en.isEmpty {
                    failures.append("untyped error \(e)")
                }
                for code in Set(errors.map(\.code.rawValue)) { tally[code, default: 0] += 1 }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, the first: \(failures.prefix(5))")
        // The generator reaches every outcome and the main error codes, or the test proves little.
        #expect(tally["deliverable", default: 0] > 10_000)
        #expect(tally["undeliverable", default: 0] > 10_000)
        #expect(tally["phone", default: 0] > 1_000)
        for code in [DomainError.Code.missingField, .handleModeUnknown, .statusUnknown, .idFormat, .idCheckDigit, .idTypeUnknown, .applicantType, .appointmentDate, .appointmentSlot, .orgCodeCheck] {
            #expect(tally[code.rawValue, default: 0] > 0, "never produced \(code)")
        }
    }
}
