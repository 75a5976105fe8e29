package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/store/layout"
)

// Objects is an object store (an S3 bucket under a prefix,
// internal/objstore) that keeps a copy of the store's chains in the layout of
// SPEC §9.3 (internal/store/layout). The store calls it from Append,
// retention and Open; each call is bounded in time by the implementation.
type Objects interface {
	// Put stores data under name durably before it returns nil.
	Put(ctx context.Context, name string, data []byte) error
	// Get returns the object's bytes; an error matching fs.ErrNotExist
	// when there is none.
	Get(ctx context.Context, name string) ([]byte, error)
	// Delete removes the object; a missing one is not an error.
	Delete(ctx context.Context, name string) error
	// List calls fn for every object under dir/ in name order until fn
	// returns false.
	List(ctx context.Context, dir string, fn func(name string, size int64) bool) error
}

// objDir is the chain's object name prefix.
func (c *Chain) objDir() string { return layout.ObjChainDir(c.id.Camera, c.id.Epoch, c.id.Stream) }

// onDisk reports whether segment files are kept in the directory.
func (s *Store) onDisk() bool { return s.opts.Objects == nil || !s.opts.ObjectsOnly }

// segWhere names where segment seq is read from, for errors.
func (c *Chain) segWhere(seq uint64) string {
	if c.s.onDisk() {
		return c.segPath(seq)
	}
	return "object " + layout.ObjSegName(c.objDir(), seq)
}

