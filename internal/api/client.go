package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/apitls"
)

// MaxResponseBytes caps what the client reads from a hub.
const MaxResponseBytes = 4 << 20

// Client talks to a hub's API.
type Client struct {
	base  *url.URL
	http  *http.Client
	creds Credentials
	pin   apitls.Fingerprint // the hub certificate pinned, if any
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Credentials give a Client its access token. Token returns a valid one
// (logging in or renewing as needed); Invalidate drops a token the hub
// refused, so the next Token gets a fresh one.
type Credentials interface {
	Token(ctx context.Context, c *Client) (string, error)
	Invalidate()
}

// WithCredentials makes every request carry a token from creds. A request
// the hub answers 401 is retried once with a fresh token.
func (c *Client) WithCredentials(creds Credentials) *Client {
	c.creds = creds
	return c
}

// StaticToken is Credentials holding one token (tests, scripts).
type StaticToken string

// Token returns the token.
func (t StaticToken) Token(context.Context, *Client) (string, error) { return string(t), nil }

// Invalidate does nothing: a static token cannot be refreshed.
func (StaticToken) Invalidate() {}

// NewClient returns a client for the hub at base ("http://127.0.0.1:8080").
// An https URL may carry the fingerprint of the hub's certificate as its
// fragment, "https://hub:8443#sha256=<64 hex digits>" (what the CLI hands
// a camera at pairing): the client then pins it (WithTLSPin). A fragment
// never leaves the client.
func NewClient(base string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hub URL %q: want http(s)://host:port", base)
	}
	frag := u.Fragment
	u.Fragment, u.RawFragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	c := &Client{base: u, http: &http.Client{Timeout: 60 * time.Second}}
	if frag != "" {
		hex, ok := strings.CutPrefix(frag, pinFragment)
		if !ok || u.Scheme != "https" {
			return nil, fmt.Errorf("hub URL %q: the only fragment it may carry is %s<certificate fingerprint>, on https", base, pinFragment)
		}
		fp, err := apitls.ParseFingerprint(hex)
		if err != nil {
			return nil, fmt.Errorf("hub URL %q: %w", base, err)
		}
		c.WithTLSPin(fp)
	}
	return c, nil
}

// pinFragment starts a hub URL's fragment that names its certificate.
const pinFragment = "sha256="

// PinnedURL is the hub URL with the pinned certificate's fingerprint as
// its fragment, for another program that must pin it too (a camera, at
// pairing); the plain URL if nothing is pinned.
func (c *Client) PinnedURL() string {
	if c.pin.IsZero() {
		return c.Base()
	}
	return c.Base() + "#" + pinFragment + c.pin.String()
}

// Pin is the hub certificate's fingerprint the client pins (zero: none).
func (c *Client) Pin() apitls.Fingerprint { return c.pin }

// WithTLSPin makes the client accept exactly the hub certificate whose
// SHA-256 fingerprint is pin (docs/SPEC.md §11.10), and refuse any other
// with an *apitls.PinError, whoever signed it.
func (c *Client) WithTLSPin(pin apitls.Fingerprint) *Client {
	c.pin = pin
	c.http.Transport = c.transport()
	return c
}

// WithDialer makes the client open its connections — requests and
// playback sockets — with dial instead of the system's network: a tailnet
// node's Dial, say (docs/SPEC.md §11.12), with no proxy between. A pin
// stays.
func (c *Client) WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *Client {
	c.dial = dial
	c.http.Transport = c.transport()
	return c
}

func (c *Client) transport() *http.Transport {
	t := &http.Transport{Proxy: http.ProxyFromEnvironment,
		TLSHandshakeTimeout: 10 * time.Second, IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 4}
	if !c.pin.IsZero() {
		t.TLSClientConfig = apitls.PinnedConfig(c.pin)
	}
	if c.dial != nil {
		t.Proxy, t.DialContext = nil, c.dial
	}
	return t
}

// HTTPClient is the client's HTTP client (its pin and dialer), for a
// protocol on top of the API's (the playback socket, package playconn).
func (c *Client) HTTPClient() *http.Client { return c.http }

// Token returns the access token c's credentials give ("" without
// credentials), as a request carries it.
func (c *Client) Token(ctx context.Context) (string, error) {
	if c.creds == nil {
		return "", nil
	}
	return c.creds.Token(ctx, c)
}

