import Foundation
import HallsyncTestSupport
import Testing

/// The Debian package: build-deb.sh's refusal of a binary that needs the toolchain, and the
/// maintainer scripts run through install, an administrator's changes, upgrade, remove and purge
/// against a scratch root with the real deb-systemd-helper ($DPKG_ROOT).
@Suite struct DebianPackageTests {
    func sh(_ command: String, _ environment: [String: String] = [:]) throws -> (Int32, String) {
        let output = try Support.run("/bin/bash", ["-c", command], environment: environment)
        return (output.status, output.text)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/readelf"), "readelf (binutils) is not installed"))
    func buildDebRefusesABinaryThatStillNeedsTheSwiftToolchain() async throws {
        try await offPool {
            let directory = try Support.temporaryDirectory("deb-refuse")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // A program built as swiftc builds by default on Linux: the Swift runtime a shared library.
            try "print(\"hallsync\")\n".write(toFile: directory + "/main.swift", atomically: true, encoding: .utf8)
            let compiled = try sh("swiftc -o \(directory)/hallsync \(directory)/main.swift && readelf -d \(directory)/hallsync")
            try #require(compiled.0 == 0 && compiled.1.contains("libswiftCore.so"), "\(compiled.1)")
            let built = try sh("deploy/build-deb.sh \(directory)/dist", ["HALLSYNC_BINARY": directory + "/hallsync"])
            #expect(built.0 == 1)
            #expect(built.1.contains("needs the Swift toolchain at run time"), "\(built.1)")
            #expect(built.1.contains("libswiftCore.so"), "\(built.1)")
            #expect(built.1.contains("--static-swift-stdlib"), "the message says how to build one that works: \(built.1)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/dist")) ?? []
            #expect(!left.contains { $0.hasSuffix(".deb") }, "no package is left behind: \(left)")
        }
    }

    func version() throws -> String {
        try sh("sed -n 's/^let hallsyncVersion = \"\\(.*\\)\"/\\1/p' Sources/hallsync/HallsyncCommand.swift").1
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func architecture() throws -> String {
        try sh("dpkg --print-architecture").1.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A scratch root as dpkg leaves it after unpacking, and stub commands for what would change
    /// the host (users, groups, running services); each stub logs its arguments.
    struct ScratchRoot {
        let root: String
        let stubs: String
        let log: String

        var environment: [String: String] {
            ["DPKG_ROOT": root, "DPKG_MAINTSCRIPT_PACKAGE": "hallsync", "PATH": stubs + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        }

        var enabledLink: String { root + "/etc/systemd/system/multi-user.target.wants/hallsync.service" }
        var maskLink: String { root + "/etc/systemd/system/hallsync.service" }
    }

    func scratchRoot() throws -> ScratchRoot {
        let directory = try Support.temporaryDirectory("deb-scripts")
        let root = directory + "/root", stubs = directory + "/stubs", log = directory + "/commands.log"
        #expect(try sh("""
            set -e
            install -D -m 0644 systemd/hallsync.service \(root)/lib/systemd/system/hallsync.service
            install -D -m 0644 systemd/hallsync-web.service \(root)/lib/systemd/system/hallsync-web.service
            for f in hallsync.yaml matters.csv working-calendar.txt; do install -D -m 0640 Config/$f \(root)/etc/hallsync/$f; done
            mkdir -p \(stubs) \(root)/var/lib/hallsync \(root)/var/lib/hallsync-web
            : > \(log)
            for command in adduser deluser chgrp deb-systemd-invoke; do
                printf '#!/bin/sh\\necho "%s $*" >> \(log)\\n' "$command" > \(stubs)/$command
            done
            # No user exists yet on a fresh system.
            printf '#!/bin/sh\\necho "getent $*" >> \(log)\\nexit 2\\n' > \(stubs)/getent
            chmod 0755 \(stubs)/*
            """).0 == 0)
        return ScratchRoot(root: root, stubs: stubs, log: log)
    }

    func script(_ name: String, _ arguments: String, in scratch: ScratchRoot) throws -> String {
        try "".write(toFile: scratch.log, atomically: true, encoding: .utf8)
        let result = try sh("deploy/debian/\(name) \(arguments)", scratch.environment.merging(["DPKG_MAINTSCRIPT_NAME": name]) { $1 })
        #expect(result.0 == 0, "\(name) \(arguments): \(result.1)")
        return try String(contentsOfFile: scratch.log, encoding: .utf8)
    }

    func isSymlink(_ path: String, to target: String? = nil) -> Bool {
        guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else { return false }
        return target.map { destination == $0 } ?? true
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/deb-systemd-helper"), "init-system-helpers is not installed"))
    func maintainerScriptsEnableOnFirstInstallOnlyAndKeepTheAdministratorsChoices() async throws {
        try await offPool {
            let scratch = try scratchRoot()
            #expect(try sh("sh -n deploy/debian/postinst && sh -n deploy/debian/prerm && sh -n deploy/debian/postrm").0 == 0)

            // First install: the users, the group on the configuration, and the daemon enabled
            // (not the web page, which needs accounts first).
            let first = try script("postinst", "configure", in: scratch)
            #expect(first.contains("adduser --system --group --no-create-home --home /var/lib/hallsync"), "\(first)")
            #expect(first.contains("adduser --system --ingroup hallsync"), "\(first)")
            #expect(first.contains("chgrp hallsync \(scratch.root)/etc/hallsync "), "\(first)")
            #expect(try mode(scratch.root + "/etc/hallsync") == 0o750)
            #expect(isSymlink(scratch.enabledLink, to: "/lib/systemd/system/hallsync.service"))
            #expect(!FileManager.default.fileExists(atPath: scratch.root + "/etc/systemd/system/multi-user.target.wants/hallsync-web.service"))
            #expect(!first.contains("deb-systemd-invoke"), "a new install is not started before its secrets exist")

            // The administrator disables the daemon (what `systemctl disable` does to this unit)
            // and opens the directory to a monitoring group; an upgrade keeps both.
            try FileManager.default.removeItem(atPath: scratch.enabledLink)
            #expect(try sh("chmod 0755 \(scratch.root)/etc/hallsync").0 == 0)
            let upgrade = try script("postinst", "configure 0.9.0", in: scratch)
            #expect(!isSymlink(scratch.enabledLink), "an administrator's disable survives the upgrade")
            #expect(!upgrade.contains("chgrp"), "\(upgrade)")
            #expect(try mode(scratch.root + "/etc/hallsync") == 0o755)

            // Enabled again by the administrator, it stays enabled through the next upgrade.
            #expect(try sh("ln -s /lib/systemd/system/hallsync.service \(scratch.enabledLink)").0 == 0)
            _ = try script("postinst", "configure 0.9.1", in: scratch)
            #expect(isSymlink(scratch.enabledLink))

            // remove: the unit is masked (a left-over unit file does not start), the state is kept.
            try "database".write(toFile: scratch.root + "/var/lib/hallsync/hallsync.sqlite", atomically: true, encoding: .utf8)
            _ = try script("prerm", "remove", in: scratch)
            _ = try script("postrm", "remove", in: scratch)
            #expect(isSymlink(scratch.maskLink, to: "/dev/null"))
            #expect(FileManager.default.fileExists(atPath: scratch.root + "/var/lib/hallsync/hallsync.sqlite"))

            // Installed again: unmasked, and the administrator's enablement is what it was.
            _ = try script("postinst", "configure 0.9.1", in: scratch)
            #expect(!isSymlink(scratch.maskLink))
            #expect(isSymlink(scratch.enabledLink))

            // purge: the state goes, the units are forgotten and unmasked; the secrets the
            // administrator put in /etc/hallsync stay (dpkg itself removes the conffiles).
            try "portal-secret".write(toFile: scratch.root + "/etc/hallsync/portal.key", atomically: true, encoding: .utf8)
            _ = try script("prerm", "remove", in: scratch)
            _ = try script("postrm", "remove", in: scratch)
            #expect(try sh("rm \(scratch.root)/etc/hallsync/hallsync.yaml \(scratch.root)/etc/hallsync/matters.csv \(scratch.root)/etc/hallsync/working-calendar.txt").0 == 0)
            let purge = try script("postrm", "purge", in: scratch)
            #expect(!FileManager.default.fileExists(atPath: scratch.root + "/var/lib/hallsync"))
            #expect(!FileManager.default.fileExists(atPath: scratch.root + "/var/lib/hallsync-web"))
            #expect(!isSymlink(scratch.maskLink) && !isSymlink(scratch.enabledLink))
            #expect(!FileManager.default.fileExists(atPath: scratch.root + "/var/lib/systemd/deb-systemd-helper-enabled/hallsync.service.dsh-also"))
            #expect(FileManager.default.fileExists(atPath: scratch.root + "/etc/hallsync/portal.key"))
            #expect(!purge.contains("deluser"), "system users are kept: \(purge)")

            // With nothing of the administrator's left, the directory goes too; a fresh install
            // after a purge is a first install again (enabled).
            try FileManager.default.removeItem(atPath: scratch.root + "/etc/hallsync/portal.key")
            _ = try script("postrm", "purge", in: scratch)
            #expect(!FileManager.default.fileExists(atPath: scratch.root + "/etc/hallsync"))
            #expect(try sh("for f in hallsync.yaml matters.csv working-calendar.txt; do install -D -m 0640 Config/$f \(scratch.root)/etc/hallsync/$f; done").0 == 0)
            _ = try script("postinst", "configure", in: scratch)
            #expect(isSymlink(scratch.enabledLink))
        }
    }
}
