package feedchain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// partsChain makes the parts vectors: records 0 and 1 of a main chain
// (camera key 0x0202…02, epoch 3), record 0's segment in one part, record
// 1's in three, and the first part of record 2, whose segment is still
// open.
func partsChain(t testing.TB) (recs []*Record, segs [][]byte, parts [][]*Part, partData [][][]byte) {
	k := testKey(t, 2)
	start := time.Date(2026, 12, 2, 21, 0, 0, 0, time.UTC)
	splits := [][]int{{50}, {100, 120, 80}, {64}}
	var head Head
	for i, sizes := range splits {
		var data []byte
		var ps []*Part
		var pd [][]byte
		var prev *Part
		for j, n := range sizes {
			b := bytes.Repeat([]byte{byte(0x10*i + j + 1)}, n)
			p := &Part{Camera: k.Address(), Epoch: 3, Stream: StreamMain, Index: uint32(j), Offset: uint64(len(data)),
				Size: uint32(n), Data: SegmentHash(b)}
			if head.Valid {
				p.Seq, p.Prev = head.Seq+1, head.Hash
			}
			if prev != nil {
				p.PrevPart = prev.Hash()
			}
			if err := p.Sign(k); err != nil {
				t.Fatal(err)
			}
			data = append(data, b...)
			ps, pd, prev = append(ps, p), append(pd, b), p
		}
		parts, partData = append(parts, ps), append(partData, pd)
		if i == len(splits)-1 {
			break // the open segment: parts, no record yet
		}
		r := &Record{Version: Version2, Camera: k.Address(), Epoch: 3, Segment: SegmentHash(data),
			Start: start.Add(time.Duration(i) * 2 * time.Second).UnixNano(), Duration: 2 * time.Second,
			Size: uint64(len(data)), Codec: "avc1.64001f", Stream: StreamMain, Clock: ClockArrival}
		if head.Valid {
			r.Seq, r.Prev = head.Seq+1, head.Hash
		}
		if err := r.Sign(k); err != nil {
			t.Fatal(err)
		}
		head = HeadOf(r)
		recs, segs = append(recs, r), append(segs, data)
	}
	return recs, segs, parts, partData
}

// invalidParts corrupts record 1's part 1 one field at a time: encodings
// every parser must refuse.
func invalidParts(p *Part) map[string][]byte {
	b := p.Marshal()
	out := map[string][]byte{}
	set := func(why string, at int, v byte) {
		c := bytes.Clone(b)
		c[at] = v
		out[why] = c
	}
	const streamAt, seqAt, prevAt = 29, 30, 38
	const indexAt = prevAt + 32
	const prevPartAt = indexAt + 4
	const offsetAt = prevPartAt + 32
	const sizeAt = offsetAt + 8
	set("unknown version 2", 0, 2)
	set("unknown stream 2", streamAt, 2)
	c := bytes.Clone(b)
	copy(c[indexAt:], []byte{0, 0, 0, 0})
	out["part 0 with a prevPart and an offset"] = c
	c = bytes.Clone(b)
	clear(c[prevPartAt : prevPartAt+32])
	out["part 1 with a zero prevPart"] = c
	c = bytes.Clone(b)
	clear(c[offsetAt : offsetAt+8])
	out["part 1 at offset 0"] = c
	c = bytes.Clone(b)
	clear(c[sizeAt : sizeAt+4])
	out["a part of 0 bytes"] = c
	c = bytes.Clone(b)
	copy(c[sizeAt:], []byte{0x02, 0, 0, 1})
	out["a part over the 32 MiB segment limit"] = c
	c = bytes.Clone(b)
	copy(c[offsetAt:], []byte{0, 0, 0, 0, 0x02, 0, 0, 0})
	out["a part ending past the 32 MiB segment limit"] = c
	c = bytes.Clone(b)
	clear(c[seqAt : seqAt+8])
	out["a part of record 0 with a prev"] = c
	c = bytes.Clone(b)
	clear(c[prevAt : prevAt+32])
	out["a part of record 1 with a zero prev"] = c
	out["trailing byte"] = append(bytes.Clone(b), 0)
	out["truncated"] = b[:len(b)-1]
	return out
}

