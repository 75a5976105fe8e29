// Package litewitness runs a real, independent tlog witness for tests:
// filippo.io/torchwood's litewitness (C2SP tlog-witness, backed by SQLite,
// signing through an ssh-agent), at the version pinned in go.mod's tool
// block. Start builds litewitness and witnessctl once per test binary,
// serves an Ed25519 key over an in-process ssh-agent, and runs the
// witness on a loopback port.
//
// It is for tests only. A build failure fails the test: witnessing is a
// requirement, not an optional extra.
package litewitness

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Packages are the torchwood commands built (go.mod's tool block pins them).
const (
	litewitnessPkg = "filippo.io/torchwood/cmd/litewitness"
	witnessctlPkg  = "filippo.io/torchwood/cmd/witnessctl"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func build() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "camchain-litewitness-")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), litewitnessPkg, witnessctlPkg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build %s %s: %v\n%s", litewitnessPkg, witnessctlPkg, err, out)
			return
		}
		binDir = dir
	})
	return binDir, buildErr
}

// Witness is one running litewitness.
type Witness struct {
	Name   string
	Public ed25519.PublicKey
	// URL is its submission prefix (POST URL + "/add-checkpoint").
	URL string
	db  string
	bin string
}

// Start runs a litewitness named name with a fresh key until the test
// ends.
func Start(t testing.TB, name string) *Witness {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatalf("litewitness: %v", err)
	}
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	stopAgent := serveAgent(t, sock, priv)
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	w := &Witness{Name: name, Public: pub, db: filepath.Join(dir, "witness.db"), bin: bin}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(filepath.Join(bin, "litewitness"), "-db", w.db, "-name", name,
		"-key", ssh.FingerprintSHA256(sshPub), "-ssh-agent", sock, "-listen", addr)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		stopAgent()
		if t.Failed() {
			t.Logf("litewitness %s log:\n%s", name, logs.String())
		}
	})
	w.URL = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(w.URL + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("litewitness exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("litewitness did not listen on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return w
}

// AddLog tells the witness about a log and its note verifier key, as its
// operator does with witnessctl.
func (w *Witness) AddLog(t testing.TB, origin, vkey string) {
	t.Helper()
	for _, args := range [][]string{
		{"add-log", "-db", w.db, "-origin", origin},
		{"add-key", "-db", w.db, "-origin", origin, "-key", vkey},
	} {
		out, err := exec.Command(filepath.Join(w.bin, "witnessctl"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("witnessctl %s: %v\n%s", args[0], err, out)
		}
	}
}

// serveAgent serves an ssh-agent holding priv on a unix socket.
func serveAgent(t testing.TB, sock string, priv ed25519.PrivateKey) (stop func()) {
	t.Helper()
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Logf("ssh-agent: %v", err)
				}
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); agent.ServeAgent(kr, c) }()
		}
	}()
	return func() { ln.Close(); wg.Wait() }
}
