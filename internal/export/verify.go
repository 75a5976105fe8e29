package export

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
)

// EvidenceSuffix names an export's evidence file: clip.mp4.evidence.
const EvidenceSuffix = ".evidence"

// Stretch is one clip of an export as found in its video: where it is in
// the files, when it was recorded, and whether it verified.
type Stretch struct {
	Seq       uint64    `json:"seq"`
	File      string    `json:"file"`
	Offset    int64     `json:"offset"`      // of its bytes in File
	From      float64   `json:"from_second"` // its place on File's timeline, seconds from the file's start
	To        float64   `json:"to_second"`
	Recorded  time.Time `json:"recorded"` // the record's start
	Duration  float64   `json:"duration_seconds"`
	Verified  bool      `json:"verified"`
	ErrorKind string    `json:"error_kind,omitempty"` // evidence.KindOf
	Error     string    `json:"error,omitempty"`
}

// Result is what Verify found.
type Result struct {
	Files     []string         `json:"files"`
	Report    *evidence.Report `json:"report"` // the checkpoints, and the clips that verified
	Stretches []Stretch        `json:"stretches"`
	Trailing  []TrailingBytes  `json:"trailing,omitempty"`
	Gaps      []Gap            `json:"gaps,omitempty"`
	// BundleSHA256 is the SHA-256 of the bundle rebuilt from the evidence
	// file and the video: the hub's hub/evidence-export event for this
	// export names it, if every byte is the one the hub served.
	BundleSHA256 string `json:"bundle_sha256"`
}

// TrailingBytes are bytes of a file that no record covers.
type TrailingBytes struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
}

