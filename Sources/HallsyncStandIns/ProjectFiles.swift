import Foundation

/// Files of the hallsync source tree that a stand-in site hands to the daemon, found from
/// this source file's location (the demo and the tests run from a checkout).
///
///     ProjectFiles.workingCalendar   // the text of Config/working-calendar.txt, or nil
public enum ProjectFiles {
    /// The repository's `Config` directory, when this binary was built from a checkout that still exists.
    public static var configDirectory: String? {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Config").path
        return FileManager.default.fileExists(atPath: directory + "/working-calendar.txt") ? directory : nil
    }

    /// The project's working-day calendar: from the checkout, else from an installed
    /// `/etc/hallsync`, else nil (the caller falls back to weekends only and says so).
    public static var workingCalendar: String? {
        for directory in [configDirectory, "/etc/hallsync"].compactMap({ $0 }) {
            if let data = FileManager.default.contents(atPath: directory + "/working-calendar.txt"),
               let text = String(data: data, encoding: .utf8) {
                return text
            }
        }
        return nil
    }
}
