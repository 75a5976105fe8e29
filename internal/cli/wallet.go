package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/wallet"
)

// minNewPassphrase is the shortest passphrase `wallet new` accepts, in
// characters. `restore` accepts any non-empty one: it must match the original.
const minNewPassphrase = 8

// newWalletCmd is `camchain wallet`: new, restore, address, sign-message.
func newWalletCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Create, restore and use your wallet key",
		Long: `Your wallet is 24 BIP-39 recovery words plus a passphrase. Its key is the
standard Ethereum key m/44'/60'/0'/0/0, so the same words and passphrase give
the same address in ethers or a hardware wallet that takes a BIP-39 passphrase
(Ledger, Trezor). MetaMask and most software wallets import words without a
passphrase, which gives another, empty account: give them the keystore file
instead (camchain wallet export; its password is your passphrase).
Losing either the words or the passphrase locks the account forever, and
makes the video encrypted to its viewing key (camchain wallet viewing-key)
unreadable for ever.

The key is kept in the keystore directory, encrypted with your passphrase
(Web3 Secret Storage v3, scrypt). The recovery words are never stored.

For scripts, --passphrase-file and --mnemonic-file replace the prompts.`,
		Args: noArgs,
	}
	f := addKeystoreFlags(cmd)
	f.addCreationFlags(cmd)
	cmd.AddCommand(
		newWalletNewCmd(e, f),
		newWalletRestoreCmd(e, f),
		newWalletExportCmd(e, f),
		newWalletAddressCmd(e, f),
		newWalletSignMessageCmd(e, f),
		newWalletViewingKeyCmd(e, f),
	)
	return cmd
}

func newWalletNewCmd(e *env, f *keystoreFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "new",
		Short: "Create a wallet: 24 new recovery words and a passphrase",
		Long: `Create a wallet. You choose a passphrase (at least 8 characters); camchain
draws 24 recovery words, shows them once, and saves the key, encrypted with
the passphrase, in the keystore directory. Write the words down: camchain
never stores them.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.mnemonicFile != "" {
				return usageError{errors.New("--mnemonic-file is for `camchain wallet restore`; `new` draws fresh words and never writes them to a file")}
			}
			store, err := f.keystore()
			if err != nil {
				return err
			}
			if err := store.CheckEmpty(); err != nil {
				return err
			}
			pass, err := e.readPassphrase(*f, "New passphrase (at least 8 characters): ", true, checkNewPassphrase)
			if err != nil {
				return err
			}
			words, err := wallet.NewMnemonic()
			if err != nil {
				return err
			}
			k, err := wallet.DeriveKey(words, pass)
			if err != nil {
				return err
			}
			path, err := store.Save(k, pass)
			if err != nil {
				return err
			}
			printRecoveryWords(e.stdout, words)
			fmt.Fprintf(e.stdout, "\nAddress: %s\n", k.Address().Hex())
			fmt.Fprintf(e.stderr, "Encrypted key saved to %s\n", path)
			return nil
		},
	}
}

// checkNewPassphrase is the policy for a new wallet's passphrase. The error
// never repeats the passphrase, nor its length.
func checkNewPassphrase(pass string) error {
	if utf8.RuneCountInString(pass) < minNewPassphrase {
		return fmt.Errorf("passphrase too short: use at least %d characters", minNewPassphrase)
	}
	return nil
}

// printRecoveryWords shows the words once, numbered, with the warning.
func printRecoveryWords(w io.Writer, mnemonic string) {
	words := strings.Fields(mnemonic)
	fmt.Fprintf(w, "Your %d recovery words:\n\n", len(words))
	const cols = 3
	rows := (len(words) + cols - 1) / cols
	for r := range rows {
		var line strings.Builder
		for c := range cols {
			i := r*cols + c
			if i < len(words) {
				fmt.Fprintf(&line, "%4d. %-10s", i+1, words[i])
			}
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
	fmt.Fprint(w, `
WARNING: write down these 24 words, in order, and remember your passphrase.
camchain never stores the words and will not show them again. Together, the
words and the passphrase restore this account on any device. If you lose
either the words or the passphrase, the account is locked forever: nobody,
not even camchain, can recover it.
`)
}

func newWalletRestoreCmd(e *env, f *keystoreFlags) *cobra.Command {
	var hf *hubFlags
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a wallet from its 24 recovery words and passphrase",
		Long: `Restore a wallet from its 24 recovery words and its passphrase, and save the
key in the keystore directory. The words are checked before anything is
written, but a passphrase cannot be: a mistyped one silently gives a
different, empty account. So restore prints the address and asks the hub
(--hub, default CAMCHAIN_HUB or the local hub) what it owns there, logging in
with the restored key, and says plainly when it owns nothing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := f.keystore()
			if err != nil {
				return err
			}
			if err := store.CheckEmpty(); err != nil {
				return err
			}
			words, err := e.readMnemonic(*f)
			if err != nil {
				return err
			}
			if err := wallet.ValidateMnemonic(words); err != nil {
				if f.mnemonicFile != "" {
					return fmt.Errorf("recovery words in %s: %w", f.mnemonicFile, err)
				}
				return fmt.Errorf("recovery words: %w", err)
			}
			pass, err := e.readPassphrase(*f, "Passphrase: ", true, nil)
			if err != nil {
				return err
			}
			k, err := wallet.DeriveKey(words, pass)
			if err != nil {
				return err
			}
			path, err := store.Save(k, pass)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, k.Address().Hex())
			fmt.Fprintf(e.stderr, "Encrypted key saved to %s\n"+
				"If this is not the address you expect, the words or the passphrase differ from the original.\n", path)
			e.signer = k
			e.reportHoldings(hf, k)
			return nil
		},
	}
	hf = addHubFlags(cmd)
	return cmd
}

