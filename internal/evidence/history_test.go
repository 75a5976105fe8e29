package evidence_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	"github.com/cometbft/cometbft/types"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
)

// The version 3 vectors: a bundle a real hub exported after two changes of
// its validator set (docs/SPEC.md §3.6, §10.2), and the attacks on its
// history, each a bundle file of its own beside it.
const (
	historyBundle = "testdata/bundle-v3.cbor"
	historyFile   = "testdata/bundle-v3.json"
)

// historyVectors is testdata/bundle-v3.json.
type historyVectors struct {
	Comment string `json:"comment"`
	Bundle  string `json:"bundle"`
	SHA256  string `json:"sha256"`
	Now     string `json:"now"`
	// Keys are the ed25519 private keys (hex, CometBFT's 64-byte form) of
	// the validators the changes added, B then C, which no node ran: the
	// tests forge with them what those validators alone could sign.
	Keys  []string          `json:"validator_keys"`
	Cases []historyCase     `json:"cases"`
	Sets  map[string]string `json:"sets"` // name → set hash, for the reader
}

// historyCase is a vectorCase that may name another bundle file (an attack
// on the history) instead of the vector bundle.
type historyCase struct {
	vectorCase
	// Variant is a bundle file under testdata/ to verify instead of Bundle.
	Variant string `json:"variant,omitempty"`
	// Reason is a substring of the error's text the case must produce.
	Reason string `json:"reason,omitempty"`
}

