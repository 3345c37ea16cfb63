import Foundation
import HallsyncDomain
import HallsyncStore
import Hummingbird

/// 查看记录 (administrators): every view of unmasked personal data about the region's
/// reservations — who, when, which reservation, on which page, from where — by the day it was
/// viewed, a page at a time, and all of it as CSV.
extension WebPages {
    func audit(_ request: Request, _ context: SignedInContext, csv: Bool) throws -> Response {
        let account = context.account
        guard account.role == .admin, let region = account.region else { return notFound(context) }
        let query = try RequestInput.query(PageQuery.self, request)
        let (from, to) = query.dateRange(defaultDays: (-7, 0))
        let start = Double(BeijingTime(date: from, secondOfDay: 0).unixSeconds), end = Double(BeijingTime(date: to, secondOfDay: 0).unixSeconds + 86_400)
        let unowned = includesUnowned(account)
        if csv {
            return csvStream(name: "个人信息查看记录_\(from)_\(to).csv", headers: ["时间", "账号", "预约编号", "页面", "地址"], account: account,
                             view: "audit.csv", address: clientAddress(request, context.peerAddress)) { tx, emit in
                try tx.forEachAuditLine(region: region, includingUnowned: unowned, from: start, until: end) { line in
                    try emit([Self.time(line.at), line.account, line.reservationId, ClerkLabels.webView(line.view), line.address], nil)
                }
            }
        }
        let (lines, pager) = try sync.read { tx in
            let total = try tx.auditLineCount(region: region, includingUnowned: unowned, from: start, until: end)
            let pager = Pager(requested: query.page, size: Self.pageSize, total: total)
            return (try tx.auditLines(region: region, includingUnowned: unowned, from: start, until: end, limit: pager.size, offset: pager.offset), pager)
        }
        let parameters: [String: String?] = ["from": from.description, "to": to.description]
        let model = chrome(context, title: "查看记录") + [
            "action": "/audit", "from": from.description, "to": to.description, "dateLabel": "查看日期", "hidden": [] as [Any], "total": pager.total,
            "csv": Self.link("/audit.csv", parameters),
            "rows": lines.map { ["at": Self.time($0.at), "account": $0.account, "reservationId": $0.reservationId,
                                 "view": ClerkLabels.webView($0.view), "address": $0.address] },
        ] + pager.model("/audit", parameters)
        return html(Templates.render("audit", model))
    }
}
