import Foundation
import HallsyncPostgres
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// PgBouncer in **transaction mode** in front of a ``PrivatePostgres``, as a site may run it
/// between its daemons and its cluster: each transaction of a client may run on another server
/// connection, and nothing of a session (a prepared statement, a `SET`, an advisory lock)
/// survives from one transaction to the next. Listens on a Unix socket in a temporary directory
/// only; trusts its clients, as the cluster's socket does.
///
///     let cluster = try PrivatePostgres.start(database: "hallsync")
///     let bouncer = try PrivatePgBouncer.start(in: cluster)
///     defer { bouncer.stop(); cluster.stop() }
///     // daemons: store.connection = bouncer.conninfo, store.preparedStatements = false
///
/// Runs as the cluster's programs do (as `nobody` when root). The program is found in
/// `HALLSYNC_PGBOUNCER`, on `PATH` or in /usr/sbin (Debian package `pgbouncer`; 1.18 in Debian 12,
/// which does not carry prepared statements across transactions).
public final class PrivatePgBouncer: Sendable {
    /// Holds the socket (`.s.PGSQL.6432`), the configuration, the log.
    public let directory: String
    public let port = 6432
    public let database: String
    public let user: String
    private let process: pid_t
    private let watchdog: pid_t?
    private let stopped = Mutex(false)

    /// libpq's connection string for the cluster's database, through the pooler.
    public var conninfo: String {
        "host=\(directory) port=\(port) dbname=\(database) user=\(user) connect_timeout=5"
    }

