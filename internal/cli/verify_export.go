package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/export"
)

// isExport reports whether p is the video of a camchain export: its
// evidence file is beside it.
func isExport(p string) bool { return fileExists(p + export.EvidenceSuffix) }

// exportVerifyResult is the --json output of verifying an export.
type exportVerifyResult struct {
	OK             bool           `json:"ok"`
	SelfConsistent bool           `json:"self_consistent"`
	File           string         `json:"file"`
	Error          string         `json:"error,omitempty"`
	Result         *export.Result `json:"result,omitempty"`
}

// verifyExportFile verifies an export offline and names every stretch of
// its video that does not verify.
func (e *env) verifyExportFile(p string, opts evidence.Options, jsonOut bool) error {
	opts.Now = time.Now()
	res, err := export.Verify(p, opts)
	if jsonOut {
		out := exportVerifyResult{File: p, Result: res}
		if err != nil {
			out.Error = err.Error()
		} else {
			out.SelfConsistent = res.OK()
			out.OK = res.OK() && res.Report.Pinned
		}
		if perr := e.printJSON(out); perr != nil {
			return perr
		}
	}
	if err != nil {
		if !jsonOut {
			fmt.Fprintf(e.stdout, "NOT VERIFIED: %s: %v\n", p, err)
		}
		return fmt.Errorf("%s does not verify: %w", p, err)
	}
	if !jsonOut {
		e.printExport(p, res)
	}
	if !res.OK() {
		bad := 0
		for _, s := range res.Stretches {
			if !s.Verified {
				bad++
			}
		}
		return fmt.Errorf("%s: %d of %d segment(s) do not verify, %d stretch(es) of bytes no record covers", p, bad, len(res.Stretches), len(res.Trailing))
	}
	if !res.Report.Pinned {
		return fmt.Errorf("%s: %w", p, errNotPinned)
	}
	return nil
}

func (e *env) printExport(p string, res *export.Result) {
	w := e.stdout
	rep := res.Report
	var secs float64
	bad := 0
	for _, s := range res.Stretches {
		secs += s.Duration
		if !s.Verified {
			bad++
		}
	}
	head := "VERIFIED"
	switch {
	case !res.OK():
		head = "NOT VERIFIED"
	case !rep.Pinned:
		head = "SELF-CONSISTENT ONLY, NOT VERIFIED AGAINST THE LEDGER"
	}
	files := ""
	if len(res.Files) > 1 {
		files = " (" + strings.Join(res.Files, ", ") + ")"
	}
	fmt.Fprintf(w, "%s: %s%s: %d segment(s), %.1f s, of camera %s epoch %d, under %d checkpoint(s) of %s\n",
		head, p, files, len(res.Stretches), secs, rep.Camera, rep.Epoch, len(rep.Checkpoints), rep.LedgerChainID)
	for _, s := range res.Stretches {
		if s.Verified {
			continue
		}
		fmt.Fprintf(w, "  FAILS: %s %s–%s (recorded %s–%s, record #%d): %s\n", s.File, clock(s.From), clock(s.To),
			s.Recorded.Format(time.RFC3339Nano), s.Recorded.Add(time.Duration(s.Duration*float64(time.Second))).Format(time.RFC3339Nano), s.Seq, s.Error)
	}
	for _, t := range res.Trailing {
		fmt.Fprintf(w, "  FAILS: %s: %d byte(s) from offset %d that no record covers\n", t.File, t.Bytes, t.Offset)
	}
	for _, g := range res.Gaps {
		fmt.Fprintf(w, "  gap: no recording for %v after record #%d (%s → %s); not a failure\n", g.To.Sub(g.From).Round(time.Millisecond), g.AfterSeq,
			g.From.Format(time.RFC3339Nano), g.To.Format(time.RFC3339Nano))
	}
	if bad == 0 && len(res.Trailing) == 0 {
		fmt.Fprintf(w, "  every second of the video is the camera's, committed to the ledger (blocks %s)\n", heights(rep))
		fmt.Fprintf(w, "  custody: this is the bundle the hub served, sha256 %s (its hub/evidence-export audit event names it)\n", res.BundleSHA256)
	}
	if rep.Pinned {
		fmt.Fprintf(w, "  against the pinned validator set %s\n", strings.Join(rep.ValidatorsHashes, ", "))
	} else {
		fmt.Fprintf(w, "  validator set %s NOT PINNED: verify with --validators-hash or --genesis\n", strings.Join(rep.ValidatorsHashes, ", "))
	}
}

// clock is a position in a video, h:mm:ss.mmm.
func clock(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Millisecond)
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	s := float64(d%time.Minute) / float64(time.Second)
	return fmt.Sprintf("%d:%02d:%06.3f", h, m, s)
}
