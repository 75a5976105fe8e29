package cli

import (
	"strings"
	"testing"
)

// TestClientsApprovalPolicy: three machines of one owner and a viewer. The
// owner sets the approval policy; a new machine is pending until an
// enrolled one approves it; the override lets a third in and revokes the
// others; a viewer cannot set a policy.
func TestClientsApprovalPolicy(t *testing.T) {
	h, url := startHub(t)
	owner, viewer := newTestWallet(t, "owner"), newTestWallet(t, "viewer")
	imprint(t, url, h, owner)
	machine := func() string { d := t.TempDir(); return d }
	m1, m2, m3, mv := machine(), machine(), machine(), machine()
	on := func(home string, args ...string) result {
		t.Setenv("CAMCHAIN_HOME", home)
		return runCLI(args...)
	}
	on(m1, append([]string{"login", "--hub", url}, owner.flags()...)...).must(t, 0, "")
	on(mv, append([]string{"clients", "policy", "--approval", "required", "--hub", url}, viewer.flags()...)...).must(t, 1, "unauthorized")
	on(m1, append([]string{"clients", "policy", "--approval", "sometimes", "--hub", url}, owner.flags()...)...).must(t, 2, "")
	if r := on(m1, append([]string{"clients", "policy", "--approval", "required", "--hub", url}, owner.flags()...)...).must(t, 0, ""); !strings.Contains(r.stdout, "LoginPolicy committed") {
		t.Fatalf("policy: %s", r.stdout)
	}

	on(m2, append([]string{"login", "--hub", url}, owner.flags()...)...).must(t, 1, "pending approval")
	t.Setenv("CAMCHAIN_HOME", m2)
	s2, err := loadSession(url)
	if err != nil || s2 == nil || s2.Client == "" {
		t.Fatalf("pending machine's session: %+v, %v", s2, err)
	}
	on(m2, "clients", "list", "--hub", url).must(t, 1, "pending approval")
	on(m2, "clients", "approve", s2.Client, "--hub", url).must(t, 1, "pending approval")
	r := on(m1, "clients", "list", "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, s2.Client) || !strings.Contains(r.stdout, "pending approval") {
		t.Fatalf("the enrolled machine does not see the pending one:\n%s", r.stdout)
	}
	if r := on(m1, "clients", "approve", s2.Client, "--hub", url).must(t, 0, ""); !strings.Contains(r.stdout, "approved") {
		t.Fatalf("approve: %s", r.stdout)
	}
	on(m2, "clients", "list", "--hub", url).must(t, 0, "")

	on(m3, append([]string{"login", "--hub", url, "--override"}, owner.flags()...)...).must(t, 0, "")
	on(m1, "clients", "list", "--hub", url).must(t, 1, "revoked")
	on(m2, "clients", "list", "--hub", url).must(t, 1, "revoked")
	r = on(m3, "clients", "list", "--hub", url).must(t, 0, "")
	if !strings.Contains(r.stdout, "override") {
		t.Fatalf("the override is not shown:\n%s", r.stdout)
	}
}
