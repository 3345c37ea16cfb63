#!/usr/bin/env bash
# Installs hallsync as a systemd service on this machine (run as root from the checkout).
#
#   deploy/install.sh                      release build, binary, configuration, unit, user, enable
#   HALLSYNC_BINARY=path deploy/install.sh use an already built binary
#   DESTDIR=/tmp/root deploy/install.sh    install into a scratch root: no user, no systemctl (for tests)
#
# An existing (edited) /etc/hallsync/hallsync.yaml, catalogue or calendar is never overwritten;
# the shipped version is put next to it as *.dist.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${DESTDIR:-}"
binary="${HALLSYNC_BINARY:-}"
if [ -z "$binary" ]; then
    # --static-swift-stdlib: the service needs no Swift runtime installed, only libcurl and libsqlite3.
    swift build -c release --product hallsync --static-swift-stdlib
    binary=.build/release/hallsync
fi

install -D -m 0755 "$binary" "$root/usr/local/bin/hallsync"
install -d -m 0750 "$root/etc/hallsync"
for file in hallsync.yaml matters.csv working-calendar.txt; do
    if [ -e "$root/etc/hallsync/$file" ]; then
        if ! cmp -s "Config/$file" "$root/etc/hallsync/$file"; then
            install -m 0640 "Config/$file" "$root/etc/hallsync/$file.dist"
            echo "kept your /etc/hallsync/$file; the shipped one is /etc/hallsync/$file.dist"
        fi
    else
        install -m 0640 "Config/$file" "$root/etc/hallsync/$file"
    fi
done
install -D -m 0644 README.md "$root/usr/local/share/doc/hallsync/README.md"
# The units, pointing at this install's binary: the daemon and the summary web page.
install -d "$root/etc/systemd/system"
for unit in hallsync.service hallsync-web.service; do
    sed 's|/usr/bin/hallsync|/usr/local/bin/hallsync|' "systemd/$unit" > "$root/etc/systemd/system/$unit"
    chmod 0644 "$root/etc/systemd/system/$unit"
done

if [ -n "$root" ]; then
    echo "installed into $root (no user created, systemd not touched)"
    exit 0
fi
id hallsync >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /var/lib/hallsync --shell /usr/sbin/nologin hallsync
# The web page's own user, in the group that reads the daemon's database and configuration.
id hallsync-web >/dev/null 2>&1 || useradd --system --gid hallsync --no-create-home --home-dir /var/lib/hallsync-web --shell /usr/sbin/nologin hallsync-web
chgrp -R hallsync /etc/hallsync
systemctl daemon-reload
systemctl enable hallsync.service
cat <<'NEXT'
installed. Next:
  1. put the portal app secret and the two hall tokens in /etc/hallsync/portal-secret,
     /etc/hallsync/intake-token, /etc/hallsync/licensing-token (one line each; chmod 0600, owner root:
     systemd hands them to the service as credentials)
  2. edit /etc/hallsync/hallsync.yaml (URLs, appId, regionCode)
  3. hallsync check-config && systemctl start hallsync && hallsync status
  4. the summary page: systemctl enable --now hallsync-web, then accounts with
     hallsync user add NAME --department CODE --role staff   (or --region CODE --role admin)
NEXT
