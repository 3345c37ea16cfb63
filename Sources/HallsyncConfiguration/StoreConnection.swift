import Foundation

extension Configuration.Store {
    /// libpq's connection string from the configuration: the site's string, then the TLS mode,
    /// the CA and the password read from its file (quoted as libpq reads values). The daemon,
    /// the web page and the tools connect with it alike.
    public func conninfo(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> String {
        var parts = [connection, "sslmode=" + Self.quoted(tls)]
        if let ca = caFile { parts.append("sslrootcert=" + Self.quoted(ca)) }
        if var file = passwordFile {
            if file.hasPrefix("credential:") {
                // Left unresolved by the commands that do not need the peers' secrets (the web
                // page, the tools): resolved here, under a unit with LoadCredential= as well.
                let name = file.dropFirst("credential:".count)
                if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty, !name.isEmpty {
                    file = directory + "/" + name
                } else {
                    throw ConfigurationError("store.passwordFile names the systemd credential \(name), which only a service sees; outside one, run the command as systemd-run --pipe --wait -p LoadCredential=\(name):/etc/hallsync/\(name) hallsync …, or set CREDENTIALS_DIRECTORY to a directory holding the file \(name)")
                }
            }
            guard let password = FileManager.default.contents(atPath: file).flatMap({ String(data: $0, encoding: .utf8) })?
                .trimmingCharacters(in: .whitespacesAndNewlines), !password.isEmpty else {
                throw ConfigurationError("cannot read the database password from \(file) (store.passwordFile); check that the file exists, is not empty and that this user may read it")
            }
            parts.append("password=" + Self.quoted(password))
        }
        return parts.joined(separator: " ")
    }

    /// A value in libpq's `keyword=value` form: single quotes, with `\` and `'` escaped.
    static func quoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}
