import Foundation
import HallsyncDomain

/// The lying-peer mode's verdict: after a run against halls and a portal that err in content
/// (``HallStandIn/Lies``, ``TrafficGenerator/PortalLie``), what must hold whatever they said —
/// invariants over what the peers really hold, what hallsync recorded and its attention list,
/// not an exact expectation per reservation (a lie may rightly leave one for a person):
///
/// 1. no hall item belongs to two reservations: each item hallsync records as a copy is one item
///    of that reservation in that hall;
/// 2. nothing twice: at most one item hallsync made per reservation and hall;
/// 3. every staff outcome in a hall is mirrored and pushed, or its reservation is on the attention list;
/// 4. every reservation the portal holds live and routed has an open item of ours in each routed
///    hall (or an outcome), or an attention entry;
/// 5. nothing of another region is in our halls;
/// 6. the portal shows HANDLED or CONSULTED only where staff gave that outcome, or the reservation
///    is on the attention list.
public struct ModelCheck: Sendable, CustomStringConvertible {
    /// One copy hallsync holds: the reservation, the hall, the item number.
    public struct Copy: Hashable, Sendable {
        public var reservationId: String
        public var target: HallTarget
        public var itemNo: String
        public init(reservationId: String, target: HallTarget, itemNo: String) {
            self.reservationId = reservationId
            self.target = target
            self.itemNo = itemNo
        }
    }

    public var violations: [String] = []
    /// What the run covered.
    public var reservations = 0
    public var portalLies = 0
    public var hallLies = 0
    public var staffOutcomes = 0
    public var shown = 0

    public var passed: Bool { violations.isEmpty }

    public var description: String {
        "reservations=\(reservations) portalLies=\(portalLies) hallLies=\(hallLies) staffOutcomes=\(staffOutcomes) onTheAttentionList=\(shown) violations=\(violations.count)"
    }

    public init() {}
}

