package keys

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
)

// TestTextDigestIsGoEthereums: TextDigest is go-ethereum's
// accounts.TextHash (EIP-191 personal_sign) for messages of every length
// class (the length is decimal text in the prefix) — and the known digest
// of "hello".
func TestTextDigestIsGoEthereums(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 99, 100, 1000, 4096} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		if got, want := TextDigest(msg), accounts.TextHash(msg); !bytes.Equal(got[:], want) {
			t.Errorf("len %d: %x, go-ethereum %x", n, got, want)
		}
	}
	// keccak256("\x19Ethereum Signed Message:\n5hello"), as ethers' hashMessage gives it.
	if got := TextDigest([]byte("hello")); hex.EncodeToString(got[:]) != "50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750" {
		t.Errorf("hello: %x", got)
	}
}
