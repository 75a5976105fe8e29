package feedchain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// chainV2 makes the version 2 vector chain: main and sub stream records
// interleaved, one with audio, clocks from arrival, from RTCP and from
// an NTP-synchronised arrival clock.
func chainV2(t testing.TB) ([]*Record, [][]byte) {
	k := testKey(t, 2)
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	specs := []struct {
		stream Stream
		clock  ClockSource
		codec  string
	}{
		{StreamMain, ClockArrival, "avc1.64001f,mp4a.40.2"},
		{StreamSub, ClockArrival, "avc1.42c01e"},
		{StreamMain, ClockRTCP, "hvc1.1.6.L93.B0,opus"},
		{StreamSub, ClockRTCP, "hvc1.1.6.L63.B0"},
		{StreamMain, ClockArrivalSynced, "avc1.64001f"},
	}
	var recs []*Record
	var segs [][]byte
	var head Head
	for i, sp := range specs {
		data := bytes.Repeat([]byte{byte(0xa0 + i)}, 200+i)
		r := &Record{Version: Version2, Camera: k.Address(), Epoch: 3, Seq: uint64(i), Segment: SegmentHash(data),
			Start: start.Add(time.Duration(i/2) * time.Second).UnixNano(), Duration: time.Second,
			Size: uint64(len(data)), Codec: sp.codec, Stream: sp.stream, Clock: sp.clock}
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

type vectorV2 struct {
	Comment   string   `json:"comment"`
	CameraKey string   `json:"camera_private_key"`
	Segments  []string `json:"segments_hex"`
	Records   []string `json:"records_hex"`
	Bodies    []string `json:"bodies_hex"`
	Hashes    []string `json:"record_hashes"`
	// Invalid are encodings every parser must refuse, each with why.
	Invalid []struct {
		Hex string `json:"hex"`
		Why string `json:"why"`
	} `json:"invalid"`
}

// invalidV2 corrupts the first v2 record one field at a time.
func invalidV2(t testing.TB, r *Record) map[string][]byte {
	out := map[string][]byte{}
	b := r.Marshal()
	streamAt := bodyFixed - 1 // stream and clock come where v1's codecLen was
	set := func(why string, at int, v byte) {
		c := bytes.Clone(b)
		c[at] = v
		out[why] = c
	}
	set("unknown stream 2", streamAt, 2)
	set("clock source 0 in a version 2 record", streamAt+1, 0)
	set("unknown clock source 4", streamAt+1, 4)
	set("unknown version 3", 0, 3)
	v1 := bytes.Clone(b)
	v1[0] = Version1 // the v2 bytes read as v1: lengths disagree
	out["version 2 body labelled version 1"] = v1
	out["trailing byte"] = append(bytes.Clone(b), 0)
	bad := *r
	bad.Codec = "avc1.64001f,"
	out["codec list ending in a comma"] = bad.Marshal()
	bad.Codec = "avc1.64001f,,opus"
	out["empty codec in the list"] = bad.Marshal()
	bad.Version, bad.Stream, bad.Clock, bad.Codec = Version1, StreamMain, ClockUnknown, "avc1.64001f,mp4a.40.2"
	out["comma in a version 1 codec"] = bad.Marshal()
	return out
}

func TestVectorsV2(t *testing.T) {
	path := filepath.Join("testdata", "vectors_v2.json")
	recs, segs := chainV2(t)
	if *update {
		v := vectorV2{Comment: "feed chain record version 2 vectors; docs/SPEC.md §6.1. Camera key 0x0202…02, epoch 3. Regenerate: go test ./internal/feedchain -run TestVectorsV2 -update",
			CameraKey: "0x" + hex.EncodeToString(bytes.Repeat([]byte{2}, 32))}
		for i, r := range recs {
			v.Segments = append(v.Segments, hex.EncodeToString(segs[i]))
			v.Records = append(v.Records, hex.EncodeToString(r.Marshal()))
			v.Bodies = append(v.Bodies, hex.EncodeToString(r.Body()))
			h := r.Hash()
			v.Hashes = append(v.Hashes, hex.EncodeToString(h[:]))
		}
		for why, b := range invalidV2(t, recs[0]) {
			v.Invalid = append(v.Invalid, struct {
				Hex string `json:"hex"`
				Why string `json:"why"`
			}{hex.EncodeToString(b), why})
		}
		sort.Slice(v.Invalid, func(i, j int) bool { return v.Invalid[i].Why < v.Invalid[j].Why })
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorV2
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Records) != len(recs) || len(v.Invalid) == 0 {
		t.Fatalf("%d records, %d invalid in the vectors", len(v.Records), len(v.Invalid))
	}
	var head Head
	for i, rh := range v.Records {
		raw, _ := hex.DecodeString(rh)
		r, err := Parse(raw)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if r.Version != Version2 || r.Stream != recs[i].Stream || r.Clock != recs[i].Clock || r.Codec != recs[i].Codec {
			t.Fatalf("record %d parsed as %+v", i, r)
		}
		seg, _ := hex.DecodeString(v.Segments[i])
		if err := Verify(r); err != nil {
			t.Fatal(err)
		}
		if err := VerifyNext(r.Camera, 3, head, r); err != nil {
			t.Fatal(err)
		}
		if err := VerifySegment(r, seg); err != nil {
			t.Fatal(err)
		}
		if h := r.Hash(); hex.EncodeToString(h[:]) != v.Hashes[i] || hex.EncodeToString(r.Body()) != v.Bodies[i] {
			t.Fatalf("record %d: hash or body differs from the vector", i)
		}
		if !bytes.Equal(recs[i].Marshal(), raw) {
			t.Fatalf("record %d: signing today gives different bytes than the vector", i)
		}
		head = HeadOf(r)
	}
	for _, bad := range v.Invalid {
		raw, _ := hex.DecodeString(bad.Hex)
		if _, err := Parse(raw); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
			t.Errorf("%s: Parse gave %v, want a refusal", bad.Why, err)
		}
	}
}

// A version 1 record keeps its hash and bytes: today's stores verify.
func TestVersion1Unchanged(t *testing.T) {
	recs, _ := chain(t, testKey(t, 2), 1)
	r := recs[0]
	if r.Marshal()[0] != Version1 {
		t.Fatal("a record without a version is not written as version 1")
	}
	p, err := Parse(r.Marshal())
	if err != nil || p.Version != Version1 || p.Hash() != r.Hash() || Verify(p) != nil {
		t.Fatalf("v1 round trip: %v", err)
	}
	bad := *r
	bad.Stream = StreamSub
	if err := bad.Sign(testKey(t, 2)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("signed a v1 record with a stream: %v", err)
	}
}

func FuzzParseV2(f *testing.F) {
	recs, _ := chainV2(f)
	for _, r := range recs {
		f.Add(r.Marshal())
	}
	for _, b := range invalidV2(f, recs[0]) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("accepted input does not round-trip")
		}
		_ = Verify(r)
	})
}
