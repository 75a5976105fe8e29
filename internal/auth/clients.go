package auth

import (
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// Caps on the client registry.
const (
	MaxClientsPerAddress = 64 // live ones; enrolling one more revokes the longest unseen
	MaxClients           = 1 << 17
	clientsVersion       = 1
	// FlushInterval is how often changed heads are written to disk. Each
	// write encodes the whole registry and fsyncs it, so under a steady
	// stream of logins it costs in proportion to the registry's size, not
	// to the logins; and it waits on nothing: every head advance is in
	// the login log, fsynced before it was answered, and replayed on
	// start (Service.New), and the log keeps a batch's records until the
	// registry holding them is on disk (Service.PruneLog).
	FlushInterval = 5 * time.Second
)

// ClientInfo is what the owner sees of one enrolled client.
type ClientInfo struct {
	ID       signin.ClientID `json:"id"`
	Address  keys.Address    `json:"address"`
	Head     signin.Head     `json:"head"`
	Enrolled uint64          `json:"enrolled"`
	LastSeen uint64          `json:"last_seen"`
	Logins   uint64          `json:"logins"`
	Revoked  uint64          `json:"revoked,omitempty"` // time; 0 while live
	Clones   uint64          `json:"clones,omitempty"`  // stale-head attempts refused
	// Pending: enrolled under the approval policy (docs/SPEC.md §11.11) and
	// not yet approved; it gets no token.
	Pending    bool            `json:"pending,omitempty"`
	Approved   uint64          `json:"approved,omitempty"`    // time an enrolled client approved it
	ApprovedBy signin.ClientID `json:"approved_by,omitempty"` // that client (zero: none, or the override)
	Override   uint64          `json:"override,omitempty"`    // time the wallet-signed override let it in
}

// gate is what a wallet login of a client needs besides the wallet
// (docs/SPEC.md §11.11).
type gate uint8

const (
	gateOpen     gate = iota // no approval policy: the wallet is enough
	gateApproval             // a new client waits for an enrolled client's approval
	gateOverride             // the policy holds, and the owner signed the override
)

// loginResult is what a wallet login did to the client.
type loginResult struct {
	rec      *Record
	ren      Renewal
	pending  bool // the client waits for approval: no token
	override bool // the override let it in and revoked the others
	revoked  int  // clients the override revoked
}

type link struct {
	Head    signin.Head `json:"head"`
	Renewal [32]byte    `json:"renewal"` // RenewalCommitment of the secret handed out with Head
}

type client struct {
	Info ClientInfo `json:"info"`
	Cur  link       `json:"cur"`
	Past []link     `json:"past,omitempty"` // newest last, at most pastHeads
}

type clientsFile struct {
	Version int       `json:"version"`
	Clients []*client `json:"clients"`
}

// Clients is the hub's registry of enrolled clients and the heads of their
// login chains. Changes are kept in memory at once and written to Path
// (mode 0600) within FlushInterval by a goroutine that Start runs and
// Close stops after a last write. Head advances a crash in between forgets
// are in the login log, which the Service replays on start (replay);
// revocations and approvals, which the log does not hold, are written
// before they return.
type Clients struct {
	path    string
	flushMu sync.Mutex // serializes Flush

	mu    sync.RWMutex
	m     map[signin.ClientID]*client
	dirty bool

	stop chan struct{}
	done chan struct{}
}

// OpenClients loads the registry at path ("" keeps it in memory only).
func OpenClients(path string) (*Clients, error) {
	c := &Clients{path: path, m: make(map[signin.ClientID]*client)}
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("client registry: %w", err)
	}
	var f clientsFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != clientsVersion {
		return nil, fmt.Errorf("client registry %s: not a version %d registry", path, clientsVersion)
	}
	for _, cl := range f.Clients {
		c.m[cl.Info.ID] = cl
	}
	return c, nil
}

// Start runs the flusher.
func (c *Clients) Start() {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				c.Flush()
			}
		}
	}()
}

// Close stops the flusher and writes what changed.
func (c *Clients) Close() error {
	if c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
	}
	return c.Flush()
}

