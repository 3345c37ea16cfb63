import Foundation
import HallsyncDomain
import Synchronization

/// Generates reservations the way the portal's sites produce them: dirty values of every
/// kind listed in contract §2.3, pre-upgrade PHONE reservations, unknown matters, records no
/// normaliser can repair, and reschedules. It remembers what each one should become in the
/// halls, worked out on its own (not by the daemon's normaliser), for ``SiteVerifier``.
public final class TrafficGenerator: @unchecked Sendable {
    /// A matter of the stand-in site's catalogue.
    public struct Matter: Sendable {
        public let itemCode: String
        public let name: String
        public let deptCode: String
        public let throughIntake: Bool
    }

    /// What a reservation must become in the halls.
    public struct Expectation: Sendable, Hashable {
        public var reservationId: String
        public var targets: Set<HallTarget>
        /// False when the data cannot be made valid: it must be on the attention list instead.
        public var deliverable: Bool
        public var phoneOnly: Bool
        public var registerTime: String
        public var itemName: String
        public var idNumber: String
        public var phone: String
        /// The applicant cancelled online.
        public var cancelled = false
        /// What the portal lied about this reservation (the lying-peer mode), if anything.
        public var lie: PortalLie?
        /// The region the record carries (another one's, when the portal lists it in ours: a lie).
        public var regionCode = ""
    }

    /// A way the portal errs in content (the lying-peer mode).
    public enum PortalLie: String, Sendable, Hashable, CaseIterable {
        /// A record of another region, in our region's list.
        case foreignRegion
        /// A new version of a delivered reservation names another applicant.
        case identitySwap
        /// The id issued again, at version 1, for another applicant.
        case reissue
        /// A reservation whose cancellation was carried out listed as submitted again.
        case revive
        /// An appointment in 1970 or 2099.
        case implausibleDate
        /// A processing status hallsync never pushed.
        case unexplainedStatus
        /// The newest version sent again with other content under its number.
        case sameVersionOtherContent
    }

    public static let matters: [Matter] = [
        Matter(itemCode: "371002-XK-0012", name: "公司设立登记", deptCode: "11371002MB0000000B", throughIntake: true),
        Matter(itemCode: "371002-XK-0031", name: "食品经营许可", deptCode: "11371002MB0000000B", throughIntake: true),
        Matter(itemCode: "371002-XK-0107", name: "建筑工程施工许可证核发", deptCode: "11371002MB0000001C", throughIntake: false),
        Matter(itemCode: "371002-GG-0005", name: "社会保障卡补领", deptCode: "11371002MB0000002D", throughIntake: true),
        Matter(itemCode: "371002-XK-0220", name: "道路运输经营许可", deptCode: "11371002MB0000003E", throughIntake: false),
        Matter(itemCode: "371002-QT-0009", name: "户籍证明开具", deptCode: "11371002MB0000004F", throughIntake: true),
    ]

    /// The catalogue CSV the daemon is configured with.
    public static var catalogueCSV: String {
        "itemCode,matterName,deptCode,throughIntake\n" + matters.map { "\($0.itemCode),\($0.name),\($0.deptCode),\($0.throughIntake)" }.joined(separator: "\n") + "\n"
    }

    public let portal: PortalStandIn
    public let regionCode: String
    private let state = Mutex<State>(State())

    struct State: Sendable {
        var counter = 0
        var expectations: [String: Expectation] = [:]
        var reschedulable: [String] = []
        var cancelled: [String] = []
        var rng = SplitMix64(seed: 20210911)
    }

    public init(portal: PortalStandIn, seed: UInt64 = 20210911) {
        self.portal = portal
        self.regionCode = portal.regionCode
        state.withLock { $0.rng = SplitMix64(seed: seed) }
    }

    public var expectations: [Expectation] { state.withLock { Array($0.expectations.values) } }

    /// What one reservation must become, nil if it was not generated here.
    public func expectation(_ reservationId: String) -> Expectation? { state.withLock { $0.expectations[reservationId] } }
    public var generatedCount: Int { state.withLock { $0.counter } }

    /// The applicant of a random earlier reservation cancels it online; returns its id.
    @discardableResult
    public func cancelOne() -> String? {
        let id: String? = state.withLock { s in
            guard !s.reschedulable.isEmpty else { return nil }
            let index = Int(s.rng.next() % UInt64(s.reschedulable.count))
            let id = s.reschedulable.remove(at: index)
            s.expectations[id]?.cancelled = true
            s.cancelled.append(id)
            return id
        }
        guard let id else { return nil }
        portal.cancel(id)
        return id
    }

