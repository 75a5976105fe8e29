package witness

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// OriginPrefix starts every camchain log origin.
const OriginPrefix = "camchain/v1/"

// logKeyLabel domain-separates the derivation of a log key from the hub's
// log secret (HKDF-SHA-256 info is the label, a NUL, then the origin).
const logKeyLabel = "camchain/v1/witness-log-key"

// Origin names the log of one camera's chain in one binding epoch on one
// ledger: "camchain/v1/<ledgerChainID>/<camera, lower-case 0x hex>/<epoch>".
// The tree restarts with each epoch, so each epoch is its own log.
func Origin(ledgerChainID string, camera keys.Address, epoch uint64) string {
	return OriginPrefix + ledgerChainID + "/" + strings.ToLower(camera.Hex()) + "/" + strconv.FormatUint(epoch, 10)
}

// StreamOrigin names the log of one stream's chain: Origin for the main
// stream, and Origin followed by "/" and the stream's name for any other
// ("…/3/sub"). Each stream is its own chain (SPEC §6.5), so its own log.
func StreamOrigin(ledgerChainID string, camera keys.Address, epoch uint64, stream feedchain.Stream) string {
	o := Origin(ledgerChainID, camera, epoch)
	if stream != feedchain.StreamMain {
		o += "/" + stream.String()
	}
	return o
}

// Body is the C2SP tlog-checkpoint body of a tree: the origin, the size in
// decimal and the root in standard base64, each line ending in a newline,
// with no extension lines. It is what the log signs and witnesses cosign.
func Body(origin string, size uint64, root feedchain.Hash) string {
	return origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// ParseBody reads a checkpoint body as Body writes it, and nothing else:
// three lines, a decimal size without leading zeros, a 32-byte root.
func ParseBody(body string) (origin string, size uint64, root feedchain.Hash, err error) {
	bad := errors.New("witness: not a checkpoint body of three lines (origin, size, root)")
	lines := strings.Split(body, "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] == "" || len(lines[0]) > MaxNameBytes {
		return "", 0, root, bad
	}
	size, err = strconv.ParseUint(lines[1], 10, 64)
	if err != nil || lines[1] != strconv.FormatUint(size, 10) || size > 1<<63 {
		return "", 0, root, bad
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != len(root) {
		return "", 0, root, bad
	}
	copy(root[:], h)
	return lines[0], size, root, nil
}

// LogSecretSize is the size of the hub's log secret.
const LogSecretSize = 32

// LogKeys derives the hub's Ed25519 log key of each origin from one secret
// (HKDF-SHA-256): one secret to keep, a key per log, and each key named by
// its origin as tlog witnesses require. Its String never shows the secret.
type LogKeys struct {
	secret [LogSecretSize]byte
}

// NewLogKeys wraps a secret drawn from crypto/rand (and stored by the hub).
func NewLogKeys(secret []byte) (*LogKeys, error) {
	if len(secret) != LogSecretSize {
		return nil, fmt.Errorf("witness: a log secret is %d bytes, not %d", LogSecretSize, len(secret))
	}
	k := &LogKeys{}
	copy(k.secret[:], secret)
	return k, nil
}

func (k *LogKeys) String() string { return "witness.LogKeys{redacted}" }

func (k *LogKeys) private(origin string) ed25519.PrivateKey {
	seed, err := hkdf.Key(sha256.New, k.secret[:], nil, logKeyLabel+"\x00"+origin, ed25519.SeedSize)
	if err != nil {
		panic("witness: hkdf: " + err.Error()) // only for lengths out of range
	}
	return ed25519.NewKeyFromSeed(seed)
}

// VerifierKey is the C2SP signed-note verifier key ("origin+hash+key") of
// origin's log: what a witness operator adds for that log.
func (k *LogKeys) VerifierKey(origin string) (string, error) {
	return note.NewEd25519VerifierKey(origin, k.private(origin).Public().(ed25519.PublicKey))
}

// Sign returns the signed note of the checkpoint body: the body, a blank
// line, and the log's signature line.
func (k *LogKeys) Sign(body string) ([]byte, error) {
	origin, _, _, err := ParseBody(body)
	if err != nil {
		return nil, err
	}
	vkey, err := k.VerifierKey(origin)
	if err != nil {
		return nil, fmt.Errorf("witness: origin %q cannot name a key: %w", origin, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	return note.Sign(&note.Note{Text: body}, noteSigner{v: v, key: k.private(origin)})
}

// noteSigner is a note.Signer over an Ed25519 key (signed-note algorithm 1:
// the signature is Ed25519 over the note text).
type noteSigner struct {
	v   note.Verifier
	key ed25519.PrivateKey
}

func (s noteSigner) Name() string                    { return s.v.Name() }
func (s noteSigner) KeyHash() uint32                 { return s.v.KeyHash() }
func (s noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }
