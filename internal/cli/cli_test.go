package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/pairing"
)

// TestMain lets testscript run "camchain" as a command: the test binary
// re-executes itself and calls Main.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"camchain": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script/*.txtar. Each runs in
// its own $WORK with CAMCHAIN_HOME=$WORK/home and stdin not a terminal.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("CAMCHAIN_HOME", filepath.Join(env.WorkDir, "home"))
			// No script reaches a hub it did not start (wallet restore asks
			// the default hub what the wallet owns): port 1 refuses.
			env.Setenv("CAMCHAIN_HUB", "http://127.0.0.1:1")
			// The evidence vector bundle (docs/SPEC.md §10.6), made by a real
			// hub, for the evidence scripts.
			// bundle-v2.cbor is it with witness cosignatures (§16).
			for _, name := range []string{"bundle-v1.cbor", "bundle-v2.cbor"} {
				b, err := os.ReadFile(filepath.Join("..", "evidence", "testdata", name))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(env.WorkDir, name), b, 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"capture":       cmdCapture,
			"recoverywords": cmdRecoveryWords,
			"verifysig":     cmdVerifySig,
			"keyfile":       cmdKeyFile,
			"filecount":     cmdFileCount,
			"status":        cmdStatus,
			"hub":           cmdHub,
			"pairingcode":   cmdPairingCode,
		},
	})
}

// capture NAME REGEXP: set $NAME to the first group of REGEXP matched
// against the last command's stdout (multi-line mode).
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture NAME REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("capture: no match for %q in stdout", args[1])
	}
	ts.Setenv(args[0], m[1])
}

// recoverywords FILE: write the numbered words `wallet new` printed on
// stdout to FILE, in order, one line, as a user would copy them.
func cmdRecoveryWords(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: recoverywords FILE")
	}
	re := regexp.MustCompile(`(\d+)\. ([a-z]+)`)
	type nw struct {
		n int
		w string
	}
	var words []nw
	for _, m := range re.FindAllStringSubmatch(ts.ReadFile("stdout"), -1) {
		n, _ := strconv.Atoi(m[1])
		words = append(words, nw{n, m[2]})
	}
	sort.Slice(words, func(i, j int) bool { return words[i].n < words[j].n })
	var out []string
	for i, w := range words {
		if w.n != i+1 {
			ts.Fatalf("recoverywords: word numbers are not 1..%d", len(words))
		}
		out = append(out, w.w)
	}
	if len(out) != 24 {
		ts.Fatalf("recoverywords: found %d numbered words in stdout, want 24", len(out))
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(out, " ")+"\n"), 0o600))
}

// verifysig ADDRESS MESSAGE SIGNATURE: succeed if SIGNATURE is ADDRESS's
// EIP-191 personal_sign signature of MESSAGE.
func cmdVerifySig(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: verifysig ADDRESS MESSAGE SIGNATURE")
	}
	addr, err := keys.ParseAddress(args[0])
	ts.Check(err)
	sig, err := keys.ParseSignature(args[2])
	ts.Check(err)
	err = keys.VerifyText(addr, []byte(args[1]), sig)
	switch {
	case neg && err == nil:
		ts.Fatalf("signature verifies, want it not to")
	case !neg && err != nil:
		ts.Fatalf("signature does not verify: %v", err)
	}
}

// keyfile DIR NAME: set $NAME to the path of the only file in DIR.
func cmdKeyFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: keyfile DIR NAME")
	}
	es, err := os.ReadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	if len(es) != 1 {
		ts.Fatalf("keyfile: %s holds %d entries, want 1", args[0], len(es))
	}
	ts.Setenv(args[1], filepath.Join(ts.MkAbs(args[0]), es[0].Name()))
}

// filecount DIR N: DIR (recursively) holds exactly N regular files.
func cmdFileCount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: filecount DIR N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	n := 0
	ts.Check(filepath.WalkDir(ts.MkAbs(args[0]), func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	}))
	if n != want {
		ts.Fatalf("%s holds %d files, want %d", args[0], n, want)
	}
}

