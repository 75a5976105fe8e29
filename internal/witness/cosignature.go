package witness

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// algCosignatureV1 is the signed-note algorithm byte of a C2SP
// tlog-cosignature/v1 key (an Ed25519 key signing a timestamped message).
const algCosignatureV1 = 0x04

// cosignatureLabel opens the message a cosignature signs (C2SP
// tlog-cosignature): "cosignature/v1\ntime <unix seconds>\n" then the
// checkpoint body. The label is the protocol's domain separation: a
// witness key signs nothing else of this shape.
const cosignatureLabel = "cosignature/v1\ntime "

// ErrBadKey: a witness verifier key is malformed.
var ErrBadKey = errors.New("witness: malformed witness key")

// ErrBadCosignature: a cosignature is malformed, or does not verify.
var ErrBadCosignature = errors.New("witness: cosignature invalid")

// Key is a witness's public key: its name and an Ed25519 key used for
// tlog-cosignature/v1. Equal compares in constant time.
type Key struct {
	Name   string
	Public ed25519.PublicKey
}

// ParseKey reads a C2SP signed-note verifier key of a cosigning witness:
// "<name>+<key id, 8 hex>+<base64(0x04 ‖ 32-byte Ed25519 key)>". The key
// id must be the one the name and key give.
func ParseKey(vkey string) (Key, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	id, b64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !validName(name) || len(id) != 8 {
		return Key{}, fmt.Errorf("%w: want <name>+<8 hex digits>+<base64 key>", ErrBadKey)
	}
	want, err := strconv.ParseUint(id, 16, 32)
	if err != nil || strings.ToLower(id) != id {
		return Key{}, fmt.Errorf("%w: key id %q is not 8 lower-case hex digits", ErrBadKey, id)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != algCosignatureV1 {
		return Key{}, fmt.Errorf("%w: not a tlog-cosignature/v1 Ed25519 key (algorithm byte 0x04 and 32 bytes)", ErrBadKey)
	}
	k := Key{Name: name, Public: ed25519.PublicKey(raw[1:])}
	if k.ID() != uint32(want) {
		return Key{}, fmt.Errorf("%w: key id %s does not match its name and key (%08x)", ErrBadKey, id, k.ID())
	}
	return k, nil
}

// ID is the signed-note key id: the first 4 bytes of SHA-256(name ‖ "\n" ‖
// 0x04 ‖ key).
func (k Key) ID() uint32 {
	h := sha256.New()
	h.Write([]byte(k.Name))
	h.Write([]byte{'\n', algCosignatureV1})
	h.Write(k.Public)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// String is the verifier key, as ParseKey reads it.
func (k Key) String() string {
	return fmt.Sprintf("%s+%08x+%s", k.Name, k.ID(), base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, k.Public...)))
}

// Equal reports whether two keys are the same name and key.
func (k Key) Equal(o Key) bool {
	return k.Name == o.Name && len(k.Public) == len(o.Public) && subtle.ConstantTimeCompare(k.Public, o.Public) == 1
}

// Cosignature is one witness's tlog-cosignature/v1 of a checkpoint: at
// Time (Unix seconds) the witness named Witness had verified the tree's
// consistency with every tree of that origin it saw before.
type Cosignature struct {
	Witness   Key
	Time      uint64
	Signature [ed25519.SignatureSize]byte
}

// Message is what a cosignature of body at time t signs.
func Message(t uint64, body string) []byte {
	return []byte(cosignatureLabel + strconv.FormatUint(t, 10) + "\n" + body)
}

// Verify checks the cosignature over the checkpoint body.
func (c Cosignature) Verify(body string) error {
	if len(c.Witness.Public) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: the witness key is %d bytes", ErrBadCosignature, len(c.Witness.Public))
	}
	if _, _, _, err := ParseBody(body); err != nil {
		return err
	}
	if !ed25519.Verify(c.Witness.Public, Message(c.Time, body), c.Signature[:]) {
		return fmt.Errorf("%w: witness %s's signature does not verify over this checkpoint at time %d", ErrBadCosignature, c.Witness.Name, c.Time)
	}
	return nil
}

// ParseSignatureLines reads the cosignatures of witness w among
// signed-note signature lines ("— <name> <base64>\n" each), as a
// tlog-witness answers: lines of other keys are skipped, a malformed
// line is an error.
func ParseSignatureLines(lines []byte, w Key) ([]Cosignature, error) {
	var out []Cosignature
	if len(lines) == 0 || lines[len(lines)-1] != '\n' {
		return nil, fmt.Errorf("%w: signature lines must end in a newline", ErrBadCosignature)
	}
	for i, line := range bytes.Split(lines[:len(lines)-1], []byte("\n")) {
		if i >= MaxCosignatures {
			return nil, fmt.Errorf("%w: more than %d signature lines", ErrBadCosignature, MaxCosignatures)
		}
		rest, ok := bytes.CutPrefix(line, []byte("— "))
		name, b64, ok2 := bytes.Cut(rest, []byte(" "))
		if !ok || !ok2 {
			return nil, fmt.Errorf("%w: line %d is not a signature line", ErrBadCosignature, i+1)
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(string(b64))
		if err != nil || len(raw) < 4 {
			return nil, fmt.Errorf("%w: line %d: bad base64", ErrBadCosignature, i+1)
		}
		if string(name) != w.Name || binary.BigEndian.Uint32(raw) != w.ID() {
			continue
		}
		if len(raw) != 4+8+ed25519.SignatureSize {
			return nil, fmt.Errorf("%w: line %d: a cosignature/v1 is %d bytes, this is %d", ErrBadCosignature, i+1, 4+8+ed25519.SignatureSize, len(raw))
		}
		c := Cosignature{Witness: w, Time: binary.BigEndian.Uint64(raw[4:12])}
		copy(c.Signature[:], raw[12:])
		out = append(out, c)
	}
	return out, nil
}

// validName: a signed-note key name is non-empty UTF-8 with no spaces and
// no '+'.
func validName(name string) bool {
	return name != "" && len(name) <= MaxNameBytes && utf8.ValidString(name) &&
		strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}
