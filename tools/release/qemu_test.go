package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The release's arm64 and mipsle (softfloat) agents, run under Debian's
// qemu-user-static as on a Raspberry Pi and on an Ingenic camera, pair
// with a hub (the release's amd64 camchaind) and stream the sample clip to
// it; the native amd64 agent streams beside them in the same run as the
// baseline. Their CPU and resident memory over the same window are logged
// (under qemu they include the emulator's own cost: an upper bound of
// what the real boards spend).
func TestAgentsUnderQemu(t *testing.T) {
	for _, q := range []string{"qemu-aarch64-static", "qemu-mipsel-static"} {
		if _, err := exec.LookPath(q); err != nil {
			t.Fatalf("%s is missing: install Debian's qemu-user-static (.ci/run does)", q)
		}
	}
	dist := testDist(t)
	bin := func(target, prog string) string { return filepath.Join(dist, "bin", target, prog) }
	base := t.TempDir()
	home := filepath.Join(base, "home")
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin("linux-amd64", "camchain"), args...)
		cmd.Env = append(os.Environ(), "CAMCHAIN_HOME="+home)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("camchain %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	hubData := filepath.Join(base, "hub")
	run(t, bin("linux-amd64", "camchaind"), "init", "--data", hubData)
	hub := start(t, "camchaind", "pair a camera:", 2*time.Minute, bin("linux-amd64", "camchaind"), "run", "--data", hubData,
		"--http", "127.0.0.1:0", "--link", "127.0.0.1:0", "--log-level", "warn")
	hubURL := strings.TrimSuffix(strings.Fields(hub.line(t, "API:"))[0], "/api/v1/status")

	pass := filepath.Join(base, "pass")
	if err := os.WriteFile(pass, []byte("qemu test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wallet := []string{"--keystore", filepath.Join(base, "wallet"), "--passphrase-file", pass}
	cli(append([]string{"wallet", "new", "--light-kdf"}, wallet...)...)

	type agent struct {
		name string
		argv []string
		data string
		p    *proc
	}
	agents := []*agent{
		{name: "amd64 (native, baseline)", argv: []string{bin("linux-amd64", "camchain-agent")}},
		{name: "arm64 (qemu)", argv: []string{"qemu-aarch64-static", bin("linux-arm64", "camchain-agent")}},
		{name: "mipsle softfloat (qemu)", argv: []string{"qemu-mipsel-static", bin("linux-mipsle-softfloat", "camchain-agent")}},
	}
	for i, a := range agents {
		a.data = filepath.Join(base, fmt.Sprintf("agent%d", i))
		argv := append(append([]string{}, a.argv...), "run", "--data", a.data, "--max-backoff", "2s", "--log-level", "warn")
		a.p = start(t, "camchain-agent "+a.name, "Pair it with:", 3*time.Minute, argv...)
		code, err := os.ReadFile(filepath.Join(a.data, "pairing-code.txt"))
		if err != nil {
			t.Fatalf("%s: no pairing code: %v", a.name, err)
		}
		out := cli(append([]string{"pair", strings.TrimSpace(string(code)), "--hub", hubURL, "--yes"}, wallet...)...)
		if !strings.HasPrefix(out, "camera ") && !strings.Contains(out, "\ncamera ") {
			t.Fatalf("%s: pair printed %q", a.name, out)
		}
	}
	// Each streams: the hub acknowledges segments past the first.
	acked := func(a *agent) int64 {
		out, err := exec.Command(bin("linux-amd64", "camchain-agent"), "status", "--data", a.data).Output()
		if err != nil {
			return -1
		}
		var s struct {
			Acked string `json:"acked"`
		}
		if json.Unmarshal(out, &s) != nil {
			return -1
		}
		var n int64 = -1
		if strings.HasPrefix(s.Acked, "#") {
			fmt.Sscan(s.Acked[1:], &n)
		}
		return n
	}
	for _, a := range agents {
		waitFor(t, 3*time.Minute, a.name+" streaming (hub acknowledges segment #1)", func() bool { return acked(a) >= 1 })
	}
	// The window: the same 20 s for all three.
	const window = 20 * time.Second
	before := map[*agent]procUsage{}
	first := map[*agent]int64{}
	for _, a := range agents {
		u, err := usageOf(a.p.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		before[a], first[a] = u, acked(a)
	}
	time.Sleep(window)
	for _, a := range agents {
		u, err := usageOf(a.p.cmd.Process.Pid)
		if err != nil {
			t.Fatalf("%s: %v (did it exit?)\n%s", a.name, err, a.p.output())
		}
		n := acked(a) - first[a]
		// 2-second segments: about window/2 in the window. Fewer than a
		// third of that is an agent that cannot keep up.
		if n < int64(window/(2*time.Second))/3 {
			t.Errorf("%s: the hub acknowledged %d segments in %s; want about %d", a.name, n, window, window/(2*time.Second))
		}
		t.Logf("agent %-26s CPU %5.1f%% of one core, RSS %5.1f MB (peak %5.1f MB), %d segments acknowledged in %s",
			a.name, 100*float64(u.cpu-before[a].cpu)/float64(window), float64(u.rss)/1e6, float64(u.hwm)/1e6, n, window)
	}
}
