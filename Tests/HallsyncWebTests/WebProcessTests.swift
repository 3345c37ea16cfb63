import Foundation
import HallsyncDomain
import HallsyncStore
import Testing
@testable import HallsyncWeb

/// The real `hallsync web` process over HTTP on loopback: what only a process shows — that no
/// request can stop it, and that what `hallsync user` does (another process, on the same
/// database) ends the sessions it must end.
@Suite(.serialized) struct WebProcessTests {
    /// A clerk's round over real HTTP: log in, the summary, a list, a record, a streamed export,
    /// log out — with the headers every page carries.
    @Test func aClerkWorksThroughThePagesOverLoopback() throws {
        let site = try WebSite("round")
        defer { site.stop() }
        site.publish(WebSite.reservation("YY-A1", name: "欧阳娜娜", phone: "13911112222"))
        site.publish(WebSite.reservation("YY-B1", dept: WebSite.deptB, matter: "371002-XK-0107", name: "司马相如"))
        site.drain()
        let clerk = try site.browser()
        let summary = try clerk.login("clerkA")
        #expect(summary.body.contains("<h1>预约数据汇总") && summary.body.contains("环翠区行政审批服务局"))
        for (name, value) in [("content-security-policy", "default-src 'none'"), ("x-frame-options", "DENY"), ("cache-control", "no-store"),
                              ("referrer-policy", "no-referrer"), ("x-content-type-options", "nosniff")] {
            #expect(summary.headers[name]?.contains(value) == true, "\(name): \(summary.headers[name] ?? "none")")
        }
        let list = try clerk.get("/list?from=2021-09-01&to=2021-09-30")
        #expect(list.body.contains("YY-A1") && list.body.contains("欧阳娜娜") && !list.body.contains("YY-B1"))
        #expect(try clerk.get("/reservation/YY-A1").body.contains("13911112222"))
        #expect(try clerk.get("/reservation/YY-B1").status == 404)
        let csv = try clerk.get("/list.csv?from=2021-09-01&to=2021-09-30")
        #expect(csv.headers["transfer-encoding"] == "chunked", "streamed: \(csv.headers)")
        #expect(csv.body.hasPrefix("\u{FEFF}预约编号") && csv.body.contains("YY-A1,2021-09-11 10:00-10:30") && !csv.body.contains("YY-B1"))
        let bad = try clerk.get("/list?page=x")
        #expect(bad.status == 400 && bad.headers["content-security-policy"] != nil, "an error page carries the headers too")
        let token = try #require(clerk.csrf(in: list))
        #expect(try clerk.request(.post, "/logout", form: ["csrf": token]).body.contains("<h1>登录</h1>"))
        #expect(try clerk.get("/list").body.contains("<h1>登录</h1>"))
    }

    /// Every number a request carries is parsed into its allowed range: none of these stops the
    /// process, and each is answered (a page, or a 400 that says what to do) without a 5xx.
    @Test func noNumberInARequestStopsTheProcess() throws {
        let site = try WebSite("overflow")
        defer { site.stop() }
        site.publish(WebSite.reservation("YY-A1"))
        var phone = WebSite.reservation("YY-PA", phone: "5201234")
        phone.handleMode = "PHONE"
        site.publish(phone)
        site.drain()
        let clerk = try site.browser()
        #expect(try clerk.login("clerkA").status == 200)
        let admin = try site.browser()
        #expect(try admin.login("admin").status == 200)
        let huge = ["9223372036854775807", "9223372036854775806", "184467440737095517", "-9223372036854775808", "99999999999999999999999", "0", "-1", "1e9", "２"]
        var paths: [String] = []
        for number in huge {
            for page in ["/list", "/list.csv", "/phone", "/phone.csv", "/summary", "/attention", "/audit"] {
                paths.append("\(page)?page=\(number)")
            }
            paths.append("/list?from=2021-09-01&to=2021-09-30&page=\(number)")
            paths.append("/attention/\(number)/retry")
            paths.append("/reservation/\(number)")
        }
        for date in ["9999-12-31", "0001-01-01", "99999-01-01", "2021-02-30", "-2021-01-01"] {
            paths.append("/list?from=\(date)&to=2021-09-30")
            paths.append("/summary?from=2021-09-01&to=\(date)")
            paths.append("/audit?from=\(date)&to=\(date)")
        }
        for browser in [clerk, admin] {
            for path in paths {
                let page: Browser.Page
                do { page = try browser.get(path) } catch {
                    Issue.record("\(path): \(error); the process is \(site.isRunning ? "running" : "gone")")
                    break
                }
                #expect(page.status < 500, "\(path) answered \(page.status)")
                #expect(site.isRunning, "\(path) stopped the process")
            }
        }
        // A POST with a number out of range (an attention entry's id) is refused, not a trap.
        let attention = try clerk.get("/attention")
        let token = clerk.csrf(in: attention) ?? ""
        let post = try clerk.request(.post, "/attention/9223372036854775807/retry", form: ["csrf": token], follow: false)
        #expect(post.status < 500 && site.isRunning)
        #expect(try clerk.get("/health").status == 200)
        // A page past the end answers its last page, with a link back.
        let last = try clerk.get("/list?from=2021-09-01&to=2021-09-30&page=9223372036854775807")
        #expect(last.status == 400 || last.body.contains("YY-A1"), "\(last.status)")
    }

