package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/objstore"
	"github.com/camchain/camchain/internal/store/layout"
)

// camchain verify s3://bucket/prefix/…: the chains under the URL are read
// straight from the bucket (SPEC §9.3) into a private temporary directory
// in the disk store's layout — each chain's rec objects, in seq order,
// become its records.log; its seg objects its segment files; its pruned
// object its marker — and verified there exactly as a copy on disk is,
// the report naming the objects by their s3:// URLs. Nothing in the
// bucket is written.

// bucketCopy is a bucket location copied to disk for verification.
type bucketCopy struct {
	root string // the temporary directory: root/<bucket>/<key>
	path string // what to verify: root/<bucket>/<the URL's prefix>
}

// fetchBucket copies every chain object under the URL into a new
// temporary directory.
func fetchBucket(url, endpoint string) (*bucketCopy, error) {
	loc, err := objstore.ParseURL(url)
	if err != nil {
		return nil, usageError{err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*objstore.OpTimeout)
	o, err := objstore.Open(ctx, objstore.Config{Location: loc, Endpoint: endpoint})
	cancel()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "camchain-verify-s3-")
	if err != nil {
		return nil, err
	}
	bc := &bucketCopy{root: root, path: filepath.Join(root, loc.Bucket, filepath.FromSlash(loc.Prefix))}
	if err := bc.fetch(o, loc); err != nil {
		bc.remove()
		return nil, err
	}
	return bc, nil
}

func (bc *bucketCopy) remove() { os.RemoveAll(bc.root) }

// local is where object key (relative to the bucket) goes on disk.
func (bc *bucketCopy) local(loc objstore.Location, name string) string {
	return filepath.Join(bc.root, loc.Bucket, filepath.FromSlash(loc.Key(name)))
}

func (bc *bucketCopy) fetch(o *objstore.Objstore, loc objstore.Location) error {
	ctx := context.Background()
	type rec struct {
		seq  uint64
		name string
	}
	recs := map[string][]rec{} // by chain directory on disk
	var files []string
	err := o.List(ctx, "", func(name string, size int64) bool {
		dir, base := pathSplit(name)
		parent, elem := pathSplit(dir)
		switch {
		case elem == layout.ObjRecDirName:
			if seq, ok := layout.ParseObjRecName(base); ok {
				d := bc.local(loc, parent)
				recs[d] = append(recs[d], rec{seq, name})
			}
		case elem == layout.SegDirName && strings.HasSuffix(base, layout.SegExt), base == layout.PrunedName:
			files = append(files, name)
		}
		return true
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(bc.path, 0o700); err != nil {
		return err
	}
	for _, name := range files {
		data, err := o.Get(ctx, name)
		if err != nil {
			return err
		}
		if err := writeCopy(bc.local(loc, name), data); err != nil {
			return err
		}
	}
	for dir, rs := range recs {
		slices.SortFunc(rs, func(a, b rec) int { return cmpU64(a.seq, b.seq) })
		var log bytes.Buffer
		log.Write(layout.LogHeader())
		for _, r := range rs {
			data, err := o.Get(ctx, r.name)
			if err != nil {
				return err
			}
			log.Write(data) // a damaged entry is the verifier's to report
		}
		if err := writeCopy(filepath.Join(dir, layout.LogName), log.Bytes()); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, layout.SegDirName), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// rename turns paths of the copy back into the bucket's URLs in what the
// report printed.
func (bc *bucketCopy) rename(out []byte) []byte {
	return bytes.ReplaceAll(out, []byte(bc.root+string(filepath.Separator)), []byte(objstore.Scheme))
}

func writeCopy(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func pathSplit(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// verifyBuckets runs verify over the local copies of the bucket URLs among
// paths (and the other paths as they are), printing the report with the
// URLs in place of the copies' paths.
func (e *env) verifyBuckets(hf *hubFlags, paths []string, cam *keys.Address, epoch int64, endpoint string) error {
	var copies []*bucketCopy
	defer func() {
		for _, bc := range copies {
			bc.remove()
		}
	}()
	local := make([]string, 0, len(paths))
	for _, p := range paths {
		if !objstore.IsURL(p) {
			local = append(local, p)
			continue
		}
		start := time.Now()
		bc, err := fetchBucket(p, endpoint)
		if err != nil {
			return err
		}
		copies = append(copies, bc)
		local = append(local, bc.path)
		fmt.Fprintf(e.stderr, "camchain: read %s from the bucket in %s\n", p, time.Since(start).Round(time.Millisecond))
	}
	out := e.stdout
	var buf bytes.Buffer
	e.stdout = &buf
	err := e.verify(hf, local, cam, epoch)
	e.stdout = out
	for _, bc := range copies {
		buf = *bytes.NewBuffer(bc.rename(buf.Bytes()))
	}
	if _, werr := out.Write(buf.Bytes()); err == nil {
		err = werr
	}
	return err
}
