package evidence

import (
	"fmt"
	"strings"
	"time"
)

// Report is what Verify proved, for people (String) and programs (JSON).
type Report struct {
	LedgerChainID string `json:"chain_id"`
	Camera        string `json:"camera"`
	Epoch         uint64 `json:"epoch"`
	// Stream is the camera stream whose chain the bundle's clips are of
	// ("main" or "sub"), named by its checkpoints' type.
	Stream string `json:"stream"`
	// ValidatorsHashes are the validator sets that signed the bundle's
	// blocks (upper-case hex, as CometBFT prints them); one for a ledger
	// whose set never changed.
	ValidatorsHashes []string `json:"validators_hashes"`
	// Pinned says the verifier pinned the validator set: the blocks are the
	// ledger's. When false, the bundle is only self-consistent.
	Pinned bool `json:"pinned"`
	// GenesisValidatorsHash (version 3) is the set the bundle's history
	// starts from: with a pin, the pinned one.
	GenesisValidatorsHash string `json:"genesis_validators_hash,omitempty"`
	// ValidatorChanges (version 3) are the changes of the validator set
	// from the genesis to the bundle's blocks, each signed by more than 2/3
	// of the set before it.
	ValidatorChanges []ValidatorChangeFact `json:"validator_changes,omitempty"`
	Checkpoints      []CheckpointFact      `json:"checkpoints"`
	Clips            []ClipFact            `json:"clips"`
	// Origin is the name of the camera's log in this epoch, the first line
	// of every checkpoint witnesses cosign (SPEC §16.1).
	Origin string `json:"origin"`
	// TrustedWitnesses are the witness keys the verifier trusted.
	TrustedWitnesses []string `json:"trusted_witnesses,omitempty"`
	// Missing are the records between the first and the last clip that
	// the bundle leaves out.
	Missing []SeqRange `json:"missing,omitempty"`
}

// CheckpointFact is one verified ledger checkpoint.
type CheckpointFact struct {
	Height         int64  `json:"height"`
	BlockTime      string `json:"block_time"`
	TxHash         string `json:"tx_hash"`
	TxIndex        uint64 `json:"tx_index"`
	PeriodStart    string `json:"period_start"`
	PeriodEnd      string `json:"period_end"`
	FirstSeq       uint64 `json:"first_seq"`
	LastSeq        uint64 `json:"last_seq"`
	TreeSize       uint64 `json:"tree_size"`
	Root           string `json:"root"`
	ValidatorsHash string `json:"validators_hash"`
	Validators     int    `json:"validators"`
	VotingPower    int64  `json:"voting_power"`
	// AppHashAfter is the ledger's application hash after block H (from
	// header H+1).
	AppHashAfter string `json:"app_hash_after"`
	// Linked: its place in the epoch is proved (checkpoint.VerifySuccession)
	// — it is the epoch's first, or it starts right after the bundle's
	// previous checkpoint and its consistency proof from that one's tree
	// verified. Otherwise NotChecked says what the bundle did not allow to
	// check.
	Linked     bool   `json:"linked"`
	NotChecked string `json:"not_checked,omitempty"`
	// Witnesses are the valid cosignatures of this checkpoint's tree.
	Witnesses []WitnessFact `json:"witnesses,omitempty"`
	// Timestamps are the valid RFC 3161 timestamps of its tree.
	Timestamps []TimestampFact `json:"timestamps,omitempty"`
}

// TimestampFact is one verified RFC 3161 timestamp: at Time (the TSA's
// clock) this tree of the camera's log existed, by the word of Signer.
type TimestampFact struct {
	Time   string `json:"time"`
	Signer string `json:"signer"` // the TSA certificate's subject
	Serial string `json:"serial"`
	// Trusted: the signer chains to a TSA certificate the verifier trusts.
	Trusted bool `json:"trusted"`
}

// WitnessFact is one verified witness cosignature: at Time (the witness's
// clock) the witness had seen this tree, consistent with every earlier
// tree of the camera's log it saw.
type WitnessFact struct {
	Name string `json:"name"`
	Key  string `json:"key"` // its verifier key (SPEC §16.3)
	Time string `json:"time"`
	// Trusted: the key is one the verifier trusts. An untrusted one proves
	// nothing to a stranger: anyone can make a witness key.
	Trusted bool `json:"trusted"`
}

