package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// LabelNonce domain-separates the nonce MAC (docs/SPEC.md §11.2).
const LabelNonce = "camchain/v1/login-nonce"

// Nonce layout: random(8) ‖ u64be(expiry, Unix seconds) ‖ MAC(16), written
// as 64 lower-case hex digits (alphanumeric, as EIP-4361 clients require).
const (
	nonceRandBytes = 8
	nonceMACBytes  = 16
	nonceBytes     = nonceRandBytes + 8 + nonceMACBytes
)

// Nonces issues and consumes login nonces. A nonce is stateless until it is
// used: it carries its expiry and a MAC under a key drawn at start, so
// issuing one allocates nothing and a flood of nonce requests costs the hub
// no memory. Used nonces are remembered until they expire, so each works
// once. The key is never persisted: a restart kills every outstanding nonce
// (and with it any chance to replay one whose use the restart forgot).
//
// Used nonces are kept by their expiry second (which each nonce carries
// under its MAC), so forgetting the expired ones drops whole seconds at a
// time: the work under the lock does not grow with the number of nonces
// in use, where a sweep of one map of them all held every login up for
// the length of the sweep (about a million entries at a few thousand
// logins a second).
type Nonces struct {
	key [32]byte
	ttl time.Duration
	max int // cap on the used nonces held: maxUsedNonces

	mu    sync.Mutex
	used  map[int64]map[[nonceRandBytes]byte][32]byte // expiry → id → digest of the message that used it
	n     int                                         // entries in used
	swept int64                                       // the second forget last ran
}

// NewNonces returns a nonce issuer whose nonces live ttl.
func NewNonces(ttl time.Duration) (*Nonces, error) {
	n := &Nonces{ttl: ttl, max: maxUsedNonces, used: make(map[int64]map[[nonceRandBytes]byte][32]byte)}
	if _, err := rand.Read(n.key[:]); err != nil {
		return nil, fmt.Errorf("nonce key: %w", err)
	}
	return n, nil
}

// TTL is a nonce's life.
func (n *Nonces) TTL() time.Duration { return n.ttl }

// Issue returns a fresh nonce, good until now+TTL.
func (n *Nonces) Issue(now time.Time) (string, time.Time, error) {
	var b [nonceBytes]byte
	if _, err := rand.Read(b[:nonceRandBytes]); err != nil {
		return "", time.Time{}, fmt.Errorf("nonce: %w", err)
	}
	exp := now.Add(n.ttl).Truncate(time.Second)
	binary.BigEndian.PutUint64(b[nonceRandBytes:], uint64(exp.Unix()))
	copy(b[nonceRandBytes+8:], n.mac(b[:nonceRandBytes+8]))
	return hex.EncodeToString(b[:]), exp, nil
}

func (n *Nonces) mac(body []byte) []byte {
	m := hmac.New(sha256.New, n.key[:])
	m.Write([]byte(LabelNonce))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:nonceMACBytes]
}

// Check reports whether nonce was issued here and is still alive, without
// using it.
func (n *Nonces) Check(nonce string, now time.Time) error {
	_, _, err := n.open(nonce, now)
	return err
}

func (n *Nonces) open(nonce string, now time.Time) ([nonceRandBytes]byte, int64, error) {
	var id [nonceRandBytes]byte
	var b [nonceBytes]byte
	if len(nonce) != 2*nonceBytes {
		return id, 0, ErrUnknownNonce
	}
	if _, err := hex.Decode(b[:], []byte(nonce)); err != nil || hex.EncodeToString(b[:]) != nonce {
		return id, 0, ErrUnknownNonce
	}
	if !hmac.Equal(b[nonceRandBytes+8:], n.mac(b[:nonceRandBytes+8])) {
		return id, 0, ErrUnknownNonce
	}
	exp := int64(binary.BigEndian.Uint64(b[nonceRandBytes:]))
	if now.Unix() >= exp {
		return id, 0, fmt.Errorf("%w: at %s", ErrNonceExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	copy(id[:], b[:nonceRandBytes])
	return id, exp, nil
}

// Use consumes nonce for the message whose digest is msg. A nonce used
// before is refused: ErrReplayed when by the very same message, else
// ErrNonceReused.
func (n *Nonces) Use(nonce string, msg [32]byte, now time.Time) error {
	id, exp, err := n.open(nonce, now)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	bucket := n.used[exp]
	if m, ok := bucket[id]; ok {
		if hmac.Equal(m[:], msg[:]) {
			return ErrReplayed
		}
		return ErrNonceReused
	}
	if t := now.Unix(); t != n.swept {
		n.forget(t)
	}
	if n.n >= n.max {
		return ErrBusy
	}
	if bucket == nil {
		bucket = make(map[[nonceRandBytes]byte][32]byte)
		n.used[exp] = bucket
	}
	bucket[id] = msg
	n.n++
	return nil
}

// forget drops the used nonces that have expired by second t: they are
// refused as expired from then on. It runs at most once a second and
// visits one entry per expiry second held (at most the TTL in seconds),
// however many nonces each holds. The caller holds mu.
func (n *Nonces) forget(t int64) {
	n.swept = t
	for exp, bucket := range n.used {
		if t >= exp {
			n.n -= len(bucket)
			delete(n.used, exp)
		}
	}
}
