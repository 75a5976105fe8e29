// Package evidencetest gives tests and benchmarks a real hub holding a
// camera's chain under real ledger checkpoints, from which to export
// evidence bundles. It is not used by any program.
package evidencetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/media"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
)

// Codec is the codec string of the fixture's records.
const Codec = "avc1.4d401e"

// StartHub initialises a hub in dir and starts it on loopback ports. The
// caller closes it.
func StartHub(dir string) (*hub.Hub, error) {
	return StartHubConfig(hub.Config{DataDir: dir})
}

// StartHubConfig is StartHub with more of the hub's configuration; the
// data directory and loopback ports are filled in as StartHub does.
func StartHubConfig(cfg hub.Config) (*hub.Hub, error) {
	if _, err := hub.Init(hub.Config{DataDir: cfg.DataDir}, ""); err != nil {
		return nil, err
	}
	cfg.HTTPAddr, cfg.LinkAddr = "127.0.0.1:0", "127.0.0.1:0"
	return hub.Start(cfg)
}

// PinnedValidatorsHash is the hash of the validator set in the genesis file
// of the hub whose data directory is dir: what a verifier pins.
func PinnedValidatorsHash(dir string) ([]byte, error) {
	g, err := os.ReadFile(filepath.Join(dir, "ledger", "config", "genesis.json"))
	if err != nil {
		return nil, err
	}
	return evidence.GenesisValidatorsHash(g)
}

// Camera is a camera imprinted on the hub's ledger whose chain the test
// writes straight into the hub's store, committing checkpoints over it
// through the API as the camera agent would.
type Camera struct {
	Hub      *hub.Hub
	URL      string
	Client   *api.Client
	Chain    uint64 // EIP-712 chain id
	Key      *keys.PrivateKey
	Owner    *keys.PrivateKey
	Records  []*feedchain.Record
	Segments [][]byte
	Tree     *checkpoint.Tree
	// Stream is the chain this Camera writes and exports: main, or the
	// sub stream for the Camera that Sub returns.
	Stream feedchain.Stream
	// Seal, when set, turns each segment RecordSample records into the
	// bytes stored and hashed (end-to-end encryption, SPEC §17.2).
	Seal func(seq uint64, data []byte) ([]byte, error)

	creds       *api.KeyCredentials // the owner's login: reads need one
	checkpoints int                 // committed
	lastSize    uint64              // tree size of the last checkpoint
	lastEnd     uint64              // period end of the last checkpoint
}

// NewCamera imprints a fresh camera (owned by a fresh key) on h.
func NewCamera(ctx context.Context, h *hub.Hub) (*Camera, error) {
	base := "http://" + h.Addr()
	c, err := api.NewClient(base)
	if err != nil {
		return nil, err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	cam, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	owner, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	f := &Camera{Hub: h, URL: base, Client: c, Chain: st.EVMChainID, Key: cam, Owner: owner, Tree: checkpoint.NewTree(),
		creds: &api.KeyCredentials{Key: owner}}
	c.WithCredentials(f.creds) // the client reads as the owner
	if err := f.submit(ctx, &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: h.Address(),
		Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}, owner, cam); err != nil {
		return nil, fmt.Errorf("imprint: %w", err)
	}
	return f, nil
}

// Sub is the same camera's sub-stream chain (its own records, tree and
// checkpoint series: SPEC §6.5), written and exported by the Camera it
// returns.
func (f *Camera) Sub() *Camera {
	return &Camera{Hub: f.Hub, URL: f.URL, Client: f.Client, Chain: f.Chain, Key: f.Key, Owner: f.Owner,
		Tree: checkpoint.NewTree(), Stream: feedchain.StreamSub, creds: f.creds}
}

func (f *Camera) submit(ctx context.Context, m tx.Msg, signers ...*keys.PrivateKey) error {
	s, err := tx.Sign(f.Chain, m, signers...)
	if err != nil {
		return err
	}
	raw, err := s.Encode()
	if err != nil {
		return err
	}
	_, err = f.Client.Submit(ctx, raw)
	return err
}

// Record appends n records of random segments of size bytes, each dur
// long, the first starting at start, to the hub's store (epoch 0).
func (f *Camera) Record(n int, start time.Time, dur time.Duration, size int) error {
	segs := make([][]byte, n)
	for i := range segs {
		segs[i] = make([]byte, size)
		if _, err := io.ReadFull(rand.Reader, segs[i]); err != nil {
			return err
		}
	}
	return f.RecordData(segs, start, dur, Codec)
}

