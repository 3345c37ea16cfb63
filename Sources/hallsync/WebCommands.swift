import ArgumentParser
import Foundation
import HallsyncDomain
import HallsyncEngine
import HallsyncOperations
import HallsyncStore
import HallsyncWeb
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `--config` for the commands that read the configuration but no secret.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String = "/etc/hallsync/hallsync.yaml"

    func load() throws -> HallsyncEngine.Configuration {
        do { return try Configuration.load(path: config, resolvingCredentials: false) } catch {
            FileHandle.standardError.write(Data("hallsync: \(error)\n".utf8))
            throw ExitCode(ExitStatus.configuration)
        }
    }
}

struct Web: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the summary web page (预约数据汇总) for department staff and region administrators.",
        discussion: """
        A process of its own (systemd unit hallsync-web.service): it reads the daemon's database and \
        writes only its own (web.database: accounts, sessions, the audit log, phone-call results, \
        clerks' requests). Listens on web.listen:web.port; TLS with web.tlsCertificate and \
        web.tlsKey, or behind the site's reverse proxy (web.behindProxy). Accounts: hallsync user.
        """)

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Lowest log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        let configuration = try options.load()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let logger = Logger(label: "hallsync-web") { JournalLogHandler(label: $0, level: level) }
        let server: WebServer
        do { server = try WebServer(configuration: configuration, logger: logger) } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(ExitStatus.of(error))
        }
        let scheme = configuration.web.tlsCertificate == nil ? "http" : "https"
        try await server.run { port in
            logger.notice("serving the summary page", metadata: ["address": "\(scheme)://\(configuration.web.listen):\(port)/"])
        }
    }
}

