package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// Nonce is GET /auth/nonce's answer: a single-use nonce and the fields the
// sign-in message must carry for this hub (docs/SPEC.md §11.1).
type Nonce struct {
	Nonce     string `json:"nonce"`
	Expires   string `json:"expires"`
	Domain    string `json:"domain"`
	URI       string `json:"uri"`
	ChainID   uint64 `json:"chain_id"`
	Statement string `json:"statement"`
}

// LoginRequest is POST /auth/login's body.
type LoginRequest struct {
	Message   string `json:"message"`
	Signature string `json:"signature"`
	Client    string `json:"client"`
	Head      string `json:"head,omitempty"` // absent for a new client
	// Cookie: a browser's login; the access token is set as the session
	// cookie (HttpOnly) instead of being sent in the body (§11.9).
	Cookie bool `json:"cookie,omitempty"`
}

// RenewRequest is POST /auth/renew's body.
type RenewRequest struct {
	Client  string `json:"client"`
	Head    string `json:"head"`
	Renewal string `json:"renewal"`
	Cookie  bool   `json:"cookie,omitempty"` // set the token as the session cookie (§11.9)
}

// Session is what a login or a renewal answers. Keep Head and Renewal with
// the client: the next login or renewal needs them (docs/SPEC.md §11.4).
type Session struct {
	// AccessToken is absent when the token was set as the session cookie,
	// and AccessToken, TokenType and Expires while Pending.
	AccessToken string `json:"access_token,omitempty"`
	TokenType   string `json:"token_type,omitempty"` // "Bearer", or "Cookie" when the token is the session cookie
	Expires     string `json:"expires,omitempty"`
	Address     string `json:"address"`
	Client      string `json:"client"`
	Head        string `json:"head"`
	Renewal     string `json:"renewal"`
	Enrolled    bool   `json:"enrolled"`
	// Pending: the client is enrolled under its owner's approval policy and
	// waits for an enrolled client's approval (camchain clients approve);
	// once approved it renews with Head and Renewal (docs/SPEC.md §11.11).
	Pending bool `json:"pending,omitempty"`
}

// Whoami is GET /auth/session's answer.
type Whoami struct {
	Address string `json:"address"`
	Client  string `json:"client"`
	Expires string `json:"expires"`
}

// ClientInfo is one enrolled client of the caller's address.
type ClientInfo struct {
	Client   string `json:"client"`
	Enrolled string `json:"enrolled"`
	LastSeen string `json:"last_seen"`
	Logins   uint64 `json:"logins"`
	Revoked  string `json:"revoked,omitempty"`
	Clones   uint64 `json:"clone_attempts"`
	Current  bool   `json:"current"` // the client this request came from
	Pending  bool   `json:"pending,omitempty"`
	Approved string `json:"approved,omitempty"`    // when an enrolled client approved it
	By       string `json:"approved_by,omitempty"` // that client
	Override string `json:"override,omitempty"`    // when the wallet's override let it in
}

// ApprovedClient is POST /auth/clients/{client}/approve's answer.
type ApprovedClient struct {
	Client   string `json:"client"`
	Approved bool   `json:"approved"`
}

// ApproveClient approves a pending client of the caller's address.
func (c *Client) ApproveClient(ctx context.Context, client string) error {
	return c.do(ctx, http.MethodPost, "/auth/clients/"+url.PathEscape(client)+"/approve", nil, Empty{}, nil)
}

// RevokedClient is POST /auth/clients/{client}/revoke's answer.
type RevokedClient struct {
	Client  string `json:"client"`
	Revoked bool   `json:"revoked"`
}

// Ticket is POST /auth/ticket's answer: a single-use WebSocket ticket
// (docs/SPEC.md §11.9).
type Ticket struct {
	Ticket  string `json:"ticket"`
	Expires string `json:"expires"`
}

// WSAuth is the first message a client sends on a WebSocket: the ticket,
// or cookie true to use the session cookie the handshake carried.
type WSAuth struct {
	Type   string `json:"type"` // "auth"
	Ticket string `json:"ticket,omitempty"`
	Cookie bool   `json:"cookie,omitempty"`
}

// WSAuthenticated is the hub's first message on a WebSocket once the
// client is authenticated.
type WSAuthenticated struct {
	Type    string `json:"type"` // "authenticated"
	Address string `json:"address"`
	Client  string `json:"client"`
	Expires string `json:"expires"`
}

// LoggedOut is POST /auth/logout's answer.
type LoggedOut struct {
	LoggedOut bool `json:"logged_out"`
}

