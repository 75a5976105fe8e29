package evidence

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/types"
)

// The validator set's history (version 3, docs/SPEC.md §10.2, §3.6): the
// chain of trust from the genesis set, whose hash a stranger pins, to the
// sets that signed the bundle's blocks.
//
// CometBFT applies a change the application returns in block V's
// FinalizeBlock from block V+2 on: block L = V+1 is the first header whose
// NextValidatorsHash names the new set, and it is still signed by the old
// set. So each link is L's signed header, whose commit carries more than
// 2/3 of the old set's power, with the new set. A verifier that trusts the
// old set accepts the new one only through that signature: the check
// CometBFT's light client makes of an adjacent header
// (light.VerifyAdjacent: the trusted NextValidatorsHash names the set, the
// set signs), with the one header that names the change in place of every
// header between two changes, which all name the same set.

// History is the chain of validator sets from the genesis to a bundle's
// blocks (version 3).
type History struct {
	_ struct{} `cbor:",toarray"`
	// Genesis is the genesis validator set, in the set's order: the set a
	// verifier pins (by its hash) and starts from.
	Genesis []Validator
	// Links are the changes of the set, in increasing height: each the
	// signed header of the block that first names the new set as its next
	// one, and that set.
	Links []Link
}

// Link is one change of the validator set.
type Link struct {
	_ struct{} `cbor:",toarray"`
	// Header is block L's signed header (protobuf cometbft.types.v1.SignedHeader):
	// its ValidatorsHash is the set before the change, its commit is signed
	// by more than 2/3 of that set's power, and its NextValidatorsHash is
	// the hash of Validators.
	Header []byte
	// Validators is the new set, which signs the blocks from L+1 on (until
	// the next link), in the set's order.
	Validators []Validator
}

// HistoryError says which link of a bundle's history failed and why.
type HistoryError struct {
	Link   int    // position in History.Links; -1 for the genesis set
	Height int64  // the link's block, once its header is read; 0 before
	Kind   error  // ErrHistory or ErrNotPinned
	Reason string // what exactly, with expected and actual values
	Err    error  // the underlying error (CometBFT's), if any
}

func (e *HistoryError) Error() string {
	where := "the genesis validator set"
	if e.Link >= 0 {
		where = fmt.Sprintf("validator-set change %d", e.Link)
		if e.Height > 0 {
			where += fmt.Sprintf(" (block %d)", e.Height)
		}
	}
	return fmt.Sprintf("%s: %v: %s", where, e.Kind, e.Reason)
}

// Is makes errors.Is(err, Kind) true.
func (e *HistoryError) Is(target error) bool { return target == e.Kind }

func (e *HistoryError) Unwrap() error { return e.Err }

// ValidatorChangeFact is one verified change of the validator set.
type ValidatorChangeFact struct {
	// Height is block L, the first to name the new set as its next one,
	// signed by more than 2/3 of the set before; the new set signs from
	// Height+1.
	Height    int64  `json:"height"`
	BlockTime string `json:"block_time"`
	// From and To are the sets' hashes (upper-case hex).
	From        string `json:"from"`
	To          string `json:"to"`
	Validators  int    `json:"validators"`
	VotingPower int64  `json:"voting_power"`
}

// setHistory is what a verified history proves: sets[k] signs the blocks
// from from[k] on (until from[k+1]).
type setHistory struct {
	hashes [][]byte
	from   []int64
}

// hashAt is the hash of the set that signs block height.
func (h *setHistory) hashAt(height int64) []byte {
	k := 0
	for k+1 < len(h.from) && h.from[k+1] <= height {
		k++
	}
	return h.hashes[k]
}

// lastLink is the height of the last change's block (0 for none).
func (h *setHistory) lastLink() int64 { return h.from[len(h.from)-1] - 1 }

func (h *History) check() error {
	if err := checkValidators(h.Genesis); err != nil {
		return fmt.Errorf("genesis validators: %w", err)
	}
	if len(h.Links) == 0 || len(h.Links) > MaxValidatorChanges {
		return fmt.Errorf("%d validator-set changes, want 1..%d", len(h.Links), MaxValidatorChanges)
	}
	for i := range h.Links {
		l := &h.Links[i]
		if len(l.Header) == 0 || len(l.Header) > MaxHeaderBytes {
			return fmt.Errorf("change %d: header of %d bytes, want 1..%d", i, len(l.Header), MaxHeaderBytes)
		}
		if err := checkValidators(l.Validators); err != nil {
			return fmt.Errorf("change %d: validators: %w", i, err)
		}
	}
	return nil
}