// checkObjectsFormat reads the bucket's FORMAT object, or writes it into a
// prefix that holds nothing.
func (s *Store) checkObjectsFormat() error {
	o := s.opts.Objects
	ctx := context.Background()
	b, err := o.Get(ctx, layout.FormatName)
	switch {
	case err == nil && string(b) == layout.ObjFormatLine:
		return nil
	case err == nil:
		return fmt.Errorf("%w: the object store's FORMAT says %q; this build reads %q", ErrFormat, strings.TrimSpace(string(b)), strings.TrimSpace(layout.ObjFormatLine))
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var other string
	if err := o.List(ctx, "", func(name string, _ int64) bool { other = name; return false }); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if other != "" {
		return fmt.Errorf("%w: the object store has no FORMAT object but is not empty (it holds %s): not a camchain store, refusing to write into it", ErrFormat, other)
	}
	if err := o.Put(ctx, layout.FormatName, []byte(layout.ObjFormatLine)); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// putObjects stores a segment and its records.log entry in the object
// store, the segment first (as on disk: a record always has its segment).
func (c *Chain) putObjects(seq uint64, data, entry []byte) error {
	o := c.s.opts.Objects
	if o == nil {
		return nil
	}
	ctx := context.Background()
	if err := o.Put(ctx, layout.ObjSegName(c.objDir(), seq), data); err != nil {
		return fmt.Errorf("%w: segment %d: %w", ErrUnavailable, seq, err)
	}
	if err := o.Put(ctx, layout.ObjRecName(c.objDir(), seq), entry); err != nil {
		return fmt.Errorf("%w: record %d: %w", ErrUnavailable, seq, err)
	}
	return nil
}

// readSegment reads segment seq's bytes: from the directory, falling back
// to the object store when the file is gone; from the object store alone
// when segments are kept only there. A segment in neither gives an error
// matching fs.ErrNotExist.
func (c *Chain) readSegment(seq uint64) ([]byte, error) {
	o := c.s.opts.Objects
	if c.s.onDisk() {
		data, err := os.ReadFile(c.segPath(seq))
		if err == nil || o == nil || !errors.Is(err, fs.ErrNotExist) {
			return data, err
		}
	}
	data, err := o.Get(context.Background(), layout.ObjSegName(c.objDir(), seq))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return data, err
}

// removeSegment deletes segment seq wherever it is kept.
func (c *Chain) removeSegment(seq uint64) error {
	var errs []error
	if c.s.onDisk() {
		if err := os.Remove(c.segPath(seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if o := c.s.opts.Objects; o != nil {
		if err := o.Delete(context.Background(), layout.ObjSegName(c.objDir(), seq)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// putPruned stores the pruned marker in the object store, before anything
// is deleted there.
func (c *Chain) putPruned(n uint64) error {
	o := c.s.opts.Objects
	if o == nil {
		return nil
	}
	if err := o.Put(context.Background(), c.objDir()+"/"+layout.PrunedName, layout.EncodePruned(n)); err != nil {
		return fmt.Errorf("%w: pruned mark: %w", ErrUnavailable, err)
	}
	return nil
}

// listObjectSegments returns the seqs of the chain's segment objects.
func (c *Chain) listObjectSegments() ([]uint64, error) {
	var seqs []uint64
	dir := c.objDir() + "/" + layout.SegDirName
	err := c.s.opts.Objects.List(context.Background(), dir, func(name string, _ int64) bool {
		if seq, ok := layout.ParseSegName(strings.TrimPrefix(name, dir+"/")); ok {
			seqs = append(seqs, seq)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return seqs, nil
}

// scanObjectSegments is scanSegments for segments kept only in the object
// store: it marks missing ones, deletes those beyond the head and below the
// pruned mark (left by a crash) and counts the stored bytes.
func (c *Chain) scanObjectSegments() error {
	seqs, err := c.listObjectSegments()
	if err != nil {
		return err
	}
	n := uint64(len(c.metas))
	present := make([]bool, n)
	var removed int
	for _, seq := range seqs {
		if seq < n && seq >= c.pruneBelow {
			present[seq] = true
			continue
		}
		if err := c.s.opts.Objects.Delete(context.Background(), layout.ObjSegName(c.objDir(), seq)); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		removed++
	}
	// Record objects beyond the head: put before a crash stopped the local
	// log's append (never acknowledged); the camera sends them again.
	var beyond []uint64
	recDir := c.objDir() + "/" + layout.ObjRecDirName
	err = c.s.opts.Objects.List(context.Background(), recDir, func(name string, _ int64) bool {
		if seq, ok := layout.ParseObjRecName(strings.TrimPrefix(name, recDir+"/")); ok && seq >= n {
			beyond = append(beyond, seq)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, seq := range beyond {
		if err := c.s.opts.Objects.Delete(context.Background(), layout.ObjRecName(c.objDir(), seq)); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		removed++
	}
	if removed > 0 {
		c.log.Info("removed objects left by a crash (segments and records beyond the head, segments below the pruned mark)", "objects", removed)
	}
	c.markMissing(present)
	return nil
}

// findInObjects, for segments kept on disk and in the object store, marks
// present the segments missing from the disk that the bucket still holds
// (Segment reads them from there). A bucket it cannot list leaves them
// missing until the next Open, with a warning: the chain still opens.
func (c *Chain) findInObjects(present []bool) {
	if c.s.opts.Objects == nil {
		return
	}
	lacking := 0
	for seq := c.pruneBelow; seq < uint64(len(present)); seq++ {
		if !present[seq] {
			lacking++
		}
	}
	if lacking == 0 {
		return
	}
	seqs, err := c.listObjectSegments()
	if err != nil {
		c.log.Warn("segment files are missing from the disk and the object store cannot be asked for them", "count", lacking, "err", err)
		return
	}
	found := 0
	for _, seq := range seqs {
		if seq >= c.pruneBelow && seq < uint64(len(present)) && !present[seq] {
			present[seq] = true
			found++
		}
	}
	if found > 0 {
		c.log.Warn("segment files are missing from the disk; the object store holds them and serves them", "count", found)
	}
}

// markMissing marks every seq at or above the pruned mark whose segment is
// not present and counts the bytes of those that are.
func (c *Chain) markMissing(present []bool) {
	var missing []uint64
	for seq := c.pruneBelow; seq < uint64(len(c.metas)); seq++ {
		if !present[seq] {
			c.metas[seq].missing = true
			missing = append(missing, seq)
			continue
		}
		c.bytes += int64(c.metas[seq].size)
	}
	if len(missing) > 0 {
		c.log.Error("segment files are missing that retention did not delete: recordings were lost outside camchain",
			"count", len(missing), "first", missing[0], "last", missing[len(missing)-1])
	}
}

// objectRecordEntry is the records.log entry of r, as Append writes it to
// the log and to the object store.
func objectRecordEntry(r *feedchain.Record) []byte { return layout.AppendEntry(nil, r.Marshal()) }
