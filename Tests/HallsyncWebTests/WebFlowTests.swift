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

/// What clerks do on the page — log in, record a call, retry and resolve attention entries,
/// export — and the daemon's side of it, on the real router and middleware in this process.
@Suite(.serialized, .privateCluster) struct WebFlowTests {
    @Test(arguments: SQLDialect.allCases) func loginNeedsTheRightPasswordAFormTokenAndIsThrottled(_ dialect: SQLDialect) async throws {
        let site = try WebSite.populated("login", dialect)
        defer { site.stop() }
        try await site.withRouter { app in
            let browser = app.browser()
            #expect(try await browser.get("/summary").body.contains("<h1>登录</h1>"), "without a session, to the login page")
            // A good login: a session cookie that scripts cannot read and other sites do not send.
            #expect(try await browser.login("clerkB").body.contains("<h1>预约数据汇总"))
            let cookie = try #require(browser.setCookies.last { $0.hasPrefix("hallsync_session=") }, "\(browser.setCookies)")
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/") && !cookie.contains("Secure"))
            // Every state-changing form carries the session's token.
            let attention = try await browser.get("/attention")
            #expect(attention.status == 200)
            #expect(try await browser.request(.post, "/logout", form: [:], follow: false).status == 403)
            #expect(try await browser.request(.post, "/logout", form: ["csrf": browser.csrf(in: attention) ?? ""], follow: false).status == 303)
            #expect(try await browser.get("/summary").body.contains("<h1>登录</h1>"), "logged out")
            // A wrong password; a form posted without the login page's token (from another site).
            #expect(try await browser.login("clerkA", password: "wrong password").status == 401)
            #expect(try await browser.request(.post, "/login", form: ["name": "clerkA", "password": WebSite.password]).status == 403)
            // Three failures a minute (this site's setting), then refused even with the right password,
            // for this account and from this address.
            try await browser.login("clerkA", password: "wrong password 2")
            try await browser.login("clerkA", password: "wrong password 3")
            let throttled = try await browser.login("clerkA")
            #expect(throttled.status == 429 && throttled.headers["retry-after"] != nil)
            #expect(try await app.browser().login("clerkB").status == 429, "the address is held up too")
        }
    }

    @Test func sessionCookiesAreSecureBehindAProxyOrTLS() async throws {
        let site = try WebSite("secure", extraYAML: "  behindProxy: true\n", process: false)
        defer { site.stop() }
        try await site.withRouter { app in
            let browser = app.browser()
            try await browser.login("clerkA")
            #expect(browser.setCookies.contains { $0.hasPrefix("hallsync_session=") && $0.contains("Secure") }, "\(browser.setCookies)")
        }
    }

