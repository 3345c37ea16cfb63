import Foundation
import HallsyncPostgres
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of the test's own: a temporary directory, `initdb`, a server listening
/// on a Unix socket in that directory only (no TCP port, so parallel runs never collide), and
/// one database. About two seconds to start. A test of daemons in network namespaces also has it
/// listen on given TCP addresses (``TCPAccess``), trusted from given subnets only.
///
///     let cluster = try PrivatePostgres.start()
///     defer { cluster.stop() }
///     let connection = try PostgresConnection(conninfo: cluster.conninfo)
///
/// The site's database stand-in: `hallsync demo --pair` runs its pair on one, and every
/// PostgreSQL test suite has its own (the `.privateCluster` trait).
///
/// **As root** (CI), `initdb` refuses to run and `postgres` refuses to start, so the server's
/// programs run as an unprivileged user: `nobody`, or `HALLSYNC_TEST_PG_USER` when set. They are
/// started through `setpriv --reuid --regid --clear-groups` (util-linux, no PAM session, works in
/// containers), or `runuser -u` when setpriv is missing; the directory is chowned to that user.
/// `nobody` owns no files, so the server can touch nothing but its own directory (the `postgres`
/// user, by contrast, owns any real cluster on the machine). **As anyone else** the programs run
/// directly as that user.
///
/// The programs are found in `HALLSYNC_PG_BIN`, on `PATH` (`initdb`, its symlink resolved), or in
/// the newest `/usr/lib/postgresql/<version>/bin` (Debian keeps them off `PATH`).
///
/// The directory is under `/tmp` whatever `TMPDIR` says: a Unix socket's path must stay under
/// 108 bytes, and the unprivileged user must be able to reach it. A watchdog process stops the
/// server and removes the directory if the test process dies without calling ``stop()``.
public final class PrivatePostgres: Sendable {
    /// Holds the socket (`.s.PGSQL.5432`), the data directory `data`, and the logs.
    public let directory: String
    public let database: String
    /// The superuser role, trusted on the socket without a password.
    public let user: String
    public let port = 5432

    /// TCP access besides the socket: the server listens on `address` (one of this machine's,
    /// e.g. the root side of a veth pair) and trusts connections from `clients` (a CIDR subnet,
    /// e.g. the namespace's side) without a password, as it trusts the socket.
    public struct TCPAccess: Sendable, Hashable {
        public var address: String
        public var clients: String

        public init(address: String, clients: String) {
            self.address = address
            self.clients = clients
        }
    }

    /// The TCP addresses listened on besides the socket.
    public let tcp: [TCPAccess]
    /// The server's `shared_buffers`.
    let sharedBuffers: String

    let tools: Tools
    private let watchdog: pid_t?
    private let stopped = Mutex(false)

    /// libpq's connection string for the cluster's database.
    public var conninfo: String { conninfo(database: database) }

    public func conninfo(database: String) -> String {
        "host=\(directory) port=\(port) dbname=\(database) user=\(user) connect_timeout=5"
    }

    /// libpq's connection string for the cluster's database over TCP, to one of ``tcp``'s addresses.
    public func conninfo(address: String) -> String {
        "host=\(address) port=\(port) dbname=\(database) user=\(user) connect_timeout=5"
    }