    /// Starts PgBouncer in front of `cluster`'s database and waits until a transaction passes through it.
    /// - Parameter poolSize: server connections per database and user (`default_pool_size`).
    public static func start(in cluster: PrivatePostgres, poolSize: Int = 20) throws -> PrivatePgBouncer {
        guard let program = findProgram() else {
            throw PrivatePostgresError("""
                pgbouncer was not found in $HALLSYNC_PGBOUNCER, on PATH or in /usr/sbin: install the Debian package \
                `pgbouncer` (apt-get install pgbouncer), or set HALLSYNC_PGBOUNCER to the program's path
                """)
        }
        let tools = cluster.tools
        let directory = try PrivatePostgres.makeDirectory(owner: tools.runAs, prefix: "hallsync-pgbouncer")
        let configuration = """
            [databases]
            \(cluster.database) = host=\(cluster.directory) port=\(cluster.port) dbname=\(cluster.database) user=\(cluster.user)

            [pgbouncer]
            pool_mode = transaction
            unix_socket_dir = \(directory)
            listen_port = 6432
            auth_type = trust
            auth_file = \(directory)/userlist.txt
            admin_users = \(cluster.user)
            max_client_conn = 200
            default_pool_size = \(poolSize)
            server_connect_timeout = 5
            logfile = \(directory)/pgbouncer.log
            pidfile = \(directory)/pgbouncer.pid

            """
        do {
            // No listen_addr: no TCP at all, the socket only (parallel runs never collide).
            try Data(configuration.utf8).write(to: URL(fileURLWithPath: directory + "/pgbouncer.ini"))
            try Data("\"\(cluster.user)\" \"\"\n".utf8).write(to: URL(fileURLWithPath: directory + "/userlist.txt"))
            if let owner = tools.runAs {
                for file in ["pgbouncer.ini", "userlist.txt"] { chown(directory + "/" + file, owner.uid, owner.gid) }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw PrivatePostgresError("could not write PgBouncer's configuration in \(directory): \(error)")
        }
        let process: pid_t
        do {
            process = try tools.spawn((tools.runAs?.prefix ?? []) + [program, directory + "/pgbouncer.ini"],
                                      output: directory + "/stdout.log", newSession: false)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let watchdog = try? spawnWatchdog(tools: tools, pid: process, directory: directory)
        let bouncer = PrivatePgBouncer(directory: directory, database: cluster.database, user: cluster.user, process: process, watchdog: watchdog)
        // Ready when a transaction passes through it to the server.
        let deadline = Date().addingTimeInterval(15)
        var lastError: (any Error)?
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(process, &status, WNOHANG) == process {
                let log = (try? String(contentsOfFile: directory + "/pgbouncer.log", encoding: .utf8))
                    ?? (try? String(contentsOfFile: directory + "/stdout.log", encoding: .utf8)) ?? "(no log)"
                bouncer.stopped.withLock { $0 = true }
                PrivatePostgres.endWatchdog(watchdog)
                try? FileManager.default.removeItem(atPath: directory)
                throw PrivatePostgresError("pgbouncer exited at start (status \(status)):\n\(log.suffix(1500))")
            }
            do {
                let connection = try PostgresConnection(conninfo: bouncer.conninfo)
                _ = try connection.execute("SELECT 1")
                connection.close()
                return bouncer
            } catch {
                lastError = error
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let log = (try? String(contentsOfFile: directory + "/pgbouncer.log", encoding: .utf8)) ?? "(no log)"
        bouncer.stop()
        throw PrivatePostgresError("PgBouncer did not pass a transaction within 15 s (\(lastError.map { "\($0)" } ?? "no error")):\n\(log.suffix(1500))")
    }

    private init(directory: String, database: String, user: String, process: pid_t, watchdog: pid_t?) {
        self.directory = directory
        self.database = database
        self.user = user
        self.process = process
        self.watchdog = watchdog
    }

    /// What the pooler says of the database's pool (its admin console, `SHOW POOLS` and `SHOW STATS`).
    public struct Figures: Sendable, Hashable {
        /// `transaction` when the pool is in transaction mode.
        public var poolMode: String
        /// Transactions and statements passed through since the start.
        public var transactions: Int
        public var queries: Int
    }

    /// The pool's mode and the transactions it has passed so far.
    public func figures() throws -> Figures {
        // The admin console speaks the simple protocol only (PQexec).
        let console = try PostgresConnection(conninfo: "host=\(directory) port=\(port) dbname=pgbouncer user=\(user) connect_timeout=5")
        defer { console.close() }
        let pools = try console.executeScript("SHOW POOLS")
        let stats = try console.executeScript("SHOW STATS")
        guard let pool = (0..<pools.count).first(where: { pools[$0, "database"] == database }),
              let row = (0..<stats.count).first(where: { stats[$0, "database"] == database }) else {
            throw PrivatePostgresError("PgBouncer's console does not list the database \(database)")
        }
        return Figures(poolMode: pools[pool, "pool_mode"] ?? "?",
                       transactions: Int(stats[row, "total_xact_count"] ?? "") ?? 0,
                       queries: Int(stats[row, "total_query_count"] ?? "") ?? 0)
    }

    /// Stops PgBouncer at once (its clients' connections break) and removes the directory.
    /// Calling it again does nothing.
    public func stop() {
        let alreadyStopped = stopped.withLock { value in
            defer { value = true }
            return value
        }
        guard !alreadyStopped else { return }
        kill(process, SIGTERM)
        var status: Int32 = 0
        while waitpid(process, &status, 0) == -1 && errno == EINTR {}
        PrivatePostgres.endWatchdog(watchdog)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func findProgram() -> String? {
        if let configured = ProcessInfo.processInfo.environment["HALLSYNC_PGBOUNCER"], !configured.isEmpty {
            return access(configured, X_OK) == 0 ? configured : nil
        }
        return Tools.executable(named: "pgbouncer", in: Tools.searchPath + ["/usr/sbin", "/usr/local/sbin"])
    }

    /// A shell in a session of its own that stops PgBouncer and removes the directory if the
    /// test process dies without calling ``stop()``.
    private static func spawnWatchdog(tools: Tools, pid: pid_t, directory: String) throws -> pid_t {
        let script = """
            parent=$1; child=$2; directory=$3
            while kill -0 "$parent" 2>/dev/null; do sleep 1; done
            kill -TERM "$child" 2>/dev/null
            rm -rf "$directory"
            """
        return try tools.spawn(["/bin/sh", "-c", script, "hallsync-pgbouncer-watchdog", String(getpid()), String(pid), directory],
                               output: "/dev/null", newSession: true)
    }
}
