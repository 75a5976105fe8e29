package keys

// Signer is a secp256k1 key that can sign, wherever it is held: in memory
// (*PrivateKey), or in a TPM or secure element that never lets the
// private key out. Everything that only signs — transactions, feed-chain
// records, the camera link's handshake and acks, a pairing co-signature,
// a login — takes a Signer, so a camera whose hardware holds its key
// passes that instead of a *PrivateKey (agent.Config.Signer).
//
// An implementation must return what PrivateKey.SignDigest returns: the
// 65-byte r ‖ s ‖ v with s in the lower half of the curve order and
// v ∈ {27, 28}, over exactly the digest given (already domain-separated by
// the caller; a hardware signer must not hash it again). Verifiers refuse
// anything else (ErrBadSignature), so a non-conforming device fails
// loudly, never silently. Address must be the address the signatures
// recover to.
type Signer interface {
	Address() Address
	SignDigest(digest [32]byte) (Signature, error)
}

var _ Signer = (*PrivateKey)(nil)

// SignText signs msg as EIP-191 personal_sign does, with any Signer.
func SignText(s Signer, msg []byte) (Signature, error) { return s.SignDigest(TextDigest(msg)) }
