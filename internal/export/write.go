package export

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/camchain/camchain/internal/evidence"
)

// Part is one file of an export: the bundle's clips First..First+Count-1.
type Part struct {
	Name  string `json:"file"`  // the file's name: the export's, then base-2.mp4, base-3.mp4, …
	First int    `json:"first"` // index in Bundle.Clips
	Count int    `json:"clips"`
	Bytes int64  `json:"bytes"`
	// Why says why this part starts a new file ("" for the first): the
	// init section changed, or the decode time went back.
	Why string `json:"why,omitempty"`
}

// PartName is the name of part k (0-based) of an export named name:
// name itself, then its base with -2, -3, … before the extension.
func PartName(name string, k int) string {
	if k == 0 {
		return name
	}
	ext := filepath.Ext(name)
	return fmt.Sprintf("%s-%d%s", strings.TrimSuffix(name, ext), k+1, ext)
}

// Plan splits the clips of b (with their segment bytes) into parts: a clip
// starts a new part when its init section differs from the part's, or its
// fragment's decode time is not after the previous one's. Every segment
// must be a self-contained fMP4 segment.
func Plan(b *evidence.Bundle, name string) ([]Part, error) {
	var parts []Part
	var init []byte
	var last uint64
	for i := range b.Clips {
		seg := b.Clips[i].Segment
		in, frag, ok := SplitInit(seg)
		if !ok {
			return nil, fmt.Errorf("clip %d (record #%d) is not a self-contained fMP4 segment (ftyp, moov, then a fragment): it cannot be exported as MP4", i, b.Clips[i].LeafIndex)
		}
		bt, err := baseTime(frag)
		if err != nil {
			return nil, fmt.Errorf("clip %d (record #%d): %v", i, b.Clips[i].LeafIndex, err)
		}
		why := ""
		switch {
		case i == 0:
		case !bytes.Equal(in, init):
			why = "the camera's parameter sets changed (another init section)"
		case bt <= last:
			why = "the decode time starts again (the camera's agent restarted)"
		}
		if i == 0 || why != "" {
			parts = append(parts, Part{Name: PartName(name, len(parts)), First: i, Why: why, Bytes: int64(len(seg))})
			init = in
		} else {
			parts[len(parts)-1].Bytes += int64(len(frag))
		}
		parts[len(parts)-1].Count++
		last = bt
	}
	return parts, nil
}

// WritePart writes part p of b to w: its first segment whole, then the
// fragment of each following one.
func WritePart(w io.Writer, b *evidence.Bundle, p Part) error {
	for i := p.First; i < p.First+p.Count; i++ {
		seg := b.Clips[i].Segment
		if i > p.First {
			in, _, _ := SplitInit(seg)
			seg = seg[len(in):]
		}
		if _, err := w.Write(seg); err != nil {
			return err
		}
	}
	return nil
}

// Detach returns b's encoding with the segment bytes left out: the
// evidence file of an export. b is not changed.
func Detach(b *evidence.Bundle) ([]byte, error) {
	d := *b
	d.Clips = make([]evidence.Clip, len(b.Clips))
	for i, c := range b.Clips {
		c.Segment = nil
		d.Clips[i] = c
	}
	return d.Encode()
}
