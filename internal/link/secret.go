package link

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
)

// The chain secret (SPEC §7.1). Record hashes are public — the hub serves
// them, checkpoints put chain heads on the ledger — so the proofs of the
// chain on every connect also need a secret that only camera and hub hold
// and that changes with every session: a stale copy of either side's disk
// fails at the next connect, and a live copy diverges from the genuine
// side at their next contact.

// Secret is a chain secret: 32 bytes only the camera and its hub know. It
// never appears in a log, an error or a message on the wire.
type Secret [32]byte

// Equal compares in constant time.
func (s Secret) Equal(o Secret) bool { return subtle.ConstantTimeCompare(s[:], o[:]) == 1 }

// String never shows the secret.
func (Secret) String() string { return "link.Secret(…)" }

// GoString never shows the secret.
func (Secret) GoString() string { return "link.Secret(…)" }

// LabelRatchet domain-separates the per-session ratchet.
const LabelRatchet = "camchain/v1/chain-secret"

// Ratchet derives the next generation's secret from this one and the
// session's TLS exporter: HMAC-SHA256(key = s, LabelRatchet ‖ 0x00 ‖
// exporter). Without s (a stale copy) or the exporter (anyone not party to
// the session) it cannot be computed.
func Ratchet(s Secret, exporter []byte) Secret {
	m := hmac.New(sha256.New, s[:])
	m.Write([]byte(LabelRatchet))
	m.Write([]byte{0})
	m.Write(exporter)
	var out Secret
	m.Sum(out[:0])
	return out
}

// SecretVersion is the version of the stored SecretState.
const SecretVersion = 1

// MaxSecretState caps an encoded SecretState (with maxResyncMarks spent
// resyncs).
const MaxSecretState = 512

// NextSecret is a generation a side derived but the peer has not yet
// proven it holds.
type NextSecret struct {
	_      struct{} `cbor:",toarray"`
	Valid  bool
	Gen    uint64
	Secret Secret
}

// SecretState is what one side keeps beside the chain (per camera and
// epoch). The camera keeps only its current generation; the hub also
// keeps the generation it derived in the last session (Next), because it
// cannot know whether the camera stored it before the session ended.
// The absent state is generation 0 with the all-zero secret: before the
// first session of an epoch there is nothing to protect.
type SecretState struct {
	_       struct{} `cbor:",toarray"`
	Version uint64
	Gen     uint64
	Secret  Secret
	Next    NextSecret
	// Spent are the resyncs the camera applied that have not expired
	// (§7.2): a resync is single-use.
	Spent []ResyncMark
}

// ErrSecretState is a stored SecretState that does not decode.
var ErrSecretState = errors.New("link: bad chain secret state")

// Marshal encodes the state (canonical CBOR).
func (s SecretState) Marshal() ([]byte, error) {
	s.Version = SecretVersion
	if s.Spent == nil {
		s.Spent = []ResyncMark{}
	}
	return encMode.Marshal(s)
}

// ParseSecretState decodes a stored state strictly; empty input is the
// initial state.
func ParseSecretState(b []byte) (SecretState, error) {
	if len(b) == 0 {
		return SecretState{Version: SecretVersion}, nil
	}
	if len(b) > MaxSecretState {
		return SecretState{}, fmt.Errorf("%w: %d bytes", ErrSecretState, len(b))
	}
	var s SecretState
	if err := Decode(b, &s); err != nil {
		return SecretState{}, fmt.Errorf("%w: %v", ErrSecretState, err)
	}
	if s.Version != SecretVersion {
		return SecretState{}, fmt.Errorf("%w: version %d", ErrSecretState, s.Version)
	}
	if s.Next.Valid && s.Next.Gen <= s.Gen {
		return SecretState{}, fmt.Errorf("%w: next generation %d after %d", ErrSecretState, s.Next.Gen, s.Gen)
	}
	if len(s.Spent) > maxResyncMarks {
		return SecretState{}, fmt.Errorf("%w: %d spent resyncs", ErrSecretState, len(s.Spent))
	}
	if !s.Next.Valid && (s.Next.Gen != 0 || s.Next.Secret != Secret{}) {
		return SecretState{}, fmt.Errorf("%w: absent next generation with content", ErrSecretState)
	}
	return s, nil
}

// SecretStore keeps one chain's SecretState, crash-safe (written whole,
// atomically, before the step that depends on it).
type SecretStore interface {
	ChainSecret() ([]byte, error)
	SetChainSecret([]byte) error
}

func loadSecret(st SecretStore) (SecretState, error) {
	b, err := st.ChainSecret()
	if err != nil {
		return SecretState{}, err
	}
	return ParseSecretState(b)
}

func saveSecret(st SecretStore, s SecretState) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	return st.SetChainSecret(b)
}

// StaleSecretError: the peer presents a chain secret generation this side
// does not hold. Behind means a copy older than this side (a cloned
// camera); ahead means this side is the stale one (a hub restored from a
// backup), or a copy of it talked to the camera meanwhile.
type StaleSecretError struct {
	Got, Have uint64
	Ahead     bool
}

func (e *StaleSecretError) Error() string {
	if e.Ahead {
		return fmt.Sprintf("the camera's chain secret is at generation %d, this hub's at %d: this hub's copy of the chain is stale (restored from a backup?), or a copy of this hub talked to the camera; the owner's resync re-keys it", e.Got, e.Have)
	}
	return fmt.Sprintf("the camera's chain secret is at generation %d, this hub is at %d: a copy of the camera older than the genuine one (a clone)", e.Got, e.Have)
}

// secretFor returns the hub's secret of generation gen, and the state to
// store once it is proven (Next promoted when the camera uses it).
func (s SecretState) secretFor(gen uint64) (Secret, SecretState, error) {
	switch {
	case gen == s.Gen:
		return s.Secret, s, nil
	case s.Next.Valid && gen == s.Next.Gen:
		return s.Next.Secret, SecretState{Version: SecretVersion, Gen: s.Next.Gen, Secret: s.Next.Secret, Spent: s.Spent}, nil
	}
	// Ahead of the current generation (and not the next one): this hub is
	// the stale side. Behind it: an older copy of the camera.
	return Secret{}, s, &StaleSecretError{Got: gen, Have: s.Gen, Ahead: gen > s.Gen}
}

// MemSecret is a SecretStore in memory (tests, benchmarks).
type MemSecret struct {
	mu sync.Mutex
	b  []byte
}

// ChainSecret implements SecretStore.
func (m *MemSecret) ChainSecret() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.b...), nil
}

// SetChainSecret implements SecretStore.
func (m *MemSecret) SetChainSecret(b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b = append([]byte(nil), b...)
	return nil
}