// TestWalletExitCodes checks the exit code contract in-process: 2 for a
// wrong command line, 1 for a command that ran and failed.
func TestWalletExitCodes(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	writeTestFile(t, passFile, "correct horse battery staple\n")
	ks := filepath.Join(dir, "ks")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"unknown flag", []string{"wallet", "address", "--nope"}, exitUsage},
		{"positional argument", []string{"wallet", "address", "extra"}, exitUsage},
		{"sign-message without --message", []string{"wallet", "sign-message", "--keystore", ks, "--passphrase-file", passFile}, exitUsage},
		{"new with --mnemonic-file", []string{"wallet", "new", "--keystore", ks, "--mnemonic-file", passFile, "--passphrase-file", passFile}, exitUsage},
		{"new with no passphrase and no terminal", []string{"wallet", "new", "--keystore", ks, "--light-kdf"}, exitUsage},
		{"address of an empty keystore", []string{"wallet", "address", "--keystore", ks}, exitError},
		{"new", []string{"wallet", "new", "--keystore", ks, "--light-kdf", "--passphrase-file", passFile}, exitOK},
		{"new over an existing key", []string{"wallet", "new", "--keystore", ks, "--light-kdf", "--passphrase-file", passFile}, exitError},
		{"address", []string{"wallet", "address", "--keystore", ks}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := Main(tt.args, strings.NewReader(""), &stdout, &stderr)
			if got != tt.want {
				t.Errorf("exit %d, want %d; stderr: %s", got, tt.want, stderr.String())
			}
			if got != exitOK && !strings.HasPrefix(stderr.String(), "camchain: error: ") {
				t.Errorf("stderr = %q, want a camchain: error: line", stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "correct horse") {
				t.Error("output contains the passphrase")
			}
		})
	}
}

func TestStripOneNewline(t *testing.T) {
	for in, want := range map[string]string{
		"pass":       "pass",
		"pass\n":     "pass",
		"pass\r\n":   "pass",
		"pass\n\n":   "pass\n",
		"pass \n":    "pass ",
		" pass\t":    " pass\t",
		"pass\r":     "pass\r",
		"\n":         "",
		"":           "",
		"pa\nss\r\n": "pa\nss",
	} {
		if got := stripOneNewline(in); got != want {
			t.Errorf("stripOneNewline(%q) = %q, want %q", in, got, want)
		}
	}
}

// status N PROGRAM ARGS...: run PROGRAM as exec does (its stdout and
// stderr are then the ones the next commands inspect) and require exit
// status N.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N PROGRAM ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// hub: start a real hub (its own ledger, HTTP on a free port) for the rest
// of the script and set $HUB to its URL, and $HUB_ADDRESS, $HUB_CHAIN and
// $HUB_PIN to the identity it prints at start.
func cmdHub(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: hub")
	}
	dir := ts.MkAbs("hubdata")
	_, err := hub.Init(hub.Config{DataDir: dir}, "")
	ts.Check(err)
	h, err := hub.Start(hub.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0"})
	ts.Check(err)
	ts.Defer(func() { h.Close() })
	url := "http://" + h.Addr()
	c, err := api.NewClient(url)
	ts.Check(err)
	st, err := c.Status(context.Background())
	ts.Check(err)
	li, err := c.Link(context.Background())
	ts.Check(err)
	ts.Setenv("HUB", url)
	ts.Setenv("HUB_ADDRESS", st.HubAddress)
	ts.Setenv("HUB_CHAIN", st.LedgerChainID)
	ts.Setenv("HUB_PIN", li.TLSPin)
}

// pairingcode NAME: set $NAME to a fresh, valid pairing code of a camera
// whose pairing endpoint is closed (pairing that gets that far fails with
// "cannot reach the camera").
func cmdPairingCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pairingcode NAME")
	}
	code, err := unreachableCode()
	ts.Check(err)
	ts.Setenv(args[0], code)
}

// unreachableCode is a fresh, valid pairing code for a camera whose
// pairing endpoint is closed.
func unreachableCode() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	cam, err := keys.Generate()
	if err != nil {
		return "", err
	}
	code, err := pairing.NewCode(cam.Address(), addr, link.Pin{1}, 0, time.Now())
	if err != nil {
		return "", err
	}
	return code.String(), nil
}
