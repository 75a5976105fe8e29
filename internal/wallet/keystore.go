package wallet

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/keys"
)

// ScryptParams are the scrypt cost parameters a keystore file is sealed with.
type ScryptParams struct {
	N int // CPU/memory cost, a power of two; memory ≈ 128·N·r bytes (r = 8)
	P int // parallelisation
}

var (
	// DefaultScrypt is geth's standard cost (N = 2^18, P = 1: about 256 MiB
	// and a second or so per unlock). Every real wallet uses it.
	DefaultScrypt = ScryptParams{N: 1 << 18, P: 1}

	// LightScrypt is geth's light cost (N = 2^12, P = 6: about 4 MiB). It is
	// for tests and low-memory devices only: a stolen file is far cheaper to
	// brute-force.
	LightScrypt = ScryptParams{N: 1 << 12, P: 6}
)

// Keystore file limits and permissions.
const (
	dirPerm       = 0o700
	filePerm      = 0o600
	maxKeyFile    = 64 << 10 // a v3 key file is about 500 bytes
	keyFilePrefix = "UTC--"
)

var (
	// ErrKeystoreExists is returned by Save when the directory already holds
	// a key. One wallet per directory; a key is never overwritten.
	ErrKeystoreExists = errors.New("keystore already holds a key")

	// ErrNoKeystore is returned when the directory holds no key file.
	ErrNoKeystore = errors.New("no wallet key found")

	// ErrWrongPassphrase is returned by Load when the passphrase does not
	// decrypt the key file.
	ErrWrongPassphrase = errors.New("wrong passphrase")

	// ErrMultipleKeys is returned when the directory holds more than one key
	// file, so which one to use would be a guess.
	ErrMultipleKeys = errors.New("keystore holds more than one key file")

	// ErrEmptyPassphrase is returned by Save for an empty passphrase, which
	// would leave the key protected by scrypt alone.
	ErrEmptyPassphrase = errors.New("empty passphrase")
)

// Keystore is a directory holding one key file in the Web3 Secret Storage v3
// format (the one geth, MetaMask imports and ethers read). A zero ScryptN and
// ScryptP mean DefaultScrypt.
type Keystore struct {
	Dir     string
	ScryptN int
	ScryptP int
}

// NewKeystore returns a keystore in dir that seals keys with p.
func NewKeystore(dir string, p ScryptParams) *Keystore {
	return &Keystore{Dir: dir, ScryptN: p.N, ScryptP: p.P}
}

// Exists reports whether the directory holds at least one key file. A missing
// or unreadable directory holds none.
func (ks *Keystore) Exists() bool {
	names, err := ks.keyFiles()
	return err == nil && len(names) > 0
}

// Address returns the key's address from the file's "address" field, without
// decrypting it (no passphrase needed). Load checks the field against the
// decrypted key.
func (ks *Keystore) Address() (keys.Address, error) {
	_, data, err := ks.readKeyFile()
	if err != nil {
		return keys.Address{}, err
	}
	return ks.fileAddress(data)
}

