package feedchain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/keys"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

func testKey(t testing.TB, b byte) *keys.PrivateKey {
	k, err := keys.FromBytes(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// chain makes n signed records over synthetic segments.
func chain(t testing.TB, k *keys.PrivateKey, n int) ([]*Record, [][]byte) {
	var recs []*Record
	var segs [][]byte
	var head Head
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		data := bytes.Repeat([]byte{byte(i)}, 100+i)
		r := &Record{Camera: k.Address(), Epoch: 2, Seq: uint64(i), Segment: SegmentHash(data),
			Start: start.Add(time.Duration(i) * 2 * time.Second).UnixNano(), Duration: 2 * time.Second,
			Size: uint64(len(data)), Codec: "avc1.4d401e"}
		if head.Valid {
			r.Prev = head.Hash
		}
		if err := r.Sign(k); err != nil {
			t.Fatal(err)
		}
		head = HeadOf(r)
		recs = append(recs, r)
		segs = append(segs, data)
	}
	return recs, segs
}

func TestRoundTripAndChain(t *testing.T) {
	k := testKey(t, 2)
	recs, segs := chain(t, k, 5)
	var head Head
	for i, r := range recs {
		b := r.Marshal()
		p, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Marshal(), b) || p.Hash() != r.Hash() {
			t.Fatalf("record %d does not round-trip", i)
		}
		if err := Verify(p); err != nil {
			t.Fatal(err)
		}
		if err := VerifyNext(k.Address(), 2, head, p); err != nil {
			t.Fatal(err)
		}
		if err := VerifySegment(p, segs[i]); err != nil {
			t.Fatal(err)
		}
		head = HeadOf(p)
	}
}

