// Package e2e runs camchain's programs as real processes — camchaind,
// camchain-agent, camchain — on loopback with real TLS, and attacks them.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/testutil/freeport"
	cwallet "github.com/camchain/camchain/internal/wallet"
)

var binDir string

// e2eParallel is how many of the tests that call t.Parallel (those that
// mostly wait: for a checkpoint period, an outage, a validator vote) run at
// once when `go test` is not given -parallel: more than the default of one
// per core, since they wait far more than they compute and the sequential
// tests (browsers, floods, kills, timings) are done before they start.
const e2eParallel = 4

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := flag.Set("test.parallel", strconv.Itoa(e2eParallel)); err != nil {
			panic(err)
		}
	}
	dir, err := os.MkdirTemp("", "camchain-e2e-bin-")
	if err != nil {
		panic(err)
	}
	out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/camchain/camchain/cmd/...").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	binDir = dir
	// The CLI keeps its login sessions under CAMCHAIN_HOME: the tests'
	// own, never the user's.
	os.Setenv("CAMCHAIN_HOME", filepath.Join(dir, "home"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func bin(name string) string { return filepath.Join(binDir, name) }

func freeAddr(t *testing.T) string {
	t.Helper()
	return freeAddrOn(t, "127.0.0.1")
}

// freeAddrOn returns host with a port no one listens on, for a program
// the test starts to listen on (see freeport: below the ephemeral range,
// never the same twice in this test binary).
func freeAddrOn(t *testing.T, host string) string {
	t.Helper()
	return freeport.Addr(t, host)
}

// proc is a running program with its output captured.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs a program and waits until its stdout shows ready.
func start(t *testing.T, name, ready string, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, name, ready, args...)
}

// startEnv is start with env added to the test's environment.
func startEnv(t *testing.T, env []string, name, ready string, args ...string) *proc {
	t.Helper()
	return startWith(t, env, 30*time.Second, name, ready, args...)
}

// startWith is startEnv with a timeout for ready.
func startWith(t *testing.T, env []string, timeout time.Duration, name, ready string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin(name), args...), done: make(chan struct{})}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	pr, pw := io.Pipe()
	p.cmd.Stdout = io.MultiWriter(p, pw)
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), ready) {
				once = true
				close(seen)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { p.cmd.Wait(); pw.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- %s output:\n%s", name, p.output())
		}
	})
	select {
	case <-seen:
	case <-p.done:
		t.Fatalf("%s exited before %q:\n%s", name, ready, p.output())
	case <-time.After(timeout):
		t.Fatalf("%s not ready after %s:\n%s", name, timeout, p.output())
	}
	return p
}

// kill is kill -9.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

// hubProc is a camchaind with fixed ports, so it can be restarted in place.
type hubProc struct {
	*proc
	data, http, link string
	// reader is whom the test reads the hub as: the wallet that paired
	// last (reads need a login, and the ledger decides what it sees).
	reader *api.KeyCredentials
	// tlsPin, once set, is the fingerprint of the API's certificate: the
	// hub serves HTTPS and url carries the pin (docs/SPEC.md §11.10).
	tlsPin string
	// env is added to the hub's environment (an object store's
	// credentials).
	env []string
}

func (h *hubProc) url() string {
	if h.tlsPin != "" {
		return "https://" + h.http + "#sha256=" + h.tlsPin
	}
	return "http://" + h.http
}

func initHub(t *testing.T) *hubProc {
	t.Helper()
	h := &hubProc{data: filepath.Join(t.TempDir(), "hub"), http: freeAddr(t), link: freeAddr(t)}
	if out, err := exec.Command(bin("camchaind"), "init", "--data", h.data).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	return h
}

func (h *hubProc) run(t *testing.T, extra ...string) {
	t.Helper()
	args := append([]string{"run", "--data", h.data, "--http", h.http, "--link", h.link, "--log-level", "warn"}, extra...)
	h.proc = startEnv(t, h.env, "camchaind", "ready", args...)
}

func (h *hubProc) client(t *testing.T) *api.Client {
	c, err := api.NewClient(h.url())
	if err != nil {
		t.Fatal(err)
	}
	if h.reader != nil {
		c.WithCredentials(h.reader)
	}
	return c
}

// readAs makes the test read the hub as w from now on.
func (h *hubProc) readAs(t *testing.T, w wallet) {
	t.Helper()
	k, err := cwallet.NewKeystore(w.dir, cwallet.LightScrypt).Load("e2e passphrase")
	if err != nil {
		t.Fatal(err)
	}
	h.reader = &api.KeyCredentials{Key: k}
}

type agentProc struct {
	*proc
	data string
}

// runAgent runs the agent with a 2 s cap on its reconnect backoff, so that
// tests which stop and start hubs do not wait for the default 30 s.
func runAgent(t *testing.T, data string, extra ...string) *agentProc {
	t.Helper()
	return runAgentDefaults(t, data, append([]string{"--max-backoff", "2s"}, extra...)...)
}

// runAgentDefaults runs the agent with its default reconnect backoff.
func runAgentDefaults(t *testing.T, data string, extra ...string) *agentProc {
	t.Helper()
	args := append([]string{"run", "--data", data, "--log-level", "info"}, extra...)
	return &agentProc{proc: start(t, "camchain-agent", "camchain-agent: camera", args...), data: data}
}

// camchain runs the CLI and returns its exit code and output.
func camchain(args ...string) (int, string, string) { return camchainEnv(nil, args...) }

