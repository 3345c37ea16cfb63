import Foundation
import HallsyncDomain
import Yams

/// The configuration file as written, decoded by Yams into Codable sections: every key optional
/// (the defaults live once, in ``Configuration``), every value kept as the text the operator
/// wrote and read afterwards by hallsync's own rules — so `areaCode: 0631` stays `0631` (YAML
/// would read an octal 409), `1:30` is not sexagesimal 90, and a wrong value becomes one problem
/// in a list rather than the end of the reading.
struct ConfigurationFile: Decodable {
    var portal: Section<Portal>?
    /// One section per hall, under the hall's name (`intake:`, `licensing:`).
    var halls: PerHall<Section<Hall>?>
    var database: Field<String>?
    var catalogue: Field<String>?
    var calendar: Field<String>?
    var sync: Section<Sync>?
    var site: Section<Site>?
    var http: Section<HTTP>?
    var operations: Section<Operations>?
    var monitoring: Section<Monitoring>?
    var retention: Section<Retention>?
    var web: Section<Web>?
    var store: Section<Store>?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case portal, database, catalogue, calendar, sync, site, http, operations, monitoring, retention, web, store
    }

    /// A hall's section, named by its ``HallTarget``.
    struct HallKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ target: HallTarget) { stringValue = target.rawValue }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Every top-level key: the sections and settings, and one section per hall.
    static var topLevelKeys: [String] {
        CodingKeys.allCases.map(\.stringValue) + HallTarget.allCases.map(\.rawValue)
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        portal = try c.decodeIfPresent(Section<Portal>.self, forKey: .portal)
        database = try c.decodeIfPresent(Field<String>.self, forKey: .database)
        catalogue = try c.decodeIfPresent(Field<String>.self, forKey: .catalogue)
        calendar = try c.decodeIfPresent(Field<String>.self, forKey: .calendar)
        sync = try c.decodeIfPresent(Section<Sync>.self, forKey: .sync)
        site = try c.decodeIfPresent(Section<Site>.self, forKey: .site)
        http = try c.decodeIfPresent(Section<HTTP>.self, forKey: .http)
        operations = try c.decodeIfPresent(Section<Operations>.self, forKey: .operations)
        monitoring = try c.decodeIfPresent(Section<Monitoring>.self, forKey: .monitoring)
        retention = try c.decodeIfPresent(Section<Retention>.self, forKey: .retention)
        web = try c.decodeIfPresent(Section<Web>.self, forKey: .web)
        store = try c.decodeIfPresent(Section<Store>.self, forKey: .store)
        let hallSections = try decoder.container(keyedBy: HallKey.self)
        halls = try PerHall { try hallSections.decodeIfPresent(Section<Hall>.self, forKey: HallKey($0)) }
    }

    struct Portal: Decodable, KnownKeys {
        var baseURL, appId, appSecretFile, regionCode, startFrom: Field<String>?
        var visibilityLag, lagMargin, pageSize: Field<Int>?
        enum CodingKeys: String, CodingKey, CaseIterable { case baseURL, appId, appSecretFile, regionCode, visibilityLag, lagMargin, pageSize, startFrom }
    }

    struct Hall: Decodable, KnownKeys {
        var baseURL, tokenFile: Field<String>?
        enum CodingKeys: String, CodingKey, CaseIterable { case baseURL, tokenFile }
    }

    struct Sync: Decodable, KnownKeys {
        var interval, idempotencyKeyRetention, idempotencyKeySafetyMargin, retryBase, retryCap, feedRetention, sweepInterval: Field<Double>?
        var maxPagesPerCycle, maxSendsPerCycle, maxLookupsPerCycle, concurrencyPerTarget: Field<Int>?
        var unknownMatter: Field<String>?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case interval, maxPagesPerCycle, maxSendsPerCycle, maxLookupsPerCycle, concurrencyPerTarget, unknownMatter, idempotencyKeyRetention,
                 idempotencyKeySafetyMargin, retryBase, retryCap, feedRetention, sweepInterval
        }
    }

    struct Site: Decodable, KnownKeys {
        var areaCode, morningStart, afternoonStart: Field<String>?
        enum CodingKeys: String, CodingKey, CaseIterable { case areaCode, morningStart, afternoonStart }
    }

    struct HTTP: Decodable, KnownKeys {
        var connectTimeout, requestTimeout: Field<Double>?
        var maxResponseBytes: Field<Int>?
        var verifyTLS: Field<Bool>?
        var caFile: Field<String>?
        enum CodingKeys: String, CodingKey, CaseIterable { case connectTimeout, requestTimeout, maxResponseBytes, verifyTLS, caFile }
    }

    struct Operations: Decodable, KnownKeys {
        var statusFile, metricsFile: Field<String>?
        var stopGrace: Field<Double>?
        enum CodingKeys: String, CodingKey, CaseIterable { case statusFile, metricsFile, stopGrace }
    }

    struct Monitoring: Decodable, KnownKeys {
        var staleAfterIntervals, endpointWarningMinutes, endpointCriticalMinutes: Field<Double>?
        var attentionWarning, attentionCritical, overdueWarning, overdueCritical: Field<Int>?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case staleAfterIntervals, endpointWarningMinutes, endpointCriticalMinutes, attentionWarning, attentionCritical, overdueWarning, overdueCritical
        }
    }

    struct Store: Decodable, KnownKeys {
        var kind, connection, passwordFile, tls, caFile, holder: Field<String>?
        var leaseTTL, renewInterval, standbyPoll: Field<Double>?
        var preparedStatements: Field<Bool>?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case kind, connection, passwordFile, tls, caFile, holder, leaseTTL, renewInterval, standbyPoll, preparedStatements
        }
    }

    struct Retention: Decodable, KnownKeys {
        var personalDataDays: Field<Int>?
        enum CodingKeys: String, CodingKey, CaseIterable { case personalDataDays }
    }

    struct Web: Decodable, KnownKeys {
        var listen, database, tlsCertificate, tlsKey, auditLog: Field<String>?
        var port, sessionMinutes, loginAttemptsPerMinute: Field<Int>?
        var behindProxy: Field<Bool>?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case listen, port, database, tlsCertificate, tlsKey, sessionMinutes, loginAttemptsPerMinute, behindProxy, auditLog
        }
    }

    /// Reads the text; a file that is not YAML, or not a mapping, is one problem.
    static func decode(_ text: String) throws(ConfigurationError) -> (ConfigurationFile, unknownKeys: [String]) {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ConfigurationError("the configuration is not valid YAML: \(error)")
        }
        guard let node, node.mapping != nil else { throw ConfigurationError("the configuration must be a mapping of sections (portal:, intake:, …)") }
        do {
            return (try YAMLDecoder().decode(ConfigurationFile.self, from: text), unknownKeys(in: node))
        } catch {
            throw ConfigurationError("the configuration cannot be read: \(error)")
        }
    }

    /// Every key the file has that hallsync does not know, with the nearest known one.
    static func unknownKeys(in node: Node) -> [String] {
        let sections: [String: [String]] = [
            "portal": Portal.keys, "sync": Sync.keys, "site": Site.keys, "http": HTTP.keys,
            "operations": Operations.keys, "monitoring": Monitoring.keys, "retention": Retention.keys, "web": Web.keys, "store": Store.keys,
        ].merging(HallTarget.allCases.map { ($0.rawValue, Hall.keys) }) { first, _ in first }
        var problems: [String] = []
        func check(_ mapping: Node.Mapping, known: [String], path: String) {
            var seen: [String: Int] = [:]
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? "\(keyNode)"
                let full = path.isEmpty ? key : "\(path).\(key)"
                // YAML lets a later key win silently: the earlier one would be neither applied nor checked.
                let line = (keyNode.mark?.line).map { $0 + 1 } ?? 0
                if let first = seen[key] {
                    problems.append("\(full) is given twice (lines \(first) and \(line)); the first would be ignored without a word — keep one")
                    continue
                }
                seen[key] = line
                guard known.contains(key) else {
                    let hint = nearest(key, in: known).map { "; did you mean \(path.isEmpty ? $0 : "\(path).\($0)")?" } ?? ""
                    problems.append("\(full) is not a setting hallsync knows\(hint)")
                    continue
                }
                if path.isEmpty, let section = sections[key], let inner = value.mapping { check(inner, known: section, path: key) }
            }
        }
        if let mapping = node.mapping { check(mapping, known: topLevelKeys, path: "") }
        return problems
    }

    /// The known name closest to a misspelt one (`intervall` → `interval`), when it is close.
    static func nearest(_ key: String, in known: [String]) -> String? {
        let scored = known.map { ($0, distance(key.lowercased(), $0.lowercased())) }.min { $0.1 < $1.1 }
        guard let (name, score) = scored, score <= max(2, name.count / 3) else { return nil }
        return name
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}