// ClipFact is one verified clip.
type ClipFact struct {
	Seq        uint64  `json:"seq"`
	Start      string  `json:"start"`
	Duration   float64 `json:"duration_seconds"`
	Size       uint64  `json:"size"`
	SHA256     string  `json:"sha256"`
	RecordHash string  `json:"record_hash"`
	Codec      string  `json:"codec"`
	// Clock is where the record's start time comes from (record v2):
	// "rtcp", the camera's clock from its RTCP sender reports;
	// "arrival", the recording machine's clock when the frames arrived;
	// "arrival-ntp", that clock while its kernel said an NTP client kept
	// it in step; empty when the record (version 1) does not say. All are
	// the camera's word (SECURITY.md).
	Clock            string `json:"clock,omitempty"`
	Checkpoint       int    `json:"checkpoint"` // index in Checkpoints
	CheckpointHeight int64  `json:"checkpoint_height"`
	// Sealed: the clip is end-to-end encrypted (SPEC §17.2): verified as
	// its sealed bytes, which play only with its segment key.
	Sealed bool `json:"sealed,omitempty"`
	// Revealed: the bundle reveals the clip's segment key (version 4) and
	// it opens the clip: the clip plays.
	Revealed bool `json:"revealed,omitempty"`
}

// SeqRange is the records First..Last (inclusive).
type SeqRange struct {
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
}

// sealed counts the sealed clips and those of them revealed.
func (r *Report) sealed() (n, revealed int) {
	for _, c := range r.Clips {
		if c.Sealed {
			n++
		}
		if c.Revealed {
			revealed++
		}
	}
	return n, revealed
}

// witnessed counts the checkpoints cosigned by a trusted witness.
func (r *Report) witnessed() int {
	n := 0
	for _, c := range r.Checkpoints {
		for _, w := range c.Witnesses {
			if w.Trusted {
				n++
				break
			}
		}
	}
	return n
}

func missing(clips []ClipFact) []SeqRange {
	var out []SeqRange
	for i := 1; i < len(clips); i++ {
		if a, b := clips[i-1].Seq, clips[i].Seq; b > a+1 {
			out = append(out, SeqRange{a + 1, b - 1})
		}
	}
	return out
}

