#!/bin/sh
# On purge, disable camchain-agent. Its data in /var/lib/camchain-agent (keys, chain,
# recordings) and its user are kept: deleting evidence is the owner's
# decision (rm -rf /var/lib/camchain-agent), never a package's.
set -e
if [ "$1" = purge ] && command -v systemctl >/dev/null 2>&1; then
	systemctl disable camchain-agent.service >/dev/null 2>&1 || true
	if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
exit 0
