package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/wallet"
)

// startHub runs a real hub (real ledger node, real HTTP) on a free port.
func startHub(t *testing.T) (*hub.Hub, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := hub.Init(hub.Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(hub.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, "http://" + h.Addr()
}

// cliLogin logs key in to the hub at url as the CLI does, into a fresh
// $CAMCHAIN_HOME.
func cliLogin(t *testing.T, url string, key *keys.PrivateKey) {
	t.Helper()
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	c, _ := api.NewClient(url)
	if _, _, err := sessionLogin(context.Background(), c, key); err != nil {
		t.Fatalf("login: %v", err)
	}
}

// testWallet is a keystore directory with a passphrase file.
type testWallet struct {
	key      *keys.PrivateKey
	dir      string
	passFile string
}

func newTestWallet(t *testing.T, name string) testWallet {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(t.TempDir(), name)
	w := testWallet{key: k, dir: filepath.Join(base, "keystore"), passFile: filepath.Join(base, "pass")}
	if err := os.MkdirAll(base, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.passFile, []byte("correct horse "+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := wallet.NewKeystore(w.dir, wallet.LightScrypt).Save(k, "correct horse "+name); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w testWallet) flags() []string {
	return []string{"--keystore", w.dir, "--passphrase-file", w.passFile}
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(args ...string) result {
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (r result) must(t *testing.T, code int, stderrHas string) result {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, stderrHas) {
		t.Fatalf("exit %d (want %d), stderr %q (want %q); stdout %q", r.code, code, r.stderr, stderrHas, r.stdout)
	}
	return r
}

// imprint pairs a fresh camera with the wallet's key directly through the
// API (the pairing flow itself belongs to the camera agent).
func imprint(t *testing.T, url string, h *hub.Hub, owner testWallet) *keys.PrivateKey {
	t.Helper()
	cam, _ := keys.Generate()
	c, _ := api.NewClient(url)
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signed, err := tx.Sign(st.EVMChainID, &tx.Imprint{Camera: cam.Address(), Owner: owner.key.Address(), Hub: h.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner.key, cam)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := signed.Encode()
	if _, err := c.Submit(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	return cam
}

func deviceJSON(t *testing.T, url string, cam keys.Address) api.Device {
	t.Helper()
	r := runCLI("device", "show", cam.Hex(), "--hub", url, "--json").must(t, 0, "")
	var d api.Device
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("device show --json: %v\n%s", err, r.stdout)
	}
	return d
}

func TestLedgerCommandsAgainstARealHub(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	h, url := startHub(t)
	owner, stranger, viewer, buyer := newTestWallet(t, "owner"), newTestWallet(t, "stranger"), newTestWallet(t, "viewer"), newTestWallet(t, "buyer")
	cam := imprint(t, url, h, owner)
	camHex := cam.Address().Hex()
	hubFlag := []string{"--hub", url}
	args := func(w testWallet, a ...string) []string { return append(append(a, hubFlag...), w.flags()...) }

	// Reads need a login.
	runCLI("device", "show", camHex, "--hub", url).must(t, 1, "not logged in")
	r := runCLI(args(owner, "login")...).must(t, 0, "")
	if !strings.Contains(r.stdout, "logged in to "+url+" as "+owner.key.Address().Hex()) || !strings.Contains(r.stdout, "enrolled as a new client") {
		t.Fatalf("login output:\n%s", r.stdout)
	}
	r = runCLI("device", "show", camHex, "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, owner.key.Address().Hex()) || !strings.Contains(r.stdout, h.Address().Hex()) {
		t.Fatalf("device show lacks owner or hub:\n%s", r.stdout)
	}
	r = runCLI(args(owner, "device", "list")...).must(t, 0, "")
	if !strings.Contains(r.stdout, camHex) {
		t.Fatalf("device list (wallet's own) lacks the camera:\n%s", r.stdout)
	}

	// Grant: the owner can, a stranger cannot (the hub shows it only that
	// the camera is owned; the ledger refuses).
	runCLI(args(stranger, "grant", "--camera", camHex, "--viewer", viewer.key.Address().Hex())...).must(t, 1, "unauthorized")
	r = runCLI(args(owner, "grant", "--camera", camHex, "--viewer", viewer.key.Address().Hex(), "--until", "7d", "--history-from", "2026-01-01T00:00:00Z")...).must(t, 0, "")
	if !strings.Contains(r.stdout, "Grant committed at height") {
		t.Fatalf("grant output: %q", r.stdout)
	}
	d := deviceJSON(t, url, cam.Address())
	if len(d.Grants) != 1 || d.Grants[0].Viewer != viewer.key.Address().Hex() || !d.Grants[0].Active ||
		d.Grants[0].HistoryFrom != "2026-01-01T00:00:00Z" || d.Grants[0].ValidUntil == "" {
		t.Fatalf("grants after grant: %+v", d.Grants)
	}
	runCLI(args(owner, "grant", "--camera", camHex, "--viewer", "0xnotanaddress")...).must(t, 2, "--viewer")

	// Revoke, twice.
	runCLI(args(owner, "revoke", "--camera", camHex, "--viewer", viewer.key.Address().Hex())...).must(t, 0, "")
	runCLI(args(owner, "revoke", "--camera", camHex, "--viewer", viewer.key.Address().Hex())...).must(t, 1, "not_found")
	if d := deviceJSON(t, url, cam.Address()); len(d.Grants) != 0 {
		t.Fatalf("grant survived revoke: %+v", d.Grants)
	}

	// Policy.
	runCLI(args(owner, "policy", "--camera", camHex, "--period", "30s")...).must(t, 2, "between")
	runCLI(args(stranger, "policy", "--camera", camHex, "--period", "1h")...).must(t, 1, "unauthorized")
	runCLI(args(owner, "policy", "--camera", camHex, "--period", "1h")...).must(t, 0, "")
	if d := deviceJSON(t, url, cam.Address()); d.CheckpointPeriod != 3600 {
		t.Fatalf("period = %d, want 3600", d.CheckpointPeriod)
	}

	// Retention of the hub's copy: the owner's, on the ledger.
	runCLI(args(owner, "retention", "--camera", camHex, "--days", "0")...).must(t, 2, "from 1 to 3650")
	runCLI(args(owner, "retention", "--camera", camHex)...).must(t, 2, "--days is required")
	runCLI(args(stranger, "retention", "--camera", camHex, "--days", "7")...).must(t, 1, "unauthorized")
	runCLI(args(owner, "retention", "--camera", camHex, "--days", "7")...).must(t, 0, "")
	if p, err := h.Node().App.RetentionNow(cam.Address(), 0); err != nil || p == nil || p.Days != 7 {
		t.Fatalf("retention on the ledger after camchain retention: %+v, %v", p, err)
	}

	// End-to-end encryption: the owner's, on the ledger, off until set.
	runCLI(args(owner, "encryption", "--camera", camHex)...).must(t, 2, "--on or --off")
	runCLI(args(owner, "encryption", "--camera", camHex, "--on", "--off")...).must(t, 2, "--on or --off")
	runCLI(args(stranger, "encryption", "--camera", camHex, "--on")...).must(t, 1, "unauthorized")
	if p, err := h.Node().App.EncryptionNow(cam.Address(), 0); err != nil || p != nil {
		t.Fatalf("an encryption policy before camchain encryption: %+v, %v", p, err)
	}
	runCLI(args(owner, "encryption", "--camera", camHex, "--on")...).must(t, 0, "")
	if p, err := h.Node().App.EncryptionNow(cam.Address(), 0); err != nil || p == nil || !p.On {
		t.Fatalf("encryption on the ledger after camchain encryption --on: %+v, %v", p, err)
	}

	// A legal hold: the owner's, on the ledger, released by its number.
	runCLI(args(owner, "hold", "--camera", camHex, "--from", "2026-05-01T12:00:00Z")...).must(t, 2, "--until are required")
	runCLI(args(owner, "hold", "--camera", camHex, "--from", "2026-05-01T13:00:00Z", "--until", "2026-05-01T12:00:00Z")...).must(t, 2, "before --until")
	runCLI(args(owner, "hold", "--camera", camHex, "--release", "1", "--from", "2026-05-01T12:00:00Z")...).must(t, 2, "names only the hold")
	runCLI(args(stranger, "hold", "--camera", camHex, "--from", "2026-05-01T12:00:00Z", "--until", "2026-05-01T13:00:00.5Z")...).must(t, 1, "unauthorized")
	runCLI(args(owner, "hold", "--camera", camHex, "--from", "2026-05-01T12:00:00Z", "--until", "2026-05-01T13:00:00.5Z")...).must(t, 0, "")
	runCLI(args(owner, "hold", "--camera", camHex, "--release", "2")...).must(t, 1, "no legal hold 2")
	if hs, err := h.Node().App.Holds(cam.Address(), 0); err != nil || len(hs) != 1 || hs[0].From != 1777636800 || hs[0].Until != 1777640401 || !hs[0].Active() {
		t.Fatalf("holds on the ledger after camchain hold: %+v, %v", hs, err)
	}
	runCLI(args(owner, "hold", "--camera", camHex, "--release", "1")...).must(t, 0, "")
	if hs, _ := h.Node().App.Holds(cam.Address(), 0); len(hs) != 1 || hs[0].Active() {
		t.Fatalf("hold 1 after its release: %+v", hs)
	}

	// A wrong passphrase signs nothing.
	bad := owner
	bad.passFile = stranger.passFile
	runCLI(args(bad, "policy", "--camera", camHex, "--period", "2h")...).must(t, 1, "wrong passphrase")

	// Audit: the owner sees their history, newest first.
	r = runCLI(args(owner, "audit", "--json")...).must(t, 0, "")
	var l api.List[api.Event]
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range l.Items {
		if e.Kind == "hub/client-enrolled" {
			continue // the hub's record of this machine's login
		}
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "legal-hold,legal-hold,encryption,retention,policy,revoke,grant,imprint" {
		t.Fatalf("audit kinds = %v", kinds)
	}
	r = runCLI("audit", "--camera", camHex, "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "imprint") || !strings.Contains(r.stdout, "policy") {
		t.Fatalf("audit --camera:\n%s", r.stdout)
	}

	// Transfer needs confirmation; then the buyer owns it and the seller has no power.
	runCLI(args(owner, "transfer", "--camera", camHex, "--to", buyer.key.Address().Hex())...).must(t, 2, "--yes")
	runCLI(args(owner, "transfer", "--camera", camHex, "--to", buyer.key.Address().Hex(), "--yes")...).must(t, 0, "")
	// The seller's session loses the camera on the very next request: it
	// sees only that the camera is owned.
	r = runCLI("device", "show", camHex, "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "another address") || strings.Contains(r.stdout, buyer.key.Address().Hex()) {
		t.Fatalf("the seller's view after the transfer:\n%s", r.stdout)
	}
	runCLI(args(buyer, "login")...).must(t, 0, "")
	if d := deviceJSON(t, url, cam.Address()); d.Owner != buyer.key.Address().Hex() {
		t.Fatalf("owner after transfer = %s", d.Owner)
	}
	runCLI(args(owner, "release", "--camera", camHex, "--yes")...).must(t, 1, "unauthorized")
	runCLI(args(buyer, "release", "--camera", camHex, "--yes")...).must(t, 0, "")
	if d := deviceJSON(t, url, cam.Address()); d.Owned || d.Epoch != 1 || d.Hub != "" {
		t.Fatalf("after release: %+v", d)
	}

	// Errors that say what to do.
	runCLI("device", "show", "0x000000000000000000000000000000000000dEaD", "--hub", url).must(t, 1, "never imprinted")
	runCLI("device", "show", camHex, "--hub", "http://127.0.0.1:1").must(t, 1, "not logged in to http://127.0.0.1:1")
	runCLI(append([]string{"login", "--hub", "http://127.0.0.1:1"}, owner.flags()...)...).must(t, 1, "cannot reach the hub")

	// The session file is the user's alone; logout drops its secrets.
	p, err := sessionPath(url)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file %s: %v, %v (want mode 0600)", p, fi, err)
	}
	runCLI("logout", "--hub", url).must(t, 0, "")
	if b, _ := os.ReadFile(p); strings.Contains(string(b), "access_token") || strings.Contains(string(b), "renewal") {
		t.Fatalf("logout left secrets:\n%s", b)
	}
	runCLI("device", "show", camHex, "--hub", url).must(t, 1, "not logged in")
}
