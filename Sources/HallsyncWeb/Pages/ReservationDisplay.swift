import Foundation
import HallsyncDomain
import HallsyncStore

/// A reservation as one account may see it: names and phones in full only for the account's
/// own department's staff, else masked; codes in words.
struct Shown {
    /// The appointment's day and its slot (or time), apart: a list may put them on two lines.
    var appointmentDay, appointmentTime: String
    var id, deadline, departmentCode, department, matter, state, portal, name, phone, call: String
    /// Each hall's item: its number and status, or empty.
    var copies: PerHall<String>
    var overdue, attention, inFull, hasPersonalData, cancelledOnline: Bool

    /// `2021-09-11 10:00-10:30`: as exports and records show it.
    var appointment: String { AppointmentText.joined(appointmentDay, appointmentTime) }

    var dictionary: [String: Any] {
        ["id": id, "appointment": appointment, "deadline": deadline, "department": department, "departmentCode": departmentCode, "matter": matter,
         // A hall item's number above its status: two short lines rather than one wide column.
         "state": state, "copies": copies.map { ["copy": $0.value.replacingOccurrences(of: " ", with: "\n")] },
         "portal": portal, "name": name, "phone": phone, "overdue": overdue,
         "attention": attention,
         // In a list, the day and the slot may go on two lines (the table fits an office screen), never broken inside.
         "appointmentDay": appointmentDay, "appointmentTime": appointmentTime]
    }
}

extension WebPages {
    func display(_ row: ReservationRow, for account: Account, now: BeijingTime, departmentNames: [String: String]) -> Shown {
        let inFull = account.seesInFull(department: row.department)
        let rawName = row.applicantName, rawPhone = row.phone
        let name = (try? PersonName.normalize(rawName)) ?? rawName.trimmingCharacters(in: .whitespaces)
        let phone = row.state == .phone || row.state == .held ? PhoneNumber.normalize(rawPhone, areaCode: configuration.site.areaCode).canonical : rawPhone
        let shownPhone = phone.isEmpty ? rawPhone : phone
        func copy(_ c: ReservationRow.CopyState?) -> String {
            guard let c else { return "" }
            return (c.itemNo ?? "（未建）") + " " + ClerkLabels.hallStatus(c.status) + (c.blocked ? "（拒收）" : "")
        }
        let erased = row.purged ? "（已按保存期限删除）" : ""
        let code = row.department ?? ""
        let when = AppointmentText.parts(date: row.appointmentDate, slot: row.appointmentSlot, registerTime: row.registerTime)
        return Shown(
            appointmentDay: when.day, appointmentTime: when.time, id: row.id,
            deadline: AppointmentText.minutes(row.deadline), departmentCode: code, department: departmentNames[code] ?? code,
            matter: Self.matterText(code: row.matter, name: row.matterName), state: Self.stateName(row.state),
            portal: row.portalStatus.map(ClerkLabels.processStatus) ?? "—",
            name: row.purged ? erased : (inFull ? name : PersonalData.maskName(name)),
            phone: row.purged ? erased : (shownPhone.isEmpty ? "（未留电话）" : (inFull ? shownPhone : PersonalData.maskPhone(shownPhone))),
            call: row.phoneCall.map(ClerkLabels.callResult) ?? "", copies: row.copies.map { copy($1) },
            overdue: row.state == .pending && (row.deadline.map { $0 < now.description } ?? false), attention: row.openAttention > 0,
            inFull: inFull, hasPersonalData: !row.purged && (!name.isEmpty || !shownPhone.isEmpty), cancelledOnline: false)
    }

    /// `公司设立登记（371002-XK-0012）`, or the code alone.
    static func matterText(code: String?, name: String?) -> String {
        guard let name, !name.isEmpty else { return code ?? "—" }
        return code.map { "\(name)（\($0)）" } ?? name
    }

    static func stateName(_ state: ReservationState) -> String {
        switch state {
        case .pending: return "待处理"
        case .handled: return "已办理"
        case .consulted: return "已咨询"
        case .cancelled: return "已取消"
        case .phone: return "电话核实"
        case .held: return "暂缓（数据有误）"
        }
    }

    /// Free text a clerk typed (a call's note, a resolution): it may hold a phone number or a
    /// name, so it is shown like the record's personal data — in full to the department's own
    /// staff (whose view of the record is audited), masked for everyone else.
    static func clerkText(_ text: String, inFull: Bool, values: PersonalValues) -> String {
        inFull ? text : PersonalData.redactPeerText(text, values: values)
    }
}

/// Appointments and deadlines in one form on every page: `2021-09-11 10:00-10:30` (the date and
/// the slot the applicant chose), `2021-09-11 上午`, `2021-09-13 10:00`.
enum AppointmentText {
    static func of(date: String?, slot: String?, registerTime: String?) -> String {
        let (day, time) = parts(date: date, slot: slot, registerTime: registerTime)
        return joined(day, time)
    }

    /// The day and the slot (or the time), each possibly empty.
    static func parts(date: String?, slot: String?, registerTime: String?) -> (day: String, time: String) {
        (date ?? registerTime.map { String($0.prefix(10)) } ?? "", slotText(slot) ?? registerTime.map { String($0.dropFirst(11).prefix(5)) } ?? "")
    }

    static func joined(_ day: String, _ time: String) -> String {
        [day, time].filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// `yyyy-MM-dd HH:mm:ss` without its seconds.
    static func minutes(_ time: String?) -> String {
        guard let time else { return "" }
        return time.count == 19 && time.hasSuffix(":00") ? String(time.prefix(16)) : time
    }

    /// The slot as `HH:mm-HH:mm` (or `HH:mm`, `上午`, `下午`) when it reads as one; else the text,
    /// cleaned, when there is any.
    static func slotText(_ raw: String?) -> String? {
        guard let raw else { return nil }
        // The common form, as it is (an export reads a hundred thousand of them).
        if raw.utf8.count == 11, raw.utf8.elementsEqual(raw.utf8.enumerated().map { index, byte in
            [2, 8].contains(index) ? UInt8(ascii: ":") : index == 5 ? UInt8(ascii: "-") : (0x30...0x39).contains(byte) ? byte : 0
        }) { return raw }
        let plain = String(String.UnicodeScalarView(raw.unicodeScalars.map { scalar -> Unicode.Scalar in
            // Full-width digits and colon, as some portals send them.
            if (0xFF10...0xFF19).contains(scalar.value) || scalar.value == 0xFF1A { return Unicode.Scalar(scalar.value - 0xFEE0)! }
            return scalar
        })).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !plain.isEmpty else { return nil }
        if plain.hasPrefix("上午") || plain.hasPrefix("下午") { return String(plain.prefix(2)) }
        let separators: Set<Character> = ["-", "~", "～", "—", "–", "至", "到", "〜", "−"]
        let parts = plain.split(whereSeparator: { separators.contains($0) }).map { clock($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 2, let start = parts[0], let end = parts[1] { return "\(start)-\(end)" }
        if parts.count == 1, let start = parts[0] { return start }
        return String(plain.prefix(20))
    }

    /// `9:00`, `09:00`, `09:00:00` → `09:00`.
    static func clock(_ text: String) -> String? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), (1...2).contains(parts[0].count), parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let h = Int(parts[0]), let m = Int(parts[1]), h < 24, m < 60 else { return nil }
        return String(format: "%02d:%02d", h, m)
    }
}
