package e2ee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

const contentVectorsPath = "testdata/content_vectors.json"

// contentVectors is testdata/content_vectors.json (docs/SPEC.md §17.2): a
// fixed content key, the segment keys it gives, a segment and a part
// sealed under one, and an envelope of the key wrapped to the viewing keys
// of the test keys 0x01…01 and 0x02…02, signed by the camera 0x03…03.
type contentVectors struct {
	Comment    string           `json:"comment"`
	Camera     string           `json:"camera"`
	CameraKey  string           `json:"camera_private_key"` // test key only!
	Epoch      uint64           `json:"epoch"`
	Serial     uint64           `json:"serial"`
	ContentKey string           `json:"content_key"`
	Segments   []segmentVector  `json:"segments"`
	Envelope   string           `json:"envelope"`
	Recipients []string         `json:"recipients"` // private keys whose viewing keys open it
	Invalid    []invalidContent `json:"invalid"`
}

type segmentVector struct {
	Stream     feedchain.Stream `json:"stream"`
	Seq        uint64           `json:"seq"`
	SegmentKey string           `json:"segment_key"`
	Index      uint32           `json:"index"` // 0: the whole segment; i+1: part i
	Plaintext  string           `json:"plaintext"`
	Sealed     string           `json:"sealed"`
}

type invalidContent struct {
	Name   string `json:"name"`
	Sealed string `json:"sealed,omitempty"`
	Env    string `json:"envelope,omitempty"`
	Expect string `json:"expect"` // not_sealed | open | envelope | bad_signature
}

func fixedContentKey(t testing.TB) *ContentKey {
	ck := &ContentKey{Camera: mustKey(t, 3).Address(), Epoch: 2, Serial: 7}
	for i := range ck.key {
		ck.key[i] = byte(0xa0 + i)
	}
	return ck
}

func buildContentVectors(t testing.TB) contentVectors {
	ck := fixedContentKey(t)
	cam := mustKey(t, 3)
	vf := contentVectors{Comment: "camchain content encryption (docs/SPEC.md §17.2). Regenerate: go test ./internal/e2ee -run TestContentVectors -update",
		Camera: cam.Address().Hex(), CameraKey: h(bytes.Repeat([]byte{3}, 32)), Epoch: ck.Epoch, Serial: ck.Serial, ContentKey: h(ck.key[:])}
	for _, c := range []struct {
		stream feedchain.Stream
		seq    uint64
		index  uint32
		pt     string
	}{{feedchain.StreamMain, 0, 0, "the first segment's fMP4 bytes"}, {feedchain.StreamMain, 1, 0, "the second segment"},
		{feedchain.StreamMain, 1, 3, "part 2 of the second segment"}, {feedchain.StreamSub, 1, 0, "the sub stream's second segment"}} {
		sk, err := ck.Segment(c.stream, c.seq)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := sk.Seal(c.index, []byte(c.pt))
		if err != nil {
			t.Fatal(err)
		}
		vf.Segments = append(vf.Segments, segmentVector{Stream: c.stream, Seq: c.seq, SegmentKey: h(sk.key[:]), Index: c.index, Plaintext: h([]byte(c.pt)), Sealed: h(sealed)})
	}
	var rs []Recipient
	for _, b := range []byte{1, 2} {
		vk, _ := Derive(mustKey(t, b))
		rs = append(rs, Recipient{Account: vk.Account(), Key: vk.Public()})
		vf.Recipients = append(vf.Recipients, h(bytes.Repeat([]byte{b}, 32)))
	}
	env, err := ck.Wrap(rs, cam)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := env.Encode()
	vf.Envelope = h(wire)
	sealed := unhex(t, vf.Segments[0].Sealed)
	mut := func(f func([]byte) []byte) string { return h(f(append([]byte(nil), sealed...))) }
	emut := func(f func([]byte) []byte) string { return h(f(append([]byte(nil), wire...))) }
	vf.Invalid = []invalidContent{
		{Name: "ciphertext bit flipped", Sealed: mut(func(b []byte) []byte { b[SealedHeaderSize] ^= 1; return b }), Expect: "open"},
		{Name: "tag bit flipped", Sealed: mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), Expect: "open"},
		{Name: "header seq changed", Sealed: mut(func(b []byte) []byte { b[41] ^= 1; return b }), Expect: "open"},
		{Name: "header index changed", Sealed: mut(func(b []byte) []byte { b[53] = 1; return b }), Expect: "open"},
		{Name: "magic", Sealed: mut(func(b []byte) []byte { b[0] = 'X'; return b }), Expect: "not_sealed"},
		{Name: "version 2", Sealed: mut(func(b []byte) []byte { b[4] = 2; return b }), Expect: "not_sealed"},
		{Name: "stream 2", Sealed: mut(func(b []byte) []byte { b[5] = 2; return b }), Expect: "not_sealed"},
		{Name: "cut before the tag ends", Sealed: h(sealed[:SealedOverhead-1]), Expect: "not_sealed"},
		{Name: "envelope trailing byte", Env: emut(func(b []byte) []byte { return append(b, 0) }), Expect: "envelope"},
		{Name: "envelope last byte cut", Env: emut(func(b []byte) []byte { return b[:len(b)-1] }), Expect: "envelope"},
		{Name: "envelope signature bit flipped", Env: emut(func(b []byte) []byte { b[len(b)-10] ^= 1; return b }), Expect: "bad_signature"},
		{Name: "envelope serial changed", Env: emut(func(b []byte) []byte { b[bytes.Index(b, cam.Address().Bytes())+21] ^= 1; return b }), Expect: "bad_signature"},
	}
	return vf
}

