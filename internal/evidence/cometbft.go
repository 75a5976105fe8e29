package evidence

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	"github.com/cometbft/cometbft/crypto/merkle"
	"github.com/cometbft/cometbft/types"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Every CometBFT type and function the bundle format touches is in this
// file: how headers, validator sets, results and transaction proofs are
// carried, and the library calls that check them.

// maxTotalVotingPower is CometBFT's cap on a validator set's total power
// (and so on any one validator's).
const maxTotalVotingPower = uint64(types.MaxTotalVotingPower)

// encodeSignedHeader is the protobuf encoding of cometbft.types.v1.SignedHeader.
func encodeSignedHeader(sh *types.SignedHeader) ([]byte, error) {
	return sh.ToProto().Marshal()
}

// decodeSignedHeader parses encodeSignedHeader's output strictly: it must
// re-encode to the same bytes (so no unknown fields, no non-minimal
// varints), and hold both a header and a commit.
func decodeSignedHeader(b []byte) (*types.SignedHeader, error) {
	var pb cmtproto.SignedHeader
	if err := pb.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("not a protobuf SignedHeader: %w", err)
	}
	if pb.Header == nil || pb.Commit == nil {
		return nil, errors.New("the signed header lacks its header or its commit")
	}
	again, err := pb.Marshal()
	if err != nil || !bytes.Equal(again, b) {
		return nil, errors.New("the signed header is not in canonical protobuf form")
	}
	sh, err := types.SignedHeaderFromProto(&pb)
	if err != nil {
		return nil, err
	}
	return sh, nil
}

// validatorsOf lists a validator set in the bundle's form, in the set's
// order (the order its hash is computed in).
func validatorsOf(set *types.ValidatorSet) []Validator {
	out := make([]Validator, len(set.Validators))
	for i, v := range set.Validators {
		out[i] = Validator{KeyType: v.PubKey.Type(), PubKey: v.PubKey.Bytes(), Power: uint64(v.VotingPower)}
	}
	return out
}

// validatorSet rebuilds a validator set. Validators must be distinct and
// listed in the set's canonical order (power descending, then address
// ascending); the total power must be within CometBFT's cap.
func validatorSet(vs []Validator) (*types.ValidatorSet, error) {
	vals := make([]*types.Validator, len(vs))
	for i, v := range vs {
		pk, err := cryptoenc.PubKeyFromTypeAndBytes(v.KeyType, v.PubKey)
		if err != nil {
			return nil, fmt.Errorf("validator %d: %w", i, err)
		}
		if v.Power == 0 || v.Power > maxTotalVotingPower {
			return nil, fmt.Errorf("validator %d: voting power %d out of range", i, v.Power)
		}
		vals[i] = types.NewValidator(pk, int64(v.Power))
	}
	set, err := newValidatorSet(vals)
	if err != nil {
		return nil, err
	}
	for i, v := range set.Validators {
		if !bytes.Equal(v.Address, vals[i].Address) {
			return nil, errors.New("validators are not in the set's canonical order (power descending, then address)")
		}
	}
	return set, nil
}

// newValidatorSet is types.NewValidatorSet after the checks whose failure
// would make it panic: 1..MaxValidators validators, each with power in
// 1..maxTotalVotingPower, none twice, the total within the cap.
func newValidatorSet(vals []*types.Validator) (*types.ValidatorSet, error) {
	if len(vals) == 0 || len(vals) > MaxValidators {
		return nil, fmt.Errorf("%d validators, want 1..%d", len(vals), MaxValidators)
	}
	seen := make(map[string]bool, len(vals))
	var total uint64
	for i, v := range vals {
		if v.VotingPower <= 0 || uint64(v.VotingPower) > maxTotalVotingPower {
			return nil, fmt.Errorf("validator %d: voting power %d out of range", i, v.VotingPower)
		}
		total += uint64(v.VotingPower) // no overflow: each term < 2^60, at most MaxValidators terms
		if total > maxTotalVotingPower {
			return nil, fmt.Errorf("total voting power over CometBFT's cap of %d", maxTotalVotingPower)
		}
		if seen[string(v.Address)] {
			return nil, fmt.Errorf("validator %X is listed twice", []byte(v.Address))
		}
		seen[string(v.Address)] = true
	}
	return types.NewValidatorSet(vals), nil
}

