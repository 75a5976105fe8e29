package integrations

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
)

// webhookVector is testdata/webhook_vector.json: the inputs of one
// signed webhook and what another implementation must compute from them
// (docs/SPEC.md §13.3).
type webhookVector struct {
	PrivateKey  string `json:"private_key"`
	HubAddress  string `json:"hub_address"`
	Secret      string `json:"secret"`
	URL         string `json:"url"`
	Timestamp   int64  `json:"timestamp"`
	Body        string `json:"body"`
	EventID     string `json:"event_id"`
	SignedBytes string `json:"signed_bytes_hex"`
	HMAC        string `json:"hmac"`
	Signature   string `json:"signature"`
}

func vectorEvent() Event {
	cam, _ := keys.ParseAddress("0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c")
	hub, _ := keys.ParseAddress("0x2c7536E3605D9C16a7a3D7b1898e529396a65c23")
	return NewAlarm(hub, cam, audit.CloneSuspected, "fork at record #12", time.Unix(1_800_000_000, 0), time.Unix(1_800_000_000, 250_000_000))
}

// TestWebhookVector recomputes the committed vector (UPDATE_VECTORS=1
// rewrites it).
func TestWebhookVector(t *testing.T) {
	key, err := keys.FromBytes(mustHex(t, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := vectorEvent().encode()
	if err != nil {
		t.Fatal(err)
	}
	v := webhookVector{PrivateKey: "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", HubAddress: key.Address().Hex(),
		Secret: "camchain-webhook-test-secret-000", URL: "https://hooks.example/camchain", Timestamp: 1_800_000_060, Body: string(body), EventID: vectorEvent().ID}
	hdr := http.Header{}
	if err := signWebhook(hdr, key, WebhookSecret(v.Secret), v.URL, v.Timestamp, v.EventID, body); err != nil {
		t.Fatal(err)
	}
	v.SignedBytes = hex.EncodeToString(WebhookSignedBytes(v.URL, v.Timestamp, v.EventID, body))
	v.HMAC, v.Signature = hdr.Get(HeaderHMAC), hdr.Get(HeaderSignature)
	path := filepath.Join("testdata", "webhook_vector.json")
	if os.Getenv("UPDATE_VECTORS") == "1" {
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want webhookVector
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if v != want {
		t.Fatalf("vector differs:\n got  %+v\n want %+v", v, want)
	}
	// The vector verifies, both ways, at its time.
	check := WebhookCheck{URL: v.URL, Secret: WebhookSecret(v.Secret), Hub: key.Address(), Now: time.Unix(v.Timestamp+10, 0)}
	if id, err := VerifyWebhook(check, hdr, body); err != nil || id != v.EventID {
		t.Fatalf("vector does not verify: %q %v", id, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every tampering of a signed webhook is refused, by the check it breaks.
func TestVerifyWebhookRefuses(t *testing.T) {
	key, _ := keys.Generate()
	other, _ := keys.Generate()
	secret := WebhookSecret("0123456789abcdef0123456789abcdef")
	const url = "https://receiver.example/hook"
	body, _ := vectorEvent().encode()
	id := vectorEvent().ID
	now := time.Unix(1_800_000_000, 0)
	signed := func() http.Header {
		h := http.Header{}
		if err := signWebhook(h, key, secret, url, now.Unix(), id, body); err != nil {
			t.Fatal(err)
		}
		return h
	}
	check := WebhookCheck{URL: url, Secret: secret, Hub: key.Address(), Now: now}
	if _, err := VerifyWebhook(check, signed(), body); err != nil {
		t.Fatalf("genuine request refused: %v", err)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] ^= 1
	otherID := vectorEvent()
	otherID.ID = "alarm-00000000000000000000000000000000"
	otherBody, _ := otherID.encode()
	for _, c := range []struct {
		name  string
		check WebhookCheck
		hdr   func(http.Header)
		body  []byte
		want  error
	}{
		{"body changed", check, nil, tampered, ErrWebhookHMAC},
		{"another event's body", check, nil, otherBody, ErrWebhookHeader},
		{"replayed to another receiver (HMAC)", WebhookCheck{URL: "https://other.example/hook", Secret: secret, Now: now}, nil, body, ErrWebhookHMAC},
		{"replayed to another receiver (signature)", WebhookCheck{URL: "https://other.example/hook", Hub: key.Address(), Now: now}, nil, body, ErrWebhookSig},
		{"old", WebhookCheck{URL: url, Secret: secret, Now: now.Add(WebhookMaxSkew + time.Second)}, nil, body, ErrWebhookStale},
		{"from the future", WebhookCheck{URL: url, Secret: secret, Now: now.Add(-WebhookMaxSkew - time.Second)}, nil, body, ErrWebhookStale},
		{"wrong secret", WebhookCheck{URL: url, Secret: WebhookSecret("another secret of 32 bytes......"), Now: now}, nil, body, ErrWebhookHMAC},
		{"another hub", WebhookCheck{URL: url, Hub: other.Address(), Now: now}, nil, body, ErrWebhookSig},
		{"timestamp moved", check, func(h http.Header) { h.Set(HeaderTimestamp, "1800000001") }, body, ErrWebhookHMAC},
		{"timestamp not canonical", check, func(h http.Header) { h.Set(HeaderTimestamp, "01800000000") }, body, ErrWebhookHeader},
		{"no HMAC", check, func(h http.Header) { h.Del(HeaderHMAC) }, body, ErrWebhookHeader},
		{"no signature", WebhookCheck{URL: url, Hub: key.Address(), Now: now}, func(h http.Header) { h.Del(HeaderSignature) }, body, ErrWebhookHeader},
		{"signature of the other encoding (v 0/1)", WebhookCheck{URL: url, Hub: key.Address(), Now: now}, func(h http.Header) {
			s, _ := keys.ParseSignature(h.Get(HeaderSignature))
			s[64] -= 27
			h.Set(HeaderSignature, s.Hex())
		}, body, ErrWebhookSig},
	} {
		h := signed()
		if c.hdr != nil {
			c.hdr(h)
		}
		if _, err := VerifyWebhook(c.check, h, c.body); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := VerifyWebhook(WebhookCheck{URL: url, Now: now}, signed(), body); err == nil {
		t.Error("a check of nothing passed")
	}
}

// FuzzVerifyWebhook: any headers and body are refused or accepted without
// panic, and accepted only when genuinely signed.
func FuzzVerifyWebhook(f *testing.F) {
	key, _ := keys.FromBytes(make32(7))
	secret := WebhookSecret("fuzz-secret-fuzz-secret-fuzz-sec")
	body, _ := vectorEvent().encode()
	h := http.Header{}
	signWebhook(h, key, secret, "https://r/h", 1_800_000_000, vectorEvent().ID, body)
	f.Add(h.Get(HeaderEvent), h.Get(HeaderTimestamp), h.Get(HeaderHMAC), h.Get(HeaderSignature), body)
	f.Add("", "", "", "", []byte("{}"))
	f.Add("x", "1800000000", "zz", "0x00", []byte(`{"id":"x"}`))
	f.Fuzz(func(t *testing.T, id, ts, mac, sig string, b []byte) {
		hdr := http.Header{}
		hdr.Set(HeaderEvent, id)
		hdr.Set(HeaderTimestamp, ts)
		hdr.Set(HeaderHMAC, mac)
		hdr.Set(HeaderSignature, sig)
		check := WebhookCheck{URL: "https://r/h", Secret: secret, Hub: key.Address(), Now: time.Unix(1_800_000_000, 0)}
		got, err := VerifyWebhook(check, hdr, b)
		if err != nil {
			return
		}
		// Accepted: it must be what the hub signs for these inputs.
		want := http.Header{}
		n, _ := parseCanonicalUint(ts)
		signWebhook(want, key, secret, "https://r/h", int64(n), got, b)
		if want.Get(HeaderHMAC) != mac {
			t.Fatalf("accepted an HMAC the hub did not make")
		}
	})
}

func make32(b byte) []byte {
	out := make([]byte, 32)
	out[31] = b
	return out
}
