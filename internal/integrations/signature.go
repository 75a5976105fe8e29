package integrations

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/keys"
)

// Webhook signatures (docs/SPEC.md §13.3). Each request carries
//
//	Camchain-Event:          the event id
//	Camchain-Timestamp:      Unix seconds when this attempt was signed
//	Camchain-Hub:            the hub's address (EIP-55)
//	Camchain-Signature-Hmac: hex HMAC-SHA256(secret, signed bytes)
//	Camchain-Signature:      0x… 65-byte secp256k1 signature of the hub key,
//	                         EIP-191 personal_sign over the signed bytes
//
// and the signed bytes are
//
//	"camchain/v1/webhook\n" ‖ url ‖ "\n" ‖ timestamp ‖ "\n" ‖ id ‖ "\n" ‖ body
//
// The label keeps them from meaning anything else a camchain key signs; the
// url (exactly as given to --webhook) binds them to one receiver, so a
// receiver cannot replay a request to another; the timestamp and the id
// let a receiver refuse old requests and drop duplicates.
const webhookLabel = "camchain/v1/webhook"

// Header names.
const (
	HeaderEvent     = "Camchain-Event"
	HeaderTimestamp = "Camchain-Timestamp"
	HeaderHub       = "Camchain-Hub"
	HeaderHMAC      = "Camchain-Signature-Hmac"
	HeaderSignature = "Camchain-Signature"
)

// WebhookSignedBytes are the bytes both signatures cover.
func WebhookSignedBytes(url string, ts int64, id string, body []byte) []byte {
	b := make([]byte, 0, len(webhookLabel)+len(url)+len(id)+len(body)+24)
	b = append(b, webhookLabel...)
	b = append(b, '\n')
	b = append(b, url...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '\n')
	b = append(b, id...)
	b = append(b, '\n')
	return append(b, body...)
}

// WebhookSecret is the shared HMAC key. It never prints.
type WebhookSecret []byte

func (WebhookSecret) String() string   { return "webhook-secret:redacted" }
func (WebhookSecret) GoString() string { return "webhook-secret:redacted" }

func webhookHMAC(secret WebhookSecret, signed []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(signed)
	return m.Sum(nil)
}

// signWebhook sets the signature headers of one attempt.
func signWebhook(hdr http.Header, key *keys.PrivateKey, secret WebhookSecret, url string, ts int64, id string, body []byte) error {
	signed := WebhookSignedBytes(url, ts, id, body)
	sig, err := key.SignText(signed)
	if err != nil {
		return err
	}
	hdr.Set(HeaderEvent, id)
	hdr.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	hdr.Set(HeaderHub, key.Address().Hex())
	hdr.Set(HeaderHMAC, hex.EncodeToString(webhookHMAC(secret, signed)))
	hdr.Set(HeaderSignature, sig.Hex())
	return nil
}

// Errors of VerifyWebhook.
var (
	ErrWebhookHeader = errors.New("integrations: webhook headers missing or malformed")
	ErrWebhookStale  = errors.New("integrations: webhook timestamp outside the allowed skew")
	ErrWebhookHMAC   = errors.New("integrations: webhook HMAC does not match")
	ErrWebhookSig    = errors.New("integrations: webhook hub signature does not verify")
)

// WebhookCheck says what a receiver checks: the HMAC (if Secret is set),
// the hub's signature (if Hub is set), or both.
type WebhookCheck struct {
	URL    string
	Secret WebhookSecret
	Hub    keys.Address
	Now    time.Time
	// MaxSkew: default WebhookMaxSkew.
	MaxSkew time.Duration
}

// VerifyWebhook checks a received webhook request's headers against its
// body, and returns the event id. It checks preconditions first (headers
// present and well formed, timestamp within the skew, id matching the
// body's), then the signatures asked for, in constant time for the HMAC.
func VerifyWebhook(c WebhookCheck, hdr http.Header, body []byte) (string, error) {
	if c.Secret == nil && c.Hub == (keys.Address{}) {
		return "", errors.New("integrations: VerifyWebhook checks nothing: give a secret or a hub address")
	}
	id := hdr.Get(HeaderEvent)
	tsStr := hdr.Get(HeaderTimestamp)
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "\n\r") || len(tsStr) > 20 {
		return "", ErrWebhookHeader
	}
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if err != nil || strconv.FormatInt(ts, 10) != tsStr {
		return "", ErrWebhookHeader
	}
	if bid, ok := eventID(body); !ok || bid != id {
		return "", fmt.Errorf("%w: %s does not name the body's event", ErrWebhookHeader, HeaderEvent)
	}
	skew := c.MaxSkew
	if skew == 0 {
		skew = WebhookMaxSkew
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	if d := now.Sub(time.Unix(ts, 0)); d > skew || d < -skew {
		return "", ErrWebhookStale
	}
	signed := WebhookSignedBytes(c.URL, ts, id, body)
	if c.Secret != nil {
		got, err := hex.DecodeString(hdr.Get(HeaderHMAC))
		if err != nil || len(got) != sha256.Size {
			return "", ErrWebhookHeader
		}
		if !hmac.Equal(got, webhookHMAC(c.Secret, signed)) {
			return "", ErrWebhookHMAC
		}
	}
	if c.Hub != (keys.Address{}) {
		sig, err := keys.ParseSignature(hdr.Get(HeaderSignature))
		if err != nil {
			return "", ErrWebhookHeader
		}
		if err := keys.VerifyText(c.Hub, signed, sig); err != nil {
			return "", ErrWebhookSig
		}
	}
	return id, nil
}
