package e2ee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

const historyVectorsPath = "testdata/history_vectors.json"

// historyVectors is testdata/history_vectors.json (docs/SPEC.md §17.6):
// the vectors' content key (camera 0x03…03, epoch 2, serial 7) and a
// second one (serial 8) re-wrapped by the owner 0x01…01 to the viewing
// key of the grantee 0x02…02 — serial 8 whole, serial 7 partially (the
// segment keys of main seq 1 and sub seq 1) — and corruptions with their
// expect.
type historyVectors struct {
	Comment     string           `json:"comment"`
	Camera      string           `json:"camera"`
	Owner       string           `json:"owner"`
	Grantee     string           `json:"grantee_private_key"` // test key only!
	Epoch       uint64           `json:"epoch"`
	HistoryFrom uint64           `json:"history_from"`
	GrantedAt   uint64           `json:"granted_at"`
	Envelope    string           `json:"envelope"`
	Keys        []historyKeyVec  `json:"keys"`
	Invalid     []invalidHistory `json:"invalid"`
}

type historyKeyVec struct {
	Kind   uint64 `json:"kind"` // 0 content key, 1 segment key
	Serial uint64 `json:"serial"`
	Stream uint64 `json:"stream"`
	Seq    uint64 `json:"seq"`
	Key    string `json:"key"`
}

type invalidHistory struct {
	Name     string `json:"name"`
	Envelope string `json:"envelope"`
	Expect   string `json:"expect"` // history | bad_signature | not_recipient (decodes, does not open for the grantee)
}

func secondContentKey(t testing.TB) *ContentKey {
	ck := &ContentKey{Camera: mustKey(t, 3).Address(), Epoch: 2, Serial: 8}
	for i := range ck.key {
		ck.key[i] = byte(0xc0 + i)
	}
	return ck
}

func historyKeysFor(t testing.TB) HistoryKeys {
	ck7 := fixedContentKey(t)
	s1, _ := ck7.Segment(feedchain.StreamMain, 1)
	s2, _ := ck7.Segment(feedchain.StreamSub, 1)
	return HistoryKeys{Content: []*ContentKey{secondContentKey(t)}, Segments: []*SegmentKey{s2, s1}}
}

func buildHistoryVectors(t testing.TB) historyVectors {
	owner, grantee, hub := mustKey(t, 1), mustKey(t, 2), mustKey(t, 5)
	gk, _ := Derive(grantee)
	cam := mustKey(t, 3).Address()
	g := HistoryGrant{HistoryFrom: 1_800_000_000, GrantedAt: 1_800_003_600}
	he, err := NewHistory(cam, 2, Recipient{gk.Account(), gk.Public()}, g, historyKeysFor(t), owner)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := he.Encode()
	vf := historyVectors{Comment: "camchain history envelopes (docs/SPEC.md §17.6). Regenerate: go test ./internal/e2ee -run TestHistoryVectors -update",
		Camera: cam.Hex(), Owner: owner.Address().Hex(), Grantee: h(bytes.Repeat([]byte{2}, 32)), Epoch: 2,
		HistoryFrom: g.HistoryFrom, GrantedAt: g.GrantedAt, Envelope: h(wire)}
	hk := historyKeysFor(t)
	vf.Keys = append(vf.Keys, historyKeyVec{Kind: 0, Serial: 8, Key: h(hk.Content[0].key[:])})
	for _, sk := range []*SegmentKey{hk.Segments[1], hk.Segments[0]} {
		vf.Keys = append(vf.Keys, historyKeyVec{Kind: 1, Serial: sk.Serial, Stream: uint64(sk.Stream), Seq: sk.Seq, Key: h(sk.key[:])})
	}
	slicesSortKeys(vf.Keys)
	mut := func(f func([]byte) []byte) string { return h(f(append([]byte(nil), wire...))) }
	// Made by the hub's key in the owner's name, and for another grantee.
	forged, _ := NewHistory(cam, 2, Recipient{gk.Account(), gk.Public()}, g, historyKeysFor(t), hub)
	forgedWire, _ := forged.Encode()
	other, _ := Derive(mustKey(t, 4))
	forB, _ := NewHistory(cam, 2, Recipient{other.Account(), other.Public()}, g, historyKeysFor(t), owner)
	forBWire, _ := forB.Encode()
	itemAt := bytes.Index(wire, []byte{0x84, 0x00, 0x08}) // item [0, 8, 0, 0]
	vf.Invalid = []invalidHistory{
		{Name: "trailing byte", Envelope: mut(func(b []byte) []byte { return append(b, 0) }), Expect: "history"},
		{Name: "last byte cut", Envelope: mut(func(b []byte) []byte { return b[:len(b)-1] }), Expect: "history"},
		{Name: "version 2", Envelope: mut(func(b []byte) []byte { b[1] = 2; return b }), Expect: "history"},
		{Name: "signature bit flipped", Envelope: mut(func(b []byte) []byte { b[len(b)-10] ^= 1; return b }), Expect: "bad_signature"},
		{Name: "a content key's serial changed", Envelope: mut(func(b []byte) []byte { b[itemAt+2] = 9; return b }), Expect: "bad_signature"},
		{Name: "sealed keys bit flipped", Envelope: mut(func(b []byte) []byte { b[len(b)-80] ^= 1; return b }), Expect: "bad_signature"},
		{Name: "signed by the hub, naming the owner", Envelope: h(forgedWire), Expect: "bad_signature"},
		{Name: "for another grantee", Envelope: h(forBWire), Expect: "not_recipient"},
	}
	return vf
}

