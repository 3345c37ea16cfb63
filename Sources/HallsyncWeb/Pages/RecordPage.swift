import Foundation
import HallsyncDomain
import HallsyncStore
import Hummingbird

/// `/reservation/ID`: one record — its portal versions, hall items, every send with its fate, the
/// outcome, attention entries and phone calls — in words.
extension WebPages {
    func record(_ request: Request, _ context: SignedInContext) throws -> Response {
        let account = context.account
        guard let id = context.parameters.get("id"), WireIdentifier.isValid(id) else { return notFound(context) }
        let now = BeijingTime.now()
        guard let (row, history, names) = try sync.read({ tx -> (ReservationRow, ReservationHistory, [String: String])? in
            guard let row = try tx.reservationRow(id: id, scope: account.reservationScope, now: now) else { return nil }
            return (row, try tx.history(of: id), try tx.departmentNames([row.department].compactMap { $0 }, scope: account.reservationScope))
        }) else { return notFound(context) }
        let calls = try web.calls(of: id)
        let shown = display(row, for: account, now: now, departmentNames: names)
        // Free text clerks typed is shown like the record's personal data: masked unless in full.
        let applicant = PersonalValues(names: [row.applicantName, (try? PersonName.normalize(row.applicantName)) ?? ""],
                                       numbers: [row.phone])
        func clerkText(_ text: String) -> String { Self.clerkText(text, inFull: shown.inFull, values: applicant) }
        func resolution(_ entry: AttentionRow) -> String {
            guard let at = entry.resolvedAt else { return "待处理" }
            let note = entry.resolution.map { "：" + clerkText($0) } ?? ""
            return "已处理 \(Self.time(at))（\(entry.resolvedBy ?? "同步程序")\(note)）"
        }
        let typed = calls.contains { !$0.note.isEmpty } || history.attention.contains { !($0.resolution ?? "").isEmpty }
        if shown.inFull, shown.hasPersonalData || typed {
            try audit([id], account: account, view: "record", request, context.peerAddress)
        }
        var outcome = "—"
        if let o = history.lifecycle.outcome {
            let who: String = o.operator.isEmpty ? "—" : o.operator
            let status: String = ClerkLabels.hallStatus(o.status.rawValue)
            let hall: String = ClerkLabels.target(o.target.rawValue)
            outcome = status + "（" + hall + "，" + who + "，" + AppointmentText.minutes(o.at) + "）"
        }
        let model = chrome(context, title: "预约 \(id)") + shown.dictionary + [
            "outcome": outcome,
            "copies": history.copies.map { ["target": ClerkLabels.target($0.target), "itemNo": $0.itemNo ?? "（未建）",
                                             "status": ClerkLabels.hallStatus($0.status) + ($0.blocked ? "（被拒收，待人工）" : ""),
                                             "closedBy": $0.closedBy.map(ClerkLabels.origin) ?? "", "at": AppointmentText.minutes($0.statusAt), "revision": $0.revision] },
            "versions": history.versions.map { ["version": $0.version, "updateTime": $0.updateTime, "seenAt": Self.time($0.seenAt),
                                                "status": ClerkLabels.portalStatus($0.status), "processStatus": ClerkLabels.processStatus($0.processStatus),
                                                "appointment": AppointmentText.of(date: $0.appointmentDate, slot: $0.appointmentSlot, registerTime: nil),
                                                "disposition": ClerkLabels.disposition($0.disposition)] },
            "sends": history.sends.map { ["target": ClerkLabels.target($0.target), "kind": ClerkLabels.sendKind($0.kind), "state": ClerkLabels.sendState($0.state),
                                          "attempts": $0.attempts, "createdAt": Self.time($0.createdAt), "settledAt": Self.time($0.settledAt),
                                          "lastError": PersonalData.redactPeerText($0.lastError ?? "", values: applicant)] },
            "attention": history.attention.map { entry in
                ["reason": DomainError.Code(rawValue: entry.code).clerkLabel, "field": ClerkLabels.attentionSubject(code: entry.code, field: entry.field),
                 "message": entry.messageZh, "raisedAt": Self.time(entry.raisedAt),
                 "resolved": resolution(entry)] as [String: Any]
            },
            "hasAttention": !history.attention.isEmpty, "hasSends": !history.sends.isEmpty, "hasCopies": !history.copies.isEmpty,
            "hasCalls": !calls.isEmpty,
            "calls": calls.map { ["at": Self.time($0.at), "result": ClerkLabels.callResult($0.result.rawValue), "note": clerkText($0.note), "account": $0.account] },
        ]
        return html(Templates.render("record", model))
    }
}
