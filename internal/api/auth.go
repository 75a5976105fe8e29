package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/auth"
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
}

// RenewRequest is POST /auth/renew's body.
type RenewRequest struct {
	Client  string `json:"client"`
	Head    string `json:"head"`
	Renewal string `json:"renewal"`
}

// Session is what a login or a renewal answers. Keep Head and Renewal with
// the client: the next login or renewal needs them (docs/SPEC.md §11.4).
type Session struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"` // "Bearer"
	Expires     string `json:"expires"`
	Address     string `json:"address"`
	Client      string `json:"client"`
	Head        string `json:"head"`
	Renewal     string `json:"renewal"`
	Enrolled    bool   `json:"enrolled"`
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
}

// RevokedClient is POST /auth/clients/{client}/revoke's answer.
type RevokedClient struct {
	Client  string `json:"client"`
	Revoked bool   `json:"revoked"`
}

// Empty is an empty JSON object (a POST without parameters).
type Empty struct{}

// SigninStatement is the statement the CLI puts in its sign-in messages.
const SigninStatement = "Sign in to camchain."

// Login signs in to the hub as the holder of addr: it fetches a nonce,
// writes the EIP-4361 message the hub asks for, has sign sign it
// (personal_sign) and posts it with the client's id and head (the zero head
// for a new client).
func (c *Client) Login(ctx context.Context, addr keys.Address, sign func(msg []byte) (keys.Signature, error), client auth.ClientID, head auth.Head) (*Session, error) {
	var n Nonce
	if err := c.do(ctx, http.MethodGet, "/auth/nonce", nil, nil, &n); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	m := &auth.Message{Domain: n.Domain, Address: addr, Statement: n.Statement, URI: n.URI,
		Version: auth.SIWEVersion, ChainID: n.ChainID, Nonce: n.Nonce,
		IssuedAt: now.Format(time.RFC3339), ExpirationTime: now.Add(auth.DefaultNonceTTL).Format(time.RFC3339)}
	text := m.String()
	if _, err := auth.ParseMessage(text); err != nil {
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
	client auth.ClientID
	sess   *Session
	exp    time.Time
}

// Token returns a valid access token, logging in or renewing as needed.
func (k *KeyCredentials) Token(ctx context.Context, c *Client) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.hub != c.Base() {
		k.hub, k.client, k.sess, k.exp = c.Base(), auth.ClientID{}, nil, time.Time{}
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
		cid, err := auth.NewClientID()
		if err != nil {
			return "", err
		}
		k.client = cid
	}
	var head auth.Head
	if k.sess != nil {
		head, _ = auth.ParseHead(k.sess.Head)
	}
	s, err := c.Login(ctx, k.Key.Address(), func(msg []byte) (keys.Signature, error) { return keys.SignText(k.Key, msg) }, k.client, head)
	if err != nil {
		return "", fmt.Errorf("log in to the hub as %s: %w", k.Key.Address().Hex(), err)
	}
	return k.keep(s)
}

func (k *KeyCredentials) keep(s *Session) (string, error) {
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
// committed on the ledger (docs/SPEC.md §11.7). auth.VerifyLoginProof
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
