package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz/FuzzFinalizeBlock from fuzzSeeds")

// The fuzz state is fixed so that signed seeds stay valid forever and every
// harness is identical: fixed keys (owner, camera and hub are the keys of
// docs/SPEC.md §2.3's vectors), a fixed clock, fixed nonces.
const (
	fuzzT0     = 1_700_000_000 // harness clock; setup block at +1, fuzzed block at +2
	fuzzExpiry = fuzzT0 + 600  // expiry of the setup and the seeds
)

type fuzzKeys struct {
	owner, cam, hub, hub1, viewer, cam2 *keys.PrivateKey
}

func fixedKey(tb testing.TB, b byte) *keys.PrivateKey {
	tb.Helper()
	k, err := keys.FromBytes(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func newFuzzKeys(tb testing.TB) fuzzKeys {
	return fuzzKeys{owner: fixedKey(tb, 1), cam: fixedKey(tb, 2), hub: fixedKey(tb, 3),
		hub1: fixedKey(tb, 4), viewer: fixedKey(tb, 5), cam2: fixedKey(tb, 6)}
}

// newFuzzHarness is newHarness with the fixed keys and clock, after one
// setup block: cam imprinted by owner on hub, viewer granted. cam2 is
// unknown to the ledger. Owner nonces 1 and 2 are spent.
func newFuzzHarness(tb testing.TB, k fuzzKeys) *harness {
	tb.Helper()
	h := &harness{t: tb, db: dbm.NewMemDB(), now: time.Unix(fuzzT0, 0), hubs: []*keys.PrivateKey{k.hub, k.hub1}}
	h.open()
	g, _ := json.Marshal(Genesis{Hubs: []string{k.hub.Address().Hex(), k.hub1.Address().Hex()}})
	if _, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, AppStateBytes: g}); err != nil {
		tb.Fatal(err)
	}
	for i, r := range h.block(fuzzSetup(h, k)...) {
		if r.Code != CodeOK {
			tb.Fatalf("setup tx %d: %s: %s", i, CodeName(r.Code), r.Log)
		}
	}
	return h
}

func fuzzSetup(h *harness, k fuzzKeys) [][]byte {
	return [][]byte{
		h.sign(&tx.Imprint{Camera: k.cam.Address(), Owner: k.owner.Address(), Hub: k.hub.Address(), Nonce: 1, Expiry: fuzzExpiry}, k.owner, k.cam),
		h.sign(&tx.Grant{Camera: k.cam.Address(), Viewer: k.viewer.Address(), Nonce: 2, Expiry: fuzzExpiry}, k.owner),
	}
}

type fuzzSeed struct {
	name string
	raw  []byte
	want uint32 // the code it gets in the fuzzed block
}

