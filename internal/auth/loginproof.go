package auth

import (
	"errors"
	"fmt"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

// ErrLoginProof is wrapped by every refusal of VerifyLoginProof.
var ErrLoginProof = errors.New("login record proof does not verify")

// LoginProof is what a hub hands out to prove a login record: the entry,
// its place in its batch, and the committed batch transaction.
type LoginProof struct {
	Entry   []byte           // the encoded entry (§11.4 record or §11.7 refusal)
	Index   uint64           // its leaf index in the batch
	Path    []feedchain.Hash // RFC 6962 inclusion proof
	BatchTx []byte           // the LoginBatch transaction's wire bytes (§2.3)
}

// VerifyLoginProof checks, from its explicit inputs only, that p.Entry is
// leaf p.Index of the batch p.BatchTx commits, and that the batch is a
// LoginBatch of hub for the ledger of evmChainID, signed by hub. It
// returns the entry and the batch. Whether the batch transaction is
// committed on the ledger is the caller's to check (by its hash, e.g.
// GET /api/v1/txs/{hash} or a light client).
func VerifyLoginProof(p LoginProof, evmChainID uint64, hub keys.Address) (*Entry, *tx.LoginBatch, error) {
	fail := func(format string, a ...any) (*Entry, *tx.LoginBatch, error) {
		return nil, nil, fmt.Errorf("%w: %s", ErrLoginProof, fmt.Sprintf(format, a...))
	}
	t, err := tx.Decode(p.BatchTx)
	if err != nil {
		return fail("batch transaction: %v", err)
	}
	m, ok := t.Msg.(*tx.LoginBatch)
	if !ok {
		return fail("batch transaction is a %s, not a LoginBatch", t.Msg.Type())
	}
	if t.EVMChainID != evmChainID {
		return fail("batch is for chain id %d, not %d", t.EVMChainID, evmChainID)
	}
	if m.Hub != hub {
		return fail("batch is hub %s's, not %s's", m.Hub.Hex(), hub.Hex())
	}
	signers, err := t.Signers()
	if err != nil || signers[0] != hub {
		return fail("batch is not signed by hub %s", hub.Hex())
	}
	e, err := DecodeEntry(p.Entry)
	if err != nil {
		return fail("entry: %v", err)
	}
	if err := checkpoint.VerifyInclusion(p.Index, m.Size, feedchain.Hash(e.Hash()), m.Root, p.Path); err != nil {
		return fail("%v", err)
	}
	return e, m, nil
}