// Flush writes the registry if it changed.
func (c *Clients) Flush() error {
	if c.path == "" {
		return nil
	}
	// One write at a time, each of a snapshot taken after the previous
	// write: a later state is never overwritten by an earlier one.
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	// Copy under the lock, encode outside it: logins do not wait for the
	// JSON encoding of the whole registry.
	f := clientsFile{Version: clientsVersion, Clients: make([]*client, 0, len(c.m))}
	for _, cl := range c.m {
		cp := *cl
		cp.Past = slices.Clone(cl.Past)
		f.Clients = append(f.Clients, &cp)
	}
	c.dirty = false
	c.mu.Unlock()
	data, err := json.Marshal(f)
	if err == nil {
		err = atomicfile.Write(c.path, data, 0o600)
	}
	if err != nil {
		c.mu.Lock()
		c.dirty = true
		c.mu.Unlock()
		return fmt.Errorf("write client registry: %w", err)
	}
	return nil
}

// CloneError is ErrClientClone with the client concerned.
type CloneError struct {
	Client  signin.ClientID
	Address keys.Address
}

func (e *CloneError) Error() string {
	return fmt.Sprintf("%v (client %s of %s)", ErrClientClone, e.Client, e.Address.Hex())
}

func (e *CloneError) Unwrap() error { return ErrClientClone }

// advance appends a record to cl's chain; the caller holds mu.
func (c *Clients) advance(cl *client, kind RecordKind, msg [32]byte, now time.Time) (*Record, Renewal, error) {
	ren, err := newRenewal()
	if err != nil {
		return nil, Renewal{}, err
	}
	rec := &Record{Kind: kind, Address: cl.Info.Address, Client: cl.Info.ID, Prev: cl.Cur.Head,
		Time: uint64(now.Unix()), Message: msg, Renewal: RenewalCommitment(ren)}
	c.extend(cl, rec)
	return rec, ren, nil
}

// extend makes rec cl's newest link, keeping the superseded one among its
// past heads; the caller holds mu.
func (c *Clients) extend(cl *client, rec *Record) {
	if !cl.Cur.Head.IsZero() {
		cl.Past = append(cl.Past, cl.Cur)
		if len(cl.Past) > pastHeads {
			cl.Past = cl.Past[len(cl.Past)-pastHeads:]
		}
	}
	cl.Cur = link{Head: rec.Hash(), Renewal: rec.Renewal}
	cl.Info.Head, cl.Info.LastSeen = cl.Cur.Head, rec.Time
	cl.Info.Logins++
	c.dirty = true
}

// undo steps back the advance that made rec, if it is still the client's
// latest: the record could not be logged, so the login it was for fails
// and the client keeps its previous head.
func (c *Clients) undo(rec *Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.m[rec.Client]
	if !ok || cl.Cur.Head != rec.Hash() {
		return
	}
	if rec.Kind == KindEnroll {
		delete(c.m, rec.Client)
	} else {
		cl.Cur = cl.Past[len(cl.Past)-1]
		cl.Past = cl.Past[:len(cl.Past)-1]
		cl.Info.Head = cl.Cur.Head
		cl.Info.Logins--
	}
	c.dirty = true
}

// login records a wallet-verified login by addr on client cid presenting
// head. An unknown client with the zero head is enrolled. A known client
// must present its current head; any other is a copy (CloneError).
func (c *Clients) login(addr keys.Address, cid signin.ClientID, head signin.Head, msg [32]byte, now time.Time, g gate) (*loginResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res, err := c.loginLocked(addr, cid, head, msg, now)
	if err != nil {
		return nil, err
	}
	cl := c.m[cid]
	switch {
	case g == gateOverride && (res.rec.Kind == KindEnroll || cl.Info.Pending):
		// The owner's wallet alone lets this client in: every other live
		// client of the address is revoked (the lost ones, or the owner's
		// own if a thief holds the words: either way, loud).
		cl.Info.Pending, cl.Info.Override = false, uint64(now.Unix())
		for _, other := range c.m {
			if other != cl && other.Info.Address == addr && other.Info.Revoked == 0 {
				other.Info.Revoked = uint64(now.Unix())
				res.revoked++
			}
		}
		res.override = true
	case g == gateApproval && res.rec.Kind == KindEnroll:
		cl.Info.Pending = true
	case g != gateApproval && cl.Info.Pending:
		cl.Info.Pending = false // the policy was lifted
	}
	res.pending = cl.Info.Pending
	return res, nil
}

