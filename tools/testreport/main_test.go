package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// goTestJSON runs the real `go test -json` on the fixture module's
// packages and returns its output and whether go test itself failed.
func goTestJSON(t *testing.T, pkgs ...string) ([]byte, bool) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"test", "-json", "-count=1"}, pkgs...)...)
	cmd.Dir = "testdata/mod"
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out, err != nil
}

// A failing run: the report names the failed test with its output and the
// package that did not build with the compiler's message, lists the
// slowest tests slowest first, and says it failed.
func TestReportFailures(t *testing.T) {
	in, goFailed := goTestJSON(t, "./...")
	if !goFailed {
		t.Fatal("go test passed on the fixture with a failing test")
	}
	var out bytes.Buffer
	failed, err := report(bytes.NewReader(in), &out, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !failed {
		t.Errorf("report says nothing failed:\n%s", got)
	}
	for _, want := range []string{
		"--- FAIL: TestFails (",
		"the detail a reader needs",
		"boom",
		"FAIL\texample.com/testreportfixture/broken [",
		"undefinedThing",
		"ok  \texample.com/testreportfixture/good\t",
		"the 4 slowest tests:",
		"FAIL\texample.com/testreportfixture/bad\t",
		"--- UNFINISHED: TestDiesMidway",
		"the last thing the dying test said",
		"FAIL\texample.com/testreportfixture/dies\t",
		"3 failed:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	// The last line is the count CI reads to know that tests ran.
	if !strings.HasSuffix(got, "\ntests: 3 passed, 1 failed, 0 skipped\n") {
		t.Errorf("report does not close on the test count:\n%s", got)
	}
	slow := got[strings.Index(got, "slowest tests:"):]
	if i, j := strings.Index(slow, "TestSlow"), strings.Index(slow, "TestFast"); i < 0 || j < 0 || i > j {
		t.Errorf("TestSlow is not listed before TestFast:\n%s", slow)
	}
	if strings.Contains(got, "TestPasses\n") && strings.Contains(got, "--- FAIL: TestPasses ") {
		t.Errorf("a passing test reported as failed:\n%s", got)
	}
}

// A passing run reports no failure, and -slowest bounds the list.
func TestReportPass(t *testing.T) {
	in, goFailed := goTestJSON(t, "./good")
	if goFailed {
		t.Fatal("go test failed on the passing package")
	}
	var out bytes.Buffer
	failed, err := report(bytes.NewReader(in), &out, 1)
	if err != nil {
		t.Fatal(err)
	}
	if failed || !strings.HasSuffix(out.String(), "\ntests: 2 passed, 0 failed, 0 skipped\n") || !strings.Contains(out.String(), "the 1 slowest tests:\n") || strings.Contains(out.String(), "TestFast") || strings.Contains(out.String(), "failed:") {
		t.Errorf("failed=%v, report:\n%s", failed, out.String())
	}
}
