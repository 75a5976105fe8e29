package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/verify"
)

// camchain verify, one job per file: verify.go the command and what a
// job gathers; verify_find.go which chains the paths name; verify_hub.go
// paging the hub's records and checkpoints (and retrying a fresh one);
// verify_progress.go hashing the clips with progress; verify_text.go and
// verify_json.go the two renderings.

func newVerifyCmd(e *env) *cobra.Command {
	var camera, epochFlag, s3Endpoint string
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
directory, clip files, an evidence bundle (checked offline as "camchain
evidence verify" does), or the video of "camchain export" (clip.mp4, with
clip.mp4.evidence beside it: checked offline, naming the seconds of the
video that do not verify), or a hub's copy in object storage,
s3://bucket/prefix[/<camera>/<epoch>] (read straight from the bucket, with
credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
~/.aws/credentials). Records come from the chain's records.log when
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
	cmd.Flags().StringVar(&s3Endpoint, "s3-endpoint", "", "object store endpoint `URL` for s3:// paths (default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS)")
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
		var clips, bundles, exports []string
		for _, p := range args {
			if isExport(p) {
				exports = append(exports, p)
			} else if isEvidenceBundle(p) {
				bundles = append(bundles, p)
			} else {
				clips = append(clips, p)
			}
		}
		var opts evidence.Options
		if len(bundles)+len(exports) > 0 {
			var err error
			if opts.PinnedValidatorsHash, err = pf.resolve(); err != nil {
				return err
			}
			if opts.Witnesses, err = pf.trusted(); err != nil {
				return err
			}
			if opts.TSARoots, err = pf.tsaRoots(); err != nil {
				return err
			}
		}
		bundlesOK, unpinned := true, false
		for _, p := range bundles {
			switch err := e.verifyBundleFile(p, opts, hf.jsonOut, ""); {
			case errors.Is(err, errNotPinned):
				unpinned = true
			case err != nil:
				fmt.Fprintf(e.stderr, "camchain: %v\n", err)
				bundlesOK = false
			}
		}
		for _, p := range exports {
			switch err := e.verifyExportFile(p, opts, hf.jsonOut); {
			case errors.Is(err, errNotPinned):
				unpinned = true
			case err != nil:
				fmt.Fprintf(e.stderr, "camchain: %v\n", err)
				bundlesOK = false
			}
		}
		if len(clips) > 0 {
			if err := e.verifyBuckets(hf, clips, cam, epoch, s3Endpoint); err != nil {
				return err
			}
		}
		if !bundlesOK {
			return errors.New("an evidence bundle or an export does not verify")
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
	stream   feedchain.Stream // the chain's stream (its directory says; main otherwise)
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
	in := verify.Input{Camera: j.camera, Epoch: j.epoch, Stream: j.stream, EVMChainID: chainID, Complete: j.complete}
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
		recs, err := hubRecords(ctx, c, j.camera, j.epoch, j.stream)
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
		if in.PruneStatement, err = verify.ReadPruneStatement(j.dir); err != nil {
			return err
		}
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
	cps, err := hubCheckpoints(ctx, c, j.camera, j.epoch, j.stream)
	if err != nil {
		return fmt.Errorf("checkpoints of camera %s epoch %d from the hub's ledger: %w", j.camera.Hex(), j.epoch, err)
	}
	in.Checkpoints = cps
	if in.Stream == feedchain.StreamMain {
		// The hub's retention policy is the main stream's (a sub chain is
		// not checkpointed, so never deleted by it).
		pol, ems, err := hubRetentionPolicy(ctx, c, j.camera, j.epoch)
		if err != nil {
			fmt.Fprintf(os.Stderr, "camchain: the owner's retention policy could not be read (%v): only the camera's prune statement allows a deletion\n", err)
		} else {
			in.Policy, in.PolicyKnown, in.Emergencies = pol, true, ems
		}
	}
	in.Now = time.Now()
	j.input = in
	return nil
}