    /// Staff close a random open item in one of the halls, as 办理 or 咨询 (origin `STAFF`).
    @discardableResult
    public func staffActOnOne(in halls: [HallStandIn]) -> (hall: HallTarget, itemNo: String, action: HallAction)? {
        let (hallIndex, pick, handle) = state.withLock { s in (Int(s.rng.next() % UInt64(halls.count)), s.rng.next(), s.rng.next() % 4 != 0) }
        let hall = halls[hallIndex]
        let open = hall.allItems().filter { $0.status == "PENDING" }
        guard !open.isEmpty else { return nil }
        let item = open[Int(pick % UInt64(open.count))]
        let action: HallAction = handle ? .handle : .consult
        return hall.staffAct(itemNo: item.itemNo, action: action, operator: ["李四", "张三", "王五"][Int(pick % 3)]) ? (hall.target, item.itemNo, action) : nil
    }

    /// Publishes one new reservation; with `rescheduleRate`, sometimes reschedules an earlier one
    /// instead. `at` (Unix seconds in the past) back-dates it, for a backlog.
    @discardableResult
    public func step(rescheduleRate: Double = 0.1, at past: Double? = nil) -> String {
        let reservation = state.withLock { s -> PortalReservation in
            if !s.reschedulable.isEmpty, Double(s.rng.next() % 1000) / 1000 < rescheduleRate {
                let id = s.reschedulable[Int(s.rng.next() % UInt64(s.reschedulable.count))]
                if var current = portal.reservation(id: id), var e = s.expectations[id] {
                    let (date, slot, start) = Self.appointment(&s.rng)
                    current.appointmentDate = date
                    current.appointmentSlot = slot
                    e.registerTime = start
                    s.expectations[id] = e
                    return current
                }
            }
            s.counter += 1
            let (r, e) = Self.make(number: s.counter, region: regionCode, rng: &s.rng)
            s.expectations[r.reservationId] = e
            if e.deliverable && !e.phoneOnly { s.reschedulable.append(r.reservationId) }
            return r
        }
        portal.publish(reservation, at: past)
        return reservation.reservationId
    }

    // MARK: Lies

    /// The portal errs once in one of its ways, on a random reservation where it needs one;
    /// returns what it did, nil when there was nothing to do it to.
    @discardableResult
    public func lie() -> (PortalLie, String)? {
        let kind = state.withLock { s in PortalLie.allCases[Int(s.rng.next() % UInt64(PortalLie.allCases.count))] }
        return lie(kind).map { (kind, $0) }
    }

    /// The portal errs in this way; returns the reservation concerned.
    @discardableResult
    public func lie(_ kind: PortalLie) -> String? {
        enum Act { case publish(PortalReservation), reissue(PortalReservation), republish(PortalReservation), none }
        let act: Act = state.withLock { s in
            func pick(_ ids: [String]) -> String? { ids.isEmpty ? nil : ids[Int(s.rng.next() % UInt64(ids.count))] }
            switch kind {
            case .foreignRegion, .implausibleDate:
                s.counter += 1
                var (r, e) = Self.make(number: s.counter, region: regionCode, rng: &s.rng)
                if kind == .foreignRegion {
                    r.regionCode = String(regionCode.prefix(4)) + (regionCode.hasSuffix("03") ? "04" : "03")
                } else {
                    r.appointmentDate = s.rng.next() % 2 == 0 ? "1970-01-01" : "2099-12-31"
                }
                e.lie = kind
                e.regionCode = r.regionCode ?? ""
                e.targets = []
                s.expectations[r.reservationId] = e
                return .publish(r)
            case .identitySwap, .unexplainedStatus, .sameVersionOtherContent, .reissue:
                guard let id = pick(s.reschedulable), var current = portal.reservation(id: id) else { return .none }
                s.expectations[id]?.lie = kind
                s.reschedulable.removeAll { $0 == id }
                switch kind {
                case .unexplainedStatus:
                    current.processStatus = s.rng.next() % 2 == 0 ? "HANDLED" : "CONSULTED"
                    return .publish(current)
                case .sameVersionOtherContent:
                    current.appointmentSlot = current.appointmentSlot == "上午" ? "下午" : "上午"
                    return .republish(current)
                default:
                    let (other, _) = Self.make(number: s.counter + 1_000_000, region: regionCode, rng: &s.rng)
                    current.applicant = other.applicant
                    current.applicant.type = "PERSON"
                    current.applicant.idNumber = Self.identity(&s.rng).0
                    return kind == .reissue ? .reissue(current) : .publish(current)
                }
            case .revive:
                guard let id = pick(s.cancelled), var current = portal.reservation(id: id) else { return .none }
                s.cancelled.removeAll { $0 == id }
                s.expectations[id]?.lie = kind
                current.status = "SUBMITTED"
                return .publish(current)
            }
        }
        switch act {
        case .publish(let r): portal.publish(r); return r.reservationId
        case .reissue(let r): portal.reissue(r); return r.reservationId
        case .republish(let r): return portal.republishSameVersion(r)?.reservationId
        case .none: return nil
        }
    }