    /// `hallsync user passwd` (another process) ends the account's sessions at once; the new
    /// password logs in.
    @Test func aPasswordChangeEndsTheAccountsSessions() throws {
        let site = try WebSite("passwd")
        defer { site.stop() }
        let clerk = try site.browser()
        #expect(try clerk.login("clerkA").body.contains("<h1>预约数据汇总</h1>"))
        let other = try site.browser()
        try other.login("clerkB")
        try site.user(["passwd", "clerkA", "--password-stdin"], input: "a new long password\n")
        #expect(try clerk.get("/summary").body.contains("<h1>登录</h1>"), "the session of the old password ended")
        #expect(try other.get("/summary").body.contains("<h1>预约数据汇总</h1>"), "another account's session goes on")
        #expect(try clerk.login("clerkA", password: "a new long password").body.contains("<h1>预约数据汇总</h1>"))
    }

    /// A disabled account's sessions end, and enabling it again does not bring them back — whether
    /// or not a request came while it was disabled.
    @Test func aDisabledAccountsSessionsStayEndedWhenItIsEnabledAgain() throws {
        let site = try WebSite("disable")
        defer { site.stop() }
        let clerk = try site.browser()
        try clerk.login("clerkA")
        #expect(try clerk.get("/summary").body.contains("<h1>预约数据汇总</h1>"))
        // Disabled and enabled again with no request between.
        try site.user(["disable", "clerkA"])
        try site.user(["enable", "clerkA"])
        #expect(try clerk.get("/summary").body.contains("<h1>登录</h1>"), "enabled again: the old session stays ended")
        // Disabled: signed out at the next request, and no login.
        try clerk.login("clerkA")
        try site.user(["disable", "clerkA"])
        #expect(try clerk.get("/summary").body.contains("<h1>登录</h1>"), "disabled: signed out")
        #expect(try clerk.login("clerkA").status == 401, "and cannot log in")
        try site.user(["enable", "clerkA"])
        #expect(try site.browser().login("clerkA").body.contains("<h1>预约数据汇总</h1>"), "a new login works")
    }

    /// The session cookie lives as long as the browser (no Expires, no Max-Age: the next person at a
    /// shared counter PC who opens the browser is not signed in), and a new login ends the
    /// account's earlier session.
    @Test func theSessionCookieEndsWithTheBrowserAndANewLoginEndsTheEarlierSession() throws {
        let site = try WebSite("cookie")
        defer { site.stop() }
        let first = try site.browser()
        let landing = try first.login("clerkA")
        // (Once, under the whole suite's load, the login was answered with the form again: its status and message say why.)
        let cookie = try #require(first.setCookies.last { $0.hasPrefix("hallsync_session=") },
                                  "\(first.setCookies); the login answered \(landing.status): \(landing.body.components(separatedBy: "class=\"error\"").dropFirst().first?.prefix(200) ?? "")")
        #expect(!cookie.lowercased().contains("expires=") && !cookie.lowercased().contains("max-age="), "\(cookie)")
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"))
        let second = try site.browser()
        try second.login("clerkA")
        #expect(try second.get("/summary").body.contains("<h1>预约数据汇总</h1>"))
        #expect(try first.get("/summary").body.contains("<h1>登录</h1>"), "the earlier session ended with the new login")
    }
}
