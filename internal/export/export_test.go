package export_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/export"
)

// exportFixture is a real hub holding a camera's sample recordings under
// a ledger checkpoint, and the bundle it served for them.
type exportFixture struct {
	bundle []byte
	b      *evidence.Bundle
	opts   evidence.Options
	start  time.Time
}

// newExportFixture records runs of the built-in sample (each run a
// restarted agent: its decode time starts again), skip dropping segments
// of the first, checkpoints them, and fetches their bundle from the hub.
func newExportFixture(t *testing.T, skip func(int) bool, runs ...int) *exportFixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hub")
	h, err := evidencetest.StartHub(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	at := start
	for k, n := range runs {
		sk := skip
		if k > 0 {
			sk = nil
		}
		if err := cam.RecordSample(n, at, sk); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Duration(n)*2*time.Second + 30*time.Second)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := cam.Export(ctx, start.Add(-time.Second), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	pin, err := evidencetest.PinnedValidatorsHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &exportFixture{bundle: data, b: b, opts: evidence.Options{PinnedValidatorsHash: pin, Now: time.Now()}, start: start}
}

// write exports the fixture's bundle to dir/clip.mp4 as camchain export
// does (Save), checking each part's size.
func (f *exportFixture) write(t *testing.T, dir string) (string, []export.Part) {
	t.Helper()
	name := filepath.Join(dir, "clip.mp4")
	s, err := export.Save(f.bundle, name, f.opts, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Parts {
		if fi, err := os.Stat(p.Name); err != nil || fi.Size() != p.Bytes || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v; planned %d bytes, private", p.Name, fi, err, p.Bytes)
		}
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(f.bundle)); s.BundleSHA256 != want {
		t.Fatalf("saved bundle sha256 %s, want %s", s.BundleSHA256, want)
	}
	if _, err := export.Save(f.bundle, name, f.opts, false); !errors.Is(err, export.ErrExists) {
		t.Fatalf("a second save over the files: %v, want ErrExists", err)
	}
	return name, s.Parts
}

// decodes fully decodes path with ffmpeg, which must print no error, and
// returns ffprobe's frame count and duration of the video stream.
func decodes(t *testing.T, path string) (frames int, seconds float64) {
	t.Helper()
	if b, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
		t.Fatalf("ffmpeg decoding %s: %v\n%s", path, err, b)
	}
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=nb_read_frames,codec_name:format=duration", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, b)
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "nb_read_frames":
			frames, _ = strconv.Atoi(v)
		case "duration":
			seconds, _ = strconv.ParseFloat(v, 64)
		case "codec_name":
			if v != "h264" {
				t.Errorf("%s: codec %s, want h264", path, v)
			}
		}
	}
	return frames, seconds
}

