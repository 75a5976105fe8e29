package evidence

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"
)

var updateHostile = flag.Bool("update-hostile", false, "rewrite the hostile seeds of FuzzDecodeBundle (testdata/fuzz/FuzzDecodeBundle/hostile-*)")

// decodeAllocBound is what Decode may allocate for an input of n bytes
// (decode.go's promise, docs/SPEC.md §10.5).
func decodeAllocBound(n int) uint64 {
	return uint64(MaxDecodeAllocRatio*float64(n)) + MaxDecodeAllocFixed
}

// decodeAlloc is the number of bytes Decode allocates for data.
func decodeAlloc(data []byte) uint64 {
	got, _ := decodeAllocErr(data)
	return got
}

func decodeAllocErr(data []byte) (uint64, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decode(data)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// minimalResults is n results of 5 bytes each: [0, h”, 0, 0].
func minimalResults(n int) Results {
	return Results{n: n, enc: bytes.Repeat([]byte{0x84, 0x00, 0x40, 0x00, 0x00}, n)}
}

func hostileWire(cks []Checkpoint, clips []Clip) []byte {
	out, err := encMode.Marshal(wireBundle{Label: Label, Version: VersionV1, LedgerChainID: "camchain-1",
		Camera: make([]byte, 20), Epoch: 1, Checkpoints: cks, Clips: clips})
	if err != nil {
		panic(err)
	}
	return out
}

// hostileBundles are inputs shaped to make a decoder allocate: the largest
// lists of the smallest elements each list allows, lists that claim more
// elements than the input holds, and the shapes that made the old decoder
// allocate ten times its input (lists of empty byte strings). scale 1 makes
// seeds of a few KiB; the allocation test uses larger ones.
func hostileBundles(scale int) map[string][]byte {
	val := Validator{KeyType: "ed25519", PubKey: make([]byte, MinPubKeyBytes), Power: 1}
	vals := func(n int) []Validator {
		vs := make([]Validator, n)
		for i := range vs {
			vs[i] = val
		}
		return vs
	}
	ck := func(nVals, nResults, nAunts int) Checkpoint {
		aunts := make([][]byte, nAunts)
		for i := range aunts {
			aunts[i] = make([]byte, HashSize)
		}
		return Checkpoint{Tx: []byte{1}, TxProof: TxProof{RootHash: make([]byte, 32), Total: 1, LeafHash: make([]byte, 32), Aunts: aunts},
			Header: []byte{1}, Validators: vals(nVals), NextHeader: []byte{1}, NextValidators: vals(nVals), Results: minimalResults(nResults)}
	}
	clip := Clip{Record: []byte{1}}
	out := map[string][]byte{}

	// A million-ish results of 5 bytes (48 bytes each as Go structs).
	out["results"] = hostileWire([]Checkpoint{ck(1, 1000*scale, 0)}, []Clip{clip})
	// Validator sets as large as allowed, of the smallest validators.
	cks := make([]Checkpoint, scale)
	for i := range cks {
		cks[i] = ck(min(MaxValidators, 100*scale), 1, 0)
	}
	out["validators"] = hostileWire(cks, []Clip{clip})
	// Every checkpoint with the most aunts.
	cks = make([]Checkpoint, min(MaxCheckpoints, 4*scale))
	for i := range cks {
		cks[i] = ck(1, 1, MaxAunts)
	}
	out["aunts"] = hostileWire(cks, []Clip{clip})
	// The most clips, each as small as it gets.
	clips := make([]Clip, min(MaxClips, 100*scale))
	for i := range clips {
		clips[i] = Clip{LeafIndex: uint64(i), Record: []byte{1}}
	}
	out["clips"] = hostileWire([]Checkpoint{ck(1, 1, 0)}, clips)
	// What the old decoder took at ten times its size: a list of empty byte
	// strings where aunts go (24 bytes of slice header per input byte).
	c := ck(1, 1, 0)
	c.TxProof.Aunts = make([][]byte, 1000*scale)
	out["empty-aunts"] = hostileWire([]Checkpoint{c}, []Clip{clip})
	// Validators with one-byte keys (48 bytes of Go per 6 of input).
	c = ck(1, 1, 0)
	c.Validators = make([]Validator, min(MaxValidators, 100*scale))
	for i := range c.Validators {
		c.Validators[i] = Validator{KeyType: "x", PubKey: []byte{1}, Power: 1}
	}
	out["short-keys"] = hostileWire([]Checkpoint{c}, []Clip{clip})
	// Version 3: the most changes of the smallest kind (a one-byte header,
	// a set of one), and the genesis set as large as allowed.
	links := make([]Link, min(MaxValidatorChanges, 10*scale))
	for i := range links {
		links[i] = Link{Header: []byte{1}, Validators: vals(1)}
	}
	out["history-links"] = EncodeUnchecked(&Bundle{LedgerChainID: "camchain-1", Epoch: 1,
		History: &History{Genesis: vals(min(MaxValidators, 100*scale)), Links: links}, Checkpoints: []Checkpoint{ck(1, 1, 0)}, Clips: []Clip{clip}})
	// List heads that claim more elements than there are bytes.
	short := hostileWire([]Checkpoint{ck(1, 1, 0)}, []Clip{clip})
	i := bytes.Index(short, []byte{0x81, 0x84, 0x00, 0x40, 0x00, 0x00}) // results: [result]
	liar := append(append(append([]byte{}, short[:i]...), 0x1a, 0x00, 0x0f, 0xff, 0xff), short[i+1:]...)
	liar[i] = 0x9a // array(0x000fffff): 2^20 - 1 results in 5 bytes
	out["results-head-lies"] = liar
	return out
}

// TestDecodeAllocationBounded decodes hostile bundles and checks that Decode
// allocates no more than MaxDecodeAllocRatio × the input plus
// MaxDecodeAllocFixed: the attack of issue 9 (a 40 MiB bundle that made the
// decoder allocate 384 MiB), tried with the shapes that cost a decoder most.
func TestDecodeAllocationBounded(t *testing.T) {
	golden, err := os.ReadFile("testdata/bundle-v1.cbor")
	if err != nil {
		t.Fatal(err)
	}
	inputs := hostileBundles(100)
	inputs["genuine"] = golden
	big := make([]Checkpoint, 1)
	big[0] = Checkpoint{Tx: []byte{1}, TxProof: TxProof{RootHash: make([]byte, 32), Total: 1, LeafHash: make([]byte, 32)},
		Header: []byte{1}, Validators: []Validator{{KeyType: "ed25519", PubKey: make([]byte, 32), Power: 1}},
		NextHeader: []byte{1}, NextValidators: []Validator{{KeyType: "ed25519", PubKey: make([]byte, 32), Power: 1}},
		Results: minimalResults(1)}
	inputs["one-big-segment"] = hostileWire(big, []Clip{{Record: []byte{1}, Segment: make([]byte, 16<<20)}})
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			got, err := decodeAllocErr(data)
			bound := decodeAllocBound(len(data))
			t.Logf("%d bytes in, %d bytes allocated (%.2f×), bound %d; %v", len(data), got, float64(got)/float64(len(data)), bound, err)
			if got > bound {
				t.Fatalf("Decode allocated %d bytes for %d bytes of input, over the bound of %d", got, len(data), bound)
			}
			if name == "genuine" && err != nil {
				t.Fatalf("the genuine bundle does not decode: %v", err)
			}
			if name != "genuine" && err == nil {
				b, _ := Decode(data)
				if _, err := Verify(b, Options{}); err == nil {
					t.Fatal("a hostile bundle verifies")
				}
			}
		})
	}
}

