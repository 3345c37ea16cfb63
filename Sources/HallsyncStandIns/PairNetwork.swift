import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Network namespaces for the daemons of a pair, so that one daemon's link to the database can
/// be cut while it still reaches the portal and the halls (`hallsync demo --pair --pair-faults
/// partition`). Each daemon runs in a namespace of its own (`ip netns exec`) with two veth links
/// to this machine's namespace, each a /30 of a private /24 picked at random:
///
///     namespace of daemon i                      this machine's namespace
///     10.x.y.(8i+2)  ── database link ──  10.x.y.(8i+1)   PostgreSQL listens here (TCP)
///     10.x.y.(8i+6)  ── site link     ──  10.x.y.(8i+5)   → 127.p.q.1, the portal and the halls
///
/// The stand-ins listen on ``standInAddress``, a loopback address of this machine's namespace
/// (127.p.q.1, picked at random), so that the daemons' configuration may name them with plain
/// http (hallsync refuses plain http to any host but loopback). Each namespace routes that one
/// address over its site link instead of its own loopback (its `127.0.0.0/8` local route is
/// replaced by `127.0.0.1` alone, and `route_localnet` is set on both ends of the site link), so
/// the stand-ins see each daemon's request come from its site address (``Member/siteAddress``)
/// and tell the two apart by it.
///
/// **Cutting** a database link sets this side of it down: the namespace's side keeps its address,
/// its route and its carrier-less link, so the daemon's packets are dropped without an error, as
/// on a real partition (a cable pulled between switches, a firewall dropping): its statements
/// hang until the link is back (TCP retransmits then) or `tcp_user_timeout` passes. Nothing
/// tells the daemon it was cut; only its lease's trust window ends its sends.
///
/// Needs root (CAP_NET_ADMIN) and `ip` (iproute2): ``unavailableReason`` says what is missing.
/// ``remove()`` deletes the links and namespaces; a watchdog process does it if the process dies
/// first (names are unique per run, so runs never meet).
public final class PairNetwork: Sendable {
    public struct Member: Sendable, Hashable {
        /// The network namespace's name (`ip netns exec <namespace> …`).
        public let namespace: String
        /// This side of the database link: where PostgreSQL listens for this member.
        public let databaseAddress: String
        /// The namespace's side of the database link: the daemon's address as PostgreSQL sees it.
        public let databaseClient: String
        /// The namespace's side of the site link: the daemon's address as the portal and halls see it.
        public let siteAddress: String
        /// This side's interfaces of the two links.
        let databaseLink: String
        let siteLink: String
        let siteGateway: String
    }

    public let members: [Member]
    /// Where the portal and the halls listen (a loopback address here), reachable from every member's namespace.
    public let standInAddress: String
    private let ip: String
    private let watchdog: pid_t?
    private let removed = Mutex(false)

    /// Why namespaces cannot be made here; nil when they can (root, and `ip` found).
    public static var unavailableReason: String? {
        if geteuid() != 0 { return "network namespaces need root (CAP_NET_ADMIN); run as root, as CI does" }
        if findIP() == nil { return "network namespaces need `ip` (Debian package iproute2), which was not found on PATH or in /usr/sbin, /sbin" }
        return nil
    }