// DeviceStartRequest is POST /auth/device's body: a browser without a
// wallet asks for a code (docs/SPEC.md §11.8).
type DeviceStartRequest struct {
	Client  string `json:"client"`
	Head    string `json:"head,omitempty"`    // absent for a new client
	Address string `json:"address,omitempty"` // only this wallet may approve
}

// DeviceCode is POST /auth/device's answer. Show Code; keep Request and
// Secret (the secret collects the session and never leaves the browser).
type DeviceCode struct {
	Request  string `json:"request"`
	Code     string `json:"code"`
	Secret   string `json:"secret"`
	Expires  string `json:"expires"`
	Interval uint64 `json:"interval"` // seconds between polls
}

// DeviceInfo is GET /auth/device/{code}'s answer: what the approver is
// shown, and the fields its approval must carry.
type DeviceInfo struct {
	Code            string `json:"code"`
	Request         string `json:"request"`
	Hub             string `json:"hub"`
	HubAddress      string `json:"hub_address"`
	ChainID         uint64 `json:"chain_id"`
	DeviceOrigin    string `json:"device_origin"`
	DeviceIP        string `json:"device_ip"`
	DeviceUserAgent string `json:"device_user_agent"`
	Address         string `json:"address,omitempty"` // the wallet the device asked for
	Created         string `json:"created"`
	Expires         string `json:"expires"`
}

// DeviceApproveRequest is POST /auth/device/{code}/approve's body.
type DeviceApproveRequest struct {
	Message   string `json:"message"`
	Signature string `json:"signature"`
}

// DeviceApproved is POST /auth/device/{code}/approve's answer.
type DeviceApproved struct {
	Approved bool   `json:"approved"`
	Address  string `json:"address"`
}

// DeviceTokenRequest is POST /auth/device/token's body.
type DeviceTokenRequest struct {
	Request string `json:"request"`
	Secret  string `json:"secret"`
	Cookie  bool   `json:"cookie,omitempty"`
}

// DeviceToken is POST /auth/device/token's answer: status "pending" until
// the code is approved, then "approved" with the session (once).
type DeviceToken struct {
	Status  string   `json:"status"`
	Session *Session `json:"session,omitempty"`
}

// Empty is an empty JSON object (a POST without parameters).
type Empty struct{}

// SigninStatement is the statement the CLI puts in its sign-in messages.
const SigninStatement = "Sign in to camchain."

// Login signs in to the hub as the holder of addr: it fetches a nonce,
// writes the EIP-4361 message the hub asks for, has sign sign it
// (personal_sign) and posts it with the client's id and head (the zero head
// for a new client).
func (c *Client) Login(ctx context.Context, addr keys.Address, sign func(msg []byte) (keys.Signature, error), client signin.ClientID, head signin.Head) (*Session, error) {
	return c.LoginWith(ctx, addr, sign, client, head, nil)
}

// LoginWith is Login with resources in the sign-in message, e.g.
// auth.OverrideResource, the owner's override of the approval policy.
func (c *Client) LoginWith(ctx context.Context, addr keys.Address, sign func(msg []byte) (keys.Signature, error), client signin.ClientID, head signin.Head, resources []string) (*Session, error) {
	var n Nonce
	if err := c.do(ctx, http.MethodGet, "/auth/nonce", nil, nil, &n); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	m := &signin.Message{Domain: n.Domain, Address: addr, Statement: n.Statement, URI: n.URI,
		Version: signin.SIWEVersion, ChainID: n.ChainID, Nonce: n.Nonce,
		IssuedAt: now.Format(time.RFC3339), ExpirationTime: now.Add(signin.DefaultNonceTTL).Format(time.RFC3339),
		Resources: resources}
	text := m.String()
	if _, err := signin.ParseMessage(text); err != nil {
		return nil, fmt.Errorf("the hub's nonce answer does not make a valid sign-in message: %w", err)
	}
	sig, err := sign([]byte(text))
	if err != nil {
		return nil, err
	}
	req := LoginRequest{Message: text, Signature: sig.Hex(), Client: client.String()}
	if !head.IsZero() {
		req.Head = head.String()
	}
	var s Session
	return &s, c.do(ctx, http.MethodPost, "/auth/login", nil, req, &s)
}

// Renew exchanges a session's head and renewal secret for a new session.
func (c *Client) Renew(ctx context.Context, s *Session) (*Session, error) {
	var out Session
	return &out, c.do(ctx, http.MethodPost, "/auth/renew", nil, RenewRequest{Client: s.Client, Head: s.Head, Renewal: s.Renewal}, &out)
}

// Whoami returns who the client's token speaks for.
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var w Whoami
	return &w, c.do(ctx, http.MethodGet, "/auth/session", nil, nil, &w)
}

