import Foundation
import HallsyncStore
#if canImport(Glibc)
import Glibc
#endif

/// A test-only freeze at the worst moment for a pair, for the negative control of its gate
/// (`hallsync demo --pair --pair-faults freeze-mid-batch`): with
/// `HALLSYNC_TEST_ONLY_FREEZE_FILE` naming a file, a daemon that finds the file there right after
/// it took a batch of creates never sent removes it and stops itself (SIGSTOP), before the first
/// of them goes out. Until someone continues it (SIGCONT), the other daemon leads and makes those
/// items itself; the halls forget the keys; so every send of the batch after the wake would be a
/// second item, unless the gate refuses it. Logged as critical at start; never set on a site.
public enum FreezeForTests {
    public static let variable = "HALLSYNC_TEST_ONLY_FREEZE_FILE"

    /// The file, when the variable is set.
    static let file: String? = ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }

    /// Creates of a batch never sent before that make it worth the freeze.
    static let freshCreates = 4

    /// After a batch was taken (its attempts marked, nothing sent): stops this process when the
    /// file is there. Removing the file is what claims it: one daemon, one batch.
    static func tookBatch(_ batch: [OutboxEntry]) {
        guard let file, batch.filter({ $0.kind == .create && $0.firstAttemptAt == nil }).count >= freshCreates,
              unlink(file) == 0 else { return }
        raise(SIGSTOP)
    }
}
