package auth

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/keys"
)

// vectorRecord is the record of testdata/login_vectors.json: every field a
// recognisable pattern.
func vectorRecord() *Record {
	r := &Record{Kind: KindLogin, Time: 1764648000}
	for i := range r.Address {
		r.Address[i] = 0x11
	}
	for i := range r.Client {
		r.Client[i] = 0x22
	}
	for i := range r.Prev {
		r.Prev[i], r.Message[i] = 0x33, 0x44
	}
	var secret Renewal
	for i := range secret {
		secret[i] = 0x55
	}
	r.Renewal = RenewalCommitment(secret)
	return r
}

type loginVectors struct {
	Comment     string `json:"comment"`
	RenewalHex  string `json:"renewal_secret"`
	Commitment  string `json:"renewal_commitment"`
	RecordHex   string `json:"record"`
	RecordHash  string `json:"record_hash"`
	Corruptions []struct {
		Name   string `json:"name"`
		Record string `json:"record"`
		Expect string `json:"expect"`
	} `json:"corruptions"`
}

// TestRecordVectors checks the committed vectors (docs/SPEC.md §11.4).
// UPDATE_VECTORS=1 regenerates them.
func TestRecordVectors(t *testing.T) {
	r := vectorRecord()
	enc := r.Encode()
	h := r.Hash()
	var secret Renewal
	for i := range secret {
		secret[i] = 0x55
	}
	c := RenewalCommitment(secret)
	path := filepath.Join("testdata", "login_vectors.json")
	if os.Getenv("UPDATE_VECTORS") != "" {
		v := loginVectors{
			Comment:    "camchain login record (docs/SPEC.md §11.4): kind login, address 0x11…, client 0x22…, prev 0x33…, time 1764648000, message digest 0x44…, renewal secret 0x55…",
			RenewalHex: secret.String(), Commitment: hex.EncodeToString(c[:]),
			RecordHex: hex.EncodeToString(enc), RecordHash: h.String(),
		}
		add := func(name string, b []byte, expect string) {
			v.Corruptions = append(v.Corruptions, struct {
				Name   string `json:"name"`
				Record string `json:"record"`
				Expect string `json:"expect"`
			}{name, hex.EncodeToString(b), expect})
		}
		add("version 2", append([]byte{2}, enc[1:]...), "malformed")
		add("kind 0", append([]byte{1, 0}, enc[2:]...), "malformed")
		add("kind 4", append([]byte{1, 4}, enc[2:]...), "malformed")
		add("truncated", enc[:len(enc)-1], "malformed")
		add("trailing byte", append(bytes.Clone(enc), 0), "malformed")
		flipped := bytes.Clone(enc)
		flipped[50] ^= 1
		add("prev head bit flip", flipped, "other hash")
		data, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v loginVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.RecordHex != hex.EncodeToString(enc) || v.RecordHash != h.String() || v.Commitment != hex.EncodeToString(c[:]) {
		t.Fatalf("record encoding or hash differs from the committed vectors")
	}
	if len(enc) != RecordSize {
		t.Fatalf("record is %d bytes, want %d", len(enc), RecordSize)
	}
	back, err := DecodeRecord(enc)
	if err != nil || *back != *r {
		t.Fatalf("decode: %+v, %v", back, err)
	}
	for _, c := range v.Corruptions {
		b, _ := hex.DecodeString(c.Record)
		got, err := DecodeRecord(b)
		switch c.Expect {
		case "malformed":
			if !errors.Is(err, signin.ErrMalformed) {
				t.Errorf("%s: got %v, want malformed", c.Name, err)
			}
		case "other hash":
			if err != nil || got.Hash() == h {
				t.Errorf("%s: want a valid record with another hash (%v)", c.Name, err)
			}
		default:
			t.Errorf("%s: unknown expect %q", c.Name, c.Expect)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(vectorRecord().Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Encode(), b) {
			t.Fatalf("round trip differs")
		}
	})
}

// FuzzVerifyToken: no input but a token this hub issued verifies, and
// none panics.
func FuzzVerifyToken(f *testing.F) {
	ring, err := OpenKeyring("", DefaultKeyRotation, DefaultTokenTTL, t0)
	if err != nil {
		f.Fatal(err)
	}
	toks := &Tokens{Keys: ring, Issuer: "hub", Audience: testOrigin, TTL: DefaultTokenTTL}
	var cid signin.ClientID
	good, _, err := toks.Issue(keys.Address{1}, cid, t0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, s string) {
		sess, err := toks.Verify(s, t0.Add(time.Minute))
		if err == nil && s != good {
			t.Fatalf("accepted a token the hub did not issue: %q (%+v)", s, sess)
		}
	})
}
