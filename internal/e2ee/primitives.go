package e2ee

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/binary"
	"math/big"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/camchain/camchain/internal/feedchain"
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

// segmentKey is HKDF-SHA256(secret = the content key, salt =
// labelSegmentKey, info = camera ‖ u64be(epoch) ‖ stream ‖ u64be(seq) ‖
// u64be(serial), 32 bytes). HKDF is one-way: a segment key says nothing
// about the content key nor about another segment's key.
func segmentKey(contentKey []byte, camera keys.Address, epoch uint64, stream feedchain.Stream, seq, serial uint64) ([]byte, error) {
	info := make([]byte, 0, 20+8+1+8+8)
	info = append(info, camera[:]...)
	info = binary.BigEndian.AppendUint64(info, epoch)
	info = append(info, byte(stream))
	info = binary.BigEndian.AppendUint64(info, seq)
	info = binary.BigEndian.AppendUint64(info, serial)
	return hkdf.Key(sha256.New, contentKey, []byte(labelSegmentKey), string(info), KeySize)
}

// gcmNonce is 0x00000000 ‖ u64be(index): the index is unique per segment
// key (0 for the whole segment, i+1 for part i), so (key, nonce) never
// repeats.
func gcmNonce(index uint32) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[4:], uint64(index))
	return n
}

// sealGCM appends AES-256-GCM(key, gcmNonce(index), plaintext, aad = hdr)
// to hdr.
func sealGCM(key []byte, index uint32, hdr, plaintext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(hdr), len(hdr)+len(plaintext)+g.Overhead())
	copy(out, hdr)
	return g.Seal(out, gcmNonce(index), plaintext, hdr), nil
}

func openGCM(key []byte, index uint32, hdr, ct []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return g.Open(nil, gcmNonce(index), ct, hdr)
}

// wrapKey is the wrapping of content keys: X-Wing, HKDF-SHA256,
// AES-256-GCM, base mode, single-shot (one content key per encapsulation).
func wrapKey(pub hpke.PublicKey, info, key []byte) ([]byte, error) {
	return hpke.Seal(pub, hpke.HKDFSHA256(), hpke.AES256GCM(), info, key)
}

func unwrapKey(sk hpke.PrivateKey, info, wrapped []byte) ([]byte, error) {
	return hpke.Open(sk, hpke.HKDFSHA256(), hpke.AES256GCM(), info, wrapped)
}

// sealKeys is the sealing of a history envelope's keys: X-Wing,
// HKDF-SHA256, AES-256-GCM, base mode, single-shot — one encapsulation
// for all the envelope's keys, concatenated; info binds the envelope's
// digest, so the keys open only as that envelope's.
func sealKeys(pub hpke.PublicKey, info, keys []byte) ([]byte, error) {
	return hpke.Seal(pub, hpke.HKDFSHA256(), hpke.AES256GCM(), info, keys)
}

func openKeys(sk hpke.PrivateKey, info, sealed []byte) ([]byte, error) {
	return hpke.Open(sk, hpke.HKDFSHA256(), hpke.AES256GCM(), info, sealed)
}
