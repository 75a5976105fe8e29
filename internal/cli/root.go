package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/version"
)

// Exit codes. Scripts may rely on them.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed (bad input, refused tx, network)
	exitUsage = 2 // the command line itself was wrong
	// exitNotPinned: an evidence bundle checked with --no-pin is
	// self-consistent, but nothing tied its blocks to the real ledger.
	exitNotPinned = 3
)

// usageError marks an error in the command line (unknown flag, missing
// argument) so Main can exit with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// env carries the process's streams to every command, so tests can run Main
// in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	signer *keys.PrivateKey // the wallet key once unlocked
}

// Main runs the camchain command line and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "camchain",
		Short:         "camchain: wallet, sharing and verification for camchain cameras",
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, c := range commands(e) {
		root.AddCommand(c)
	}
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errNotPinned) {
		fmt.Fprintf(stderr, "camchain: %v\n", err)
		return exitNotPinned
	}
	fmt.Fprintf(stderr, "camchain: error: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitError
}

// commands lists the top-level subcommands. Each lives in its own file.
func commands(e *env) []*cobra.Command {
	return []*cobra.Command{
		newWalletCmd(e),
		newDeviceCmd(e),
		newGrantCmd(e),
		newRevokeCmd(e),
		newTransferCmd(e),
		newReleaseCmd(e),
		newPolicyCmd(e),
		newRetentionCmd(e),
		newEncryptionCmd(e),
		newHistoryKeysCmd(e),
		newHoldCmd(e),
		newAuditCmd(e),
		newPairCmd(e),
		newResyncCmd(e),
		newVerifyCmd(e),
		newEvidenceCmd(e),
		newExportCmd(e),
		newLoginCmd(e),
		newLogoutCmd(e),
		newClientsCmd(e),
		newLoginsCmd(e),
		newWatchCmd(e),
		newRecordingsCmd(e),
	}
}
