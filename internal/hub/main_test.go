package hub

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// camchaind's exit codes: 2 for a command line it cannot run, 1 for a
// command that ran and failed, 0 for success.
func TestMainExitCodes(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"run", "--no-such-flag"}, 2, "unknown flag: --no-such-flag"},
		{[]string{"run", "--retention", "soon"}, 2, "invalid argument"},
		{[]string{"init", "extra", "--data", data}, 2, "takes no arguments"},
		{[]string{"init", "--data", data}, 0, ""},
		{[]string{"init", "--data", data}, 1, ""},
		{[]string{"run", "--data", data, "--log-level", "chatty"}, 1, "--log-level"},
		// Main links no Tailscale (cmd/camchaind's MainWith does).
		{[]string{"run", "--data", data, "--http", "127.0.0.1:0", "--link", "127.0.0.1:0", "--tailscale"}, 1, "built without Tailscale"},
		{[]string{"run", "--data", data, "--tailscale-control-url", "https://hs.example"}, 2, "go with --tailscale"},
		{[]string{"run", "--data", data, "--tailscale", "--tailscale-auth-key-file", filepath.Join(data, "none")}, 1, "tailnet auth key file"},
	} {
		var out, errb bytes.Buffer
		if code := Main(tc.args, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.err) {
			t.Errorf("camchaind %v: exit %d (want %d), stderr %q (want %q)", tc.args, code, tc.code, errb.String(), tc.err)
		}
	}
}
