package auth

import (
	"github.com/camchain/camchain/internal/auth/signin"

	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/keys"
)

// The device flow (docs/SPEC.md §11.8) logs in a browser that has no
// wallet: the browser asks for a short code, its owner types the code into
// `camchain login --approve CODE`, which shows what the hub saw of the
// browser and signs an approval with the wallet; the browser, polling with
// a secret only it holds, then collects its session. The code is what a
// person reads and types; the secret is what collects the session, so a
// code read over a shoulder logs in nobody but the browser that showed it.

// DeviceSecret is what the requesting browser presents to collect its
// session (32 random bytes).
type DeviceSecret [32]byte

func (d DeviceSecret) String() string { return hex.EncodeToString(d[:]) }

// ParseDeviceSecret decodes 64 lower-case hex digits.
func ParseDeviceSecret(s string) (DeviceSecret, error) {
	var d DeviceSecret
	if err := decodeFixed(s, d[:]); err != nil {
		return d, fmt.Errorf("%w: device secret: %v", signin.ErrMalformed, err)
	}
	return d, nil
}

func newDeviceCode() (string, error) {
	var b [signin.DeviceCodeChars]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("device code: %w", err)
	}
	for i := range b {
		b[i] = signin.DeviceCodeAlphabet[b[i]&31] // 256 is a multiple of 32: uniform
	}
	return string(b[:4]) + "-" + string(b[4:]), nil
}

// DeviceStart is a browser's request for a code: the client id and head it
// will log in with, optionally the address it wants, and what the hub saw
// of it (filled by the hub, not the browser).
type DeviceStart struct {
	Client    signin.ClientID
	Head      signin.Head
	Address   keys.Address // zero: any wallet may approve
	Origin    string       // the Origin header ("" if none)
	UserAgent string       // the User-Agent header
	IP        netip.Addr
}

// DeviceCode is what the requesting browser gets: the code to show, and
// the id and secret it polls with.
type DeviceCode struct {
	Request  signin.DeviceRequestID
	Code     string
	Secret   DeviceSecret
	Expires  time.Time
	Interval time.Duration
}

// DeviceInfo is what the approver is shown before signing: the approval to
// sign, without the approver's address and time, and the request's life.
type DeviceInfo struct {
	Approval signin.Approval // Address is the address the device asked for, or zero
	Created  time.Time
	Expires  time.Time
}

type deviceState uint8

const (
	devicePending deviceState = iota
	deviceApproved
	deviceCollected
)

type deviceReq struct {
	info    DeviceInfo
	start   DeviceStart
	secret  [32]byte // SHA-256 of the secret
	state   deviceState
	grant   *Grant
	ipKey   string
	expires time.Time
}

// deviceFlows holds the outstanding device requests, bounded in all and
// per client IP.
type deviceFlows struct {
	mu     sync.Mutex
	byCode map[string]*deviceReq
	byID   map[signin.DeviceRequestID]*deviceReq
	perIP  map[string]int
}

func newDeviceFlows() *deviceFlows {
	return &deviceFlows{byCode: map[string]*deviceReq{}, byID: map[signin.DeviceRequestID]*deviceReq{}, perIP: map[string]int{}}
}

// sweep forgets expired requests. The caller holds mu.
func (f *deviceFlows) sweep(now time.Time) {
	for id, r := range f.byID {
		if !now.Before(r.expires) {
			delete(f.byID, id)
			delete(f.byCode, r.info.Approval.Code)
			if f.perIP[r.ipKey]--; f.perIP[r.ipKey] <= 0 {
				delete(f.perIP, r.ipKey)
			}
		}
	}
}

// approvalTemplate is the approval a request needs, without the approver.
func (s *Service) approvalTemplate(code string, id signin.DeviceRequestID, st DeviceStart) signin.Approval {
	return signin.Approval{
		Hub: s.origin.String(), HubAddress: s.cfg.Issuer, ChainID: s.cfg.ChainID,
		Code: code, Request: id,
		DeviceOrigin: signin.DeviceText(st.Origin, signin.MaxDeviceOriginBytes),
		DeviceIP:     st.IP.Unmap(),
		DeviceAgent:  signin.DeviceText(st.UserAgent, signin.MaxDeviceAgentBytes),
		Address:      st.Address,
	}
}

// DeviceStart opens a device request and returns its code and secret.
func (s *Service) DeviceStart(st DeviceStart) (*DeviceCode, error) {
	now := s.cfg.Now()
	var id signin.DeviceRequestID
	var secret DeviceSecret
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("device request: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, fmt.Errorf("device request: %w", err)
	}
	code, err := newDeviceCode()
	if err != nil {
		return nil, err
	}
	f := s.devices
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)
	ipk := ipKey(st.IP)
	if f.perIP[ipk] >= MaxDeviceRequestsPerIP {
		s.count(ErrRateLimited)
		return nil, fmt.Errorf("%w: %d device codes outstanding from this address", ErrRateLimited, MaxDeviceRequestsPerIP)
	}
	if len(f.byID) >= MaxDeviceRequests {
		return nil, fmt.Errorf("%w: too many device codes outstanding", ErrBusy)
	}
	if _, taken := f.byCode[code]; taken { // 2^-40 per outstanding code
		return nil, fmt.Errorf("%w: retry", ErrBusy)
	}
	exp := now.Add(DeviceCodeTTL).Truncate(time.Second)
	r := &deviceReq{
		info:  DeviceInfo{Approval: s.approvalTemplate(code, id, st), Created: now, Expires: exp},
		start: st, secret: sha256.Sum256(secret[:]), ipKey: ipk, expires: exp,
	}
	f.byCode[code], f.byID[id] = r, r
	f.perIP[ipk]++
	return &DeviceCode{Request: id, Code: code, Secret: secret, Expires: exp, Interval: DevicePollInterval}, nil
}

