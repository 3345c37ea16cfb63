import ArgumentParser
import Foundation

/// `hallsync manual DIR`: the man pages, generated from the argument parser — `hallsync(8)` and
/// one page per subcommand (`hallsync-user-add(8)`) — for the package (`deploy/build-deb.sh`).
struct Manual: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the man pages (section 8) generated from the commands' own help.",
        shouldDisplay: false)

    @Argument(help: "The directory to write hallsync.8 and hallsync-COMMAND.8 into.") var directory: String
    @Option(help: "The date in the pages' headers (yyyy-MM-dd), for reproducible packages.") var date: String = "2026-11-29"

    func run() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written = 0
        func walk(_ command: any ParsableCommand.Type, path: [String]) throws {
            let name = path.joined(separator: "-")
            let config = command.configuration
            guard config.shouldDisplay || path.count == 1 else { return }
            let subcommands = config.subcommands.filter { $0.configuration.shouldDisplay }
            let usage = HallsyncCommand.usageString(for: command).replacingOccurrences(of: "\n", with: " ")
            let page = Self.page(name: name, invocation: usage.isEmpty ? path.joined(separator: " ") : usage, abstract: config.abstract,
                                 help: HallsyncCommand.helpMessage(for: command, columns: 78),
                                 seeAlso: path.count == 1 ? subcommands.map { "hallsync-\($0._commandName)" } : [path[0]], date: date)
            try page.write(toFile: directory + "/\(name).8", atomically: true, encoding: .utf8)
            written += 1
            for sub in subcommands { try walk(sub, path: path + [sub._commandName]) }
        }
        try walk(HallsyncCommand.self, path: ["hallsync"])
        print("wrote \(written) man pages to \(directory)")
    }

    /// A man page: the command's help, as its argument parser prints it, preformatted.
    static func page(name: String, invocation: String, abstract: String, help: String, seeAlso: [String], date: String) -> String {
        func escape(_ line: String) -> String {
            var text = line.replacingOccurrences(of: "\\", with: "\\e")
            if text.hasPrefix(".") || text.hasPrefix("'") { text = "\\&" + text }
            return text
        }
        var lines = [
            ".TH \(name.uppercased()) 8 \"\(date)\" \"hallsync \(hallsyncVersion)\" \"System Administration\"",
            ".SH NAME",
            "\(name) \\- \(escape(abstract))",
            ".SH SYNOPSIS",
            ".nf",
            escape(invocation),
            ".fi",
            ".SH DESCRIPTION",
            ".nf",
        ]
        lines += help.split(separator: "\n", omittingEmptySubsequences: false).map { escape(String($0)) }
        lines.append(".fi")
        if !seeAlso.isEmpty {
            lines += [".SH SEE ALSO", seeAlso.map { "\\fB\($0)\\fR(8)" }.joined(separator: ", ")]
        }
        lines += [".PP", "The README in /usr/share/doc/hallsync describes the service, its configuration and its files."]
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ParsableCommand {
    /// The name a command is invoked by.
    static var _commandName: String {
        configuration.commandName ?? String(describing: Self.self).lowercased()
    }
}
