import Foundation
import HallsyncDomain
import Logging
import Synchronization

/// Log lines for journald on stderr: a syslog priority prefix (`<3>` error … `<7>` debug),
/// the message, then `key=value` fields, one event per line.
///
///     <6>cycle done pulled=12 delivered=20
///     <7>stored reservation applicant=王* phone=138****0000 idNumber=3710**********015X
///
/// Personal data never leaves in full: ID-number-like and phone-like numbers are masked in the
/// message and in every field, and the fields that hold names are masked by their key.
public struct JournalLogHandler: LogHandler {
    /// Field names whose values are people's names.
    public static let nameKeys: Set<String> = ["name", "applicant", "applicantName", "operator", "orgName", "agent"]

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    static let lock = Mutex(())

    /// Writes a line to stderr, one write per line under a process-wide lock.
    public static let standardError: @Sendable (String) -> Void = { line in
        lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// Where finished lines go: stderr, one write per line under a process-wide lock.
    let write: @Sendable (String) -> Void

    /// journald already tags each line with the unit, so the logger's label is not repeated.
    public init(label _: String, level: Logger.Level = .info,
                write: @escaping @Sendable (String) -> Void = JournalLogHandler.standardError) {
        self.logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let priority: Int
        switch event.level {
        case .trace, .debug: priority = 7
        case .info: priority = 6
        case .notice: priority = 5
        case .warning: priority = 4
        case .error: priority = 3
        case .critical: priority = 2
        }
        var line = "<\(priority)>\(PersonalData.redact("\(event.message)"))"
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            let text = Self.nameKeys.contains(key) ? PersonalData.maskName("\(value)") : PersonalData.redact("\(value)")
            line += " \(key)=" + (text.contains(" ") || text.isEmpty ? "\"\(text.replacingOccurrences(of: "\"", with: "'"))\"" : text)
        }
        line = line.replacingOccurrences(of: "\n", with: " ") + "\n"
        write(line)
    }
}
