import HallsyncEngine
import HallsyncStore

/// The exit codes of `hallsync run` and `once`, after sysexits(3), so that systemd and a
/// script can tell apart what an operator must fix from what passes by itself.
///
///     throw ExitCode(ExitStatus.of(error))
///
/// | code | meaning | systemd (`hallsync.service`) |
/// | --- | --- | --- |
/// | 0 | done | — |
/// | 1 | `once`: the cycle met errors that pass by themselves (a peer down, a 5xx): they are retried | — |
/// | 2 | `once`: the cycle met an error an operator must fix (a wrong URL or token, TLS, the clock, the store) | — |
/// | 74 | the database file was deleted or replaced while running: restore it or start deliberately | not restarted |
/// | 75 | another hallsync already syncs this database (or it is busy): try again later | restarted |
/// | 78 | the configuration, a secret, the catalogue or the calendar is wrong | not restarted |
public enum ExitStatus {
    public static let retryableErrors: Int32 = 1
    public static let failed: Int32 = 2
    public static let databaseLost: Int32 = 74
    public static let temporaryFailure: Int32 = 75
    public static let configuration: Int32 = 78

    public static func of(_ error: any Error) -> Int32 {
        switch error {
        case let error as StoreError:
            switch error.code {
            case .databaseGone, .databaseReplaced: return databaseLost
            case .alreadyRunning, .lockFailed, .busy: return temporaryFailure
            default: return configuration
            }
        default:
            return configuration
        }
    }
}
