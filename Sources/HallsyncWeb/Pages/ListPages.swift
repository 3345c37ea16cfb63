import Foundation
import HallsyncDomain
import HallsyncStore
import Hummingbird

/// 预约列表: the reservations behind a number of the summary, a page at a time, and all of them
/// as CSV.
extension WebPages {
    static let columnNames: [ReservationFilter.Column: String] = [
        .all: "全部预约", .pending: "待处理", .handled: "已办理", .consulted: "已咨询", .cancelled: "已取消（网上取消）", .overdue: "超期",
        .phone: "电话核实", .phoneConfirmed: "电话核实：已确认", .phoneCancelled: "电话核实：申请人取消", .phoneUnreachable: "电话核实：未接通",
        .phoneNotCalled: "电话核实：未联系", .attention: "待人工处理", .held: "暂缓（数据有误）", .phoneCancelledOnline: "电话核实：申请人已网上取消",
    ]

    func filter(_ query: PageQuery) -> ReservationFilter {
        let (from, to) = query.dateRange()
        return ReservationFilter(from: from, to: to, department: query.department, matter: query.matter, column: query.column ?? .all)
    }

    func listParameters(_ filter: ReservationFilter) -> [String: String?] {
        ["from": filter.from.description, "to": filter.to.description, "dept": filter.department, "matter": filter.matter,
         "column": filter.column == .all ? nil : filter.column.rawValue]
    }

    /// `预约列表：超期，部门 环翠区行政审批服务局，事项 …`.
    func heading(_ title: String, _ filter: ReservationFilter, departmentNames: [String: String], matterName: String?) -> String {
        let column = title == "电话核实" && filter.column == .phone ? "升级前预约" : (Self.columnNames[filter.column] ?? "")
        return title + "：" + column + (filter.department.map { "，部门 " + (departmentNames[$0] ?? $0) } ?? "")
            + (filter.matter.map { "，事项 " + Self.matterText(code: $0, name: matterName) } ?? "")
    }

    func list(_ request: Request, _ context: SignedInContext, csv: Bool) throws -> Response {
        let account = context.account
        let query = try RequestInput.query(PageQuery.self, request)
        let filter = filter(query)
        let now = BeijingTime.now()
        if csv { return try listExport(request, context, filter: filter, now: now) }
        let (rows, total, pager, names) = try sync.read { tx in
            // The count first, so that a page past the end shows the last one.
            let total = try tx.reservationCount(scope: account.reservationScope, filter: filter, now: now)
            let pager = Pager(requested: query.page, size: Self.pageSize, total: total)
            let rows = try tx.reservations(scope: account.reservationScope, filter: filter, now: now, limit: pager.size, offset: pager.offset)
            let names = try tx.departmentNames(rows.compactMap(\.department) + [filter.department].compactMap { $0 }, scope: account.reservationScope)
            return (rows, total, pager, names)
        }
        let shown = rows.map { display($0, for: account, now: now, departmentNames: names) }
        try audit(shown.filter { $0.inFull && $0.hasPersonalData }.map(\.id), account: account, view: "list", request, context.peerAddress)
        let parameters = listParameters(filter)
        let model = chrome(context, title: "预约列表") + [
            "heading": heading("预约列表", filter, departmentNames: names, matterName: rows.first?.matterName),
            "action": "/list", "from": filter.from.description, "to": filter.to.description, "dateLabel": "预约日期",
            "hidden": hidden(parameters), "rows": shown.map(\.dictionary), "total": total,
            "halls": HallTarget.allCases.map(\.chineseName),
            "showDepartment": account.coversSeveralDepartments, "masked": !account.departments.isEmpty || account.role == .admin,
            "csv": Self.link("/list.csv", parameters),
        ] + pager.model("/list", parameters)
        return html(Templates.render("list", model))
    }

    /// Every reservation of the list, streamed (``CSVStream``): the file holds as many rows as the
    /// page says, whatever their number, in flat memory.
    func listExport(_ request: Request, _ context: SignedInContext, filter: ReservationFilter, now: BeijingTime) throws -> Response {
        let account = context.account
        let address = clientAddress(request, context.peerAddress)
        let headers = ["预约编号", "预约时间", "办件期限", "超期", "部门", "部门编码", "事项", "状态"] + HallTarget.allCases.map(\.chineseName)
            + ["门户状态", "申请人", "联系电话", "待人工"]
        return csvStream(name: "预约列表_\(filter.from)_\(filter.to).csv", headers: headers, account: account, view: "list.csv", address: address) { tx, emit in
            var names: [String: String] = [:]
            try tx.forEachReservation(scope: account.reservationScope, filter: filter, now: now) { row in
                if let code = row.department, names[code] == nil { names[code] = try tx.departmentNames([code], scope: account.reservationScope)[code] ?? code }
                let s = self.display(row, for: account, now: now, departmentNames: names)
                return try emit([s.id, s.appointment, s.deadline, s.overdue ? "是" : "", s.department, s.departmentCode, s.matter, s.state]
                                + s.copies.map(\.value) + [s.portal, s.name, s.phone, s.attention ? "是" : ""], s.inFull && s.hasPersonalData ? s.id : nil)
            }
        }
    }
}
