package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/verify"
)

// Paging sizes for the hub reads of verify.
const (
	verifyRecordsPage     = 5000 // the records route's maximum
	verifyCheckpointsPage = 500  // the other lists' maximum
	verifyProgressEvery   = 2 * time.Second
)

func newVerifyCmd(e *env) *cobra.Command {
	var camera, epochFlag string
	var pf pinFlags
	cmd := &cobra.Command{
		Use:   "verify PATH...",
		Short: "Check recorded clips against the camera's chain and its checkpoints on the ledger",
		Long: `Check every clip under PATH against the camera's feed chain and the
integrity checkpoints the camera committed to the ledger, and say of each
one whether it is verified, modified, truncated, inserted (not from this
camera), missing (deleted), out of order, forged, failed (under a checkpoint
that does not match: history rewritten) or pending (not checkpointed yet).

PATH may be a recording store (a camera's <data>/store, a hub's
<data>/recordings), one chain directory of it (<camera>/<epoch>/), its seg/
directory, clip files, or an evidence bundle (an export, checked offline as
"camchain evidence verify" does). Records come from the chain's records.log when
there is one, else from the hub; checkpoints always come from the hub's
ledger, and each checkpoint transaction's camera signature is checked, so the
hub cannot vouch for anything the camera did not sign. Clips outside a chain
directory need --camera (and --epoch, default the camera's current epoch).
Nothing under PATH is modified.

Exit status: 0 when everything checked is verified (clips deleted by
retention aside), 1 otherwise (pending included) or on error, 2 for a bad
command line, 3 when all verified but a bundle was checked with --no-pin.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("%s needs at least one PATH; see --help", cmd.CommandPath())}
			}
			return nil
		},
	}
	hf := addHubFlags(cmd)
	cmd.PersistentFlags().Lookup("json").Usage = "print the report as JSON"
	cmd.Flags().StringVar(&camera, "camera", "", "the camera `ADDRESS` of clips outside a chain directory (or only this camera's chains of a store)")
	cmd.Flags().StringVar(&epochFlag, "epoch", "", "the binding `EPOCH` of those clips (default: from the path, else the camera's current one)")
	pf.add(cmd)
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		var cam *keys.Address
		if camera != "" {
			a, err := parseAddrFlag("camera", camera)
			if err != nil {
				return err
			}
			cam = &a
		}
		epoch := int64(-1) // none given
		if epochFlag != "" {
			n, err := strconv.ParseInt(epochFlag, 10, 64)
			if err != nil || n < 0 {
				return usageError{fmt.Errorf("--epoch %q: want a non-negative number", epochFlag)}
			}
			epoch = n
		}
		// Evidence bundles (an export) verify offline, with no hub.
		var clips, bundles []string
		for _, p := range args {
			if isEvidenceBundle(p) {
				bundles = append(bundles, p)
			} else {
				clips = append(clips, p)
			}
		}
		var pinned []byte
		if len(bundles) > 0 {
			var err error
			if pinned, err = pf.resolve(); err != nil {
				return err
			}
		}
		bundlesOK, unpinned := true, false
		for _, p := range bundles {
			switch err := e.verifyBundleFile(p, pinned, hf.jsonOut); {
			case errors.Is(err, errNotPinned):
				unpinned = true
			case err != nil:
				fmt.Fprintf(e.stderr, "camchain: %v\n", err)
				bundlesOK = false
			}
		}
		if len(clips) > 0 {
			if err := e.verify(hf, clips, cam, epoch); err != nil {
				return err
			}
		}
		if !bundlesOK {
			return errors.New("an evidence bundle does not verify")
		}
		if unpinned {
			return errNotPinned
		}
		return nil
	}
	return cmd
}

// isEvidenceBundle reports whether the file at p starts like an evidence
// bundle (a CBOR array opening with the bundle label).
func isEvidenceBundle(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 32)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	return n > 0 && head[0]&0xe0 == 0x80 && bytes.Contains(head, []byte("camchain-evidence"))
}

// verifyJob is one chain to verify and the files to check against it.
type verifyJob struct {
	camera   keys.Address
	epoch    uint64
	hasEpoch bool
	dir      string // the chain directory, "" for clips outside one
	complete bool   // the whole segment directory is checked
	clips    map[string]verify.Clip

	recordsFrom string // where the records came from, for the report
	input       verify.Input
	report      *verify.Report
}

func (j *verifyJob) addClip(path string) {
	if _, ok := j.clips[path]; !ok {
		j.clips[path] = verify.ClipAt(path)
	}
}

func (e *env) verify(hf *hubFlags, paths []string, cam *keys.Address, epoch int64) error {
	jobs, err := findVerifyJobs(paths, cam, epoch)
	if err != nil {
		return err
	}
	c, ctx, cancel, err := hf.client()
	if err != nil {
		return err
	}
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := j.load(ctx, c, st.EVMChainID); err != nil {
			return err
		}
	}
	if err := e.hashAll(jobs); err != nil {
		return err
	}
	ok := true
	for _, j := range jobs {
		j.report = verify.Verify(j.input)
		ok = ok && j.report.OK()
	}
	if hf.jsonOut {
		if err := e.printJSON(verifyJSONOf(c.Base(), jobs, ok)); err != nil {
			return err
		}
	} else {
		e.printVerify(c.Base(), jobs, ok)
	}
	if !ok {
		return errors.New("not everything checked is verified")
	}
	return nil
}

// findVerifyJobs works out the chains PATHs belong to.
func findVerifyJobs(paths []string, cam *keys.Address, epoch int64) ([]*verifyJob, error) {
	byDir := map[string]*verifyJob{}
	var order []*verifyJob
	var loose *verifyJob
	chainJob := func(dir string, complete bool) (*verifyJob, error) {
		dir = filepath.Clean(dir)
		if j := byDir[dir]; j != nil {
			j.complete = j.complete || complete
			return j, nil
		}
		j := &verifyJob{dir: dir, complete: complete, clips: map[string]verify.Clip{}}
		if a, ep, ok := verify.ParseChainDir(dir); ok {
			j.camera, j.epoch, j.hasEpoch = a, ep, true
			if cam != nil && *cam != a {
				return nil, usageError{fmt.Errorf("%s is the chain of camera %s, not --camera %s", dir, a.Hex(), cam.Hex())}
			}
			if epoch >= 0 && uint64(epoch) != ep {
				return nil, usageError{fmt.Errorf("%s is the chain of epoch %d, not --epoch %d", dir, ep, epoch)}
			}
		} else if err := j.idFromLog(cam, epoch); err != nil {
			return nil, err
		}
		byDir[dir] = j
		order = append(order, j)
		return j, nil
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if seg := filepath.Dir(filepath.Clean(p)); filepath.Base(seg) == verify.SegDirName && verify.IsChainDir(filepath.Dir(seg)) {
				j, err := chainJob(filepath.Dir(seg), false)
				if err != nil {
					return nil, err
				}
				j.addClip(p)
				continue
			}
			if loose == nil {
				if loose, err = looseJob(cam, epoch); err != nil {
					return nil, err
				}
			}
			loose.addClip(p)
			continue
		}
		switch {
		case verify.IsChainDir(p):
			if _, err := chainJob(p, true); err != nil {
				return nil, err
			}
		case filepath.Base(filepath.Clean(p)) == verify.SegDirName && verify.IsChainDir(filepath.Dir(filepath.Clean(p))):
			if _, err := chainJob(filepath.Dir(filepath.Clean(p)), true); err != nil {
				return nil, err
			}
		default:
			dirs, err := verify.FindChains(p)
			if err != nil {
				return nil, err
			}
			found := 0
			for _, d := range dirs {
				a, ep, _ := verify.ParseChainDir(d)
				if (cam != nil && *cam != a) || (epoch >= 0 && uint64(epoch) != ep) {
					continue
				}
				if _, err := chainJob(d, true); err != nil {
					return nil, err
				}
				found++
			}
			if found > 0 || len(dirs) > 0 {
				if found == 0 {
					return nil, fmt.Errorf("%s holds no chain of the camera and epoch asked for", p)
				}
				continue
			}
			// Not a store: a directory of clips (an export).
			clips, err := verify.ListClips(p)
			if err != nil {
				return nil, err
			}
			if len(clips) == 0 {
				return nil, fmt.Errorf("%s holds no chains and no clip files", p)
			}
			if loose == nil {
				if loose, err = looseJob(cam, epoch); err != nil {
					return nil, err
				}
			}
			for _, c := range clips {
				loose.addClip(c.Path)
			}
		}
	}
	if loose != nil {
		order = append(order, loose)
	}
	return order, nil
}

func looseJob(cam *keys.Address, epoch int64) (*verifyJob, error) {
	if cam == nil {
		return nil, usageError{errors.New("clips outside a chain directory (<camera>/<epoch>/seg/) need --camera ADDRESS (and --epoch, default the camera's current epoch)")}
	}
	j := &verifyJob{camera: *cam, clips: map[string]verify.Clip{}}
	if epoch >= 0 {
		j.epoch, j.hasEpoch = uint64(epoch), true
	}
	return j, nil
}

// idFromLog names a chain directory whose path does not (a copy): by the
// flags, else by its first record.
func (j *verifyJob) idFromLog(cam *keys.Address, epoch int64) error {
	if cam != nil {
		j.camera = *cam
		if epoch >= 0 {
			j.epoch, j.hasEpoch = uint64(epoch), true
		}
		return nil
	}
	l, err := verify.ReadLogFile(filepath.Join(j.dir, verify.LogName))
	if err != nil || len(l.Records) == 0 {
		return usageError{fmt.Errorf("cannot tell which camera %s is the chain of (its path is not <camera>/<epoch> and it has no records): pass --camera and --epoch", j.dir)}
	}
	j.camera, j.epoch, j.hasEpoch = l.Records[0].Camera, l.Records[0].Epoch, true
	return nil
}

// load gathers the job's records, pruned marker, clip list and
// checkpoints.
func (j *verifyJob) load(ctx context.Context, c *api.Client, chainID uint64) error {
	if !j.hasEpoch {
		d, err := c.Device(ctx, j.camera.Hex())
		if err != nil {
			return fmt.Errorf("camera %s: %w", j.camera.Hex(), err)
		}
		j.epoch, j.hasEpoch = d.Epoch, true
	}
	in := verify.Input{Camera: j.camera, Epoch: j.epoch, EVMChainID: chainID, Complete: j.complete}
	logPath := ""
	if j.dir != "" {
		if p := filepath.Join(j.dir, verify.LogName); fileExists(p) {
			logPath = p
		}
	}
	if logPath != "" {
		l, err := verify.ReadLogFile(logPath)
		if err != nil {
			return err
		}
		in.Records, in.LogDamage, j.recordsFrom = l.Records, l.Damage, logPath
	} else {
		recs, err := hubRecords(ctx, c, j.camera, j.epoch)
		if err != nil {
			return fmt.Errorf("records of camera %s epoch %d from the hub: %w", j.camera.Hex(), j.epoch, err)
		}
		in.Records, j.recordsFrom = recs, c.Base()
	}
	if j.dir != "" {
		p, err := verify.ReadPruned(j.dir)
		if err != nil {
			return err
		}
		in.PrunedBelow = p
	}
	if j.complete {
		clips, err := verify.ListClips(filepath.Join(j.dir, verify.SegDirName))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		for _, cl := range clips {
			j.addClip(cl.Path)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(j.clips)) {
		in.Clips = append(in.Clips, j.clips[p])
	}
	cps, err := hubCheckpoints(ctx, c, j.camera, j.epoch)
	if err != nil {
		return fmt.Errorf("checkpoints of camera %s epoch %d from the hub's ledger: %w", j.camera.Hex(), j.epoch, err)
	}
	in.Checkpoints = cps
	j.input = in
	return nil
}

// hubRecords fetches every record the hub stores for the chain. Nothing is
// taken on trust: Verify checks every record's signature and link and the
// tree they make against the checkpoints.
func hubRecords(ctx context.Context, c *api.Client, cam keys.Address, epoch uint64) ([]*feedchain.Record, error) {
	var out []*feedchain.Record
	from := uint64(0)
	for {
		l, err := c.Records(ctx, cam.Hex(), int64(epoch), from, verifyRecordsPage)
		if err != nil {
			return nil, err
		}
		for i, s := range l.Items {
			b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
			if err != nil {
				return nil, fmt.Errorf("the hub sent record %d as malformed hex", from+uint64(i))
			}
			r, err := feedchain.Parse(b)
			if err != nil {
				return nil, fmt.Errorf("the hub sent a malformed record %d: %w", from+uint64(i), err)
			}
			out = append(out, r)
		}
		if l.Next == "" {
			return out, nil
		}
		next, err := strconv.ParseUint(l.Next, 10, 64)
		if err != nil || next != from+uint64(len(l.Items)) || len(l.Items) == 0 {
			return nil, fmt.Errorf("the hub's records paging is inconsistent (next %q after %d records from %d)", l.Next, len(l.Items), from)
		}
		from = next
	}
}

// hubCheckpoints lists the chain's checkpoints on the ledger and fetches
// each one's transaction bytes, which carry everything Verify trusts.
func hubCheckpoints(ctx context.Context, c *api.Client, cam keys.Address, epoch uint64) ([]verify.Checkpoint, error) {
	var out []verify.Checkpoint
	from := uint64(0)
	for {
		l, err := c.Checkpoints(ctx, cam.Hex(), int64(epoch), from, verifyCheckpointsPage)
		if err != nil {
			return nil, err
		}
		for _, cp := range l.Items {
			h, err := parseTxHash(cp.TxHash)
			if err != nil {
				return nil, fmt.Errorf("checkpoint #%d: %w", cp.Index, err)
			}
			res, err := lookupCommittedTx(ctx, c, cp.TxHash)
			if err != nil {
				return nil, fmt.Errorf("checkpoint #%d: transaction %s: %w", cp.Index, cp.TxHash, err)
			}
			raw, err := hex.DecodeString(strings.TrimPrefix(res.Tx, "0x"))
			if err != nil {
				return nil, fmt.Errorf("checkpoint #%d: the hub sent its transaction as malformed hex", cp.Index)
			}
			if res.Code != 0 || res.Height != cp.Height {
				return nil, fmt.Errorf("checkpoint #%d: the hub lists it at height %d but its transaction at height %d with result %s", cp.Index, cp.Height, res.Height, res.CodeName)
			}
			at, err := time.Parse(time.RFC3339, cp.Time)
			if err != nil {
				return nil, fmt.Errorf("checkpoint #%d: time %q: %w", cp.Index, cp.Time, err)
			}
			out = append(out, verify.Checkpoint{Index: cp.Index, Height: cp.Height, Time: at, TxHash: h, Tx: raw})
		}
		if l.Next == "" {
			return out, nil
		}
		next, err := strconv.ParseUint(l.Next, 10, 64)
		if err != nil || next <= from {
			return nil, fmt.Errorf("the hub's checkpoint paging is inconsistent (next %q after %d)", l.Next, from)
		}
		from = next
	}
}

// lookupCommittedTx fetches a transaction the ledger lists as committed.
// The node indexes a block's transactions just after committing it, so a
// lookup right after a checkpoint lands may briefly miss it: not_found is
// retried for a few seconds.
func lookupCommittedTx(ctx context.Context, c *api.Client, hash string) (*api.TxResult, error) {
	const tries, wait = 20, 250 * time.Millisecond
	for i := 1; ; i++ {
		res, err := c.Tx(ctx, hash)
		if api.CodeOf(err) != api.ErrNotFound || i == tries {
			return res, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func parseTxHash(s string) (feedchain.Hash, error) {
	var h feedchain.Hash
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("tx hash %q is not 32 bytes of hex", s)
	}
	copy(h[:], b)
	return h, nil
}

// hashAll hashes every job's clips, with progress on stderr when it takes
// a while.
func (e *env) hashAll(jobs []*verifyJob) error {
	var all []verify.Clip
	for _, j := range jobs {
		all = append(all, j.input.Clips...)
	}
	var total int64
	for _, c := range all {
		if fi, err := os.Stat(c.Path); err == nil {
			total += fi.Size()
		}
	}
	start := time.Now()
	var mu sync.Mutex
	last := start
	shown := false
	err := verify.HashClips(context.Background(), all, 0, func(p verify.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= verifyProgressEvery {
			last, shown = now, true
			fmt.Fprintf(e.stderr, "verify: hashed %d of %d clips, %d of %d MB (%.0f MB/s)\n",
				p.Done, p.Total, p.Bytes>>20, total>>20, float64(p.Bytes)/1e6/now.Sub(start).Seconds())
		}
	})
	if err != nil {
		return err
	}
	if shown {
		fmt.Fprintf(e.stderr, "verify: hashed %d clips in %s\n", len(all), time.Since(start).Round(100*time.Millisecond))
	}
	i := 0
	for _, j := range jobs {
		n := len(j.input.Clips)
		j.input.Clips = all[i : i+n]
		i += n
	}
	return nil
}

// printVerify writes the human-readable report: a line per clip, the
// checkpoints, and a summary.
func (e *env) printVerify(hub string, jobs []*verifyJob, ok bool) {
	w := e.stdout
	totals := map[verify.Status]int{}
	clips := 0
	for _, j := range jobs {
		r := j.report
		where := "clips outside a chain directory"
		if j.dir != "" {
			where = j.dir
		}
		fmt.Fprintf(w, "camera %s epoch %d: %s\n", r.Camera, r.Epoch, where)
		fmt.Fprintf(w, "  %s from %s; %s from the ledger at %s\n", plural(r.Records, "record"), j.recordsFrom, plural(len(r.Checkpoints), "checkpoint"), hub)
		for _, c := range r.Clips {
			seq := "-"
			if c.Seq != nil {
				seq = strconv.FormatUint(*c.Seq, 10)
			}
			path := "(no file)"
			if c.Path != "" {
				path = displayPath(j.dir, c.Path)
			}
			detail := c.Detail
			if c.Status == verify.Verified && c.Checkpoint != nil {
				detail = joinNonEmpty(c.Checkpoint.String(), detail)
			}
			fmt.Fprintf(w, "%s %-12s seq %-6s %s  %s\n", statusMark(c.Status), c.Status, seq, path, detail)
			totals[c.Status]++
			clips++
		}
		for _, c := range r.Checkpoints {
			line := fmt.Sprintf("checkpoint #%d  seq %d–%d  height %d, %s  %s", c.Index, c.FirstSeq, c.LastSeq, c.Height, c.Time.UTC().Format(time.RFC3339), c.Status)
			if c.Status != verify.Verified || c.Detail != "" {
				line += ": " + c.Detail
			}
			fmt.Fprintf(w, "%s %s\n", statusMark(c.Status), line)
		}
		for _, p := range r.Problems {
			fmt.Fprintf(w, "✗ problem: %s\n", p)
		}
		for _, g := range r.Gaps {
			fmt.Fprintf(w, "  gap: %s (the camera was not recording; not tampering)\n", g)
		}
		fmt.Fprintf(w, "  %s\n\n", summaryOf(r.Counts(), len(r.Clips), r))
	}
	verdict := "everything checked is verified"
	if !ok {
		verdict = "NOT everything checked is verified"
	}
	fmt.Fprintf(w, "summary: %d chain(s), %d clip(s): %s — %s\n", len(jobs), clips, countsText(totals), verdict)
}

func summaryOf(counts map[verify.Status]int, n int, r *verify.Report) string {
	var ck []string
	cc := map[verify.Status]int{}
	for _, c := range r.Checkpoints {
		cc[c.Status]++
	}
	for _, s := range []verify.Status{verify.Verified, verify.Failed, verify.Unchecked} {
		if cc[s] > 0 {
			ck = append(ck, fmt.Sprintf("%d %s", cc[s], s))
		}
	}
	line := fmt.Sprintf("%d clip(s): %s", n, countsText(counts))
	if len(ck) > 0 {
		line += "; checkpoints: " + strings.Join(ck, ", ")
	}
	return line
}

func countsText(counts map[verify.Status]int) string {
	var parts []string
	for _, s := range verify.ClipStatuses() {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func statusMark(s verify.Status) string {
	switch s {
	case verify.Verified:
		return "✓"
	case verify.Pruned:
		return "·"
	case verify.Pending, verify.Unchecked:
		return "?"
	}
	return "✗"
}

// displayPath shows a clip relative to its chain directory when inside it.
func displayPath(dir, p string) string {
	if dir == "" {
		return p
	}
	if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// verifyJSON is what --json prints.
type verifyJSON struct {
	OK     bool        `json:"ok"` // everything checked is verified; the exit status is 0 exactly then
	Hub    string      `json:"hub"`
	Chains []chainJSON `json:"chains"`
}

type chainJSON struct {
	OK          bool                  `json:"ok"`
	Dir         string                `json:"dir,omitempty"` // the chain directory; absent for clips outside one
	RecordsFrom string                `json:"records_from"`  // the records.log read, or the hub's URL
	Counts      map[verify.Status]int `json:"counts"`
	*verify.Report
}

func verifyJSONOf(hub string, jobs []*verifyJob, ok bool) verifyJSON {
	out := verifyJSON{OK: ok, Hub: hub, Chains: []chainJSON{}}
	for _, j := range jobs {
		out.Chains = append(out.Chains, chainJSON{OK: j.report.OK(), Dir: j.dir, RecordsFrom: j.recordsFrom, Counts: j.report.Counts(), Report: j.report})
	}
	return out
}
