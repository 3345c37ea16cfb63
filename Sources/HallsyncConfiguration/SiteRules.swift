import Foundation
import HallsyncDomain

/// The site's rules read from the files operations maintain: the matter catalogue, the
/// working-day calendar and the site settings, ready as a ``ReservationNormalizer``.
///
///     let rules = try SiteRules.load(configuration)
///     rules.normalizer.normalize(portalReservation)
///     rules.calendar.uncoveredYears(from: today, days: 60)   // years to add to the calendar
///
/// Loading either succeeds completely or throws a ``ConfigurationError`` that lists every
/// problem with its file and line, so a reload (a new engine, see ``Daemon``) never swaps in
/// half a rule set.
public struct SiteRules: Sendable {
    public let catalogue: MatterCatalogue
    public let calendar: WorkingCalendar
    public let normalizer: ReservationNormalizer

    public static func load(_ configuration: Configuration) throws(ConfigurationError) -> SiteRules {
        let catalogue = try read(configuration.catalogue, key: "catalogue") { text in try MatterCatalogue(csv: text) }
        let calendar = try read(configuration.calendar, key: "calendar") { text in try WorkingCalendar(text: text) }
        let normalizer = ReservationNormalizer(catalogue: catalogue, calendar: calendar,
                                               settings: try configuration.normalizerSettings())
        return SiteRules(catalogue: catalogue, calendar: calendar, normalizer: normalizer)
    }

    /// Reads a UTF-8 file named by `key` and parses it; a parse error is prefixed with the file's path.
    static func read<T>(_ path: String, key: String, parse: (String) throws -> T) throws(ConfigurationError) -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read \(path); check \(key) in the configuration and the file's permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("\(path) is not UTF-8 text; save it as UTF-8 (CSV UTF-8 in a spreadsheet)")
        }
        do {
            return try parse(text)
        } catch {
            throw ConfigurationError("\(path):\n\(error)")
        }
    }

    /// A warning for each year from `today` through `days` days on that the calendar lacks.
    public func coverageWarnings(today: CivilDate, days: Int = 60) -> [String] {
        calendar.uncoveredYears(from: today, days: days).map {
            "the working calendar has no arrangement for \($0); deadlines in \($0) count weekends only until it is added"
        }
    }
}
