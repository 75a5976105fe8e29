package hub

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/store"
)

// evidenceTimeout bounds building one bundle (it may wait for the block
// after a fresh checkpoint).
const evidenceTimeout = 60 * time.Second

// evidenceWriteIdle is how long writing a bundle may make no progress
// before the hub gives up on the client: each write must finish within it.
const evidenceWriteIdle = 30 * time.Second

// DefaultMaxEvidenceRequests is how many evidence bundles a hub builds and
// sends at once unless configured otherwise.
const DefaultMaxEvidenceRequests = 2

// streamBody is a handler result written to the client by write, as it is
// produced; done runs once it is written (or writing failed).
type streamBody struct {
	contentType string
	filename    string
	length      int64 // the body's length, sent as Content-Length; 0: not known
	write       func(w io.Writer) error
	done        func()
}

// send writes the stream. Each write must make progress within
// evidenceWriteIdle (a reader that stops reading is cut off). A failure
// midway aborts the connection, so the client sees a broken response and
// never a short bundle.
func (s streamBody) send(w http.ResponseWriter, log *slog.Logger) {
	defer s.done()
	w.Header().Set("Content-Type", s.contentType)
	w.Header().Set("Cache-Control", "no-store")
	if s.filename != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+s.filename+`"`)
	}
	if s.length > 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(s.length, 10))
	}
	rc := http.NewResponseController(w)
	if err := s.write(deadlineWriter{w: w, rc: rc}); err != nil {
		log.Warn("evidence: bundle not sent in full", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// deadlineWriter gives each write evidenceWriteIdle to finish.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if err := d.rc.SetWriteDeadline(time.Now().Add(evidenceWriteIdle)); err != nil {
		return 0, err
	}
	return d.w.Write(p)
}

// evidence answers GET /devices/{camera}/evidence?from=&to=[&epoch=][&stream=]:
// the evidence bundle (docs/SPEC.md §10) of the camera's recordings on the
// stream's chain (main unless stream=sub) that start in [from, to). At most Config.MaxEvidenceRequests are served at once
// (more: 503 unavailable); each is streamed, one segment in memory at a
// time.
func (h *Hub) evidence(r *http.Request) (_ any, err error) {
	select {
	case h.evidenceSlots <- struct{}{}:
	default:
		return nil, api.Errorf(api.ErrUnavailable, "the hub is already serving %d evidence bundles, its limit; try again shortly", cap(h.evidenceSlots))
	}
	release := func() { <-h.evidenceSlots }
	defer func() {
		if err != nil {
			release()
		}
	}()
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	epoch, err := uintQuery(r, "epoch", d.Epoch)
	if err != nil {
		return nil, err
	}
	stream, err := streamQuery(r)
	if err != nil {
		return nil, err
	}
	from, err := timeQuery(r, "from")
	if err != nil {
		return nil, err
	}
	to, err := timeQuery(r, "to")
	if err != nil {
		return nil, err
	}
	if h := time.Unix(int64(historyFrom(r)), 0); from.Before(h) {
		from = h // a viewer's grant reaches back to here only
	}
	if !from.Before(to) {
		return nil, api.Errorf(api.ErrBadRequest, "from (%s) must be before to (%s)", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	c, err := h.store.LookupStream(store.ChainRef{Camera: d.Camera, Epoch: epoch, Stream: stream})
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.Errorf(api.ErrNotFound, "this hub stores no recordings of camera %s's %s stream in epoch %d", d.Camera.Hex(), stream, epoch)
	}
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), evidenceTimeout)
	defer cancel()
	b, err := evidence.Build(ctx, c, ledgerSource{h.node}, evidence.Request{Camera: d.Camera, Epoch: epoch, Stream: stream, From: from, To: to, SegmentsLater: true,
		Cosignatures: h.witnessCosignatures, Timestamps: h.checkpointTimestamps})
	switch {
	case err == nil:
	case errors.Is(err, evidence.ErrNoClips):
		return nil, api.Errorf(api.ErrNotFound, "%v", err)
	case errors.Is(err, evidence.ErrPending), errors.Is(err, evidence.ErrSegmentGone):
		return nil, api.Errorf(api.ErrConflict, "%v", err)
	case errors.Is(err, evidence.ErrTooLarge):
		return nil, api.Errorf(api.ErrBadRequest, "%v", err)
	case errors.Is(err, evidence.ErrRecordsDiffer):
		h.cfg.Logger.Error("evidence: stored records do not match the camera's checkpoint", "camera", d.Camera.Hex(), "epoch", epoch, "err", err)
		return nil, api.Errorf(api.ErrConflict, "%v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, api.Errorf(api.ErrTimeout, "the ledger did not provide the proofs in time; try again")
	default:
		return nil, err
	}
	suffix := ""
	if stream != feedchain.StreamMain {
		suffix = "-" + stream.String()
	}
	name := fmt.Sprintf("evidence-%s-%d%s-%s.cbor", strings.ToLower(d.Camera.Hex()[2:10]), epoch, suffix, from.UTC().Format("20060102T150405Z"))
	who := sessionOf(r).Address
	write := func(w io.Writer) error {
		hw := sha256.New()
		var seqs []uint64
		for i := range b.Clips {
			if b.Clips[i].Segment == nil {
				seqs = append(seqs, b.Clips[i].LeafIndex)
			}
		}
		// The next segments are read and checked against their records
		// while this one is hashed and sent.
		next, stop := readAhead(seqs, evidenceReadAhead, c.Segment)
		defer stop()
		n, err := b.WriteTo(io.MultiWriter(w, hw), next)
		if err != nil {
			return err
		}
		// Chain of custody: who took which bundle, and when (the block's
		// time); the hash names the exact bytes.
		first, last := b.Clips[0].LeafIndex, b.Clips[len(b.Clips)-1].LeafIndex
		h.recordAudit(d.Camera, who, audit.EvidenceExport, fmt.Sprintf("bundle sha256 %x, %d bytes, epoch %d%s, records #%d-#%d (%d clips), version %d",
			hw.Sum(nil), n, epoch, streamDetail(stream), first, last, len(b.Clips), b.Version()), time.Now())
		return nil
	}
	// Known before a segment is read (each is its record's size), so the
	// client allocates the bundle once.
	length, err := b.EncodedLen()
	if err != nil {
		return nil, err
	}
	return streamBody{contentType: "application/cbor", filename: name, length: length, write: write, done: release}, nil
}