// String says in plain words what was proved, and what was not.
func (r *Report) String() string {
	var s strings.Builder
	first, last := r.Clips[0], r.Clips[len(r.Clips)-1]
	end := first.Start
	if t, err := time.Parse(time.RFC3339Nano, last.Start); err == nil {
		end = t.Add(time.Duration(last.Duration * float64(time.Second))).Format(time.RFC3339Nano)
	}
	head := "VERIFIED"
	if !r.Pinned {
		head = "SELF-CONSISTENT ONLY, NOT VERIFIED AGAINST THE LEDGER"
	}
	fmt.Fprintf(&s, "%s: %d clip(s) of camera %s, epoch %d, %s stream, records #%d–#%d, recorded %s to %s.\n",
		head, len(r.Clips), r.Camera, r.Epoch, r.Stream, first.Seq, last.Seq, first.Start, end)
	fmt.Fprintf(&s, "\nWhat this bundle proves:\n")
	fmt.Fprintf(&s, "  - Each clip's bytes have the size and SHA-256 its feed-chain record states, and\n")
	fmt.Fprintf(&s, "    each record is signed by camera %s.\n", r.Camera)
	fmt.Fprintf(&s, "  - Each record is the leaf at its sequence number of the Merkle tree (RFC 6962) whose\n")
	fmt.Fprintf(&s, "    root and size the camera signed in a Checkpoint transaction.\n")
	fmt.Fprintf(&s, "  - Each Checkpoint transaction is in a block of ledger %s that the ledger applied\n", r.LedgerChainID)
	fmt.Fprintf(&s, "    (result code 0), and that block and the next are signed by more than 2/3 of the\n")
	fmt.Fprintf(&s, "    voting power of validator set %s.\n", strings.Join(r.ValidatorsHashes, ", "))
	for _, c := range r.ValidatorChanges {
		fmt.Fprintf(&s, "  - At block %d (%s) the ledger's validator set changed from %s to %s\n", c.Height, c.BlockTime, c.From, c.To)
		fmt.Fprintf(&s, "    (%d validator(s), voting power %d): that block is signed by more than 2/3 of the voting\n", c.Validators, c.VotingPower)
		fmt.Fprintf(&s, "    power of the set before it, and the new set signs from block %d on.\n", c.Height+1)
	}
	switch {
	case r.Pinned && len(r.ValidatorChanges) > 0:
		fmt.Fprintf(&s, "  - The first set, %s, is the one you pinned: each later set was handed the\n", r.GenesisValidatorsHash)
		fmt.Fprintf(&s, "    ledger by the one before it, so these blocks are the ledger's.\n")
	case r.Pinned:
		fmt.Fprintf(&s, "  - That validator set is the one you pinned: these blocks are the ledger's.\n")
	default:
		what := strings.Join(r.ValidatorsHashes, ", ")
		if r.GenesisValidatorsHash != "" {
			what = r.GenesisValidatorsHash + ", where the bundle's history of the set starts,"
		}
		fmt.Fprintf(&s, "\nNOT PINNED — what was not proven: that validator set %s is the ledger's,\n", what)
		fmt.Fprintf(&s, "so not that these blocks, checkpoints or clips are on the real ledger at all. The set was\n")
		fmt.Fprintf(&s, "taken from the bundle itself: anyone can run a private chain with a validator key of their\n")
		fmt.Fprintf(&s, "own and make such a bundle. Obtain the ledger's genesis file or validator-set hash from a\n")
		fmt.Fprintf(&s, "source you trust and verify again with --genesis or --validators-hash.\n")
	}
	switch n := r.witnessed(); {
	case n == len(r.Checkpoints):
		fmt.Fprintf(&s, "  - Each checkpoint's tree was cosigned by a witness you trust (listed below): someone\n")
		fmt.Fprintf(&s, "    outside the owner's control saw this history by the time it signed, as a prefix of\n")
		fmt.Fprintf(&s, "    everything it saw of log %s.\n", r.Origin)
	case len(r.TrustedWitnesses) == 0:
		fmt.Fprintf(&s, "\nNOT WITNESSED — no trusted witness was given (--witness), so nothing proves that\n")
		fmt.Fprintf(&s, "anyone outside the owner's control saw this history when it was made: an owner who runs the\n")
		fmt.Fprintf(&s, "ledger's only validator could have made it later. Cosignatures in the bundle are listed below.\n")
	}
	fmt.Fprintf(&s, "\nIt does not prove that the camera's clock was right (times are the camera's; each clip\n")
	fmt.Fprintf(&s, "says whether its time came from the camera's RTCP clock or the recorder's arrival clock), nor\n")
	fmt.Fprintf(&s, "anything about records not in the bundle.\n")
	if len(r.Missing) > 0 {
		var parts []string
		for _, m := range r.Missing {
			if m.First == m.Last {
				parts = append(parts, fmt.Sprintf("#%d", m.First))
			} else {
				parts = append(parts, fmt.Sprintf("#%d–#%d", m.First, m.Last))
			}
		}
		fmt.Fprintf(&s, "The bundle leaves out records %s between its first and last clip.\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(&s, "\nCheckpoints:\n")
	for i, c := range r.Checkpoints {
		fmt.Fprintf(&s, "  [%d] block %d at %s, tx %s: records #%d–#%d, period %s to %s, tree size %d, root %s\n",
			i, c.Height, c.BlockTime, c.TxHash, c.FirstSeq, c.LastSeq, c.PeriodStart, c.PeriodEnd, c.TreeSize, c.Root)
		fmt.Fprintf(&s, "      signed by validator set %s (%d validator(s), voting power %d)\n", c.ValidatorsHash, c.Validators, c.VotingPower)
		switch {
		case c.Linked && c.FirstSeq == 0:
			fmt.Fprintf(&s, "      the first checkpoint of its epoch\n")
		case c.Linked:
			fmt.Fprintf(&s, "      extends checkpoint [%d] (consistency proof verified)\n", i-1)
		default:
			fmt.Fprintf(&s, "      not proven: %s\n", c.NotChecked)
		}
		for _, w := range c.Witnesses {
			trust := "a witness you trust"
			if !w.Trusted {
				trust = "NOT a witness you trust"
			}
			fmt.Fprintf(&s, "      cosigned by witness %s at %s (%s; key %s)\n", w.Name, w.Time, trust, w.Key)
		}
		if len(c.Witnesses) == 0 {
			fmt.Fprintf(&s, "      no witness cosignature\n")
		}
		for _, ts := range c.Timestamps {
			trust := "a TSA you trust"
			if !ts.Trusted {
				trust = "NOT a TSA you trust"
			}
			fmt.Fprintf(&s, "      timestamped at %s by %s (%s; serial %s)\n", ts.Time, ts.Signer, trust, ts.Serial)
		}
	}
	fmt.Fprintf(&s, "\nClips:\n")
	for _, c := range r.Clips {
		clock := ""
		if c.Clock != "" {
			clock = ", clock " + c.Clock
		}
		play := ""
		switch {
		case c.Revealed:
			play = "  sealed, revealed: playable"
		case c.Sealed:
			play = "  sealed: not playable without its key"
		}
		fmt.Fprintf(&s, "  #%-6d %s  %6.3fs  %9d bytes  sha256 %s  (checkpoint %d%s)%s\n",
			c.Seq, c.Start, c.Duration, c.Size, c.SHA256, c.Checkpoint, clock, play)
	}
	if n, k := r.sealed(); n > 0 {
		fmt.Fprintf(&s, "\n%d of the %d clip(s) are end-to-end encrypted (sealed): verified as their sealed bytes; ", n, len(r.Clips))
		switch {
		case k == n:
			fmt.Fprintf(&s, "the bundle reveals the\nsegment key of each, which opens it (and no other segment): they play.\n")
		case k > 0:
			fmt.Fprintf(&s, "the bundle reveals the\nsegment keys of %d, which open them (and no other segment): those play, the others do not.\n", k)
		default:
			fmt.Fprintf(&s, "the bundle reveals no\nkey, so they do not play (the owner can export them with --reveal).\n")
		}
	}
	return s.String()
}
