#!/bin/sh
# Stop camchaind before its files go (remove) or are replaced (upgrade).
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl stop camchaind.service || true
fi
exit 0
