package ledger

import (
	"encoding/json"
	"testing"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/interop"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/wallet"
)

// TestLedgerAcceptsAnOrdinaryWallet: an owner whose wallet is ethers (an
// HD wallet from 24 words and a passphrase, as MetaMask would hold it)
// imprints a camera and grants a viewer; the ledger accepts both, and
// refuses the same signature presented for another chain.
func TestLedgerAcceptsAnOrdinaryWallet(t *testing.T) {
	h := newHarness(t)
	words, err := wallet.NewMnemonic()
	if err != nil {
		t.Fatal(err)
	}
	const pass = "Grüße aus Köln"
	owner, err := wallet.DeriveKey(words, pass)
	if err != nil {
		t.Fatal(err)
	}
	cam, viewer := h.key(), h.key()

	ethersSign := func(m tx.Msg) keys.Signature {
		t.Helper()
		wj, err := tx.WalletJSON(testChainID, m)
		if err != nil {
			t.Fatal(err)
		}
		var td struct{ Domain, Types, Message json.RawMessage }
		json.Unmarshal(wj, &td)
		var resp struct{ Address, Signature string }
		interop.Ethers(t, map[string]any{"op": "signTypedData", "mnemonic": words, "passphrase": pass,
			"domain": td.Domain, "types": td.Types, "message": td.Message}, &resp)
		if resp.Address != owner.Address().Hex() {
			t.Fatalf("ethers derived %s from the words, camchain %s", resp.Address, owner.Address().Hex())
		}
		sig, err := keys.ParseSignature(resp.Signature)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	encode := func(t1 *tx.Tx) []byte {
		b, err := t1.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	imp := &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.hubs[0].Address(), Nonce: tx.NewNonce(), Expiry: h.expiry()}
	camSigned, err := tx.Sign(testChainID, imp, owner, cam) // for the camera's signature
	if err != nil {
		t.Fatal(err)
	}
	h.want(CodeOK, encode(&tx.Tx{EVMChainID: testChainID, Msg: imp, Sigs: []keys.Signature{ethersSign(imp), camSigned.Sigs[1]}}))

	g := &tx.Grant{Camera: cam.Address(), Viewer: viewer.Address(), ValidUntil: uint64(h.now.Unix()) + 86400, Nonce: tx.NewNonce(), Expiry: h.expiry()}
	sig := ethersSign(g)
	h.want(CodeWrongChain, encode(&tx.Tx{EVMChainID: testChainID + 1, Msg: g, Sigs: []keys.Signature{sig}}))
	h.want(CodeOK, encode(&tx.Tx{EVMChainID: testChainID, Msg: g, Sigs: []keys.Signature{sig}}))
	if d := h.device(cam); d.Owner != owner.Address() || len(d.Grants) != 1 {
		t.Fatalf("device after ethers-signed txs: %+v", d)
	}
}