// fuzzSeeds returns one transaction of every type that succeeds in the
// fuzz state, and one of every refusal. Signatures are deterministic
// (RFC 6979), so the bytes are too.
func fuzzSeeds(h *harness, k fuzzKeys) []fuzzSeed {
	cam := k.cam.Address()
	e := uint64(fuzzExpiry)
	reset := h.sign(&tx.Reset{Camera: cam, Nonce: 11, Expiry: e}, k.cam)
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(reset)) }
	return []fuzzSeed{
		{"ok-imprint", h.sign(&tx.Imprint{Camera: k.cam2.Address(), Owner: k.owner.Address(), Nonce: 10, Expiry: e}, k.owner, k.cam2), CodeOK},
		{"ok-reset", reset, CodeOK},
		{"ok-release", h.sign(&tx.Release{Camera: cam, Nonce: 12, Expiry: e}, k.owner), CodeOK},
		{"ok-transfer", h.sign(&tx.Transfer{Camera: cam, NewOwner: k.hub1.Address(), Nonce: 13, Expiry: e}, k.owner), CodeOK},
		{"ok-bindhub-unbind", h.sign(&tx.BindHub{Camera: cam, Nonce: 14, Expiry: e}, k.owner), CodeOK},
		{"ok-grant", h.sign(&tx.Grant{Camera: cam, Viewer: k.viewer.Address(), ValidUntil: fuzzT0 + 3600, HistoryFrom: fuzzT0 - 3600, Nonce: 15, Expiry: e}, k.owner), CodeOK},
		{"ok-revoke", h.sign(&tx.Revoke{Camera: cam, Viewer: k.viewer.Address(), Nonce: 16, Expiry: e}, k.owner), CodeOK},
		{"ok-setpolicy", h.sign(&tx.SetPolicy{Camera: cam, CheckpointPeriod: 3600, Nonce: 17, Expiry: e}, k.owner), CodeOK},
		{"ok-checkpoint", h.sign(&tx.Checkpoint{Camera: cam, PeriodStart: fuzzT0 - 3600, PeriodEnd: fuzzT0, LastSeq: 9, TreeSize: 10,
			Root: feedchain.Hash{1}, ChainHead: feedchain.Hash{2}, Nonce: 18, Expiry: e}, k.cam), CodeOK},
		{"ok-audit", h.sign(&tx.Audit{Hub: k.hub.Address(), Camera: cam, Kind: "hub/login", Actor: k.owner.Address(),
			Detail: "wallet login", At: fuzzT0, Nonce: 19, Expiry: e}, k.hub), CodeOK},
		{"encoding-trailing-byte", mutate(func(b []byte) []byte { return append(b, 0) }), CodeEncoding},
		{"version-3", mutate(func(b []byte) []byte { b[1] = 3; return b }), CodeVersion}, // 1 and 2 are the two EIP-712 domains (SPEC §2.3)
		{"unknown-type", mutate(func(b []byte) []byte { return bytes.Replace(b, []byte("Reset"), []byte("Rezet"), 1) }), CodeUnknownType},
		{"wrong-chain", h.signFor(1, &tx.Reset{Camera: cam, Nonce: 20, Expiry: e}, k.cam), CodeWrongChain},
		{"bad-signature-v", mutate(func(b []byte) []byte { b[len(b)-1] = 7; return b }), CodeBadSignature},
		{"expired", h.sign(&tx.Reset{Camera: cam, Nonce: 21, Expiry: fuzzT0 + 2}, k.cam), CodeExpired},
		{"expiry-too-far", h.sign(&tx.Reset{Camera: cam, Nonce: 22, Expiry: fuzzT0 + 2 + uint64(tx.MaxTTL.Seconds()) + 1}, k.cam), CodeExpiryTooFar},
		{"replay-setup-imprint", fuzzSetup(h, k)[0], CodeReplay},
		{"unauthorized-reset-by-owner", h.sign(&tx.Reset{Camera: cam, Nonce: 23, Expiry: e}, k.owner), CodeUnauthorized},
		{"not-found-revoke", h.sign(&tx.Revoke{Camera: cam, Viewer: k.hub1.Address(), Nonce: 24, Expiry: e}, k.owner), CodeNotFound},
		{"conflict-bind-same-hub", h.sign(&tx.BindHub{Camera: cam, Hub: k.hub.Address(), Nonce: 25, Expiry: e}, k.owner), CodeConflict},
		{"wrong-epoch-grant", h.sign(&tx.Grant{Camera: cam, Epoch: 1, Viewer: k.hub1.Address(), Nonce: 26, Expiry: e}, k.owner), CodeWrongEpoch},
		{"invalid-setpolicy", h.sign(&tx.SetPolicy{Camera: cam, CheckpointPeriod: 59, Nonce: 27, Expiry: e}, k.owner), CodeInvalid},
	}
}

func fuzzCorpusFile(name string) string {
	return filepath.Join("testdata", "fuzz", "FuzzFinalizeBlock", name)
}

func corpusEntry(raw []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", raw)
}

// decodeLevel reports whether code is decided by the bytes alone, so
// CheckTx and FinalizeBlock must agree on it.
func decodeLevel(code uint32) bool { return code >= CodeEncoding && code <= CodeBadSignature }