// Base returns the hub URL.
func (c *Client) Base() string { return c.base.String() }

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	err := c.doOnce(ctx, method, path, q, body, out)
	if c.creds != nil && CodeOf(err) == ErrUnauthenticated && !isPublic(method, path) {
		c.creds.Invalidate()
		err = c.doOnce(ctx, method, path, q, body, out)
	}
	return err
}

// isPublic: the routes served without a token (docs/openapi.yaml) are sent
// without one.
func isPublic(method, path string) bool {
	switch path {
	case "/status", "/link", "/auth/nonce":
		return method == http.MethodGet
	case "/auth/login", "/auth/renew", "/auth/logout", "/auth/device", "/auth/device/token", "/txs", "/pairings":
		return method == http.MethodPost
	}
	// The device flow's per-code routes: the approval signature is the
	// authentication.
	if rest, ok := strings.CutPrefix(path, "/auth/device/"); ok && !strings.Contains(rest, "/") {
		return method == http.MethodGet
	}
	if rest, ok := strings.CutSuffix(path, "/approve"); ok && strings.HasPrefix(rest, "/auth/device/") {
		return method == http.MethodPost
	}
	return false
}

// authorize puts the access token on req (not on the login endpoints).
func (c *Client) authorize(ctx context.Context, req *http.Request, path string) error {
	if c.creds == nil || isPublic(req.Method, path) {
		return nil
	}
	tok, err := c.creds.Token(ctx, c)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// url is the hub URL of an API path whose segments the caller escaped
// (url.PathEscape), so that an escaped "/" stays one segment.
func (c *Client) url(path string) (url.URL, error) {
	u := *c.base
	raw := u.EscapedPath() + Prefix + path
	p, err := url.PathUnescape(raw)
	if err != nil {
		return u, fmt.Errorf("API path %q: %w", path, err)
	}
	u.Path, u.RawPath = p, raw
	return u, nil
}

func (c *Client) doOnce(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u, err := c.url(path)
	if err != nil {
		return err
	}
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.authorize(ctx, req, path); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	var pe *apitls.PinError
	if errors.As(err, &pe) {
		return fmt.Errorf("hub at %s: %w", c.base, pe)
	}
	if err != nil {
		return fmt.Errorf("cannot reach the hub at %s (is camchaind running? use --hub or CAMCHAIN_HUB): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := ReadLimited(resp.Body, resp.ContentLength, MaxResponseBytes)
	if err != nil {
		return fmt.Errorf("read hub response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil {
			return eb.Error
		}
		return fmt.Errorf("hub answered %s for %s %s", resp.Status, method, u.Path)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("hub sent a malformed response to %s: %w", u.Path, err)
	}
	return nil
}

// ReadLimited reads r to its end or to limit bytes, whichever comes first.
// size, when known and within the limit (a Content-Length), sizes the
// buffer at once, where io.ReadAll grows it from 512 bytes by copying.
func ReadLimited(r io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		return io.ReadAll(io.LimitReader(r, limit))
	}
	lr := io.LimitedReader{R: r, N: limit}
	buf := make([]byte, 0, size+1) // +1: the read that finds the end needs room
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // longer than announced: grow
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// Status returns the hub's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	return &s, c.do(ctx, http.MethodGet, "/status", nil, nil, &s)
}

// Validators returns the ledger's validator set and open proposals.
func (c *Client) Validators(ctx context.Context) (*ValidatorSet, error) {
	var v ValidatorSet
	return &v, c.do(ctx, http.MethodGet, "/validators", nil, nil, &v)
}

// Device returns a camera's record; an *Error with ErrNotFound if unknown.
func (c *Client) Device(ctx context.Context, camera string) (*Device, error) {
	var d Device
	return &d, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera), nil, nil, &d)
}

// CameraStatus returns a camera's state now (GET /devices/{camera}/status).
func (c *Client) CameraStatus(ctx context.Context, camera string) (*CameraStatus, error) {
	var s CameraStatus
	return &s, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/status", nil, nil, &s)
}

// Grants returns a camera's grants.
func (c *Client) Grants(ctx context.Context, camera string) ([]Grant, error) {
	var l List[Grant]
	return l.Items, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/grants", nil, nil, &l)
}

// DevicesOf returns the cameras an address owns.
func (c *Client) DevicesOf(ctx context.Context, owner string) ([]Device, error) {
	var l List[Device]
	return l.Items, c.do(ctx, http.MethodGet, "/owners/"+url.PathEscape(owner)+"/devices", nil, nil, &l)
}

