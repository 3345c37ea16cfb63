import Foundation
import GRDB
import HTTPTypes
import HallsyncDomain
import HallsyncEngine
import HallsyncStore
import Hummingbird
import HummingbirdAuth
import Logging
import NIOCore
import Synchronization

/// The pages: each reads within the account's scope (``Account/scope(_:)``, on the server, for
/// every page, list, export, record and action), masks personal data unless the account's own
/// department's, and writes every unmasked view to the audit log.
final class WebPages: Sendable {
    let configuration: HallsyncEngine.Configuration
    let sync: Store
    let web: WebStore
    let accounts: AccountStore
    let logger: Logger
    let throttle: Mutex<LoginThrottle>
    static let pageSize = 50
    static let exportLimit = 100_000

    init(configuration: HallsyncEngine.Configuration, sync: Store, web: WebStore, accounts: AccountStore, logger: Logger) {
        self.configuration = configuration
        self.sync = sync
        self.web = web
        self.accounts = accounts
        self.logger = logger
        throttle = Mutex(LoginThrottle(limit: configuration.web.loginAttemptsPerMinute))
    }

    // MARK: Login

    func loginPage(_ request: Request, _ context: WebContext, secure: Bool, error: String? = nil, name: String = "", status: HTTPResponse.Status = .ok) -> Response {
        if context.account != nil, error == nil { return redirect("/summary") }
        // The login form's own token, in a cookie and in the form (a page elsewhere cannot read the cookie).
        let token = Token.make()
        var model: [String: Any] = ["title": "登录", "name": name, "loginToken": token]
        if let error { model["error"] = error }
        var response = html(Templates.render("login", model), status: status)
        response.setCookie(Cookie(name: "hallsync_login", value: token, path: "/login", secure: secure, sameSite: .strict))
        return response
    }

    func login(_ request: Request, _ context: WebContext, secure: Bool) async throws -> Response {
        let form = try await Self.form(request)
        let name = String((form["name"] ?? "").prefix(64))
        guard let token = form["csrf"], let cookie = request.cookies["hallsync_login"]?.value, Token.equal(token, String(cookie)) else {
            return loginPage(request, context, secure: secure, error: "登录页面已过期，请重新登录", name: name, status: .forbidden)
        }
        let now = Date().timeIntervalSince1970
        let keys = ["account:" + name, "address:" + clientAddress(request, context)]
        guard throttle.withLock({ $0.allows(keys: keys, now: now) }) else {
            let wait = Int(throttle.withLock { $0.retryAfter(keys: keys, now: now) }.rounded(.up))
            logger.warning("login refused: too many failed attempts", metadata: ["account": "\(WireIdentifier.printable(name))", "address": "\(clientAddress(request, context))"])
            var response = loginPage(request, context, secure: secure, error: "登录失败次数过多，请 \(max(wait, 1)) 秒后再试", name: name, status: .tooManyRequests)
            response.headers[.retryAfter] = String(max(wait, 1))
            return response
        }
        guard let account = try await accounts.verify(name: name, password: form["password"] ?? "") else {
            throttle.withLock { $0.failed(keys: keys, now: now) }
            logger.notice("login failed", metadata: ["account": "\(WireIdentifier.printable(name))", "address": "\(clientAddress(request, context))"])
            return loginPage(request, context, secure: secure, error: "账号或密码错误", name: name, status: .unauthorized)
        }
        throttle.withLock { $0.succeeded(account: "account:" + name) }
        // A new session (a new id) at every login: a session id known before cannot be taken over.
        context.sessions.createSession(WebSession(account: account.name, csrf: Token.make(), loginAt: now),
                                       expiresIn: .seconds(configuration.web.sessionMinutes * 60))
        logger.notice("login", metadata: ["account": "\(account.name)", "address": "\(clientAddress(request, context))"])
        return redirect("/summary")
    }

    func logout(_ request: Request, _ context: WebContext) async throws -> Response {
        guard try await checkedForm(request, context) != nil else { return forbidden(context) }
        context.sessions.clearSession()
        return redirect("/login")
    }

    // MARK: Summary

