#!/usr/bin/env bash
# Builds a Debian package: dist/hallsync_<version>_<arch>.deb (and the binary's debug symbols
# beside it: dist/hallsync_<version>_<arch>.debug).
#
#   deploy/build-deb.sh [OUTDIR]
#   HALLSYNC_BINARY=path deploy/build-deb.sh   package an already built binary (the tests do)
#   HALLSYNC_DEB_COMPRESSION=gzip ...           faster, larger package (default xz)
#
# Contents: /usr/bin/hallsync (stripped; the Swift runtime linked in — a binary that still
# needs the toolchain is refused), the two systemd units, /etc/hallsync/{hallsync.yaml,
# matters.csv, working-calendar.txt} as conffiles, man pages generated from the argument parser,
# bash and zsh completions, the README, copyright and changelog. The maintainer scripts do what
# deb-systemd-helper does for a debhelper package: hallsync.service is enabled on the first
# install only (an administrator's `systemctl disable` survives upgrades), the state goes on purge
# only, and files an administrator changed keep their owner and mode across upgrades.
# When lintian is installed, the package is checked and an error fails the build.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
version="${HALLSYNC_VERSION:-$(sed -n 's/^let hallsyncVersion = "\(.*\)"/\1/p' Sources/hallsync/HallsyncCommand.swift)}"
# The Debian revision of this packaging of the upstream version.
revision="${HALLSYNC_DEBIAN_REVISION:-1}"
arch="$(dpkg --print-architecture)"
binary="${HALLSYNC_BINARY:-}"
if [ -z "$binary" ]; then
    swift build -c release --product hallsync --static-swift-stdlib
    binary=.build/release/hallsync
fi

# A server has no Swift toolchain: the runtime and Foundation must be linked in.
swift_libraries="$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -E '^(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime)' || true)"
runpath="$(readelf -d "$binary" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')"
if [ -n "$swift_libraries" ] || echo "$runpath" | grep -q swift; then
    echo "build-deb.sh: $binary needs the Swift toolchain at run time ($(echo $swift_libraries | tr '\n' ' ')${runpath:+RUNPATH $runpath}); a server without Swift cannot run it. Build it with: swift build -c release --product hallsync --static-swift-stdlib" >&2
    exit 1
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/hallsync_${version}-${revision}_${arch}"
mkdir -p "$out"

# The binary, stripped; its debug information kept aside, linked by a debuglink.
install -d -m 0755 "$pkg/usr/bin"
objcopy --only-keep-debug "$binary" "$out/hallsync_${version}-${revision}_${arch}.debug"
objcopy --strip-unneeded --remove-section=.comment --remove-section=.note \
    --add-gnu-debuglink="$out/hallsync_${version}-${revision}_${arch}.debug" "$binary" "$pkg/usr/bin/hallsync"
chmod 0755 "$pkg/usr/bin/hallsync"

install -D -m 0644 systemd/hallsync.service "$pkg/lib/systemd/system/hallsync.service"
install -D -m 0644 systemd/hallsync-web.service "$pkg/lib/systemd/system/hallsync-web.service"
for file in hallsync.yaml matters.csv working-calendar.txt; do
    install -D -m 0640 "Config/$file" "$pkg/etc/hallsync/$file"
done

