import Foundation
import HallsyncDomain
import HallsyncStore
import Hummingbird

/// 待人工处理: the open attention entries in scope, a page at a time (the list and its counts in
/// one statement each, whatever its length), with the reason and field in words, the matter and
/// the applicant. 重新处理 asks first (a page that says what will happen, then a POST with the
/// session's token); 标记已处理 needs a note.
extension WebPages {
    func attention(_ request: Request, _ context: SignedInContext, csv: Bool) throws -> Response {
        let account = context.account
        let query = try RequestInput.query(PageQuery.self, request)
        if csv { return attentionExport(request, context) }
        let (counts, entries, pager, names) = try sync.read { tx in
            let counts = try tx.attentionCounts(scope: account.reservationScope, includingUnowned: includesUnowned(account))
            let pager = Pager(requested: query.page, size: Self.pageSize, total: counts.entries)
            let entries = try tx.attentionList(scope: account.reservationScope, includingUnowned: includesUnowned(account), limit: pager.size, offset: pager.offset)
            return (counts, entries, pager, try tx.departmentNames(entries.compactMap(\.department), scope: account.reservationScope))
        }
        let now = Date().timeIntervalSince1970
        let rows = entries.map { attentionLine($0, account: account, names: names, now: now) }
        try audit(rows.filter(\.inFull).map(\.reservationId), account: account, view: "attention", request, context.peerAddress)
        let model = chrome(context, title: "待人工处理", notice: query.notice) + [
            "reservations": counts.reservations, "entries": counts.entries, "showDepartment": account.coversSeveralDepartments,
            "rows": rows.map { $0.model + ["csrf": context.session.csrf] },
        ] + pager.model("/attention", [:])
        return html(Templates.render("attention", model))
    }

    /// An entry as a line of the page or the export.
    struct AttentionLine {
        var id: Int64
        var reservationId, department, matter, applicant, reason, field, message, age, raisedAt: String
        var stored, waiting, inFull: Bool
        /// What happened after delivery (two outcomes that differ, a cancellation after an outcome …):
        /// running the pipeline again changes nothing, a person closes it.
        var aboutTheLifecycle: Bool

        var model: [String: Any] {
            ["id": id, "reservationId": reservationId, "department": department, "matter": matter, "applicant": applicant, "reason": reason,
             "field": field, "message": message, "age": age, "linked": stored, "waiting": waiting, "retryable": stored && !aboutTheLifecycle]
        }
    }

    func attentionLine(_ row: AttentionListRow, account: Account, names: [String: String], now: Double) -> AttentionLine {
        let inFull = account.seesInFull(department: row.department)
        let name = (try? PersonName.normalize(row.applicantName)) ?? row.applicantName.trimmingCharacters(in: .whitespaces)
        let applicant = row.purged ? "（已按保存期限删除）" : (name.isEmpty ? "—" : (inFull ? name : PersonalData.maskName(name)))
        let code = row.department ?? ""
        return AttentionLine(
            id: row.entry.id, reservationId: row.entry.reservationId, department: row.stored ? (names[code] ?? (code.isEmpty ? "—" : code)) : "—",
            matter: row.stored ? Self.matterText(code: row.matter, name: row.matterName) : "—", applicant: applicant,
            reason: DomainError.Code(rawValue: row.entry.code).clerkLabel, field: ClerkLabels.attentionSubject(code: row.entry.code, field: row.entry.field),
            message: row.entry.messageZh, age: Self.age(now - row.entry.raisedAt), raisedAt: Self.time(row.entry.raisedAt),
            stored: row.stored, waiting: row.waiting, inFull: inFull && !row.purged && !name.isEmpty,
            aboutTheLifecycle: DomainError.Code.aboutTheLifecycle.contains(DomainError.Code(rawValue: row.entry.code)))
    }

