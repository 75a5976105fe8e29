package cli

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestLoginCloneAndClients copies a logged-in machine's session, as a thief
// with a copy of ~/.camchain would: once the original renews, the copy is
// refused as a clone, the owner sees the attempt, and revoking the client
// ends the original's session too.
func TestLoginCloneAndClients(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	_, url := startHub(t)
	owner := newTestWallet(t, "owner")
	runCLI(append([]string{"login", "--hub", url}, owner.flags()...)...).must(t, 0, "")
	p, err := sessionPath(url)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// expire makes the saved token look spent, so the next command renews.
	expire := func() {
		t.Helper()
		s, err := loadSession(url)
		if err != nil || s == nil {
			t.Fatalf("session: %v", err)
		}
		s.Expires = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		if err := saveSession(s); err != nil {
			t.Fatal(err)
		}
	}
	expire()
	r := runCLI("clients", "list", "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "(this machine)") {
		t.Fatalf("clients list after a renewal:\n%s", r.stdout)
	}
	// The copy renews second: refused, and says what happened.
	original, _ := os.ReadFile(p)
	if err := os.WriteFile(p, copied, 0o600); err != nil {
		t.Fatal(err)
	}
	expire()
	runCLI("clients", "list", "--hub", url).must(t, 1, "copy is in use")
	// The original carries on and sees the refused attempt.
	if err := os.WriteFile(p, original, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI("clients", "list", "--hub", url, "--json").must(t, 0, "")
	if !strings.Contains(r.stdout, `"clone_attempts": 1`) {
		t.Fatalf("the clone attempt is not visible to the owner:\n%s", r.stdout)
	}
	s, _ := loadSession(url)
	runCLI("clients", "revoke", s.Client, "--hub", url).must(t, 0, "")
	runCLI("clients", "list", "--hub", url).must(t, 1, "revoked")
	// Logging in again with the wallet enrols a new client.
	runCLI(append([]string{"login", "--hub", url}, owner.flags()...)...).must(t, 1, "revoked")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	r = runCLI(append([]string{"login", "--hub", url}, owner.flags()...)...).must(t, 0, "")
	if !strings.Contains(r.stdout, "enrolled as a new client") {
		t.Fatalf("login after revoking: %s", r.stdout)
	}
}