// Clients lists the caller's enrolled clients.
func (c *Client) Clients(ctx context.Context) ([]ClientInfo, error) {
	var l List[ClientInfo]
	return l.Items, c.do(ctx, http.MethodGet, "/auth/clients", nil, nil, &l)
}

// RevokeClient revokes one of the caller's clients.
func (c *Client) RevokeClient(ctx context.Context, client string) error {
	return c.do(ctx, http.MethodPost, "/auth/clients/"+url.PathEscape(client)+"/revoke", nil, Empty{}, nil)
}

// renewAhead is how long before its expiry a token is renewed.
const renewAhead = 30 * time.Second

// KeyCredentials log in with a key the process holds (a camera agent's),
// once, as one client, and renew from then on without signing again.
type KeyCredentials struct {
	Key keys.Signer

	mu     sync.Mutex
	hub    string // the session's hub; another hub starts afresh
	client signin.ClientID
	sess   *Session
	exp    time.Time
}

// Token returns a valid access token, logging in or renewing as needed.
func (k *KeyCredentials) Token(ctx context.Context, c *Client) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hub != c.Base() {
		k.hub, k.client, k.sess, k.exp = c.Base(), signin.ClientID{}, nil, time.Time{}
	}
	if k.sess != nil && time.Until(k.exp) > renewAhead {
		return k.sess.AccessToken, nil
	}
	if k.sess != nil && k.sess.Renewal != "" {
		if s, err := c.Renew(ctx, k.sess); err == nil {
			return k.keep(s)
		}
	}
	if k.client.IsZero() {
		cid, err := signin.NewClientID()
		if err != nil {
			return "", err
		}
		k.client = cid
	}
	var head signin.Head
	if k.sess != nil {
		head, _ = signin.ParseHead(k.sess.Head)
	}
	s, err := c.Login(ctx, k.Key.Address(), func(msg []byte) (keys.Signature, error) { return keys.SignText(k.Key, msg) }, k.client, head)
	if err != nil {
		return "", fmt.Errorf("log in to the hub as %s: %w", k.Key.Address().Hex(), err)
	}
	return k.keep(s)
}

func (k *KeyCredentials) keep(s *Session) (string, error) {
	if s.Pending {
		k.sess = s
		return "", fmt.Errorf("client %s of %s is pending approval: an enrolled client must approve it (camchain clients approve %s)", s.Client, s.Address, s.Client)
	}
	exp, err := time.Parse(time.RFC3339, s.Expires)
	if err != nil {
		return "", fmt.Errorf("hub sent a session without a valid expiry: %w", err)
	}
	k.sess, k.exp = s, exp
	return s.AccessToken, nil
}

// Invalidate drops the token; the next Token renews.
func (k *KeyCredentials) Invalidate() {
	k.mu.Lock()
	k.exp = time.Time{}
	k.mu.Unlock()
}

// LoginProof is GET /auth/logins/{record}'s answer: a login record of the
// hub's login log with its inclusion proof in the batch whose root the hub
// committed on the ledger (docs/SPEC.md §11.7). signin.VerifyLoginProof
// checks it from Entry, Index, Path and BatchTx alone.
type LoginProof struct {
	Hash    string     `json:"hash"`   // the record's hash (for a login, the client's head after it)
	Entry   string     `json:"record"` // the encoded record, 0x hex
	Kind    string     `json:"kind"`   // enroll, login, renew or refused
	Address string     `json:"address"`
	Client  string     `json:"client"`
	Time    string     `json:"time"`
	Reason  string     `json:"reason,omitempty"` // a refusal's
	Index   uint64     `json:"index"`
	Path    []string   `json:"path"` // the inclusion proof, leaf to root
	Hub     string     `json:"hub"`
	ChainID uint64     `json:"chain_id"`
	Batch   LoginBatch `json:"batch"`
	BatchTx string     `json:"batch_tx"` // the LoginBatch transaction, 0x hex wire bytes
}

// LoginBatch is a committed batch of login records as the ledger has it.
type LoginBatch struct {
	Seq         uint64 `json:"seq"`
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	Size        uint64 `json:"size"`
	Root        string `json:"root"`
	Unverified  uint64 `json:"unverified"` // refusals counted, not recorded
	TxHash      string `json:"tx_hash"`
	Height      uint64 `json:"height"`
}

// LoginRecord fetches a login record and its proof.
func (c *Client) LoginRecord(ctx context.Context, hash string) (*LoginProof, error) {
	var p LoginProof
	return &p, c.do(ctx, http.MethodGet, "/auth/logins/"+url.PathEscape(hash), nil, nil, &p)
}
