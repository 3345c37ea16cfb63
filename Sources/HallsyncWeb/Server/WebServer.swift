import Foundation
import HallsyncDomain
import HallsyncConfiguration
import HallsyncStore
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// `hallsync web`: the summary page (预约数据汇总) as a process of its own, on Hummingbird.
///
///     let server = try WebServer(configuration: configuration, logger: logger)
///     try await server.run()      // until SIGTERM or SIGINT
///
/// It reads the daemon's database (read-only) with its own attached, and writes only its own
/// (`web.database`): accounts, sessions, the audit log, phone-call results, and clerks'
/// requests, which the daemon carries out. It holds none of the portal's or the halls' secrets.
public final class WebServer: Sendable {
    public let configuration: HallsyncConfiguration.Configuration
    let pages: WebPages
    let web: WebStore
    let logger: Logger

    /// - Parameter bcryptCost: for accounts added through this server's store (tests use less).
    public init(configuration: HallsyncConfiguration.Configuration, logger: Logger, bcryptCost: UInt8 = 12) throws {
        self.configuration = configuration
        self.logger = logger
        let state = try WebState(configuration: configuration)
        web = state.web
        let sync = state.sync
        let secure = configuration.web.tlsCertificate != nil || configuration.web.behindProxy
        pages = WebPages(configuration: configuration, sync: sync, web: web, accounts: AccountStore(web: web, cost: bcryptCost),
                         sessions: Sessions(web: web, minutes: configuration.web.sessionMinutes, secure: secure), logger: logger)
    }

    /// Cookies are `Secure` when the page is served over TLS, here or by the site's proxy.
    var secureCookies: Bool { pages.sessions.secure }

    /// Every route, behind the middleware every request passes: security headers, error pages,
    /// the session. The pages behind the login are a group whose context is a
    /// ``SignedInContext``: without a session they are never reached (the login page instead).
    public func makeRouter() -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: ErrorPagesMiddleware(pages: pages))
        router.add(middleware: SignInMiddleware(sessions: pages.sessions))
        let pages = self.pages
        let secure = secureCookies
        router.get("/login") { request, context in pages.loginPage(request, context, secure: secure) }
        router.post("/login") { request, context in try await pages.login(request, context, secure: secure) }
        router.get("/health") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        let signedIn = router.group(context: SignedInContext.self)
        signedIn.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/summary"]) }
        signedIn.post("/logout") { request, context in try await pages.logout(request, context) }
        signedIn.get("/summary") { request, context in try await offTheEventLoop { try pages.summary(request, context, csv: false) } }
        signedIn.get("/summary.csv") { request, context in try await offTheEventLoop { try pages.summary(request, context, csv: true) } }
        signedIn.get("/list") { request, context in try await offTheEventLoop { try pages.list(request, context, csv: false) } }
        signedIn.get("/list.csv") { request, context in try await offTheEventLoop { try pages.list(request, context, csv: true) } }
        signedIn.get("/reservation/:id") { request, context in try await offTheEventLoop { try pages.record(request, context) } }
        signedIn.get("/phone") { request, context in try await offTheEventLoop { try pages.phone(request, context, csv: false) } }
        signedIn.get("/phone.csv") { request, context in try await offTheEventLoop { try pages.phone(request, context, csv: true) } }
        signedIn.post("/phone/:id/call") { request, context in try await pages.recordCall(request, context) }
        signedIn.get("/attention") { request, context in try await offTheEventLoop { try pages.attention(request, context, csv: false) } }
        signedIn.get("/attention.csv") { request, context in try await offTheEventLoop { try pages.attention(request, context, csv: true) } }
        signedIn.get("/attention/:id/retry") { request, context in try await offTheEventLoop { try pages.confirmRetry(request, context) } }
        signedIn.post("/attention/:id/retry") { request, context in try await pages.retry(request, context) }
        signedIn.post("/attention/:id/resolve") { request, context in try await pages.resolve(request, context) }
        signedIn.get("/audit") { request, context in try await offTheEventLoop { try pages.audit(request, context, csv: false) } }
        signedIn.get("/audit.csv") { request, context in try await offTheEventLoop { try pages.audit(request, context, csv: true) } }
        return router
    }

    public func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let router = makeRouter()
        let server: HTTPServerBuilder
        if let certificate = configuration.web.tlsCertificate, let key = configuration.web.tlsKey {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            server = try .tls(.http1(), tlsConfiguration: tls)
        } else {
            server = .http1()
        }
        var application = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.web.listen, port: configuration.web.port), serverName: "hallsync"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }, logger: logger)
        application.addServices(SessionSweeper(web: web))
        return application
    }

    /// Serves until SIGTERM or SIGINT.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await makeApplication(onRunning: onRunning).runService()
    }
}

/// Forgets expired sessions every ten minutes.
struct SessionSweeper: Service {
    let web: WebStore

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? web.removeExpiredSessions(now: Date().timeIntervalSince1970)
                try? await Task.sleep(for: .seconds(600))
            }
        }
    }
}