// Save seals k with passphrase (NFKD-normalised) and writes it as a new file
// named as geth names them, UTC--<time>--<address>. The directory is created
// 0700 and the file 0600, written to a hidden temporary file, synced and
// linked into place (atomicfile.Create, which never replaces a file).
// It returns ErrKeystoreExists if the directory already holds a key.
func (ks *Keystore) Save(k *keys.PrivateKey, passphrase string) (path string, err error) {
	if k == nil {
		return "", errors.New("save key: no key")
	}
	if passphrase == "" {
		return "", fmt.Errorf("save key: %w", ErrEmptyPassphrase)
	}
	if err := ks.refuseExisting(); err != nil {
		return "", err
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	p := ks.scrypt()
	blob, err := encryptV3(k, id, norm.NFKD.String(passphrase), p.N, p.P)
	if err != nil {
		return "", fmt.Errorf("encrypt key: %w", err)
	}
	if err := os.MkdirAll(ks.Dir, dirPerm); err != nil {
		return "", fmt.Errorf("create keystore directory: %w", err)
	}
	path = filepath.Join(ks.Dir, keyFileName(k.Address(), time.Now()))
	if err := atomicfile.Create(path, blob, filePerm); err != nil {
		return "", fmt.Errorf("write key file: %w", err)
	}
	return path, nil
}

// Load decrypts the directory's key with passphrase (NFKD-normalised, as Save
// seals it; see passwordForms for files from other tools). A passphrase that
// does not decrypt it gives ErrWrongPassphrase.
func (ks *Keystore) Load(passphrase string) (*keys.PrivateKey, error) {
	path, data, err := ks.readKeyFile()
	if err != nil {
		return nil, err
	}
	addr, err := ks.fileAddress(data)
	if err != nil {
		return nil, err
	}
	var priv *keys.PrivateKey
	for _, auth := range passwordForms(passphrase) {
		priv, _, err = decryptV3(data, auth)
		if !errors.Is(err, errV3Decrypt) {
			break
		}
	}
	switch {
	case errors.Is(err, errV3Decrypt):
		return nil, fmt.Errorf("%w for keystore %s", ErrWrongPassphrase, addr.Hex())
	case err != nil:
		return nil, fmt.Errorf("decrypt key file %s: %w", path, err)
	}
	if priv.Address() != addr {
		return nil, fmt.Errorf("key file %s: holds the key of %s but is labelled %s", path, priv.Address().Hex(), addr.Hex())
	}
	return priv, nil
}

// passwordForms lists the byte strings a passphrase may have been sealed
// with: NFKD first (what Save writes), then, for files made by other tools,
// the passphrase as typed (geth) and NFKC (ethers). For an ASCII passphrase
// the three are the same and only one scrypt run is made.
func passwordForms(passphrase string) []string {
	forms := []string{norm.NFKD.String(passphrase)}
	for _, f := range []string{passphrase, norm.NFKC.String(passphrase)} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

func (ks *Keystore) scrypt() ScryptParams {
	if ks.ScryptN == 0 && ks.ScryptP == 0 {
		return DefaultScrypt
	}
	return ScryptParams{N: ks.ScryptN, P: ks.ScryptP}
}

// CheckEmpty returns an error wrapping ErrKeystoreExists, naming the
// directory and the key it holds, if the directory already holds a key file.
// Save makes the same check; callers use CheckEmpty to refuse before asking
// the user for anything.
func (ks *Keystore) CheckEmpty() error { return ks.refuseExisting() }

// refuseExisting returns ErrKeystoreExists, naming the directory and the key
// it holds, if there is any key file.
func (ks *Keystore) refuseExisting() error {
	names, err := ks.keyFiles()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	held := names[0]
	if addr, err := ks.Address(); err == nil {
		held = addr.Hex()
	}
	return fmt.Errorf("%w: %s already holds %s; a key is never overwritten, choose another directory with --keystore DIR",
		ErrKeystoreExists, ks.Dir, held)
}

// keyFiles lists the directory's key files: every regular file that is not
// hidden (our temporary files start with a dot) and not an editor backup.
// This is what geth counts too, so a stray file is reported, not ignored.
func (ks *Keystore) keyFiles() ([]string, error) {
	entries, err := os.ReadDir(ks.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read keystore directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Export returns the v3 JSON that other software wallets (MetaMask's
// "Import account → JSON file") open with passphrase as typed (docs/SPEC.md
// §1.2). It first checks that passphrase opens this keystore. For an ASCII
// passphrase it is the key file itself. Otherwise the key is sealed afresh,
// at the keystore's scrypt cost, under NFC(passphrase): the form keyboards
// type and browsers submit, which those wallets use as bytes without
// normalising, where camchain's own file uses NFKD.
func (ks *Keystore) Export(passphrase string) ([]byte, error) {
	k, err := ks.Load(passphrase)
	if err != nil {
		return nil, err
	}
	_, data, err := ks.readKeyFile()
	if err != nil {
		return nil, err
	}
	if isASCII(passphrase) {
		return data, nil
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	p, err := fileScrypt(data)
	if err != nil {
		return nil, err
	}
	blob, err := encryptV3(k, id, norm.NFC.String(passphrase), p.N, p.P)
	if err != nil {
		return nil, fmt.Errorf("encrypt key: %w", err)
	}
	return blob, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// fileScrypt reads the scrypt cost a key file was sealed with.
func fileScrypt(data []byte) (ScryptParams, error) {
	var f struct {
		Crypto struct {
			KDF       string `json:"kdf"`
			KDFParams struct {
				N int `json:"n"`
				P int `json:"p"`
			} `json:"kdfparams"`
		} `json:"crypto"`
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Crypto.KDF != "scrypt" || f.Crypto.KDFParams.N < 2 || f.Crypto.KDFParams.P < 1 {
		return ScryptParams{}, errors.New("key file: not an scrypt v3 keystore")
	}
	return ScryptParams{N: f.Crypto.KDFParams.N, P: f.Crypto.KDFParams.P}, nil
}

// readKeyFile returns the path and contents of the directory's only key file.
func (ks *Keystore) readKeyFile() (string, []byte, error) {
	names, err := ks.keyFiles()
	if err != nil {
		return "", nil, err
	}
	switch len(names) {
	case 0:
		return "", nil, fmt.Errorf("%w in %s: create one with `camchain wallet new` or `camchain wallet restore`", ErrNoKeystore, ks.Dir)
	case 1:
	default:
		return "", nil, fmt.Errorf("%w: %s holds %d files (%s); camchain keeps one key per directory, move the others away",
			ErrMultipleKeys, ks.Dir, len(names), strings.Join(names, ", "))
	}
	path := filepath.Join(ks.Dir, names[0])
	f, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return "", nil, fmt.Errorf("key file %s: larger than %d bytes, not a keystore file", path, maxKeyFile)
	}
	return path, data, nil
}

// fileAddress parses the "address" field of a v3 key file: 40 hex digits,
// with or without 0x.
func (ks *Keystore) fileAddress(data []byte) (keys.Address, error) {
	var f struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return keys.Address{}, fmt.Errorf("key file in %s is not valid keystore JSON: %w", ks.Dir, err)
	}
	s := strings.TrimPrefix(strings.TrimPrefix(f.Address, "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(keys.Address{}) {
		return keys.Address{}, fmt.Errorf("key file in %s: address field %q is not 40 hex digits", ks.Dir, shorten(f.Address))
	}
	return keys.Address(b), nil
}

// keyFileName is geth's name for a key file: UTC--<ISO 8601 with dashes>--<address hex>.
func keyFileName(addr keys.Address, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s%04d-%02d-%02dT%02d-%02d-%02d.%09dZ--%s", keyFilePrefix,
		t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(),
		hex.EncodeToString(addr[:]))
}
