package viewchain

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

// FuzzParse: Parse never panics, and what it accepts round-trips exactly.
func FuzzParse(f *testing.F) {
	fx := newFixture(f, 1)
	l, err := fixedSigner(fx).Segment(fx.recs[0].Hash())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(l.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(l.Marshal(), b) {
			t.Fatal("accepted input does not round-trip")
		}
	})
}

// FuzzVerifyFrames: a verifier fed the vectors' session with one frame
// replaced by fuzz input never panics, and accepts the whole session only
// if the replaced frame decodes to the very bytes it replaced (the hub's
// signature and the record hash leave nothing else).
func FuzzVerifyFrames(f *testing.F) {
	fx := newFixture(f, 4)
	s := fixedSigner(fx)
	var frames [][]byte
	for i := 0; i < 3; i++ {
		l, err := s.Segment(fx.recs[i].Hash())
		if err != nil {
			f.Fatal(err)
		}
		frames = append(frames, AppendSegment(nil, fx.recs[i].Marshal(), l.Marshal(), fx.segs[i]))
	}
	end, _ := s.End()
	frames = append(frames, AppendEnd(nil, end.Marshal()))
	for i := range frames {
		f.Add(uint8(i), frames[i])
	}
	f.Fuzz(func(t *testing.T, at uint8, b []byte) {
		i := int(at) % len(frames)
		v := NewVerifier(fx.hub.Address(), fx.cam.Address(), vecNonce, feedchain.StreamMain)
		var err error
		for j, fr := range frames {
			if j == i {
				fr = b
			}
			var d Frame
			if d, err = DecodeFrame(fr); err != nil {
				break
			}
			if d.Type == FrameSegment {
				_, err = v.Segment(d.Link, d.Record, d.Data)
			} else {
				err = v.End(d.Link)
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			err = v.Finish(true)
		}
		if err == nil && !bytes.Equal(b, frames[i]) {
			t.Fatalf("accepted a session with frame %d replaced by %x", i, b)
		}
	})
}

// The seed corpora under testdata/fuzz are these inputs, written by
// TestWriteFuzzSeeds -update (go's corpus file format).
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		for _, d := range []string{"FuzzParse", "FuzzVerifyFrames"} {
			if ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", d)); err != nil || len(ents) == 0 {
				t.Fatalf("testdata/fuzz/%s has no seeds (%v): run go test ./internal/viewchain -run TestWriteFuzzSeeds -update", d, err)
			}
		}
		return
	}
	v := buildVectors(t)
	write := func(dir, name, content string) {
		p := filepath.Join("testdata", "fuzz", dir)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, name), []byte("go test fuzz v1\n"+content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	q := func(h string) string { b, _ := hex.DecodeString(h); return "[]byte(" + quote(b) + ")\n" }
	for i, l := range v.Links {
		b, _ := hex.DecodeString(l.Body)
		sig, _ := hex.DecodeString(l.Sig[2:])
		write("FuzzParse", "link"+string(rune('0'+i)), "[]byte("+quote(append(b, sig...))+")\n")
	}
	for i, bl := range v.BadLinks {
		write("FuzzParse", "bad"+string(rune('a'+i)), q(bl.Link))
	}
	for i, fr := range v.Frames[:3] {
		write("FuzzVerifyFrames", "frame"+string(rune('0'+i)), "byte('\\x0"+string(rune('0'+i))+"')\n"+q(fr))
	}
	for i, c := range v.Corrupt {
		if len(c.Frames) > 1 {
			write("FuzzVerifyFrames", "corrupt"+string(rune('a'+i)), "byte('\\x01')\n"+q(c.Frames[1]))
		}
	}
}

func quote(b []byte) string {
	var s bytes.Buffer
	s.WriteByte('"')
	for _, c := range b {
		s.WriteString(`\x`)
		s.WriteString(hex.EncodeToString([]byte{c}))
	}
	s.WriteByte('"')
	return s.String()
}
