#!/usr/bin/env bash
# Removes the hallsync service installed by deploy/install.sh (run as root).
#
#   deploy/uninstall.sh           stop, disable, remove binary and unit; keep /etc/hallsync and /var/lib/hallsync
#   deploy/uninstall.sh --purge   also remove the configuration, the state (database, status) and the user
#   DESTDIR=/tmp/root ...         work on a scratch root, without systemctl or userdel (for tests)
set -euo pipefail
purge=no
[ "${1:-}" = "--purge" ] && purge=yes
root="${DESTDIR:-}"
if [ -z "$root" ]; then
    systemctl disable --now hallsync-web.service hallsync.service 2>/dev/null || true
fi
rm -f "$root/etc/systemd/system/hallsync.service" "$root/etc/systemd/system/hallsync-web.service" "$root/usr/local/bin/hallsync"
rm -rf "$root/usr/local/share/doc/hallsync"
[ -z "$root" ] && systemctl daemon-reload
if [ "$purge" = yes ]; then
    rm -rf "$root/etc/hallsync" "$root/var/lib/hallsync" "$root/var/lib/hallsync-web"
    [ -z "$root" ] && { userdel hallsync-web 2>/dev/null || true; userdel hallsync 2>/dev/null || true; }
    echo "hallsync removed, with its configuration, state and user"
else
    echo "hallsync removed; kept /etc/hallsync and /var/lib/hallsync (use --purge to remove them)"
fi