func (c *Clients) loginLocked(addr keys.Address, cid signin.ClientID, head signin.Head, msg [32]byte, now time.Time) (*loginResult, error) {
	cl, ok := c.m[cid]
	if !ok {
		if !head.IsZero() {
			return nil, fmt.Errorf("%w: client %s presents a head but this hub never enrolled it; log in as a new client", ErrUnknownClient, cid)
		}
		if len(c.m) >= MaxClients {
			return nil, fmt.Errorf("%w: client registry full", ErrBusy)
		}
		// At the cap, the client of addr seen longest ago is revoked to make
		// room: enrolling needs the wallet, which could revoke it anyway.
		var live []*client
		for _, other := range c.m {
			if other.Info.Address == addr && other.Info.Revoked == 0 {
				live = append(live, other)
			}
		}
		if len(live) >= MaxClientsPerAddress {
			oldest := slices.MinFunc(live, func(a, b *client) int { return cmp.Compare(a.Info.LastSeen, b.Info.LastSeen) })
			oldest.Info.Revoked = uint64(now.Unix())
		}
		cl = &client{Info: ClientInfo{ID: cid, Address: addr, Enrolled: uint64(now.Unix())}}
		rec, ren, err := c.advance(cl, KindEnroll, msg, now)
		if err != nil {
			return nil, err
		}
		c.m[cid] = cl
		return &loginResult{rec: rec, ren: ren}, nil
	}
	if cl.Info.Address != addr {
		return nil, fmt.Errorf("%w: client %s", ErrClientAddress, cid)
	}
	if cl.Info.Revoked != 0 {
		return nil, fmt.Errorf("%w: client %s; log in as a new client", ErrClientRevoked, cid)
	}
	if subtle.ConstantTimeCompare(head[:], cl.Cur.Head[:]) != 1 {
		cl.Info.Clones++
		c.dirty = true
		return nil, &CloneError{Client: cid, Address: addr}
	}
	rec, ren, err := c.advance(cl, KindLogin, msg, now)
	if err != nil {
		return nil, err
	}
	return &loginResult{rec: rec, ren: ren}, nil
}

// approve lets addr's pending client target in, on the word of its
// enrolled client by (docs/SPEC.md §11.11).
func (c *Clients) approve(addr keys.Address, by, target signin.ClientID, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if by == target {
		return fmt.Errorf("%w (client %s)", ErrSelfApproval, target)
	}
	a, ok := c.m[by]
	if !ok || a.Info.Address != addr || a.Info.Revoked != 0 || a.Info.Pending {
		return fmt.Errorf("%w: client %s is not an enrolled, approved client of %s", ErrNotApprover, by, addr.Hex())
	}
	t, ok := c.m[target]
	switch {
	case !ok || t.Info.Address != addr:
		return fmt.Errorf("%w: %s has no client %s", ErrUnknownClient, addr.Hex(), target)
	case t.Info.Revoked != 0:
		return fmt.Errorf("%w: client %s", ErrClientRevoked, target)
	case !t.Info.Pending:
		return fmt.Errorf("%w: client %s", ErrNotPending, target)
	}
	t.Info.Pending, t.Info.Approved, t.Info.ApprovedBy = false, uint64(now.Unix()), by
	c.dirty = true
	return nil
}

// approveAndFlush is approve, written before it returns.
func (c *Clients) approveAndFlush(addr keys.Address, by, target signin.ClientID, now time.Time) error {
	if err := c.approve(addr, by, target, now); err != nil {
		return err
	}
	return c.Flush()
}

