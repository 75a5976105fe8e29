package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewRowRatioAndPass(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name            string
		value, baseline float64
		target          *Target
		wantRatio       float64
		wantPass        *bool
	}{
		{"throughput meets at-least", 3000, 30000, AtLeast(2000), 0.1, &yes},
		{"throughput at the limit", 2000, 4000, AtLeast(2000), 0.5, &yes},
		{"throughput misses", 1999, 4000, AtLeast(2000), 1999.0 / 4000, &no},
		{"latency meets at-most", 10, 5, AtMost(30), 2, &yes},
		{"latency misses", 31, 5, AtMost(30), 6.2, &no},
		{"no target", 7, 8, nil, 0.875, nil},
		{"ratio meets", 900, 1000, RatioAtLeast(0.9), 0.9, &yes},
		{"ratio misses", 899, 1000, RatioAtLeast(0.9), 0.899, &no},
		{"zero baseline", 7, 0, nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRow("x.y", "u", tc.value, "x.base", tc.baseline, tc.target, "")
			if r.Ratio != tc.wantRatio {
				t.Errorf("ratio = %v, want %v", r.Ratio, tc.wantRatio)
			}
			switch {
			case tc.wantPass == nil && r.Pass != nil:
				t.Errorf("pass = %v, want nil", *r.Pass)
			case tc.wantPass != nil && r.Pass == nil:
				t.Errorf("pass = nil, want %v", *tc.wantPass)
			case tc.wantPass != nil && *r.Pass != *tc.wantPass:
				t.Errorf("pass = %v, want %v", *r.Pass, *tc.wantPass)
			}
		})
	}
}

func testReport() *Report {
	return &Report{
		Version: ReportVersion,
		Machine: Machine{CPU: "Test CPU", Cores: 2, Go: "go1.26.8", OS: "linux", Arch: "amd64", Date: "2026-01-02T03:04:05Z", Commit: "abc"},
		Rows: []Row{
			NewRow("ledger.commit_throughput.signed", "tx/s", 1500, "ledger.commit_throughput.noop", 30000, AtLeast(2000), "20000 txs"),
			NewRow("ledger.commit_latency.p99", "ms", 7.5, "ledger.commit_latency.noop.p99", 6, nil, ""),
			NewRow("link.throughput", "MB/s", 450, "tls13.sha256.throughput", 500, RatioAtLeast(0.9), ""),
			NewBudgetRow("hub.cameras.ack_latency.p99", "ms", 20, "hub.cameras.ack_latency_budget", 2000, nil, ""),
		},
	}
}

