// Package interop runs camchain's reference implementations, ethers and
// @noble/hashes with @noble/curves (pinned in test/interop/package.json), so
// tests can check that camchain and independent libraries agree on
// addresses, signatures, EIP-712 hashes and feed-chain records.
//
// It is for tests only. The script's ops are documented at the top of
// test/interop/ethers.mjs. A missing Node.js or missing node_modules fails
// the test (it is never skipped): interoperability is a requirement, not an
// optional extra.
package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ScriptDir is the directory of the ethers script, relative to the module root.
const ScriptDir = "test/interop"

// timeout bounds one run of the script (Node start-up plus ethers is well
// under a second; scrypt is never used).
const timeout = 2 * time.Minute

const setupHint = "run `npm ci --prefix test/interop` from the repository root (or `make test`, which does it)"

// Ethers sends req (a JSON-encodable request, or a slice of them for a batch)
// to test/interop/ethers.mjs and decodes the reply into resp. It fails t if
// the script cannot run or if any reply carries an "error" field.
func Ethers(t testing.TB, req, resp any) {
	t.Helper()
	out := run(t, req)
	if msg := replyError(out); msg != "" {
		t.Fatalf("ethers rejected the request: %s", msg)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("decode ethers reply %s: %v", out, err)
	}
}

// EthersResult is Ethers for a single request that ethers may legitimately
// refuse (a negative test): it returns ethers' error message as an error
// instead of failing t. Failures to run the script still fail t.
func EthersResult(t testing.TB, req, resp any) error {
	t.Helper()
	out := run(t, req)
	if msg := replyError(out); msg != "" {
		return errors.New(msg)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("decode ethers reply %s: %v", out, err)
	}
	return nil
}

func run(t testing.TB, req any) []byte {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("interop: encode request: %v", err)
	}
	return runScript(t, "ethers.mjs", "ethers", in)
}

// Node runs another script of test/interop (one that uses the pinned
// package pkg, e.g. "@noble/curves") with stdin and returns its stdout. A
// script that fails fails t.
func Node(t testing.TB, script, pkg string, stdin []byte) []byte {
	t.Helper()
	return runScript(t, script, pkg, stdin)
}

// SIWE sends req to test/interop/siwe.mjs, which logs in to a hub with the
// `siwe` npm package and an ethers wallet (ops at the top of the script),
// and decodes its reply into resp. A reply with "error" fails t.
func SIWE(t testing.TB, req, resp any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("interop: encode request: %v", err)
	}
	out := Node(t, "siwe.mjs", "siwe", in)
	if msg := replyError(out); msg != "" {
		t.Fatalf("siwe script failed: %s", msg)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("decode siwe reply %s: %v", out, err)
	}
}

func runScript(t testing.TB, script, pkg string, in []byte) []byte {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	dir := filepath.Join(root, ScriptDir)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(pkg), "package.json")); err != nil {
		t.Fatalf("interop: %s is not installed in %s (%v); %s", pkg, dir, err, setupHint)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("interop: Node.js is not on PATH (%v); install Node.js, then %s", err, setupHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("interop: node %s: %v\nstderr:\n%s", script, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// replyError returns the first "error" in a reply or batch of replies.
func replyError(out []byte) string {
	var one struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(out, &one) == nil {
		return one.Error
	}
	var many []struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(out, &many) == nil {
		for i, r := range many {
			if r.Error != "" {
				return fmt.Sprintf("request %d: %s", i, r.Error)
			}
		}
	}
	return ""
}

// ModuleRoot finds the directory holding go.mod, walking up from the working
// directory (a package directory while `go test` runs).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or any parent")
		}
		dir = parent
	}
}