// TestHostileSeeds keeps the small hostile bundles among the seeds of
// FuzzDecodeBundle, so every go test runs them under the memory bound.
func TestHostileSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeBundle")
	for name, data := range hostileBundles(1) {
		path := filepath.Join(dir, "hostile-"+name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if *updateHostile {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("seed %s is missing or stale (%v): run go test ./internal/evidence -run TestHostileSeeds -update-hostile", path, err)
		}
	}
}

// TestResultsHashIsCometBFTs checks the streaming results hash against
// CometBFT's own, for sizes around every power of two up to 70.
func TestResultsHashIsCometBFTs(t *testing.T) {
	for n := 0; n <= 70; n++ {
		full := make([]*abci.ExecTxResult, n)
		rs := make([]TxResult, n)
		for i := range rs {
			rs[i] = TxResult{Code: uint32(i % 3), Data: bytes.Repeat([]byte{byte(i)}, i%4), GasWanted: int64(i) - 5, GasUsed: int64(i * 7)}
			full[i] = &abci.ExecTxResult{Code: rs[i].Code, Data: rs[i].Data, GasWanted: rs[i].GasWanted, GasUsed: rs[i].GasUsed, Log: "not hashed"}
		}
		r, err := NewResults(rs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := resultsHash(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := types.NewResults(full).Hash(); !bytes.Equal(got, want) {
			t.Fatalf("%d results: hash %X, CometBFT's is %X", n, got, want)
		}
		if rt := r.List(); n > 0 && (rt[n-1].GasWanted != rs[n-1].GasWanted || !bytes.Equal(rt[n-1].Data, rs[n-1].Data)) {
			t.Fatalf("%d results: List gives %+v, want %+v", n, rt[n-1], rs[n-1])
		}
	}
}

// WriteTo writes exactly Encode's bytes, whether the clips carry their
// segments or WriteTo fetches them.
func TestWriteToIsEncode(t *testing.T) {
	golden, err := os.ReadFile("testdata/bundle-v1.cbor")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(golden)
	if err != nil {
		t.Fatal(err)
	}
	segs := map[uint64][]byte{}
	lazy := *b
	lazy.Clips = append([]Clip(nil), b.Clips...)
	for i := range lazy.Clips {
		segs[lazy.Clips[i].LeafIndex] = lazy.Clips[i].Segment
		lazy.Clips[i].Segment = nil
	}
	for name, bb := range map[string]*Bundle{"whole": b, "lazy": &lazy} {
		var buf bytes.Buffer
		n, err := bb.WriteTo(&buf, func(seq uint64) ([]byte, error) { return segs[seq], nil })
		if err != nil || n != int64(len(golden)) || !bytes.Equal(buf.Bytes(), golden) {
			t.Fatalf("%s: WriteTo wrote %d bytes (%v), not the bundle's %d", name, n, err, len(golden))
		}
		// What a hub sends as Content-Length, before reading a segment.
		if l, err := bb.EncodedLen(); err != nil || l != int64(len(golden)) {
			t.Fatalf("%s: EncodedLen %d (%v), WriteTo writes %d", name, l, err, len(golden))
		}
	}
	if lazy.Clips[0].Segment != nil {
		t.Fatal("WriteTo kept a segment in the bundle")
	}
	if _, err := lazy.WriteTo(io.Discard, func(uint64) ([]byte, error) { return nil, os.ErrNotExist }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a segment that cannot be read: %v", err)
	}
}

// EncodedLen counts what WriteTo writes for every bundle of testdata that
// WriteTo writes (those with reveals it refuses, and so does EncodedLen),
// its segments held or left to be read.
func TestEncodedLenIsWriteTo(t *testing.T) {
	files, err := filepath.Glob("testdata/*.cbor")
	if err != nil || len(files) < 3 {
		t.Fatalf("testdata bundles: %v %v", files, err)
	}
	counted := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Decode(data)
		if err != nil {
			continue // a vector that does not decode
		}
		var buf bytes.Buffer
		n, werr := b.WriteTo(&buf, nil)
		lazy := *b
		lazy.Clips = append([]Clip(nil), b.Clips...)
		for i := range lazy.Clips {
			lazy.Clips[i].Segment = nil
		}
		for name, bb := range map[string]*Bundle{"whole": b, "lazy": &lazy} {
			l, err := bb.EncodedLen()
			if (err != nil) != (werr != nil) || l != n {
				t.Errorf("%s %s: EncodedLen %d (%v), WriteTo %d (%v)", f, name, l, err, n, werr)
			}
		}
		if werr == nil {
			counted++
		}
	}
	if counted < 2 {
		t.Fatalf("only %d bundles of testdata checked", counted)
	}
}
