// Package wallet turns an owner's 24 BIP-39 words and passphrase into the
// secp256k1 key that names them on camchain, and keeps that key on disk.
//
// The flow has three steps, one file each:
//
//   - mnemonic.go: 24 English BIP-39 words carry 256 bits of entropy and an
//     8-bit checksum. ValidateMnemonic says exactly what is wrong with a phrase
//     (word count, which word is unknown, checksum) without ever repeating the
//     whole phrase.
//   - derive.go: BIP-39 seed (PBKDF2-HMAC-SHA512, 2048 rounds, salt
//     "mnemonic"+passphrase, both NFKD-normalised) and the standard Ethereum
//     BIP-44 path m/44'/60'/0'/0/0, so the same words and passphrase give the
//     same address in MetaMask, ethers or any other BIP-39 wallet.
//   - keystore.go: the key encrypted in the Web3 Secret Storage v3 format
//     (scrypt + AES-128-CTR, as geth writes it), one key per directory, written
//     atomically and never overwritten.
//
// The words are never written to disk by this package. Errors never contain
// the phrase, the passphrase or key material.
package wallet
