package viewchain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// partsOf signs record seq's segment of f as parts cut at the offsets
// given (SPEC §7.3), as the camera does before the record exists.
func (f *fixture) partsOf(t testing.TB, seq int, cuts ...int) ([]*feedchain.Part, [][]byte) {
	t.Helper()
	r, seg := f.recs[seq], f.segs[seq]
	var ps []*feedchain.Part
	var data [][]byte
	var prev *feedchain.Part
	bounds := append(append([]int{0}, cuts...), len(seg))
	for i := 0; i+1 < len(bounds); i++ {
		b := seg[bounds[i]:bounds[i+1]]
		p := &feedchain.Part{Camera: r.Camera, Epoch: r.Epoch, Stream: r.Stream, Seq: r.Seq, Prev: r.Prev, Index: uint32(i),
			Offset: uint64(bounds[i]), Size: uint32(len(b)), Data: feedchain.SegmentHash(b)}
		if prev != nil {
			p.PrevPart = prev.Hash()
		}
		if err := p.Sign(f.cam); err != nil {
			t.Fatal(err)
		}
		ps, data, prev = append(ps, p), append(data, b), p
	}
	return ps, data
}

// liveParts is a live session with parts as the hub sends it: record 0
// whole; record 1 as three parts and a tail with nothing left; record 2 as
// two parts and a tail with the rest (the hub stopped sending its parts);
// record 3 whole.
func liveParts(t testing.TB, f *fixture, s *Signer) [][]byte {
	t.Helper()
	var frames [][]byte
	seg := func(i int) {
		l, err := s.Segment(f.recs[i].Hash())
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, AppendSegment(nil, f.recs[i].Marshal(), l.Marshal(), f.segs[i]))
	}
	parts := func(i int, n int, cuts ...int) {
		ps, data := f.partsOf(t, i, cuts...)
		sent := 0
		for j := 0; j < n; j++ {
			l, err := s.Part(ps[j].Hash())
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, AppendPart(nil, ps[j].Marshal(), l.Marshal(), data[j]))
			sent += len(data[j])
		}
		l, err := s.Segment(f.recs[i].Hash())
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, AppendTail(nil, f.recs[i].Marshal(), l.Marshal(), f.segs[i][sent:]))
	}
	seg(0)
	parts(1, 3, 20, 50)
	parts(2, 2, 30, 60)
	seg(3)
	return frames
}

// playFrames runs a verifier over frames; the first error.
func playFrames(hub, cam keys.Address, nonce Nonce, frames [][]byte) error {
	v := NewVerifier(hub, cam, nonce, feedchain.StreamMain)
	for _, raw := range frames {
		fr, err := DecodeFrame(raw)
		if err != nil {
			return &BreakError{Break: BreakMalformed, Detail: err.Error()}
		}
		switch fr.Type {
		case FrameSegment:
			_, err = v.Segment(fr.Link, fr.Record, fr.Data)
		case FrameTail:
			_, err = v.Tail(fr.Link, fr.Record, fr.Data)
		case FramePart:
			_, err = v.Part(fr.Link, fr.Record, fr.Data)
		case FrameEnd:
			err = v.End(fr.Link)
		}
		if err != nil {
			return err
		}
	}
	return v.Finish(false)
}

func cloneFrames(fr [][]byte) [][]byte {
	out := make([][]byte, len(fr))
	for i := range fr {
		out[i] = bytes.Clone(fr[i])
	}
	return out
}