    // MARK: Making dirty reservations

    static func make(number: Int, region: String, rng: inout SplitMix64) -> (PortalReservation, Expectation) {
        let id = "YY\(region)\(BeijingTime.now().date.description.replacingOccurrences(of: "-", with: ""))\(String(format: "%07d", number))"
        func roll(_ n: UInt64) -> Int { Int(rng.next() % n) }
        // Applicant.
        let isOrg = roll(10) == 0
        let (idClean, idDirty, idValid) = identity(&rng)
        let (nameDirty, _) = name(&rng)
        let (phoneDirty, phoneClean) = phone(&rng)
        var applicant = PortalReservation.Applicant(type: isOrg ? "ORG" : "PERSON", name: nameDirty, idType: "ID_CARD",
                                                    idNumber: idDirty, phone: phoneDirty)
        if isOrg {
            applicant.orgName = "威海市某某科技有限公司"
            applicant.orgCode = creditCode(&rng)
        }
        // Matter: mostly from the catalogue, sometimes one it does not list.
        let unknown = roll(25) == 0
        let matter = unknown ? Matter(itemCode: "371002-ZZ-\(String(format: "%04d", roll(9000) + 1000))", name: "临时便民服务事项", deptCode: "11371002MB0000009Z", throughIntake: true)
                             : matters[roll(UInt64(matters.count))]
        let prefixes = ["", "", "", "（预约）", "(预约)", "【预约】", "(预约) "]
        let (date, slot, start) = appointment(&rng)
        let phoneOnly = roll(20) == 0
        let r = PortalReservation(
            reservationId: id, version: 1, updateTime: "", status: "SUBMITTED", processStatus: nil,
            handleMode: phoneOnly ? "PHONE" : "HALL", applicant: applicant, regionCode: region, deptCode: matter.deptCode,
            deptName: "环翠区行政审批服务局", itemCode: matter.itemCode, itemName: prefixes[roll(UInt64(prefixes.count))] + matter.name,
            appointmentDate: date, appointmentSlot: slot, channel: ["PROVINCE_PORTAL", "CITY_SITE", "DISTRICT_SITE"][roll(3)])
        let targets: Set<HallTarget> = phoneOnly || !idValid ? [] : (unknown || !matter.throughIntake ? [.licensing] : [.intake, .licensing])
        return (r, Expectation(reservationId: id, targets: targets, deliverable: idValid, phoneOnly: phoneOnly, registerTime: start,
                               itemName: "（预约）" + matter.name, idNumber: idClean, phone: phoneClean, regionCode: region))
    }

    static let fullWidthDigits = Array("０１２３４５６７８９")

    static func fullWidth(_ s: String) -> String {
        String(s.map { c in c.wholeNumberValue.map { fullWidthDigits[$0] } ?? c })
    }

    /// (canonical, as the portal sends it, valid?)
    static func identity(_ rng: inout SplitMix64) -> (String, String, Bool) {
        let year = 1950 + Int(rng.next() % 55), month = 1 + Int(rng.next() % 12), day = 1 + Int(rng.next() % 28)
        let seq = String(format: "%03d", Int(rng.next() % 1000))
        let birth = String(format: "%04d%02d%02d", year, month, day)
        let seventeen = "371002" + birth + seq
        let check = checkDigit(seventeen)
        let clean = seventeen + String(check)
        switch rng.next() % 12 {
        case 0:  // first-generation 15 digits
            let fifteen = "371002" + String(birth.dropFirst(2)) + seq
            let converted = "371002" + "19" + String(birth.dropFirst(2)) + seq
            return (converted + String(checkDigit(converted)), fifteen, true)
        case 1: return (clean, fullWidth(clean), true)
        case 2: return (clean, clean.prefix(6) + " " + clean.dropFirst(6).prefix(8) + " " + clean.suffix(4), true)
        case 3: return (clean, clean.prefix(6) + "-" + clean.dropFirst(6).prefix(8) + "-" + clean.suffix(4), true)
        case 4: return (clean, clean.lowercased(), true)
        case 5 where rng.next() % 3 == 0:  // a wrong check digit: cannot be repaired
            let wrong = Array("0123456789X").filter { $0 != check }[Int(rng.next() % 10)]
            return (clean, seventeen + String(wrong), false)
        default: return (clean, clean, true)
        }
    }