// RecordData appends a record of each segment (real video, say), each dur
// long, the first starting at start, to the hub's store (epoch 0).
func (f *Camera) RecordData(segs [][]byte, start time.Time, dur time.Duration, codec string) error {
	chain, err := f.Hub.Store().StreamChain(store.ChainRef{Camera: f.Key.Address(), Stream: f.Stream})
	if err != nil {
		return err
	}
	for i, data := range segs {
		r := &feedchain.Record{Camera: f.Key.Address(), Seq: uint64(len(f.Records)), Segment: feedchain.SegmentHash(data),
			Start: start.Add(time.Duration(i) * dur).UnixNano(), Duration: dur, Size: uint64(len(data)), Codec: codec}
		if f.Stream != feedchain.StreamMain {
			r.Version, r.Stream, r.Clock = feedchain.Version2, f.Stream, feedchain.ClockArrival // streams other than main need record v2
		}
		if k := len(f.Records); k > 0 {
			r.Prev = f.Records[k-1].Hash()
		}
		if err := r.Sign(f.Key); err != nil {
			return err
		}
		if err := chain.Append(r, data); err != nil {
			return err
		}
		f.Records = append(f.Records, r)
		f.Segments = append(f.Segments, data)
		f.Tree.Append(r.Hash())
	}
	return nil
}

// RecordSample appends n segments of the built-in sample (640×360 H.264,
// 2 s, self-contained fMP4, internal/media), the first starting at start,
// to the hub's store; skip, when not nil, drops the segments it names
// (their time becomes a gap, in the records and on the video's decode
// timeline alike). A second call starts the sample's decode time again,
// as a restarted agent does.
func (f *Camera) RecordSample(n int, start time.Time, skip func(i int) bool) error {
	chain, err := f.Hub.Store().Chain(f.Key.Address(), 0)
	if err != nil {
		return err
	}
	stop := fmt.Errorf("enough")
	src := media.SampleSource{Loop: true, Clock: func() time.Time { return start }}
	i := 0
	err = src.Run(context.Background(), func(s media.Segment) error {
		if i == n {
			return stop
		}
		i++
		if skip != nil && skip(i-1) {
			return nil
		}
		if f.Seal != nil {
			sealed, err := f.Seal(uint64(len(f.Records)), s.Data)
			if err != nil {
				return err
			}
			s.Data = sealed
		}
		r := &feedchain.Record{Camera: f.Key.Address(), Seq: uint64(len(f.Records)), Segment: feedchain.SegmentHash(s.Data),
			Start: s.Start.UnixNano(), Duration: s.Duration, Size: uint64(len(s.Data)), Codec: s.Codec}
		if k := len(f.Records); k > 0 {
			r.Prev = f.Records[k-1].Hash()
		}
		if err := r.Sign(f.Key); err != nil {
			return err
		}
		if err := chain.Append(r, s.Data); err != nil {
			return err
		}
		f.Records = append(f.Records, r)
		f.Segments = append(f.Segments, s.Data)
		f.Tree.Append(r.Hash())
		return nil
	})
	if i != n {
		return fmt.Errorf("sample source: %v after %d of %d segments", err, i, n)
	}
	return nil
}

// Checkpoint commits, signed by the camera, a checkpoint over every record
// not yet under one, with the consistency proof from the previous one.
func (f *Camera) Checkpoint(ctx context.Context) error {
	size := f.Tree.Size()
	if size == f.lastSize {
		return fmt.Errorf("no new records to checkpoint")
	}
	first, last := f.Records[f.lastSize], f.Records[size-1]
	start := max(uint64(first.StartTime().Unix()), f.lastEnd)
	end := uint64(last.StartTime().Add(last.Duration + time.Second - 1).Unix())
	end = max(end, start+1)
	root, err := f.Tree.RootAt(size)
	if err != nil {
		return err
	}
	var cons []byte
	if f.lastSize > 0 {
		p, err := f.Tree.ConsistencyProof(f.lastSize, size)
		if err != nil {
			return err
		}
		cons = checkpoint.EncodeProof(p)
	}
	m := &tx.Checkpoint{Stream: f.Stream, Camera: f.Key.Address(), PeriodStart: start, PeriodEnd: end,
		FirstSeq: f.lastSize, LastSeq: size - 1, TreeSize: size, Root: root, ChainHead: last.Hash(),
		Consistency: cons, Nonce: tx.NewNonce(), Expiry: tx.ExpiryIn(time.Minute)}
	if err := f.submit(ctx, m, f.Key); err != nil {
		return fmt.Errorf("checkpoint %d: %w", f.checkpoints, err)
	}
	f.checkpoints++
	f.lastSize, f.lastEnd = size, end
	return nil
}

// OwnerToken is an access token of the camera's owner (reads need one).
func (f *Camera) OwnerToken(ctx context.Context) (string, error) {
	return f.creds.Token(ctx, f.Client)
}

// Export fetches the bundle of the records starting in [from, to) from the
// hub's API.
func (f *Camera) Export(ctx context.Context, from, to time.Time) ([]byte, error) {
	q := url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
	if f.Stream != feedchain.StreamMain {
		q.Set("stream", f.Stream.String())
	}
	u := f.URL + api.Prefix + "/devices/" + f.Key.Address().Hex() + "/evidence?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	tok, err := f.OwnerToken(ctx)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, evidence.MaxBundleBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET evidence: %s: %s", resp.Status, data)
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/cbor" || !strings.HasPrefix(cd, "attachment; ") {
		return nil, fmt.Errorf("GET evidence: Content-Type %q, Content-Disposition %q", ct, cd)
	}
	return data, nil
}