// partTamperings: what a proxy (or a hub) may do to a session with parts,
// each with the break a viewer must name. frames[1..3] are record 1's
// parts, [4] its tail, [5..6] record 2's parts, [7] its tail.
func partTamperings(t testing.TB, f *fixture, frames [][]byte) map[string]struct {
	frames [][]byte
	want   Break
} {
	out := map[string]struct {
		frames [][]byte
		want   Break
	}{}
	add := func(name string, fr [][]byte, b Break) {
		out[name] = struct {
			frames [][]byte
			want   Break
		}{fr, b}
	}
	without := func(i int) [][]byte { c := cloneFrames(frames); return append(c[:i], c[i+1:]...) }
	add("drop a part", without(2), BreakMissing)
	c := cloneFrames(frames)
	c[2], c[3] = c[3], c[2]
	add("reorder two parts", c, BreakMissing)
	c = cloneFrames(frames)
	c = append(c[:3], append([][]byte{c[2]}, c[3:]...)...)
	add("replay a part", c, BreakReplayed)
	c = cloneFrames(frames)
	c[2][len(c[2])-1] ^= 1
	add("alter a part's bytes", c, BreakAltered)
	c = cloneFrames(frames)
	c[2] = c[2][:len(c[2])-1]
	add("cut a part short", c, BreakAltered)
	c = cloneFrames(frames)
	c[2][1+40] ^= 1
	add("alter a part's statement", c, BreakForged)
	c = cloneFrames(frames)
	c[7][len(c[7])-1] ^= 1
	add("alter a tail's rest", c, BreakAltered)
	c = cloneFrames(frames)
	c[7] = append(c[7], 0)
	add("a tail with a byte too many", c, BreakAltered)

	// The hub itself misbehaving: everything it signs in order, and
	// still the camera's statements and records show it.
	hubBad := func(build func(s *Signer) [][]byte) [][]byte { return build(fixedSigner(f)) }
	add("a part without the parts before it", hubBad(func(s *Signer) [][]byte {
		ps, data := f.partsOf(t, 1, 20, 50)
		l, _ := s.Part(ps[1].Hash())
		return [][]byte{AppendPart(nil, ps[1].Marshal(), l.Marshal(), data[1])}
	}), BreakPartChain)
	add("parts of a segment, then the next segment whole", hubBad(func(s *Signer) [][]byte {
		ps, data := f.partsOf(t, 1, 20, 50)
		l, _ := s.Part(ps[0].Hash())
		l2, _ := s.Segment(f.recs[2].Hash())
		return [][]byte{AppendPart(nil, ps[0].Marshal(), l.Marshal(), data[0]), AppendSegment(nil, f.recs[2].Marshal(), l2.Marshal(), f.segs[2])}
	}), BreakPartChain)
	add("parts sealed by another record", hubBad(func(s *Signer) [][]byte {
		ps, data := f.partsOf(t, 1, 20, 50)
		l, _ := s.Part(ps[0].Hash())
		l2, _ := s.Segment(f.recs[2].Hash())
		return [][]byte{AppendPart(nil, ps[0].Marshal(), l.Marshal(), data[0]), AppendTail(nil, f.recs[2].Marshal(), l2.Marshal(), f.segs[2][20:])}
	}), BreakPartChain)
	add("a tail without parts", hubBad(func(s *Signer) [][]byte {
		l, _ := s.Segment(f.recs[0].Hash())
		return [][]byte{AppendTail(nil, f.recs[0].Marshal(), l.Marshal(), f.segs[0])}
	}), BreakPartChain)
	add("parts of a record already delivered", hubBad(func(s *Signer) [][]byte {
		l, _ := s.Segment(f.recs[1].Hash())
		ps, data := f.partsOf(t, 1, 20, 50)
		l2, _ := s.Part(ps[0].Hash())
		return [][]byte{AppendSegment(nil, f.recs[1].Marshal(), l.Marshal(), f.segs[1]), AppendPart(nil, ps[0].Marshal(), l2.Marshal(), data[0])}
	}), BreakReplayed)
	add("a part link naming another part", hubBad(func(s *Signer) [][]byte {
		ps, data := f.partsOf(t, 1, 20, 50)
		l, _ := s.Part(ps[1].Hash())
		return [][]byte{AppendPart(nil, ps[0].Marshal(), l.Marshal(), data[0])}
	}), BreakSubstituted)
	add("the end with parts unsealed", hubBad(func(s *Signer) [][]byte {
		ps, data := f.partsOf(t, 1, 20, 50)
		l, _ := s.Part(ps[0].Hash())
		e, _ := s.End()
		return [][]byte{AppendPart(nil, ps[0].Marshal(), l.Marshal(), data[0]), AppendEnd(nil, e.Marshal())}
	}), BreakPartChain)
	add("a part where a segment was expected", hubBad(func(s *Signer) [][]byte {
		ps, data := f.partsOf(t, 1, 20, 50)
		l, _ := s.Segment(ps[0].Hash())
		return [][]byte{AppendPart(nil, ps[0].Marshal(), l.Marshal(), data[0])}
	}), BreakMalformed)
	return out
}

