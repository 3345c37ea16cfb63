import Foundation
import GRDB
import HallsyncDomain
import HallsyncEngine
import HallsyncOperations
import HallsyncStandIns
import HallsyncStore
import HallsyncTestSupport
import Testing
@testable import HallsyncWeb

/// The web page's scope, CSRF, masking, audit and wording, on the real router and middleware in
/// this process (Hummingbird's `.router` test client), with the daemon's real database behind.
@Suite(.serialized, .privateCluster) struct WebRouterTests {
    static let period = "from=2021-09-01&to=2021-09-30"

    // MARK: Scope

    @Test(arguments: SQLDialect.allCases) func aDepartmentSeesItsOwnAndNothingOfAnotherByAnyURL(_ dialect: SQLDialect) async throws {
        let site = try WebSite.populated("scope", dialect)
        defer { site.stop() }
        let attentionB = try #require(try site.engine.store.read { tx in try tx.openAttention() }.first { $0.reservationId == "YY-HA" })
        _ = attentionB
        try await site.withRouter { app in
            let a = app.browser()
            #expect(try await a.login("clerkA").status == 200)
            let summary = try await a.get("/summary?\(Self.period)")
            #expect(summary.body.contains("行政审批服务局") && !summary.body.contains("住房和城乡建设局") && !summary.body.contains("371002-XK-0107"))
            let list = try await a.get("/list?\(Self.period)")
            #expect(list.body.contains("YY-A1") && list.body.contains("欧阳娜娜") && list.body.contains("13911112222"), "own department in full")
            // Department B's reservations, whatever the URL.
            let paths = ["/list?\(Self.period)&dept=\(WebSite.deptB)", "/list?\(Self.period)&matter=371002-XK-0107", "/list.csv?\(Self.period)",
                         "/list.csv?\(Self.period)&dept=\(WebSite.deptB)", "/phone?\(Self.period)", "/phone.csv?\(Self.period)",
                         "/phone?\(Self.period)&column=phoneCancelledOnline", "/summary?\(Self.period)&dept=\(WebSite.deptB)",
                         "/summary?\(Self.period)&by=matter", "/summary.csv?\(Self.period)", "/summary.csv?\(Self.period)&dept=\(WebSite.deptB)",
                         "/attention", "/attention.csv", "/attention?page=2", "/reservation/YY-B1", "/reservation/YY-PB", "/audit"]
            for path in paths {
                let page = try await a.get(path)
                for secret in ["YY-B1", "YY-PB", "司马相如", "上官婉儿", "13933334444", "13955556666", "住房和城乡建设局"] {
                    #expect(!page.body.contains(secret), "\(path) shows \(secret) to department A")
                }
            }
            #expect(try await a.get("/reservation/YY-B1").status == 404)
            #expect(try await a.get("/reservation/YY-NOTHING").status == 404, "the same answer as for another department's")
            // Nor act on B's: record a call on its phone reservation.
            let token = try #require(a.csrf(in: try await a.get("/phone?\(Self.period)")))
            #expect(try await a.request(.post, "/phone/YY-PB/call", form: ["csrf": token, "result": "CONFIRMED"], follow: false).status == 404)
            #expect(try site.web.calls(of: "YY-PB").isEmpty)

            // Department B sees its own, not A's — nor A's attention entries, by their ids.
            let b = app.browser()
            try await b.login("clerkB")
            let listB = try await b.get("/list?\(Self.period)")
            #expect(listB.body.contains("YY-B1") && listB.body.contains("司马相如") && !listB.body.contains("YY-A1") && !listB.body.contains("欧阳娜娜"))
            let entries = try site.engine.store.read { tx in try tx.openAttention() }.filter { $0.reservationId.hasPrefix("YY-") }
            #expect(!entries.isEmpty)
            let tokenB = try #require(b.csrf(in: listB))
            for entry in try site.engine.store.read({ tx in
                try tx.attentionEntries(scope: .region("371002"), includingUnowned: true, limit: 100)
            }) {
                #expect(try await b.get("/attention/\(entry.id)/retry").status == 404, "B opens A's entry \(entry.id)")
                #expect(try await b.request(.post, "/attention/\(entry.id)/retry", form: ["csrf": tokenB], follow: false).status == 404)
                #expect(try await b.request(.post, "/attention/\(entry.id)/resolve", form: ["csrf": tokenB, "note": "x"], follow: false).status == 404)
            }
            #expect(try site.web.requests(after: 0, limit: 10).isEmpty, "nothing was asked of the daemon")

            // The region's administrator sees both, names and phones masked.
            let admin = app.browser()
            try await admin.login("admin")
            let listAll = try await admin.get("/list?\(Self.period)")
            #expect(listAll.body.contains("YY-A1") && listAll.body.contains("YY-B1"))
            #expect(listAll.body.contains("欧*") && listAll.body.contains("139****2222") && !listAll.body.contains("欧阳娜娜") && !listAll.body.contains("13911112222"))
        }
    }

