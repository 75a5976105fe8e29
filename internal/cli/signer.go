package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/camchain/camchain/internal/home"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/wallet"
)

// Limits on secret files, so a wrong path (a log, a disk image) is refused
// rather than read into memory.
const (
	maxPassphraseFile = 4 << 10
	maxMnemonicFile   = 4 << 10
)

// keystoreFlags are the wallet flags. Every command that signs registers
// --keystore and --passphrase-file with addKeystoreFlags and gets its key from
// env.loadSigner; the wallet command also registers --mnemonic-file and
// --light-kdf, which only matter when a key is created.
type keystoreFlags struct {
	dir            string // --keystore; "" means defaultKeystoreDir()
	passphraseFile string // --passphrase-file; "" means prompt on a terminal
	mnemonicFile   string // --mnemonic-file (restore)
	lightKDF       bool   // --light-kdf (new, restore)
}

// addKeystoreFlags registers --keystore and --passphrase-file on cmd and its
// subcommands.
func addKeystoreFlags(cmd *cobra.Command) *keystoreFlags {
	f := &keystoreFlags{}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.dir, "keystore", "",
		"keystore `DIR` holding the wallet key (default $CAMCHAIN_HOME/keystore; CAMCHAIN_HOME defaults to ~/.camchain)")
	pf.StringVar(&f.passphraseFile, "passphrase-file", "",
		"read the passphrase from `FILE` instead of prompting (one trailing newline is removed, nothing else)")
	return f
}

// addCreationFlags registers the flags that only matter when a key is made.
func (f *keystoreFlags) addCreationFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.mnemonicFile, "mnemonic-file", "",
		"read the 24 recovery words from `FILE` instead of prompting (restore only)")
	pf.BoolVar(&f.lightKDF, "light-kdf", false,
		"seal the key with light scrypt (4 MiB instead of 256 MiB); for tests and low-memory devices only: a stolen key file is much cheaper to brute-force")
}

// keystore opens the directory the flags name.
func (f keystoreFlags) keystore() (*wallet.Keystore, error) {
	dir := f.dir
	if dir == "" {
		d, err := defaultKeystoreDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	p := wallet.DefaultScrypt
	if f.lightKDF {
		p = wallet.LightScrypt
	}
	return wallet.NewKeystore(dir, p), nil
}

// defaultKeystoreDir is $CAMCHAIN_HOME/keystore, with CAMCHAIN_HOME
// defaulting to ~/.camchain.
func defaultKeystoreDir() (string, error) { return home.Dir("keystore") }

// loadSigner returns the wallet key, asking for the passphrase (or reading
// --passphrase-file) only once the keystore is known to hold a key.
func (e *env) loadSigner(ks keystoreFlags) (*keys.PrivateKey, error) {
	if e.signer != nil { // unlocked once per command: login and signing share it
		return e.signer, nil
	}
	store, err := ks.keystore()
	if err != nil {
		return nil, err
	}
	addr, err := store.Address()
	if err != nil {
		return nil, err
	}
	pass, err := e.readPassphrase(ks, fmt.Sprintf("Passphrase for %s: ", addr.Hex()), false, nil)
	if err != nil {
		return nil, err
	}
	k, err := store.Load(pass)
	if err != nil {
		return nil, err
	}
	e.signer = k
	return k, nil
}

// readPassphrase reads --passphrase-file, or prompts without echo when stdin
// is a terminal (twice if confirm). It never returns an empty passphrase. A
// non-nil check runs on the passphrase before it is confirmed, so a refused
// one is not typed twice.
func (e *env) readPassphrase(f keystoreFlags, prompt string, confirm bool, check func(string) error) (string, error) {
	if check == nil {
		check = func(string) error { return nil }
	}
	if f.passphraseFile != "" {
		b, err := readSecretFile(f.passphraseFile, maxPassphraseFile)
		if err != nil {
			return "", fmt.Errorf("passphrase file: %w", err)
		}
		pass := stripOneNewline(string(b))
		if pass == "" {
			return "", fmt.Errorf("passphrase file %s is empty", f.passphraseFile)
		}
		return pass, check(pass)
	}
	fd, ok := e.terminal()
	if !ok {
		return "", usageError{errors.New("no passphrase: standard input is not a terminal, so pass --passphrase-file FILE")}
	}
	pass, err := e.promptHidden(fd, prompt)
	if err != nil {
		return "", err
	}
	if pass == "" {
		return "", errors.New("empty passphrase")
	}
	if err := check(pass); err != nil {
		return "", err
	}
	if confirm {
		again, err := e.promptHidden(fd, "Repeat the passphrase: ")
		if err != nil {
			return "", err
		}
		if again != pass {
			return "", errors.New("the two passphrases do not match")
		}
	}
	return pass, nil
}

// readMnemonic reads --mnemonic-file, or prompts without echo on a terminal.
// The caller validates the words.
func (e *env) readMnemonic(f keystoreFlags) (string, error) {
	if f.mnemonicFile != "" {
		b, err := readSecretFile(f.mnemonicFile, maxMnemonicFile)
		if err != nil {
			return "", fmt.Errorf("mnemonic file: %w", err)
		}
		return string(b), nil
	}
	fd, ok := e.terminal()
	if !ok {
		return "", usageError{errors.New("no recovery words: standard input is not a terminal, so pass --mnemonic-file FILE")}
	}
	return e.promptHidden(fd, "Enter your 24 recovery words, separated by spaces (input is hidden): ")
}

// terminal returns stdin's file descriptor if stdin is a terminal.
func (e *env) terminal() (int, bool) {
	f, ok := e.stdin.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// promptHidden writes prompt to stderr and reads one line with echo off.
func (e *env) promptHidden(fd int, prompt string) (string, error) {
	fmt.Fprint(e.stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read from terminal: %w", err)
	}
	return string(b), nil
}

// readSecretFile reads at most limit bytes of a file holding a secret. Its
// errors name the file, never its contents.
func readSecretFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		clear(b)
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		clear(b)
		return nil, fmt.Errorf("%s holds a NUL byte; want text", path)
	}
	return b, nil
}

// stripOneNewline removes exactly one trailing "\n" or "\r\n": the newline
// an editor or `echo` adds. Spaces and further newlines are part of the
// passphrase.
func stripOneNewline(s string) string {
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		return t
	}
	return strings.TrimSuffix(s, "\n")
}
