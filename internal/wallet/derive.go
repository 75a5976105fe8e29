package wallet

import (
	"crypto/pbkdf2"
	"crypto/sha512"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"golang.org/x/text/unicode/norm"

	"github.com/camchain/camchain/internal/keys"
)

// DerivationPath is the standard Ethereum BIP-44 path of the first account,
// the one MetaMask, ethers and hardware wallets show first.
const DerivationPath = "m/44'/60'/0'/0/0"

// BIP-39 seed parameters (BIP-39, "From mnemonic to seed").
const (
	seedIterations = 2048
	seedBytes      = 64
	seedSaltPrefix = "mnemonic"
)

// derivationIndexes is DerivationPath as BIP-32 child indexes.
var derivationIndexes = [...]uint32{
	hdkeychain.HardenedKeyStart + 44, // purpose: BIP-44
	hdkeychain.HardenedKeyStart + 60, // coin type: Ether (SLIP-44)
	hdkeychain.HardenedKeyStart + 0,  // account 0
	0,                                // external chain
	0,                                // address index 0
}

// DeriveKey validates a 24-word phrase and returns the key at
// DerivationPath for it and passphrase. Both are NFKD-normalised, as BIP-39
// requires, so a passphrase typed with composed or decomposed accents gives
// the same key. An empty passphrase is valid BIP-39; the CLI asks for one.
func DeriveKey(mnemonic, passphrase string) (*keys.PrivateKey, error) {
	words := splitMnemonic(mnemonic)
	if len(words) != MnemonicWords {
		return nil, &WordCountError{Got: len(words)}
	}
	return deriveAnyLength(mnemonic, passphrase)
}

// deriveAnyLength is DeriveKey for every BIP-39 phrase length. Only tests use
// it directly, to check against published 12-word vectors.
func deriveAnyLength(mnemonic, passphrase string) (*keys.PrivateKey, error) {
	if _, err := decodeWords(splitMnemonic(mnemonic)); err != nil {
		return nil, err
	}
	seed, err := bip39Seed(mnemonic, passphrase)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return deriveFromSeed(seed)
}

// bip39Seed is PBKDF2-HMAC-SHA512(password = NFKD(mnemonic),
// salt = "mnemonic" ‖ NFKD(passphrase), 2048 iterations, 64 bytes). The
// mnemonic is first put in canonical form (lower case, single spaces), which
// is what every wallet hashes after splitting the words.
func bip39Seed(mnemonic, passphrase string) ([]byte, error) {
	salt := []byte(seedSaltPrefix + norm.NFKD.String(passphrase))
	defer clear(salt)
	seed, err := pbkdf2.Key(sha512.New, normalizeMnemonic(mnemonic), salt, seedIterations, seedBytes)
	if err != nil {
		return nil, fmt.Errorf("bip39 seed: %w", err)
	}
	return seed, nil
}

// masterKey is the BIP-32 master key for seed. The network parameters only
// affect how the key would print as an xprv; Ethereum uses Bitcoin mainnet's.
func masterKey(seed []byte) (*hdkeychain.ExtendedKey, error) {
	k, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		return nil, fmt.Errorf("bip32 master key: %w", err)
	}
	return k, nil
}

// deriveFromSeed walks DerivationPath with standard BIP-32 derivation
// (Derive pads private keys to 32 bytes; DeriveNonStandard would not).
func deriveFromSeed(seed []byte) (*keys.PrivateKey, error) {
	k, err := masterKey(seed)
	if err != nil {
		return nil, err
	}
	for _, i := range derivationIndexes {
		child, err := k.Derive(i)
		if err != nil {
			return nil, fmt.Errorf("bip32 derive %s: %w", DerivationPath, err)
		}
		k.Zero() // the child holds copies; wipe each parent as we go
		k = child
	}
	defer k.Zero()
	ec, err := k.ECPrivKey()
	if err != nil {
		return nil, fmt.Errorf("bip32 derive %s: %w", DerivationPath, err)
	}
	raw := ec.Serialize() // 32 bytes, big-endian, zero-padded
	defer clear(raw)
	ec.Zero()
	priv, err := keys.FromBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("bip32 derive %s: %w", DerivationPath, err)
	}
	return priv, nil
}