    func attentionExport(_ request: Request, _ context: SignedInContext) -> Response {
        let account = context.account
        let unowned = includesUnowned(account)
        let headers = ["预约编号", "部门", "事项", "申请人", "原因", "字段", "对象", "说明", "提出时间", "已提交待处理"]
        return csvStream(name: "待人工处理.csv", headers: headers, account: account, view: "attention.csv",
                         address: clientAddress(request, context.peerAddress)) { tx, emit in
            var names: [String: String] = [:]
            let now = Date().timeIntervalSince1970
            try tx.forEachOpenAttentionEntry(scope: account.reservationScope, includingUnowned: unowned) { row in
                if let code = row.department, names[code] == nil { names[code] = try tx.departmentNames([code], scope: account.reservationScope)[code] ?? code }
                let line = self.attentionLine(row, account: account, names: names, now: now)
                return try emit([line.reservationId, line.department, line.matter, line.applicant, line.reason, line.field,
                                 ClerkLabels.target(row.entry.target), line.message, line.raisedAt, line.waiting ? "是" : ""],
                                line.inFull ? line.reservationId : nil)
            }
        }
    }

    /// The entry of `/attention/:id/…` when it is open and in scope, else nil (the same answer for both).
    func openEntry(_ context: SignedInContext) throws -> (AttentionListRow, AttentionLine)? {
        // An id is 1 … Int64.max; anything else is no entry.
        guard let text = context.parameters.get("id"), text.count <= 19, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
              let id = Int64(text), id > 0 else { return nil }
        let account = context.account
        return try sync.read { tx in
            guard let row = try tx.openAttentionEntry(id: id, scope: account.reservationScope, includingUnowned: includesUnowned(account)) else { return nil }
            let names = try tx.departmentNames([row.department].compactMap { $0 }, scope: account.reservationScope)
            return (row, attentionLine(row, account: account, names: names, now: Date().timeIntervalSince1970))
        }
    }

    /// GET `/attention/:id/retry`: what 重新处理 will do, and the button that does it.
    func confirmRetry(_ request: Request, _ context: SignedInContext) throws -> Response {
        guard let (row, line) = try openEntry(context), row.stored else { return notFound(context, back: "/attention") }
        if line.inFull { try audit([line.reservationId], account: context.account, view: "attention", request, context.peerAddress) }
        let model = chrome(context, title: "重新处理") + line.model + ["csrf": context.session.csrf]
        return html(Templates.render("retry", model))
    }

    /// POST `/attention/:id/retry`: the daemon runs the reservation through the pipeline again at its next cycle.
    func retry(_ request: Request, _ context: SignedInContext) async throws -> Response {
        _ = try await checkedForm(ConfirmForm.self, request, context, back: "/attention")
        return try await offTheEventLoop { [self] in
            guard let (row, _) = try openEntry(context), row.stored else { return notFound(context, back: "/attention") }
            try web.add(.retry, reservationId: row.entry.reservationId, attentionId: nil, note: "", account: context.account.name, at: Date().timeIntervalSince1970)
            logger.notice("clerk's request", metadata: ["action": "retry", "reservation": "\(row.entry.reservationId)", "account": "\(context.account.name)"])
            return redirect("/attention?notice=requested")
        }
    }

    /// POST `/attention/:id/resolve`: closes the entry with a note (the daemon applies it).
    func resolve(_ request: Request, _ context: SignedInContext) async throws -> Response {
        let note = try await checkedForm(ResolveForm.self, request, context, back: "/attention").note
        return try await offTheEventLoop { [self] in
            guard let (row, _) = try openEntry(context) else { return notFound(context, back: "/attention") }
            guard let note else {
                throw RequestProblem("标记已处理时须说明是如何处理的。", heading: "请填写处理说明", back: "/attention")
            }
            try web.add(.resolve, reservationId: row.entry.reservationId, attentionId: row.entry.id, note: note, account: context.account.name,
                        at: Date().timeIntervalSince1970)
            logger.notice("clerk's request", metadata: ["action": "resolve", "reservation": "\(row.entry.reservationId)", "account": "\(context.account.name)"])
            return redirect("/attention?notice=resolved")
        }
    }
}
