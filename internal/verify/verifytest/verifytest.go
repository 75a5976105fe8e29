// Package verifytest builds real feed chains for tests and benchmarks of
// `camchain verify`: records signed by a real camera key over real segment
// bytes (the built-in sample's fMP4 segments, or random bytes), written
// with internal/store, and checkpoint transactions signed by the camera
// over the RFC 6962 tree of the records, as the agent makes them.
package verifytest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/media"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify"
)

// Codec is the codec string of random-byte segments.
const Codec = "avc1.4d401e"

// Chain is a camera's chain in one epoch, held in memory.
type Chain struct {
	Key      *keys.PrivateKey
	Epoch    uint64
	Records  []*feedchain.Record
	Segments [][]byte
	Tree     *checkpoint.Tree
}

// NewChain starts an empty chain for key in epoch.
func NewChain(key *keys.PrivateKey, epoch uint64) *Chain {
	return &Chain{Key: key, Epoch: epoch, Tree: checkpoint.NewTree()}
}

// Append signs the record of data as the chain's next one.
func (c *Chain) Append(data []byte, start time.Time, dur time.Duration, codec string) error {
	r := &feedchain.Record{Camera: c.Key.Address(), Epoch: c.Epoch, Seq: uint64(len(c.Records)),
		Segment: feedchain.SegmentHash(data), Start: start.UnixNano(), Duration: dur, Size: uint64(len(data)), Codec: codec}
	if n := len(c.Records); n > 0 {
		r.Prev = c.Records[n-1].Hash()
	}
	if err := r.Sign(c.Key); err != nil {
		return err
	}
	c.Records = append(c.Records, r)
	c.Segments = append(c.Segments, data)
	c.Tree.Append(r.Hash())
	return nil
}

// AppendSample appends n segments of the built-in sample (640×360 H.264,
// 2 s each, fragmented MP4), the first starting at start.
func (c *Chain) AppendSample(n int, start time.Time) error {
	stop := errors.New("enough")
	src := media.SampleSource{Loop: true, Clock: func() time.Time { return start }}
	made := 0
	err := src.Run(context.Background(), func(s media.Segment) error {
		if err := c.Append(s.Data, s.Start, s.Duration, s.Codec); err != nil {
			return err
		}
		if made++; made == n {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		return fmt.Errorf("sample source: %v after %d of %d segments", err, made, n)
	}
	return nil
}

// AppendRandom appends n segments of size random bytes from seed, 2 s
// apart from start.
func (c *Chain) AppendRandom(n, size int, seed byte, start time.Time) error {
	rng := rand.NewChaCha8([32]byte{seed, byte(len(c.Records)), byte(len(c.Records) >> 8)})
	for i := range n {
		data := make([]byte, size)
		rng.Read(data)
		if err := c.Append(data, start.Add(time.Duration(i)*2*time.Second), 2*time.Second, Codec); err != nil {
			return err
		}
	}
	return nil
}

// WriteStore appends the chain to the store in storeDir (creating it) and
// closes the store. It returns the chain's directory.
func (c *Chain) WriteStore(storeDir string) (string, error) {
	st, err := store.Open(storeDir, store.Options{})
	if err != nil {
		return "", err
	}
	ch, err := st.Chain(c.Key.Address(), c.Epoch)
	if err == nil {
		for i := ch.Len(); i < uint64(len(c.Records)) && err == nil; i++ {
			err = ch.Append(c.Records[i], c.Segments[i])
		}
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return ChainDir(storeDir, c.Key.Address(), c.Epoch), nil
}

// ChainDir is where a store keeps a chain: <store>/<camera hex>/<epoch>.
func ChainDir(storeDir string, camera keys.Address, epoch uint64) string {
	return filepath.Join(storeDir, fmt.Sprintf("%x", camera[:]), strconv.FormatUint(epoch, 10))
}

// CheckpointMsg is the checkpoint of records first..last, the previous
// checkpoint having ended at first-1, as the agent builds it: root and
// chain head from the chain's tree, consistency proof from the previous
// tree size (empty when first is 0).
func (c *Chain) CheckpointMsg(first, last, periodStart, periodEnd uint64) (*tx.Checkpoint, error) {
	size := last + 1
	root, err := c.Tree.RootAt(size)
	if err != nil {
		return nil, err
	}
	var proof []byte
	if first > 0 {
		p, err := c.Tree.ConsistencyProof(first, size)
		if err != nil {
			return nil, err
		}
		proof = checkpoint.EncodeProof(p)
	}
	return &tx.Checkpoint{Camera: c.Key.Address(), Epoch: c.Epoch, PeriodStart: periodStart, PeriodEnd: periodEnd,
		FirstSeq: first, LastSeq: last, TreeSize: size, Root: root, ChainHead: c.Records[last].Hash(),
		Consistency: proof, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(tx.DefaultTTL)}, nil
}

// SignTx returns the wire bytes of m signed by key for chainID.
func SignTx(evmChainID uint64, m tx.Msg, key *keys.PrivateKey) ([]byte, error) {
	t, err := tx.Sign(evmChainID, m, key)
	if err != nil {
		return nil, err
	}
	return t.Encode()
}

// Ledgered wraps signed checkpoint transactions as a ledger would list
// them: index k at height height0+k, a minute apart from t0.
func Ledgered(raws [][]byte, height0 uint64, t0 time.Time) []verify.Checkpoint {
	out := make([]verify.Checkpoint, len(raws))
	for k, raw := range raws {
		out[k] = verify.Checkpoint{Index: uint64(k), Height: height0 + uint64(k), Time: t0.Add(time.Duration(k) * time.Minute).UTC(),
			TxHash: sha256.Sum256(raw), Tx: raw}
	}
	return out
}

// Checkpoints signs, with the chain's key for chainID, one checkpoint
// ending at each of lastSeqs (ascending), each starting after the one
// before, and lists them as Ledgered does from height 100.
func (c *Chain) Checkpoints(evmChainID uint64, lastSeqs ...uint64) ([]verify.Checkpoint, error) {
	var raws [][]byte
	first := uint64(0)
	for k, last := range lastSeqs {
		m, err := c.CheckpointMsg(first, last, 1_800_000_000+uint64(k)*3600, 1_800_000_000+uint64(k+1)*3600)
		if err != nil {
			return nil, err
		}
		raw, err := SignTx(evmChainID, m, c.Key)
		if err != nil {
			return nil, err
		}
		raws = append(raws, raw)
		first = last + 1
	}
	return Ledgered(raws, 100, time.Unix(1_800_000_000, 0)), nil
}