    /// Makes `count` namespaces, each with its two links up and addressed.
    public static func create(members count: Int) throws -> PairNetwork {
        if let reason = unavailableReason { throw PairNetworkError(reason) }
        let ip = findIP()!
        let tag = String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(6))
        let prefix = try freeSubnet(ip: ip)
        var members: [Member] = []
        for index in 0..<count {
            let letter = String(UnicodeScalar(UInt8(97 + index)))
            let base = 8 * index
            members.append(Member(namespace: "hallsync-\(tag)-\(letter)",
                                  databaseAddress: "\(prefix).\(base + 1)", databaseClient: "\(prefix).\(base + 2)",
                                  siteAddress: "\(prefix).\(base + 6)",
                                  databaseLink: "hs\(tag)\(letter)d", siteLink: "hs\(tag)\(letter)s",
                                  siteGateway: "\(prefix).\(base + 5)"))
        }
        let standIn = "127.\(Int.random(in: 100...254)).\(Int.random(in: 0...255)).1"
        // Watching before anything is made: whatever exists when the process dies is removed.
        let watchdog = try? spawnWatchdog(ip: ip, members: members)
        let network = PairNetwork(members: members, standInAddress: standIn, ip: ip, watchdog: watchdog)
        do {
            for member in members {
                let ns = member.namespace
                try network.run(["netns", "add", ns])
                try network.run(["-n", ns, "link", "set", "lo", "up"])
                for (link, near, far) in [(member.databaseLink, member.databaseAddress, member.databaseClient),
                                          (member.siteLink, member.siteGateway, member.siteAddress)] {
                    // Created in the namespace with its peer moved here: both ends exist at once.
                    try network.run(["link", "add", link, "type", "veth", "peer", "name", link + "n", "netns", ns])
                    try network.run(["addr", "add", near + "/30", "dev", link])
                    try network.run(["link", "set", link, "up"])
                    try network.run(["-n", ns, "addr", "add", far + "/30", "dev", link + "n"])
                    try network.run(["-n", ns, "link", "set", link + "n", "up"])
                }
                // The stand-ins' loopback address over the site link (see the type's documentation).
                try network.run(["-n", ns, "route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local"])
                try network.run(["-n", ns, "route", "add", standIn + "/32", "via", member.siteGateway, "dev", member.siteLink + "n"])
                try network.run(["netns", "exec", ns, "/bin/sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/\(member.siteLink)n/route_localnet"])
                do {
                    try Data("1\n".utf8).write(to: URL(fileURLWithPath: "/proc/sys/net/ipv4/conf/\(member.siteLink)/route_localnet"))
                } catch {
                    throw PairNetworkError("could not set route_localnet on \(member.siteLink): \(error)")
                }
            }
        } catch {
            network.remove()
            throw error
        }
        return network
    }

    private init(members: [Member], standInAddress: String, ip: String, watchdog: pid_t?) {
        self.members = members
        self.standInAddress = standInAddress
        self.ip = ip
        self.watchdog = watchdog
    }

    /// The command that runs `argv` in member `index`'s namespace (`ip netns exec` execs it: the
    /// process id is the program's own, so signals reach it).
    public func command(in index: Int, _ argv: [String]) -> [String] {
        [ip, "netns", "exec", members[index].namespace] + argv
    }

    /// Cuts member `index`'s link to the database, silently (see the type's documentation).
    public func cutDatabaseLink(of index: Int) throws {
        try run(["link", "set", members[index].databaseLink, "down"])
    }

    /// Brings member `index`'s database link back.
    public func restoreDatabaseLink(of index: Int) throws {
        try run(["link", "set", members[index].databaseLink, "up"])
    }

    /// Deletes the links and the namespaces (a process still running in one keeps it until it
    /// ends). Calling it again does nothing.
    public func remove() {
        let already = removed.withLock { value in
            defer { value = true }
            return value
        }
        guard !already else { return }
        for member in members {
            // Deleting one end of a veth pair deletes the other.
            _ = try? run(["link", "del", member.databaseLink])
            _ = try? run(["link", "del", member.siteLink])
            _ = try? run(["netns", "del", member.namespace])
        }
        PrivatePostgres.endWatchdog(watchdog)
    }

    deinit { remove() }

    /// Runs `ip` with `arguments`; throws with its output when it fails.
    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PairNetworkError("ip \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus)): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// A /24 of 10.0.0.0/8 (its first three octets) that no address or route of this machine is in.
    private static func freeSubnet(ip: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = ["-4", "-o", "route", "show", "table", "all"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let routes = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        for _ in 0..<50 {
            let candidate = "10.\(Int.random(in: 100...254)).\(Int.random(in: 0...255))"
            // A route to anything in it, or a wider 10.* route, would shadow or meet it.
            let sixteen = candidate.split(separator: ".").prefix(2).joined(separator: ".") + ".0.0/"
            if !routes.contains(candidate + ".") && !routes.contains("10.0.0.0/") && !routes.contains(sixteen) {
                return candidate
            }
        }
        throw PairNetworkError("no free /24 in 10.0.0.0/8 for the pair's namespaces (fifty tries met a route of this machine)")
    }

    private static func findIP() -> String? {
        Tools.executable(named: "ip", in: Tools.searchPath + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
    }

    /// A shell in a session of its own that deletes the links and namespaces if this process dies
    /// without calling ``remove()``.
    private static func spawnWatchdog(ip: String, members: [Member]) throws -> pid_t {
        let removals = members.map { member in
            "\"$ip\" link del \(member.databaseLink); \"$ip\" link del \(member.siteLink); \"$ip\" netns del \(member.namespace)"
        }.joined(separator: "; ")
        let script = """
            parent=$1; ip=$2
            while kill -0 "$parent" 2>/dev/null; do sleep 1; done
            { \(removals); } >/dev/null 2>&1
            """
        // No descriptor of this process inherited (a test reading this process's output to its end
        // must not wait for the watchdog), a session of its own (Ctrl-C to the run does not reach it).
        return try Tools(binDirectory: "", runAs: nil)
            .spawn(["/bin/sh", "-c", script, "hallsync-netns-watchdog", String(getpid()), ip], output: "/dev/null", newSession: true)
    }
}

/// A failure to make or change the pair's namespaces, saying what to do.
public struct PairNetworkError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