# Documentation: README, copyright, changelog, man pages; completions.
doc="$pkg/usr/share/doc/hallsync"
install -D -m 0644 README.md "$doc/README.md"
gzip -9n "$doc/README.md"
install -d -m 0755 "$pkg/usr/share/man/man8"
"$binary" manual "$pkg/usr/share/man/man8" --date "$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}" +%Y-%m-%d)" >/dev/null
chmod 0644 "$pkg"/usr/share/man/man8/*.8
gzip -9n "$pkg"/usr/share/man/man8/*.8
install -d -m 0755 "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions"
# bash-completion sources the file: no interpreter line.
"$binary" --generate-completion-script bash | sed '1{/^#!/d}' > "$pkg/usr/share/bash-completion/completions/hallsync"
"$binary" --generate-completion-script zsh > "$pkg/usr/share/zsh/vendor-completions/_hallsync"
chmod 0644 "$pkg/usr/share/bash-completion/completions/hallsync" "$pkg/usr/share/zsh/vendor-completions/_hallsync"
cat > "$doc/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hallsync
Comment: The binary links in the Swift runtime and these packages: swift-argument-parser,
 swift-log, swift-crypto, swift-nio, swift-nio-ssl (BoringSSL), swift-service-lifecycle,
 Hummingbird, hummingbird-auth, swift-mustache (Apache-2.0); GRDB.swift, Yams (MIT).

Files: *
Copyright: 2021-2026 The hallsync developers
License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License"); you may not use this
 software except in compliance with the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0 can be found in
 "/usr/share/common-licenses/Apache-2.0".

Files: GRDB.swift/* Yams/*
Copyright: 2015-2026 Gwendal Roué; 2016-2026 JP Simard
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files (the "Software"), to deal in the Software without
 restriction, including without limitation the rights to use, copy, modify, merge, publish,
 distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
 BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
COPYRIGHT
chmod 0644 "$doc/copyright"
cat > "$stage/changelog.Debian" <<CHANGELOG
hallsync ($version-$revision) bookworm; urgency=medium

  * The summary web page (hallsync web), robustness against hostile peers and
    operators' mistakes, backups, strict configuration, monitoring examples.

 -- hallsync maintainers <hallsync-maintainers@lists.hallsync.org>  $(date -u -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
CHANGELOG
gzip -9nc "$stage/changelog.Debian" > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

install -D -m 0644 deploy/debian/lintian-overrides "$pkg/usr/share/lintian/overrides/hallsync"

install -d -m 0755 "$pkg/DEBIAN"
installed_size="$(du -sk --apparent-size "$pkg" | cut -f1)"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: hallsync
Version: $version-$revision
Architecture: $arch
Maintainer: hallsync maintainers <hallsync-maintainers@lists.hallsync.org>
Installed-Size: $installed_size
Section: admin
Priority: optional
Depends: libc6 (>= 2.34), libcurl4 (>= 7.88), libsqlite3-0 (>= 3.40), libpq5 (>= 15), libstdc++6 (>= 12), libgcc-s1 (>= 3.0), adduser, init-system-helpers (>= 1.54)
Suggests: postgresql-client (>= 15), postgresql (>= 15)
Homepage: https://hallsync.example.org/
Description: online reservations into the intake and licensing hall inboxes
 hallsync carries online reservations from the provincial government-service
 portal into the comprehensive intake and administrative licensing hall inboxes,
 exactly once, and carries the staff's outcomes back to the portal. A summary
 web page shows department staff and region administrators their reservations.
CONTROL
printf '/etc/hallsync/hallsync.yaml\n/etc/hallsync/matters.csv\n/etc/hallsync/working-calendar.txt\n' > "$pkg/DEBIAN/conffiles"

# Maintainer scripts (deploy/debian): the debhelper snippets of dh_installsystemd.
for script in postinst prerm postrm; do
    install -m 0755 "deploy/debian/$script" "$pkg/DEBIAN/$script"
done

# Checksums of everything installed.
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort | xargs md5sum) > "$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums" "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles"

deb="$out/hallsync_${version}-${revision}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${HALLSYNC_DEB_COMPRESSION:-xz}" --build "$pkg" "$deb" >/dev/null
if command -v lintian >/dev/null 2>&1; then
    # Errors fail the build; warnings are printed. The package's overrides
    # (/usr/share/lintian/overrides/hallsync) say why each rule does not apply.
    lintian --fail-on error "$deb" 2>&1 | { grep -v '^running with root privileges' || true; } >&2
    echo "lintian $(lintian --version | sed 's/^[Ll]intian v//'): no errors" >&2
else
    echo "lintian is not installed: the package was not checked (apt-get install lintian)" >&2
fi
echo "$deb"