// pendingDevice returns the live, unapproved request of code. The caller holds
// s.devices.mu.
func (s *Service) pendingDevice(code string, now time.Time) (*deviceReq, error) {
	c, err := signin.ParseDeviceCode(code)
	if err != nil {
		return nil, err
	}
	r, ok := s.devices.byCode[c]
	switch {
	case !ok:
		return nil, ErrDeviceUnknown
	case !now.Before(r.expires):
		return nil, ErrDeviceExpired
	case r.state != devicePending:
		return nil, ErrDeviceUsed
	}
	return r, nil
}

// DeviceLookup returns what the approver of code is shown. Unknown codes
// count as failed logins of ip (a code is a secret worth guessing).
func (s *Service) DeviceLookup(code string, ip netip.Addr) (*DeviceInfo, error) {
	now := s.cfg.Now()
	ipk := ipKey(ip)
	if !s.ipLim.allowed(ipk, now) {
		s.count(ErrRateLimited)
		return nil, ErrRateLimited
	}
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	r, err := s.pendingDevice(code, now)
	if err != nil {
		s.count(err)
		s.ipLim.fail(ipk, now)
		return nil, err
	}
	info := r.info
	return &info, nil
}

// DeviceApprove checks a signed approval of code and logs the requesting
// device in as the signer: its login chain advances (or it is enrolled),
// and the session waits for the device to collect it. The request is then
// spent: a second approval, for it or any replay, is ErrDeviceUsed.
func (s *Service) DeviceApprove(code, message string, sig keys.Signature, ip netip.Addr) (keys.Address, error) {
	now := s.cfg.Now()
	ipk := ipKey(ip)
	if !s.ipLim.allowed(ipk, now) {
		s.count(ErrRateLimited)
		return keys.Address{}, ErrRateLimited
	}
	failIP := func(err error) (keys.Address, error) {
		s.count(err)
		s.ipLim.fail(ipk, now)
		return keys.Address{}, err
	}
	a, err := signin.ParseApproval(message)
	if err != nil {
		return failIP(err)
	}
	digest := keys.TextDigest([]byte(message))
	signer, err := keys.Recover(digest, sig)
	if err != nil {
		return failIP(fmt.Errorf("%w: %v", ErrBadSignature, err))
	}
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	r, err := s.pendingDevice(code, now)
	if err != nil {
		return failIP(err)
	}
	if err := a.Check(r.info.Approval, signer, DeviceCodeTTL, now); err != nil {
		return failIP(err)
	}
	// The wallet's approval is a wallet login: under the owner's approval
	// policy the device waits for an enrolled client, as any new client.
	gt, err := s.gate(signer, nil)
	if err != nil {
		return failIP(err)
	}
	res, err := s.clients.login(signer, r.start.Client, r.start.Head, digest, now, gt)
	if err != nil {
		s.alarmClone(err, now)
		s.cfg.Events(Event{Kind: EventRefused, Address: signer, Client: r.start.Client, Detail: "device approval: " + err.Error(), At: now})
		return failIP(err)
	}
	g, err := s.grant(res, now)
	if err != nil {
		return keys.Address{}, err
	}
	r.state, r.grant = deviceApproved, g
	return signer, nil
}

// DevicePoll is the requesting device collecting its session: ErrDevicePending
// until the code is approved, then the session, once. A wrong secret is
// ErrDeviceUnknown and counts as a failed login of ip.
func (s *Service) DevicePoll(id signin.DeviceRequestID, secret DeviceSecret, ip netip.Addr) (*Grant, error) {
	now := s.cfg.Now()
	ipk := ipKey(ip)
	if !s.ipLim.allowed(ipk, now) {
		s.count(ErrRateLimited)
		return nil, ErrRateLimited
	}
	s.devices.mu.Lock()
	defer s.devices.mu.Unlock()
	r, ok := s.devices.byID[id]
	sum := sha256.Sum256(secret[:])
	if !ok || subtle.ConstantTimeCompare(sum[:], r.secret[:]) != 1 {
		s.count(ErrDeviceUnknown)
		s.ipLim.fail(ipk, now)
		return nil, ErrDeviceUnknown
	}
	switch {
	case !now.Before(r.expires):
		return nil, ErrDeviceExpired
	case r.state == devicePending:
		return nil, ErrDevicePending
	case r.state == deviceCollected:
		return nil, ErrDeviceUsed
	}
	g := r.grant
	r.state, r.grant = deviceCollected, nil
	return g, nil
}