    /// Creates, starts and fills the cluster: `initdb`, `pg_ctl start`, `CREATE DATABASE`.
    /// - Parameter tcp: addresses to listen on besides the socket, each with the subnet it trusts.
    /// - Parameter sharedBuffers: the server's buffer cache: small for the tests' many clusters,
    ///   PostgreSQL's default (128MB, the least a site's server has) for a benchmark.
    public static func start(database: String = "hallsync_test", tcp: [TCPAccess] = [], sharedBuffers: String = "16MB") throws -> PrivatePostgres {
        let tools = try Tools.find()
        let directory = try makeDirectory(owner: tools.runAs)
        // Watching from the start: a test process killed during initdb leaves nothing behind.
        let watchdog = try? tools.spawnWatchdog(directory: directory)
        do {
            let user = "hallsync"
            try tools.run("initdb", ["-D", "\(directory)/data", "-U", user, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                          log: "\(directory)/initdb.log")
            if !tcp.isEmpty {
                // Appended as root or as the owner: the file keeps its owner (the server's user).
                let lines = tcp.map { "host all \(user) \($0.clients) trust\n" }.joined()
                let hba = FileHandle(forWritingAtPath: "\(directory)/data/pg_hba.conf")
                guard let hba else { throw PrivatePostgresError("could not open \(directory)/data/pg_hba.conf to trust \(tcp.map(\.clients))") }
                hba.seekToEndOfFile()
                hba.write(Data(lines.utf8))
                try hba.close()
            }
            let cluster = PrivatePostgres(directory: directory, database: database, user: user, tcp: tcp, sharedBuffers: sharedBuffers,
                                          tools: tools, watchdog: watchdog)
            try cluster.startServer()
            let admin = try PostgresConnection(conninfo: cluster.conninfo(database: "postgres"))
            try admin.execute("CREATE DATABASE \(database)")
            admin.close()
            return cluster
        } catch {
            _ = try? tools.run("pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"], log: "\(directory)/pg_ctl.log")
            endWatchdog(watchdog)
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private init(directory: String, database: String, user: String, tcp: [TCPAccess], sharedBuffers: String, tools: Tools, watchdog: pid_t?) {
        self.sharedBuffers = sharedBuffers
        self.directory = directory
        self.database = database
        self.user = user
        self.tcp = tcp
        self.tools = tools
        self.watchdog = watchdog
    }

    /// Stops the server (fast shutdown: connections are closed) and removes the directory.
    /// Calling it again does nothing.
    public func stop() {
        let alreadyStopped = stopped.withLock { value in
            defer { value = true }
            return value
        }
        guard !alreadyStopped else { return }
        if (try? stopServer(immediate: false)) == nil { _ = try? stopServer(immediate: true) }
        Self.endWatchdog(watchdog)
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func endWatchdog(_ pid: pid_t?) {
        guard let pid else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }

    /// Stops and starts the server again. `immediate` stops it the way a crash would (no
    /// checkpoint, every backend killed, crash recovery at start); otherwise a fast shutdown.
    /// Either way every open connection breaks.
    public func restart(immediate: Bool) throws {
        try stopServer(immediate: immediate)
        try startServer()
    }

    /// The CPU time the server's processes have used so far (seconds, user + system): the
    /// postmaster, its children that ended, and those running. nil when /proc cannot tell.
    public func serverCPUSeconds() -> Double? {
        guard let pidText = try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8),
              let pid = Int32(pidText.split(separator: "\n").first ?? "") else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func times(_ pid: Int32, children: Bool) -> Double? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm)": state is field 3; utime 14, stime 15, cutime 16, cstime 17.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 15 else { return nil }
            let own = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
            let waited = children ? (Double(fields[13]) ?? 0) + (Double(fields[14]) ?? 0) : 0
            return (own + waited) / ticks
        }
        guard var total = times(pid, children: true) else { return nil }
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { total += times(child, children: false) ?? 0 }
        return total
    }

    /// A new connection to the cluster's database.
    public func connect(options: PostgresConnection.Options = .init()) throws -> PostgresConnection {
        try PostgresConnection(conninfo: conninfo, options: options)
    }

    /// A new, empty database in the cluster (a test's own, beside the others'); its connection string.
    public func createDatabase(_ name: String) throws -> String {
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) else {
            throw PrivatePostgresError("a database name of lower-case letters, digits and _ only: \(name)")
        }
        try connect().execute("CREATE DATABASE \(name)")
        return conninfo(database: name)
    }

    private func startServer() throws {
        // pg_ctl hands `-o` to a shell: `listen_addresses=''` arrives empty (no TCP at all).
        // fsync and friends off: a test cluster need not survive the machine crashing, and an
        // immediate stop loses nothing the kernel holds.
        let listen = tcp.map(\.address).joined(separator: ",")
        let serverOptions = "-k \(directory) -p \(port) -c listen_addresses='\(listen)' -c fsync=off -c synchronous_commit=off "
            + "-c full_page_writes=off -c shared_buffers=\(sharedBuffers) -c max_connections=40"
        try tools.run("pg_ctl", ["-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "60", "-o", serverOptions, "start"],
                      log: "\(directory)/pg_ctl.log")
    }

    private func stopServer(immediate: Bool) throws {
        try tools.run("pg_ctl", ["-D", "\(directory)/data", "-m", immediate ? "immediate" : "fast", "-w", "-t", "60", "stop"],
                      log: "\(directory)/pg_ctl.log")
    }

    /// A fresh directory under /tmp, owned by `owner` when running as root.
    static func makeDirectory(owner: Tools.RunAs?, prefix: String = "hallsync-pg") throws -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw PrivatePostgresError("could not create a directory under /tmp (\(String(cString: strerror(errno)))); check that /tmp is writable")
        }
        let directory = String(cString: made)
        if let owner, chown(directory, owner.uid, owner.gid) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: directory)
            throw PrivatePostgresError("could not give \(directory) to user \(owner.name) (\(reason))")
        }
        return directory
    }
}

/// A failure to set up the private cluster, saying what to do.
public struct PrivatePostgresError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Running the server's programs

/// Where the programs are and whom they run as (also ``PrivatePgBouncer``'s).
struct Tools: Sendable {
    struct RunAs: Sendable {
        let name: String
        let uid: uid_t
        let gid: gid_t
        /// The command that runs the rest of the arguments as this user.
        let prefix: [String]
    }

    let binDirectory: String
    /// nil when not root: the programs run as the current user.
    let runAs: RunAs?

