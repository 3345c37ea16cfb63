#!/usr/bin/env bash
# Builds a release binary and installs hallsync as a systemd service.
# Keeps an existing /etc/hallsync/hallsync.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product hallsync
install -m 0755 .build/release/hallsync /usr/local/bin/hallsync
id hallsync >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin hallsync
install -d -m 0750 -o root -g hallsync /etc/hallsync
[ -e /etc/hallsync/hallsync.yaml ] || install -m 0640 -g hallsync Config/hallsync.yaml /etc/hallsync/hallsync.yaml
[ -e /etc/hallsync/matters.csv ] || install -m 0640 -g hallsync Config/matters.csv /etc/hallsync/matters.csv
install -m 0644 systemd/hallsync.service /etc/systemd/system/hallsync.service
systemctl daemon-reload
systemctl enable hallsync.service
echo "installed; put the portal secret and hall tokens in /etc/hallsync, then: systemctl start hallsync"
