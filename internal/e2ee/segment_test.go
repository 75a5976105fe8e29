package e2ee

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSegmentSeeds = flag.Bool("update-segment-seeds", false, "rewrite testdata/fuzz/FuzzOpenSegment")

// A segment recorded in parts is its parts sealed one after the other
// (indexes 1…n) and opens whole; a whole segment is one chunk of index 0.
// A part missing, two parts swapped, another segment's part, a cut and a
// flipped bit are refused.
func TestOpenSegment(t *testing.T) {
	ck := fixedContentKey(t)
	sk, _ := ck.Segment(0, 0)
	other, _ := ck.Segment(0, 1)
	parts := [][]byte{bytes.Repeat([]byte("init and first fragment "), 40), []byte("second fragment"), bytes.Repeat([]byte{0}, 3000)}
	var sealed [][]byte
	for i, p := range parts {
		s, err := sk.Seal(uint32(i+1), p)
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, s)
	}
	plain := bytes.Join(parts, nil)
	inParts := bytes.Join(sealed, nil)
	whole, _ := sk.Seal(0, plain)
	for name, b := range map[string][]byte{"in parts": inParts, "whole": whole} {
		got, err := sk.OpenSegment(b)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	otherPart, _ := other.Seal(2, parts[1])
	flipped := bytes.Clone(inParts)
	flipped[len(sealed[0])+SealedHeaderSize+3] ^= 1
	cases := map[string][]byte{
		"part 2 missing":         append(bytes.Clone(sealed[0]), sealed[2]...),
		"parts swapped":          bytes.Join([][]byte{sealed[1], sealed[0], sealed[2]}, nil),
		"another segment's part": bytes.Join([][]byte{sealed[0], otherPart, sealed[2]}, nil),
		"cut":                    inParts[:len(inParts)-1],
		"flipped bit":            flipped,
		"whole then a part":      append(bytes.Clone(whole), sealed[1]...),
		"empty":                  nil,
	}
	for name, b := range cases {
		if _, err := sk.OpenSegment(b); !errors.Is(err, ErrOpen) && !errors.Is(err, ErrNotSealed) {
			t.Errorf("%s: %v, want ErrOpen or ErrNotSealed", name, err)
		}
	}
	if *updateSegmentSeeds {
		dir := filepath.Join("testdata", "fuzz", "FuzzOpenSegment")
		os.MkdirAll(dir, 0o755)
		seeds := map[string][]byte{"valid-in-parts": inParts, "valid-whole": whole, "invalid-missing-part": cases["part 2 missing"], "invalid-cut": cases["cut"]}
		for n, b := range seeds {
			os.WriteFile(filepath.Join(dir, n), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644)
		}
	}
}