    static func find() throws -> Tools {
        guard let binDirectory = findBinDirectory() else {
            throw PrivatePostgresError("""
                PostgreSQL's server programs (initdb, pg_ctl) were not found in $HALLSYNC_PG_BIN, on PATH or under \
                /usr/lib/postgresql/<version>/bin: install the Debian package `postgresql` (apt-get install postgresql), \
                or set HALLSYNC_PG_BIN to the directory that holds initdb and pg_ctl
                """)
        }
        guard geteuid() == 0 else { return Tools(binDirectory: binDirectory, runAs: nil) }
        let name = ProcessInfo.processInfo.environment["HALLSYNC_TEST_PG_USER"] ?? "nobody"
        guard let (uid, gid) = lookUpUser(name), uid != 0 else {
            throw PrivatePostgresError("""
                running as root, and initdb refuses root: the cluster runs as user \(name), which does not exist \
                (or is root); set HALLSYNC_TEST_PG_USER to an unprivileged user
                """)
        }
        let prefix: [String]
        if let setpriv = executable(named: "setpriv", in: searchPath) {
            prefix = [setpriv, "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"]
        } else if let runuser = executable(named: "runuser", in: searchPath + ["/usr/sbin", "/sbin"]) {
            prefix = [runuser, "-u", name, "--"]
        } else {
            throw PrivatePostgresError("running as root, and neither setpriv nor runuser (util-linux) was found to run initdb as \(name)")
        }
        return Tools(binDirectory: binDirectory, runAs: RunAs(name: name, uid: uid, gid: gid, prefix: prefix))
    }

    /// The argument vector that runs `program` from the bin directory as the right user.
    func command(_ program: String, _ arguments: [String]) -> [String] {
        (runAs?.prefix ?? []) + ["\(binDirectory)/\(program)"] + arguments
    }

    /// Runs a program to completion, its output appended to `log`; throws with the log's end
    /// when it fails.
    func run(_ program: String, _ arguments: [String], log: String) throws {
        let argv = command(program, arguments)
        let pid = try spawn(argv, output: log, newSession: false)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw PrivatePostgresError("waiting for \(program) failed: \(String(cString: strerror(errno)))") }
        }
        let exited = status & 0x7f == 0
        let exitCode = (status >> 8) & 0xff
        guard exited && exitCode == 0 else {
            let tail = (try? String(contentsOfFile: log, encoding: .utf8)).map { String($0.suffix(1500)) } ?? "(no output)"
            throw PrivatePostgresError("\(program) failed (\(exited ? "exit \(exitCode)" : "signal \(status & 0x7f)")): \(argv.joined(separator: " "))\n\(tail)")
        }
    }

    /// A shell, in a session of its own (Ctrl-C to the test run does not reach it), that waits
    /// for the test process to end, then stops the server at once and removes the directory.
    /// A second stop catches a server that was still starting.
    /// ``PrivatePostgres/stop()`` ends it first when all goes well.
    func spawnWatchdog(directory: String) throws -> pid_t {
        let script = """
            parent=$1; directory=$2; shift 2
            while kill -0 "$parent" 2>/dev/null; do sleep 1; done
            "$@" -D "$directory/data" -m immediate -w stop >/dev/null 2>&1
            sleep 2  # a pg_ctl start the test process left running may have started it since
            "$@" -D "$directory/data" -m immediate -w stop >/dev/null 2>&1
            rm -rf "$directory"
            """
        return try spawn(["/bin/sh", "-c", script, "hallsync-pg-watchdog", String(getpid()), directory] + command("pg_ctl", []),
                         output: "/dev/null", newSession: true)
    }

    /// posix_spawn with stdin from /dev/null, stdout and stderr appended to `output`, no other
    /// descriptor inherited (the server must not hold the test's sockets or pipes open), a clean
    /// signal mask, and an environment without PG* variables (PGPORT would move the socket).
    func spawn(_ argv: [String], output: String, newSession: Bool) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // posix_spawn_file_actions_addclosefrom_np is hidden behind _GNU_SOURCE: every
        // descriptor open now is closed instead (glibc ignores those closed meanwhile).
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let setSession: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc ≥ 2.26), also behind _GNU_SOURCE
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (newSession ? setSession : 0)))

        let environment = ProcessInfo.processInfo.environment
            .filter { !$0.key.hasPrefix("PG") }
            .map { "\($0.key)=\($0.value)" }
        let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnvironment: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw PrivatePostgresError("could not start \(argv[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    static var searchPath: [String] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
    }

    private static func findBinDirectory() -> String? {
        if let configured = ProcessInfo.processInfo.environment["HALLSYNC_PG_BIN"], !configured.isEmpty {
            return executable(named: "initdb", in: [configured]) != nil ? configured : nil
        }
        if let initdb = executable(named: "initdb", in: searchPath) {
            // /usr/local/bin/initdb → /usr/lib/postgresql/15/bin/initdb, where pg_ctl and postgres are.
            let resolved = URL(fileURLWithPath: initdb).resolvingSymlinksInPath().deletingLastPathComponent().path
            if executable(named: "pg_ctl", in: [resolved]) != nil { return resolved }
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name in Double(name).map { (name, $0) } }
            .sorted { $0.1 > $1.1 }
        for (name, _) in versions where executable(named: "initdb", in: ["\(root)/\(name)/bin"]) != nil {
            return "\(root)/\(name)/bin"
        }
        return nil
    }

    static func executable(named name: String, in directories: [String]) -> String? {
        directories.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    private static func lookUpUser(_ name: String) -> (uid_t, gid_t)? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return (entry.pw_uid, entry.pw_gid)
    }
}