// ViewerDevices returns the cameras of this hub that viewer may watch (a
// live grant).
func (c *Client) ViewerDevices(ctx context.Context, viewer string) ([]Device, error) {
	var l List[Device]
	return l.Items, c.do(ctx, http.MethodGet, "/viewers/"+url.PathEscape(viewer)+"/devices", nil, nil, &l)
}

// Checkpoints lists a camera's checkpoints (epoch < 0: the current epoch).
func (c *Client) Checkpoints(ctx context.Context, camera string, epoch int64, from uint64, limit int) (List[Checkpoint], error) {
	q := pageQuery(epoch, from, limit)
	var l List[Checkpoint]
	return l, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/checkpoints", q, nil, &l)
}

// AuditQuery selects audit events.
type AuditQuery struct {
	Camera    string
	Principal string
	Before    uint64
	Limit     int
}

// Audit lists audit events, newest first.
func (c *Client) Audit(ctx context.Context, aq AuditQuery) (List[Event], error) {
	q := url.Values{}
	if aq.Camera != "" {
		q.Set("camera", aq.Camera)
	}
	if aq.Principal != "" {
		q.Set("principal", aq.Principal)
	}
	if aq.Before > 0 {
		q.Set("before", strconv.FormatUint(aq.Before, 10))
	}
	if aq.Limit > 0 {
		q.Set("limit", strconv.Itoa(aq.Limit))
	}
	var l List[Event]
	return l, c.do(ctx, http.MethodGet, "/audit", q, nil, &l)
}

// Tx looks a committed transaction up by hash.
func (c *Client) Tx(ctx context.Context, hash string) (*TxResult, error) {
	var r TxResult
	return &r, c.do(ctx, http.MethodGet, "/txs/"+url.PathEscape(hash), nil, nil, &r)
}

// NonceUse returns the committed transaction that spent signer's nonce.
func (c *Client) NonceUse(ctx context.Context, signer string, nonce uint64) (*NonceUse, error) {
	var r NonceUse
	return &r, c.do(ctx, http.MethodGet, "/nonces/"+url.PathEscape(signer)+"/"+strconv.FormatUint(nonce, 10), nil, nil, &r)
}

// ViewingKey returns account's registered viewing key as the hub reports
// it. The caller checks the signed transaction in it
// (tx.VerifyViewingKey).
func (c *Client) ViewingKey(ctx context.Context, account string) (*ViewingKey, error) {
	var r ViewingKey
	return &r, c.do(ctx, http.MethodGet, "/viewing-keys/"+url.PathEscape(account), nil, nil, &r)
}

// Envelopes returns the camera's content-key envelopes of epoch from
// serial from on, at most limit (SPEC §17.5).
func (c *Client) Envelopes(ctx context.Context, camera string, epoch, from uint64, limit int) (*List[Envelope], error) {
	var r List[Envelope]
	q := url.Values{"epoch": {strconv.FormatUint(epoch, 10)}, "from": {strconv.FormatUint(from, 10)}, "limit": {strconv.Itoa(limit)}}
	return &r, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/envelopes", q, nil, &r)
}

// ErrNotTheTx: asked for a transaction by its hash, the hub answered with
// other bytes, or with another hash.
var ErrNotTheTx = errors.New("the hub answered with another transaction than the one asked for")

// UploadHistory stores a history envelope (SPEC §17.6) on the hub; the
// owner only.
func (c *Client) UploadHistory(ctx context.Context, camera string, wire []byte) (*HistoryEnvelope, error) {
	var r HistoryEnvelope
	return &r, c.do(ctx, http.MethodPost, "/devices/"+url.PathEscape(camera)+"/history-keys", nil, HistoryUpload{Envelope: "0x" + hex.EncodeToString(wire)}, &r)
}

// HistoryEnvelopes lists the history envelopes of the camera's epoch (< 0:
// its current one) for viewer (empty: the caller's own, or, for the owner,
// all).
func (c *Client) HistoryEnvelopes(ctx context.Context, camera string, epoch int64, viewer string) (*List[HistoryEnvelope], error) {
	q := url.Values{}
	if epoch >= 0 {
		q.Set("epoch", strconv.FormatInt(epoch, 10))
	}
	if viewer != "" {
		q.Set("viewer", viewer)
	}
	var r List[HistoryEnvelope]
	return &r, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/history-keys", q, nil, &r)
}

