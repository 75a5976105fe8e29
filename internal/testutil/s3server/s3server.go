// Package s3server runs a real S3-compatible object store for tests: the
// Versity S3 Gateway (versitygw) with its posix backend (each bucket a
// directory, each object a file), as a separate process on a loopback
// port. Its version is pinned by the small module tools/s3server (go.mod's
// tool directive), kept apart so that its dependencies never enter the
// main module's build list. The binary is built once per machine into the
// user cache directory (keyed by tools/s3server/go.sum) and reused.
//
// It is for tests and benchmarks only. A build failure fails the test: the object store
// is the component under test, never replaced by a fake.
package s3server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/objstore"
)

// Pkg is the command built from tools/s3server's build list.
const Pkg = "github.com/versity/versitygw/cmd/versitygw"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// repoRoot is the main module's directory.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the camchain module")
	}
	return filepath.Dir(mod), nil
}

// Build returns the path of the versitygw binary, building it if the
// cache lacks this version.
func Build() (string, error) {
	buildOnce.Do(func() { binPath, buildErr = build() })
	return binPath, buildErr
}

func build() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	mod := filepath.Join(root, "tools", "s3server")
	sum, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	if err != nil {
		return "", err
	}
	gomod, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(append(gomod, sum...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "camchain-s3server")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "versitygw-"+hex.EncodeToString(h[:8]))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	// One builder at a time across test binaries.
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp := bin + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, Pkg)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s in tools/s3server: %v\n%s", Pkg, err, out)
	}
	return bin, os.Rename(tmp, bin)
}

// Server is one running (or stopped) versitygw.
type Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Bucket    string
	Root      string // the posix backend's directory: Root/<bucket>/<key>

	bin  string
	addr string
	logs *syncBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs versitygw on a loopback port until the test ends, with a
// fresh root user and the bucket created.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	s, err := New(t.TempDir(), bucket)
	if err != nil {
		t.Fatalf("s3server: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("versitygw log:\n%s", s.Logs())
		}
	})
	return s
}

// New builds versitygw if needed and runs it on a free loopback port over
// root, with a fresh root user and the bucket created; the caller Stops it.
// (Start is the form for tests; the benchmarks use New.)
func New(root, bucket string) (*Server, error) {
	bin, err := Build()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{Endpoint: "http://" + addr, AccessKey: "camchain" + rand.Text()[:8], SecretKey: rand.Text(),
		Bucket: bucket, Root: root, bin: bin, addr: addr, logs: &syncBuffer{}}
	if err := s.Start(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := objstore.Open(ctx, s.Config("")); err != nil {
		s.Stop()
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	return s, nil
}

// Config is an objstore configuration for prefix in the server's bucket
// (creating the bucket if it is missing).
func (s *Server) Config(prefix string) objstore.Config {
	return objstore.Config{Location: objstore.Location{Bucket: s.Bucket, Prefix: prefix}, Endpoint: s.Endpoint,
		AccessKey: s.AccessKey, SecretKey: s.SecretKey, CreateBucket: true}
}

// URL is the s3:// URL of prefix in the server's bucket.
func (s *Server) URL(prefix string) string { return s.Config(prefix).Location.String() }

// Env is the environment a camchaind or camchain process needs to reach
// the server through the usual variables.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint, "AWS_REGION=us-east-1"}
}

// Logs is what the server printed.
func (s *Server) Logs() string { return s.logs.String() }

// syncBuffer is the server's output, written by exec's copying goroutine
// while a test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Run is Start for a test: it fails the test if the server does not come
// up.
func (s *Server) Run(t testing.TB) {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server (again, after Stop) on its address and root,
// and waits until it listens.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.bin, "--port", s.addr, "--access", s.AccessKey, "--secret", s.SecretKey, "--quiet", "posix", s.Root)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.Root}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("versitygw exited: %s", s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("versitygw did not listen on %s: %v\n%s", s.addr, err, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: an outage, not a shutdown) and waits for
// it to exit. Its objects stay in Root.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// Object returns the bytes of the object key in the bucket, read from the
// backend's directory (not through the server), and whether it exists.
func (s *Server) Object(key string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(s.Root, s.Bucket, filepath.FromSlash(key)))
	return b, err == nil
}
