package export

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

var updateKeysSeeds = flag.Bool("update-keys-seeds", false, "rewrite testdata/fuzz/FuzzDecodeKeys")

// A decrypted clip seals again, with its disclosed key and layout, into
// exactly the bytes its record hashes (whole, and in parts); the keys file
// round-trips and its decoder refuses what Save never writes.
func TestKeysReseal(t *testing.T) {
	cam, _ := keys.Generate()
	ck, _ := e2ee.NewContentKey(cam.Address(), 0, 3)
	plain := sampleSegment(t)
	var valid [][]byte
	for _, layout := range []e2ee.Layout{nil, {100, 2000, len(plain) - 2100}} {
		sk, _ := ck.Segment(feedchain.StreamMain, 7)
		sealed, err := sk.SealLayout(plain, layout)
		if err != nil {
			t.Fatal(err)
		}
		got, l, err := sk.OpenLayout(sealed)
		if err != nil || !bytes.Equal(got, plain) || len(l) != len(layout) {
			t.Fatalf("layout %v: open %v, layout %v", layout, err, l)
		}
		r := &feedchain.Record{Camera: cam.Address(), Epoch: 0, Seq: 7, Stream: feedchain.StreamMain, Size: uint64(len(sealed))}
		c := clipKey(7, sk, l)
		raw, err := encodeKeys([]ClipKey{c, {Seq: 8, Key: []byte{}, Parts: []uint64{}}})
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, raw)
		ks, err := decodeKeys(raw)
		if err != nil || len(ks) != 2 || !ks[1].clear() {
			t.Fatalf("decode: %v", err)
		}
		n, err := ks[0].plainSize(r.Size)
		if err != nil || n != uint64(len(plain)) {
			t.Fatalf("plain size %d, %v", n, err)
		}
		again, err := ks[0].reseal(r, plain)
		if err != nil || !bytes.Equal(again, sealed) {
			t.Fatalf("layout %v: resealed bytes differ: %v", layout, err)
		}
		flipped := bytes.Clone(plain)
		flipped[len(flipped)/2] ^= 1
		if again, _ := ks[0].reseal(r, flipped); bytes.Equal(again, sealed) {
			t.Fatal("a changed plaintext sealed into the same bytes")
		}
	}
	bad := map[string][]byte{}
	for name, c := range map[string]ClipKey{
		"short key":          {Seq: 1, Key: make([]byte, 31), Whole: 1, Parts: []uint64{}},
		"whole with parts":   {Seq: 1, Key: make([]byte, 32), Whole: 1, Parts: []uint64{5}},
		"parts without any":  {Seq: 1, Key: make([]byte, 32), Whole: 0, Parts: []uint64{}},
		"whole = 2":          {Seq: 1, Key: make([]byte, 32), Whole: 2, Parts: []uint64{}},
		"clear but a length": {Seq: 1, Key: []byte{}, Parts: []uint64{4}},
	} {
		raw, _ := keysEnc.Marshal(keysFile{Version: KeysVersion, Clips: []ClipKey{c}})
		bad[name] = raw
		if _, err := decodeKeys(raw); !errors.Is(err, ErrKeys) {
			t.Errorf("%s: %v, want ErrKeys", name, err)
		}
	}
	v2, _ := keysEnc.Marshal(keysFile{Version: 2, Clips: []ClipKey{}})
	bad["version 2"] = v2
	bad["trailing byte"] = append(bytes.Clone(valid[0]), 0)
	for name, raw := range bad {
		if _, err := decodeKeys(raw); !errors.Is(err, ErrKeys) {
			t.Errorf("%s: %v, want ErrKeys", name, err)
		}
	}
	if *updateKeysSeeds {
		dir := filepath.Join("testdata", "fuzz", "FuzzDecodeKeys")
		os.MkdirAll(dir, 0o755)
		for i, raw := range valid {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("valid-%d", i)), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", raw)), 0o644)
		}
		i := 0
		for _, raw := range bad {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("invalid-%02d", i)), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", raw)), 0o644)
			i++
		}
	}
}

// FuzzDecodeKeys: arbitrary bytes either decode to a keys file that
// encodes to the same bytes, or are refused with ErrKeys. Seeds:
// testdata/fuzz/FuzzDecodeKeys.
func FuzzDecodeKeys(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := decodeKeys(b)
		if err != nil {
			if !errors.Is(err, ErrKeys) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := encodeKeys(ks)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatal("accepted a keys file that does not encode back to itself")
		}
	})
}