    func summary(_ request: Request, _ context: WebContext, csv: Bool) throws -> Response {
        let account = context.account!
        let (from, to) = dateRange(request)
        let now = BeijingTime.now()
        let rows = try sync.read { tx in try tx.summary(scope: Self.scope(account), from: from, to: to, now: now) }
        let columns: [(ReservationFilter.Column, String)] = [
            (.all, "预约总数"), (.pending, "待处理"), (.handled, "已办理"), (.consulted, "已咨询"), (.cancelled, "已取消"), (.overdue, "超期"),
            (.phone, "电话核实"), (.phoneConfirmed, "已确认"), (.phoneCancelled, "申请人取消"), (.phoneUnreachable, "未接通"),
            (.phoneNotCalled, "未联系"), (.attention, "待人工"),
        ]
        var totals: [ReservationFilter.Column: Int] = [:]
        for row in rows { for (column, _) in columns { totals[column, default: 0] += row.counts[column] ?? 0 } }
        if csv {
            let lines = rows.map { row in
                [row.departmentName, row.department, row.matterName, row.matter] + columns.map { String(row.counts[$0.0] ?? 0) }
            } + [["合计", "", "", ""] + columns.map { String(totals[$0.0] ?? 0) }]
            return csvResponse(CSVExport.render(headers: ["部门", "部门编码", "事项", "事项编码"] + columns.map(\.1), rows: lines),
                               name: "预约数据汇总_\(from)_\(to).csv")
        }
        func cells(_ counts: [ReservationFilter.Column: Int], department: String?, matter: String?) -> [[String: Any]] {
            columns.map { column, _ in
                let count = counts[column] ?? 0
                let phoneColumn = [.phone, .phoneConfirmed, .phoneCancelled, .phoneUnreachable, .phoneNotCalled].contains(column)
                let link = count == 0 ? nil : Self.link(phoneColumn ? "/phone" : "/list", ["from": from.description, "to": to.description,
                                                                                          "dept": department, "matter": matter, "column": column == .all ? nil : column.rawValue])
                var cell: [String: Any] = ["count": count]
                if let link { cell["link"] = link }
                return cell
            }
        }
        var viewRows: [[String: Any]] = rows.map { row in
            ["department": "\(row.departmentName.isEmpty ? row.department : row.departmentName)",
             "matter": "\(row.matterName)（\(row.matter)）", "cells": cells(row.counts, department: row.department, matter: row.matter), "isTotal": false]
        }
        viewRows.append(["department": "合计", "matter": "", "cells": cells(totals, department: nil, matter: nil), "isTotal": true])
        let model = chrome(context, title: "汇总", request) + [
            "action": "/summary", "from": from.description, "to": to.description, "hidden": [] as [Any],
            "rows": viewRows, "hasRows": !rows.isEmpty, "asOf": now.description,
            "csv": Self.link("/summary.csv", ["from": from.description, "to": to.description]),
        ]
        return html(Templates.render("summary", model))
    }

    // MARK: Lists

    func filter(_ request: Request) -> (ReservationFilter, page: Int) {
        let (from, to) = dateRange(request)
        let query = request.uri.queryParameters
        var filter = ReservationFilter(from: from, to: to)
        filter.department = query.get("dept").flatMap { CodeForm.isCode($0) ? $0 : nil }
        filter.matter = query.get("matter").flatMap { CodeForm.isCode($0) ? $0 : nil }
        filter.column = query.get("column").flatMap(ReservationFilter.Column.init(rawValue:)) ?? .all
        return (filter, max(1, query.get("page").flatMap { Int($0) } ?? 1))
    }

    static let columnNames: [ReservationFilter.Column: String] = [
        .all: "全部预约", .pending: "待处理", .handled: "已办理", .consulted: "已咨询", .cancelled: "已取消（网上取消）", .overdue: "超期",
        .phone: "电话核实", .phoneConfirmed: "电话核实：已确认", .phoneCancelled: "电话核实：申请人取消", .phoneUnreachable: "电话核实：未接通",
        .phoneNotCalled: "电话核实：未联系", .attention: "待人工处理", .held: "暂缓（数据有误）",
    ]