/// A section's known keys, from its coding keys.
protocol KnownKeys {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

extension KnownKeys {
    static var keys: [String] { CodingKeys.allCases.map(\.stringValue) }
}

/// A section that may be written as something else than a mapping (`sync: 5`): kept as a problem.
enum Section<Content: Decodable>: Decodable {
    case content(Content)
    case notAMapping

    init(from decoder: any Decoder) throws {
        if let content = try? Content(from: decoder) { self = .content(content) } else { self = .notAMapping }
    }
}

/// A value as the operator wrote it, and what hallsync reads in it (nil when it reads nothing).
struct Field<Value: ConfigurationValue>: Decodable {
    let text: String
    let value: Value?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            text = ""
            value = nil
        } else if let raw = try? container.decode(String.self) {
            text = raw
            value = Value.read(raw)
        } else {
            text = "(a list or a mapping)"
            value = nil
        }
    }
}

/// How a configuration value is read from its text: decimal numbers only (no octal, no
/// sexagesimal), `true`/`false`, text as written.
protocol ConfigurationValue {
    static func read(_ text: String) -> Self?
    /// What a value of this kind looks like, for a problem's message.
    static var kind: String { get }
}

extension String: ConfigurationValue {
    static func read(_ text: String) -> String? { text }
    static var kind: String { "text" }
}

extension Int: ConfigurationValue {
    static func read(_ text: String) -> Int? {
        let digits = text.replacingOccurrences(of: "_", with: "")
        guard digits == "0" || !(digits.hasPrefix("0") || digits.hasPrefix("-0")) else { return nil }
        return Int(digits)
    }
    static var kind: String { "a whole number (decimal, no leading zero)" }
}

extension Double: ConfigurationValue {
    static func read(_ text: String) -> Double? {
        guard !text.contains(":"), !text.lowercased().hasPrefix("0x"), let value = Double(text.replacingOccurrences(of: "_", with: "")), value.isFinite else { return nil }
        return value
    }
    static var kind: String { "a number" }
}

extension Bool: ConfigurationValue {
    static func read(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }
    static var kind: String { "true or false" }
}