// GenesisValidatorsHash returns the hash of the validator set a CometBFT
// genesis file (JSON) starts the ledger with: the value to pin when
// verifying bundles, whether or not the validators have changed the set
// since (a version 3 bundle carries the changes from this set on).
func GenesisValidatorsHash(genesisJSON []byte) ([]byte, error) {
	doc, err := types.GenesisDocFromJSON(genesisJSON)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	vals := make([]*types.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		if v.PubKey == nil {
			return nil, fmt.Errorf("genesis validator %d has no public key", i)
		}
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	set, err := newValidatorSet(vals)
	if err != nil {
		return nil, fmt.Errorf("genesis validators: %w", err)
	}
	return set.Hash(), nil
}

// checkCommitAddresses checks that each signature of commit names the
// validator at its position in set. VerifyCommit looks validators up by
// position and does not read the address, which no signature covers.
func checkCommitAddresses(set *types.ValidatorSet, commit *types.Commit) error {
	if len(commit.Signatures) != set.Size() {
		return fmt.Errorf("commit has %d signatures for %d validators", len(commit.Signatures), set.Size())
	}
	for i, s := range commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagAbsent {
			continue // ValidateBasic has checked that it carries no address
		}
		if !bytes.Equal(s.ValidatorAddress, set.Validators[i].Address) {
			return fmt.Errorf("signature %d names validator %X, the set has %X there", i, s.ValidatorAddress, set.Validators[i].Address)
		}
	}
	return nil
}

// verifyCommit checks that more than 2/3 of set's voting power signed the
// commit of block sh and that every signature in the commit is valid.
// This is VerifyCommit, the full check, rather than VerifyCommitLight: the
// light check stops at 2/3 and would leave later signatures unchecked.
func verifyCommit(ledgerChainID string, set *types.ValidatorSet, sh *types.SignedHeader) error {
	if err := checkCommitAddresses(set, sh.Commit); err != nil {
		return err
	}
	return types.VerifyCommit(ledgerChainID, set, sh.Commit.BlockID, sh.Height, sh.Commit)
}

// resultsOf keeps the deterministic part of each result, the part CometBFT
// hashes.
func resultsOf(rs []*abci.ExecTxResult) (Results, error) {
	out := make([]TxResult, len(rs))
	for i, r := range rs {
		d := abci.DeterministicExecTxResult(r)
		out[i] = TxResult{Code: d.Code, Data: d.Data, GasWanted: d.GasWanted, GasUsed: d.GasUsed}
	}
	return NewResults(out)
}

// resultsHash is the LastResultsHash the next block's header carries for
// these results: CometBFT's types.ABCIResults.Hash, the crypto/merkle root
// over each result's protobuf encoding. crypto/merkle's tree is RFC 6962's
// (leaf 0x00, inner 0x01, split at the largest power of two below n), so
// the root is computed leaf by leaf in a compact range: O(log n) memory
// whatever the number of results, where types.NewResults would hold every
// result and every encoding at once. TestResultsHashIsCometBFTs checks it
// against the library.
func resultsHash(rs Results) ([]byte, error) {
	rng := resultsRange.NewEmptyRange(0)
	var buf []byte
	for _, r := range rs.All() {
		pb := abci.ExecTxResult{Code: r.Code, Data: r.Data, GasWanted: r.GasWanted, GasUsed: r.GasUsed}
		buf = slices.Grow(buf[:0], pb.Size())[:pb.Size()]
		if _, err := pb.MarshalToSizedBuffer(buf); err != nil {
			return nil, fmt.Errorf("encode a result: %w", err)
		}
		if err := rng.Append(rfc6962.DefaultHasher.HashLeaf(buf), nil); err != nil {
			return nil, err
		}
	}
	if rs.Len() == 0 {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	return rng.GetRootHash(nil)
}

var resultsRange = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// txProofOf converts CometBFT's proof (its Data is the transaction, kept
// beside it in the bundle).
func txProofOf(p types.TxProof) TxProof {
	return TxProof{RootHash: p.RootHash, Total: uint64(p.Proof.Total), Index: uint64(p.Proof.Index),
		LeafHash: p.Proof.LeafHash, Aunts: p.Proof.Aunts}
}

// cometbft returns the proof as CometBFT's type for transaction raw.
// Total and Index are at most MaxResults (check), so they fit an int64.
func (p *TxProof) cometbft(raw []byte) types.TxProof {
	return types.TxProof{RootHash: p.RootHash, Data: raw, Proof: merkle.Proof{
		Total: int64(p.Total), Index: int64(p.Index), LeafHash: p.LeafHash, Aunts: p.Aunts}}
}

// txLeafHash is the leaf of transaction raw in a block's data tree:
// SHA-256(0x00 ‖ SHA-256(raw)) (CometBFT hashes each transaction, then
// hashes that as an RFC 6962 leaf).
func txLeafHash(raw []byte) []byte {
	h := sha256.Sum256(raw)
	l := sha256.Sum256(append([]byte{0}, h[:]...))
	return l[:]
}

// txHash is CometBFT's transaction hash, SHA-256 of its bytes.
func txHash(raw []byte) []byte { return types.Tx(raw).Hash() }
