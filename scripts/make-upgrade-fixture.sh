#!/usr/bin/env bash
# Writes the data directories of a previous release for the upgrade test
# (test/e2e/upgrade_test.go): a hub and a camera paired with a wallet, the
# camera having streamed a few segments to the hub, both stopped cleanly.
#   scripts/make-upgrade-fixture.sh BIN_DIR OUT_DIR
# BIN_DIR holds that release's camchaind, camchain-agent and camchain (its
# dist/bin/linux-amd64). OUT_DIR gets hub/, camera/, wallet/, VERSION, and
# is packed as test/e2e/testdata/upgrade-<version>.tar.gz by the caller.
set -euo pipefail
bin=$1; out=$2
rm -rf "$out"; mkdir -p "$out"
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http=127.0.0.1:$(free); link=127.0.0.1:$(free)
"$bin/camchaind" --version > "$out/VERSION"
export CAMCHAIN_HOME=$out/home
"$bin/camchaind" init --data "$out/hub" >/dev/null
"$bin/camchaind" run --data "$out/hub" --http "$http" --link "$link" --log-level warn > "$out/hub.log" 2>&1 &
hub=$!
trap 'kill $hub $agent 2>/dev/null || true' EXIT
until grep -q ready "$out/hub.log"; do sleep 0.2; done
printf 'upgrade fixture passphrase\n' > "$out/wallet.pass"
"$bin/camchain" wallet new --light-kdf --keystore "$out/wallet" --passphrase-file "$out/wallet.pass" >/dev/null
"$bin/camchain-agent" run --data "$out/camera" --log-level warn > "$out/agent.log" 2>&1 &
agent=$!
until [ -s "$out/camera/pairing-code.txt" ]; do sleep 0.2; done
"$bin/camchain" pair "$(cat "$out/camera/pairing-code.txt")" --hub "http://$http" --yes --keystore "$out/wallet" --passphrase-file "$out/wallet.pass"
# Stream until the hub has acknowledged segment #4.
until "$bin/camchain-agent" status --data "$out/camera" | grep -q '"acked": *"#[4-9]'; do sleep 0.5; done
kill -TERM $agent; wait $agent || true
kill -TERM $hub; wait $hub || true
rm -f "$out/camera/control.sock" "$out/hub.log" "$out/agent.log"
rm -rf "$out/home"
