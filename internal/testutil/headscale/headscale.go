// Package headscale runs a real tailnet control server for tests and the
// bench: headscale v0.26.1 (tools/headscale, its own module, since it pins
// its own tailscale.com pre-release) with its embedded DERP relay, all on
// loopback, from a configuration this package writes.
//
// Everything stays on this machine: headscale's update check, its DERP map
// download and its log upload are off, the only DERP region is the
// embedded one on 127.0.0.1, and the nodes' Env (tailscale's own debug
// knobs) keeps them off UDP (every packet through the DERP relay, which is
// what a phone on LTE behind a NAT often gets), off the router's port
// mapping protocols, and on plain HTTP to the relay (there is no
// certificate for 127.0.0.1: WireGuard encrypts what crosses it anyway).
//
// The binary is make test's bin/headscale ($CAMCHAIN_HEADSCALE), or else
// built once per machine and kept under the user's cache directory, keyed
// by the version, so a test run costs a build only the first time.
package headscale

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is headscale's version, pinned in tools/headscale/go.mod.
const Version = "v0.26.1"

// Env is what a tailscale node (tsnet) in a test needs in its environment:
// tailscale's own knobs (envknob) for a loopback-only tailnet.
var Env = []string{
	"TS_DEBUG_ALWAYS_USE_DERP=true", // no UDP socket: every packet through the DERP relay
	"TS_DISABLE_PORTMAPPER=true",    // no UPnP / NAT-PMP / PCP to the router
	"TS_DEBUG_USE_DERP_HTTP=true",   // the embedded relay on http://127.0.0.1
	"TS_NO_LOGS_NO_SUPPORT=true",    // no log upload
}

var (
	buildMu  sync.Mutex
	builtBin string
)

// BinaryEnv names a headscale binary already built (make test builds
// bin/headscale before the tests, outside their timeout).
const BinaryEnv = "CAMCHAIN_HEADSCALE"

// Binary returns the headscale binary: $CAMCHAIN_HEADSCALE, or the one in
// the cache directory, built there if it is not there yet.
func Binary() (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtBin != "" {
		return builtBin, nil
	}
	if b := os.Getenv(BinaryEnv); b != "" {
		if st, err := os.Stat(b); err != nil || !st.Mode().IsRegular() {
			return "", fmt.Errorf("$%s %s: not a file", BinaryEnv, b)
		}
		builtBin = b
		return b, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "camchain", "headscale-"+Version+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	bin := filepath.Join(dir, "headscale")
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		builtBin = bin
		return bin, nil
	}
	_, self, _, _ := runtime.Caller(0)
	mod := filepath.Join(filepath.Dir(self), "..", "..", "..", "tools", "headscale")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := bin + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, "github.com/juanfont/headscale/cmd/headscale")
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build headscale %s in %s: %v\n%s", Version, mod, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	builtBin = bin
	return bin, nil
}

// Server is a running headscale.
type Server struct {
	// URL is the control URL nodes are given (http://127.0.0.1:port).
	URL    string
	bin    string
	config string
	cmd    *exec.Cmd
	out    *bytes.Buffer
	done   chan struct{}
}

// Start runs headscale with its embedded DERP relay in dir until Close.
func Start(dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	s := &Server{URL: "http://" + addr(0), bin: bin, config: filepath.Join(dir, "config.yaml"), out: &bytes.Buffer{}, done: make(chan struct{})}
	// The YAML keys are headscale's (config-example.yaml of v0.26.1).
	cfg := fmt.Sprintf(`server_url: %s
listen_addr: %s
metrics_listen_addr: %s
grpc_listen_addr: %s
grpc_allow_insecure: false
disable_check_updates: true
noise:
  private_key_path: %s/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
  allocation: sequential
derp:
  server:
    enabled: true
    region_id: 999
    region_code: loopback
    region_name: loopback embedded DERP
    stun_listen_addr: %s
    private_key_path: %s/derp_server_private.key
    automatically_add_embedded_derp_region: true
    ipv4: 127.0.0.1
  urls: []
  paths: []
  auto_update_enabled: false
ephemeral_node_inactivity_timeout: 30m
database:
  type: sqlite
  sqlite:
    path: %s/db.sqlite
    write_ahead_log: true
log:
  format: text
  level: warn
policy:
  mode: file
  path: ""
dns:
  magic_dns: true
  base_domain: tailnet.test
  override_local_dns: false
  nameservers:
    global: []
unix_socket: %s/headscale.sock
unix_socket_permission: "0770"
logtail:
  enabled: false
randomize_client_port: false
`, s.URL, addr(0), addr(1), addr(2), dir, addr(3), dir, dir, dir)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "serve", "-c", s.config)
	s.cmd.Stdout, s.cmd.Stderr = &lockedWriter{b: s.out}, &lockedWriter{b: s.out}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("headscale exited: %s", s.Output())
		default:
		}
		if r, err := http.Get(s.URL + "/health"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("headscale not healthy after 60s: %s", s.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s, nil
}

// StartT is Start for a test, closed when it ends.
func StartT(t testing.TB) *Server {
	t.Helper()
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Output is what headscale printed.
func (s *Server) Output() string {
	mu.Lock()
	defer mu.Unlock()
	return s.out.String()
}

// Close stops headscale.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *Server) run(args ...string) ([]byte, error) {
	cmd := exec.Command(s.bin, append(args, "-c", s.config, "-o", "json")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("headscale %s: %v: %s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

// PreAuthKey makes user (if new) and a reusable pre-auth key of theirs,
// valid for an hour: what the owner hands `camchaind run --tailscale`.
func (s *Server) PreAuthKey(user string) (string, error) {
	out, err := s.run("users", "create", user)
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return "", err
	}
	if out, err = s.run("users", "list"); err != nil {
		return "", err
	}
	var users []struct {
		ID   uint64 `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(out, &users); err != nil {
		return "", fmt.Errorf("headscale users list: %v: %s", err, out)
	}
	var id uint64
	for _, u := range users {
		if u.Name == user {
			id = u.ID
		}
	}
	if id == 0 {
		return "", fmt.Errorf("headscale users list has no %q: %s", user, out)
	}
	if out, err = s.run("preauthkeys", "create", "--user", strconv.FormatUint(id, 10), "--reusable", "--expiration", "1h"); err != nil {
		return "", err
	}
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(out, &k); err != nil || k.Key == "" {
		return "", fmt.Errorf("headscale preauthkeys create: %v: %s", err, out)
	}
	return k.Key, nil
}

var mu sync.Mutex

type lockedWriter struct{ b *bytes.Buffer }

func (w *lockedWriter) Write(p []byte) (int, error) {
	mu.Lock()
	defer mu.Unlock()
	return w.b.Write(p)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	if len(ports) != n {
		return nil, errors.New("no free ports")
	}
	return ports, nil
}
