package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/retention"
	"github.com/camchain/camchain/internal/store/layout"
)

// Names inside a chain directory of a recording store: the store
// layout's (internal/store/layout, SPEC §9).
const (
	LogName    = layout.LogName
	SegDirName = layout.SegDirName
	PrunedName = layout.PrunedName
)

// hashBufSize is the read size when hashing a clip: segments are about
// 1 MB, so most are read in one or two calls.
const hashBufSize = 1 << 20

// Clip is a file that may be a segment of the chain.
type Clip struct {
	Path string
	// Named is true when the file's name is a store segment name
	// (seg/<seq %016d>.mp4), which claims sequence number Seq.
	Named bool
	Seq   uint64
	// Size and SHA256 are filled by HashClips, or by the caller.
	Size   int64
	SHA256 feedchain.Hash
	// ReadErr is why the file could not be read; Verify reports the clip
	// Unreadable.
	ReadErr string
}

// ClipAt returns the clip for path, named if its base name is a store
// segment name.
func ClipAt(path string) Clip {
	seq, ok := ParseSegName(filepath.Base(path))
	return Clip{Path: path, Named: ok, Seq: seq}
}

// ParseSegName returns the sequence number of a store segment file name:
// exactly 16 decimal digits and ".mp4".
func ParseSegName(name string) (uint64, bool) { return layout.ParseSegName(name) }

// ListClips returns every regular file of dir (not recursing) as a clip,
// ordered by name, leaving out the store's temporary files.
func ListClips(dir string) ([]Clip, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Clip
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), layout.TmpPrefix) {
			continue
		}
		out = append(out, ClipAt(filepath.Join(dir, e.Name())))
	}
	return out, nil
}

// Progress is what HashClips reports as it goes.
type Progress struct {
	Done, Total int   // clips
	Bytes       int64 // hashed so far
}

// HashClips fills in the size and SHA-256 of every clip, reading the files
// on up to workers goroutines (0: one per CPU). A file that cannot be read
// gets ReadErr. progress, if not nil, is called after each file, from any
// of the goroutines, never concurrently. It returns ctx's error if ctx ends
// first.
func HashClips(ctx context.Context, clips []Clip, workers int, progress func(Progress)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(clips))
	var next atomic.Int64
	var bytes atomic.Int64
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := make([]byte, hashBufSize)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(clips) {
					return
				}
				c := &clips[i]
				c.Size, c.SHA256, c.ReadErr = 0, feedchain.Hash{}, ""
				n, sum, err := hashFile(c.Path, buf)
				if err != nil {
					c.ReadErr = err.Error()
				} else {
					c.Size, c.SHA256 = n, sum
				}
				b := bytes.Add(n)
				if progress != nil {
					mu.Lock()
					done++
					progress(Progress{Done: done, Total: len(clips), Bytes: b})
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

func hashFile(path string, buf []byte) (int64, feedchain.Hash, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, feedchain.Hash{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf) // hide WriterTo so buf is used
	if err != nil {
		return n, feedchain.Hash{}, err
	}
	var sum feedchain.Hash
	h.Sum(sum[:0])
	return n, sum, nil
}

// ReadPruned reads a chain's pruned marker: retention deleted the segment
// files of every seq below the number it returns. A chain without one
// gives 0.
func ReadPruned(chainDir string) (uint64, error) {
	p := filepath.Join(chainDir, PrunedName)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, layout.MaxStateFile+1))
	if err != nil {
		return 0, err
	}
	n, err := layout.DecodePruned(b)
	if len(b) > layout.MaxStateFile || err != nil {
		return 0, fmt.Errorf("%s: not a pruned marker (%q then a decimal number and a newline)", p, layout.PrunedMagic)
	}
	return n, nil
}

// ParseChainDir returns the camera, epoch and stream a chain directory's
// path names: <…>/<camera: 40 lowercase hex digits>/<epoch: canonical
// decimal>, with ".sub" for the sub stream's chain (SPEC §9).
func ParseChainDir(chainDir string) (keys.Address, uint64, feedchain.Stream, bool) {
	return layout.ParseChainDir(chainDir)
}

// IsChainDir reports whether dir holds a chain: a records.log or a seg
// directory.
func IsChainDir(dir string) bool {
	for _, n := range []string{LogName, SegDirName} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// FindChains lists the chain directories of a store root,
// <root>/<camera>/<epoch>/ and <root>/<camera>/<epoch>.sub/, ordered by path.
func FindChains(root string) ([]string, error) {
	cams, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cams {
		if !c.IsDir() {
			continue
		}
		epochs, err := os.ReadDir(filepath.Join(root, c.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range epochs {
			dir := filepath.Join(root, c.Name(), e.Name())
			if _, _, _, ok := ParseChainDir(dir); ok && e.IsDir() && IsChainDir(dir) {
				out = append(out, dir)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// ReadPruneStatement reads a chain's prune-statement file: the camera's
// signed prune statement (SPEC §14.1), nil if there is none. It reads at
// most one byte more than a statement, so a huge file is refused before
// it is read; Verify parses and checks what it returns.
func ReadPruneStatement(chainDir string) ([]byte, error) {
	p := filepath.Join(chainDir, layout.PruneStatementName)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, retention.StatementSize+1))
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}