// camchainEnv is camchain with env added to the test's environment.
func camchainEnv(env []string, args ...string) (int, string, string) {
	cmd := exec.Command(bin("camchain"), args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return code, out.String(), errb.String()
}

type wallet struct{ dir, pass string }

func (w wallet) flags() []string { return []string{"--keystore", w.dir, "--passphrase-file", w.pass} }

func newWallet(t *testing.T) wallet {
	t.Helper()
	base := t.TempDir()
	w := wallet{dir: filepath.Join(base, "keystore"), pass: filepath.Join(base, "pass")}
	os.WriteFile(w.pass, []byte("e2e passphrase\n"), 0o600)
	if code, _, errs := camchain(append([]string{"wallet", "new", "--light-kdf"}, w.flags()...)...); code != 0 {
		t.Fatalf("wallet new: %s", errs)
	}
	return w
}

func pairingCode(t *testing.T, agentData string) string {
	t.Helper()
	var b []byte
	waitFor(t, 10*time.Second, "a pairing code", func() bool {
		var err error
		b, err = os.ReadFile(filepath.Join(agentData, "pairing-code.txt"))
		return err == nil && len(b) > 0
	})
	return strings.TrimSpace(string(b))
}

// pair pairs the agent's camera with the hub as w, with camchain pair's
// default — end-to-end encryption on from the imprint (docs/SPEC.md
// §17.4): the hub and the card then hold only sealed segments — and
// returns the camera.
func pair(t *testing.T, h *hubProc, a *agentProc, w wallet) string {
	t.Helper()
	return pairWith(t, h, a, w)
}

// pairClear pairs with end-to-end encryption off (camchain pair
// --no-encryption), for tests of something else that read the video
// itself: ffprobe or ffmpeg on the hub's or the card's segment files, frame
// counts, watch or the browser player without the owner's viewing key, the
// hub's H.265 transcoding. Each caller says which.
func pairClear(t *testing.T, h *hubProc, a *agentProc, w wallet) string {
	t.Helper()
	return pairWith(t, h, a, w, "--no-encryption")
}

func pairWith(t *testing.T, h *hubProc, a *agentProc, w wallet, extra ...string) string {
	t.Helper()
	args := append([]string{"pair", pairingCode(t, a.data), "--hub", h.url(), "--yes"}, extra...)
	code, out, errs := camchain(append(args, w.flags()...)...)
	if code != 0 {
		t.Fatalf("pair: exit %d: %s%s", code, out, errs)
	}
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != "camera" {
		t.Fatalf("pair output: %q", out)
	}
	h.readAs(t, w)
	return f[1]
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// agentStatus is `camchain-agent status`.
type agentStatus struct {
	Camera    string `json:"camera"`
	Epoch     uint64 `json:"epoch"`
	Paired    bool   `json:"paired"`
	Link      string `json:"link"`
	Recording string `json:"recording"`
	Head      string `json:"head"`
	Acked     string `json:"acked"`
	Alarms    int    `json:"alarms"`
	// The sub stream's own chain and session, when there is one.
	SubHead  string `json:"sub_head"`
	SubAcked string `json:"sub_acked"`
	SubLink  string `json:"sub_link"`
	// The recording sources (passwords redacted) and their states.
	Source    string            `json:"source"`
	SubSource string            `json:"sub_source"`
	Sources   map[string]string `json:"sources"`
}

func agentStatusOf(data string) (agentStatus, error) {
	out, err := exec.Command(bin("camchain-agent"), "status", "--data", data).Output()
	if err != nil {
		return agentStatus{}, err
	}
	var s agentStatus
	err = json.Unmarshal(out, &s)
	return s, err
}

// status is the running agent's status; not being able to ask fails the
// test (a check on the status must not pass because the agent is gone).
func (a *agentProc) status(t *testing.T) agentStatus {
	t.Helper()
	s, err := agentStatusOf(a.data)
	if err != nil {
		t.Fatalf("camchain-agent status: %v\n%s", err, a.output())
	}
	return s
}

// seqOf parses "#12 abcd…" into 12 (-1 for an empty chain).
func seqOf(h string) int64 {
	var n int64 = -1
	if strings.HasPrefix(h, "#") {
		fmt.Sscan(h[1:], &n)
	}
	return n
}

// hubHead is the sequence number of the newest record the hub holds for
// the camera in its current epoch, -1 if it holds none. An API error fails
// the test: "the hub holds nothing" must not pass because the hub is down.
func hubHead(t *testing.T, h *hubProc, camera string) int64 {
	t.Helper()
	r, err := h.client(t).Recordings(context.Background(), camera, -1, 0, 1)
	if err != nil {
		t.Fatalf("recordings of %s on the hub: %v", camera, err)
	}
	if r.Head == nil {
		return -1
	}
	return int64(*r.Head)
}

// auditKinds lists the camera's audit events the reader may see: all of
// them while it owns the camera, else those it took part in.
func auditKinds(t *testing.T, h *hubProc, camera string) []string {
	c := h.client(t)
	l, err := c.Audit(context.Background(), api.AuditQuery{Camera: camera, Limit: 200})
	if api.CodeOf(err) == api.ErrForbidden {
		l, err = c.Audit(context.Background(), api.AuditQuery{Principal: h.reader.Key.Address().Hex(), Limit: 200})
	}
	if err != nil {
		t.Fatal(err)
	}
	var k []string
	for _, e := range l.Items {
		if strings.EqualFold(e.Camera, camera) {
			k = append(k, e.Kind)
		}
	}
	return k
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