// exportWarning is what `wallet export` says about the file it wrote.
const exportWarning = `WARNING: %s holds your account's key, encrypted with your passphrase.
Anyone who has it and learns or
guesses your passphrase controls your cameras. Import it, then delete it; never
send it anywhere.
  MetaMask: account menu -> Add account or hardware wallet -> Import account ->
  type "JSON File", choose this file, password: your camchain passphrase.
  Other software wallets: "import keystore / JSON file".
  Hardware wallets (Ledger, Trezor) take your 24 words plus the passphrase
  instead, and do not need this file.
`

func newWalletExportCmd(e *env, f *keystoreFlags) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export -o FILE",
		Short: "Write the wallet's key file (v3 keystore JSON) for MetaMask and other software wallets",
		Long: `Write the wallet's key as a Web3 Secret Storage v3 JSON file (mode 0600),
which MetaMask ("Import account" -> "JSON File") and most software wallets
import, with your passphrase as its password. Those wallets cannot take a
BIP-39 passphrase, so the 24 words alone would give them another, empty
account; this file gives them this account. The passphrase is checked first,
so the password you will type there is known to work. (For a passphrase
with non-ASCII characters the file is sealed afresh under the passphrase as a
keyboard types it, NFC, since those wallets do not normalise it.) FILE must
not exist.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("export needs -o FILE (the key file is never written to the terminal)")}
			}
			store, err := f.keystore()
			if err != nil {
				return err
			}
			addr, err := store.Address()
			if err != nil {
				return err
			}
			pass, err := e.readPassphrase(*f, fmt.Sprintf("Passphrase for %s: ", addr.Hex()), false, nil)
			if err != nil {
				return err
			}
			data, err := store.Export(pass)
			if err != nil {
				return err
			}
			fh, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("export: %w (the file must not exist yet)", err)
			}
			if _, err := fh.Write(data); err != nil {
				fh.Close()
				os.Remove(out)
				return fmt.Errorf("export: %w", err)
			}
			if err := errors.Join(fh.Sync(), fh.Close()); err != nil {
				os.Remove(out)
				return fmt.Errorf("export: %w", err)
			}
			fmt.Fprintf(e.stdout, "%s\n", addr.Hex())
			fmt.Fprintf(e.stderr, exportWarning, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the key file to `FILE` (mode 0600; must not exist)")
	return cmd
}

func newWalletAddressCmd(e *env, f *keystoreFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "address",
		Short: "Print the wallet's address (no passphrase needed)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := f.keystore()
			if err != nil {
				return err
			}
			addr, err := store.Address()
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, addr.Hex())
			return nil
		},
	}
}

func newWalletSignMessageCmd(e *env, f *keystoreFlags) *cobra.Command {
	var message string
	cmd := &cobra.Command{
		Use:   "sign-message --message TEXT",
		Short: "Sign a text message (EIP-191 personal_sign) and print the 0x signature",
		Long: `Sign TEXT as Ethereum's personal_sign does (EIP-191: the Keccak-256 of
"\x19Ethereum Signed Message:\n" + length + TEXT) and print the 65-byte
signature r‖s‖v as 0x hex. Any Ethereum library's verifyMessage recovers the
wallet's address from it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("message") {
				return usageError{errors.New("sign-message needs --message TEXT")}
			}
			if e2ee.IsViewingKeyMessage([]byte(message)) {
				// Its signature is the viewing key (SPEC §17.1): handing
				// it out would hand out the video.
				return usageError{errors.New("refusing to sign a camchain viewing-key message: its signature is your viewing key, which decrypts your video; nobody has a reason to ask you for it")}
			}
			k, err := e.loadSigner(*f)
			if err != nil {
				return err
			}
			sig, err := k.SignText([]byte(message))
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, sig.Hex())
			return nil
		},
	}
	cmd.Flags().StringVar(&message, "message", "", "the `TEXT` to sign, exactly as given (UTF-8)")
	return cmd
}

// noArgs rejects positional arguments as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %d (words and passphrases go in files or prompts, never on the command line)", cmd.CommandPath(), len(args))}
	}
	return nil
}