extension StandInSite {
    /// Checks the invariants of ``ModelCheck`` on what the site's peers hold now.
    /// - Parameters:
    ///   - copies: every copy hallsync records with an item number.
    ///   - attention: the codes of the open attention entries, by reservation.
    public func modelCheck(copies: [ModelCheck.Copy], attention: [String: Set<String>]) -> ModelCheck {
        var check = ModelCheck()
        let halls: [HallTarget: HallStandIn] = [.intake: intake, .licensing: licensing]
        let items: [HallTarget: [String: HallStandIn.Item]] = halls.mapValues { Dictionary(uniqueKeysWithValues: $0.allItems().map { ($0.itemNo, $0) }) }
        let shown = Set(attention.filter { !$0.value.isEmpty }.keys)
        check.shown = shown.count
        check.hallLies = halls.values.map { l in
            let log = l.lieLog
            return log.createsAnsweredWithOthersItem + log.mislabelled.count + log.counterItems.count + log.rewinds
                + log.closedAnswersSayingPending + log.unknownStatuses.count
        }.reduce(0, +)
        var fail: [String] = []

        // 1. One item, one reservation.
        var owners: [String: String] = [:]
        var ours: [HallTarget: [String: String]] = [:]   // reservation → its copy's item
        for copy in copies {
            let key = "\(copy.target)/\(copy.itemNo)"
            if let other = owners[key], other != copy.reservationId { fail.append("\(key) is recorded for \(other) and \(copy.reservationId)") }
            owners[key] = copy.reservationId
            ours[copy.target, default: [:]][copy.reservationId] = copy.itemNo
            guard let item = items[copy.target]?[copy.itemNo] else { continue }   // a hall that lost it: shown elsewhere
            if item.externalId != copy.reservationId {
                fail.append("\(copy.reservationId) records \(key), which is \(item.externalId)'s item")
            }
        }

        // 2. Nothing twice (items made at the counter are not hallsync's).
        for (target, byNumber) in items {
            let made = Dictionary(grouping: byNumber.values.filter { $0.source != "COUNTER" }, by: \.externalId)
            for (id, list) in made where list.count > 1 { fail.append("\(id): \(list.count) items made in \(target)") }
        }

        // 3. Staff outcomes mirrored and pushed, or shown.
        let expectations = Dictionary(uniqueKeysWithValues: generator.expectations.map { ($0.reservationId, $0) })
        check.reservations = expectations.count
        check.portalLies = expectations.values.filter { $0.lie != nil }.count
        for (target, hall) in halls {
            for change in hall.history where change.origin == "STAFF" && (change.status == "HANDLED" || change.status == "CONSULTED") {
                check.staffOutcomes += 1
                let id = change.externalId
                if shown.contains(id) { continue }
                guard ours[target]?[id] == change.itemNo else {
                    fail.append("\(id): a staff outcome on \(target) item \(change.itemNo), not hallsync's, is on no attention list")
                    continue
                }
                let outcomes = HallTarget.allCases.flatMap { t in (ours[t]?[id]).map { no in halls[t]!.history.filter { $0.itemNo == no && $0.origin == "STAFF" } } ?? [] }
                guard let first = outcomes.first, outcomes.allSatisfy({ $0.status == first.status }) else { continue }   // a conflict: item 3's job below
                for t in HallTarget.allCases {
                    if let no = ours[t]?[id], let item = items[t]?[no], item.status != first.status {
                        fail.append("\(id): \(t) is \(item.status), the staff outcome is \(first.status), and nothing is on the attention list")
                    }
                }
                let routed = expectations[id]?.targets ?? [target]
                if routed.allSatisfy({ ours[$0]?[id] != nil }), portal.reservation(id: id)?.processStatus != first.status {
                    fail.append("\(id): the portal says \(portal.reservation(id: id)?.processStatus ?? "null"), the staff outcome is \(first.status)")
                }
            }
        }

        // 4. Live and routed: an item of ours in each routed hall, or the attention list.
        for record in portal.allReservations() {
            let id = record.reservationId
            guard let e = expectations[id], e.deliverable, !e.phoneOnly, !shown.contains(id),
                  record.normalizedStatus == "SUBMITTED", record.normalizedHandleMode == "HALL", record.regionCode == regionCode else { continue }
            for target in e.targets {
                guard let no = ours[target]?[id], items[target]?[no] != nil else {
                    fail.append("\(id): live, routed to \(target), no item there and nothing on the attention list")
                    continue
                }
            }
        }

        // 5. Nothing of another region.
        let foreign = Set(expectations.values.filter { !$0.regionCode.isEmpty && $0.regionCode != regionCode }.map(\.reservationId))
        for (target, byNumber) in items {
            for item in byNumber.values where item.regionCode != regionCode || foreign.contains(item.externalId) {
                fail.append("\(item.externalId): another region's record is in \(target) (\(item.itemNo))")
            }
        }

        // 6. No outcome told that staff did not give.
        for record in portal.allReservations() where record.processStatus == "HANDLED" || record.processStatus == "CONSULTED" {
            let id = record.reservationId
            if shown.contains(id) { continue }
            let given = halls.values.contains { $0.history.contains { $0.externalId == id && $0.origin == "STAFF" && $0.status == record.processStatus } }
            if !given { fail.append("\(id): the portal shows \(record.processStatus!), which no staff gave, and nothing is on the attention list") }
        }
        check.violations = fail
        return check
    }

    public var regionCode: String { portal.regionCode }
}

/// Personal values of the portal's records found in a text (a log, the status file), however
/// spelt: their ID numbers and mobile numbers (11 digits or more), and their names. Says which
/// record and which field, never the value.
public enum PersonalDataLeaks {
    public static func find(in text: String, records: [PortalReservation]) -> [String] {
        let seen = projection(text)
        var leaks: [String] = []
        for record in records {
            for (field, value) in [("ID number", record.applicant.idNumber), ("phone", record.applicant.phone)] {
                guard let value else { continue }
                let clean = projection(value)
                if clean.count >= 11, seen.contains(clean) { leaks.append("\(record.reservationId): its \(field) is in the text") }
            }
            if let name = record.applicant.name.flatMap({ try? PersonName.normalize($0) }) {
                let clean = projection(name)
                if clean.count >= 2, seen.contains(clean) { leaks.append("\(record.reservationId): its applicant's name is in the text") }
            }
        }
        return leaks
    }

    /// Full-width forms half-width, separators and middle dots removed, upper-cased: a value spelt
    /// any way shows up as its letters and digits. The one projection every leak check compares in.
    public static func projection(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            let v = (0xFF01...0xFF5E).contains(s.value) ? Unicode.Scalar(s.value - 0xFEE0)! : s
            if v.properties.isWhitespace || "-()+.\u{3000}·•・．‧".unicodeScalars.contains(v) { continue }
            out.append(v)
        }
        return String(out).uppercased()
    }
}
