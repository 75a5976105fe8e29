package e2ee

import (
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/sha256"
	"math/big"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/keys"
)

// Every cryptographic primitive this package calls is called here.

// kem is X-Wing. Its private key is the 32-byte seed itself
// (NewPrivateKey), never DeriveKeyPair: Go's and @hpke/hybridkem-x-wing's
// DeriveKeyPair give different keys for one input, while one seed gives
// one key in both (TestInteropViewingKey).
var kem = hpke.MLKEM768X25519()

// seedFromIKM is HKDF-SHA256 (RFC 5869) with salt labelSeed, the wallet's
// r ‖ s as the secret and the account's 20 address bytes as info, 32 bytes
// out. The signature is already a uniformly distributed secret only the
// wallet can make; the salt separates this use of it from any other, the
// info binds the seed to the account.
func seedFromIKM(ikm []byte, account keys.Address) ([SeedSize]byte, error) {
	var seed [SeedSize]byte
	b, err := hkdf.Key(sha256.New, ikm, []byte(labelSeed), string(account[:]), SeedSize)
	if err != nil {
		return seed, err
	}
	copy(seed[:], b)
	clear(b)
	return seed, nil
}

// privateFromSeed loads the seed as X-Wing's private key (SerializePrivateKey
// form): ML-KEM-768's and X25519's keys are expanded from it with SHAKE256
// as X-Wing specifies.
func privateFromSeed(seed []byte) (hpke.PrivateKey, error) { return kem.NewPrivateKey(seed) }

// parsePublic checks and loads an encapsulation key: 1216 bytes, the
// ML-KEM-768 half passing FIPS 203's modulus check.
func parsePublic(b []byte) (hpke.PublicKey, error) { return kem.NewPublicKey(b) }

// keyID is SHA-256(labelKeyID ‖ public key).
func keyID(pub []byte) KeyID {
	h := sha256.New()
	h.Write([]byte(labelKeyID))
	h.Write(pub)
	var id KeyID
	h.Sum(id[:0])
	return id
}

// secp256k1N and secp256k1HalfN bound a signature's s (SPEC §1).
var (
	secp256k1N     = crypto.S256().Params().N
	secp256k1HalfN = new(big.Int).Rsh(secp256k1N, 1)
)

// lowS returns r ‖ s of sig with s in the lower half of the curve order
// (s ↦ n − s otherwise). A wallet that returns the high-s twin of its
// signature (valid for ECDSA, refused by Ethereum) gives the same seed.
func lowS(sig keys.Signature) [signatureIKMSize]byte {
	var out [signatureIKMSize]byte
	copy(out[:32], sig[:32])
	s := new(big.Int).SetBytes(sig[32:64])
	if s.Cmp(secp256k1HalfN) > 0 {
		s.Sub(secp256k1N, s)
	}
	s.FillBytes(out[32:])
	return out
}
