import NIOPosix

/// Runs a page's blocking work — the store's reads and writes, on a SQLite file or over a
/// PostgreSQL connection — on NIO's thread pool, so that a slow query or a database that does
/// not answer holds up that request alone, never the event loop serving the others.
func offTheEventLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}
