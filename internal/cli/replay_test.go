package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// signAgain makes a second valid signature of digest by k with a random
// nonce instead of RFC 6979's, as a signer with extra entropy (some
// hardware wallets) does: the same action, other bytes, another hash.
func signAgain(t *testing.T, k *keys.PrivateKey, digest [32]byte) keys.Signature {
	t.Helper()
	var d, e secp256k1.ModNScalar
	d.SetByteSlice(k.ECDSA().D.FillBytes(make([]byte, 32)))
	e.SetByteSlice(digest[:])
	for {
		var kb [32]byte
		rand.Read(kb[:])
		var nonce secp256k1.ModNScalar
		if nonce.SetByteSlice(kb[:]) || nonce.IsZero() {
			continue
		}
		var R secp256k1.JacobianPoint
		secp256k1.ScalarBaseMultNonConst(&nonce, &R)
		R.ToAffine()
		xb := R.X.Bytes()
		var r secp256k1.ModNScalar
		overflow := r.SetByteSlice(xb[:])
		if r.IsZero() {
			continue
		}
		recid := byte(R.Y.IsOddBit())
		if overflow {
			recid |= 2
		}
		// s = k⁻¹(e + r·d)
		s := new(secp256k1.ModNScalar).Mul2(&r, &d).Add(&e)
		s.Mul(new(secp256k1.ModNScalar).InverseValNonConst(&nonce))
		if s.IsZero() {
			continue
		}
		if s.IsOverHalfOrder() {
			s.Negate()
			recid ^= 1
		}
		var sig keys.Signature
		rb, sb := r.Bytes(), s.Bytes()
		copy(sig[:32], rb[:])
		copy(sig[32:64], sb[:])
		sig[64] = 27 + recid
		return sig
	}
}

// The owner's action landed under another hash — the same signed message,
// other signature bytes, sent first by a relay — and the owner's own copy
// then comes back `replay`: the CLI reports the action as landed, with the
// hash it landed under (issue 8, finding 5).
func TestCLIReportsAnActionLandedUnderAnotherHash(t *testing.T) {
	t.Setenv("CAMCHAIN_HOME", t.TempDir()) // the CLI's login session
	h, hubURL := startHub(t)
	owner := newTestWallet(t, "owner")
	cam := imprint(t, hubURL, h, owner)
	viewer, _ := keys.Generate()
	c, _ := api.NewClient(hubURL)
	c.WithCredentials(&api.KeyCredentials{Key: owner.key}) // reads need a login
	target, _ := url.Parse(hubURL)

	var landedHash string
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == api.Prefix+"/txs" {
			var req api.SubmitRequest
			json.Unmarshal(body, &req)
			raw, _ := hex.DecodeString(strings.TrimPrefix(req.Tx, "0x"))
			t1, err := tx.Decode(raw)
			if err != nil {
				t.Errorf("relay: %v", err)
			} else {
				d, _ := tx.Digest(t1.EVMChainID, t1.Msg)
				t2 := &tx.Tx{EVMChainID: t1.EVMChainID, Msg: t1.Msg, Sigs: []keys.Signature{signAgain(t, owner.key, d)}}
				raw2, _ := t2.Encode()
				if bytes.Equal(raw2, raw) {
					t.Error("relay: the second signature is the first")
				}
				res, err := c.Submit(context.Background(), raw2)
				if err != nil || res.Code != 0 {
					t.Errorf("relay: the other copy did not land: %+v %v", res, err)
				} else {
					landedHash = res.Hash
				}
			}
		}
		req, _ := http.NewRequest(r.Method, target.String()+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer relay.Close()

	r := runCLI(append([]string{"grant", "--camera", cam.Address().Hex(), "--viewer", viewer.Address().Hex(), "--hub", relay.URL}, owner.flags()...)...).must(t, 0, "")
	if landedHash == "" || !strings.Contains(r.stdout, "Grant committed at height") || !strings.Contains(r.stdout, landedHash) {
		t.Fatalf("the CLI did not report the landed action (landed as %s):\n%s", landedHash, r.stdout)
	}
	// The action landed once.
	d, _ := c.Device(context.Background(), cam.Address().Hex())
	if len(d.Grants) != 1 {
		t.Fatalf("grants after the relay: %+v", d.Grants)
	}
}
