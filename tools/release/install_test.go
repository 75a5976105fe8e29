package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The packages install with dpkg as root on this very machine (tests run
// as root here and in CI), their units pass systemd-analyze verify, the
// installed binaries print the release's version, and camchaind started
// the way its unit starts it — as its own user, on the packaged defaults,
// in its own data directory under /var/lib — makes a hub on its first
// start and says how to open the UI and pair a camera; the agent shows its
// pairing code. Removal and purge leave the data in place.
func TestDebInstall(t *testing.T) {
	if !isRoot() {
		t.Fatal("this test installs .deb packages with dpkg -i and must run as root (it does in CI); run it with sudo")
	}
	for _, tool := range []string{"dpkg", "systemd-analyze", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: install Debian's dpkg, systemd and util-linux (.ci/run does)", tool)
		}
	}
	dist := testDist(t)
	// One install at a time on this machine, and never over a real one.
	lock, err := os.OpenFile("/tmp/camchain-deb-test.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"camchain-hub", "camchain-agent"} {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output(); err == nil && strings.Contains(string(out), "installed") {
			t.Fatalf("%s is already installed on this machine (%s); the test will not replace a real installation", pkg, out)
		}
	}
	for _, d := range []string{"/var/lib/camchaind", "/var/lib/camchain-agent"} {
		if _, err := os.Stat(d); err == nil {
			t.Fatalf("%s exists: the test will not start a packaged service on data it did not make", d)
		}
	}
	t.Cleanup(func() {
		exec.Command("dpkg", "--purge", "camchain-hub", "camchain-agent").Run()
		// What purge keeps on purpose (data, users), the test removes:
		// it made them.
		os.RemoveAll("/var/lib/camchaind")
		os.RemoveAll("/var/lib/camchain-agent")
		exec.Command("userdel", "camchaind").Run()
		exec.Command("userdel", "camchain-agent").Run()
		exec.Command("groupdel", "camchaind").Run()
		exec.Command("groupdel", "camchain-agent").Run()
	})
	hubDeb := filepath.Join(dist, "camchain-hub_"+testVersion+"_amd64.deb")
	agentDeb := filepath.Join(dist, "camchain-agent_"+testVersion+"_amd64.deb")
	out := run(t, "dpkg", "-i", hubDeb, agentDeb)
	t.Logf("dpkg -i:\n%s", out)

	// Their own users, their data directories 0700 and theirs.
	for _, u := range []string{"camchaind", "camchain-agent"} {
		if _, err := exec.Command("id", "-u", u).Output(); err != nil {
			t.Fatalf("no user %s after install", u)
		}
		st, err := os.Stat("/var/lib/" + u)
		if err != nil {
			t.Fatalf("/var/lib/%s after install: %v", u, err)
		}
		uid := strings.TrimSpace(run(t, "id", "-u", u))
		if st.Mode().Perm() != 0o700 || fmt.Sprint(st.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Fatalf("/var/lib/%s: mode %v uid %d, want 0700 and %s's uid %s", u, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid, u, uid)
		}
	}

	// The units as installed pass systemd's own check, and keep their
	// hardening.
	units := []string{"/usr/lib/systemd/system/camchaind.service", "/usr/lib/systemd/system/camchain-agent.service"}
	if out, err := exec.Command("systemd-analyze", append([]string{"verify"}, units...)...).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"\nUser=camchain", "\nNoNewPrivileges=yes", "\nProtectSystem=strict", "\nProtectHome=yes", "\nRestart=on-failure", "\nStateDirectory=camchain", "\nCapabilityBoundingSet=\n"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", u, strings.TrimSpace(want))
			}
		}
		// systemd's own exposure score of the unit (0 safest, 10 least).
		if out, err := exec.Command("systemd-analyze", "security", "--offline=true", u).CombinedOutput(); err == nil {
			if m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`).FindStringSubmatch(string(out)); m != nil {
				t.Logf("systemd-analyze security %s: exposure %s %s", filepath.Base(u), m[1], m[2])
			}
		}
	}

	for _, b := range []string{"camchaind", "camchain", "camchain-agent"} {
		v := run(t, "/usr/bin/"+b, "--version")
		if !strings.Contains(v, b+" version "+testVersion+" (") {
			t.Fatalf("/usr/bin/%s --version: %q, want version %s", b, v, testVersion)
		}
	}

	// camchaind as its unit runs it. The packaged defaults listen on
	// 127.0.0.1:8080 and :8443; other tests share this machine, so the
	// test sets ports 0 in /etc/default/camchaind, as an owner would set
	// other addresses there.
	if err := os.WriteFile("/etc/default/camchaind", []byte("CAMCHAIND_OPTS=\"--http 127.0.0.1:0 --link 127.0.0.1:0\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hubArgv := unitCommand(t, units[0], "/etc/default/camchaind")
	hub := start(t, "camchaind (packaged)", "pair a camera:", 2*time.Minute, hubArgv...)
	if !strings.Contains(hub.output(), "first start: made a new hub in /var/lib/camchaind") {
		t.Fatalf("first start did not make the hub in /var/lib/camchaind:\n%s", hub.output())
	}
	ui := strings.Fields(hub.line(t, "UI:"))[0]
	if code, body := httpGet(t, ui); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("GET %s (the UI the first start names): %d %.200s", ui, code, body)
	}
	address := hub.line(t, "hub address:")
	if err := hub.stop(t); err != nil {
		t.Fatalf("camchaind on SIGTERM: %v", err)
	}
	// Its files belong to its user, none to root.
	if out, err := exec.Command("find", "/var/lib/camchaind", "!", "-user", "camchaind").Output(); err != nil || len(out) > 0 {
		t.Fatalf("files in /var/lib/camchaind not owned by camchaind: %s %v", out, err)
	}
	// A restart (Restart=on-failure, or the next boot) is the same hub.
	hub = start(t, "camchaind (restarted)", "pair a camera:", 2*time.Minute, hubArgv...)
	if strings.Contains(hub.output(), "first start") || !strings.Contains(hub.output(), "hub "+address+" ready") {
		t.Fatalf("restart is not hub %s:\n%s", address, hub.output())
	}
	hub.stop(t)

	agent := start(t, "camchain-agent (packaged)", "Pair it with:", 2*time.Minute, unitCommand(t, units[1], "/etc/default/camchain-agent")...)
	if _, err := os.Stat("/var/lib/camchain-agent/pairing-code.txt"); err != nil {
		t.Fatalf("the packaged agent wrote no pairing code: %v", err)
	}
	agent.stop(t)

	// Remove, then purge: the binaries go, the data stays.
	run(t, "dpkg", "--purge", "camchain-hub", "camchain-agent")
	if _, err := os.Stat("/usr/bin/camchaind"); err == nil {
		t.Fatal("/usr/bin/camchaind is still there after purge")
	}
	if _, err := os.Stat("/var/lib/camchaind/FORMAT"); err != nil {
		t.Fatalf("purge removed the hub's data: %v", err)
	}
}

// unitCommand is the unit's ExecStart as its User would run it: variables
// from its EnvironmentFile expanded, and setpriv in the place of systemd's
// User=/Group= and NoNewPrivileges=.
func unitCommand(t *testing.T, unit, envFile string) []string {
	t.Helper()
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	var user, exec string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "User="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			exec = v
		}
	}
	env := map[string]string{}
	if eb, err := os.ReadFile(envFile); err == nil {
		for _, l := range strings.Split(string(eb), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
				env[k] = strings.Trim(v, `"`)
			}
		}
	}
	var argv []string
	for _, f := range strings.Fields(exec) {
		if strings.HasPrefix(f, "$") {
			argv = append(argv, strings.Fields(env[f[1:]])...)
			continue
		}
		argv = append(argv, f)
	}
	if user == "" || len(argv) == 0 {
		t.Fatalf("%s: no User= or ExecStart=", unit)
	}
	return append([]string{"setpriv", "--reuid=" + user, "--regid=" + user, "--clear-groups", "--no-new-privs"}, argv...)
}