// Gap is time with no recording between two clips of the export.
type Gap struct {
	AfterSeq  uint64    `json:"after_seq"`
	BeforeSeq uint64    `json:"before_seq"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
}

// OK reports whether every clip verified and every byte of the video is
// covered.
func (r *Result) OK() bool {
	for _, s := range r.Stretches {
		if !s.Verified {
			return false
		}
	}
	return len(r.Trailing) == 0
}

// gapTolerance is the gap rule of camchain verify (internal/verify):
// a segment starting more than this after the previous one ended follows
// a gap. Kept equal by TestGapRuleIsVerifys.
const gapTolerance = 500 * time.Millisecond

// Verify checks an export: name is its first video file; the evidence
// file is name+EvidenceSuffix and the parts follow PartName. It returns an
// error only when the export cannot be checked at all (no evidence file, a
// bundle that does not decode, a checkpoint that does not verify); a clip
// that does not verify is a Stretch with Verified false.
func Verify(name string, opts evidence.Options) (*Result, error) {
	data, err := readBounded(name+EvidenceSuffix, evidence.MaxBundleBytes)
	if err != nil {
		return nil, fmt.Errorf("the evidence file: %w (an export is the video and the %s file beside it)", err, EvidenceSuffix)
	}
	b, err := evidence.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+EvidenceSuffix, err)
	}
	recs := make([]*feedchain.Record, len(b.Clips))
	for i, c := range b.Clips {
		if len(c.Segment) != 0 {
			return nil, fmt.Errorf("%s: clip %d carries its segment bytes: not an export's evidence file (verify it with camchain evidence verify)", name+EvidenceSuffix, i)
		}
		r, err := feedchain.Parse(c.Record)
		if err != nil {
			return nil, fmt.Errorf("%s: clip %d: %w", name+EvidenceSuffix, i, err)
		}
		recs[i] = r
	}
	ks, err := loadKeys(name, recs)
	if err != nil {
		return nil, err
	}
	// clip reads clip i from v: its plaintext, sealed again with its
	// disclosed key when the export was decrypted (keys.go).
	clip := func(v *videoReader, i int) ([]byte, location, error) {
		if ks == nil {
			return v.next(recs[i].Size)
		}
		n, err := ks[i].plainSize(recs[i].Size)
		if err != nil {
			return nil, location{file: PartName(name, len(v.files))}, err
		}
		seg, at, err := v.next(n)
		if err == nil {
			seg, err = ks[i].reseal(recs[i], seg)
		}
		return seg, at, err
	}
	res := &Result{}
	v := &videoReader{name: name}
	defer v.close()
	res.Stretches = make([]Stretch, len(b.Clips))
	rep, clipErrs, err := evidence.VerifyEach(b, opts, func(i int) ([]byte, error) {
		seg, at, err := clip(v, i)
		res.Stretches[i] = Stretch{Seq: recs[i].Seq, File: at.file, Offset: at.offset, From: at.second, To: at.second + recs[i].Duration.Seconds(),
			Recorded: recs[i].StartTime().UTC(), Duration: recs[i].Duration.Seconds()}
		v.second += recs[i].Duration.Seconds()
		return seg, err
	})
	if err != nil {
		return nil, err
	}
	res.Report = rep
	for i, err := range clipErrs {
		s := &res.Stretches[i]
		s.Verified = err == nil
		if err != nil {
			s.ErrorKind, s.Error = evidence.KindOf(err), err.Error()
		}
	}
	trailing, err := v.rest()
	if err != nil {
		return nil, err
	}
	res.Trailing, res.Files = trailing, v.files
	for i := 1; i < len(recs); i++ {
		end := recs[i-1].StartTime().Add(recs[i-1].Duration)
		if recs[i].StartTime().Sub(end) > gapTolerance || recs[i].Seq != recs[i-1].Seq+1 {
			res.Gaps = append(res.Gaps, Gap{AfterSeq: recs[i-1].Seq, BeforeSeq: recs[i].Seq, From: end.UTC(), To: recs[i].StartTime().UTC()})
		}
	}

	// The bundle as the hub served it: the evidence file with the video's
	// segments put back.
	h := sha256.New()
	v2 := &videoReader{name: name}
	defer v2.close()
	bySeq := map[uint64]int{}
	for i, c := range b.Clips {
		bySeq[c.LeafIndex] = i
	}
	if _, err := b.WriteTo(h, func(seq uint64) ([]byte, error) {
		seg, _, err := clip(v2, bySeq[seq])
		return seg, err
	}); err == nil {
		res.BundleSHA256 = fmt.Sprintf("%x", h.Sum(nil))
	}
	return res, nil
}

// loadKeys reads the export's keys file (keys.go), nil when it has none;
// it must name the evidence's clips in order.
func loadKeys(name string, recs []*feedchain.Record) ([]ClipKey, error) {
	b, err := readBounded(name+KeysSuffix, evidence.MaxBundleBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ks, err := decodeKeys(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name+KeysSuffix, err)
	}
	if len(ks) != len(recs) {
		return nil, fmt.Errorf("%s: %w: %d clips, the evidence has %d", name+KeysSuffix, ErrKeys, len(ks), len(recs))
	}
	for i := range ks {
		if ks[i].Seq != recs[i].Seq {
			return nil, fmt.Errorf("%s: %w: clip %d is record #%d, the evidence's is #%d", name+KeysSuffix, ErrKeys, i, ks[i].Seq, recs[i].Seq)
		}
	}
	return ks, nil
}

// readBounded reads a whole file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit", path, fi.Size(), max)
	}
	return io.ReadAll(io.LimitReader(f, max))
}

// videoReader reads an export's video files in order, cutting them into
// segments by size: a file's first segment whole, each following one its
// fragment after the file's init section.
type videoReader struct {
	name   string
	files  []string
	f      *os.File
	size   int64
	pos    int64
	init   []byte
	second float64 // the next segment's place on the current file's timeline
	done   bool    // no further part exists
}

type location struct {
	file   string
	offset int64
	second float64
}

func (v *videoReader) open() error {
	if v.f != nil {
		v.f.Close()
		v.f = nil
	}
	p := PartName(v.name, len(v.files))
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) && len(v.files) > 0 {
		v.done = true
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	v.f, v.size, v.pos, v.init, v.second = f, fi.Size(), 0, nil, 0
	v.files = append(v.files, p)
	return nil
}

// next returns the next segment of size bytes (size as its signed record
// says) and where it is.
func (v *videoReader) next(size uint64) ([]byte, location, error) {
	if v.f == nil && !v.done || v.f != nil && v.pos >= v.size {
		if err := v.open(); err != nil {
			return nil, location{}, err
		}
	}
	if v.done || v.f == nil {
		return nil, location{file: PartName(v.name, len(v.files))}, fmt.Errorf("the video ends before this segment: it is not in the export")
	}
	at := location{file: v.files[len(v.files)-1], offset: v.pos, second: v.second}
	if size > evidence.MaxSegmentBytes {
		return nil, at, fmt.Errorf("the record says %d bytes, over the segment limit", size)
	}
	first := v.pos == 0
	want := int64(size)
	if !first {
		want -= int64(len(v.init))
		if v.init == nil || want < 0 {
			return nil, at, fmt.Errorf("the file does not start with an init section (ftyp, moov), so this fragment cannot be checked")
		}
	}
	if avail := v.size - v.pos; want > avail {
		v.pos = v.size
		return nil, at, fmt.Errorf("the file ends %d bytes into this segment's %d: truncated", avail, want)
	}
	buf := make([]byte, len(v.init)*btoi(!first)+int(want))
	if !first {
		copy(buf, v.init)
	}
	if _, err := io.ReadFull(v.f, buf[len(buf)-int(want):]); err != nil {
		return nil, at, err
	}
	v.pos += want
	if first {
		if in, _, ok := SplitInit(buf); ok {
			v.init = in
		}
	}
	return buf, at, nil
}

// rest reports the bytes no segment covered: the end of the current file
// and any further part.
func (v *videoReader) rest() ([]TrailingBytes, error) {
	var out []TrailingBytes
	if v.f != nil && v.pos < v.size {
		out = append(out, TrailingBytes{File: v.files[len(v.files)-1], Offset: v.pos, Bytes: v.size - v.pos})
	}
	for !v.done {
		if err := v.open(); err != nil {
			return nil, err
		}
		if v.f != nil && !v.done {
			out = append(out, TrailingBytes{File: v.files[len(v.files)-1], Offset: 0, Bytes: v.size})
			v.pos = v.size
		}
	}
	return out, nil
}

func (v *videoReader) close() {
	if v.f != nil {
		v.f.Close()
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
