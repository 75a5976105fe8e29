#!/bin/sh
# camchain-agent: its own system user, its data directory (mode 0700, kept across
# upgrades and removal), and the service enabled and started when systemd runs.
set -e
if [ "$1" = configure ]; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers /usr/lib/sysusers.d/camchain-agent.conf
	elif ! getent passwd camchain-agent >/dev/null; then
		adduser --system --group --home /var/lib/camchain-agent --no-create-home camchain-agent
	fi
	install -d -m 0700 -o camchain-agent -g camchain-agent /var/lib/camchain-agent
	if command -v systemctl >/dev/null 2>&1; then
		systemctl enable camchain-agent.service >/dev/null 2>&1 || true
		if [ -d /run/systemd/system ]; then
			systemctl daemon-reload
			systemctl restart camchain-agent.service
		fi
	fi
fi
exit 0