type partVectors struct {
	Comment   string `json:"comment"`
	CameraKey string `json:"camera_private_key"`
	Records   []struct {
		Record  string `json:"record_hex"`
		Hash    string `json:"record_hash"`
		Segment string `json:"segment_hex"`
	} `json:"records"`
	// Parts[i] are the parts of record i's segment (the last: of the
	// record after them, still open).
	Parts [][]struct {
		Statement string `json:"statement_hex"`
		Body      string `json:"body_hex"`
		Hash      string `json:"part_hash"`
		Data      string `json:"data_hex"`
	} `json:"parts"`
	Invalid []struct {
		Hex string `json:"hex"`
		Why string `json:"why"`
	} `json:"invalid"`
}

func TestPartVectors(t *testing.T) {
	path := filepath.Join("testdata", "parts.json")
	recs, segs, parts, partData := partsChain(t)
	if *update {
		v := partVectors{Comment: "part statements (docs/SPEC.md §7.3): records 0 and 1 of a main chain, camera key 0x0202…02, epoch 3; record 0's segment in 1 part, record 1's in 3, and part 0 of record 2 (open). Regenerate: go test ./internal/feedchain -run TestPartVectors -update",
			CameraKey: "0x" + hex.EncodeToString(bytes.Repeat([]byte{2}, 32))}
		for i, r := range recs {
			h := r.Hash()
			v.Records = append(v.Records, struct {
				Record  string `json:"record_hex"`
				Hash    string `json:"record_hash"`
				Segment string `json:"segment_hex"`
			}{hex.EncodeToString(r.Marshal()), hex.EncodeToString(h[:]), hex.EncodeToString(segs[i])})
		}
		for i, ps := range parts {
			var row []struct {
				Statement string `json:"statement_hex"`
				Body      string `json:"body_hex"`
				Hash      string `json:"part_hash"`
				Data      string `json:"data_hex"`
			}
			for j, p := range ps {
				h := p.Hash()
				row = append(row, struct {
					Statement string `json:"statement_hex"`
					Body      string `json:"body_hex"`
					Hash      string `json:"part_hash"`
					Data      string `json:"data_hex"`
				}{hex.EncodeToString(p.Marshal()), hex.EncodeToString(p.Body()), hex.EncodeToString(h[:]), hex.EncodeToString(partData[i][j])})
			}
			v.Parts = append(v.Parts, row)
		}
		for why, b := range invalidParts(parts[1][1]) {
			v.Invalid = append(v.Invalid, struct {
				Hex string `json:"hex"`
				Why string `json:"why"`
			}{hex.EncodeToString(b), why})
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v partVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Records) != 2 || len(v.Parts) != 3 || len(v.Invalid) < 10 {
		t.Fatalf("vectors hold %d records, %d part lists, %d invalid", len(v.Records), len(v.Parts), len(v.Invalid))
	}
	cam := testKey(t, 2).Address()
	var head Head
	for i, row := range v.Parts {
		var prev *Part
		var joined []byte
		for j, e := range row {
			raw, _ := hex.DecodeString(e.Statement)
			p, err := ParsePart(raw)
			if err != nil {
				t.Fatalf("part %d of segment %d: %v", j, i, err)
			}
			if !bytes.Equal(p.Marshal(), raw) || hex.EncodeToString(p.Body()) != e.Body {
				t.Fatalf("part %d of segment %d does not round-trip", j, i)
			}
			if h := p.Hash(); hex.EncodeToString(h[:]) != e.Hash {
				t.Fatalf("part %d of segment %d: hash differs from the vector", j, i)
			}
			data, _ := hex.DecodeString(e.Data)
			if err := VerifyPart(p); err != nil {
				t.Fatal(err)
			}
			if err := VerifyPartNext(cam, 3, StreamMain, head, prev, p); err != nil {
				t.Fatal(err)
			}
			if err := VerifyPartData(p, data); err != nil {
				t.Fatal(err)
			}
			joined, prev = append(joined, data...), p
		}
		if i == len(v.Records) {
			break
		}
		raw, _ := hex.DecodeString(v.Records[i].Record)
		r, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifySealed(prev, r); err != nil {
			t.Fatal(err)
		}
		if err := VerifySegment(r, joined); err != nil {
			t.Fatalf("record %d does not bind its parts: %v", i, err)
		}
		head = HeadOf(r)
	}
	for _, inv := range v.Invalid {
		raw, _ := hex.DecodeString(inv.Hex)
		if _, err := ParsePart(raw); err == nil {
			t.Errorf("accepted an invalid part statement: %s", inv.Why)
		}
	}
}

// TestPartBreaks: each way a part can fail to follow, or to match its
// bytes or its record, is named by its field.
func TestPartBreaks(t *testing.T) {
	recs, _, parts, data := partsChain(t)
	cam := testKey(t, 2).Address()
	other := testKey(t, 9)
	h0 := HeadOf(recs[0])
	p0, p1, p2 := parts[1][0], parts[1][1], parts[1][2]
	resign := func(p *Part, k func(*Part)) *Part {
		c := *p
		k(&c)
		if err := c.Sign(testKey(t, 2)); err != nil {
			t.Fatal(err)
		}
		return &c
	}
	field := func(err error) string {
		var pe *PartError
		if !errors.As(err, &pe) {
			return "not a PartError: " + err.Error()
		}
		return pe.Field
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"part 1 first", VerifyPartNext(cam, 3, StreamMain, h0, nil, p1), "index"},
		{"part 0 of record 1 on an empty chain", VerifyPartNext(cam, 3, StreamMain, Head{}, nil, p0), "seq"},
		{"part 0 after another head", VerifyPartNext(cam, 3, StreamMain, Head{Valid: true, Seq: 0, Hash: p0.Data}, nil, p0), "prev"},
		{"parts swapped", VerifyPartNext(cam, 3, StreamMain, h0, p0, p2), "index"},
		{"part replayed", VerifyPartNext(cam, 3, StreamMain, h0, p1, p1), "index"},
		{"another camera", VerifyPartNext(other.Address(), 3, StreamMain, h0, nil, p0), "camera"},
		{"another epoch", VerifyPartNext(cam, 4, StreamMain, h0, nil, p0), "epoch"},
		{"another stream", VerifyPartNext(cam, 3, StreamSub, h0, nil, p0), "stream"},
		{"a part of another version of the segment", VerifyPartNext(cam, 3, StreamMain, h0, p0, resign(p1, func(p *Part) { p.PrevPart[0] ^= 1 })), "prevPart"},
		{"a gap in the bytes", VerifyPartNext(cam, 3, StreamMain, h0, p0, resign(p1, func(p *Part) { p.Offset++ })), "offset"},
		{"bytes altered", VerifyPartData(p1, append([]byte{data[1][1][0] ^ 1}, data[1][1][1:]...)), "sha256"},
		{"bytes cut", VerifyPartData(p1, data[1][1][1:]), "size"},
		{"signed by another key", func() error {
			c := *p1
			c.Camera = other.Address()
			c.Sign(other)
			c.Camera = cam
			return VerifyPart(&c)
		}(), "signature"},
		{"sealed by the next record", VerifySealed(parts[0][0], recs[1]), "seq"},
		{"sealed by a shorter record", VerifySealed(resign(p2, func(p *Part) { p.Size += 10 }), recs[1]), "size"},
	} {
		if tc.err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if got := field(tc.err); got != tc.want {
			t.Errorf("%s: field %q (%v), want %q", tc.name, got, tc.err, tc.want)
		}
	}
}

func FuzzParsePart(f *testing.F) {
	_, _, parts, _ := partsChain(f)
	for _, ps := range parts {
		for _, p := range ps {
			f.Add(p.Marshal())
		}
	}
	for _, b := range invalidParts(parts[1][1]) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePart(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Marshal(), b) {
			t.Fatalf("accepted input does not round-trip")
		}
		_ = VerifyPart(p)
	})
}
