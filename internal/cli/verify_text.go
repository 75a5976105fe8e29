package cli

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/verify"
)

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
		if r.Stream != "" && r.Stream != feedchain.StreamMain.String() {
			fmt.Fprintf(w, "camera %s epoch %d, %s stream: %s\n", r.Camera, r.Epoch, r.Stream, where)
		} else {
			fmt.Fprintf(w, "camera %s epoch %d: %s\n", r.Camera, r.Epoch, where)
		}
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
