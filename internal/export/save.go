package export

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
)

// ErrExists: a file of the export exists and replacing was not asked for.
var ErrExists = errors.New("export: file exists")

// Saved is what Save wrote.
type Saved struct {
	Files        []string         `json:"files"`          // the video parts, in order
	Evidence     string           `json:"evidence"`       // the evidence file
	Keys         string           `json:"keys,omitempty"` // the keys file of a decrypted export (keys.go)
	BundleSHA256 string           `json:"bundle_sha256"`
	Bytes        int64            `json:"bytes"` // of video
	Parts        []Part           `json:"parts"`
	Report       *evidence.Report `json:"report"`
	Bundle       *evidence.Bundle `json:"-"`
}

// Save verifies the bundle a hub served (data) under opts and writes the
// export named name: the video parts, then the evidence file. Each file
// is written atomically and is private (0600: video of someone's home);
// an existing one is an ErrExists unless replace is set. Nothing is written
// if the bundle does not verify or cannot be exported.
func Save(data []byte, name string, opts evidence.Options, replace bool) (*Saved, error) {
	return SaveWith(data, name, opts, replace, nil)
}

// SaveWith is Save that, with dec, decrypts the sealed clips of an
// end-to-end encrypted camera into the video and writes the keys file
// (keys.go) of exactly those clips beside it, before the evidence file.
// Without dec a sealed clip is not an fMP4 segment and nothing is written.
func SaveWith(data []byte, name string, opts evidence.Options, replace bool, dec Decrypt) (*Saved, error) {
	b, err := evidence.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("the hub sent a bundle that does not decode, so nothing was written: %w", err)
	}
	rep, err := evidence.Verify(b, opts)
	if err != nil {
		return nil, fmt.Errorf("the hub sent a bundle that does not verify, so nothing was written: %w", err)
	}
	ev, err := Detach(b)
	if err != nil {
		return nil, err
	}
	var keysOut []byte
	if dec != nil {
		if b, keysOut, err = decryptClips(b, dec); err != nil {
			return nil, fmt.Errorf("nothing written: %w", err)
		}
	}
	parts, err := Plan(b, name)
	if err != nil {
		return nil, fmt.Errorf("nothing written: %w", err)
	}
	s := &Saved{Evidence: name + EvidenceSuffix, BundleSHA256: fmt.Sprintf("%x", sha256.Sum256(data)), Parts: parts, Report: rep, Bundle: b}
	for _, p := range parts {
		s.Files = append(s.Files, p.Name)
		s.Bytes += p.Bytes
	}
	outs := append([]string{s.Evidence}, s.Files...)
	if keysOut != nil {
		s.Keys = name + KeysSuffix
		outs = append(outs, s.Keys)
	}
	if !replace {
		for _, f := range outs {
			if _, err := os.Stat(f); err == nil {
				return nil, fmt.Errorf("%w: %s (nothing written; replace it with --force)", ErrExists, f)
			}
		}
	}
	write := atomicfile.CreateWith
	if replace {
		write = atomicfile.WriteWith
	}
	// The video first, the evidence last: an export is whole once its
	// evidence file exists.
	for _, p := range parts {
		if err := write(p.Name, 0o600, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			if err := WritePart(bw, b, p); err != nil {
				return err
			}
			return bw.Flush()
		}); err != nil {
			return nil, existed(p.Name, err)
		}
	}
	if keysOut != nil {
		if err := write(s.Keys, 0o600, func(w io.Writer) error { _, err := w.Write(keysOut); return err }); err != nil {
			return nil, existed(s.Keys, err)
		}
	}
	if err := write(s.Evidence, 0o600, func(w io.Writer) error { _, err := w.Write(ev); return err }); err != nil {
		return nil, existed(s.Evidence, err)
	}
	return s, nil
}

func existed(name string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s appeared meanwhile; stopped", ErrExists, name)
	}
	return err
}

// decryptClips returns a copy of b whose sealed clips hold their
// plaintext, and the keys file that seals them again.
func decryptClips(b *evidence.Bundle, dec Decrypt) (*evidence.Bundle, []byte, error) {
	d := *b
	d.Clips = make([]evidence.Clip, len(b.Clips))
	ks := make([]ClipKey, len(b.Clips))
	sealed := false
	for i, c := range b.Clips {
		ks[i] = ClipKey{Seq: c.LeafIndex, Parts: []uint64{}, Key: []byte{}}
		if e2ee.IsSealed(c.Segment) {
			r, err := feedchain.Parse(c.Record)
			if err != nil {
				return nil, nil, err
			}
			plain, k, l, err := dec(c.Segment)
			if err != nil {
				return nil, nil, fmt.Errorf("clip %d (record #%d): %w", i, c.LeafIndex, err)
			}
			if k.Camera != r.Camera || k.Epoch != r.Epoch || k.Stream != r.Stream || k.Seq != r.Seq {
				return nil, nil, fmt.Errorf("clip %d (record #%d) is sealed for another segment", i, c.LeafIndex)
			}
			ks[i] = clipKey(c.LeafIndex, k, l)
			c.Segment = plain
			sealed = true
		}
		d.Clips[i] = c
	}
	if !sealed {
		return b, nil, nil
	}
	out, err := encodeKeys(ks)
	return &d, out, err
}
