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
/// Personal data never leaves in full. It is masked by the field it comes in: a peer's words
/// where they enter hallsync (``PersonalData/redactPeerText(_:values:)``), and here the fields
/// whose key says they hold a name, an ID number or a phone. hallsync's own numbers (a clock
/// difference, a byte count) are left alone; only a number whose very shape is an ID number or
/// a phone with its prefix is masked anywhere, as a last line of defence.
public struct JournalLogHandler: LogHandler {
    /// Field names whose values are people's names.
    public static let nameKeys: Set<String> = ["name", "applicant", "applicantName", "operator", "orgName", "agent"]
    /// Field names whose values are ID numbers or phones.
    public static let idNumberKeys: Set<String> = ["idNumber", "idCard"]
    public static let phoneKeys: Set<String> = ["phone", "mobile", "tel"]

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
            let text = Self.nameKeys.contains(key) ? PersonalData.maskName("\(value)")
                : Self.idNumberKeys.contains(key) ? PersonalData.maskIdNumber("\(value)")
                : Self.phoneKeys.contains(key) ? PersonalData.maskPhone("\(value)")
                : PersonalData.redact("\(value)")
            line += " \(key)=" + (text.contains(" ") || text.isEmpty ? "\"\(text.replacingOccurrences(of: "\"", with: "'"))\"" : text)
        }
        line = line.replacingOccurrences(of: "\n", with: " ") + "\n"
        write(line)
    }
}