// TestExportPlaysAndVerifies: ten recorded segments with two dropped (a
// 4 s outage) export as one MP4 that ffmpeg decodes whole with no error,
// whose timeline shows the outage, and that verifies second by second
// against the ledger; the bundle rebuilt from it is the one the hub served.
func TestExportPlaysAndVerifies(t *testing.T) {
	f := newExportFixture(t, func(i int) bool { return i == 4 || i == 5 }, 10)
	name, parts := f.write(t, t.TempDir())
	if len(parts) != 1 || parts[0].Count != 8 {
		t.Fatalf("parts %+v, want one of 8 clips", parts)
	}
	frames, secs := decodes(t, name)
	if frames != 8*50 {
		t.Errorf("%d frames decoded, want 400 (8 segments of 50)", frames)
	}
	if secs < 19.5 || secs > 20.5 {
		t.Errorf("the file lasts %.2f s, want 20 (16 s of video around a 4 s hole)", secs)
	}
	res, err := export.Verify(name, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || !res.Report.Pinned || len(res.Stretches) != 8 {
		t.Fatalf("verify: ok %v, pinned %v, %d stretches: %+v", res.OK(), res.Report.Pinned, len(res.Stretches), res.Stretches)
	}
	if len(res.Gaps) != 1 || res.Gaps[0].AfterSeq != 3 || res.Gaps[0].To.Sub(res.Gaps[0].From) != 4*time.Second {
		t.Errorf("gaps %+v, want 4 s after record #3", res.Gaps)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(f.bundle)); res.BundleSHA256 != want {
		t.Errorf("rebuilt bundle sha256 %s, the hub served %s", res.BundleSHA256, want)
	}
	if s := res.Stretches[5]; s.From != 10 || s.To != 12 || s.Seq != 5 {
		t.Errorf("stretch 5: %+v, want record #5 at 0:10–0:12 of the file", s)
	}
}

// TestTamperedExportNamesItsSeconds: one flipped byte in the video fails
// exactly the segment holding it, named by its seconds; a truncated file
// fails its last segment; bytes added at the end are named; a missing
// evidence file, or a bundle with its segments, is refused plainly.
func TestTamperedExportNamesItsSeconds(t *testing.T) {
	f := newExportFixture(t, nil, 5)
	dir := t.TempDir()
	name, _ := f.write(t, dir)
	orig, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	// The middle of record #3's fragment.
	off := int64(len(f.b.Clips[0].Segment))
	for _, c := range f.b.Clips[1:3] {
		in, _, _ := export.SplitInit(c.Segment)
		off += int64(len(c.Segment) - len(in))
	}
	in, frag, _ := export.SplitInit(f.b.Clips[3].Segment)
	_ = in
	flipped := bytes.Clone(orig)
	flipped[off+int64(len(frag)/2)] ^= 0x01
	os.WriteFile(name, flipped, 0o600)
	res, err := export.Verify(name, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, s := range res.Stretches {
		if !s.Verified {
			bad = append(bad, fmt.Sprintf("#%d %g-%g %s", s.Seq, s.From, s.To, s.ErrorKind))
			if !strings.Contains(s.Error, "sha256") {
				t.Errorf("the failure does not say the bytes differ: %s", s.Error)
			}
		}
	}
	if res.OK() || strings.Join(bad, ",") != "#3 6-8 segment" {
		t.Errorf("one flipped byte in record #3: failures %v, want exactly #3 at 6–8 s", bad)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(f.bundle)); res.BundleSHA256 == want {
		t.Error("a tampered video rebuilds the bundle the hub served")
	}

	// Truncated by 100 bytes: the last segment fails, the others verify.
	os.WriteFile(name, orig[:len(orig)-100], 0o600)
	res, err = export.Verify(name, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || res.Stretches[4].Verified || !res.Stretches[3].Verified || !strings.Contains(res.Stretches[4].Error, "truncated") {
		t.Errorf("truncated: %+v", res.Stretches)
	}
	// Bytes appended: every segment verifies, the extra bytes are named.
	os.WriteFile(name, append(bytes.Clone(orig), "junk"...), 0o600)
	if res, err = export.Verify(name, f.opts); err != nil || res.OK() || len(res.Trailing) != 1 || res.Trailing[0].Bytes != 4 {
		t.Errorf("appended bytes: %+v, %v", res, err)
	}
	// A stray second part is named too.
	os.WriteFile(name, orig, 0o600)
	os.WriteFile(export.PartName(name, 1), []byte("more"), 0o600)
	if res, err = export.Verify(name, f.opts); err != nil || res.OK() || len(res.Trailing) != 1 {
		t.Errorf("a stray part: %+v, %v", res, err)
	}
	os.Remove(export.PartName(name, 1))

	// A tampered checkpoint in the evidence is an error, not a stretch.
	os.Remove(name + export.EvidenceSuffix)
	if _, err := export.Verify(name, f.opts); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no evidence file: %v", err)
	}
	os.WriteFile(name+export.EvidenceSuffix, f.bundle, 0o600)
	if _, err := export.Verify(name, f.opts); err == nil || !strings.Contains(err.Error(), "carries its segment bytes") {
		t.Errorf("a full bundle as the evidence file: %v", err)
	}
	// The wrong ledger: another validator set pinned.
	ev, _ := export.Detach(f.b)
	os.WriteFile(name+export.EvidenceSuffix, ev, 0o600)
	wrong := f.opts
	wrong.PinnedValidatorsHash = bytes.Repeat([]byte{7}, 32)
	if _, err := export.Verify(name, wrong); err == nil {
		t.Error("verified against another validator set")
	}
}

// TestExportAcrossARestart: an agent restart (the decode time starts
// again) makes a second file, named and verified with the first.
func TestExportAcrossARestart(t *testing.T) {
	f := newExportFixture(t, nil, 3, 3)
	name, parts := f.write(t, t.TempDir())
	if len(parts) != 2 || parts[1].Name != filepath.Join(filepath.Dir(name), "clip-2.mp4") || parts[1].First != 3 || !strings.Contains(parts[1].Why, "decode time") {
		t.Fatalf("parts %+v, want clip.mp4 and clip-2.mp4 from the restart", parts)
	}
	for _, p := range parts {
		if frames, _ := decodes(t, p.Name); frames != 150 {
			t.Errorf("%s: %d frames, want 150", p.Name, frames)
		}
	}
	res, err := export.Verify(name, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || len(res.Files) != 2 || len(res.Gaps) != 1 || res.Stretches[3].File != parts[1].Name || res.Stretches[3].From != 0 {
		t.Errorf("verify across the restart: ok %v, files %v, gaps %+v, stretch 3 %+v", res.OK(), res.Files, res.Gaps, res.Stretches[3])
	}
}
