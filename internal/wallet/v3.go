package wallet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/uuid"
	"golang.org/x/crypto/scrypt"

	"github.com/camchain/camchain/internal/keys"
)

// The Web3 Secret Storage v3 key file
// (https://ethereum.org/developers/docs/data-structures-and-encoding/web3-secret-storage),
// written out as go-ethereum's accounts/keystore writes and reads it:
// that package brings core/types (and through it KZG and gnark-crypto) into
// the camera agent. v3_test.go holds this code beside go-ethereum's on
// files each one made and on fuzzed files.
//
//	derived = scrypt(passphrase, salt, n, r = 8, p, 32)      (or PBKDF2-HMAC-SHA256, c rounds, on read)
//	ciphertext = AES-128-CTR(derived[0:16], iv, private key as 32 bytes)
//	mac = keccak256(derived[16:32] ‖ ciphertext)
const (
	v3Version    = 3
	v3Cipher     = "aes-128-ctr"
	v3KDFScrypt  = "scrypt"
	v3KDFPBKDF2  = "pbkdf2"
	v3ScryptR    = 8
	v3DerivedLen = 32
	v3SaltLen    = 32
)

// errV3Decrypt: the passphrase does not open the file (its MAC does not
// match), go-ethereum's keystore.ErrDecrypt.
var errV3Decrypt = errors.New("could not decrypt key with given password")

type v3File struct {
	Address string   `json:"address"`
	Crypto  v3Crypto `json:"crypto"`
	ID      string   `json:"id"`
	Version int      `json:"version"`
}

type v3Crypto struct {
	Cipher       string         `json:"cipher"`
	CipherText   string         `json:"ciphertext"`
	CipherParams v3CipherParams `json:"cipherparams"`
	KDF          string         `json:"kdf"`
	KDFParams    map[string]any `json:"kdfparams"`
	MAC          string         `json:"mac"`
}

type v3CipherParams struct {
	IV string `json:"iv"`
}

