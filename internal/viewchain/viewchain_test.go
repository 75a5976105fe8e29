package viewchain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

func testKey(t testing.TB, b byte) *keys.PrivateKey {
	t.Helper()
	k, err := keys.FromBytes(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixture is a camera's chain of n version 2 records (main stream, except
// those listed in sub), signed by the 0x02…02 key in epoch 3.
type fixture struct {
	cam, hub *keys.PrivateKey
	recs     []*feedchain.Record
	segs     [][]byte
}

func newFixture(t testing.TB, n int, sub ...int) *fixture {
	t.Helper()
	f := &fixture{cam: testKey(t, 2), hub: testKey(t, 3)}
	start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var head feedchain.Head
	for i := 0; i < n; i++ {
		data := bytes.Repeat([]byte{0xa0 + byte(i)}, 64+16*i)
		r := &feedchain.Record{Version: feedchain.Version2, Camera: f.cam.Address(), Epoch: 3, Seq: uint64(i),
			Segment: feedchain.SegmentHash(data), Start: start.Add(time.Duration(i) * 2 * time.Second).UnixNano(),
			Duration: 2 * time.Second, Size: uint64(len(data)), Codec: "hvc1.1.6.L93.B0", Clock: feedchain.ClockArrival}
		for _, s := range sub {
			if s == i {
				r.Stream = feedchain.StreamSub
			}
		}
		if head.Valid {
			r.Prev = head.Hash
		}
		if err := r.Sign(f.cam); err != nil {
			t.Fatal(err)
		}
		head = feedchain.HeadOf(r)
		f.recs, f.segs = append(f.recs, r), append(f.segs, data)
	}
	return f
}

var (
	vecSession = SessionID{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}
	vecNonce   = Nonce{0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22}
)

func (f *fixture) signer(t testing.TB, nonce Nonce) *Signer {
	t.Helper()
	s, err := NewSigner(f.hub, f.cam.Address(), 3, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// delivered is one session as the hub sends it: frames, in order.
type delivered struct {
	links, recs, segs [][]byte
	end               []byte
}

func (f *fixture) session(t testing.TB, s *Signer, which ...int) delivered {
	t.Helper()
	var d delivered
	for _, i := range which {
		l, err := s.Segment(f.recs[i].Hash())
		if err != nil {
			t.Fatal(err)
		}
		d.links, d.recs, d.segs = append(d.links, l.Marshal()), append(d.recs, f.recs[i].Marshal()), append(d.segs, f.segs[i])
	}
	l, err := s.End()
	if err != nil {
		t.Fatal(err)
	}
	d.end = l.Marshal()
	return d
}

// play runs a verifier over d and returns the first error.
func (f *fixture) play(nonce Nonce, d delivered) error {
	v := NewVerifier(f.hub.Address(), f.cam.Address(), nonce, feedchain.StreamMain)
	for i := range d.links {
		if _, err := v.Segment(d.links[i], d.recs[i], d.segs[i]); err != nil {
			return err
		}
	}
	if d.end != nil {
		if err := v.End(d.end); err != nil {
			return err
		}
	}
	return v.Finish(true)
}

func clone(d delivered) delivered {
	c := delivered{end: bytes.Clone(d.end)}
	for i := range d.links {
		c.links = append(c.links, bytes.Clone(d.links[i]))
		c.recs = append(c.recs, bytes.Clone(d.recs[i]))
		c.segs = append(c.segs, bytes.Clone(d.segs[i]))
	}
	return c
}

func drop(d delivered, i int) delivered {
	c := clone(d)
	c.links = append(c.links[:i], c.links[i+1:]...)
	c.recs = append(c.recs[:i], c.recs[i+1:]...)
	c.segs = append(c.segs[:i], c.segs[i+1:]...)
	return c
}

// tamperings are what a proxy between hub and viewer may do to one
// session, each with the break the viewer must name.
func tamperings(t testing.TB, f *fixture, d delivered) map[string]struct {
	d    delivered
	want Break
} {
	other := f.session(t, f.signer(t, vecNonce), 0, 1, 2, 3) // another session to the same viewer
	stranger := f.session(t, f.signer(t, Nonce{9}), 0, 1, 2, 3)
	out := map[string]struct {
		d    delivered
		want Break
	}{}
	add := func(name string, d delivered, b Break) {
		out[name] = struct {
			d    delivered
			want Break
		}{d, b}
	}
	add("drop the second segment", drop(d, 1), BreakMissing)
	add("drop the first segment", drop(d, 0), BreakMissing)
	c := clone(d)
	c.links[1], c.links[2], c.recs[1], c.recs[2], c.segs[1], c.segs[2] = c.links[2], c.links[1], c.recs[2], c.recs[1], c.segs[2], c.segs[1]
	add("swap two segments", c, BreakMissing)
	c = clone(d)
	c.links = append(c.links[:2], append([][]byte{c.links[1]}, c.links[2:]...)...)
	c.recs = append(c.recs[:2], append([][]byte{c.recs[1]}, c.recs[2:]...)...)
	c.segs = append(c.segs[:2], append([][]byte{c.segs[1]}, c.segs[2:]...)...)
	add("replay a segment", c, BreakReplayed)
	c = clone(d)
	c.segs[2][10] ^= 1
	add("alter a segment's bytes", c, BreakAltered)
	c = clone(d)
	c.segs[2] = c.segs[2][:len(c.segs[2])-1]
	add("truncate a segment", c, BreakAltered)
	c = clone(d)
	c.recs[1][40] ^= 1
	add("alter a record", c, BreakForged)
	c = clone(d)
	c.links[1][60] ^= 1
	add("alter a link", c, BreakForged)
	c = clone(d)
	c.recs[1], c.segs[1] = f.recs[4].Marshal(), f.segs[4]
	add("substitute another camera-signed segment", c, BreakSubstituted)
	c = clone(d)
	c.links[2], c.recs[2], c.segs[2] = other.links[2], other.recs[2], other.segs[2]
	add("splice in another session's link", c, BreakForeign)
	add("replay a whole session to another viewer", stranger, BreakForeign)
	c = clone(d)
	c.end = nil
	add("cut off the signed end", c, BreakTruncated)
	c = drop(d, 3)
	c.end = nil
	add("cut off the last segment and the end", c, BreakTruncated)
	c = clone(d)
	c.end = other.end
	add("another session's end", c, BreakForeign)
	return out
}

func TestSessionVerifiesAndTamperingIsNamed(t *testing.T) {
	f := newFixture(t, 6)
	d := f.session(t, f.signer(t, vecNonce), 0, 1, 2, 3)
	if err := f.play(vecNonce, d); err != nil {
		t.Fatalf("an untouched session: %v", err)
	}
	for name, tc := range tamperings(t, f, d) {
		err := f.play(vecNonce, tc.d)
		if !IsBreak(err, tc.want) {
			t.Errorf("%s: %v, want a %s break", name, err, tc.want)
		}
	}
}

// A session may skip records (the other stream, a pruned segment): the
// hub's chain proves nothing was dropped on the way, and the verifier says
// how many the hub did not forward. A record of the other stream, or one
// that forks the camera's chain, is a break.
func TestSkippedRecordsStreamsAndForks(t *testing.T) {
	f := newFixture(t, 6, 1, 3)
	d := f.session(t, f.signer(t, vecNonce), 0, 2, 4, 5)
	v := NewVerifier(f.hub.Address(), f.cam.Address(), vecNonce, feedchain.StreamMain)
	var skipped []uint64
	for i := range d.links {
		c, err := v.Segment(d.links[i], d.recs[i], d.segs[i])
		if err != nil {
			t.Fatal(err)
		}
		skipped = append(skipped, c.Skipped)
	}
	if err := v.End(d.end); err != nil || !v.Ended() {
		t.Fatal(err)
	}
	if want := []uint64{0, 1, 1, 0}; !equal(skipped, want) {
		t.Fatalf("skipped %v, want %v", skipped, want)
	}
	// The hub forwards a sub-stream record in a main-stream session.
	bad := f.session(t, f.signer(t, vecNonce), 0, 1)
	if err := f.play(vecNonce, bad); !IsBreak(err, BreakStream) {
		t.Fatalf("a sub record in a main session: %v", err)
	}
	// A camera-signed fork: another record #1 that does not follow #0.
	fk := newFixture(t, 2)
	fork := *fk.recs[1]
	fork.Prev = feedchain.Hash{0xee}
	if err := fork.Sign(fk.cam); err != nil {
		t.Fatal(err)
	}
	fk.recs[1] = &fork
	if err := fk.play(vecNonce, fk.session(t, fk.signer(t, vecNonce), 0, 1)); !IsBreak(err, BreakRecordChain) {
		t.Fatalf("a forked record: %v", err)
	}
	// Records out of order, each linked by the hub: the hub itself
	// reorders, and the record chain names it.
	f2 := newFixture(t, 3)
	if err := f2.play(vecNonce, f2.session(t, f2.signer(t, vecNonce), 1, 0)); !IsBreak(err, BreakRecordChain) {
		t.Fatalf("records out of order: %v", err)
	}
	if err := f2.play(vecNonce, f2.session(t, f2.signer(t, vecNonce), 1, 1)); !IsBreak(err, BreakReplayed) {
		t.Fatalf("a record twice: %v", err)
	}
}

// After a break, nothing more is accepted; after the end, nothing more
// either.
func TestVerifierStaysBroken(t *testing.T) {
	f := newFixture(t, 3)
	d := f.session(t, f.signer(t, vecNonce), 0, 1, 2)
	v := NewVerifier(f.hub.Address(), f.cam.Address(), vecNonce, feedchain.StreamMain)
	if _, err := v.Segment(d.links[1], d.recs[1], d.segs[1]); !IsBreak(err, BreakMissing) {
		t.Fatal(err)
	}
	if _, err := v.Segment(d.links[0], d.recs[0], d.segs[0]); !IsBreak(err, BreakMissing) {
		t.Fatalf("after a break: %v", err)
	}
	v = NewVerifier(f.hub.Address(), f.cam.Address(), vecNonce, feedchain.StreamMain)
	for i := range d.links {
		if _, err := v.Segment(d.links[i], d.recs[i], d.segs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.End(d.end); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Segment(d.links[2], d.recs[2], d.segs[2]); !IsBreak(err, BreakAfterEnd) {
		t.Fatalf("after the end: %v", err)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// vectors is testdata/vectors.json (SPEC §15.4).
type vectors struct {
	Comment   string   `json:"comment"`
	CameraKey string   `json:"camera_private_key"`
	HubKey    string   `json:"hub_private_key"`
	Hub       string   `json:"hub"`
	Session   string   `json:"session"`
	Nonce     string   `json:"nonce"`
	Records   []string `json:"records_hex"`
	Segments  []string `json:"segments_hex"`
	Links     []vecLink
	Frames    []string  `json:"frames_hex"`
	Corrupt   []vecBad  `json:"corruptions"`
	BadLinks  []vecBadL `json:"links_parse_must_refuse"`
}

type vecLink struct {
	Kind   string `json:"kind"`
	Index  uint64 `json:"index"`
	Body   string `json:"body_hex"`
	Hash   string `json:"hash"`
	Sig    string `json:"sig"`
	Record string `json:"record_hash"`
}

type vecBad struct {
	Name   string   `json:"name"`
	Frames []string `json:"frames_hex"`
	Break  string   `json:"expect_break"`
}

type vecBadL struct {
	Why  string `json:"why"`
	Link string `json:"link_hex"`
}

func fixedSigner(f *fixture) *Signer {
	return &Signer{key: f.hub, base: Link{Hub: f.hub.Address(), Session: vecSession, Nonce: vecNonce, Camera: f.cam.Address(), Epoch: 3}}
}

func framesOf(d delivered) []string {
	var out []string
	for i := range d.links {
		out = append(out, hex.EncodeToString(AppendSegment(nil, d.recs[i], d.links[i], d.segs[i])))
	}
	if d.end != nil {
		out = append(out, hex.EncodeToString(AppendEnd(nil, d.end)))
	}
	return out
}

func buildVectors(t testing.TB) vectors {
	f := newFixture(t, 6)
	s := fixedSigner(f)
	v := vectors{
		Comment:   "viewer chain vectors; docs/SPEC.md §15. Camera key 0x0202…02 (epoch 3), hub key 0x0303…03, session 0x11…11, nonce 0x22…22: a session forwarding records 0..3 and its end, as frames; corruptions a proxy could make, each with the break a viewer must name; link encodings Parse must refuse. Regenerate: go test ./internal/viewchain -run TestVectors -update",
		CameraKey: "0x" + hex.EncodeToString(bytes.Repeat([]byte{2}, 32)),
		HubKey:    "0x" + hex.EncodeToString(bytes.Repeat([]byte{3}, 32)),
		Hub:       f.hub.Address().Hex(), Session: vecSession.String(), Nonce: vecNonce.String(),
	}
	for i := range f.recs {
		v.Records = append(v.Records, hex.EncodeToString(f.recs[i].Marshal()))
		v.Segments = append(v.Segments, hex.EncodeToString(f.segs[i]))
	}
	var d delivered
	for i := 0; i < 4; i++ {
		l, err := s.Segment(f.recs[i].Hash())
		if err != nil {
			t.Fatal(err)
		}
		h := l.Hash()
		v.Links = append(v.Links, vecLink{Kind: l.Kind.String(), Index: l.Index, Body: hex.EncodeToString(l.Body()), Hash: hex.EncodeToString(h[:]), Sig: l.Sig.Hex(), Record: hex.EncodeToString(l.Record[:])})
		d.links, d.recs, d.segs = append(d.links, l.Marshal()), append(d.recs, f.recs[i].Marshal()), append(d.segs, f.segs[i])
	}
	end, err := s.End()
	if err != nil {
		t.Fatal(err)
	}
	eh := end.Hash()
	v.Links = append(v.Links, vecLink{Kind: end.Kind.String(), Index: end.Index, Body: hex.EncodeToString(end.Body()), Hash: hex.EncodeToString(eh[:]), Sig: end.Sig.Hex(), Record: hex.EncodeToString(end.Record[:])})
	d.end = end.Marshal()
	v.Frames = framesOf(d)
	// Corruptions: a second fixed session (0x33…33) supplies foreign links.
	o := fixedSigner(f)
	o.base.Session = SessionID{0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33}
	var names []string
	bad := map[string]struct {
		d    delivered
		want Break
	}{}
	other := delivered{}
	for i := 0; i < 4; i++ {
		l, _ := o.Segment(f.recs[i].Hash())
		other.links, other.recs, other.segs = append(other.links, l.Marshal()), append(other.recs, f.recs[i].Marshal()), append(other.segs, f.segs[i])
	}
	oe, _ := o.End()
	other.end = oe.Marshal()
	for name, tc := range deterministicTamperings(f, d, other) {
		bad[name] = tc
		names = append(names, name)
	}
	sortStrings(names)
	for _, n := range names {
		v.Corrupt = append(v.Corrupt, vecBad{Name: n, Frames: framesOf(bad[n].d), Break: string(bad[n].want)})
	}
	l0 := d.links[0]
	mut := func(why string, f func([]byte) []byte) {
		v.BadLinks = append(v.BadLinks, vecBadL{Why: why, Link: hex.EncodeToString(f(bytes.Clone(l0)))})
	}
	mut("version 2", func(b []byte) []byte { b[0] = 2; return b })
	mut("kind 0", func(b []byte) []byte { b[1] = 0; return b })
	mut("kind 4", func(b []byte) []byte { b[1] = 4; return b })
	mut("one byte short", func(b []byte) []byte { return b[:len(b)-1] })
	mut("trailing byte", func(b []byte) []byte { return append(b, 0) })
	mut("index 0 with a non-zero prev", func(b []byte) []byte { b[2+20+16+16+20+8+8] = 1; return b })
	mut("segment link with a zero record", func(b []byte) []byte { clear(b[BodySize-32 : BodySize]); return b })
	mut("end kind naming a record", func(b []byte) []byte { b[1] = byte(KindEnd); return b })
	return v
}

// deterministicTamperings are the corruptions of the vectors (no random
// session ids, so the file is reproducible).
func deterministicTamperings(f *fixture, d, other delivered) map[string]struct {
	d    delivered
	want Break
} {
	out := map[string]struct {
		d    delivered
		want Break
	}{}
	add := func(name string, d delivered, b Break) {
		out[name] = struct {
			d    delivered
			want Break
		}{d, b}
	}
	add("drop segment 1", drop(d, 1), BreakMissing)
	c := clone(d)
	c.links[1], c.links[2], c.recs[1], c.recs[2], c.segs[1], c.segs[2] = c.links[2], c.links[1], c.recs[2], c.recs[1], c.segs[2], c.segs[1]
	add("swap segments 1 and 2", c, BreakMissing)
	c = clone(d)
	c.links = append(c.links[:2], append([][]byte{c.links[1]}, c.links[2:]...)...)
	c.recs = append(c.recs[:2], append([][]byte{c.recs[1]}, c.recs[2:]...)...)
	c.segs = append(c.segs[:2], append([][]byte{c.segs[1]}, c.segs[2:]...)...)
	add("replay segment 1", c, BreakReplayed)
	c = clone(d)
	c.segs[2][10] ^= 1
	add("flip a bit of segment 2", c, BreakAltered)
	c = clone(d)
	c.links[1][60] ^= 1
	add("flip a bit of link 1", c, BreakForged)
	c = clone(d)
	c.recs[1], c.segs[1] = f.recs[4].Marshal(), f.segs[4]
	add("substitute record 4 for record 1", c, BreakSubstituted)
	c = clone(d)
	c.links[2] = other.links[2]
	add("link 2 from another session", c, BreakForeign)
	c = clone(d)
	c.end = nil
	add("no end", c, BreakTruncated)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestVectors checks testdata/vectors.json against this implementation:
// link bodies, hashes and signatures, the frames of the valid session, and
// every corruption's named break.
func TestVectors(t *testing.T) {
	got := buildVectors(t)
	path := filepath.Join("testdata", "vectors.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want vectors
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Fatal("testdata/vectors.json differs from what this implementation computes (run with -update only if the format changed on purpose, and update docs/SPEC.md §15)")
	}
	// Replay the file itself, independently of the generator.
	hub, _ := keys.ParseAddress(want.Hub)
	cam := testKey(t, 2).Address()
	nonce, err := ParseNonce(want.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	run := func(frames []string) error {
		v := NewVerifier(hub, cam, nonce, feedchain.StreamMain)
		for _, fh := range frames {
			raw, _ := hex.DecodeString(fh)
			fr, err := DecodeFrame(raw)
			if err != nil {
				return err
			}
			switch fr.Type {
			case FrameSegment:
				_, err = v.Segment(fr.Link, fr.Record, fr.Data)
			case FrameEnd:
				err = v.End(fr.Link)
			}
			if err != nil {
				return err
			}
		}
		return v.Finish(true)
	}
	if err := run(want.Frames); err != nil {
		t.Fatalf("the vectors' session: %v", err)
	}
	for _, c := range want.Corrupt {
		if err := run(c.Frames); !IsBreak(err, Break(c.Break)) {
			t.Errorf("corruption %q: %v, want %s", c.Name, err, c.Break)
		}
	}
	for _, bl := range want.BadLinks {
		raw, _ := hex.DecodeString(bl.Link)
		if _, err := Parse(raw); err == nil {
			t.Errorf("Parse accepted a link with %s", bl.Why)
		}
	}
}

// Golden layout of link 0, one field at a time.
func TestLinkLayout(t *testing.T) {
	f := newFixture(t, 1)
	l, err := fixedSigner(f).Segment(f.recs[0].Hash())
	if err != nil {
		t.Fatal(err)
	}
	b := l.Marshal()
	if len(b) != Size || Size != 219 {
		t.Fatalf("link of %d bytes (Size %d), want 219", len(b), Size)
	}
	rh := f.recs[0].Hash()
	hubA, camA := f.hub.Address(), f.cam.Address()
	want := [][]byte{
		{1},                      // version
		{1},                      // kind: segment
		hubA[:],                  // hub
		vecSession[:],            // session
		vecNonce[:],              // nonce
		camA[:],                  // camera
		{0, 0, 0, 0, 0, 0, 0, 3}, // epoch 3
		make([]byte, 8),          // index 0
		make([]byte, 32),         // prev: zero for link 0
		rh[:],                    // record hash
	}
	if got := b[:BodySize]; !bytes.Equal(got, bytes.Join(want, nil)) {
		t.Fatalf("body %x", got)
	}
	p, err := Parse(b)
	if err != nil || !bytes.Equal(p.Marshal(), b) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestDecodeFrameBounds(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":                {},
		"unknown type":         {9, 0, 0},
		"segment header short": {FrameSegment, 0},
		"record over its cap":  append([]byte{FrameSegment, 0xff, 0xff}, make([]byte, 300)...),
		"no room for the link": append([]byte{FrameSegment, 0, 4}, make([]byte, 10)...),
		"end frame too long":   append([]byte{FrameEnd}, make([]byte, Size+1)...),
	} {
		if _, err := DecodeFrame(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
