// Package keys holds camchain's typed secp256k1 keys and signatures.
//
// Every principal — user, camera, hub — is a secp256k1 key named by its
// Ethereum-style address (EIP-55 checksummed "0x…"). This package is the only
// place that calls the signing primitives: everything else signs a 32-byte
// digest it has already domain-separated (EIP-712 or EIP-191) and gets back a
// Signature in the 65-byte r‖s‖v form every Ethereum wallet produces.
//
// Private keys never print: String and GoString return a redacted form, so a
// key cannot leak through a log line, an error or a panic message.
package keys