// TestPartsVerifyAndTamperingIsNamed: a live session with parts verifies,
// each part on its own before its record; each corruption is named.
func TestPartsVerifyAndTamperingIsNamed(t *testing.T) {
	f := newFixture(t, 4)
	frames := liveParts(t, f, fixedSigner(f))
	if err := playFrames(f.hub.Address(), f.cam.Address(), vecNonce, frames); err != nil {
		t.Fatalf("an untouched session: %v", err)
	}
	for name, tc := range partTamperings(t, f, frames) {
		if err := playFrames(f.hub.Address(), f.cam.Address(), vecNonce, tc.frames); !IsBreak(err, tc.want) {
			t.Errorf("%s: %v, want a %s break", name, err, tc.want)
		}
	}
	// Open parts are reported until their record seals them.
	v := NewVerifier(f.hub.Address(), f.cam.Address(), vecNonce, feedchain.StreamMain)
	for i, raw := range frames[:3] {
		fr, _ := DecodeFrame(raw)
		var err error
		if fr.Type == FramePart {
			_, err = v.Part(fr.Link, fr.Record, fr.Data)
		} else {
			_, err = v.Segment(fr.Link, fr.Record, fr.Data)
		}
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if p, n := v.Open(); p == nil || n != 2 || p.Seq != 1 {
		t.Fatalf("open parts %v, %d; want 2 of record 1", p, n)
	}
}

type partVectors struct {
	Comment string   `json:"comment"`
	Hub     string   `json:"hub"`
	Camera  string   `json:"camera"`
	Nonce   string   `json:"nonce"`
	Frames  []string `json:"frames_hex"`
	Corrupt []vecBad `json:"corruptions"`
}

// TestPartVectors checks testdata/parts_vectors.json (SPEC §15.4).
func TestPartVectors(t *testing.T) {
	f := newFixture(t, 4)
	frames := liveParts(t, f, fixedSigner(f))
	path := filepath.Join("testdata", "parts_vectors.json")
	if *update {
		v := partVectors{Comment: "viewer chain with parts; docs/SPEC.md §15.3–15.4. Camera key 0x0202…02 (epoch 3), hub key 0x0303…03, session 0x11…11, nonce 0x22…22: a live session (no end) forwarding record 0 whole, record 1 as 3 parts and an empty tail, record 2 as 2 parts and a tail with the rest, record 3 whole; corruptions, each with the break a viewer must name. Regenerate: go test ./internal/viewchain -run TestPartVectors -update",
			Hub: f.hub.Address().Hex(), Camera: f.cam.Address().Hex(), Nonce: vecNonce.String()}
		for _, fr := range frames {
			v.Frames = append(v.Frames, hex.EncodeToString(fr))
		}
		bad := partTamperings(t, f, frames)
		var names []string
		for n := range bad {
			names = append(names, n)
		}
		sortStrings(names)
		for _, n := range names {
			var hx []string
			for _, fr := range bad[n].frames {
				hx = append(hx, hex.EncodeToString(fr))
			}
			v.Corrupt = append(v.Corrupt, vecBad{Name: n, Frames: hx, Break: string(bad[n].want)})
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
	hub, _ := keys.ParseAddress(v.Hub)
	cam, _ := keys.ParseAddress(v.Camera)
	nonce, _ := ParseNonce(v.Nonce)
	decode := func(hx []string) [][]byte {
		var out [][]byte
		for _, h := range hx {
			b, _ := hex.DecodeString(h)
			out = append(out, b)
		}
		return out
	}
	if len(v.Frames) != len(frames) || len(v.Corrupt) < 15 {
		t.Fatalf("%d frames, %d corruptions in the vectors", len(v.Frames), len(v.Corrupt))
	}
	for i, fr := range decode(v.Frames) {
		if !bytes.Equal(fr, frames[i]) {
			t.Fatalf("frame %d differs from what this implementation computes", i)
		}
	}
	if err := playFrames(hub, cam, nonce, decode(v.Frames)); err != nil {
		t.Fatalf("the vectors' session: %v", err)
	}
	for _, c := range v.Corrupt {
		if err := playFrames(hub, cam, nonce, decode(c.Frames)); !IsBreak(err, Break(c.Break)) {
			t.Errorf("corruption %q: %v, want %s", c.Name, err, c.Break)
		}
	}
}

// FuzzVerifyPartFrames: the parts session with one frame replaced by fuzz
// input never panics, and verifies only if the frame is the one replaced.
func FuzzVerifyPartFrames(f *testing.F) {
	fx := newFixture(f, 4)
	frames := liveParts(f, fx, fixedSigner(fx))
	for i := range frames {
		f.Add(uint8(i), frames[i])
	}
	f.Fuzz(func(t *testing.T, at uint8, b []byte) {
		i := int(at) % len(frames)
		c := cloneFrames(frames)
		c[i] = b
		if err := playFrames(fx.hub.Address(), fx.cam.Address(), vecNonce, c); err == nil && !bytes.Equal(b, frames[i]) {
			t.Fatalf("accepted a session with frame %d replaced by %x", i, b)
		}
	})
}
