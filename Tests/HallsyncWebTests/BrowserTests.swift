import Foundation
import HallsyncDomain
@testable import HallsyncTransport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real headless Chromium (Debian's, driven by chromedriver over the W3C WebDriver protocol)
/// against the real web page on loopback: what a clerk does in the browser the office has.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "chromium-driver is not installed (.ci/run installs it)"))
struct BrowserTests {
    /// A minimal WebDriver client over libcurl.
    final class Driver {
        let process: Process
        let base: String
        let http: CurlHTTPClient
        var session = ""
        static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

        init(downloads: String) throws {
            let port = Self.freePort()
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
            process.arguments = ["--port=\(port)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            base = "http://127.0.0.1:\(port)"
            http = try CurlHTTPClient(options: .init(connectTimeout: 2, totalTimeout: 60))
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, (try? http.perform(HTTPRequest(method: .get, url: base + "/status")))?.status != 200 { Thread.sleep(forTimeInterval: 0.1) }
            let created = try call(.post, "/session", [
                "capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": [
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900", "--lang=zh-CN"],
                    "prefs": ["download.default_directory": downloads, "download.prompt_for_download": false],
                ] as [String: Any]]],
            ])
            session = (created["sessionId"] as? String) ?? ""
            _ = try? call(.post, "/session/\(session)/goog/cdp/execute", ["cmd": "Browser.setDownloadBehavior", "params": ["behavior": "allow", "downloadPath": downloads]])
        }

        deinit {
            _ = try? http.perform(HTTPRequest(method: .get, url: base + "/shutdown"))
            process.terminate()
        }

        static func freePort() -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            return Int(UInt16(bigEndian: address.sin_port))
        }

        @discardableResult
        func call(_ method: HTTPRequest.Method, _ path: String, _ body: [String: Any]? = nil) throws -> [String: Any] {
            let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
            let response = try http.perform(HTTPRequest(method: method, url: base + path, body: data ?? (method == .post ? Data("{}".utf8) : nil)))
            let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
            if response.status >= 400 { throw DriverError(message: "\(path): \(String(decoding: response.body, as: UTF8.self).prefix(500))") }
            return object["value"] as? [String: Any] ?? ["value": object["value"] as Any]
        }

        struct DriverError: Error, CustomStringConvertible { let message: String; var description: String { message } }

        func go(_ url: String) throws { try call(.post, "/session/\(session)/url", ["url": url]) }
        var source: String { ((try? call(.get, "/session/\(session)/source"))?["value"] as? String) ?? "" }
        var url: String { ((try? call(.get, "/session/\(session)/url"))?["value"] as? String) ?? "" }

        func element(_ css: String) throws -> String {
            let found = try call(.post, "/session/\(session)/element", ["using": "css selector", "value": css])
            guard let id = found[Self.elementKey] as? String else { throw DriverError(message: "no element \(css)") }
            return id
        }

        func type(_ css: String, _ text: String) throws { try call(.post, "/session/\(session)/element/\(try element(css))/value", ["text": text]) }
        func click(_ css: String) throws { try call(.post, "/session/\(session)/element/\(try element(css))/click", [:]) }
        func text(_ css: String) throws -> String { (try call(.get, "/session/\(session)/element/\(try element(css))/text")["value"] as? String) ?? "" }

        /// Runs `script` (a function body) in the page through WebDriver (not the page's own: it has none).
        func execute(_ script: String) throws -> Any? {
            try call(.post, "/session/\(session)/execute/sync", ["script": script, "args": [] as [Any]])["value"]
        }

        func screenshot(to path: String) throws {
            guard let encoded = try call(.get, "/session/\(session)/screenshot")["value"] as? String, let png = Data(base64Encoded: encoded) else { return }
            try png.write(to: URL(fileURLWithPath: path))
        }

        func login(_ base: String, _ name: String) throws {
            try go(base + "/login")
            try type("#name", name)
            try type("#password", WebSite.password)
            try click("#login")
            waitFor { self.url.hasSuffix("/summary") }
        }

        /// Waits (up to 10 s) for a navigation the page started to land.
        func waitFor(_ condition: () -> Bool) {
            let deadline = Date().addingTimeInterval(10)
            while !condition(), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        }
    }

    @Test func aClerkLogsInFollowsANumberExportsAndAnotherDepartmentSeesNoneOfIt() throws {
        let site = try WebSite("browser")
        defer { site.stop() }
        for i in 1...3 { site.publish(WebSite.reservation("YY-A\(i)", name: ["欧阳娜娜", "王小明", "张三丰"][i - 1], phone: "1391111222\(i)")) }
        site.publish(WebSite.reservation("YY-B1", dept: WebSite.deptB, matter: "371002-XK-0107", name: "司马相如", phone: "13933334444"))
        var phone = WebSite.reservation("YY-PA", name: "诸葛孔明", phone: "5201234")
        phone.handleMode = "PHONE"
        site.publish(phone)
        site.drain()
        let downloads = site.directory + "/downloads"
        try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        let shots = ProcessInfo.processInfo.environment["HALLSYNC_SCREENSHOTS"] ?? site.directory
        let driver = try Driver(downloads: downloads)

        // Department A's clerk logs in and opens the summary.
        try driver.login(site.baseURL, "clerkA")
        #expect(driver.url.hasSuffix("/summary"))
        try driver.go(site.baseURL + "/summary?from=2021-09-01&to=2021-09-30")
        let summary = driver.source
        #expect(summary.contains("预约数据汇总") && summary.contains("行政审批服务局") && !summary.contains("住房和城乡建设局"))
        try driver.screenshot(to: shots + "/summary.png")
        // Follows the total row's first number (all reservations) to the list behind it.
        try driver.click("#summary tr.total td.n a")
        driver.waitFor { driver.url.contains("/list?") }
        let list = driver.source
        #expect(list.contains("预约列表") && list.contains("共 4 条"), "3 delivered and 1 phone-verified")
        #expect(list.contains("YY-A1") && list.contains("欧阳娜娜") && list.contains("13911112221"))
        try driver.go(site.baseURL + "/phone?from=2021-09-01&to=2021-09-30")
        #expect(driver.source.contains("0631-5201234"))
        try driver.screenshot(to: shots + "/phone.png")
        // Exports the list as CSV, downloaded by the browser.
        try driver.go(site.baseURL + "/list?from=2021-09-01&to=2021-09-30")
        try driver.click("a[href^='/list.csv']")
        var csv: Data?
        let deadline = Date().addingTimeInterval(20)
        while csv == nil, Date() < deadline {
            if let file = try FileManager.default.contentsOfDirectory(atPath: downloads).first(where: { $0.hasSuffix(".csv") }) {
                csv = FileManager.default.contents(atPath: downloads + "/" + file)
            } else {
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        let bytes = try #require(csv, "the browser downloaded no CSV")
        #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("预约编号,预约时间") && text.contains("YY-A1") && text.contains("欧阳娜娜") && !text.contains("YY-B1"))
        try driver.click("header button")   // 退出
        driver.waitFor { driver.url.hasSuffix("/login") }
        #expect(driver.source.contains("<h1>登录</h1>"))

        // Department B's clerk, by the same URLs, sees none of it.
        try driver.login(site.baseURL, "clerkB")
        #expect(driver.source.contains("clerkB（部门工作人员"), "\(driver.url) \(driver.source.suffix(600))")
        for path in ["/summary?from=2021-09-01&to=2021-09-30", "/list?from=2021-09-01&to=2021-09-30", "/reservation/YY-A1",
                     "/phone?from=2021-09-01&to=2021-09-30", "/attention"] {
            try driver.go(site.baseURL + path)
            let page = driver.source
            for secret in ["YY-A1", "YY-A2", "YY-PA", "欧阳娜娜", "13911112221", "5201234"] { #expect(!page.contains(secret), "\(path) shows \(secret) to department B") }
        }
        try driver.go(site.baseURL + "/list?from=2021-09-01&to=2021-09-30")
        #expect(driver.source.contains("YY-B1") && driver.source.contains("司马相如"))
        print("browser test: screenshots in \(shots)")
    }

    /// Cells of a table that a 1366-pixel screen squeezes: a heading, or a short value (a status,
    /// a name, a count: up to six characters), broken over two lines or more; any text up to
    /// sixteen characters (a time, a department) over three or more. And a page wider than the
    /// screen.
    static let squeezedCells = """
        const out = [];
        for (const cell of document.querySelectorAll('td, th')) {
          const text = cell.innerText.trim();
          if (text.length < 2 || text.length > 16 || cell.querySelector('form, input, select, button')) continue;
          const range = document.createRange(); range.selectNodeContents(cell);
          const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top))).size;
          const limit = cell.tagName === 'TH' || text.length <= 6 ? 2 : 3;
          if (lines >= limit) out.push(text + ' (' + lines + ' lines)');
        }
        if (document.documentElement.scrollWidth > window.innerWidth) out.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
        return out;
        """

    /// Every page, for a clerk and for the administrator, at an office screen's 1366 × 900: read
    /// in words, no column squeezed. Screenshots go to `$HALLSYNC_SCREENSHOTS` (or the test's
    /// directory) for a person to look at.
    @Test func everyPageReadsAtAnOfficeScreensWidth() throws {
        let site = try WebSite("pages", unknownMatter: "licensing")
        defer { site.stop() }
        let names = ["欧阳娜娜", "迪丽热巴·迪力木拉提", "张三丰", "李四", "Alexander Hamilton", "周吴郑", "冯陈褚", "卫蒋沈"]
        for (i, name) in names.enumerated() {
            site.publish(WebSite.reservation("YY37100220210911000A\(i)", matter: i % 3 == 0 ? "371002-XK-0012" : "371002-XK-0107", name: name, phone: "1391111222\(i)",
                                             date: "2021-09-\(10 + i % 5)"))
        }
        site.publish(WebSite.reservation("YY37100220210911000B1", dept: WebSite.deptB, matter: "371002-XK-0107", name: "司马相如", phone: "13933334444"))
        for i in 0..<3 {
            var phone = WebSite.reservation("YY37100220210911000P\(i)", name: ["诸葛孔明", "上官婉儿", "欧阳修"][i], phone: ["5201234", "13955556666", "13977778888"][i])
            phone.handleMode = "PHONE"
            site.publish(phone)
        }
        var held = WebSite.reservation("YY37100220210911000HA", name: "东方不败")
        held.applicant.idNumber = "371002198001010150"
        site.publish(held)
        site.publish(WebSite.reservation("YY37100220210911000UM", matter: "371002-XK-0999", name: "令狐冲"))
        site.drain()
        _ = site.site.portal.cancel("YY37100220210911000P2")
        site.drain()
        let entry = try #require(try site.engine.store.read { tx in
            try tx.attentionEntries(scope: .region("371002"), includingUnowned: true, limit: 10)
        }.first { $0.reservationId == "YY37100220210911000HA" })
        let shots = ProcessInfo.processInfo.environment["HALLSYNC_SCREENSHOTS"] ?? site.directory
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let driver = try Driver(downloads: site.directory)
        try driver.go(site.baseURL + "/login")
        try driver.screenshot(to: shots + "/login.png")
        let period = "from=2021-09-01&to=2021-09-30"
        for account in ["clerkA", "admin"] {
            try driver.login(site.baseURL, account)
            if account == "clerkA" {
                // A call with a note, so that the record page shows one.
                try driver.go(site.baseURL + "/phone?\(period)")
                _ = try driver.execute("document.querySelector('select[name=result]').value = 'UNREACHABLE'; document.querySelector('input[name=note]').value = '下午再打'; return 0")
                try driver.click("#phone button[type=submit]")
                driver.waitFor { driver.source.contains("核实结果已记录") }
            }
            var pages = [("summary", "/summary?\(period)"), ("summary-matters", "/summary?\(period)&by=matter"), ("list", "/list?\(period)"),
                         ("record", "/reservation/YY37100220210911000A0"), ("record-phone", "/reservation/YY37100220210911000P0"), ("record-held", "/reservation/YY37100220210911000HA"),
                         ("phone", "/phone?\(period)"), ("attention", "/attention"), ("attention-retry", "/attention/\(entry.id)/retry")]
            if account == "admin" { pages.append(("audit", "/audit")) }
            for (name, path) in pages {
                try driver.go(site.baseURL + path)
                let source = driver.source
                #expect(!source.contains("没有找到"), "\(account) \(path)")
                let squeezed = (try driver.execute(Self.squeezedCells) as? [String]) ?? ["the check did not run"]
                #expect(squeezed.isEmpty, "\(account) \(path): squeezed \(squeezed)")
                try driver.screenshot(to: shots + "/\(account == "admin" ? "admin" : "clerk")-\(name).png")
            }
            try driver.click("header button")   // 退出
            driver.waitFor { driver.url.hasSuffix("/login") }
        }
        print("browser test: screenshots in \(shots)")
    }
}
