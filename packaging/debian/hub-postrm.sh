#!/bin/sh
# On purge, disable camchaind. Its data in /var/lib/camchaind (keys, chain,
# recordings) and its user are kept: deleting evidence is the owner's
# decision (rm -rf /var/lib/camchaind), never a package's.
set -e
if [ "$1" = purge ] && command -v systemctl >/dev/null 2>&1; then
	systemctl disable camchaind.service >/dev/null 2>&1 || true
	if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
exit 0
