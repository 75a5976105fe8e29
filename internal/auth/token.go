package auth

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// Access tokens are JWTs (RFC 7519) signed with HMAC-SHA256 under a key
// that only the hub holds: the hub is the only party that verifies them, so
// a symmetric key is enough and costs about a microsecond per request. Each
// key has an id (the JWT "kid" header). A key is current for the rotation
// period, then keeps verifying for one token lifetime, so its tokens run
// out on their own and a rotation logs nobody out; after that it is
// retired and its tokens are refused with ErrTokenKeyRetired. Retire ends a
// key at once (a suspected leak), which logs out exactly its holders.

const (
	keyringVersion = 1
	maxRetiredKeys = 64
	keyIDBytes     = 8
)

type tokenKey struct {
	ID      string `json:"kid"`
	Secret  string `json:"secret,omitempty"` // hex; empty once retired
	Created int64  `json:"created"`
	Retired int64  `json:"retired,omitempty"`
}

type keyringFile struct {
	Version int        `json:"version"`
	Keys    []tokenKey `json:"keys"`
}

// Keyring holds the token signing keys, persisted (mode 0600) at Path.
type Keyring struct {
	path     string
	rotation time.Duration
	ttl      time.Duration

	mu   sync.RWMutex
	keys []tokenKey // oldest first; the last live one is current
}

// OpenKeyring loads the keyring at path, creating it with one fresh key if
// the file does not exist. Keys rotate every rotation; tokens live ttl. An
// empty path keeps the keyring in memory only (tests).
func OpenKeyring(path string, rotation, ttl time.Duration, now time.Time) (*Keyring, error) {
	k := &Keyring{path: path, rotation: rotation, ttl: ttl}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			var f keyringFile
			if err := json.Unmarshal(data, &f); err != nil || f.Version != keyringVersion {
				return nil, fmt.Errorf("token keyring %s: not a version %d keyring", path, keyringVersion)
			}
			k.keys = f.Keys
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("token keyring: %w", err)
		}
	}
	if _, err := k.current(now); err != nil {
		return nil, err
	}
	return k, nil
}

// save writes the keyring; the caller holds mu.
func (k *Keyring) save() error {
	if k.path == "" {
		return nil
	}
	data, err := json.Marshal(keyringFile{Version: keyringVersion, Keys: k.keys})
	if err != nil {
		return err
	}
	return atomicfile.Write(k.path, data, 0o600)
}

// current returns the signing key, rotating and retiring as time requires.
func (k *Keyring) current(now time.Time) (tokenKey, error) {
	k.mu.RLock()
	cur, ok := k.live()
	k.mu.RUnlock()
	if ok && now.Unix()-cur.Created < int64(k.rotation/time.Second) {
		return cur, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur, ok := k.live(); ok && now.Unix()-cur.Created < int64(k.rotation/time.Second) {
		return cur, nil
	}
	if err := k.rotateLocked(now); err != nil {
		return tokenKey{}, err
	}
	cur, _ = k.live()
	return cur, nil
}

// live returns the newest unretired key. The caller holds mu.
func (k *Keyring) live() (tokenKey, bool) {
	for i := len(k.keys) - 1; i >= 0; i-- {
		if k.keys[i].Retired == 0 {
			return k.keys[i], true
		}
	}
	return tokenKey{}, false
}

// Rotate makes a fresh key current now. Older keys keep verifying for one
// token lifetime.
func (k *Keyring) Rotate(now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rotateLocked(now)
}

func (k *Keyring) rotateLocked(now time.Time) error {
	var id [keyIDBytes]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("token key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return fmt.Errorf("token key: %w", err)
	}
	k.keys = append(k.keys, tokenKey{ID: hex.EncodeToString(id[:]), Secret: hex.EncodeToString(secret[:]), Created: now.Unix()})
	k.expireLocked(now)
	return k.save()
}

// expireLocked retires every key that stopped being current more than one
// token lifetime ago, and forgets the oldest retired ids beyond a bound.
func (k *Keyring) expireLocked(now time.Time) {
	for i := 0; i+1 < len(k.keys); i++ {
		if k.keys[i].Retired == 0 && now.Unix()-k.keys[i+1].Created > int64((k.ttl+signin.DefaultSkew)/time.Second) {
			k.keys[i].Retired, k.keys[i].Secret = now.Unix(), ""
		}
	}
	retired := 0
	for _, key := range k.keys {
		if key.Retired != 0 {
			retired++
		}
	}
	for retired > maxRetiredKeys && k.keys[0].Retired != 0 {
		k.keys, retired = k.keys[1:], retired-1
	}
}

// Retire ends the key kid at once: its tokens are refused from the next
// request on. Retiring the current key makes a fresh one current.
func (k *Keyring) Retire(kid string, now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.keys {
		if k.keys[i].ID == kid && k.keys[i].Retired == 0 {
			k.keys[i].Retired, k.keys[i].Secret = now.Unix(), ""
			if _, ok := k.live(); !ok {
				return k.rotateLocked(now)
			}
			return k.save()
		}
	}
	return fmt.Errorf("no live token key %q", kid)
}

// KeyIDs lists the live key ids, oldest first.
func (k *Keyring) KeyIDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var ids []string
	for _, key := range k.keys {
		if key.Retired == 0 {
			ids = append(ids, key.ID)
		}
	}
	return ids
}