// Committed looks up the transaction raw (the hash is SHA-256 of its bytes,
// CometBFT's) and returns its result once it is in a committed block. The
// hub's answer must carry exactly raw: a hub cannot vouch for a
// transaction with another that merely shares its hash in its answer.
// Not yet committed is an *Error with code ErrNotFound.
func (c *Client) Committed(ctx context.Context, raw []byte) (*TxResult, error) {
	sum := sha256.Sum256(raw)
	hash := "0x" + hex.EncodeToString(sum[:])
	r, err := c.Tx(ctx, hash)
	if err != nil {
		return nil, err
	}
	got, err := hex.DecodeString(strings.TrimPrefix(r.Tx, "0x"))
	if err != nil || !bytes.Equal(got, raw) || !strings.EqualFold(r.Hash, hash) || r.Height == 0 {
		return nil, fmt.Errorf("%w: asked for %s", ErrNotTheTx, hash)
	}
	return r, nil
}

// Submit sends a signed transaction and waits for its block. A refusal by
// the ledger is returned as an *Error with code ErrRefused and Result set.
func (c *Client) Submit(ctx context.Context, raw []byte) (*TxResult, error) {
	var r TxResult
	err := c.do(ctx, http.MethodPost, "/txs", nil, SubmitRequest{Tx: "0x" + hex.EncodeToString(raw)}, &r)
	return &r, err
}

// Link returns where cameras reach the hub.
func (c *Client) Link(ctx context.Context) (*LinkInfo, error) {
	var l LinkInfo
	return &l, c.do(ctx, http.MethodGet, "/link", nil, nil, &l)
}

// Resync hands an owner-signed resync to the hub, which delivers it at the
// camera's next connect (SPEC §7.2).
func (c *Client) Resync(ctx context.Context, camera string, req ResyncRequest) (*ResyncResult, error) {
	var r ResyncResult
	return &r, c.do(ctx, http.MethodPost, "/devices/"+url.PathEscape(camera)+"/resync", nil, req, &r)
}

// Pair submits a co-signed imprint through the hub, which pins the
// camera's TLS key once the ledger accepts it.
func (c *Client) Pair(ctx context.Context, req PairRequest) (*PairResult, error) {
	var r PairResult
	return &r, c.do(ctx, http.MethodPost, "/pairings", nil, req, &r)
}

// Recordings lists a camera's stored segments (epoch < 0: current).
func (c *Client) Recordings(ctx context.Context, camera string, epoch int64, from uint64, limit int) (*Recordings, error) {
	q := pageQuery(epoch, from, limit)
	var r Recordings
	return &r, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/recordings", q, nil, &r)
}

// Records lists the feed-chain records the hub stores for a camera
// (epoch < 0: current), from seq from, at most limit (0: the hub's default).
func (c *Client) Records(ctx context.Context, camera string, epoch int64, from uint64, limit int) (*RecordList, error) {
	q := pageQuery(epoch, from, limit)
	var r RecordList
	return &r, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/records", q, nil, &r)
}

// pageQuery is the paging of the per-camera lists: epoch < 0 means the
// camera's current epoch, from 0 the start, limit 0 the hub's default.
func pageQuery(epoch int64, from uint64, limit int) url.Values {
	q := url.Values{}
	if epoch >= 0 {
		q.Set("epoch", strconv.FormatInt(epoch, 10))
	}
	if from > 0 {
		q.Set("from", strconv.FormatUint(from, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// TimelineOptions select a window of GET /devices/{camera}/timeline.
type TimelineOptions struct {
	From, To time.Time
	Epoch    int64  // < 0: the camera's current epoch
	Stream   string // "" or "main", "sub"
	Limit    int    // spans per page; 0: the hub's default
}

// Timeline returns one page of a stream's spans, gaps and alarms between
// o.From and o.To; when Next is set, ask again From it.
func (c *Client) Timeline(ctx context.Context, camera string, o TimelineOptions) (*Timeline, error) {
	q := pageQuery(o.Epoch, 0, o.Limit)
	q.Set("from", o.From.UTC().Format(time.RFC3339Nano))
	q.Set("to", o.To.UTC().Format(time.RFC3339Nano))
	if o.Stream != "" {
		q.Set("stream", o.Stream)
	}
	var r Timeline
	return &r, c.do(ctx, http.MethodGet, "/devices/"+url.PathEscape(camera)+"/timeline", q, nil, &r)
}
