// Command testreport reads `go test -json` on stdin and prints what a
// person needs: one line per package as it finishes (in go test's own
// format, so that tools reading go test's output read it too), the full output of
// every failed test (and of packages that failed to build or to run), and
// at the end the ten slowest tests. It exits 1 if anything failed, so that
// `set -o pipefail; go test -json ./... | testreport` fails when the tests
// do (go test's own exit status covers what never reached the JSON).
//
// Usage:
//
//	go test -json ./... | go run ./tools/testreport [-slowest N]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	n := flag.Int("slowest", 10, "how many of the slowest tests to list at the end")
	flag.Parse()
	failed, err := report(os.Stdin, os.Stdout, *n)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64 // seconds
	Output      string
	ImportPath  string // build events
	FailedBuild string
}

// testTime is one finished test.
type testTime struct {
	Package, Test string
	Elapsed       time.Duration
}

// report reads the events from r, writes the report to w and says whether
// anything failed.
func report(r io.Reader, w io.Writer, slowest int) (failed bool, err error) {
	out := map[string]*strings.Builder{} // output so far, by package and test
	key := func(e event) string { return e.Package + "\x00" + e.Test }
	build := map[string]*strings.Builder{} // build output, by import path
	var times []testTime
	var failures []string
	failedIn := map[string]int{}       // failed tests by package
	var passedN, failedN, skippedN int // tests, subtests included
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (go vet or a build error printed as text):
			// pass it through.
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		switch e.Action {
		case "build-output":
			b := build[e.ImportPath]
			if b == nil {
				b = &strings.Builder{}
				build[e.ImportPath] = b
			}
			b.WriteString(e.Output)
		case "build-fail":
			failed = true
			fmt.Fprintf(w, "FAIL\t%s [build failed]\n%s", e.ImportPath, text(build[e.ImportPath]))
			failures = append(failures, e.ImportPath+" (build)")
		case "output":
			b := out[key(e)]
			if b == nil {
				b = &strings.Builder{}
				out[key(e)] = b
			}
			b.WriteString(e.Output)
		case "pass", "fail", "skip":
			d := time.Duration(e.Elapsed * float64(time.Second))
			if e.Test != "" {
				switch e.Action {
				case "pass":
					passedN++
				case "fail":
					failedN++
				default:
					skippedN++
				}
			}
			switch {
			case e.Test != "" && e.Action == "fail":
				failed = true
				if !strings.Contains(e.Test, "/") {
					failures = append(failures, e.Package+" "+e.Test)
					failedIn[e.Package]++
					times = append(times, testTime{e.Package, e.Test, d})
				}
				fmt.Fprintf(w, "--- FAIL: %s (%.2fs)\n%s", e.Test, e.Elapsed, indent(text(out[key(e)])))
			case e.Test != "":
				if !strings.Contains(e.Test, "/") {
					times = append(times, testTime{e.Package, e.Test, d})
				}
			case e.Action == "fail":
				failed = true
				fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
				// A package that failed outside its tests (a panic, a
				// TestMain, a timeout): its own output says why.
				if e.FailedBuild == "" && failedIn[e.Package] == 0 {
					failures = append(failures, e.Package)
					fmt.Fprint(w, indent(text(out[key(e)])))
				}
				// Tests still running when the package died (a panic in
				// a goroutine, a log.Fatal, a timeout) never get an
				// event of their own: their output is where the cause is.
				for _, t := range unfinished(out, e.Package) {
					fmt.Fprintf(w, "--- UNFINISHED: %s\n%s", t, indent(text(out[e.Package+"\x00"+t])))
					delete(out, e.Package+"\x00"+t)
				}
			case e.Action == "skip":
				fmt.Fprintf(w, "?   \t%s\t[no test files]\n", e.Package)
			default:
				fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
			}
			delete(out, key(e))
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	slices.SortStableFunc(times, func(a, b testTime) int { return int(b.Elapsed - a.Elapsed) })
	if len(times) > 0 && slowest > 0 {
		fmt.Fprintf(w, "\nthe %d slowest tests:\n", min(slowest, len(times)))
		for _, t := range times[:min(slowest, len(times))] {
			fmt.Fprintf(w, "  %8s  %s %s\n", t.Elapsed.Round(10*time.Millisecond), t.Package, t.Test)
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "\n%d failed:\n", len(failures))
		for _, f := range failures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	// The closing line CI reads to know tests ran (and how many).
	fmt.Fprintf(w, "\ntests: %d passed, %d failed, %d skipped\n", passedN, failedN, skippedN)
	return failed, nil
}

func text(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	return b.String()
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString("    " + line)
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

// unfinished lists, sorted, the tests of pkg that have output but never
// finished.
func unfinished(out map[string]*strings.Builder, pkg string) []string {
	var ts []string
	for k := range out {
		p, t, _ := strings.Cut(k, "\x00")
		if p == pkg && t != "" {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return ts
}