    static func checkDigit(_ seventeen: String) -> Character {
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(seventeen, w).reduce(0) { $0 + $1.0.wholeNumberValue! * $1.1 }
        return Array("10X98765432")[sum % 11]
    }

    static func creditCode(_ rng: inout SplitMix64) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        let w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
        var chars = Array("91371002")
        while chars.count < 17 { chars.append(alphabet[Int(rng.next() % 31)]) }
        let sum = zip(chars, w).reduce(0) { $0 + alphabet.firstIndex(of: $1.0)! * $1.1 }
        return String(chars) + String(alphabet[(31 - sum % 31) % 31])
    }

    static func name(_ rng: inout SplitMix64) -> (String, String) {
        let names = ["王某", "李某某", "张三", "阿依古丽·买买提", "迪丽热巴·迪力木拉提", "John Smith"]
        let clean = names[Int(rng.next() % UInt64(names.count))]
        let dots = ["·", "•", "・", "．", "‧"]
        var dirty = clean.replacingOccurrences(of: "·", with: dots[Int(rng.next() % 5)])
        switch rng.next() % 5 {
        case 0: dirty = "  " + dirty + " "
        case 1: dirty = "\u{3000}" + dirty
        case 2: dirty = dirty.replacingOccurrences(of: " ", with: "   ")
        case 3: dirty = String(dirty.map { c in c.isASCII && c.isLetter ? Character(Unicode.Scalar(c.unicodeScalars.first!.value + 0xFEE0)!) : c })
        default: break
        }
        return (dirty, clean)
    }

    static func phone(_ rng: inout SplitMix64) -> (String, String) {
        let mobile = "138" + String(format: "%08d", Int(rng.next() % 100_000_000))
        let local = "52" + String(format: "%05d", Int(rng.next() % 100_000))
        let m = Array(mobile)
        switch rng.next() % 11 {
        case 0: return ("\(String(m[0..<3])) \(String(m[3..<7])) \(String(m[7...]))", mobile)
        case 1: return ("\(String(m[0..<3]))-\(String(m[3..<7]))-\(String(m[7...]))", mobile)
        case 2: return ("+86 " + mobile, mobile)
        case 3: return ("86" + mobile, mobile)
        case 4: return ("(0631)" + local, "0631-" + local)
        case 5: return ("0631-" + local, "0631-" + local)
        case 6: return (local, "0631-" + local)
        case 7: return (fullWidth(mobile), mobile)
        case 8: return ("", "")
        default: return (mobile, mobile)
        }
    }

    /// (portal date, portal slot, expected registerTime)
    static func appointment(_ rng: inout SplitMix64) -> (String, String, String) {
        let date = BeijingTime.now().date.adding(days: 1 + Int(rng.next() % 20))
        let y = date.year, m = date.month, d = date.day
        let dates = [date.description, String(format: "%04d/%02d/%02d", y, m, d), "\(y)-\(m)-\(d)", String(format: "%04d%02d%02d", y, m, d)]
        let hour = 9 + Int(rng.next() % 8)
        let minute = rng.next() % 2 == 0 ? 0 : 30
        let startText = String(format: "%02d:%02d", hour, minute)
        let endText = String(format: "%02d:%02d", minute == 30 ? hour + 1 : hour, minute == 30 ? 0 : 30)
        var slots = ["\(startText)-\(endText)", "\(startText)~\(endText)", "\(startText)～\(endText)", "\(startText)—\(endText)", startText]
            .map { ($0, startText) }
        slots += [("上午", "09:00"), ("下午", "13:30")]
        let slot = slots[Int(rng.next() % UInt64(slots.count))]
        return (dates[Int(rng.next() % UInt64(dates.count))], slot.0, "\(date) \(slot.1):00")
    }
}

/// A small seeded generator, so a run can be repeated.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