// evidenceReadAhead is how many bytes of segments a bundle being served
// holds read ahead of the one being sent: one segment at least, so with
// segments of a megabyte or more, one ahead (two in memory).
const evidenceReadAhead = 1 << 20

// readAhead returns a function that gives fetch's results for seqs, which
// it must be asked for in that order: a goroutine fetches the next ones
// while fewer than maxBytes of them wait to be taken, and stops at the
// first error (given in its turn) or when stop is called (which the caller
// must do once it is done).
func readAhead(seqs []uint64, maxBytes int, fetch func(seq uint64) ([]byte, error)) (next func(seq uint64) ([]byte, error), stop func()) {
	type fetched struct {
		seq  uint64
		data []byte
		err  error
	}
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		queue   []fetched
		held    int
		done    bool // the goroutine fetches no more
		stopped bool
	)
	go func() {
		defer func() { mu.Lock(); done = true; cond.Broadcast(); mu.Unlock() }()
		for _, seq := range seqs {
			mu.Lock()
			for held >= maxBytes && !stopped {
				cond.Wait()
			}
			if stopped {
				mu.Unlock()
				return
			}
			mu.Unlock()
			data, err := fetch(seq)
			mu.Lock()
			queue = append(queue, fetched{seq, data, err})
			held += len(data)
			cond.Broadcast()
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	next = func(seq uint64) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		for len(queue) == 0 && !done {
			cond.Wait()
		}
		if len(queue) == 0 {
			return nil, fmt.Errorf("segment #%d was not read ahead", seq)
		}
		f := queue[0]
		queue = queue[1:]
		held -= len(f.data)
		cond.Broadcast()
		if f.seq != seq {
			return nil, fmt.Errorf("segment #%d asked for, #%d read ahead", seq, f.seq)
		}
		return f.data, f.err
	}
	stop = func() {
		mu.Lock()
		stopped, queue = true, nil
		cond.Broadcast()
		mu.Unlock()
	}
	return next, stop
}

// timeQuery reads a required RFC 3339 time parameter.
func timeQuery(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, api.Errorf(api.ErrBadRequest, "%s is required: an RFC 3339 time such as 2026-05-01T12:00:00Z", name)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, api.Errorf(api.ErrBadRequest, "%s=%q: want an RFC 3339 time such as 2026-05-01T12:00:00Z", name, v)
	}
	return t, nil
}

// ledgerSource is evidence.Ledger over the hub's ledger node.
type ledgerSource struct{ n *ledger.Node }

var _ evidence.Ledger = ledgerSource{}

func (l ledgerSource) LedgerChainID() string { return l.n.LedgerChainID() }

// streamDetail is what an audit detail adds for a stream: nothing for the
// main one (the detail reads as before streams), " sub stream" otherwise.
func streamDetail(s feedchain.Stream) string {
	if s == feedchain.StreamMain {
		return ""
	}
	return " " + s.String() + " stream"
}

func (l ledgerSource) Checkpoints(cam keys.Address, epoch uint64, stream feedchain.Stream) ([]evidence.LedgerCheckpoint, error) {
	recs, err := l.n.App.StreamCheckpoints(cam, epoch, stream, 0, 1<<20)
	if err != nil {
		return nil, err
	}
	out := make([]evidence.LedgerCheckpoint, len(recs))
	for i, r := range recs {
		out[i] = evidence.LedgerCheckpoint{Msg: r.Msg, Height: r.Height, TxHash: r.TxHash}
	}
	return out, nil
}

func (l ledgerSource) Tx(ctx context.Context, hash feedchain.Hash) (*evidence.LedgerTx, error) {
	res, err := l.n.Tx(ctx, hash, true)
	if err != nil {
		return nil, err
	}
	return &evidence.LedgerTx{Raw: res.Tx, Height: res.Height, Proof: res.Proof}, nil
}

func (l ledgerSource) WaitForHeight(ctx context.Context, height int64) error {
	return l.n.WaitForHeight(ctx, uint64(height))
}

func (l ledgerSource) SignedHeader(ctx context.Context, height int64) (*types.SignedHeader, bool, error) {
	return l.n.SignedHeader(ctx, height)
}

func (l ledgerSource) Validators(ctx context.Context, height int64) (*types.ValidatorSet, error) {
	return l.n.Validators(ctx, height)
}

func (l ledgerSource) Results(ctx context.Context, height int64) ([]*abci.ExecTxResult, error) {
	return l.n.BlockResults(ctx, height)
}

func (l ledgerSource) ValidatorChanges(ctx context.Context, upTo int64) ([]int64, error) {
	return l.n.ValidatorChanges(ctx, upTo)
}
