import Foundation
import HallsyncEngine
import HallsyncStore
import HallsyncTestSupport
import Testing
@testable import HallsyncWeb

/// The web page of a pair: both machines run `hallsync web` on the same PostgreSQL, so a clerk
/// may be sent to either by the site's balancer — signed in once, the same pages, the same
/// requests, whichever machine serves — and each page says which machine leads the sync.
@Suite(.serialized, .privateCluster) struct WebOnAPairTests {
    @Test func eitherMachinesPageServesTheSameSessionAndSaysWhoLeads() throws {
        let site = try WebSite("pairweb", unknownMatter: "hold", dialect: .postgresql)
        defer { site.stop() }
        site.publish(WebSite.reservation("YY-A1", name: "欧阳娜娜", phone: "13911112222"))
        site.publish(WebSite.reservation("YY-NEW", matter: "371002-XK-0999"))
        site.drain()
        #expect(site.isRunning && site.port > 0)
        // The other machine's web page: another process, the same configuration.
        let (other, otherPort) = try WebSite.startWeb(config: site.directory + "/hallsync.yaml", log: site.directory + "/web-b.log")
        defer { other.terminate(); other.waitUntilExit() }
        try #require(otherPort > 0, "the second web page did not start: \((try? String(contentsOfFile: site.directory + "/web-b.log", encoding: .utf8)) ?? "")")

        let first = try site.browser()
        let summary = try first.login("clerkA")
        #expect(summary.body.contains("同步主机：web-test-daemon（第 1 任）"), "\(summary.body.prefix(3000))")
        #expect(summary.body.contains("环翠区行政审批服务局"))

        // The same session cookie on the other machine: signed in, the same scope.
        let second = try Browser(baseURL: "http://127.0.0.1:\(otherPort)")
        second.cookies = first.cookies
        let list = try second.get("/list?from=2021-09-01&to=2021-09-30")
        #expect(list.status == 200 && list.body.contains("YY-A1") && list.body.contains("欧阳娜娜"), "\(list.status) \(list.body.prefix(2000))")
        #expect(list.body.contains("同步主机：web-test-daemon"))

        // A clerk's request made on the other machine is carried out by the leading daemon.
        let attention = try second.get("/attention")
        let entry = try #require(attention.body.range(of: #"/attention/(\d+)/resolve"#, options: .regularExpression).map { String(attention.body[$0]) })
        let resolved = try second.request(.post, entry, form: ["csrf": second.csrf(in: attention) ?? "", "note": "已电话联系申请人"])
        #expect(resolved.status == 200)
        #expect(site.engine.runCycle(stop: StopSignal()).clerkRequests == 1)
        #expect(try site.engine.store.read { tx in try tx.openAttention() }.filter { $0.reservationId == "YY-NEW" }.isEmpty)
        // The audit log is one for both machines: the first machine's list view is there too.
        let audited = try site.web.read { db in try db.values(String.self, "SELECT reservationId FROM audit WHERE account = 'clerkA'") }
        #expect(audited.contains("YY-A1"))

        // Logging out on one machine ends the session on both.
        let token = try #require(second.csrf(in: list))
        #expect(try second.request(.post, "/logout", form: ["csrf": token]).body.contains("<h1>登录</h1>"))
        #expect(try first.get("/summary").body.contains("<h1>登录</h1>"))

        // No daemon leads (it resigned): every page says the sync has stopped, in words.
        site.engine.pair?.stop()
        let again = try first.login("clerkA")
        #expect(again.body.contains("同步暂停：双机中没有主机在同步"), "\(again.body.prefix(3000))")
    }
}