func TestContentVectors(t *testing.T) {
	if *update {
		vf := buildContentVectors(t)
		b, _ := json.MarshalIndent(vf, "", "  ")
		if err := os.WriteFile(contentVectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		writeContentSeeds(t, vf)
	}
	var vf contentVectors
	if err := json.Unmarshal(mustRead(t, contentVectorsPath), &vf); err != nil {
		t.Fatal(err)
	}
	cam, _ := keys.ParseAddress(vf.Camera)
	ck := &ContentKey{Camera: cam, Epoch: vf.Epoch, Serial: vf.Serial}
	copy(ck.key[:], unhex(t, vf.ContentKey))
	for _, v := range vf.Segments {
		sk, err := ck.Segment(v.Stream, v.Seq)
		if err != nil || h(sk.key[:]) != v.SegmentKey {
			t.Fatalf("segment key of stream %d seq %d differs from the vector (%v)", v.Stream, v.Seq, err)
		}
		sealed, _ := sk.Seal(v.Index, unhex(t, v.Plaintext))
		if h(sealed) != v.Sealed {
			t.Errorf("stream %d seq %d index %d: sealed bytes differ from the vector", v.Stream, v.Seq, v.Index)
		}
		pt, err := sk.Open(unhex(t, v.Sealed))
		if err != nil || h(pt) != v.Plaintext {
			t.Errorf("open: %v", err)
		}
		// A disclosed segment key opens its segment and nothing else.
		disclosed, _ := NewSegmentKey(cam, vf.Epoch, v.Stream, v.Seq, vf.Serial, unhex(t, v.SegmentKey))
		if _, err := disclosed.Open(unhex(t, v.Sealed)); err != nil {
			t.Errorf("the disclosed key does not open its segment: %v", err)
		}
		for _, o := range vf.Segments {
			if o.Seq != v.Seq || o.Stream != v.Stream {
				if _, err := disclosed.Open(unhex(t, o.Sealed)); !errors.Is(err, ErrOpen) {
					t.Errorf("the key of seq %d opened seq %d: %v", v.Seq, o.Seq, err)
				}
			}
		}
	}
	env, err := DecodeEnvelope(unhex(t, vf.Envelope), cam)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range vf.Recipients {
		k, _ := keys.FromBytes(unhex(t, r))
		vk, _ := Derive(k)
		got, err := vk.Open(env)
		if err != nil || got.key != ck.key || got.Serial != vf.Serial {
			t.Errorf("recipient %s: %v", k.Address().Hex(), err)
		}
	}
	stranger, _ := Derive(mustKey(t, 4))
	if _, err := stranger.Open(env); !errors.Is(err, ErrNotRecipient) {
		t.Errorf("a stranger's viewing key: %v", err)
	}
	if _, err := DecodeEnvelope(unhex(t, vf.Envelope), mustKey(t, 1).Address()); !errors.Is(err, keys.ErrBadSignature) {
		t.Errorf("the envelope taken as another camera's: %v", err)
	}
	sk0, _ := ck.Segment(vf.Segments[0].Stream, vf.Segments[0].Seq)
	for _, v := range vf.Invalid {
		var err, want error
		switch v.Expect {
		case "open":
			_, err = sk0.Open(unhex(t, v.Sealed))
			want = ErrOpen
		case "not_sealed":
			_, err = sk0.Open(unhex(t, v.Sealed))
			want = ErrNotSealed
		case "envelope":
			_, err = DecodeEnvelope(unhex(t, v.Env), cam)
			want = ErrEnvelope
		case "bad_signature":
			_, err = DecodeEnvelope(unhex(t, v.Env), cam)
			want = keys.ErrBadSignature
		default:
			t.Fatalf("%s: unknown expect %q", v.Name, v.Expect)
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", v.Name, err, want)
		}
	}
}

func writeContentSeeds(t testing.TB, vf contentVectors) {
	write := func(target, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FuzzOpenSealed", "valid", unhex(t, vf.Segments[0].Sealed))
	write("FuzzDecodeEnvelope", "valid", unhex(t, vf.Envelope))
	for i, v := range vf.Invalid {
		if v.Sealed != "" {
			write("FuzzOpenSealed", fmt.Sprintf("invalid-%02d", i), unhex(t, v.Sealed))
		} else {
			write("FuzzDecodeEnvelope", fmt.Sprintf("invalid-%02d", i), unhex(t, v.Env))
		}
	}
}

func TestSealedSizes(t *testing.T) {
	ck := fixedContentKey(t)
	sk, _ := ck.Segment(feedchain.StreamMain, 5)
	pt := bytes.Repeat([]byte{0x42}, 1000)
	s, _ := sk.Seal(0, pt)
	if len(s) != len(pt)+SealedOverhead || !IsSealed(s) || IsSealed(pt) {
		t.Fatalf("sealed %d bytes of %d", len(s), len(pt))
	}
	if bytes.Contains(s, pt[:32]) {
		t.Fatal("plaintext visible in the sealed bytes")
	}
	// Part i and the whole segment use distinct nonces: never the same stream.
	p1, _ := sk.Seal(1, pt)
	if bytes.Equal(s[SealedHeaderSize:SealedHeaderSize+32], p1[SealedHeaderSize:SealedHeaderSize+32]) {
		t.Fatal("index 0 and 1 gave the same keystream")
	}
	if !strings.Contains(sk.String(), "redacted") || strings.Contains(sk.GoString(), h(sk.key[:])[2:10]) || strings.Contains(ck.String(), h(ck.key[:])[2:10]) {
		t.Fatal("a key printed")
	}
}

func TestRotator(t *testing.T) {
	cam := mustKey(t, 3)
	a, _ := Derive(mustKey(t, 1))
	b, _ := Derive(mustKey(t, 2))
	ra := []Recipient{{a.Account(), a.Public()}}
	rab := []Recipient{{b.Account(), b.Public()}, {a.Account(), a.Public()}}
	r := &Rotator{Signer: cam, Epoch: 1, Period: time.Hour}
	t0 := time.Unix(1_800_000_000, 0) // on an hour boundary
	k1, e1, err := r.Key(t0, ra)
	if err != nil || e1 == nil || k1.Serial != 1 {
		t.Fatalf("first key: %v %v", e1, err)
	}
	if k, e, _ := r.Key(t0.Add(30*time.Minute), ra); k != k1 || e != nil {
		t.Fatal("a key changed within its period with the same recipients")
	}
	k2, e2, _ := r.Key(t0.Add(31*time.Minute), rab) // a grant
	if k2 == k1 || e2 == nil || k2.Serial != 2 || len(e2.Recipients) != 2 {
		t.Fatal("a new recipient did not rotate the key")
	}
	k3, e3, _ := r.Key(t0.Add(32*time.Minute), ra) // a revoke
	if k3 == k2 || e3 == nil || len(e3.Recipients) != 1 {
		t.Fatal("a revoke did not rotate the key")
	}
	if _, err := b.Open(e3); !errors.Is(err, ErrNotRecipient) {
		t.Fatalf("the revoked viewer opens the new key: %v", err)
	}
	if _, e4, _ := r.Key(t0.Add(61*time.Minute), ra); e4 == nil {
		t.Fatal("a new period did not rotate the key")
	}
	if _, _, err := (&Rotator{Signer: cam, Period: time.Hour}).Key(t0, nil); err == nil {
		t.Fatal("a key with no recipient")
	}
}