func (k *Keyring) lookup(kid string) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, key := range k.keys {
		if key.ID != kid {
			continue
		}
		if key.Retired != 0 {
			return nil, fmt.Errorf("%w (key %s)", ErrTokenKeyRetired, kid)
		}
		return hex.DecodeString(key.Secret)
	}
	return nil, fmt.Errorf("%w: unknown key id", ErrTokenForged)
}

// claims are an access token's contents.
type claims struct {
	jwt.RegisteredClaims
	Client string `json:"cid"`
}

// Session is who a verified access token speaks for.
type Session struct {
	Address keys.Address
	Client  signin.ClientID
	Expires time.Time
}

// Tokens issues and verifies access tokens for one hub.
type Tokens struct {
	Keys     *Keyring
	Issuer   string // the hub's address
	Audience string // the hub's public origin
	TTL      time.Duration
}

// Issue returns an access token for addr on client cid, valid from now for TTL.
func (t *Tokens) Issue(addr keys.Address, cid signin.ClientID, now time.Time) (string, time.Time, error) {
	key, err := t.Keys.current(now)
	if err != nil {
		return "", time.Time{}, err
	}
	secret, err := hex.DecodeString(key.Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token key %s: %w", key.ID, err)
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("token id: %w", err)
	}
	exp := now.Add(t.TTL).Truncate(time.Second)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: t.Issuer, Subject: addr.Hex(), Audience: jwt.ClaimStrings{t.Audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp), ID: hex.EncodeToString(jti[:]),
		},
		Client: cid.String(),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = key.ID
	s, err := tok.SignedString(secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// Verify checks an access token at time now: HS256 under a live key of
// this hub, this hub's issuer and audience, not expired. The refusals are
// ErrTokenForged, ErrTokenExpired and ErrTokenKeyRetired.
func (t *Tokens) Verify(token string, now time.Time) (Session, error) {
	if token == "" {
		return Session{}, ErrNoToken
	}
	if len(token) > MaxTokenBytes {
		return Session{}, fmt.Errorf("%w: over %d bytes", ErrTokenForged, MaxTokenBytes)
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.Issuer), jwt.WithAudience(t.Audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(signin.DefaultSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var c claims
	_, err := p.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		return t.Keys.lookup(kid)
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrTokenKeyRetired):
		return Session{}, ErrTokenKeyRetired
	case errors.Is(err, jwt.ErrTokenExpired):
		return Session{}, ErrTokenExpired
	default:
		return Session{}, ErrTokenForged
	}
	addr, err := keys.ParseAddress(c.Subject)
	if err != nil {
		return Session{}, ErrTokenForged
	}
	cid, err := signin.ParseClientID(c.Client)
	if err != nil {
		return Session{}, ErrTokenForged
	}
	return Session{Address: addr, Client: cid, Expires: c.ExpiresAt.Time}, nil
}