struct User: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the web page's accounts (run on the server, as the web page's user or root).",
        subcommands: [Add.self, Passwd.self, Disable.self, Enable.self, List.self])

    static func store(_ options: ConfigOption) throws -> AccountStore {
        let configuration = try options.load()
        do {
            // One machine: the web page's own file (the daemon's need not exist yet). A pair: the
            // region's schema, shared by both machines' web pages.
            let web = configuration.store.kind == .sqlite ? try WebStore(path: configuration.web.database)
                : try WebState(configuration: configuration, applicationName: "hallsync-user").web
            return AccountStore(web: web)
        } catch {
            FileHandle.standardError.write(Data("hallsync: \(error)\n".utf8))
            throw ExitCode(ExitStatus.of(error))
        }
    }

    /// The new password: typed twice at a terminal (not echoed), or one line on standard input.
    static func readPassword(stdin: Bool) throws -> String {
        if stdin || isatty(0) == 0 {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password on standard input") }
            return line
        }
        let first = prompt("New password: "), second = prompt("Again: ")
        guard first == second else { throw ValidationError("the two passwords differ") }
        return first
    }

    static func prompt(_ text: String) -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var old = termios()
        tcgetattr(0, &old)
        var silent = old
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSANOW, &silent)
        defer { tcsetattr(0, TCSANOW, &old); FileHandle.standardError.write(Data("\n".utf8)) }
        return readLine(strippingNewline: true) ?? ""
    }

    static func fail(_ error: any Error) -> ExitCode {
        FileHandle.standardError.write(Data("hallsync: \(error)\n".utf8))
        return ExitCode(1)
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account: a department's staff (--department, repeatable) or a region's administrator (--region).",
            discussion: "hallsync user add zhangsan --department 11371002MB0000000B --role staff")
        @Argument(help: "The account name (1–32 letters, digits, . _ -).") var name: String
        @Option(name: .long, help: "A department code the account sees (staff); repeat for several.") var department: [String] = []
        @Option(name: .long, help: "The region code the account sees (admin).") var region: String?
        @Option(name: .long, help: "staff or admin.") var role: String
        @Flag(name: .long, help: "Read the password as one line from standard input.") var passwordStdin = false
        @OptionGroup var options: ConfigOption

        func run() throws {
            guard let role = Account.Role(rawValue: role) else { throw ValidationError("--role is staff or admin") }
            let store = try User.store(options)
            let password = try User.readPassword(stdin: passwordStdin)
            do {
                let account = try store.add(Account(name: name, role: role, departments: department, region: region), password: password)
                print("added \(account.name): \(account.role.rawValue), \(account.role == .staff ? "departments " + account.departments.joined(separator: ", ") : "region " + (account.region ?? ""))")
            } catch { throw User.fail(error) }
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set an account's password (its sessions end).")
        @Argument var name: String
        @Flag(name: .long, help: "Read the password as one line from standard input.") var passwordStdin = false
        @OptionGroup var options: ConfigOption

        func run() throws {
            let store = try User.store(options)
            let password = try User.readPassword(stdin: passwordStdin)
            do { try store.setPassword(of: name, to: password); print("password of \(name) changed") } catch { throw User.fail(error) }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an account (it cannot log in; its sessions end).")
        @Argument var name: String
        @OptionGroup var options: ConfigOption
        func run() throws {
            do { try User.store(options).setDisabled(name, true); print("\(name) disabled") } catch let error as ExitCode { throw error } catch { throw User.fail(error) }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled account again.")
        @Argument var name: String
        @OptionGroup var options: ConfigOption
        func run() throws {
            do { try User.store(options).setDisabled(name, false); print("\(name) enabled") } catch let error as ExitCode { throw error } catch { throw User.fail(error) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts.")
        @OptionGroup var options: ConfigOption
        func run() throws {
            let store = try User.store(options)
            let now = Date().timeIntervalSince1970
            for account in try store.list() {
                let scope = account.role == .staff ? "departments " + account.departments.joined(separator: ",") : "region " + (account.region ?? "")
                let sessions = try store.web.sessionCount(of: account.name, now: now)
                print([account.name, account.role.rawValue, scope, account.disabled ? "disabled" : "enabled", "\(sessions) session\(sessions == 1 ? "" : "s")"]
                    .joined(separator: "\t"))
            }
        }
    }
}

struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "The attention list: what a person must look at, and the same actions as the web page.",
        subcommands: [ListEntries.self, Show.self, Retry.self, Resolve.self])

    /// The daemon's database (read-only) and the web page's (for requests), as the web page uses them.
    static func stores(_ options: ConfigOption) throws -> (HallsyncEngine.Configuration, Store, WebStore) {
        let configuration = try options.load()
        do {
            let state = try WebState(configuration: configuration, applicationName: "hallsync-attention")
            return (configuration, state.sync, state.web)
        } catch {
            FileHandle.standardError.write(Data("hallsync: \(error)\n".utf8))
            throw ExitCode(ExitStatus.of(error))
        }
    }

    static var operator_: String { "cli:" + (ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "root") }

    static func entry(_ id: Int64, _ options: ConfigOption) throws -> (HallsyncEngine.Configuration, Store, WebStore, AttentionRow) {
        let (configuration, store, web) = try stores(options)
        guard let entry = try store.read({ tx in try tx.attentionEntry(id: id, scope: .region(configuration.portal.regionCode), includingUnowned: true) }) else {
            throw ValidationError("there is no attention entry \(id)")
        }
        return (configuration, store, web, entry)
    }

    struct ListEntries: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The open entries, oldest first.")
        @OptionGroup var options: ConfigOption
        func run() throws {
            let (configuration, store, _) = try AttentionCommand.stores(options)
            let entries = try store.read { tx in try tx.attentionEntries(scope: .region(configuration.portal.regionCode), includingUnowned: true, limit: 1_000_000) }
            for e in entries {
                print([String(e.id), e.reservationId, e.code, e.field, BeijingTime(Date(timeIntervalSince1970: e.raisedAt)).description, e.messageZh].joined(separator: "\t"))
            }
            print("\(Set(entries.map(\.reservationId)).count) reservations, \(entries.count) entries")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One entry, in full.")
        @Argument var id: Int64
        @OptionGroup var options: ConfigOption
        func run() throws {
            let (_, _, _, e) = try AttentionCommand.entry(id, options)
            print("""
                entry        \(e.id)
                reservation  \(e.reservationId)
                code         \(e.code)  field \(e.field)  \(e.target)
                raised       \(BeijingTime(Date(timeIntervalSince1970: e.raisedAt)))  (portal version \(e.version))
                message      \(e.messageZh)
                             \(e.messageEn)
                \(e.resolvedAt.map { "resolved     \(BeijingTime(Date(timeIntervalSince1970: $0))) by \(e.resolvedBy ?? "hallsync"): \(e.resolution ?? "")" } ?? "open")
                """)
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Have the daemon run the entry's reservation through the pipeline again (after a catalogue or configuration fix).")
        @Argument var id: Int64
        @OptionGroup var options: ConfigOption
        func run() throws {
            let (_, store, web, e) = try AttentionCommand.entry(id, options)
            guard try store.read({ tx in try tx.storedVersion(of: e.reservationId) }) != nil else {
                throw ValidationError("entry \(id) belongs to no stored reservation (\(e.code)); resolve it instead")
            }
            try web.add(.retry, reservationId: e.reservationId, attentionId: nil, note: "", account: AttentionCommand.operator_, at: Date().timeIntervalSince1970)
            print("retry of \(e.reservationId) requested; the daemon applies it at its next cycle")
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close an entry with a note saying what was done.")
        @Argument var id: Int64
        @Option(name: .long, help: "What was done.") var note: String
        @OptionGroup var options: ConfigOption
        func run() throws {
            guard !note.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--note says what was done") }
            let (_, _, web, e) = try AttentionCommand.entry(id, options)
            try web.add(.resolve, reservationId: e.reservationId, attentionId: e.id, note: note, account: AttentionCommand.operator_, at: Date().timeIntervalSince1970)
            print("resolution of entry \(id) requested; the daemon applies it at its next cycle")
        }
    }
}