func TestTamperIsNamed(t *testing.T) {
	k, other := testKey(t, 2), testKey(t, 3)
	recs, segs := chain(t, k, 3)
	head1 := HeadOf(recs[1])

	// A flipped bit anywhere in the body breaks the signature.
	for i := 0; i < len(recs[2].Body()); i++ {
		b := recs[2].Marshal()
		b[i] ^= 0x10
		p, err := Parse(b)
		if err != nil {
			continue // a malformed field is refused at parse time
		}
		if Verify(p) == nil {
			t.Fatalf("bit flip at body byte %d still verifies", i)
		}
	}
	// Re-signed by another key: not the camera's.
	forged := *recs[2]
	forged.Sig, _ = other.SignDigest(forged.Hash())
	if err := Verify(&forged); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("re-signed record: %v", err)
	}
	// Skipping, repeating, or pointing at the wrong parent.
	var le *LinkError
	if err := VerifyNext(k.Address(), 2, HeadOf(recs[0]), recs[2]); !errors.As(err, &le) || le.Field != "seq" {
		t.Fatalf("gap: %v", err)
	}
	if err := VerifyNext(k.Address(), 2, head1, recs[1]); !errors.As(err, &le) || le.Field != "seq" {
		t.Fatalf("repeat: %v", err)
	}
	wrongPrev := *recs[2]
	wrongPrev.Prev = recs[0].Hash()
	wrongPrev.Sign(k)
	if err := VerifyNext(k.Address(), 2, head1, &wrongPrev); !errors.As(err, &le) || le.Field != "prev" {
		t.Fatalf("wrong prev: %v", err)
	}
	if err := VerifyNext(other.Address(), 2, head1, recs[2]); !errors.As(err, &le) || le.Field != "camera" {
		t.Fatalf("other camera: %v", err)
	}
	if err := VerifyNext(k.Address(), 3, head1, recs[2]); !errors.As(err, &le) || le.Field != "epoch" {
		t.Fatalf("other epoch: %v", err)
	}
	// Segment bytes.
	var se *SegmentError
	mod := append([]byte(nil), segs[2]...)
	mod[7] ^= 1
	if err := VerifySegment(recs[2], mod); !errors.As(err, &se) || se.Field != "sha256" {
		t.Fatalf("modified segment: %v", err)
	}
	if err := VerifySegment(recs[2], segs[2][:50]); !errors.As(err, &se) || se.Field != "size" {
		t.Fatalf("truncated segment: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	k := testKey(t, 2)
	recs, _ := chain(t, k, 2)
	good := recs[1].Marshal()
	for name, b := range map[string][]byte{
		"empty":          nil,
		"short":          good[:40],
		"trailing byte":  append(append([]byte(nil), good...), 0),
		"version 2":      append([]byte{2}, good[1:]...),
		"codec too long": func() []byte { b := append([]byte(nil), good...); b[bodyFixed-1] = 200; return b }(),
	} {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	bad := *recs[1]
	bad.Codec = "avc1 4d"
	if err := bad.Sign(k); err == nil {
		t.Fatal("signed a record with a space in the codec")
	}
}

func TestAck(t *testing.T) {
	cam, hub, imp := testKey(t, 2), testKey(t, 3), testKey(t, 4)
	recs, _ := chain(t, cam, 2)
	a, err := SignAck(hub, cam.Address(), 2, 1, recs[1].Hash())
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyAck(hub.Address(), recs[1], a); err != nil {
		t.Fatal(err)
	}
	var ae *AckError
	if err := VerifyAck(imp.Address(), recs[1], a); !errors.As(err, &ae) {
		t.Fatalf("ack by another key: %v", err)
	}
	diverged, _ := SignAck(hub, cam.Address(), 2, 1, recs[0].Hash())
	if err := VerifyAck(hub.Address(), recs[1], diverged); !errors.As(err, &ae) {
		t.Fatalf("ack with another head: %v", err)
	}
	if err := VerifyAck(hub.Address(), recs[0], a); !errors.As(err, &ae) {
		t.Fatalf("ack for another seq: %v", err)
	}
}

type vector struct {
	Comment    string   `json:"comment"`
	CameraKey  string   `json:"camera_private_key"`
	Segments   []string `json:"segments_hex"`
	Records    []string `json:"records_hex"`
	Hashes     []string `json:"record_hashes"`
	AckHubKey  string   `json:"hub_private_key"`
	AckDigest1 string   `json:"ack_digest_seq1"`
}

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	cam, hub := testKey(t, 2), testKey(t, 3)
	recs, segs := chain(t, cam, 3)
	if *update {
		v := vector{Comment: "feed chain vectors; docs/SPEC.md §6. Regenerate: go test ./internal/feedchain -run TestVectors -update",
			CameraKey: "0x" + hex.EncodeToString(bytes.Repeat([]byte{2}, 32)), AckHubKey: "0x" + hex.EncodeToString(bytes.Repeat([]byte{3}, 32))}
		for i, r := range recs {
			v.Segments = append(v.Segments, hex.EncodeToString(segs[i]))
			v.Records = append(v.Records, hex.EncodeToString(r.Marshal()))
			h := r.Hash()
			v.Hashes = append(v.Hashes, hex.EncodeToString(h[:]))
		}
		d := AckDigest(cam.Address(), 2, 1, recs[1].Hash())
		v.AckDigest1 = hex.EncodeToString(d[:])
		b, _ := json.MarshalIndent(v, "", "  ")
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var head Head
	for i, rh := range v.Records {
		raw, _ := hex.DecodeString(rh)
		r, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		seg, _ := hex.DecodeString(v.Segments[i])
		if err := Verify(r); err != nil {
			t.Fatal(err)
		}
		if err := VerifyNext(cam.Address(), 2, head, r); err != nil {
			t.Fatal(err)
		}
		if err := VerifySegment(r, seg); err != nil {
			t.Fatal(err)
		}
		h := r.Hash()
		if hex.EncodeToString(h[:]) != v.Hashes[i] {
			t.Fatalf("record %d hash %x, vector %s", i, h, v.Hashes[i])
		}
		if !bytes.Equal(recs[i].Marshal(), raw) {
			t.Fatalf("record %d: signing today gives different bytes than the vector", i)
		}
		head = HeadOf(r)
	}
	d := AckDigest(cam.Address(), 2, 1, recs[1].Hash())
	if hex.EncodeToString(d[:]) != v.AckDigest1 {
		t.Fatal("ack digest differs from the vector")
	}
	_ = hub
}

// FuzzParse: Parse never panics, and what it accepts round-trips exactly.
func FuzzParse(f *testing.F) {
	k := testKey(f, 2)
	recs, _ := chain(f, k, 2)
	for _, r := range recs {
		f.Add(r.Marshal())
	}
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("accepted input does not round-trip")
		}
		_ = Verify(r) // must not panic
	})
}

// The one hash type renders as 0x and 64 lowercase hex digits in JSON, and
// reads back only that.
func TestHashText(t *testing.T) {
	h := Hash{0xab, 0x01}
	h[31] = 0xff
	b, err := json.Marshal(struct{ H Hash }{h})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"H":"0xab01` + strings.Repeat("00", 29) + `ff"}`
	if string(b) != want {
		t.Fatalf("json %s, want %s", b, want)
	}
	var back struct{ H Hash }
	if err := json.Unmarshal(b, &back); err != nil || back.H != h {
		t.Fatalf("read back %x, %v; want %x", back.H, err, h)
	}
	hexDigits := strings.Repeat("00", 32)
	for _, bad := range []string{hexDigits, "0x" + hexDigits[2:], "0x" + hexDigits + "00", "0x" + hexDigits[2:] + "zz", "0X" + hexDigits} {
		var x Hash
		if err := x.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
