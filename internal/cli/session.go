package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/home"
	"github.com/camchain/camchain/internal/keys"
)

// A login session per hub lives in $CAMCHAIN_HOME/sessions/<id>.json (mode
// 0600, directory 0700): the access token, and the client id, login-chain
// head and renewal secret the next renewal or login needs (docs/SPEC.md
// §11.4). A copy of this file is a clone: whichever of the two renews
// second is refused and alarmed.
const sessionVersion = 1

// renewAhead is how long before its expiry the CLI renews a token.
const renewAhead = 30 * time.Second

type sessionFile struct {
	Version     int    `json:"version"`
	Hub         string `json:"hub"`
	Address     string `json:"address"`
	Client      string `json:"client"`
	Head        string `json:"head"`
	Renewal     string `json:"renewal,omitempty"`
	AccessToken string `json:"access_token,omitempty"`
	Expires     string `json:"expires,omitempty"`
}

func sessionPath(hub string) (string, error) {
	dir, err := home.Dir("sessions")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(hub))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".json"), nil
}

// loadSession returns the session for hub, or nil if there is none.
func loadSession(hub string) (*sessionFile, error) {
	p, err := sessionPath(hub)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("login session: %w", err)
	}
	var s sessionFile
	if err := json.Unmarshal(b, &s); err != nil || s.Version != sessionVersion || s.Hub != hub {
		return nil, fmt.Errorf("login session %s is not a version %d session for %s; remove it and log in again", p, sessionVersion, hub)
	}
	return &s, nil
}

func saveSession(s *sessionFile) error {
	p, err := sessionPath(s.Hub)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	s.Version = sessionVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(p, append(b, '\n'), 0o600)
}

// lockSession serializes renewals of one session between CLI processes:
// two that renewed from the same state would look like a clone.
func lockSession(hub string) (func(), error) {
	p, err := sessionPath(hub)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock login session: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func (s *sessionFile) keep(a *api.Session) {
	s.Address, s.Client, s.Head, s.Renewal, s.AccessToken, s.Expires = a.Address, a.Client, a.Head, a.Renewal, a.AccessToken, a.Expires
}

func (s *sessionFile) fresh(now time.Time) bool {
	exp, err := time.Parse(time.RFC3339, s.Expires)
	return s.AccessToken != "" && err == nil && exp.Sub(now) > renewAhead
}

// sessionLogin logs key in to the hub behind c, continuing the saved
// client's chain when it is this address's, and saves the session.
func sessionLogin(ctx context.Context, c *api.Client, key *keys.PrivateKey) (*sessionFile, *api.Session, error) {
	return sessionLoginWith(ctx, c, key, nil)
}

// sessionLoginWith is sessionLogin with resources in the sign-in message
// (auth.OverrideResource). A pending session (no token) is saved too: its
// head and renewal are what the approved client renews with.
func sessionLoginWith(ctx context.Context, c *api.Client, key *keys.PrivateKey, resources []string) (*sessionFile, *api.Session, error) {
	hub := c.Base()
	unlock, err := lockSession(hub)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	s, err := loadSession(hub)
	if err != nil {
		return nil, nil, err
	}
	var cid signin.ClientID
	var head signin.Head
	if s != nil && s.Address == key.Address().Hex() {
		cid, _ = signin.ParseClientID(s.Client)
		head, _ = signin.ParseHead(s.Head)
	}
	if cid.IsZero() {
		if cid, err = signin.NewClientID(); err != nil {
			return nil, nil, err
		}
		head = signin.Head{}
	}
	a, err := c.LoginWith(ctx, key.Address(), key.SignText, cid, head, resources)
	if err != nil {
		return nil, nil, err
	}
	s = &sessionFile{Hub: hub}
	s.keep(a)
	return s, a, saveSession(s)
}

// sessionCreds give the API client the saved session's token, renewing it
// when it is about to expire, or logging in with the wallet when the
// command has one (signer non-nil) and there is no session.
type sessionCreds struct {
	e       *env
	signer  func() (*keys.PrivateKey, error)
	address func() (keys.Address, error) // the wallet's, without unlocking it
	stale   bool
}

func (sc *sessionCreds) Invalidate() { sc.stale = true }

func (sc *sessionCreds) Token(ctx context.Context, c *api.Client) (string, error) {
	hub := c.Base()
	s, err := loadSession(hub)
	if err != nil {
		return "", err
	}
	if s != nil && sc.address != nil {
		// A session of another address than the command's wallet is not
		// this command's: log in as the wallet.
		if a, err := sc.address(); err == nil && a.Hex() != s.Address {
			s = nil
		}
	}
	if s != nil && !sc.stale && s.fresh(time.Now()) {
		return s.AccessToken, nil
	}
	if s != nil && s.Renewal != "" {
		tok, err := sc.renew(ctx, c)
		if err == nil || sc.signer == nil {
			return tok, err
		}
	}
	if sc.signer == nil {
		return "", fmt.Errorf("not logged in to %s: run `camchain login --hub %s`", hub, hub)
	}
	key, err := sc.signer()
	if err != nil {
		return "", err
	}
	s, a, err := sessionLogin(ctx, c, key)
	if err != nil {
		return "", err
	}
	sc.stale = false
	if a.Pending {
		return "", pendingError(a)
	}
	if a.Enrolled {
		fmt.Fprintf(sc.e.stderr, "camchain: logged in to %s as %s: this machine is enrolled as a new client (%s), which the audit log shows\n", hub, a.Address, a.Client)
	}
	return s.AccessToken, nil
}

// renew exchanges the saved renewal for a new session, under the lock, and
// re-reads the file first: another process may have renewed it already.
func (sc *sessionCreds) renew(ctx context.Context, c *api.Client) (string, error) {
	hub := c.Base()
	unlock, err := lockSession(hub)
	if err != nil {
		return "", err
	}
	defer unlock()
	s, err := loadSession(hub)
	if err != nil || s == nil {
		return "", fmt.Errorf("not logged in to %s: run `camchain login --hub %s`", hub, hub)
	}
	if !sc.stale && s.fresh(time.Now()) {
		return s.AccessToken, nil
	}
	a, err := c.Renew(ctx, &api.Session{Client: s.Client, Head: s.Head, Renewal: s.Renewal})
	if err != nil {
		if api.CodeOf(err) == api.ErrPendingApproval {
			return "", pendingError(&api.Session{Client: s.Client, Address: s.Address})
		}
		if api.CodeOf(err) == api.ErrForbidden {
			return "", fmt.Errorf("the hub refused to renew this machine's session: %w (if this machine's ~/.camchain was copied, the copy is in use: revoke this client and log in again)", err)
		}
		return "", fmt.Errorf("renew the login session (log in again with `camchain login --hub %s`): %w", hub, err)
	}
	s.keep(a)
	sc.stale = false
	return s.AccessToken, saveSession(s)
}

// pendingError says what a machine pending approval must do.
func pendingError(a *api.Session) error {
	return fmt.Errorf("pending approval: this machine is enrolled as client %s of %s but gets no access until one of your enrolled machines approves it: there, run camchain clients approve %s (if you lost every enrolled machine: camchain login --override, which revokes all the others and raises an alarm)", a.Client, a.Address, a.Client)
}