    @Test func passwordsAreKeptAsSlowSaltedHashesOnly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallsync-hash-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = AccountStore(web: try WebStore(path: directory + "/web.sqlite"))
        _ = try store.add(Account(name: "one", role: .staff, departments: ["D1"]), password: "the same password")
        _ = try store.add(Account(name: "two", role: .staff, departments: ["D1"]), password: "the same password")
        let hashes = try store.web.accounts().map(\.passwordHash)
        #expect(hashes.allSatisfy { $0.hasPrefix("$2b$12$") && $0.count == 60 && !$0.contains("the same password") }, "bcrypt, cost 12")
        #expect(hashes[0] != hashes[1], "salted")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/web.sqlite")) + ((try? Data(contentsOf: URL(fileURLWithPath: directory + "/web.sqlite-wal"))) ?? Data())
        #expect(bytes.range(of: Data("the same password".utf8)) == nil)
        #expect(throws: AccountStore.Problem.self) { try store.add(Account(name: "three", role: .staff, departments: ["D1"]), password: "short") }
        #expect(throws: AccountStore.Problem.self) { try store.add(Account(name: "four", role: .staff, departments: ["D 1"]), password: "long enough password") }
        #expect(throws: AccountStore.Problem.self) { try store.add(Account(name: "one", role: .staff, departments: ["D1"]), password: "long enough password") }
    }

    @Test(arguments: SQLDialect.allCases) func theCSVOpensInASpreadsheetAndKeepsScopeAndMasking(_ dialect: SQLDialect) async throws {
        #expect(CSVExport.render(headers: ["姓名", "备注"], rows: [["王,某", "说\"好\"的"], ["多\n行", "=1+1"]])
                == "\u{FEFF}姓名,备注\r\n\"王,某\",\"说\"\"好\"\"的\"\r\n\"多\n行\",'=1+1\r\n")
        let site = try WebSite.populated("csv", dialect)
        defer { site.stop() }
        try await site.withRouter { app in
            let admin = app.browser()
            try await admin.login("admin")
            let csv = try await admin.get("/list.csv?from=2021-09-01&to=2021-09-30")
            #expect(csv.headers["content-type"]?.hasPrefix("text/csv; charset=utf-8") == true)
            #expect(csv.headers["content-disposition"]?.contains("attachment") == true)
            #expect(Array(csv.body.utf8.prefix(3)) == [0xEF, 0xBB, 0xBF], "a UTF-8 byte-order mark")
            #expect(csv.body.hasPrefix("\u{FEFF}预约编号,预约时间,办件期限,超期,部门,部门编码,事项,状态"))
            #expect(csv.body.contains("欧*") && !csv.body.contains("欧阳娜娜"), "masked for an administrator")
            #expect(csv.body.contains("环翠区行政审批服务局,11371002MB0000000B"), "the department by name and code")
            #expect(csv.body.components(separatedBy: "\r\n").count == 7, "header, 5 rows, end")
        }
    }

    @Test(arguments: SQLDialect.allCases) func aHeldRecordIsDeliveredExactlyOnceWhenRetriedAfterTheCatalogueIsFixed(_ dialect: SQLDialect) async throws {
        let site = try WebSite("retry", unknownMatter: "hold", process: false, dialect: dialect)
        defer { site.stop() }
        site.publish(WebSite.reservation("YY-NEW", matter: "371002-XK-0999"))
        site.drain()
        #expect(site.site.licensing.items(externalId: "YY-NEW").isEmpty, "held: the matter is not in the catalogue")
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            var page = try await a.get("/attention")
            #expect(page.body.contains("事项不在事项目录中"))
            let entry = try #require(page.body.range(of: #"/attention/(\d+)/retry"#, options: .regularExpression).map { String(page.body[$0]) })
            // After the fix, the next cycle delivers it once.
            try (try String(contentsOfFile: site.directory + "/matters.csv", encoding: .utf8) + "371002-XK-0999,新设事项,\(WebSite.deptA),false\n")
                .write(toFile: site.directory + "/matters.csv", atomically: true, encoding: .utf8)
            site.engine = try SyncEngine(configuration: site.configuration, logger: WebSite.logger, store: site.engine.store, pair: site.engine.pair)   // the daemon's reload
            let confirm = try await a.get(entry)
            page = try await a.request(.post, entry, form: ["csrf": a.csrf(in: confirm) ?? ""])
            #expect(page.body.contains("已提交"))
            #expect(page.body.contains("已提交，等待同步程序处理"), "shown as waiting until the daemon applies it")
            let applied = site.engine.runCycle(stop: StopSignal())
            #expect(applied.clerkRequests == 1, "\(applied.errors)")
            site.drain()
            #expect(site.site.licensing.items(externalId: "YY-NEW").count == 1)
            #expect(site.site.licensing.items(externalId: "YY-NEW").first?.itemName == "（预约）新设事项")
            #expect(try Set(site.engine.store.read { tx in try tx.openAttention() }.map(\.code)).isEmpty)
            // A second retry (from the command line, or a double click) sends nothing more.
            try site.web.add(.retry, reservationId: "YY-NEW", attentionId: nil, note: "", account: "clerkA", at: Date().timeIntervalSince1970)
            site.drain()
            #expect(site.site.licensing.items(externalId: "YY-NEW").count == 1)
        }
    }

    @Test(arguments: SQLDialect.allCases) func resolvingALifecycleEntryClosesItAndTheStatusCountFollows(_ dialect: SQLDialect) async throws {
        let site = try WebSite.populated("resolve", dialect)
        defer { site.stop() }
        // Staff disagree: OUTCOME_CONFLICT, which only a person can close.
        let intakeNo = try #require(site.site.intake.items(externalId: "YY-A1").first?.itemNo)
        let licensingNo = try #require(site.site.licensing.items(externalId: "YY-A1").first?.itemNo)
        site.site.intake.staffAct(itemNo: intakeNo, action: .handle)
        site.site.licensing.staffAct(itemNo: licensingNo, action: .consult)
        site.drain()
        let reporter = StatusReporter(version: "test", configPath: site.directory + "/hallsync.yaml", logger: WebSite.logger)
        let before = reporter.cycleFinished(site.engine.runCycle(stop: StopSignal()), engine: site.engine).attention
        #expect(before.byCode["OUTCOME_CONFLICT"] == 1 && before.open == 2, "\(before)")
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            var page = try await a.get("/attention")
            #expect(page.body.contains("2 条预约"), "the page and the status file agree")
            let conflict = try #require(page.body.components(separatedBy: "<tr>").first { $0.contains("两个大厅的办理结果不一致") })
            let action = try #require(conflict.range(of: #"/attention/(\d+)/resolve"#, options: .regularExpression).map { String(conflict[$0]) })
            #expect(!conflict.contains("/retry"), "running the pipeline again cannot close it: no 重新处理")
            // A note is required.
            #expect(try await a.request(.post, action, form: ["csrf": a.csrf(in: page) ?? "", "note": " "]).status == 400)
            page = try await a.request(.post, action, form: ["csrf": a.csrf(in: page) ?? "", "note": "与申请人核实：已办理"])
            site.drain()
            let after = reporter.cycleFinished(site.engine.runCycle(stop: StopSignal()), engine: site.engine).attention
            #expect(after.byCode["OUTCOME_CONFLICT"] == nil && after.open == 1)
            let resolved = try site.engine.store.read { tx in try tx.history(of: "YY-A1") }.attention.first { $0.code == "OUTCOME_CONFLICT" }
            #expect(resolved?.resolvedBy == "clerkA" && resolved?.resolution == "与申请人核实：已办理")
            #expect(try await a.get("/attention").body.contains("1 条预约"))
        }
    }

    @Test(arguments: SQLDialect.allCases) func aClerkRecordsAPhoneCallAndTheSummaryShowsIt(_ dialect: SQLDialect) async throws {
        let site = try WebSite.populated("phone", dialect)
        defer { site.stop() }
        try await site.withRouter { app in
            let a = app.browser()
            try await a.login("clerkA")
            var page = try await a.get("/phone?from=2021-09-01&to=2021-09-30")
            #expect(page.body.contains("YY-PA") && page.body.contains("0631-5201234"), "the number to call, with the site's area code")
            page = try await a.request(.post, "/phone/YY-PA/call", form: ["csrf": a.csrf(in: page) ?? "", "result": "CONFIRMED", "note": "下午到",
                                                                        "back": "/phone?from=2021-09-01&to=2021-09-30"])
            #expect(page.body.contains("已确认"), "\(page.status) \(page.body.components(separatedBy: "YY-PA").dropFirst().first?.prefix(800) ?? "")")
            let summary = try await a.get("/summary?from=2021-09-01&to=2021-09-30")
            let total = try #require(summary.body.components(separatedBy: "<tr class=\"total\">").last)
            #expect(total.contains("column=phoneConfirmed"), "one confirmed call, linked")
            // An administrator sees the result, masked, and cannot record a call.
            let admin = app.browser()
            try await admin.login("admin")
            let adminPage = try await admin.get("/phone?from=2021-09-01&to=2021-09-30")
            #expect(adminPage.body.contains("已确认") && !adminPage.body.contains("0631-5201234") && adminPage.body.contains("仅本部门工作人员可记录"))
        }
    }
}
