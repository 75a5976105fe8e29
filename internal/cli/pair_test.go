//go:build linux

package cli

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/camchain/camchain/internal/api"
)

// openPTY opens a pseudo-terminal: the controlling side (what the user
// types into) and the terminal the command reads as its stdin.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	if err := unix.IoctlSetPointerInt(int(ctl.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ctl.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctl, tty
}

func mustCode(t *testing.T) string {
	t.Helper()
	c, err := unreachableCode()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// At first contact with a hub, pair shows the hub's identity and asks the
// owner on the terminal before it pins or signs anything: "no" (or
// anything but yes) aborts with nothing pinned; "yes" pins the hub and
// goes on to the camera.
func TestPairAsksTheOwnerToConfirmANewHub(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	_, url := startHub(t)
	owner := newTestWallet(t, "owner")
	pinned := filepath.Join(filepath.Dir(owner.dir), "known_hubs.json")
	run := func(answer string) result {
		ctl, tty := openPTY(t)
		if _, err := ctl.WriteString(answer + "\n"); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := Main(append([]string{"pair", mustCode(t), "--hub", url}, owner.flags()...), tty, &out, &errb)
		return result{code, out.String(), errb.String()}
	}

	for _, answer := range []string{"no", "", "yep"} {
		r := run(answer).must(t, 1, "not confirmed; nothing was signed")
		if !strings.Contains(r.stderr, "Trust this hub and pair the camera with it? [y/N]") || !strings.Contains(r.stderr, "camera-link TLS pin") {
			t.Fatalf("answer %q: the prompt does not show the hub's identity: %q", answer, r.stderr)
		}
		if _, err := os.Stat(pinned); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("answer %q pinned the hub: %v", answer, err)
		}
	}

	r := run("yes").must(t, 1, "cannot reach the camera")
	if !strings.Contains(r.stderr, "now pinned") {
		t.Fatalf("yes: %q", r.stderr)
	}
	if _, err := os.Stat(pinned); err != nil {
		t.Fatalf("a confirmed hub is not pinned: %v", err)
	}
	// Pinned now: the next pairing with it asks nothing, even without a
	// terminal.
	runCLI(append([]string{"pair", mustCode(t), "--hub", url}, owner.flags()...)...).must(t, 1, "cannot reach the camera")
}

// Without a terminal, first contact needs --yes or the whole identity on
// the command line; given either, pair goes on to the camera.
func TestPairWithoutATerminalNeedsYesOrThePins(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir())
	_, url := startHub(t)
	c, _ := api.NewClient(url)
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	li, err := c.Link(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		err   string
	}{
		{"nothing", nil, 2, "pass --hub-address, --chain-id and --hub-pin (from the hub's console), or --yes to trust what it shows; nothing was signed"},
		{"two of three pins", []string{"--hub-address", st.HubAddress, "--chain-id", st.LedgerChainID}, 2, "or --yes"},
		{"yes", []string{"--yes"}, 1, "cannot reach the camera"},
		{"all pins", []string{"--hub-address", st.HubAddress, "--chain-id", st.LedgerChainID, "--hub-pin", li.TLSPin}, 1, "cannot reach the camera"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner := newTestWallet(t, "owner")
			runCLI(append(append([]string{"pair", mustCode(t), "--hub", url}, tc.flags...), owner.flags()...)...).must(t, tc.code, tc.err)
		})
	}
}