// renew advances client cid's chain on its renewal secret and head. A pair
// (head, secret) the client held before is a copy's (CloneError); any other
// pair is ErrRenewalInvalid.
func (c *Clients) renew(cid signin.ClientID, head signin.Head, ren Renewal, now time.Time) (*Record, Renewal, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.m[cid]
	if !ok {
		return nil, Renewal{}, fmt.Errorf("%w: client %s", ErrUnknownClient, cid)
	}
	if cl.Info.Revoked != 0 {
		return nil, Renewal{}, fmt.Errorf("%w: client %s", ErrClientRevoked, cid)
	}
	commit := RenewalCommitment(ren)
	match := func(l link) bool {
		return subtle.ConstantTimeCompare(l.Head[:], head[:])&subtle.ConstantTimeCompare(l.Renewal[:], commit[:]) == 1
	}
	if match(cl.Cur) {
		if cl.Info.Pending {
			return nil, Renewal{}, fmt.Errorf("%w: client %s", ErrPendingApproval, cid)
		}
		return c.advance(cl, KindRenew, [32]byte{}, now)
	}
	if slices.ContainsFunc(cl.Past, match) {
		cl.Info.Clones++
		c.dirty = true
		return nil, Renewal{}, &CloneError{Client: cid, Address: cl.Info.Address}
	}
	return nil, Renewal{}, ErrRenewalInvalid
}

// Live reports whether client cid is enrolled for addr and not revoked: the
// per-request check behind every access token.
func (c *Clients) Live(addr keys.Address, cid signin.ClientID) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cl, ok := c.m[cid]
	switch {
	case !ok:
		return fmt.Errorf("%w: client %s", ErrUnknownClient, cid)
	case cl.Info.Address != addr:
		return fmt.Errorf("%w: client %s", ErrClientAddress, cid)
	case cl.Info.Revoked != 0:
		return fmt.Errorf("%w: client %s", ErrClientRevoked, cid)
	case cl.Info.Pending:
		return fmt.Errorf("%w: client %s", ErrPendingApproval, cid)
	}
	return nil
}

// List returns addr's clients, oldest enrollment first.
func (c *Clients) List(addr keys.Address) []ClientInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []ClientInfo
	for _, cl := range c.m {
		if cl.Info.Address == addr {
			out = append(out, cl.Info)
		}
	}
	slices.SortFunc(out, func(a, b ClientInfo) int {
		if a.Enrolled != b.Enrolled {
			return int(int64(a.Enrolled) - int64(b.Enrolled))
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out
}

// Revoke ends addr's client cid: its tokens are refused from the next
// request on and it can neither renew nor log in again.
//
// The registry is written before Revoke returns: a revocation is never
// among what a crash forgets.
func (c *Clients) Revoke(addr keys.Address, cid signin.ClientID, now time.Time) error {
	c.mu.Lock()
	cl, ok := c.m[cid]
	if !ok || cl.Info.Address != addr {
		c.mu.Unlock()
		return fmt.Errorf("%w: %s has no client %s", ErrUnknownClient, addr.Hex(), cid)
	}
	if cl.Info.Revoked == 0 {
		cl.Info.Revoked = uint64(now.Unix())
		c.dirty = true
	}
	c.mu.Unlock()
	return c.Flush()
}

// replay applies a login-log record the registry may have missed (a
// crash within FlushInterval of the login): a new client's enrollment, or
// the next link of a known client's chain. Anything else — a record the
// registry already has, one of a revoked client, one that does not follow
// the client's head — changes nothing. A client enrolled by replay under
// the approval policy (pending) is pending again: the record does not say
// whether it was approved.
func (c *Clients) replay(rec *Record, pending bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.m[rec.Client]
	if !ok {
		if rec.Kind != KindEnroll {
			return
		}
		cl = &client{Info: ClientInfo{ID: rec.Client, Address: rec.Address, Enrolled: rec.Time, Pending: pending}}
		c.m[rec.Client] = cl
	} else if rec.Kind == KindEnroll || cl.Info.Revoked != 0 || cl.Info.Address != rec.Address || cl.Cur.Head != rec.Prev {
		return
	}
	c.extend(cl, rec)
}
