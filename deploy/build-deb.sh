#!/usr/bin/env bash
# Builds a Debian package: dist/hallsync_<version>_<arch>.deb
#
#   deploy/build-deb.sh [OUTDIR]
#   HALLSYNC_BINARY=path deploy/build-deb.sh   package an already built binary (the tests do)
#   HALLSYNC_DEB_COMPRESSION=gzip ...           faster, larger package (default xz)
#
# Contents: /usr/bin/hallsync, the systemd unit, /etc/hallsync/{hallsync.yaml, matters.csv,
# working-calendar.txt} as conffiles (dpkg keeps an edited one on upgrade), the README.
# postinst creates the hallsync system user and enables (does not start) the service: the
# secrets must be put in place first.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
version="${HALLSYNC_VERSION:-$(sed -n 's/^let hallsyncVersion = "\(.*\)"/\1/p' Sources/hallsync/HallsyncCommand.swift)}"
arch="$(dpkg --print-architecture)"
binary="${HALLSYNC_BINARY:-}"
if [ -z "$binary" ]; then
    swift build -c release --product hallsync --static-swift-stdlib
    binary=.build/release/hallsync
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/hallsync_${version}_${arch}"

install -D -m 0755 "$binary" "$pkg/usr/bin/hallsync"
install -D -m 0644 systemd/hallsync.service "$pkg/lib/systemd/system/hallsync.service"
install -D -m 0644 systemd/hallsync-web.service "$pkg/lib/systemd/system/hallsync-web.service"
for file in hallsync.yaml matters.csv working-calendar.txt; do
    install -D -m 0640 "Config/$file" "$pkg/etc/hallsync/$file"
done
install -D -m 0644 README.md "$pkg/usr/share/doc/hallsync/README.md"

install -d -m 0755 "$pkg/DEBIAN"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: hallsync
Version: $version
Architecture: $arch
Maintainer: hallsync maintainers <hallsync@localhost>
Section: admin
Priority: optional
Depends: libc6, libcurl4, libsqlite3-0, adduser
Description: online reservations into the intake and licensing hall inboxes
 hallsync carries online reservations from the provincial government-service
 portal into the comprehensive intake and administrative licensing hall inboxes,
 exactly once, and carries the staff's outcomes back to the portal.
CONTROL
printf '/etc/hallsync/hallsync.yaml\n/etc/hallsync/matters.csv\n/etc/hallsync/working-calendar.txt\n' > "$pkg/DEBIAN/conffiles"

cat > "$pkg/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd hallsync >/dev/null; then
        adduser --system --group --no-create-home --home /var/lib/hallsync --shell /usr/sbin/nologin hallsync
    fi
    # The summary web page's own user, in the group that reads the daemon's database.
    if ! getent passwd hallsync-web >/dev/null; then
        adduser --system --ingroup hallsync --no-create-home --home /var/lib/hallsync-web --shell /usr/sbin/nologin hallsync-web
    fi
    chgrp -R hallsync /etc/hallsync
    chmod 0750 /etc/hallsync
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        systemctl enable hallsync.service || true
        # Restart an upgraded, running service; a new install waits for its secrets.
        systemctl try-restart hallsync.service || true
    fi
fi
exit 0
POSTINST
cat > "$pkg/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable --now hallsync-web.service hallsync.service || true
fi
exit 0
PRERM
cat > "$pkg/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
    # The state (database, status file) and the user go only on purge.
    rm -rf /var/lib/hallsync /var/lib/hallsync-web /etc/hallsync
    if getent passwd hallsync-web >/dev/null; then deluser --system hallsync-web || true; fi
    if getent passwd hallsync >/dev/null; then deluser --system hallsync || true; fi
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
POSTRM
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"

mkdir -p "$out"
dpkg-deb --root-owner-group -Z"${HALLSYNC_DEB_COMPRESSION:-xz}" --build "$pkg" "$out/hallsync_${version}_${arch}.deb" >/dev/null
echo "$out/hallsync_${version}_${arch}.deb"
