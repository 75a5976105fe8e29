package verify_test

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/verify"
)

func TestParseSegName(t *testing.T) {
	for name, want := range map[string]int64{
		"0000000000000000.mp4": 0, "0000000000000042.mp4": 42, "9999999999999999.mp4": 9999999999999999,
		"000000000000042.mp4": -1, "00000000000000042.mp4": -1, "000000000000004x.mp4": -1,
		"0000000000000042.MP4": -1, "0000000000000042.mp4.tmp": -1, "door.mp4": -1, "-000000000000042.mp4": -1,
	} {
		seq, ok := verify.ParseSegName(name)
		if ok != (want >= 0) || (ok && seq != uint64(want)) {
			t.Errorf("ParseSegName(%q) = %d, %v; want %d", name, seq, ok, want)
		}
	}
}

func TestReadPruned(t *testing.T) {
	for content, want := range map[string]int64{
		"camchain-pruned 1\n7\n": 7, "camchain-pruned 1\n0\n": 0,
		"camchain-pruned 1\n07\n": -1, "camchain-pruned 1\n7": -1, "camchain-pruned 2\n7\n": -1,
		"camchain-pruned 1\n-7\n": -1, "camchain-pruned 1\n 7\n": -1, "": -1,
		"camchain-pruned 1\n" + strings.Repeat("9", 80) + "\n": -1,
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, verify.PrunedName), []byte(content))
		n, err := verify.ReadPruned(dir)
		if (err == nil) != (want >= 0) || (err == nil && n != uint64(want)) {
			t.Errorf("ReadPruned(%q) = %d, %v; want %d", content, n, err, want)
		}
	}
	if n, err := verify.ReadPruned(t.TempDir()); n != 0 || err != nil {
		t.Errorf("no marker: %d, %v", n, err)
	}
}

func TestHashClipsAndUnreadable(t *testing.T) {
	dir := t.TempDir()
	data := []byte("some bytes")
	writeFile(t, filepath.Join(dir, "a.mp4"), data)
	writeFile(t, filepath.Join(dir, ".tmp-0000000000000001.mp4-123"), data)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	clips, err := verify.ListClips(dir)
	if err != nil || len(clips) != 1 {
		t.Fatalf("ListClips: %v, %+v (temp files and directories are not clips)", err, clips)
	}
	// A directory given as a clip cannot be read.
	clips = append(clips, verify.ClipAt(filepath.Join(dir, "sub")))
	var calls int
	if err := verify.HashClips(context.Background(), clips, 4, func(p verify.Progress) { calls++ }); err != nil {
		t.Fatal(err)
	}
	if clips[0].SHA256 != sha256.Sum256(data) || clips[0].Size != int64(len(data)) || clips[0].ReadErr != "" || calls != 2 {
		t.Fatalf("hashed %+v, %d progress calls", clips[0], calls)
	}
	if clips[1].ReadErr == "" {
		t.Fatalf("a directory hashed as a clip: %+v", clips[1])
	}
	rep := verify.Verify(verify.Input{Camera: keys.Address{1}, Clips: clips[1:]})
	if len(rep.Clips) != 1 || rep.Clips[0].Status != verify.Unreadable || rep.OK() {
		t.Fatalf("report %+v", rep.Clips)
	}
}

func TestFindChains(t *testing.T) {
	root := t.TempDir()
	cam := strings.Repeat("ab", 20)
	for _, d := range []string{cam + "/0/seg", cam + "/1/seg", cam + "/01/seg", cam + "/x/seg", strings.ToUpper(cam) + "/2/seg", "LOCK/3/seg", cam + "/5"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "FORMAT"), []byte("camchain-store 1\n"))
	got, err := verify.FindChains(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, cam, "0"), filepath.Join(root, cam, "1")}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("FindChains = %v, want %v", got, want)
	}
}