    func list(_ request: Request, _ context: WebContext, csv: Bool) throws -> Response {
        let account = context.account!
        let (filter, page) = filter(request)
        let now = BeijingTime.now()
        let (rows, total) = try sync.read { tx in
            try tx.reservations(scope: Self.scope(account), filter: filter, now: now, limit: csv ? Self.exportLimit : Self.pageSize,
                                offset: csv ? 0 : (page - 1) * Self.pageSize)
        }
        let shown = rows.map { display($0, for: account, now: now) }
        try audit(shown, account: account, view: csv ? "list.csv" : "list", request, context)
        if csv {
            return csvResponse(CSVExport.render(headers: ["预约编号", "预约时间", "办件期限", "超期", "部门编码", "事项", "状态", "综合受理", "行政许可", "门户状态", "申请人", "联系电话", "待人工"],
                                                rows: shown.map { [$0.id, $0.appointment, $0.deadline, $0.overdue ? "是" : "", $0.department, $0.matter, $0.state,
                                                                   $0.intake, $0.licensing, $0.portal, $0.name, $0.phone, $0.attention ? "是" : ""] }),
                               name: "预约列表_\(filter.from)_\(filter.to).csv")
        }
        var parameters = listParameters(filter)
        let model = chrome(context, title: "预约列表", request) + [
            "heading": "预约列表：" + (Self.columnNames[filter.column] ?? "") + (filter.department.map { "，部门 \($0)" } ?? "") + (filter.matter.map { "，事项 \($0)" } ?? ""),
            "action": "/list", "from": filter.from.description, "to": filter.to.description,
            "hidden": hidden(parameters), "rows": shown.map(\.dictionary), "total": total, "page": page,
            "masked": !account.departments.isEmpty || account.role == .admin,
            "csv": Self.link("/list.csv", parameters),
        ] + pager("/list", parameters, page: page, total: total)
        parameters["page"] = nil
        return html(Templates.render("list", model))
    }

    func listParameters(_ filter: ReservationFilter) -> [String: String?] {
        ["from": filter.from.description, "to": filter.to.description, "dept": filter.department, "matter": filter.matter,
         "column": filter.column == .all ? nil : filter.column.rawValue]
    }

    /// Links to the pages before and after, where there are any.
    func pager(_ path: String, _ parameters: [String: String?], page: Int, total: Int) -> [String: Any] {
        var links: [String: Any] = [:]
        if page > 1 { links["previous"] = Self.link(path, parameters.merging(["page": String(page - 1)]) { $1 }) }
        if page * Self.pageSize < total { links["next"] = Self.link(path, parameters.merging(["page": String(page + 1)]) { $1 }) }
        return links
    }

