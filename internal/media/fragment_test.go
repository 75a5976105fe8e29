package media

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// marshalPart is mediacommon's encoding of the same fragment: the
// reference appendFragment must equal byte for byte.
func marshalPart(t testing.TB, seq uint32, tracks []fragmentTrack) []byte {
	t.Helper()
	p := fmp4.Part{SequenceNumber: seq}
	for _, tr := range tracks {
		p.Tracks = append(p.Tracks, &fmp4.PartTrack{ID: int(tr.id), BaseTime: tr.base, Samples: tr.samples})
	}
	var buf seekablebuffer.Buffer
	if err := p.Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomTracks(r *rand.Rand) []fragmentTrack {
	tracks := make([]fragmentTrack, 1+r.IntN(2))
	for i := range tracks {
		tracks[i] = fragmentTrack{id: uint32(i + 1), base: r.Uint64() >> r.IntN(64)}
		n := r.IntN(40)
		if r.IntN(8) == 0 {
			n = 0
		}
		for range n {
			s := &fmp4.Sample{Duration: r.Uint32() >> r.IntN(32), Payload: make([]byte, r.IntN(300))}
			for k := range s.Payload {
				s.Payload[k] = byte(r.Uint32())
			}
			switch r.IntN(3) {
			case 0:
				s.IsNonSyncSample = true
			case 1:
				s.PTSOffset = int32(r.Uint32()) >> r.IntN(32)
			}
			tracks[i].samples = append(tracks[i].samples, s)
		}
	}
	return tracks
}

// TestAppendFragmentIsPartMarshal: random fragments of one or two tracks
// (no samples, sync and non-sync samples, zero, positive and negative
// composition offsets, empty payloads, 64-bit base times), appended after
// other bytes, are mediacommon's bytes.
func TestAppendFragmentIsPartMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		tracks := randomTracks(r)
		seq := r.Uint32()
		prefix := []byte("init section")
		got := appendFragment(bytes.Clone(prefix), seq, tracks)
		want := marshalPart(t, seq, tracks)
		if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
			t.Fatalf("fragment %d (%d tracks): %d bytes, mediacommon %d\n got %x\nwant %x", i, len(tracks), len(got)-len(prefix), len(want), got[len(prefix):min(len(got), len(prefix)+120)], want[:min(len(want), 120)])
		}
	}
}

// FuzzAppendFragment: the same for fragments drawn from the fuzzer's seed.
func FuzzAppendFragment(f *testing.F) {
	f.Add(uint64(0), uint64(0))
	f.Add(uint64(7), uint64(1<<63))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		r := rand.New(rand.NewPCG(a, b))
		tracks := randomTracks(r)
		if got, want := appendFragment(nil, uint32(a), tracks), marshalPart(t, uint32(a), tracks); !bytes.Equal(got, want) {
			t.Fatalf("differs from mediacommon: %x vs %x", got, want)
		}
	})
}
