#!/bin/sh
# camchaind: its own system user, its data directory (mode 0700, kept across
# upgrades and removal), and the service enabled and started when systemd runs.
set -e
if [ "$1" = configure ]; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers /usr/lib/sysusers.d/camchaind.conf
	elif ! getent passwd camchaind >/dev/null; then
		adduser --system --group --home /var/lib/camchaind --no-create-home camchaind
	fi
	install -d -m 0700 -o camchaind -g camchaind /var/lib/camchaind
	if command -v systemctl >/dev/null 2>&1; then
		systemctl enable camchaind.service >/dev/null 2>&1 || true
		if [ -d /run/systemd/system ]; then
			systemctl daemon-reload
			systemctl restart camchaind.service
		fi
	fi
fi
exit 0
