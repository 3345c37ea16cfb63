import Foundation
import HallsyncDomain
import HallsyncStore
import Hummingbird

/// 电话核实: the department's pre-upgrade reservations still to be verified, with the number to
/// call and a form to record the call. One the applicant cancelled online is not among them (it
/// is 已取消): the page says how many there are, and nobody is asked to call them.
extension WebPages {
    static let phoneColumns: Set<ReservationFilter.Column> = [.phone, .phoneConfirmed, .phoneCancelled, .phoneUnreachable, .phoneNotCalled, .phoneCancelledOnline]

    func phone(_ request: Request, _ context: SignedInContext, csv: Bool) throws -> Response {
        let account = context.account
        let query = try RequestInput.query(PageQuery.self, request)
        var filter = filter(query)
        if !Self.phoneColumns.contains(filter.column) { filter.column = .phone }
        let now = BeijingTime.now()
        if csv { return phoneExport(request, context, filter: filter, now: now) }
        let (rows, total, pager, names, cancelledOnline) = try sync.read { tx in
            let total = try tx.reservationCount(scope: account.reservationScope, filter: filter, now: now)
            let pager = Pager(requested: query.page, size: Self.pageSize, total: total)
            let rows = try tx.reservations(scope: account.reservationScope, filter: filter, now: now, limit: pager.size, offset: pager.offset)
            var cancelled = filter
            cancelled.column = .phoneCancelledOnline
            let cancelledOnline = filter.column == .phoneCancelledOnline ? 0 : try tx.reservationCount(scope: account.reservationScope, filter: cancelled, now: now)
            return (rows, total, pager, try tx.departmentNames(rows.compactMap(\.department) + [filter.department].compactMap { $0 }, scope: account.reservationScope), cancelledOnline)
        }
        let shown = rows.map { display($0, for: account, now: now, departmentNames: names) }
        try audit(shown.filter { $0.inFull && $0.hasPersonalData }.map(\.id), account: account, view: "phone", request, context.peerAddress)
        let parameters = listParameters(filter)
        let back = Self.link("/phone", parameters.merging(["page": String(pager.page)]) { $1 })
        let recordable = filter.column != .phoneCancelledOnline
        var model = chrome(context, title: "电话核实", notice: query.notice) + [
            "heading": heading("电话核实", filter, departmentNames: names, matterName: rows.first?.matterName),
            "action": "/phone", "from": filter.from.description, "to": filter.to.description, "dateLabel": "预约日期", "hidden": hidden(parameters),
            "total": total, "csv": Self.link("/phone.csv", parameters), "showDepartment": account.coversSeveralDepartments,
            "rows": shown.map { $0.dictionary + ["result": $0.call.isEmpty ? "未联系" : $0.call, "canRecord": recordable && $0.inFull,
                                                 "csrf": context.session.csrf, "back": back, "cancelledOnline": !recordable] },
        ] + pager.model("/phone", parameters)
        if cancelledOnline > 0 {
            model["cancelledOnline"] = cancelledOnline
            model["cancelledOnlineLink"] = Self.link("/phone", parameters.merging(["column": ReservationFilter.Column.phoneCancelledOnline.rawValue]) { $1 })
        }
        return html(Templates.render("phone", model))
    }

    func phoneExport(_ request: Request, _ context: SignedInContext, filter: ReservationFilter, now: BeijingTime) -> Response {
        let account = context.account
        let headers = ["预约编号", "预约时间", "部门", "部门编码", "事项", "申请人", "联系电话", "核实结果"]
        return csvStream(name: "电话核实_\(filter.from)_\(filter.to).csv", headers: headers, account: account, view: "phone.csv",
                         address: clientAddress(request, context.peerAddress)) { tx, emit in
            var names: [String: String] = [:]
            try tx.forEachReservation(scope: account.reservationScope, filter: filter, now: now) { row in
                if let code = row.department, names[code] == nil { names[code] = try tx.departmentNames([code], scope: account.reservationScope)[code] ?? code }
                let s = self.display(row, for: account, now: now, departmentNames: names)
                let result = filter.column == .phoneCancelledOnline ? "申请人已网上取消" : (s.call.isEmpty ? "未联系" : s.call)
                return try emit([s.id, s.appointment, s.department, s.departmentCode, s.matter, s.name, s.phone, result], s.inFull && s.hasPersonalData ? s.id : nil)
            }
        }
    }

    /// Records a call. Only the department's own staff, who see the number, record one, and only of
    /// a phone-verified reservation in scope that is still to be verified; the result must be chosen.
    func recordCall(_ request: Request, _ context: SignedInContext) async throws -> Response {
        let account = context.account
        let form = try await checkedForm(CallForm.self, request, context, back: "/phone")
        guard let id = context.parameters.get("id"), WireIdentifier.isValid(id) else { return notFound(context, back: "/phone") }
        let back = form.back.flatMap { $0.hasPrefix("/phone") && !$0.hasPrefix("//") ? $0 : nil } ?? "/phone"
        let now = BeijingTime.now()
        let (chosen, note) = (form.result, form.note)
        return try await offTheEventLoop { [self] in
            guard let row = try sync.read({ tx in try tx.reservationRow(id: id, scope: account.reservationScope, now: now) }),
                  row.state == .phone, account.seesInFull(department: row.department) else { return notFound(context, back: back) }
            guard let result = chosen else {
                throw RequestProblem("请先在“核实结果”中选择已确认、申请人取消或未接通，再点“记录”。", heading: "请选择核实结果", back: back)
            }
            try web.recordCall(PhoneCall(reservationId: id, result: result, note: note, account: account.name, at: Date().timeIntervalSince1970))
            logger.notice("phone call recorded", metadata: ["reservation": "\(id)", "result": "\(result.rawValue)", "account": "\(account.name)"])
            return redirect(back + (back.contains("?") ? "&" : "?") + "notice=recorded")
        }
    }
}
