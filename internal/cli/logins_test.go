package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/hub"
)

// TestLoginsVerify: the CLI proves this machine's login is on the ledger
// once its batch is committed, and not before; an unknown record is not
// found.
func TestLoginsVerify(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := hub.Init(hub.Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(hub.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0", LoginInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	url := "http://" + h.Addr()
	owner := newTestWallet(t, "owner")
	runCLI(append([]string{"login", "--hub", url}, owner.flags()...)...).must(t, 0, "")
	runCLI("logins", "verify", "--hub", url).must(t, 1, "current interval")
	var r result
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		if r = runCLI("logins", "verify", "--hub", url, "--hub-address", h.Address().Hex()); r.code == 0 {
			break
		}
	}
	r.must(t, 0, "")
	if !strings.Contains(r.stdout, "verified: login record") || !strings.Contains(r.stdout, "enroll of client") {
		t.Fatalf("logins verify:\n%s", r.stdout)
	}
	runCLI("logins", "verify", "0x"+strings.Repeat("ab", 32), "--hub", url).must(t, 1, "no login record")
	runCLI("logins", "verify", "--hub", url, "--hub-address", "0x"+strings.Repeat("12", 20)).must(t, 1, "not 0x1212")
}