// A bundle whose blocks were signed by three validator sets in turn — the
// genesis set {A}, then {A, B} (B added by A's vote), then {A, B, C} —
// verifies against the genesis set's hash alone, through the history it
// carries; every attack on that history fails with the verdict its case
// names.
func TestHistoryVectors(t *testing.T) {
	if *update {
		generateHistoryVectors(t)
	}
	bundle, err := os.ReadFile(historyBundle)
	if err != nil {
		t.Fatal(err)
	}
	var v historyVectors
	raw, err := os.ReadFile(historyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(bundle); hex.EncodeToString(sum[:]) != v.SHA256 {
		t.Fatalf("%s does not have the SHA-256 %s names", historyBundle, historyFile)
	}
	now, err := time.Parse(time.RFC3339, v.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Cases {
		data := bundle
		if c.Variant != "" {
			if data, err = os.ReadFile(filepath.Join("testdata", c.Variant)); err != nil {
				t.Fatal(err)
			}
		}
		pin, _ := hex.DecodeString(c.Pin)
		rep, err := evidence.VerifyBytes(c.apply(t, data), evidence.Options{PinnedValidatorsHash: pin, Now: now})
		if got := evidence.KindOf(err); got != c.Expect {
			t.Errorf("%s: %s (%v), want %s", c.Comment, got, err, c.Expect)
			continue
		}
		if c.Reason != "" && !strings.Contains(err.Error(), c.Reason) {
			t.Errorf("%s: %v, want it to say %q", c.Comment, err, c.Reason)
		}
		if c.Report != nil {
			got, _ := json.Marshal(rep)
			want, _ := json.Marshal(c.Report)
			if !bytes.Equal(got, want) {
				t.Errorf("%s: report\n got %s\nwant %s", c.Comment, got, want)
			}
		}
	}
}

// The decoder reads a version 3 bundle and the encoder gives back its
// bytes, by Encode and by the streaming WriteTo; the history's typed error
// names the link.
func TestHistoryRoundTrip(t *testing.T) {
	bundle, err := os.ReadFile(historyBundle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.Decode(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if b.Version() != evidence.VersionV3 || b.History == nil || len(b.History.Links) != 2 {
		t.Fatalf("version %d, history %+v", b.Version(), b.History)
	}
	again, err := b.Encode()
	if err != nil || !bytes.Equal(again, bundle) {
		t.Fatalf("Encode does not give the bundle back: %v", err)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf, nil); err != nil || !bytes.Equal(buf.Bytes(), bundle) {
		t.Fatalf("WriteTo does not give the bundle back: %v", err)
	}
	// Without its history, the bundle is version 1 again, and its later
	// blocks are not the genesis set's: with the genesis pinned, not_pinned.
	b.History = nil
	if b.Version() != evidence.VersionV1 {
		t.Fatalf("without a history: version %d", b.Version())
	}
	// A swapped pair of links: the typed error says which.
	b, _ = evidence.Decode(bundle)
	b.History.Links[0], b.History.Links[1] = b.History.Links[1], b.History.Links[0]
	_, err = evidence.Verify(b, evidence.Options{})
	var he *evidence.HistoryError
	if !errors.As(err, &he) || he.Link != 0 || he.Height == 0 || !errors.Is(err, evidence.ErrHistory) {
		t.Fatalf("swapped links: %v", err)
	}
}

// historyScenario runs, on a real hub: a camera's checkpoint under the
// genesis set {A}; A votes in B (power 1, never run: A's 10 of 11 keeps
// signing); a checkpoint under {A, B}; A votes in C; a checkpoint under
// {A, B, C}. It returns the camera, the genesis set's hash, B's and C's
// keys and the time of the first record.
func historyScenario(t *testing.T) (*evidencetest.Camera, []byte, []ed25519.PrivKey, time.Time) {
	ctx := context.Background()
	cam, h, dir, pin := freshCamera(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	var added []ed25519.PrivKey
	voteIn := func() error {
		k := ed25519.GenPrivKey()
		owner, _ := keys.Generate()
		id := ledger.Identity{Hub: owner.Address().Hex(), ValidatorKey: k.PubKey().Bytes()}
		res, err := hub.Vote(ctx, hub.Config{DataDir: dir}, h.BaseURL(), id, 1)
		if err != nil || res.Tx.Code != ledger.CodeOK {
			return fmt.Errorf("vote: %+v %v", res, err)
		}
		added = append(added, k)
		// The new set signs from two blocks after the vote's (CometBFT
		// applies a validator update at H+2): once H+1 is committed, the
		// next checkpoint lands in a block the new set signs — without
		// this wait a quick checkpoint shared the old set's last block
		// (failed CI once).
		return h.Node().WaitForHeight(ctx, res.Tx.Height+1)
	}
	for _, step := range []func() error{
		func() error { return cam.Record(2, t0, 2*time.Second, 64) },
		func() error { return cam.Checkpoint(ctx) },
		voteIn,
		func() error { return cam.Record(1, t0.Add(4*time.Second), 2*time.Second, 64) },
		func() error { return cam.Checkpoint(ctx) },
		voteIn,
		func() error { return cam.Record(1, t0.Add(6*time.Second), 2*time.Second, 64) },
		func() error { return cam.Checkpoint(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	return cam, pin, added, t0
}

// A hub whose validator set changed twice exports a bundle of clips
// signed by the later sets as version 3, with exactly the two changes,
// which verifies against the genesis set's hash; the clips from before the
// first change still make a version 1 bundle, as before changes.
func TestExportAfterValidatorChanges(t *testing.T) {
	ctx := context.Background()
	cam, pin, _, t0 := historyScenario(t)
	bundle, err := cam.Export(ctx, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evidence.VerifyBytes(bundle, evidence.Options{PinnedValidatorsHash: pin, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if bundle[0] != 0x88 || len(rep.ValidatorChanges) != 2 || rep.GenesisValidatorsHash != fmt.Sprintf("%X", pin) || len(rep.ValidatorsHashes) != 3 {
		t.Fatalf("first byte %#x, report %+v", bundle[0], rep)
	}
	for i, c := range rep.ValidatorChanges {
		if c.Validators != i+2 || c.VotingPower != int64(11+i) {
			t.Fatalf("change %d: %+v, want %d validators of power %d", i, c, i+2, 11+i)
		}
	}
	if c := rep.Checkpoints[2]; c.ValidatorsHash != rep.ValidatorChanges[1].To || c.Height <= rep.ValidatorChanges[1].Height {
		t.Fatalf("the last checkpoint %+v is not signed by the last set %+v", c, rep.ValidatorChanges[1])
	}
	early, err := cam.Export(ctx, t0, t0.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.Decode(early)
	if err != nil || b.Version() != evidence.VersionV1 || b.History != nil {
		t.Fatalf("the bundle of the clips before the change: %v, version %d", err, b.Version())
	}
	if _, err := evidence.VerifyBytes(early, evidence.Options{PinnedValidatorsHash: pin, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// generateHistoryVectors runs historyScenario, exports the bundle of all
// of it, and writes it with the attacks on its history, as bundle files.
func generateHistoryVectors(t *testing.T) {
	ctx := context.Background()
	cam, pin, added, t0 := historyScenario(t)
	bundle, err := cam.Export(ctx, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.Decode(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if b.History == nil || len(b.History.Links) != 2 {
		t.Fatalf("the exported bundle carries history %+v, want two changes", b.History)
	}
	now := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	rep, err := evidence.VerifyBytes(bundle, evidence.Options{PinnedValidatorsHash: pin, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	unpinned, err := evidence.VerifyBytes(bundle, evidence.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	pinHex := hex.EncodeToString(pin)
	set1 := strings.ToLower(rep.ValidatorChanges[0].To)

	// The attacks, each a bundle of its own.
	variants := map[string][]byte{}
	variant := func(name string, edit func(b *evidence.Bundle)) string {
		c, _ := evidence.Decode(bundle)
		edit(c)
		variants[name] = evidence.EncodeUnchecked(c)
		return name
	}
	chainID := b.LedgerChainID
	link := func(b *evidence.Bundle, i int) (*types.SignedHeader, *types.ValidatorSet) {
		sh, err := decodeHeader(b.History.Links[i].Header)
		if err != nil {
			t.Fatal(err)
		}
		before := b.History.Genesis
		if i > 0 {
			before = b.History.Links[i-1].Validators
		}
		return sh, valSet(t, before)
	}
	minted := ed25519.GenPrivKey() // the hub's own key, in no set
	mintedSet := []evidence.Validator{{KeyType: "ed25519", PubKey: minted.PubKey().Bytes(), Power: 10}}
	bcSet := func() []evidence.Validator {
		return validatorsOf(types.NewValidatorSet([]*types.Validator{
			types.NewValidator(added[0].PubKey(), 10), types.NewValidator(added[1].PubKey(), 10)}))
	}
	cases := []historyCase{
		{vectorCase: vectorCase{Comment: "as is, the genesis set pinned: verifies through both changes; the report is what it proved", Pin: pinHex, Expect: "ok", Report: rep}},
		{vectorCase: vectorCase{Comment: "as is, unpinned: self-consistent only", Expect: "ok", Report: unpinned}},
		{vectorCase: vectorCase{Comment: "pinned to the set after the first change: the history starts from the genesis set", Pin: set1, Expect: "not_pinned"},
			Reason: "the history starts from validator set"},
		{vectorCase: vectorCase{Comment: "the two changes swapped", Pin: pinHex, Expect: "history"},
			Variant: variant("bundle-v3-links-swapped.cbor", func(b *evidence.Bundle) {
				b.History.Links[0], b.History.Links[1] = b.History.Links[1], b.History.Links[0]
			}), Reason: "a change before it is missing, or the changes are out of order"},
		{vectorCase: vectorCase{Comment: "the first change removed: the second is signed by a set the history never reached", Pin: pinHex, Expect: "history"},
			Variant: variant("bundle-v3-link-removed.cbor", func(b *evidence.Bundle) { b.History.Links = b.History.Links[1:] }),
			Reason:  "a change before it is missing"},
		{vectorCase: vectorCase{Comment: "the history truncated after the first change: the last checkpoint's block is signed by a set it does not reach", Pin: pinHex, Expect: "history"},
			Variant: variant("bundle-v3-truncated.cbor", func(b *evidence.Bundle) { b.History.Links = b.History.Links[:1] }),
			Reason:  "a change before it is missing from the history"},
		{vectorCase: vectorCase{Comment: "no history at all (a version 1 bundle): the later blocks are not signed by the pinned set", Pin: pinHex, Expect: "not_pinned"},
			Variant: variant("bundle-v3-no-history.cbor", func(b *evidence.Bundle) { b.History = nil })},
		{vectorCase: vectorCase{Comment: "the hub mints a set of its own key: the first change's header re-made to name it and signed by that key in A's place", Pin: pinHex, Expect: "history"},
			Variant: variant("bundle-v3-minted-set.cbor", func(b *evidence.Bundle) {
				sh, before := link(b, 0)
				b.History.Links[0] = evidence.Link{
					Header: forgeHeader(t, chainID, sh, before, func(h *types.Header) { h.NextValidatorsHash = valSet(t, mintedSet).Hash() },
						func(int) crypto.PrivKey { return minted }),
					Validators: mintedSet}
			}), Reason: "is not signed by more than 2/3 of the voting power of the set before it"},
		{vectorCase: vectorCase{Comment: "the new validators alone (B, C) hand the ledger to a set of their own: the second change re-made, signed by B only (1 of 11)", Pin: pinHex, Expect: "history"},
			Variant: variant("bundle-v3-new-validators-alone.cbor", func(b *evidence.Bundle) {
				sh, before := link(b, 1)
				bc := bcSet()
				b.History.Links[1] = evidence.Link{
					Header: forgeHeader(t, chainID, sh, before, func(h *types.Header) { h.NextValidatorsHash = valSet(t, bc).Hash() },
						func(i int) crypto.PrivKey {
							if bytes.Equal(before.Validators[i].PubKey.Bytes(), added[0].PubKey().Bytes()) {
								return added[0]
							}
							return nil // A, the genesis validator, did not sign
						}),
					Validators: bc}
			}), Reason: "insufficient voting power"},
		{vectorCase: vectorCase{Comment: "the first change's new set replaced by the hub's own, its genuine header kept", Pin: pinHex, Expect: "history"},
			Variant: variant("bundle-v3-set-replaced.cbor", func(b *evidence.Bundle) { b.History.Links[0].Validators = mintedSet }),
			Reason:  "as the next validator set, the change carries"},
		{vectorCase: vectorCase{Comment: "the last checkpoint and its clip dropped: the second change is after every block the bundle proves, not needed", Pin: pinHex, Expect: "history"},
			Variant: variant("bundle-v3-change-not-needed.cbor", func(b *evidence.Bundle) {
				b.Checkpoints = b.Checkpoints[:2]
				b.Clips = b.Clips[:3]
			}), Reason: "a change the bundle does not need"},
		{vectorCase: vectorCase{Comment: "a change that changes nothing: the first link's set is the genesis set", Pin: pinHex, Expect: "history"},
			Variant: variant("bundle-v3-same-set.cbor", func(b *evidence.Bundle) {
				sh, before := link(b, 0)
				b.History.Links[0] = evidence.Link{
					Header: forgeHeader(t, chainID, sh, before, func(h *types.Header) { h.NextValidatorsHash = before.Hash() },
						func(int) crypto.PrivKey { return nil }),
					Validators: b.History.Genesis}
			}), Reason: "not a change"},
	}

	// Flips of single bytes of the genuine bundle's history.
	at := func(part []byte, from, n int) int {
		i := bytes.Index(bundle[from:], part)
		if i < 0 {
			t.Fatalf("part %x not in the bundle", part[:min(len(part), 8)])
		}
		return from + i + n
	}
	l0 := at(b.History.Links[0].Header, 0, 0)
	sh0, _ := decodeHeader(b.History.Links[0].Header)
	flipAt := func(comment string, off int, xor byte, expect, reason string) historyCase {
		return historyCase{vectorCase: vectorCase{Comment: comment, Pin: pinHex, Flip: &flip{Offset: off, Xor: xor}, Expect: expect}, Reason: reason}
	}
	cases = append(cases,
		flipAt("the version (3 → 7)", at([]byte(evidence.Label), 0, len(evidence.Label)), 0x04, "version", ""),
		flipAt("the version (3 → 1): a version 1 bundle is an array of 7", at([]byte(evidence.Label), 0, len(evidence.Label)), 0x02, "malformed", ""),
		flipAt("the genesis set: a public key byte", at(b.History.Genesis[0].PubKey, 0, 5), 0x01, "not_pinned", "the history starts from validator set"),
		flipAt("the first change's header: its app hash", at(sh0.AppHash, l0, 3), 0x01, "history", ""),
		flipAt("the first change's commit: a signature byte", at(sh0.Commit.Signatures[0].Signature, l0, 9), 0x01, "history", "not signed by more than 2/3"),
		flipAt("the first change's new set: a public key byte", at(b.History.Links[0].Validators[0].PubKey, l0+len(b.History.Links[0].Header), 7), 0x01, "history", ""),
		historyCase{vectorCase: vectorCase{Comment: "a trailing zero byte", Pin: pinHex, Append: "00", Expect: "malformed"}},
	)

	v := historyVectors{
		Comment: "An evidence bundle (version 3, docs/SPEC.md §10.2) made by a real camchain hub whose validator set changed twice: " +
			"record #0–#1 under a checkpoint signed by the genesis set {A}; A voted in B (power 1, never run); #2 under a checkpoint signed by {A, B}; " +
			"A voted in C; #3 under one signed by {A, B, C}. It carries the history from the genesis set: the header of each block that " +
			"names the next set, signed by the set before, with the new set. Cases: as is, pinned or not; attacks on the history, each a " +
			"bundle file of its own (variant); single-byte flips. Each names the outcome (expect) and a phrase of the error (reason). " +
			"validator_keys are B's and C's ed25519 keys, published for tests that forge with them. " +
			"Regenerate: go test ./internal/evidence -run TestHistoryVectors -update",
		Bundle: filepath.Base(historyBundle),
		Now:    now.Format(time.RFC3339),
		Cases:  cases,
		Sets:   map[string]string{"genesis {A}": rep.GenesisValidatorsHash, "{A, B}": rep.ValidatorChanges[0].To, "{A, B, C}": rep.ValidatorChanges[1].To},
	}
	for _, k := range added {
		v.Keys = append(v.Keys, hex.EncodeToString(k.Bytes()))
	}
	sum := sha256.Sum256(bundle)
	v.SHA256 = hex.EncodeToString(sum[:])
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(historyBundle, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, data := range variants {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(historyFile, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	writeHistoryFuzzSeeds(t, bundle, variants, cases)
}

// writeHistoryFuzzSeeds adds the version 3 bundle, its variants and its
// flips to FuzzDecodeBundle's seeds.
func writeHistoryFuzzSeeds(t *testing.T, bundle []byte, variants map[string][]byte, cases []historyCase) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeBundle")
	write := func(name string, data []byte) {
		s := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("v3-genuine", bundle)
	for name, data := range variants {
		if _, err := evidence.VerifyBytes(data, evidence.Options{}); err == nil {
			continue // genuine but for the pin (the bundle without its history): FuzzDecodeBundle allows no such seed
		}
		write("v3-"+strings.TrimSuffix(strings.TrimPrefix(name, "bundle-v3-"), ".cbor"), data)
	}
	for i, c := range cases {
		if c.Flip != nil || c.Append != "" {
			write(fmt.Sprintf("v3-case-%02d", i), c.apply(t, bundle))
		}
	}
}

// forgeHeader re-makes sh with edit applied and a commit for the new
// header by the validators of vals that sign gives a key for (nil: absent
// from the commit), each key signing in that validator's place.
func forgeHeader(t *testing.T, chainID string, sh *types.SignedHeader, vals *types.ValidatorSet, edit func(*types.Header), sign func(i int) crypto.PrivKey) []byte {
	t.Helper()
	h := *sh.Header
	edit(&h)
	bid := types.BlockID{Hash: h.Hash(), PartSetHeader: sh.Commit.BlockID.PartSetHeader}
	c := &types.Commit{Height: h.Height, Round: sh.Commit.Round, BlockID: bid}
	ts := h.Time.Add(time.Second)
	for i, v := range vals.Validators {
		k := sign(i)
		if k == nil {
			c.Signatures = append(c.Signatures, types.NewCommitSigAbsent())
			continue
		}
		vote := &types.Vote{Type: types.PrecommitType, Height: h.Height, Round: c.Round, BlockID: bid, Timestamp: ts,
			ValidatorAddress: v.Address, ValidatorIndex: int32(i)}
		sig, err := k.Sign(types.VoteSignBytes(chainID, vote.ToProto()))
		if err != nil {
			t.Fatal(err)
		}
		c.Signatures = append(c.Signatures, types.CommitSig{BlockIDFlag: types.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: ts, Signature: sig})
	}
	raw, err := (&types.SignedHeader{Header: &h, Commit: c}).ToProto().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func valSet(t *testing.T, vs []evidence.Validator) *types.ValidatorSet {
	t.Helper()
	out := make([]*types.Validator, len(vs))
	for i, v := range vs {
		pk, err := cryptoenc.PubKeyFromTypeAndBytes(v.KeyType, v.PubKey)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = types.NewValidator(pk, int64(v.Power))
	}
	return types.NewValidatorSet(out)
}

func validatorsOf(set *types.ValidatorSet) []evidence.Validator {
	out := make([]evidence.Validator, len(set.Validators))
	for i, v := range set.Validators {
		out[i] = evidence.Validator{KeyType: v.PubKey.Type(), PubKey: v.PubKey.Bytes(), Power: uint64(v.VotingPower)}
	}
	return out
}
