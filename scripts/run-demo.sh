#!/usr/bin/env bash
# `make run`: a hub with its own single-validator ledger, and a camera agent
# on the built-in sample clip, paired with a demo wallet — all on embedded
# defaults, on this machine. Ctrl-C stops both; state stays in $RUN_DIR.
set -euo pipefail
RUN_DIR=${RUN_DIR:-.camchain-run}
BIN=${BIN:-bin}
HTTP=${HTTP:-127.0.0.1:8080}
LINK=${LINK:-127.0.0.1:8443}
HUB="http://$HTTP"
mkdir -p "$RUN_DIR"
# The CLI's login sessions (token, login-chain head) for this demo stay in
# the run directory, not in ~/.camchain.
export CAMCHAIN_HOME="$RUN_DIR/home"

port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 200); do port_open "$1" && return 0; sleep 0.1; done
  echo "run-demo: $2 did not come up; see $RUN_DIR/$3" >&2; exit 1
}
if port_open "$HTTP"; then
  echo "run-demo: something already listens on $HTTP (another camchaind?). Stop it first." >&2; exit 1
fi

[ -f "$RUN_DIR/hub/FORMAT" ] || "$BIN/camchaind" init --data "$RUN_DIR/hub"
"$BIN/camchaind" run --data "$RUN_DIR/hub" --http "$HTTP" --link "$LINK" >"$RUN_DIR/hub.log" 2>&1 &
hub=$!
agent=
cleanup() { kill $agent $hub 2>/dev/null || true; wait 2>/dev/null || true; echo; echo "stopped; data kept in $RUN_DIR/ (make clean removes it)"; }
trap cleanup EXIT
trap 'exit 0' INT TERM
wait_port "$HTTP" "the hub" hub.log

"$BIN/camchain-agent" run --data "$RUN_DIR/camera" >"$RUN_DIR/camera.log" 2>&1 &
agent=$!

WALLET=(--keystore "$RUN_DIR/wallet" --passphrase-file "$RUN_DIR/wallet.passphrase")
if [ ! -f "$RUN_DIR/wallet.passphrase" ]; then
  head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RUN_DIR/wallet.passphrase"
  chmod 600 "$RUN_DIR/wallet.passphrase"
  echo "== A demo wallet for this run (a real one keeps its passphrase in your head, not in a file):"
  "$BIN/camchain" wallet new "${WALLET[@]}"
fi

for _ in $(seq 1 100); do
  status=$("$BIN/camchain-agent" status --data "$RUN_DIR/camera" 2>/dev/null || true)
  [ -n "$status" ] && break
  sleep 0.1
done
camera=$(printf '%s\n' "$status" | sed -n 's/.*"camera": "\(0x[0-9a-fA-F]*\)".*/\1/p')
if printf '%s\n' "$status" | grep -q '"paired": false'; then
  # The owner confirms the hub's identity before pairing: here with the
  # address, chain and pin this script's own hub printed on its console
  # (on a terminal without them, `camchain pair` shows them and asks).
  for _ in $(seq 1 100); do grep -q '^  pin: ' "$RUN_DIR/hub.log" && break; sleep 0.1; done
  hub_address=$(sed -n 's/^camchaind: hub \(0x[0-9a-fA-F]*\) ready$/\1/p' "$RUN_DIR/hub.log" | tail -n 1)
  hub_chain=$(sed -n 's/^  chain: \(.*\)$/\1/p' "$RUN_DIR/hub.log" | tail -n 1)
  hub_pin=$(sed -n 's/^  pin: *\([0-9a-f]*\) .*/\1/p' "$RUN_DIR/hub.log" | tail -n 1)
  echo "== The camera shows a one-time pairing code (see $RUN_DIR/camera.log); pairing with it:"
  "$BIN/camchain" pair "$(cat "$RUN_DIR/camera/pairing-code.txt")" --hub "$HUB" "${WALLET[@]}" \
    --hub-address "$hub_address" --chain-id "$hub_chain" --hub-pin "$hub_pin"
fi
# Pairing signs the camera's encryption policy with the imprint: on by
# default (camchain pair --no-encryption opts out), so the camera seals its
# video from its first segment to the demo wallet's viewing key.
for _ in $(seq 1 50); do
  e2ee=$("$BIN/camchain-agent" status --data "$RUN_DIR/camera" 2>/dev/null | sed -n 's/.*"e2ee": "\([^"]*\)".*/\1/p')
  [ -n "$e2ee" ] && break
  sleep 0.1
done
echo "== The camera's end-to-end encryption: ${e2ee:-unknown}"
echo "== Logging in to the hub with the demo wallet (Sign-In with Ethereum):"
"$BIN/camchain" login --hub "$HUB" "${WALLET[@]}"

cat <<MSG

camchain is running.
  hub API     $HUB/api/v1/status
  camera      $camera: recording the sample clip into $RUN_DIR/camera, uploading to the hub over the link ($LINK)
  encryption  ${e2ee:-unknown} (end-to-end: the hub holds only ciphertext; the browser player and camchain watch/export decrypt with the wallet)
  logs        $RUN_DIR/hub.log, $RUN_DIR/camera.log

The web UI: open $HUB/ in a browser, then sign in either way:
  - with a browser wallet (MetaMask, Rabby…): import the demo wallet's key file
    $(ls "$RUN_DIR"/wallet/UTC--* 2>/dev/null | head -n 1)
    (MetaMask: Add account → Import account → JSON file; its password is in $RUN_DIR/wallet.passphrase),
    then click "Sign in with your wallet";
  - without one: click "Get a sign-in code" and approve the code the page shows with
    CAMCHAIN_HOME=$RUN_DIR/home $BIN/camchain login --approve XXXX-XXXX --hub $HUB ${WALLET[*]}

Every read of the hub needs a login (the demo wallet is logged in above). In another terminal:
  export CAMCHAIN_HOME=$RUN_DIR/home                      # where this demo keeps its login session
  $BIN/camchain login ${WALLET[*]} --hub $HUB   # log in again (the token renews itself; this re-signs)
  $BIN/camchain device show $camera --hub $HUB
  $BIN/camchain clients list --hub $HUB                   # the machines logged in as you
  curl -s $HUB/api/v1/status                              # public; the rest of the API wants a token
  $BIN/camchain-agent status --data $RUN_DIR/camera
  $BIN/camchain audit ${WALLET[*]} --hub $HUB
  $BIN/camchain policy --camera $camera --period 1m ${WALLET[*]} --hub $HUB   # checkpoint every minute
  $BIN/camchain verify $RUN_DIR/camera/store --hub $HUB  # every clip on the "SD card" against the ledger (sealed: no key needed)
  $BIN/camchain watch --camera $camera --segments 3 --out watched.mp4 ${WALLET[*]} --hub $HUB  # verified, decrypted here
  $BIN/camchain-agent reset --data $RUN_DIR/camera      # the camera's reset button
Ctrl-C stops the hub and the camera.
MSG
wait $hub