    // MARK: CSRF

    /// Every form that changes something carries the session's token: without it, or with another
    /// session's, nothing happens and the answer is 403.
    @Test func everyFormThatChangesSomethingNeedsTheSessionsToken() async throws {
        let site = try WebSite("csrf", unknownMatter: "hold", process: false)
        defer { site.stop() }
        var phone = WebSite.reservation("YY-PA", phone: "5201234")
        phone.handleMode = "PHONE"
        site.publish(phone)
        site.publish(WebSite.reservation("YY-NEW", matter: "371002-XK-0999"))
        site.drain()
        let entry = try #require(try site.engine.store.read { tx in try tx.openAttention() }.first { $0.reservationId == "YY-NEW" })
        let entryId = try #require(try site.engine.store.read { tx in
            try tx.attentionEntries(scope: .region("371002"), includingUnowned: true, limit: 10)
        }.first { $0.reservationId == entry.reservationId }?.id)
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            let other = app.browser()
            try await other.login("clerkB")
            let foreign = try #require(other.csrf(in: try await other.get("/summary")))
            let forms: [(String, [String: String])] = [
                ("/phone/YY-PA/call", ["result": "CONFIRMED", "note": "n"]), ("/attention/\(entryId)/retry", [:]),
                ("/attention/\(entryId)/resolve", ["note": "done"]), ("/logout", [:]),
            ]
            for (path, fields) in forms {
                for token in [nil, "", foreign, String(repeating: "0", count: 64)] as [String?] {
                    var form = fields
                    if let token { form["csrf"] = token }
                    let page = try await a.request(.post, path, form: form, follow: false)
                    #expect(page.status == 403, "\(path) with token \(token ?? "none"): \(page.status)")
                }
            }
            #expect(try site.web.calls(of: "YY-PA").isEmpty && site.web.requests(after: 0, limit: 10).isEmpty)
            #expect(try await a.get("/summary").body.contains("<h1>预约数据汇总"), "still signed in")
            // A login form posted from elsewhere (without the login page's own token) is refused too.
            let outsider = app.browser()
            #expect(try await outsider.request(.post, "/login", form: ["name": "clerkA", "password": WebSite.password], follow: false).status == 403)
        }
    }

    // MARK: Masking and audit

    /// Names and phones in full only for the reservation's own department's staff, on every page
    /// and export; every row shown in full is in the audit log, which only administrators read —
    /// in words.
    @Test(arguments: SQLDialect.allCases) func personalDataIsMaskedOutsideTheDepartmentAndEveryFullViewIsAudited(_ dialect: SQLDialect) async throws {
        let site = try WebSite.populated("masking", dialect)
        defer { site.stop() }
        try await site.withRouter { app in
            let a = app.browser(), b = app.browser(), admin = app.browser()
            try await a.login("clerkA")
            try await b.login("clerkB")
            try await admin.login("admin")
            let ownPaths = ["/list?\(Self.period)", "/list.csv?\(Self.period)", "/phone?\(Self.period)", "/phone.csv?\(Self.period)", "/reservation/YY-A1",
                            "/reservation/YY-PA", "/attention", "/attention.csv"]
            let own = try await a.get("/list?\(Self.period)")
            #expect(own.body.contains("欧阳娜娜") && own.body.contains("13911112222"))
            #expect(try await a.get("/phone?\(Self.period)").body.contains("0631-5201234"))
            #expect(try await a.get("/attention").body.contains("东方不败"), "the held reservation's applicant, for the department's staff")
            for path in ownPaths {
                let page = try await admin.get(path)
                for full in ["欧阳娜娜", "13911112222", "诸葛孔明", "5201234", "东方不败", "司马相如", "13933334444"] {
                    #expect(!page.body.contains(full), "\(path) shows \(full) to the administrator")
                }
            }
            #expect(try await admin.get("/list?\(Self.period)").body.contains("欧*"))
            #expect(try await admin.get("/list.csv?\(Self.period)").body.contains("139****2222"))
            // What clerk A saw in full is audited, page by page; the administrator's masked views are not.
            let lines = try site.web.read { db in
                try db.rows("SELECT account, reservationId, view FROM audit").map { "\($0["account"] as String) \($0["reservationId"] as String) \($0["view"] as String)" }
            }
            #expect(Set(lines).isSuperset(of: ["clerkA YY-A1 list", "clerkA YY-PA list", "clerkA YY-HA list", "clerkA YY-PA phone", "clerkA YY-HA attention"]), "\(lines)")
            #expect(!lines.contains { $0.hasPrefix("admin ") }, "\(lines)")
            let export = try await a.get("/list.csv?\(Self.period)")
            #expect(export.body.contains("欧阳娜娜"))
            let afterExport = try site.web.read { db in try db.values(String.self, "SELECT reservationId FROM audit WHERE view = 'list.csv' ORDER BY reservationId") }
            #expect(afterExport == ["YY-A1", "YY-HA", "YY-PA"], "every row of the export shown in full")
            _ = try await a.get("/reservation/YY-A1")
            // Only administrators read the log — with the pages named in words.
            #expect(try await a.get("/audit").status == 404)
            let log = try await admin.get("/audit")
            #expect(log.body.contains("clerkA") && log.body.contains("YY-A1") && log.body.contains("预约详情") && log.body.contains("预约列表导出"))
            #expect(!log.body.contains(">record<") && !log.body.contains(">list<") && !log.body.contains(">list.csv<"))
            #expect(log.body.contains("查看日期") && !log.body.contains("预约日期"), "its dates are when the data was viewed")
        }
    }

    /// A call's note is free text: a phone number or a name typed into it is shown in full only to
    /// the department's staff (and their view of the record is audited), masked for everyone else.
    @Test func aCallNoteIsShownLikeThePersonalDataItMayHold() async throws {
        let site = try WebSite.populated("note")
        defer { site.stop() }
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            let page = try await a.get("/phone?\(Self.period)")
            let recorded = try await a.request(.post, "/phone/YY-PA/call", form: ["csrf": a.csrf(in: page) ?? "", "result": "UNREACHABLE",
                                                                                 "note": "诸葛孔明说改打 13812345678"])
            #expect(recorded.status == 200)
            let own = try await a.get("/reservation/YY-PA")
            #expect(own.body.contains("诸葛孔明说改打 13812345678"))
            let audited = try site.web.read { db in try db.value(Int.self, "SELECT COUNT(*) FROM audit WHERE account = 'clerkA' AND reservationId = 'YY-PA' AND view = 'record'") }
            #expect(audited == 1)
            let admin = app.browser()
            try await admin.login("admin")
            let masked = try await admin.get("/reservation/YY-PA")
            #expect(masked.status == 200 && !masked.body.contains("13812345678") && !masked.body.contains("诸葛孔明"), "the note, masked")
            #expect(masked.body.contains("138****5678") && masked.body.contains("诸*"))
        }
    }

    // MARK: Sessions

    /// A session counts only while its account is enabled and it logged in after the account's
    /// password last changed and its sessions were last ended — even if its row were still there.
    @Test(arguments: SQLDialect.allCases) func aSessionOlderThanThePasswordOrADisableIsRefusedEvenIfItsRowSurvived(_ dialect: SQLDialect) async throws {
        let site = try WebSite("survivor", process: false, dialect: dialect)
        defer { site.stop() }
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            #expect(try await a.get("/summary").body.contains("<h1>预约数据汇总"))
            // The password changes without the sessions being deleted (as v1's LIKE failed to).
            try site.web.write { db in try db.execute("UPDATE account SET passwordChangedAt = ? WHERE name = 'clerkA'", [Date().timeIntervalSince1970]) }
            let after = try await a.get("/summary")
            #expect(after.body.contains("<h1>登录</h1>"), "the session of the old password is refused")
            #expect(a.setCookies.last?.contains("Max-Age=0") == true, "and the browser told to forget it: \(a.setCookies)")
            // Disabled and enabled again, the row still there.
            let b = app.browser()
            try await b.login("clerkB")
            let rows = try site.web.sessionCount(of: "clerkB", now: Date().timeIntervalSince1970)
            try site.web.write { db in try db.execute("UPDATE account SET disabled = 1, sessionsEndedAt = ? WHERE name = 'clerkB'", [Date().timeIntervalSince1970]) }
            try site.web.write { db in try db.execute("UPDATE account SET disabled = 0 WHERE name = 'clerkB'") }
            #expect(rows == 1)
            #expect(try await b.get("/summary").body.contains("<h1>登录</h1>"))
        }
    }

    // MARK: Input in range

    /// What a request carries is read into its allowed range: a page past the end shows the last
    /// one; a value that is no page, date or code is a 400 that says what to do.
    @Test func numbersAndDatesOutOfRangeAreAnsweredInWords() async throws {
        let site = try WebSite.populated("range")
        defer { site.stop() }
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            let last = try await a.get("/list?\(Self.period)&page=999999")
            #expect(last.status == 200 && last.body.contains("YY-A1"), "the last page")
            for (path, words) in [("/list?page=9223372036854775807", "页码"), ("/list?page=abc", "页码"), ("/list?page=0", "页码"),
                                  ("/attention?page=-1", "页码"), ("/list?from=9999-12-31", "日期"), ("/summary?to=2021-02-30", "日期"),
                                  ("/list?dept=%3Cscript%3E", "部门编码"), ("/list?column=DROP", "统计项")] {
                let page = try await a.get(path)
                #expect(page.status == 400 && page.body.contains(words), "\(path): \(page.status)")
                #expect(!page.body.contains("<script>"))
            }
            let admin = app.browser()
            try await admin.login("admin")
            let audit = try await admin.get("/audit?from=1e9")
            #expect(audit.status == 400 && audit.body.contains("日期"))
            let note = String(repeating: "很", count: 501)
            let attention = try await a.get("/attention")
            let resolve = try #require(attention.body.range(of: #"/attention/\d+/resolve"#, options: .regularExpression).map { String(attention.body[$0]) })
            let long = try await a.request(.post, resolve, form: ["csrf": a.csrf(in: attention) ?? "", "note": note], follow: false)
            #expect(long.status == 400 && long.body.contains("最多 500 个字"))
        }
    }

    // MARK: The summary

    @Test(arguments: SQLDialect.allCases) func theSummaryCountsAndLinksToTheListBehindEachNumber(_ dialect: SQLDialect) async throws {
        let site = try WebSite.populated("summary", dialect)
        defer { site.stop() }
        try await site.withRouter { app in
            let admin = app.browser()
            try await admin.login("admin")
            let page = try await admin.get("/summary?\(Self.period)&by=matter")
            // Total row: 5 reservations, 2 pending, 2 phone-verified (not called), 1 on the attention list.
            let total = try #require(page.body.components(separatedBy: "<tr class=\"total\">").last?.components(separatedBy: "</tr>").first)
            #expect(Self.counts(total) == [5, 2, 0, 0, 0, 2, 2, 0, 0, 0, 2, 1], "\(Self.counts(total))")   // the 2021 appointments are long overdue
            // Every number links to its list, which has as many rows.
            let overdueLink = try #require(total.range(of: #"/list\?[^"]*column=overdue[^"]*"#, options: .regularExpression).map { String(total[$0]) })
            let overdue = try await admin.get(overdueLink.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(overdue.body.contains("共 2 条"), "\(overdueLink)")
        }
    }

    /// A region's summary is one line per department, each opening its matters; a table longer
    /// than a page is paged, with the whole table's totals.
    @Test(arguments: SQLDialect.allCases) func aLongSummaryIsGroupedByDepartmentAndPaged(_ dialect: SQLDialect) async throws {
        let site = try WebSite("long", process: false, dialect: dialect)
        defer { site.stop() }
        // 3 departments × 80 matters, straight into the daemon's database.
        try WebFixtures.insert(into: site.engine.store, departments: 3, matters: 80, perLine: 1, date: "2021-09-11")
        try await site.withRouter { app in
            let admin = app.browser()
            try await admin.login("admin")
            let overview = try await admin.get("/summary?\(Self.period)")
            #expect(overview.body.components(separatedBy: "<tr>").count - 2 == 3, "one line per department")
            #expect(overview.body.contains("测试部门1") && !overview.body.contains("<th>事项</th>"))
            let total = try #require(overview.body.components(separatedBy: "<tr class=\"total\">").last)
            #expect(Self.counts(total).first == 240)
            let department = try #require(overview.body.range(of: #"/summary\?dept=[^"]+"#, options: .regularExpression).map { String(overview.body[$0]) })
            let matters = try await admin.get(department.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(matters.body.contains("<th>事项</th>") && matters.body.components(separatedBy: "<tr>").count - 2 == 80)
            // All 240 lines: a page of 100, and the totals of all.
            let all = try await admin.get("/summary?\(Self.period)&by=matter")
            #expect(all.body.components(separatedBy: "<tr>").count - 2 == 100 && all.body.contains("第 1 页，共 3 页"))
            #expect(Self.counts(try #require(all.body.components(separatedBy: "<tr class=\"total\">").last)).first == 240)
            let third = try await admin.get("/summary?\(Self.period)&by=matter&page=3")
            #expect(third.body.components(separatedBy: "<tr>").count - 2 == 40)
            let csv = try await admin.get("/summary.csv?\(Self.period)&by=matter")
            let csvLines = csv.body.components(separatedBy: "\r\n").count
            #expect(csvLines == 243, "header, every line, the totals, end: \(csvLines)")
        }
    }

    /// The region's summary is one statement whatever its number of lines (it was one per line).
    @Test func theSummaryIsOneStatement() throws {
        let site = try WebSite("statements", process: false)
        defer { site.stop() }
        try WebFixtures.insert(into: site.configuration.database, departments: 4, matters: 10, perLine: 2, date: "2021-09-11")
        let store = try Store(path: site.configuration.database, readOnly: true, attaching: ["web": site.configuration.web.database])
        let (count, lines) = try WebFixtures.countingStatements(store) { tx in
            try tx.summary(scope: .region("371002"), from: CivilDate(iso: "2021-09-01")!, to: CivilDate(iso: "2021-09-30")!, now: BeijingTime.now()).count
        }
        #expect(lines == 40 && count == 1, "\(count) statements for \(lines) lines")
        let (byDepartment, departments) = try WebFixtures.countingStatements(store) { tx in
            try tx.summary(scope: .region("371002"), from: CivilDate(iso: "2021-09-01")!, to: CivilDate(iso: "2021-09-30")!, now: BeijingTime.now(),
                           grouping: .department).count
        }
        #expect(departments == 4 && byDepartment == 1)
        // The attention page likewise: its statements do not grow with its entries.
        let (small, _) = try WebFixtures.countingStatements(store) { tx in
            try tx.attentionList(scope: .region("371002"), includingUnowned: true, limit: 5, offset: 0).count
        }
        let (large, _) = try WebFixtures.countingStatements(store) { tx in
            try tx.attentionList(scope: .region("371002"), includingUnowned: true, limit: 50, offset: 0).count
        }
        #expect(small == large && large <= 2, "\(small) and \(large)")
    }

    static func counts(_ row: String) -> [Int] {
        row.components(separatedBy: "<td class=\"n\">").dropFirst().map { cell in
            Int(cell.replacingOccurrences(of: #"<a href="[^"]*">"#, with: "", options: .regularExpression).prefix { $0.isNumber }) ?? -1
        }
    }

    // MARK: Exports

    /// An export holds every row of its list, however many (it stopped at 100,000 without a word).
    @Test(arguments: SQLDialect.allCases) func anExportHoldsEveryRowOfItsList(_ dialect: SQLDialect) async throws {
        let site = try WebSite("export", process: false, dialect: dialect)
        defer { site.stop() }
        try WebFixtures.insert(into: site.engine.store, departments: 1, matters: 1, perLine: 100_010, date: "2021-09-11")
        try await site.withRouter { app in
            let admin = app.browser()
            try await admin.login("admin")
            let list = try await admin.get("/list?\(Self.period)")
            #expect(list.body.contains("共 100010 条"))
            let csv = try await admin.get("/list.csv?\(Self.period)")
            let lines = csv.body.components(separatedBy: "\r\n")
            #expect(lines.count == 1 + 100_010 + 1, "header, every row, end: \(lines.count)")
            #expect(lines[100_010].hasPrefix("T-"), "the last row is whole: \(lines[100_010].prefix(80))")
        }
    }

    // MARK: Phone verification

    /// A phone-verified reservation the applicant cancelled online is 已取消: not on the list to
    /// call, not 未联系 in the summary, and no call can be recorded for it.
    @Test(arguments: SQLDialect.allCases) func aPhoneVerifiedReservationCancelledOnlineIsCancelledAndNotToBeCalled(_ dialect: SQLDialect) async throws {
        let site = try WebSite.populated("phonecancel", dialect)
        defer { site.stop() }
        _ = site.site.portal.cancel("YY-PA")
        site.drain()
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            let summary = try await a.get("/summary?\(Self.period)")
            let total = try #require(summary.body.components(separatedBy: "<tr class=\"total\">").last)
            // 预约总数 3 (A1, PA, HA); 已取消 1; 电话核实 0; 未联系 0.
            let counts = Self.counts(total)
            #expect(counts[0] == 3 && counts[4] == 1 && counts[6] == 0 && counts[10] == 0, "\(counts)")
            let phone = try await a.get("/phone?\(Self.period)")
            #expect(!phone.body.contains("/phone/YY-PA/call"), "no form to record a call")
            #expect(phone.body.contains("已由申请人网上取消"))
            let cancelled = try await a.get("/list?\(Self.period)&column=cancelled")
            #expect(cancelled.body.contains("YY-PA") && cancelled.body.contains("共 1 条"))
            let post = try await a.request(.post, "/phone/YY-PA/call", form: ["csrf": a.csrf(in: phone) ?? "", "result": "CONFIRMED"], follow: false)
            #expect(post.status == 404)
            #expect(try site.web.calls(of: "YY-PA").isEmpty)
        }
    }

    /// The result of a call has no default: a clerk who clicks 记录 without choosing is asked to.
    @Test func aCallsResultMustBeChosen() async throws {
        let site = try WebSite.populated("choose")
        defer { site.stop() }
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            let page = try await a.get("/phone?\(Self.period)")
            let form = try #require(page.body.components(separatedBy: "/phone/YY-PA/call").dropFirst().first?.components(separatedBy: "</form>").first)
            #expect(form.contains(#"<select name="result" required><option value="" selected>"#), "\(form)")
            #expect(!form.contains(#"value="CONFIRMED" selected"#))
            for result in ["", nil] as [String?] {
                var fields = ["csrf": a.csrf(in: page) ?? "", "note": "n"]
                if let result { fields["result"] = result }
                let answer = try await a.request(.post, "/phone/YY-PA/call", form: fields, follow: false)
                #expect(answer.status == 400 && answer.body.contains("请先在“核实结果”中选择"), "\(answer.status)")
            }
            #expect(try site.web.calls(of: "YY-PA").isEmpty)
            let done = try await a.request(.post, "/phone/YY-PA/call", form: ["csrf": a.csrf(in: page) ?? "", "result": "CONFIRMED"])
            #expect(done.body.contains("核实结果已记录"))
            #expect(try site.web.calls(of: "YY-PA").map(\.result) == [.confirmed])
        }
    }

    // MARK: The attention list

    /// 重新处理 asks first: the list links to a page that says what will happen, whose button
    /// (a POST with the session's token) does it.
    @Test func retryingAnAttentionEntryAsksFirst() async throws {
        let site = try WebSite("confirm", unknownMatter: "hold", process: false)
        defer { site.stop() }
        site.publish(WebSite.reservation("YY-NEW", matter: "371002-XK-0999", name: "王小明"))
        site.drain()
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            let list = try await a.get("/attention")
            #expect(!list.body.contains(#"action="/attention/"#) || !list.body.contains("/retry\"><input"), "no retry form on the list")
            let link = try #require(list.body.range(of: #"href="/attention/\d+/retry""#, options: .regularExpression).map { String(list.body[$0].dropFirst(6).dropLast()) })
            let confirm = try await a.get(link)
            #expect(confirm.status == 200 && confirm.body.contains("确认重新处理") && confirm.body.contains("事项不在事项目录中"))
            #expect(confirm.body.contains(#"<form method="post" action="\#(link)">"#))
            #expect(try site.web.requests(after: 0, limit: 10).isEmpty, "opening the page does nothing")
            let done = try await a.request(.post, link, form: ["csrf": a.csrf(in: confirm) ?? ""])
            #expect(done.body.contains("已提交"))
            #expect(try site.web.requests(after: 0, limit: 10).map(\.kind) == [.retry])
        }
    }

    /// The attention list names each entry's matter and applicant and is paged (7,509 entries
    /// were one 5.5 MB page); its counts are the whole list's.
    @Test(arguments: SQLDialect.allCases) func theAttentionListIsPagedAndNamesMatterAndApplicant(_ dialect: SQLDialect) async throws {
        let site = try WebSite("attentionpages", process: false, dialect: dialect)
        defer { site.stop() }
        for i in 0..<60 {
            var r = WebSite.reservation(String(format: "YY-H%02d", i), name: "欧阳娜娜")
            r.applicant.idNumber = "371002198001010150"
            site.publish(r)
        }
        site.drain()
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            let first = try await a.get("/attention")
            #expect(first.body.contains("60 条预约，60 项待处理"))
            #expect(first.body.contains("<th>事项</th><th>申请人</th>"))
            #expect(first.body.components(separatedBy: "/resolve\"").count - 1 == 50, "a page of 50")
            #expect(first.body.contains("欧阳娜娜") && first.body.contains("第 1 页，共 2 页"))
            let second = try await a.get("/attention?page=2")
            #expect(second.body.components(separatedBy: "/resolve\"").count - 1 == 10)
            let admin = app.browser()
            try await admin.login("admin")
            let masked = try await admin.get("/attention")
            #expect(masked.body.contains("欧*") && !masked.body.contains("欧阳娜娜"))
            let csv = try await admin.get("/attention.csv")
            #expect(csv.body.components(separatedBy: "\r\n").count == 1 + 60 + 1)
        }
    }

    // MARK: Words, not codes

    /// No page shows a code where a clerk expects words: attention reasons and fields, portal
    /// statuses, the audit log's page names, department codes in headings; one form of times;
    /// the login page sends clerks to an administrator, not to a command.
    @Test func noPageShowsACodeWhereAClerkExpectsWords() async throws {
        let site = try WebSite.populated("words")
        defer { site.stop() }
        site.publish(WebSite.reservation("YY-UM", matter: "371002-XK-0999", name: "王小明"))   // UNKNOWN_MATTER, delivered to licensing
        site.drain()
        let codes = DomainError.Code.all.map(\.rawValue) + ["applicant.idNumber", "SUBMITTED", "RECEIVED", "HANDLED", "CANCEL_ACKNOWLEDGED",
                                                            "DELIVERABLE", "UNDELIVERABLE", "PENDING", ">list<", ">record<", ">phone<"]
        try await site.withRouter { app in
            let login = try await app.browser().get("/login")
            #expect(login.body.contains("请联系管理员开通账号") && !login.body.contains("hallsync user"))
            for name in ["clerkA", "admin"] {
                let browser = app.browser()
                try await browser.login(name)
                let entry = try #require(try site.engine.store.read { tx in
                    try tx.attentionEntries(scope: .region("371002"), includingUnowned: true, limit: 10)
                }.first { $0.reservationId == "YY-HA" })
                var pages = ["/summary?\(Self.period)", "/summary?\(Self.period)&by=matter", "/list?\(Self.period)", "/phone?\(Self.period)",
                             "/reservation/YY-A1", "/reservation/YY-HA", "/reservation/YY-UM", "/attention", "/attention/\(entry.id)/retry"]
                if name == "admin" { pages.append("/audit") }
                for path in pages {
                    let page = try await browser.get(path)
                    #expect(page.status == 200, "\(name) \(path): \(page.status)")
                    let text = page.body.replacingOccurrences(of: #"<[^>]*>"#, with: " ", options: .regularExpression)
                    for code in codes where code.hasPrefix(">") ? page.body.contains(code) : text.contains(code) {
                        Issue.record("\(name) \(path) shows \(code)")
                    }
                    // Department codes in the header and headings: names instead.
                    let head = page.body.components(separatedBy: "</h1>").first ?? ""
                    #expect(!head.contains(WebSite.deptA), "\(name) \(path) names the department by its code")
                    // Times without seconds, in one form.
                    #expect(text.range(of: #"\d{2}:\d{2}:\d{2}"#, options: .regularExpression) == nil || path.hasPrefix("/reservation") || path == "/audit",
                            "\(name) \(path) shows a time with seconds")
                }
                let list = try await browser.get("/list?\(Self.period)")
                #expect(list.body.replacingOccurrences(of: #"<[^>]+>"#, with: "", options: .regularExpression).contains("2021-09-11 10:00-10:30"),
                        "appointments as date and slot")
                #expect(name != "admin" || list.body.contains("<th>部门</th>"), "the administrator's list names each row's department")
            }
            let clerk = app.browser()
            try await clerk.login("clerkA")
            let header = try await clerk.get("/summary")
            #expect(header.body.contains("clerkA（部门工作人员，环翠区行政审批服务局）"))
            let held = try await clerk.get("/reservation/YY-HA")
            #expect(held.body.contains("证件号码校验位错误") && held.body.contains("证件号码"))
            let record = try await clerk.get("/reservation/YY-A1")
            #expect(record.body.contains("已提交") && record.body.contains("进入大厅收件箱"))
        }
    }

    /// Every attention code a clerk may meet (every one the daemon raises) reads as words; one this
    /// table does not know still does.
    @Test func everyAttentionCodeHasWords() {
        for code in DomainError.Code.all {
            #expect(!Self.hasLatin(code.clerkLabel), "\(code): \(code.clerkLabel)")
        }
        #expect(DomainError.Code(rawValue: "SOMETHING_NEW").clerkLabel == "其他问题（代码 SOMETHING_NEW）")
        for field in ["applicant.idNumber", "applicant.name", "applicant.phone", "appointmentDate", "appointmentSlot", "itemCode", "deptCode", "status"] {
            #expect(!Self.hasLatin(ClerkLabels.field(field)), "\(field)")
        }
        #expect(ClerkLabels.attentionSubject(code: "PORTAL_REFUSED", field: "HANDLED") == "状态推送：已办理")
        for status in ["SUBMITTED", "CANCELLED"] { #expect(!Self.hasLatin(ClerkLabels.portalStatus(status)), "\(status)") }
        for status in ["RECEIVED", "HANDLED", "CONSULTED", "CANCEL_ACKNOWLEDGED"] { #expect(!Self.hasLatin(ClerkLabels.processStatus(status)), "\(status)") }
        for view in ["list", "list.csv", "phone", "phone.csv", "record", "attention", "attention.csv"] { #expect(!Self.hasLatin(ClerkLabels.webView(view)), "\(view)") }
    }

    static func hasLatin(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.isASCII && $0.properties.isAlphabetic }
    }
}