func slicesSortKeys(ks []historyKeyVec) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && (HistoryItem{Kind: ks[j].Kind, Serial: ks[j].Serial, Stream: ks[j].Stream, Seq: ks[j].Seq}).compare(HistoryItem{Kind: ks[j-1].Kind, Serial: ks[j-1].Serial, Stream: ks[j-1].Stream, Seq: ks[j-1].Seq}) < 0; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

func TestHistoryVectors(t *testing.T) {
	if *update {
		vf := buildHistoryVectors(t)
		b, _ := json.MarshalIndent(vf, "", "  ")
		if err := os.WriteFile(historyVectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("testdata", "fuzz", "FuzzDecodeHistory")
		os.MkdirAll(dir, 0o755)
		seed := func(name, hx string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", unhex(t, hx))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		seed("valid", vf.Envelope)
		for i, v := range vf.Invalid {
			seed(fmt.Sprintf("invalid-%02d", i), v.Envelope)
		}
	}
	var vf historyVectors
	if err := json.Unmarshal(mustRead(t, historyVectorsPath), &vf); err != nil {
		t.Fatal(err)
	}
	cam, _ := keys.ParseAddress(vf.Camera)
	owner, _ := keys.ParseAddress(vf.Owner)
	gk, _ := keys.FromBytes(unhex(t, vf.Grantee))
	grantee, _ := Derive(gk)
	he, err := DecodeHistory(unhex(t, vf.Envelope), cam, owner)
	if err != nil {
		t.Fatal(err)
	}
	if he.Recipient != grantee.Account() || he.Grant.HistoryFrom != vf.HistoryFrom || he.Grant.GrantedAt != vf.GrantedAt || he.Epoch != vf.Epoch {
		t.Fatalf("decoded %+v", he)
	}
	hk, err := grantee.OpenHistory(he)
	if err != nil {
		t.Fatal(err)
	}
	var got []historyKeyVec
	for _, c := range hk.Content {
		got = append(got, historyKeyVec{Kind: 0, Serial: c.Serial, Key: h(c.key[:])})
	}
	for _, s := range hk.Segments {
		got = append(got, historyKeyVec{Kind: 1, Serial: s.Serial, Stream: uint64(s.Stream), Seq: s.Seq, Key: h(s.key[:])})
	}
	slicesSortKeys(got)
	if g, w := fmt.Sprint(got), fmt.Sprint(vf.Keys); g != w {
		t.Fatalf("opened keys\n%s\nwant\n%s", g, w)
	}
	// The re-wrapped segment keys open their sealed vectors; the partial
	// period's content key is not among the keys, and a segment of it not
	// re-wrapped (main seq 0, before history-from) opens under none.
	var cv contentVectors
	json.Unmarshal(mustRead(t, contentVectorsPath), &cv)
	for _, v := range cv.Segments {
		opened := false
		for _, s := range hk.Segments {
			if _, err := s.Open(unhex(t, v.Sealed)); err == nil {
				opened = true
				if s.Stream != v.Stream || s.Seq != v.Seq {
					t.Errorf("segment key of %d/%d opened %d/%d", s.Stream, s.Seq, v.Stream, v.Seq)
				}
			}
		}
		if want := v.Seq == 1; opened != want {
			t.Errorf("stream %d seq %d: opened %v with the re-wrapped keys, want %v", v.Stream, v.Seq, opened, want)
		}
		for _, c := range hk.Content {
			if c.Serial == cv.Serial {
				t.Fatal("the partial period's content key was re-wrapped")
			}
		}
	}
	// Taken as another owner's or another camera's: refused.
	if _, err := DecodeHistory(unhex(t, vf.Envelope), cam, mustKey(t, 5).Address()); !errors.Is(err, keys.ErrBadSignature) {
		t.Errorf("as the hub's: %v", err)
	}
	if _, err := DecodeHistory(unhex(t, vf.Envelope), mustKey(t, 4).Address(), owner); !errors.Is(err, keys.ErrBadSignature) {
		t.Errorf("as another camera's: %v", err)
	}
	for _, v := range vf.Invalid {
		he, err := DecodeHistory(unhex(t, v.Envelope), cam, owner)
		switch v.Expect {
		case "history":
			if !errors.Is(err, ErrHistory) {
				t.Errorf("%s: %v, want ErrHistory", v.Name, err)
			}
		case "bad_signature":
			if !errors.Is(err, keys.ErrBadSignature) {
				t.Errorf("%s: %v, want ErrBadSignature", v.Name, err)
			}
		case "not_recipient":
			if err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			if _, err := grantee.OpenHistory(he); !errors.Is(err, ErrNotRecipient) {
				t.Errorf("%s: opened by the grantee: %v", v.Name, err)
			}
			// Relabelled for the grantee, the signature no longer holds.
			he.Recipient, he.KeyID = grantee.Account(), grantee.Public().ID()
			b, _ := he.Encode()
			if _, err := DecodeHistory(b, cam, owner); !errors.Is(err, keys.ErrBadSignature) {
				t.Errorf("%s relabelled for the grantee: %v", v.Name, err)
			}
			if _, err := grantee.OpenHistory(he); err == nil {
				t.Errorf("%s relabelled: the grantee opens keys sealed to another", v.Name)
			}
		default:
			t.Fatalf("%s: unknown expect %q", v.Name, v.Expect)
		}
	}
}

func TestNewHistoryRefuses(t *testing.T) {
	owner := mustKey(t, 1)
	gk, _ := Derive(mustKey(t, 2))
	r := Recipient{gk.Account(), gk.Public()}
	cam := mustKey(t, 3).Address()
	if _, err := NewHistory(cam, 2, r, HistoryGrant{}, HistoryKeys{}, owner); !errors.Is(err, ErrHistory) {
		t.Errorf("no keys: %v", err)
	}
	if _, err := NewHistory(cam, 3, r, HistoryGrant{}, historyKeysFor(t), owner); !errors.Is(err, ErrHistory) {
		t.Errorf("keys of another epoch: %v", err)
	}
	dup := historyKeysFor(t)
	dup.Content = append(dup.Content, secondContentKey(t))
	if _, err := NewHistory(cam, 2, r, HistoryGrant{}, dup, owner); !errors.Is(err, ErrHistory) {
		t.Errorf("a key twice: %v", err)
	}
	var many HistoryKeys
	ck := fixedContentKey(t)
	for i := range MaxHistoryItems {
		sk, _ := ck.Segment(0, uint64(i))
		many.Segments = append(many.Segments, sk)
	}
	he, err := NewHistory(cam, 2, r, HistoryGrant{}, many, owner)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := he.Encode(); len(b) > MaxHistoryBytes {
		t.Fatalf("a full envelope is %d bytes, over MaxHistoryBytes %d", len(b), MaxHistoryBytes)
	}
	sk, _ := ck.Segment(0, MaxHistoryItems)
	many.Segments = append(many.Segments, sk)
	if _, err := NewHistory(cam, 2, r, HistoryGrant{}, many, owner); !errors.Is(err, ErrHistory) {
		t.Errorf("%d keys: %v", MaxHistoryItems+1, err)
	}
}