// encryptV3 seals k under passphrase (as bytes: the caller normalises it)
// at scrypt cost n, p, as the file named id.
func encryptV3(k *keys.PrivateKey, id uuid.UUID, passphrase string, n, p int) ([]byte, error) {
	salt := make([]byte, v3SaltLen)
	iv := make([]byte, aes.BlockSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	derived, err := scrypt.Key([]byte(passphrase), salt, n, v3ScryptR, p, v3DerivedLen)
	if err != nil {
		return nil, err
	}
	secret := crypto.FromECDSA(k.ECDSA()) // 32 bytes, left-padded
	ct, err := aesCTR(derived[:16], iv, secret)
	if err != nil {
		return nil, err
	}
	addr := k.Address()
	return json.Marshal(v3File{
		Address: hex.EncodeToString(addr[:]),
		Crypto: v3Crypto{
			Cipher:       v3Cipher,
			CipherText:   hex.EncodeToString(ct),
			CipherParams: v3CipherParams{IV: hex.EncodeToString(iv)},
			KDF:          v3KDFScrypt,
			KDFParams:    map[string]any{"n": n, "r": v3ScryptR, "p": p, "dklen": v3DerivedLen, "salt": hex.EncodeToString(salt)},
			MAC:          hex.EncodeToString(crypto.Keccak256(derived[16:32], ct)),
		},
		ID:      id.String(),
		Version: v3Version,
	})
}

// decryptV3 opens a v3 key file with passphrase (as bytes); errV3Decrypt
// if the passphrase is not the file's. It reads what go-ethereum reads:
// scrypt or PBKDF2-HMAC-SHA256, AES-128-CTR. (The pre-2015 version 1
// files go-ethereum also opens are refused.)
func decryptV3(data []byte, passphrase string) (*keys.PrivateKey, uuid.UUID, error) {
	var f v3File
	if err := json.Unmarshal(data, &f); err != nil {
		var old struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(data, &old) == nil && old.Version == "1" {
			return nil, uuid.UUID{}, errors.New("version 1 key files are not supported: open it with geth and export it again")
		}
		return nil, uuid.UUID{}, err
	}
	if f.Version != v3Version {
		return nil, uuid.UUID{}, fmt.Errorf("version not supported: %v", f.Version)
	}
	if f.Crypto.Cipher != v3Cipher {
		return nil, uuid.UUID{}, fmt.Errorf("cipher not supported: %v", f.Crypto.Cipher)
	}
	id, err := uuid.Parse(f.ID)
	if err != nil {
		return nil, uuid.UUID{}, err
	}
	mac, err := hex.DecodeString(f.Crypto.MAC)
	if err != nil {
		return nil, uuid.UUID{}, err
	}
	iv, err := hex.DecodeString(f.Crypto.CipherParams.IV)
	if err != nil {
		return nil, uuid.UUID{}, err
	}
	ct, err := hex.DecodeString(f.Crypto.CipherText)
	if err != nil {
		return nil, uuid.UUID{}, err
	}
	derived, err := v3DerivedKey(f.Crypto, passphrase)
	if err != nil {
		return nil, uuid.UUID{}, err
	}
	if subtle.ConstantTimeCompare(crypto.Keccak256(derived[16:32], ct), mac) != 1 {
		return nil, uuid.UUID{}, errV3Decrypt
	}
	secret, err := aesCTR(derived[:16], iv, ct)
	if err != nil {
		return nil, uuid.UUID{}, err
	}
	k, err := crypto.ToECDSA(secret)
	if err != nil {
		return nil, uuid.UUID{}, err
	}
	priv, err := keys.FromECDSA(k)
	return priv, id, err
}

// v3DerivedKey runs the file's KDF on passphrase.
func v3DerivedKey(c v3Crypto, passphrase string) ([]byte, error) {
	saltHex, _ := c.KDFParams["salt"].(string)
	salt, err := hex.DecodeString(saltHex)
	if err != nil {
		return nil, err
	}
	dkLen, ok := v3Int(c.KDFParams["dklen"])
	if !ok || dkLen < v3DerivedLen || dkLen > 1<<10 {
		// go-ethereum needs 32 bytes too (it slices [16:32]); it panics
		// on fewer where this refuses.
		return nil, fmt.Errorf("kdf dklen %v: want at least %d", c.KDFParams["dklen"], v3DerivedLen)
	}
	switch c.KDF {
	case v3KDFScrypt:
		n, ok1 := v3Int(c.KDFParams["n"])
		r, ok2 := v3Int(c.KDFParams["r"])
		p, ok3 := v3Int(c.KDFParams["p"])
		if !ok1 || !ok2 || !ok3 {
			return nil, errors.New("scrypt parameters n, r, p: want integers")
		}
		return scrypt.Key([]byte(passphrase), salt, n, r, p, dkLen)
	case v3KDFPBKDF2:
		c2, ok := v3Int(c.KDFParams["c"])
		if !ok || c2 < 1 {
			return nil, errors.New("pbkdf2 rounds c: want a positive integer")
		}
		if prf, _ := c.KDFParams["prf"].(string); prf != "hmac-sha256" {
			return nil, errors.New("unsupported PBKDF2 PRF: " + strings.ToValidUTF8(prf, "?"))
		}
		return pbkdf2.Key(sha256.New, passphrase, salt, c2, dkLen)
	}
	return nil, fmt.Errorf("unsupported KDF: %s", strings.ToValidUTF8(c.KDF, "?"))
}

// v3Int is a JSON number that is an int (go-ethereum's ensureInt, which
// truncates a fraction; this refuses one).
func v3Int(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f != float64(int(f)) || f < 0 || f > 1<<40 {
		return 0, false
	}
	return int(f), true
}

func aesCTR(key, iv, in []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("cipher iv of %d bytes, want %d", len(iv), aes.BlockSize)
	}
	out := make([]byte, len(in))
	cipher.NewCTR(b, iv).XORKeyStream(out, in)
	return out, nil
}