// FuzzFinalizeBlock feeds arbitrary bytes as the one transaction of a block
// to a fresh ledger (a camera imprinted and a grant made) and checks:
//   - FinalizeBlock and Commit never fail or panic, and the code is known;
//   - a transaction refused by the common checks (codes encoding…replay)
//     leaves the app hash unchanged; one that passes them (ok, or a rule's
//     refusal) spends its nonce, so the app hash moves;
//   - CheckTx gives the same code when either side's is decided by the
//     bytes alone (encoding, version, unknown_type, wrong_chain,
//     bad_signature);
//   - a transaction that passed the common checks is refused as a replay
//     (or as expired, if it expires first) in the next block, changing
//     nothing;
//   - a second, identical ledger fed the same block reaches the same code
//     and app hash.
//
// Seeds: every type succeeding and every refusal (fuzzSeeds), committed
// under testdata/fuzz/FuzzFinalizeBlock; regenerate with
// go test ./internal/ledger -run FuzzFinalizeBlock -update-fuzz-corpus.
func FuzzFinalizeBlock(f *testing.F) {
	k := newFuzzKeys(f)
	seeds := fuzzSeeds(newFuzzHarness(f, k), k)
	for _, s := range seeds {
		file := fuzzCorpusFile(s.name)
		if *updateFuzzCorpus {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				f.Fatal(err)
			}
			if err := os.WriteFile(file, corpusEntry(s.raw), 0o644); err != nil {
				f.Fatal(err)
			}
			continue
		}
		if b, err := os.ReadFile(file); err != nil || !bytes.Equal(b, corpusEntry(s.raw)) {
			f.Fatalf("seed corpus file %s is missing or stale; regenerate with -update-fuzz-corpus", file)
		}
	}
	// The seeds must reach the outcomes they are named for, or they do not
	// cover what they claim to.
	for _, s := range seeds {
		if r := newFuzzHarness(f, k).block(s.raw)[0]; r.Code != s.want {
			f.Fatalf("seed %s: %s (%s), want %s", s.name, CodeName(r.Code), r.Log, CodeName(s.want))
		}
	}
	// A few more in code: junk, and real transactions cut or extended.
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Add([]byte{0x85})
	f.Add([]byte{0x85, 0x01, 0x19, 0x10, 0x92, 0x65, 'R', 'e', 's', 'e', 't', 0x80, 0x80})
	f.Add(seeds[0].raw[:len(seeds[0].raw)-1])
	f.Add(append(bytes.Clone(seeds[5].raw), seeds[5].raw...))
	f.Add(bytes.Repeat([]byte{0xff}, tx.MaxTxBytes+1))

	f.Fuzz(func(t *testing.T, raw []byte) {
		ctx := context.Background()
		h := newFuzzHarness(t, k)
		chk, err := h.app.CheckTx(ctx, &abci.CheckTxRequest{Tx: raw})
		if err != nil {
			t.Fatalf("CheckTx failed: %v", err)
		}
		before := h.app.AppHash()
		r := h.block(raw)[0] // fails the test if FinalizeBlock or Commit fails
		after := h.app.AppHash()

		admitted := false
		switch {
		case r.Code >= CodeEncoding && r.Code <= CodeReplay:
			if !bytes.Equal(before, after) {
				t.Fatalf("refused with %s (%s), yet the app hash moved", CodeName(r.Code), r.Log)
			}
		case r.Code == CodeOK || (r.Code >= CodeUnauthorized && r.Code <= CodeFuture):
			admitted = true
			if bytes.Equal(before, after) {
				t.Fatalf("%s (%s) passed the common checks, yet the app hash did not move (nonce not spent)", CodeName(r.Code), r.Log)
			}
		default:
			t.Fatalf("result code %d (%s) is not one a block may return", r.Code, r.Log)
		}
		if r.Code != CodeOK && r.Codespace != Codespace {
			t.Fatalf("refusal %s has codespace %q", CodeName(r.Code), r.Codespace)
		}
		if (decodeLevel(r.Code) || decodeLevel(chk.Code)) && chk.Code != r.Code {
			t.Fatalf("CheckTx says %s (%s), FinalizeBlock says %s (%s)", CodeName(chk.Code), chk.Log, CodeName(r.Code), r.Log)
		}

		// The same ledger state and block on another node: same outcome.
		h2 := newFuzzHarness(t, k)
		if r2 := h2.block(raw)[0]; r2.Code != r.Code || r2.Log != r.Log || !bytes.Equal(h2.app.AppHash(), after) {
			t.Fatalf("two identical ledgers disagree: %s %q %x vs %s %q %x",
				CodeName(r.Code), r.Log, after, CodeName(r2.Code), r2.Log, h2.app.AppHash())
		}

		if !admitted {
			return
		}
		dec, err := tx.Decode(raw)
		if err != nil {
			t.Fatalf("admitted a transaction that does not decode: %v", err)
		}
		_, expiry := dec.Msg.Replay()
		again := h.block(raw)[0]
		if next := uint64(h.now.Unix()); expiry <= next {
			// Expired by the next block: its nonce may be forgotten (which
			// moves the app hash); it must still not apply.
			if again.Code != CodeExpired {
				t.Fatalf("replay after expiry: %s (%s), want expired", CodeName(again.Code), again.Log)
			}
			return
		}
		if again.Code != CodeReplay {
			t.Fatalf("replay in the next block: %s (%s), want replay", CodeName(again.Code), again.Log)
		}
		if !bytes.Equal(h.app.AppHash(), after) {
			t.Fatal("a replayed transaction moved the app hash")
		}
	})
}
