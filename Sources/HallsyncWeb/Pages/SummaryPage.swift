import Foundation
import HallsyncDomain
import HallsyncStore
import Hummingbird

/// 汇总: counts per department — and per matter within a department — for a range of
/// appointment dates, each linked to the list behind it. A region's overview is one line per
/// department (a region has thousands of department × matter lines); a department's name
/// opens its matters. Long tables are paged; the totals are the whole table's.
extension WebPages {
    static let summaryColumns: [(ReservationFilter.Column, String)] = [
        (.all, "预约总数"), (.pending, "待处理"), (.handled, "已办理"), (.consulted, "已咨询"), (.cancelled, "已取消"), (.overdue, "超期"),
        (.phone, "电话核实"), (.phoneConfirmed, "已确认"), (.phoneCancelled, "申请人取消"), (.phoneUnreachable, "未接通"),
        (.phoneNotCalled, "未联系"), (.attention, "待人工"),
    ]

    func summary(_ request: Request, _ context: SignedInContext, csv: Bool) throws -> Response {
        let account = context.account
        let query = try RequestInput.query(PageQuery.self, request)
        let (from, to) = query.dateRange()
        let now = BeijingTime.now()
        // A scope of one department shows its matters; a wider one its departments, unless asked otherwise.
        let grouping = query.grouping ?? (query.department == nil && account.coversSeveralDepartments ? .department : .matter)
        let rows = try sync.read { tx in
            try tx.summary(scope: account.reservationScope, from: from, to: to, now: now, grouping: grouping, department: query.department)
        }
        let columns = Self.summaryColumns
        var totals: [ReservationFilter.Column: Int] = [:]
        for row in rows { for (column, _) in columns { totals[column, default: 0] += row.counts[column] ?? 0 } }
        func departmentText(_ row: SummaryRow) -> String { row.departmentName.isEmpty ? (row.department.isEmpty ? "（部门不明）" : row.department) : row.departmentName }
        if csv {
            let lines = rows.map { row in
                [departmentText(row), row.department] + (grouping == .matter ? [row.matterName, row.matter] : []) + columns.map { String(row.counts[$0.0] ?? 0) }
            } + [["合计", ""] + (grouping == .matter ? ["", ""] : []) + columns.map { String(totals[$0.0] ?? 0) }]
            let headers = ["部门", "部门编码"] + (grouping == .matter ? ["事项", "事项编码"] : []) + columns.map(\.1)
            return csvResponse(CSVExport.render(headers: headers, rows: lines), name: "预约数据汇总_\(from)_\(to).csv")
        }
        let dates: [String: String?] = ["from": from.description, "to": to.description]
        func cells(_ counts: [ReservationFilter.Column: Int], department: String?, matter: String?) -> [[String: Any]] {
            columns.map { column, _ in
                let count = counts[column] ?? 0
                let phoneColumn = [.phone, .phoneConfirmed, .phoneCancelled, .phoneUnreachable, .phoneNotCalled].contains(column)
                var cell: [String: Any] = ["count": count]
                if count > 0 {
                    cell["link"] = Self.link(phoneColumn ? "/phone" : "/list", dates.merging(["dept": department, "matter": matter,
                                                                                             "column": column == .all ? nil : column.rawValue]) { $1 })
                }
                return cell
            }
        }
        let parameters = dates.merging(["dept": query.department, "by": query.grouping?.rawValue]) { $1 }
        let pager = Pager(requested: query.page, size: Self.summaryPageSize, total: rows.count)
        let shown = rows.dropFirst(pager.offset).prefix(pager.size)
        var viewRows: [[String: Any]] = shown.map { row in
            var line: [String: Any] = ["department": departmentText(row), "cells": cells(row.counts, department: row.department, matter: grouping == .matter ? row.matter : nil),
                                       "isTotal": false, "matter": grouping == .matter ? Self.matterText(code: row.matter, name: row.matterName) : ""]
            if grouping == .department, !row.department.isEmpty {
                line["departmentLink"] = Self.link("/summary", dates.merging(["dept": row.department]) { $1 })
            }
            return line
        }
        viewRows.append(["department": "合计", "matter": "", "cells": cells(totals, department: query.department, matter: nil), "isTotal": true])
        let departmentName = try query.department.map { code in try sync.read { tx in try tx.departmentNames([code], scope: account.reservationScope) }[code] ?? code }
        var model = chrome(context, title: "汇总") + [
            "heading": "预约数据汇总" + (departmentName.map { "：\($0)" } ?? ""),
            "action": "/summary", "from": from.description, "to": to.description, "dateLabel": "预约日期", "hidden": hidden(parameters),
            "rows": viewRows, "hasRows": !rows.isEmpty, "asOf": String(now.description.prefix(16)), "byMatter": grouping == .matter,
            "lines": rows.count, "csv": Self.link("/summary.csv", parameters),
        ] + pager.model("/summary", parameters)
        if account.coversSeveralDepartments {
            model["hasViews"] = true
            model["views"] = [
                ["text": "按部门汇总", "link": Self.link("/summary", dates.merging(["by": SummaryGrouping.department.rawValue]) { $1 }),
                 "current": grouping == .department && query.department == nil],
                ["text": "按部门和事项汇总", "link": Self.link("/summary", dates.merging(["by": SummaryGrouping.matter.rawValue]) { $1 }),
                 "current": grouping == .matter && query.department == nil],
            ]
        }
        return html(Templates.render("summary", model))
    }
}
