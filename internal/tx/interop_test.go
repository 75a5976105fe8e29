package tx

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/interop"
)

// TestEIP712AgainstEthers checks every message type against ethers, an
// independent EIP-712 implementation: the same typed data hashes to the
// same digest, ethers accepts camchain's signatures, and camchain accepts
// signatures made by ethers — so any ordinary wallet can sign ledger
// transactions.
func TestEIP712AgainstEthers(t *testing.T) {
	for _, dom := range []Domain{DomainV1, DomainV2} {
		t.Run(fmt.Sprintf("domain-v%d", dom), func(t *testing.T) { testEIP712AgainstEthers(t, dom) })
	}
}

func testEIP712AgainstEthers(t *testing.T, dom Domain) {
	owner, cam, hub := mustKey(t), mustKey(t), mustKey(t)
	const chain = 9007199254740991 // 2^53-1: the largest id a JS number holds exactly
	msgs := sampleMsgs(cam.Address(), owner.Address(), hub.Address())

	type typedReq struct {
		Op         string          `json:"op"`
		PrivateKey string          `json:"privateKey,omitempty"`
		Signature  string          `json:"signature,omitempty"`
		Domain     json.RawMessage `json:"domain"`
		Types      json.RawMessage `json:"types"`
		Message    json.RawMessage `json:"message"`
	}
	var reqs []typedReq
	for _, m := range msgs {
		wj, err := WalletJSONIn(dom, chain, m)
		if err != nil {
			t.Fatal(err)
		}
		var td struct {
			Domain, Types, Message json.RawMessage
		}
		if err := json.Unmarshal(wj, &td); err != nil {
			t.Fatal(err)
		}
		domJSON, types, msg := td.Domain, td.Types, td.Message
		ours, err := SignIn(dom, chain, m, owner, cam) // two signers only for Imprint; see below
		if SignerCount(m.Type()) == 1 {
			ours, err = SignIn(dom, chain, m, owner)
		}
		if err != nil {
			t.Fatal(err)
		}
		base := typedReq{Domain: domJSON, Types: types, Message: msg}
		hashReq, signReq, verifyReq := base, base, base
		hashReq.Op = "hashTypedData"
		signReq.Op = "signTypedData"
		signReq.PrivateKey = "0x" + hex.EncodeToString(crypto.FromECDSA(hub.ECDSA()))
		verifyReq.Op = "verifyTypedData"
		verifyReq.Signature = ours.Sigs[0].Hex()
		reqs = append(reqs, hashReq, signReq, verifyReq)
	}
	var resps []struct {
		Hash      string `json:"hash"`
		Address   string `json:"address"`
		Signature string `json:"signature"`
	}
	interop.Ethers(t, reqs, &resps)
	if len(resps) != len(reqs) {
		t.Fatalf("%d replies for %d requests", len(resps), len(reqs))
	}
	for i, m := range msgs {
		hashR, signR, verifyR := resps[3*i], resps[3*i+1], resps[3*i+2]
		d, err := DigestIn(dom, chain, m)
		if err != nil {
			t.Fatal(err)
		}
		if want := "0x" + hex.EncodeToString(d[:]); hashR.Hash != want {
			t.Errorf("%s: ethers digest %s, camchain %s", m.Type(), hashR.Hash, want)
		}
		sig, err := keys.ParseSignature(signR.Signature)
		if err != nil {
			t.Fatalf("%s: ethers signature: %v", m.Type(), err)
		}
		if got, err := keys.Recover(d, sig); err != nil || got != hub.Address() {
			t.Errorf("%s: camchain recovers ethers' signature as %s (%v), want %s", m.Type(), got.Hex(), err, hub.Address().Hex())
		}
		if verifyR.Address != owner.Address().Hex() {
			t.Errorf("%s: ethers recovers camchain's signature as %s, want %s", m.Type(), verifyR.Address, owner.Address().Hex())
		}
	}
}
