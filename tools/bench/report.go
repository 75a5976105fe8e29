package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ReportVersion is the version of the bench/latest.json format.
const ReportVersion = 1

// Target is the goal an issue sets for a figure: Value Op Limit, or, with
// OnRatio, Ratio Op Limit (the figure beside its baseline of the same run).
type Target struct {
	Op      string  `json:"op"` // ">=" or "<="
	Limit   float64 `json:"limit"`
	OnRatio bool    `json:"on_ratio,omitempty"`
}

// AtLeast is the target "value >= v".
func AtLeast(v float64) *Target { return &Target{Op: ">=", Limit: v} }

// AtMost is the target "value <= v".
func AtMost(v float64) *Target { return &Target{Op: "<=", Limit: v} }

// RatioAtLeast is the target "value / baseline >= v".
func RatioAtLeast(v float64) *Target { return &Target{Op: ">=", Limit: v, OnRatio: true} }

// RatioAtMost is the target "value / baseline <= v".
func RatioAtMost(v float64) *Target { return &Target{Op: "<=", Limit: v, OnRatio: true} }

// Met reports whether v meets the target.
func (t *Target) Met(v float64) bool {
	switch t.Op {
	case ">=":
		return v >= t.Limit
	case "<=":
		return v <= t.Limit
	}
	return false
}

func (t *Target) String() string {
	op := t.Op
	switch op {
	case ">=":
		op = "≥"
	case "<=":
		op = "≤"
	}
	if t.OnRatio {
		return "ratio " + op + " " + strconv.FormatFloat(t.Limit, 'f', -1, 64)
	}
	if t.Limit == math.Trunc(t.Limit) && math.Abs(t.Limit) < 1e15 {
		return op + " " + groupThousands(strconv.FormatFloat(t.Limit, 'f', 0, 64))
	}
	return op + " " + formatNumber(t.Limit)
}

// withUnit renders the target for the table: a value target carries the
// row's unit, a ratio target none.
func (t *Target) withUnit(unit string) string {
	if t.OnRatio {
		return t.String()
	}
	return t.String() + " " + unit
}

// Row is one figure of the report, measured beside its baseline in the same
// run. Ratio is Value / Baseline; Pass is nil when the figure has no target.
// A row whose baseline is a constant (a budget the figure must stay
// within, not a measurement) says so with Budget, and the table labels it.
type Row struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Unit         string  `json:"unit"`
	BaselineName string  `json:"baseline_name"`
	Baseline     float64 `json:"baseline"`
	Budget       bool    `json:"budget"` // the baseline is a constant, not measured in this run
	Ratio        float64 `json:"ratio"`
	Target       *Target `json:"target"`
	Pass         *bool   `json:"pass"`
	// Note says how the figure was measured (sample size, blocks, …).
	Note string `json:"note"`
}

// NewRow builds a row and derives its ratio and pass/fail. The baseline is
// in the same unit as the value. A zero baseline gives a zero ratio, which
// the table shows as "n/a".
func NewRow(name, unit string, value float64, baselineName string, baseline float64, target *Target, note string) Row {
	r := Row{Name: name, Value: value, Unit: unit, BaselineName: baselineName, Baseline: baseline, Target: target, Note: note}
	if baseline != 0 && !math.IsNaN(baseline) && !math.IsInf(baseline, 0) {
		r.Ratio = value / baseline
	}
	if target != nil {
		v := value
		if target.OnRatio {
			v = r.Ratio
		}
		ok := target.Met(v)
		r.Pass = &ok
	}
	return r
}

// NewBudgetRow is NewRow for a figure set beside a constant budget rather
// than a baseline measured in the same run.
func NewBudgetRow(name, unit string, value float64, budgetName string, budget float64, target *Target, note string) Row {
	r := NewRow(name, unit, value, budgetName, budget, target, note)
	r.Budget = true
	return r
}

// Machine describes where the figures were measured.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Go     string `json:"go"`
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	Date   string `json:"date"`   // RFC 3339, UTC, when the run started
	Commit string `json:"commit"` // git commit of the tree, "+dirty" if modified; "" if unknown
}

// Report is the content of bench/latest.json.
type Report struct {
	Version int     `json:"version"`
	Machine Machine `json:"machine"`
	Rows    []Row   `json:"rows"`
}

// Missed returns the rows that have a target and did not meet it.
func (r *Report) Missed() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Pass != nil && !*row.Pass {
			out = append(out, row)
		}
	}
	return out
}

// JSON renders the report as indented JSON ending in a newline.
func (r *Report) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep ">=" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Table renders the rows as a Markdown table.
func (r *Report) Table() string {
	var b strings.Builder
	b.WriteString("| figure | value | baseline | ratio | target | ok |\n")
	b.WriteString("|---|---:|---|---:|---|:-:|\n")
	for _, row := range r.Rows {
		target, ok := "–", "–"
		if row.Target != nil {
			target = row.Target.withUnit(row.Unit)
		}
		if row.Pass != nil {
			ok = "yes"
			if !*row.Pass {
				ok = "**NO**"
			}
		}
		kind := ""
		if row.Budget {
			kind = "budget: "
		}
		fmt.Fprintf(&b, "| `%s` | %s %s | %s %s (%s`%s`) | %s | %s | %s |\n",
			row.Name, formatNumber(row.Value), row.Unit,
			formatNumber(row.Baseline), row.Unit, kind, row.BaselineName,
			formatRatio(row.Ratio), target, ok)
	}
	return b.String()
}

// String names the machine in one line, for the README.
func (m Machine) String() string {
	s := fmt.Sprintf("%s, %d cores, %s/%s, %s, %s", m.CPU, m.Cores, m.OS, m.Arch, m.Go, m.Date)
	if m.Commit != "" {
		s += ", commit " + m.Commit
	}
	return s
}

// Markdown renders bench/latest.md: the machine line and the table.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("<!-- Generated by `make bench` (tools/bench); do not edit. -->\n")
	fmt.Fprintf(&b, "Measured on %s. Each figure is measured beside its baseline in the same run; ratio = value / baseline; a baseline marked budget is a constant the figure must stay within, not a measurement.\n\n", r.Machine)
	b.WriteString(r.Table())
	return b.String()
}

// formatNumber prints v with three significant digits or more, and
// thousands separators from 1,000 on.
func formatNumber(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case math.Abs(math.Round(v)) >= 100:
		return groupThousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case math.Abs(math.Round(v*100)) >= 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatRatio(r float64) string {
	switch {
	case r == 0 || math.IsNaN(r) || math.IsInf(r, 0):
		return "n/a"
	case r >= 10:
		return strconv.FormatFloat(r, 'f', 1, 64)
	case r >= 0.1:
		return strconv.FormatFloat(r, 'f', 2, 64)
	default:
		return strconv.FormatFloat(r, 'f', 3, 64)
	}
}

// thisMachine describes the machine the bench runs on.
func thisMachine(start time.Time) Machine {
	return Machine{
		CPU:    cpuModel(),
		Cores:  runtime.NumCPU(),
		Go:     runtime.Version(),
		OS:     runtime.GOOS,
		Arch:   runtime.GOARCH,
		Date:   start.UTC().Format(time.RFC3339),
		Commit: gitCommit(),
	}
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	return parseCPUModel(f)
}

func parseCPUModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "+dirty"
	}
	return c
}
