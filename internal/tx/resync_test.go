package tx

import (
	"testing"

	"github.com/camchain/camchain/internal/keys"
)

// A Resync has its own EIP-712 digest (domain-separated from every ledger
// message by its primary type) and is never a ledger transaction.
func TestResyncIsSignedButNeverALedgerTx(t *testing.T) {
	m := &Resync{Camera: keys.Address{1}, Hub: keys.Address{2}, Epoch: 3, Nonce: 4, Expiry: 5}
	d, err := Digest(7, m)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := Digest(7, &Reset{Camera: keys.Address{1}, Epoch: 3, Nonce: 4, Expiry: 5})
	if d == r {
		t.Fatal("resync and reset share a digest")
	}
	if d2, _ := Digest(8, m); d2 == d {
		t.Fatal("the digest does not depend on the chain id")
	}
	raw, err := (&Tx{EVMChainID: 7, Msg: m, Sigs: []keys.Signature{{}}}).Encode()
	if err == nil {
		if _, err := Decode(raw); err == nil {
			t.Fatal("a Resync decodes as a ledger transaction")
		}
	}
}