// verifyHistory walks the history from its genesis set (which must be the
// pinned one, with a pin): each link's header is of the bundle's chain,
// well formed, not from the future, above the one before, signed by the
// current set (its ValidatorsHash, and a commit of more than 2/3 of its
// power with every signature valid), and names as its next set the set
// the link carries, a different one, which becomes the current set from
// the next block on.
func verifyHistory(b *Bundle, opts Options) (*setHistory, []ValidatorChangeFact, string, error) {
	h := b.History
	fail := func(link int, height int64, kind, err error, format string, a ...any) (*setHistory, []ValidatorChangeFact, string, error) {
		return nil, nil, "", &HistoryError{Link: link, Height: height, Kind: kind, Reason: fmt.Sprintf(format, a...), Err: err}
	}
	cur, err := validatorSet(h.Genesis)
	if err != nil {
		return fail(-1, 0, ErrHistory, err, "%v", err)
	}
	genesis := fmt.Sprintf("%X", cur.Hash())
	if pin := opts.PinnedValidatorsHash; len(pin) > 0 && !bytes.Equal(cur.Hash(), pin) {
		return fail(-1, 0, ErrNotPinned, nil, "the history starts from validator set %X, the pinned set is %X", cur.Hash(), pin)
	}
	sets := &setHistory{hashes: [][]byte{cur.Hash()}, from: []int64{1}}
	var facts []ValidatorChangeFact
	var prev int64
	for i := range h.Links {
		l := &h.Links[i]
		sh, err := decodeSignedHeader(l.Header)
		if err != nil {
			return fail(i, 0, ErrHistory, err, "the header: %v", err)
		}
		height := sh.Height
		switch {
		case sh.ChainID != b.LedgerChainID:
			return fail(i, height, ErrHistory, nil, "a block of chain %q, not %q", sh.ChainID, b.LedgerChainID)
		case height <= prev:
			return fail(i, height, ErrHistory, nil, "block %d does not follow the change before it at block %d: changes must be in increasing height", height, prev)
		}
		if err := sh.ValidateBasic(b.LedgerChainID); err != nil {
			return fail(i, height, ErrHistory, err, "the header: %v", err)
		}
		if !opts.Now.IsZero() && sh.Time.After(opts.Now.Add(MaxClockSkew)) {
			return fail(i, height, ErrHistory, nil, "block %d is dated %s, after the verifier's clock (%s)", height,
				sh.Time.UTC().Format(time.RFC3339), opts.Now.UTC().Format(time.RFC3339))
		}
		if !bytes.Equal(sh.ValidatorsHash, cur.Hash()) {
			return fail(i, height, ErrHistory, nil, "block %d is signed by validator set %X, the history's set at that height is %X: a change before it is missing, or the changes are out of order",
				height, []byte(sh.ValidatorsHash), cur.Hash())
		}
		next, err := validatorSet(l.Validators)
		if err != nil {
			return fail(i, height, ErrHistory, err, "the new set: %v", err)
		}
		switch {
		case !bytes.Equal(sh.NextValidatorsHash, next.Hash()):
			return fail(i, height, ErrHistory, nil, "block %d names %X as the next validator set, the change carries %X", height, []byte(sh.NextValidatorsHash), next.Hash())
		case bytes.Equal(next.Hash(), cur.Hash()):
			return fail(i, height, ErrHistory, nil, "block %d names the same validator set %X as its next one: not a change", height, cur.Hash())
		}
		if err := verifyCommit(b.LedgerChainID, cur, sh); err != nil {
			return fail(i, height, ErrHistory, err, "block %d, which hands the ledger to validator set %X, is not signed by more than 2/3 of the voting power of the set before it (%X): %v",
				height, next.Hash(), cur.Hash(), err)
		}
		facts = append(facts, ValidatorChangeFact{Height: height, BlockTime: sh.Time.UTC().Format(time.RFC3339Nano),
			From: fmt.Sprintf("%X", cur.Hash()), To: fmt.Sprintf("%X", next.Hash()), Validators: next.Size(), VotingPower: next.TotalVotingPower()})
		sets.hashes = append(sets.hashes, next.Hash())
		sets.from = append(sets.from, height+1)
		cur, prev = next, height
	}
	return sets, facts, genesis, nil
}

// checkBlockSet checks that block height of checkpoint i is signed by the
// set the history gives at that height.
func checkBlockSet(sets *setHistory, name string, height int64, hash []byte) error {
	if want := sets.hashAt(height); !bytes.Equal(hash, want) {
		return fmt.Errorf("block %s (%d) is signed by validator set %X, the bundle's history from the genesis set gives %X at that height: a change before it is missing from the history",
			name, height, hash, want)
	}
	return nil
}

// historyOf builds the history of a bundle whose last block is upTo: the
// genesis set and every change at or below upTo (nil when there is none:
// the bundle is then of version 1 or 2).
func historyOf(genesis *types.ValidatorSet, links []Link) *History {
	if len(links) == 0 {
		return nil
	}
	return &History{Genesis: validatorsOf(genesis), Links: links}
}