// Every row in the JSON has every field, with the computed values, and the
// machine is described.
func TestReportJSONHasEveryField(t *testing.T) {
	b, err := testReport().JSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version int                          `json:"version"`
		Machine map[string]any               `json:"machine"`
		Rows    []map[string]json.RawMessage `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Version != ReportVersion {
		t.Errorf("version = %d", got.Version)
	}
	for _, k := range []string{"cpu", "cores", "go", "os", "arch", "date", "commit"} {
		if _, ok := got.Machine[k]; !ok {
			t.Errorf("machine has no %q", k)
		}
	}
	if len(got.Rows) != 4 {
		t.Fatalf("%d rows, want 4", len(got.Rows))
	}
	for i, row := range got.Rows {
		for _, k := range []string{"name", "value", "unit", "baseline_name", "baseline", "budget", "ratio", "target", "pass", "note"} {
			if _, ok := row[k]; !ok {
				t.Errorf("row %d has no %q", i, k)
			}
		}
	}
	for k, want := range map[string]string{
		"name": `"ledger.commit_throughput.signed"`, "value": "1500", "baseline": "30000",
		"ratio": "0.05", "target": `{"op":">=","limit":2000}`, "pass": "false",
	} {
		var c bytes.Buffer
		if err := json.Compact(&c, got.Rows[0][k]); err != nil {
			t.Fatal(err)
		}
		if g := c.String(); g != want {
			t.Errorf("row 0 %s = %s, want %s", k, g, want)
		}
	}
	if g := string(got.Rows[1]["target"]) + " " + string(got.Rows[1]["pass"]); g != "null null" {
		t.Errorf("row without target: target, pass = %s, want null null", g)
	}
	var rt bytes.Buffer
	if err := json.Compact(&rt, got.Rows[2]["target"]); err != nil {
		t.Fatal(err)
	}
	if g := rt.String() + " " + string(got.Rows[2]["pass"]); g != `{"op":">=","limit":0.9,"on_ratio":true} true` {
		t.Errorf("ratio target: target, pass = %s", g)
	}
	if g := string(got.Rows[3]["budget"]) + " " + string(got.Rows[0]["budget"]); g != "true false" {
		t.Errorf("budget flags = %s, want true false", g)
	}
}

func TestReportTable(t *testing.T) {
	r := testReport()
	table := r.Table()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("table has %d lines, want header, rule and 4 rows:\n%s", len(lines), table)
	}
	if lines[0] != "| figure | value | baseline | ratio | target | ok |" {
		t.Errorf("header = %q", lines[0])
	}
	for _, want := range []string{
		"| `ledger.commit_throughput.signed` | 1,500 tx/s | 30,000 tx/s (`ledger.commit_throughput.noop`) | 0.050 | ≥ 2,000 tx/s | **NO** |",
		"| `ledger.commit_latency.p99` | 7.50 ms | 6.00 ms (`ledger.commit_latency.noop.p99`) | 1.25 | – | – |",
		"| `link.throughput` | 450 MB/s | 500 MB/s (`tls13.sha256.throughput`) | 0.90 | ratio ≥ 0.9 | yes |",
		"| `hub.cameras.ack_latency.p99` | 20.0 ms | 2,000 ms (budget: `hub.cameras.ack_latency_budget`) | 0.010 | – | – |",
	} {
		if !strings.Contains(table, want+"\n") {
			t.Errorf("table lacks\n%s\ngot\n%s", want, table)
		}
	}
	md := r.Markdown()
	if !strings.Contains(md, "Measured on Test CPU, 2 cores, linux/amd64, go1.26.8, 2026-01-02T03:04:05Z, commit abc.") || !strings.HasSuffix(md, table) {
		t.Errorf("markdown lacks the machine line or the table:\n%s", md)
	}
	if m := r.Missed(); len(m) != 1 || m[0].Name != "ledger.commit_throughput.signed" {
		t.Errorf("missed = %v", m)
	}
}

func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0.00", 4.467: "4.47", 30: "30.0", 131.4: "131", 999.6: "1,000", 3804.4: "3,804",
		34629: "34,629", 99.96: "100", 9.996: "10.0", 9.994: "9.99", 1234567: "1,234,567", -2500: "-2,500",
	} {
		if got := formatNumber(v); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", v, got, want)
		}
	}
	if got := AtMost(30).String(); got != "≤ 30" {
		t.Errorf("AtMost(30) = %q", got)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 1: time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := median([]time.Duration{5, 1, 3, 2, 4}); got != 3 {
		t.Errorf("median = %v, want 3", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("empty = %v", got)
	}
}

func TestParseCPUModel(t *testing.T) {
	in := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nprocessor\t: 1\nmodel name\t: other\n"
	if got := parseCPUModel(strings.NewReader(in)); got != "Intel(R) Xeon(R) Processor" {
		t.Errorf("got %q", got)
	}
	if got := parseCPUModel(strings.NewReader("")); got != "unknown" {
		t.Errorf("got %q", got)
	}
}

// The command line lists groups and refuses bad input without running any
// benchmark.
func TestRunFlags(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"-list"}, 0, "ledger.commit_throughput", ""},
		{[]string{"-only", "("}, 2, "", "-only"},
		{[]string{"-only", "^nothing$"}, 2, "", "no group matches"},
		{[]string{"extra"}, 2, "", "unexpected arguments"},
	} {
		var out, errOut bytes.Buffer
		if code := run(tc.args, &out, &errOut); code != tc.code {
			t.Errorf("%q: exit %d, want %d (stderr %s)", tc.args, code, tc.code, errOut.String())
		}
		if !strings.Contains(out.String(), tc.inStdout) || !strings.Contains(errOut.String(), tc.inStderr) {
			t.Errorf("%q: stdout %q, stderr %q", tc.args, out.String(), errOut.String())
		}
	}
	if got := mdPath("bench/latest.json"); got != "bench/latest.md" {
		t.Errorf("mdPath = %q", got)
	}
}

func TestSpliceBetween(t *testing.T) {
	in := "intro\n<!-- bench:start -->\nold table\n<!-- bench:end -->\nrest\n"
	out, ok := spliceBetween(in, readmeStart, readmeEnd, "new table\n")
	if !ok || out != "intro\n<!-- bench:start -->\nnew table\n<!-- bench:end -->\nrest\n" {
		t.Fatalf("splice = %q, %v", out, ok)
	}
	if _, ok := spliceBetween("no markers", readmeStart, readmeEnd, "x"); ok {
		t.Fatal("spliced without markers")
	}
}

// A partial run's report files are written, but the README's table is the
// last full run's: only a full run replaces it.
func TestPartialRunLeavesTheReadme(t *testing.T) {
	t.Chdir(t.TempDir())
	const readme = "intro\n<!-- bench:start -->\nthe full run's table\n<!-- bench:end -->\n"
	if err := os.WriteFile("README.md", []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := &Report{}
	if err := writeReport(rep, filepath.Join("bench", "partial.json"), false); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("README.md"); err != nil || string(b) != readme {
		t.Fatalf("a partial run changed the README (%v):\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join("bench", "partial.md")); err != nil {
		t.Fatalf("the partial run's own report: %v", err)
	}
	if err := writeReport(rep, filepath.Join("bench", "full.json"), true); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("README.md"); err != nil || string(b) == readme {
		t.Fatalf("a full run left the README's table (%v):\n%s", err, b)
	}
}