    func hidden(_ parameters: [String: String?]) -> [[String: String]] {
        parameters.filter { $0.key != "from" && $0.key != "to" && $0.value != nil }.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value!] }
    }

    // MARK: One record

    func record(_ request: Request, _ context: WebContext) throws -> Response {
        let account = context.account!
        guard let id = context.parameters.get("id"), WireIdentifier.isValid(id) else { return notFound(context) }
        let now = BeijingTime.now()
        guard let row = try sync.read({ tx in try tx.reservationRow(id: id, scope: Self.scope(account), now: now) }) else {
            return notFound(context)
        }
        let history = try sync.read { tx in try tx.history(of: id) }
        let calls = try web.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM phoneCall WHERE reservationId = ? ORDER BY id", arguments: [id])
        }
        let shown = display(row, for: account, now: now)
        try audit([shown], account: account, view: "record", request, context)
        func time(_ unix: Double?) -> String { unix.map { BeijingTime(Date(timeIntervalSince1970: $0)).description } ?? "" }
        let outcome = history.lifecycle.outcome.map { "\(Self.statusName($0.status.rawValue))（\($0.target.chineseName)，\($0.operator.isEmpty ? "—" : $0.operator)，\($0.at)）" } ?? "—"
        let model = chrome(context, title: "预约 \(id)", request) + shown.dictionary + [
            "outcome": outcome,
            "copies": history.copies.map { ["target": Self.hallName($0.target), "itemNo": $0.itemNo ?? "（未建）", "status": Self.statusName($0.status) + ($0.blocked ? "（被拒收，待人工）" : ""),
                                             "closedBy": $0.closedBy.map(Self.originName) ?? "", "at": $0.statusAt ?? "", "revision": $0.revision] },
            "versions": history.versions.map { ["version": $0.version, "updateTime": $0.updateTime, "seenAt": time($0.seenAt), "status": $0.status ?? "",
                                                "processStatus": $0.processStatus ?? "", "date": $0.appointmentDate ?? "", "slot": $0.appointmentSlot ?? "",
                                                "disposition": Self.dispositionName($0.disposition)] },
            "sends": history.sends.map { ["target": Self.hallName($0.target), "kind": Self.kindName($0.kind), "state": Self.sendStateName($0.state), "attempts": $0.attempts,
                                          "createdAt": time($0.createdAt), "settledAt": time($0.settledAt), "lastError": PersonalData.redact($0.lastError ?? "")] },
            "attention": history.attention.map { entry in
                ["code": entry.code, "field": entry.field, "message": entry.messageZh, "raisedAt": time(entry.raisedAt),
                 "resolved": entry.resolvedAt.map { "已处理 \(time($0))（\(entry.resolvedBy ?? "同步程序")\(entry.resolution.map { "：\($0)" } ?? "")）" } ?? "待处理"] as [String: Any]
            },
            "hasCalls": !calls.isEmpty,
            "calls": calls.map { ["at": time($0["at"]), "result": Self.callName($0["result"]), "note": $0["note"] as String, "account": $0["account"] as String] },
        ]
        return html(Templates.render("record", model))
    }

    // MARK: Phone verification

    func phone(_ request: Request, _ context: WebContext, csv: Bool) throws -> Response {
        let account = context.account!
        var (filter, page) = filter(request)
        if ![.phoneConfirmed, .phoneCancelled, .phoneUnreachable, .phoneNotCalled].contains(filter.column) { filter.column = .phone }
        let now = BeijingTime.now()
        let (rows, total) = try sync.read { tx in
            try tx.reservations(scope: Self.scope(account), filter: filter, now: now, limit: csv ? Self.exportLimit : Self.pageSize,
                                offset: csv ? 0 : (page - 1) * Self.pageSize)
        }
        let shown = rows.map { display($0, for: account, now: now) }
        try audit(shown, account: account, view: csv ? "phone.csv" : "phone", request, context)
        if csv {
            return csvResponse(CSVExport.render(headers: ["预约编号", "预约时间", "部门编码", "事项", "申请人", "联系电话", "核实结果"],
                                                rows: shown.map { [$0.id, $0.appointment, $0.department, $0.matter, $0.name, $0.phone, $0.call] }),
                               name: "电话核实_\(filter.from)_\(filter.to).csv")
        }
        let parameters = listParameters(filter)
        let back = Self.link("/phone", parameters.merging(["page": String(page)]) { $1 })
        let csrf = context.session?.csrf ?? ""
        let model = chrome(context, title: "电话核实", request) + [
            "action": "/phone", "from": filter.from.description, "to": filter.to.description, "hidden": hidden(parameters), "total": total,
            "csv": Self.link("/phone.csv", parameters),
            "rows": shown.map { $0.dictionary + ["result": $0.call.isEmpty ? "未联系" : $0.call, "canRecord": $0.inFull, "csrf": csrf, "back": back] },
        ] + pager("/phone", parameters, page: page, total: total)
        return html(Templates.render("phone", model))
    }

    func recordCall(_ request: Request, _ context: WebContext) async throws -> Response {
        let account = context.account!
        guard let form = try await checkedForm(request, context) else { return forbidden(context) }
        guard let id = context.parameters.get("id"), WireIdentifier.isValid(id),
              let result = form["result"], ["CONFIRMED", "CANCELLED_BY_APPLICANT", "UNREACHABLE"].contains(result) else { return notFound(context) }
        let now = BeijingTime.now()
        // Only the department's own staff, who see the number, record a call, and only of a phone-verified reservation in scope.
        guard let row = try sync.read({ tx in try tx.reservationRow(id: id, scope: Self.scope(account), now: now) }),
              row.state == .phone, account.seesInFull(department: row.department) else { return notFound(context) }
        let note = String((form["note"] ?? "").prefix(200))
        let at = Date().timeIntervalSince1970
        try web.write { db in
            try db.execute(sql: "INSERT INTO phoneCall (reservationId, result, note, account, at) VALUES (?, ?, ?, ?, ?)", arguments: [id, result, note, account.name, at])
            try db.execute(sql: """
                INSERT INTO phoneCallLatest (reservationId, result, account, at) VALUES (?, ?, ?, ?)
                ON CONFLICT(reservationId) DO UPDATE SET result = excluded.result, account = excluded.account, at = excluded.at
                """, arguments: [id, result, account.name, at])
        }
        let back = form["back"].flatMap { $0.hasPrefix("/phone") && !$0.hasPrefix("//") ? $0 : nil } ?? "/phone"
        return redirect(back)
    }

    // MARK: Attention

    /// Entries with no stored reservation (a malformed id, an unreadable record) are the region's:
    /// its administrator sees them.
    func includesUnowned(_ account: Account) -> Bool { account.role == .admin && account.region == configuration.portal.regionCode }

    func attention(_ request: Request, _ context: WebContext, csv: Bool) throws -> Response {
        let account = context.account!
        let (entries, applied) = try sync.read { tx in
            (try tx.attentionEntries(scope: Self.scope(account), includingUnowned: includesUnowned(account), limit: Self.exportLimit), try tx.appliedClerkRequest())
        }
        let waiting = try web.read { db in
            try Row.fetchAll(db, sql: "SELECT reservationId, attentionId FROM request WHERE id > ?", arguments: [applied])
                .map { (($0["reservationId"] as String), ($0["attentionId"] as Int64?)) }
        }
        let stored = try sync.read { tx in try Set(entries.map(\.reservationId).filter { try tx.storedVersion(of: $0) != nil }) }
        let now = Date().timeIntervalSince1970
        if csv {
            return csvResponse(CSVExport.render(headers: ["预约编号", "原因", "字段", "对象", "说明", "提出时间"],
                                                rows: entries.map { [$0.reservationId, $0.code, $0.field, $0.target, $0.messageZh, BeijingTime(Date(timeIntervalSince1970: $0.raisedAt)).description] }),
                               name: "待人工处理.csv")
        }
        let csrf = context.session?.csrf ?? ""
        let model = chrome(context, title: "待人工处理", request) + [
            "reservations": Set(entries.map(\.reservationId)).count, "entries": entries.count,
            "rows": entries.map { entry in
                ["id": entry.id, "reservationId": entry.reservationId, "code": entry.code, "field": entry.field, "message": entry.messageZh,
                 "age": Self.age(now - entry.raisedAt), "linked": stored.contains(entry.reservationId), "csrf": csrf,
                 "waiting": waiting.contains { $0.1 == entry.id || ($0.1 == nil && $0.0 == entry.reservationId) }] as [String: Any]
            },
        ]
        return html(Templates.render("attention", model))
    }

    func attentionAction(_ request: Request, _ context: WebContext) async throws -> Response {
        let account = context.account!
        guard let form = try await checkedForm(request, context) else { return forbidden(context) }
        guard let id = context.parameters.get("id").flatMap(Int64.init), let action = context.parameters.get("action"),
              let entry = try sync.read({ tx in try tx.attentionEntry(id: id, scope: Self.scope(account), includingUnowned: includesUnowned(account)) }),
              entry.resolvedAt == nil else { return notFound(context) }
        let note = String((form["note"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).prefix(500))
        switch action {
        case "resolve":
            guard !note.isEmpty else { return message(context, status: .badRequest, heading: "请填写处理说明", text: "标记已处理时须说明是如何处理的。", back: "/attention") }
            try web.add(.resolve, reservationId: entry.reservationId, attentionId: entry.id, note: note, account: account.name, at: Date().timeIntervalSince1970)
        case "retry":
            guard try sync.read({ tx in try tx.storedVersion(of: entry.reservationId) }) != nil else { return notFound(context) }
            try web.add(.retry, reservationId: entry.reservationId, attentionId: nil, note: note, account: account.name, at: Date().timeIntervalSince1970)
        default:
            return notFound(context)
        }
        logger.notice("clerk's request", metadata: ["action": "\(action)", "reservation": "\(entry.reservationId)", "account": "\(account.name)"])
        return redirect("/attention?notice=requested")
    }

    // MARK: Audit log

    func audit(_ request: Request, _ context: WebContext, csv: Bool) throws -> Response {
        let account = context.account!
        guard account.role == .admin, let region = account.region else { return notFound(context) }
        let (from, to) = dateRange(request, defaultDays: (-7, 0))
        let start = BeijingTime(date: from, secondOfDay: 0).unixSeconds, end = BeijingTime(date: to, secondOfDay: 0).unixSeconds + 86_400
        let rows = try sync.read { tx in
            try tx.auditLines(region: region, includingUnowned: includesUnowned(account), from: Double(start), until: Double(end), limit: Self.exportLimit)
        }
        func time(_ unix: Double) -> String { BeijingTime(Date(timeIntervalSince1970: unix)).description }
        if csv {
            return csvResponse(CSVExport.render(headers: ["时间", "账号", "预约编号", "页面", "地址"], rows: rows.map { [time($0.at), $0.account, $0.reservationId, $0.view, $0.address] }),
                               name: "个人信息查看记录_\(from)_\(to).csv")
        }
        let model = chrome(context, title: "查看记录", request) + [
            "action": "/audit", "from": from.description, "to": to.description, "hidden": [] as [Any], "total": rows.count,
            "csv": Self.link("/audit.csv", ["from": from.description, "to": to.description]),
            "rows": rows.prefix(2000).map { ["at": time($0.at), "account": $0.account, "reservationId": $0.reservationId, "view": $0.view, "address": $0.address] },
        ]
        return html(Templates.render("audit", model))
    }

    // MARK: Personal data on a page

    /// A reservation as one account may see it.
    struct Shown {
        var id, appointment, deadline, department, matter, state, intake, licensing, portal, name, phone, call: String
        var overdue, attention, inFull, hasPersonalData: Bool

        var dictionary: [String: Any] {
            ["id": id, "appointment": appointment, "deadline": deadline, "department": department, "matter": matter, "state": state,
             "intake": intake, "licensing": licensing, "portal": portal, "name": name, "phone": phone, "overdue": overdue, "attention": attention]
        }
    }

    func display(_ row: ReservationRow, for account: Account, now: BeijingTime) -> Shown {
        let inFull = account.seesInFull(department: row.department)
        let rawName = row.applicantName, rawPhone = row.phone
        let name = (try? PersonName.normalize(rawName)) ?? rawName.trimmingCharacters(in: .whitespaces)
        let phone = row.state == .phone || row.state == .held ? PhoneNumber.normalize(rawPhone, areaCode: configuration.site.areaCode).canonical : rawPhone
        let shownPhone = phone.isEmpty ? rawPhone : phone
        func copy(_ c: ReservationRow.CopyState?) -> String {
            guard let c else { return "" }
            return (c.itemNo ?? "（未建）") + " " + Self.statusName(c.status) + (c.blocked ? "（拒收）" : "")
        }
        let erased = row.purged ? "（已按保存期限删除）" : ""
        return Shown(
            id: row.id, appointment: row.appointment, deadline: row.deadline ?? "", department: [row.departmentName, row.department].compactMap { $0 }.first { !$0.isEmpty } ?? "",
            matter: row.matterName.map { "\($0)（\(row.matter ?? "")）" } ?? (row.matter ?? ""), state: Self.stateName(row.state),
            intake: copy(row.intake), licensing: copy(row.licensing), portal: row.portalStatus.map(Self.statusName) ?? "—",
            name: row.purged ? erased : (inFull ? name : PersonalData.maskName(name)),
            phone: row.purged ? erased : (shownPhone.isEmpty ? "（未留电话）" : (inFull ? shownPhone : PersonalData.maskPhone(shownPhone))),
            call: row.phoneCall.map(Self.callName) ?? "",
            overdue: row.state == .pending && (row.deadline.map { $0 < now.description } ?? false), attention: row.openAttention > 0,
            inFull: inFull, hasPersonalData: !row.purged && (!name.isEmpty || !shownPhone.isEmpty))
    }

    /// Every reservation shown with its personal data in full: who, when, which, where.
    func audit(_ shown: [Shown], account: Account, view: String, _ request: Request, _ context: WebContext) throws {
        let seen = shown.filter { $0.inFull && $0.hasPersonalData }
        guard !seen.isEmpty else { return }
        let at = Date().timeIntervalSince1970
        let address = clientAddress(request, context)
        try web.write { db in
            for row in seen {
                try db.execute(sql: "INSERT INTO audit (at, account, reservationId, view, address) VALUES (?, ?, ?, ?, ?)",
                               arguments: [at, account.name, row.id, view, address])
            }
        }
    }

    // MARK: Helpers

    static func scope(_ account: Account) -> ReservationScope {
        switch account.role {
        case .staff: return .departments(account.departments)
        case .admin: return account.region.map(ReservationScope.region) ?? .departments([])
        }
    }

    func clientAddress(_ request: Request, _ context: WebContext) -> String {
        // Behind the site's proxy the client is the last address it added.
        if configuration.web.behindProxy, let forwarded = request.headers[.xForwardedFor] {
            return forwarded.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? context.clientAddress
        }
        return context.clientAddress
    }

    func chrome(_ context: WebContext, title: String, _ request: Request? = nil) -> [String: Any] {
        var model: [String: Any] = ["title": title]
        if let account = context.account {
            model["account"] = ["name": account.name, "roleName": account.role.chineseName, "scope": account.scopeDescription,
                                "isAdmin": account.role == .admin, "csrf": context.session?.csrf ?? ""] as [String: Any]
        }
        if request?.uri.queryParameters.get("notice") == "requested" { model["flash"] = "已提交，同步程序将在下一轮处理。" }
        return model
    }

    func dateRange(_ request: Request, defaultDays: (Int, Int) = (-30, 30)) -> (CivilDate, CivilDate) {
        let today = BeijingTime.now().date
        let query = request.uri.queryParameters
        var from = query.get("from").flatMap { CivilDate(iso: $0) } ?? today.adding(days: defaultDays.0)
        var to = query.get("to").flatMap { CivilDate(iso: $0) } ?? today.adding(days: defaultDays.1)
        if to < from { swap(&from, &to) }
        if to.daysSince1970 - from.daysSince1970 > 3660 { to = from.adding(days: 3660) }
        return (from, to)
    }

    /// The form of a POST, when its `csrf` field is the session's token; nil otherwise.
    func checkedForm(_ request: Request, _ context: WebContext) async throws -> [String: String]? {
        let form = try await Self.form(request)
        guard let session = context.session, let token = form["csrf"], Token.equal(token, session.csrf) else { return nil }
        return form
    }

    static func form(_ request: Request) async throws -> [String: String] {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        let text = String(buffer: buffer)
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            form[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return form
    }

    static func link(_ path: String, _ parameters: [String: String?]) -> String {
        let query = parameters.compactMapValues { $0 }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? "")" }
        return query.isEmpty ? path : path + "?" + query.joined(separator: "&")
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func csvResponse(_ text: String, name: String) -> Response {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "export.csv"
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"export.csv\"; filename*=UTF-8''\(encoded)"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func redirect(_ location: String) -> Response { Response(status: .seeOther, headers: [.location: location]) }

    func message(_ context: WebContext, status: HTTPResponse.Status, heading: String, text: String, back: String = "/summary") -> Response {
        html(Templates.render("message", chrome(context, title: heading) + ["heading": heading, "text": text, "back": back]), status: status)
    }

    /// The same answer for what does not exist and what is out of scope: nothing tells which.
    func notFound(_ context: WebContext) -> Response {
        message(context, status: .notFound, heading: "没有找到", text: "没有找到这条记录，或它不在您的查看范围内。")
    }

    func forbidden(_ context: WebContext) -> Response {
        message(context, status: .forbidden, heading: "页面已过期", text: "表单已过期或来自其他网站，请刷新页面后重试。")
    }

    static func age(_ seconds: Double) -> String {
        let s = Int(max(0, seconds))
        if s >= 86_400 { return "\(s / 86_400) 天 \(s % 86_400 / 3600) 小时" }
        if s >= 3600 { return "\(s / 3600) 小时 \(s % 3600 / 60) 分" }
        return "\(s / 60) 分"
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

    static func statusName(_ status: String) -> String {
        ["PENDING": "待办", "HANDLED": "已办理", "CONSULTED": "已咨询", "CANCELLED": "已取消", "RECEIVED": "已收件",
         "CANCEL_ACKNOWLEDGED": "已确认取消"][status] ?? status
    }

    static func hallName(_ target: String) -> String { ["intake": "综合受理", "licensing": "行政许可", "portal": "门户"][target] ?? target }
    static func originName(_ origin: String) -> String { ["STAFF": "工作人员", "SYNC": "同步", "PORTAL": "网上取消"][origin] ?? origin }
    static func kindName(_ kind: String) -> String { ["CREATE": "建件", "UPDATE": "更新（改期）", "ACTION": "办结", "PUSH": "状态推送"][kind] ?? kind }
    static func sendStateName(_ state: String) -> String { ["PENDING": "待发送", "DONE": "成功", "FAILED": "被拒绝"][state] ?? state }
    static func dispositionName(_ d: String) -> String { ["DELIVERABLE": "进入收件箱", "PHONE": "电话核实", "UNDELIVERABLE": "暂缓"][d] ?? d }
    static func callName(_ result: String) -> String {
        ["CONFIRMED": "已确认", "CANCELLED_BY_APPLICANT": "申请人取消", "UNREACHABLE": "未接通"][result] ?? result
    }
}

func + (a: [String: Any], b: [String: Any]) -> [String: Any] { a.merging(b) { $1 } }

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
