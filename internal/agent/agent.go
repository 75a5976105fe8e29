package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/clocksync"
	"github.com/camchain/camchain/internal/dataformat"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/ingest"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/media"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/wallet"
)

// Source produces segments: the built-in sample (PacedSample) or an RTSP
// camera (ingest.Source).
type Source interface {
	Run(ctx context.Context, emit func(media.Segment) error) error
}

// Config configures an Agent. Zero fields take defaults in Validate.
type Config struct {
	DataDir string
	// Signer is the camera key when a TPM or secure element holds it
	// (keys.Signer); nil: the key sealed in <data>/keys/camera, created
	// at first start. The camera's identity is this key's address.
	Signer keys.Signer
	// ClockSync says whether this machine's clock is NTP-synchronised
	// (nil: the kernel's word, clocksync.Read); an arrival-clocked record
	// made while it is says so (feedchain.ClockArrivalSynced).
	ClockSync func() (clocksync.State, error)
	// PairListen is where the pairing endpoint listens; PairAdvertise is
	// the address written into the pairing code (default: the listen
	// address actually bound).
	PairListen    string
	PairAdvertise string
	// MaxBytes is the storage budget for segments (the SD card); MaxAge
	// the retention. Unacknowledged segments are never deleted.
	MaxBytes int64
	MaxAge   time.Duration
	Source   Source
	// SubSource, if set, is the camera's sub stream: recorded into its own
	// chain (records of stream feedchain.StreamSub, with their own
	// sequence, acknowledgements and link session; SPEC §6.5).
	SubSource Source
	// SourceName and SubSourceName describe the sources in the status
	// (an RTSP URL redacted: never a password).
	SourceName, SubSourceName string
	// PairLimits bounds connections to the pairing endpoint (zero: the
	// pairing package's defaults).
	PairLimits link.ConnLimits
	// Out receives the human-facing console: the pairing code and QR.
	Out    io.Writer
	Logger *slog.Logger
	// CodeTTL is how long a pairing code is valid (default pairing.CodeTTL).
	CodeTTL time.Duration
	// CheckpointEvery is how often the camera looks for an ended period to
	// commit (default 10 s).
	CheckpointEvery time.Duration
	// Link reconnect bounds (defaults 500 ms, 30 s).
	MinBackoff, MaxBackoff time.Duration
}

// Defaults.
const (
	DefaultMaxBytes = 2 << 30
	DefaultMaxAge   = 7 * 24 * time.Hour
)

// Validate fills defaults.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("no data directory: pass --data DIR")
	}
	if c.PairListen == "" {
		c.PairListen = "127.0.0.1:0"
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.Source == nil {
		c.Source = &PacedSample{Speed: 1}
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 10 * time.Second
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = pairing.CodeTTL
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// keyScrypt seals the camera key. Its passphrase is 256 random bits kept
// beside it (a camera has nobody to type one), so the KDF's cost protects
// nothing and only costs RAM at every boot: N = 2^12 (4 MiB), not a
// wallet's 2^18 (256 MiB). The file stays in the standard v3 format.
var keyScrypt = wallet.ScryptParams{N: 1 << 12, P: 1}

// clockSynced: this machine's clock is in step by its NTP client, as far
// as its kernel knows (an error counts as not).
func (a *Agent) clockSynced() bool {
	read := a.cfg.ClockSync
	if read == nil {
		read = clocksync.Read
	}
	st, err := read()
	return err == nil && st.Synchronized
}

// Agent is a running camchain-agent: Open, then Start (or Run), then Close.
// Every goroutine it starts is waited for by Close, before the store is
// closed.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	key    keys.Signer // the camera key: cfg.Signer, or the sealed keystore's
	tlsID  *link.Identity
	store  *store.Store
	alarms *alarmLog
	// hubLogin is the camera's login to its hub's API (it reads its own
	// ledger record and its imprint's result as itself): one client per
	// agent run, renewed without signing again.
	hubLogin *api.KeyCredentials

	wg        sync.WaitGroup     // every goroutine Start and its helpers start
	stopSrc   context.CancelFunc // ends the recording source
	srcDone   chan error         // the source's result
	closeOnce sync.Once
	closeErr  error

	resetMu  sync.Mutex // one reset at a time
	recordMu sync.Mutex // one record appended at a time (main and sub streams)
	mu       sync.Mutex
	started  bool
	closed   bool
	state    *State
	chain    *store.Chain // the main stream's chain of the current epoch
	// subChain is the sub stream's chain of the current epoch: opened when
	// there is a sub source or the card holds one already (its records
	// still go to the hub); nil otherwise.
	subChain   *store.Chain
	code       *pairing.Code
	usedSecret *[20]byte // the last code's secret, to name its reuse

	refusalWindow time.Time // start of the minute refused pairings are counted in
	refusals      int
	link          *linkRun        // the uploader and its loops, while paired
	pairSrv       *pairing.Server // the pairing endpoint, open only while unowned
	oldPairSrvs   []*pairing.Server
	confirm       *linkRun // the imprint confirmation, while a pairing is pending
	ctl           net.Listener
	linkState     string
	subLinkState  string            // the sub stream's session
	recording     string            // "recording", or why not
	sourceStates  map[string]string // each stream's source, in its words (ingest.Source.OnState)
	notify        chan struct{}     // a main-stream record was stored
	subNotify     chan struct{}     // a sub-stream record was stored
	pairAddr      string
	// parts carries each stream's signed parts (SPEC §7.3) to its link
	// session; partState is where each stream's open segment stands.
	parts     [2]chan link.LivePart
	partState [2]partState
	// enc is the end-to-end encryption state of the current pairing and
	// epoch (e2ee.go), opened on first use.
	enc *camE2EE
}

// partState is a stream's open segment as its parts went out.
type partState struct {
	last  *feedchain.Part // the last part signed, nil before any
	burnt *uint64         // a sequence number whose segment was dropped (card full): no more parts of it
	// sealed is the open segment's parts sealed so far (E2EE on at its
	// part 0), nil otherwise.
	sealed *sealedParts
}

// linkRun is a set of goroutines that stop together.
type linkRun struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRun() (*linkRun, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	return &linkRun{cancel: cancel}, ctx
}

func (r *linkRun) goRun(fn func()) {
	r.wg.Add(1)
	go func() { defer r.wg.Done(); fn() }()
}

// stop ends the run and waits for it; a nil run is already stopped. Call
// it without holding the agent's mutex (its goroutines take it).
func (r *linkRun) stop() {
	if r != nil {
		r.cancel()
		r.wg.Wait()
	}
}

// Open prepares the data directory (creating the camera's identity on first
// start) without starting anything.
func Open(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "keys"), 0o700); err != nil {
		return nil, err
	}
	if err := privateKeys(cfg.DataDir, cfg.Logger); err != nil {
		return nil, err
	}
	if err := checkOrWriteFormat(cfg.DataDir); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, notify: make(chan struct{}, 1), subNotify: make(chan struct{}, 1), recording: "starting"}
	for i := range a.parts {
		a.parts[i] = make(chan link.LivePart, partQueue)
	}
	var err error
	if a.key = cfg.Signer; a.key == nil {
		if a.key, err = loadOrCreateKey(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	a.hubLogin = &api.KeyCredentials{Key: a.key}
	releaseUnsealMemory()
	if a.tlsID, err = link.LoadOrCreateIdentity(filepath.Join(cfg.DataDir, "keys", "link-tls.pem")); err != nil {
		return nil, err
	}
	if a.state, err = loadState(cfg.DataDir); err != nil {
		return nil, err
	}
	if a.alarms, err = openAlarms(cfg.DataDir, cfg.Logger); err != nil {
		return nil, err
	}
	a.store, err = store.Open(filepath.Join(cfg.DataDir, "store"), store.Options{MaxBytes: cfg.MaxBytes, MaxAge: cfg.MaxAge, Logger: cfg.Logger,
		Signer:  a.key, // prune statements: signed by the key outside the card
		HandOff: true}) // the uploader takes each new segment from memory, not the card
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, fmt.Errorf("%w (is camchain-agent already running on %s? use its control socket, e.g. `camchain-agent reset`)", err, cfg.DataDir)
		}
		return nil, err
	}
	if err = a.openChainsLocked(a.state.Epoch); err != nil {
		a.store.Close()
		return nil, err
	}
	return a, nil
}

// openChainsLocked opens the chains of epoch: the main stream's, and the
// sub stream's when there is a sub source or the card already holds it.
func (a *Agent) openChainsLocked(epoch uint64) error {
	c, err := a.store.Chain(a.key.Address(), epoch)
	if err != nil {
		return err
	}
	subRef := store.ChainRef{Camera: a.key.Address(), Epoch: epoch, Stream: feedchain.StreamSub}
	var sub *store.Chain
	if a.cfg.SubSource != nil {
		sub, err = a.store.StreamChain(subRef)
	} else if sub, err = a.store.LookupStream(subRef); errors.Is(err, store.ErrNotFound) {
		sub, err = nil, nil
	}
	if err != nil {
		return err
	}
	a.chain, a.subChain = c, sub
	return nil
}

// chainOf returns the current chain of stream (nil: none).
func (a *Agent) chainOf(stream feedchain.Stream) *store.Chain {
	a.mu.Lock()
	defer a.mu.Unlock()
	if stream == feedchain.StreamSub {
		return a.subChain
	}
	return a.chain
}

// privateKeys narrows the data directory and the keys directory to 0700
// and each file under keys/ to 0600 if an older version, a restore or a
// careless copy left them open to other users: the camera key's passphrase
// sits beside its keystore, so whoever reads both is the camera
// (SECURITY.md). Whatever is created later is created private.
func privateKeys(dataDir string, log *slog.Logger) error {
	if err := narrowMode(dataDir, 0o700, log); err != nil {
		return err
	}
	keysDir := filepath.Join(dataDir, "keys")
	return filepath.WalkDir(keysDir, func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			return narrowMode(p, 0o700, log)
		}
		return narrowMode(p, 0o600, log)
	})
}

// narrowMode removes from p's permissions any bit outside want.
func narrowMode(p string, want os.FileMode, log *slog.Logger) error {
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode().Perm()&^want == 0 {
		return err
	}
	log.Warn("narrowing the mode of a file other users could reach", "path", p, "mode", fi.Mode().Perm().String())
	return os.Chmod(p, fi.Mode().Perm()&want)
}

// checkOrWriteFormat marks a new data directory with this build's
// format, migrates an older one and refuses one of another kind or
// written by a newer release.
func checkOrWriteFormat(dir string) error {
	_, err := dataformat.Open(dir, Format, migrations)
	if errors.Is(err, dataformat.ErrNoFormat) {
		return dataformat.Write(dir, Format)
	}
	return err
}

func loadOrCreateKey(dir string) (*keys.PrivateKey, error) {
	ks := wallet.NewKeystore(filepath.Join(dir, "keys", "camera"), keyScrypt)
	passFile := filepath.Join(dir, "keys", "camera.passphrase")
	if !ks.Exists() {
		k, err := keys.Generate()
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 32)
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		pass := hex.EncodeToString(buf)
		if err := atomicfile.Write(passFile, []byte(pass+"\n"), 0o600); err != nil {
			return nil, err
		}
		if _, err := ks.Save(k, pass); err != nil {
			return nil, err
		}
		return k, nil
	}
	b, err := os.ReadFile(passFile)
	if err != nil {
		return nil, fmt.Errorf("camera key passphrase: %w", err)
	}
	return ks.Load(strings.TrimSpace(string(b)))
}

// Address returns the camera's ledger identity.
func (a *Agent) Address() keys.Address { return a.key.Address() }

// Chain returns the main stream's chain of the current epoch.
func (a *Agent) Chain() *store.Chain {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.chain
}

// SubChain returns the sub stream's chain of the current epoch, or nil.
func (a *Agent) SubChain() *store.Chain { return a.chainOf(feedchain.StreamSub) }

// Alarms returns every alarm raised.
func (a *Agent) Alarms() []link.Alarm { return a.alarms.All() }

// Status is a snapshot for `camchain-agent status` and tests.
type Status struct {
	Camera    string `json:"camera"`
	Epoch     uint64 `json:"epoch"`
	Paired    bool   `json:"paired"`
	Hub       string `json:"hub,omitempty"`
	Link      string `json:"link"`
	Recording string `json:"recording"`
	Head      string `json:"head"`
	Acked     string `json:"acked"`
	// SubHead, SubAcked and SubLink are the sub stream's chain and
	// session, when the camera has one.
	SubHead  string `json:"sub_head,omitempty"`
	SubAcked string `json:"sub_acked,omitempty"`
	SubLink  string `json:"sub_link,omitempty"`
	Code     string `json:"pairing_code,omitempty"`
	PairAddr string `json:"pairing_address,omitempty"`
	Alarms   int    `json:"alarms"`
	// Pending counts co-signed imprints not yet seen committed.
	Pending int `json:"pending_imprints,omitempty"`
	// CPUNanos is the process's user+system CPU time so far (rusage).
	CPUNanos int64 `json:"cpu_ns"`
	// Source and SubSource name the recording sources (passwords
	// redacted); Sources is each stream's connection state.
	Source    string            `json:"source,omitempty"`
	SubSource string            `json:"sub_source,omitempty"`
	Sources   map[string]string `json:"sources,omitempty"`
	// E2EE is end-to-end encryption as the camera applies it: "off", "on",
	// or on but not encrypting, and why (SPEC §17.4); empty while unpaired.
	E2EE string `json:"e2ee,omitempty"`
}

// SetSourceState records what a stream's source says of itself ("main" or
// "sub"; e.g. "recording", "retrying in 2s: …"), for the status.
func (a *Agent) SetSourceState(stream feedchain.Stream, state string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sourceStates == nil {
		a.sourceStates = map[string]string{}
	}
	a.sourceStates[stream.String()] = state
}

// Status reports the agent's state.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{Camera: a.key.Address().Hex(), Epoch: a.state.Epoch, Paired: a.state.Paired != nil,
		Link: a.linkState, Recording: a.recording, Head: a.chain.Head().String(), Acked: a.chain.Acked().String(),
		PairAddr: a.pairAddr, Alarms: len(a.alarms.All()), Pending: len(a.state.Pending), CPUNanos: int64(processCPU()),
		Source: a.cfg.SourceName, SubSource: a.cfg.SubSourceName}
	if len(a.sourceStates) > 0 {
		s.Sources = maps.Clone(a.sourceStates)
	}
	if a.subChain != nil {
		s.SubHead, s.SubAcked, s.SubLink = a.subChain.Head().String(), a.subChain.Acked().String(), a.subLinkState
		if s.SubLink == "" {
			s.SubLink = "not connected"
		}
	}
	if a.state.Paired != nil {
		s.Hub = a.state.Paired.Hub
		if enc := a.e2eeLocked(); enc != nil {
			s.E2EE = enc.state()
		}
	}
	if a.code != nil {
		s.Code = a.code.String()
	}
	if s.Link == "" {
		s.Link = "not paired"
		if s.Pending > 0 {
			s.Link = "pairing: waiting for the imprint on the ledger"
		}
	}
	return s
}

// Start starts recording, the control socket, and either the pairing
// endpoint (unowned) or the uploader to the paired hub.
func (a *Agent) Start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started || a.closed {
		return errors.New("agent already started")
	}
	a.started = true
	ctl, err := a.serveControl()
	if err != nil {
		a.log.Warn("no control socket", "err", err)
	}
	a.ctl = ctl
	if a.state.Paired == nil {
		if err := a.openPairingLocked(); err != nil {
			return err
		}
		a.newCodeLocked()
	} else {
		a.startLinkLocked()
	}
	a.resumeConfirmLocked()
	srcCtx, stop := context.WithCancel(context.Background())
	a.stopSrc, a.srcDone = stop, make(chan error, 2)
	a.runSource(srcCtx, a.cfg.Source, feedchain.StreamMain)
	if a.cfg.SubSource != nil {
		a.runSource(srcCtx, a.cfg.SubSource, feedchain.StreamSub)
	}
	a.log.Info("camera agent running", "camera", a.key.Address().Hex(), "epoch", a.state.Epoch, "pairing", a.pairAddr)
	return nil
}

// runSource records one stream until ctx ends; its result goes to srcDone.
func (a *Agent) runSource(ctx context.Context, src Source, stream feedchain.Stream) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if is, ok := src.(*ingest.Source); ok && is.Parts > 0 {
			is.OnPart = func(p media.Part) { a.part(stream, p) }
		}
		err := src.Run(ctx, func(seg media.Segment) error { return a.record(stream, seg) })
		if ctx.Err() != nil {
			err = nil
		} else if err != nil {
			err = fmt.Errorf("%s stream: %w", stream, err)
		}
		a.srcDone <- err
	}()
}

// Run is Start, then Close when ctx ends or a source stops.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.Start(); err != nil {
		return errors.Join(err, a.Close())
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-a.srcDone:
	}
	return errors.Join(err, a.Close())
}

// Close stops everything the agent started, waits for every goroutine,
// then closes the store. It is safe to call more than once, and on an
// agent that was only opened.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		l, c := a.link, a.confirm
		a.link, a.confirm = nil, nil
		srvs := append(a.oldPairSrvs, a.pairSrv)
		a.pairSrv, a.oldPairSrvs = nil, nil
		ctl := a.ctl
		stopSrc := a.stopSrc
		a.mu.Unlock()
		if stopSrc != nil {
			stopSrc()
		}
		for _, s := range srvs {
			if s != nil {
				s.Close()
			}
		}
		if ctl != nil {
			ctl.Close()
		}
		l.stop()
		c.stop()
		a.wg.Wait()
		a.closeErr = a.store.Close()
	})
	return a.closeErr
}

// openPairingLocked opens the pairing endpoint (only while unowned).
func (a *Agent) openPairingLocked() error {
	if a.pairSrv != nil || !a.started || a.closed {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.PairListen)
	if err != nil {
		return fmt.Errorf("pairing endpoint %s: %w", a.cfg.PairListen, err)
	}
	a.pairAddr = ln.Addr().String()
	if a.cfg.PairAdvertise != "" {
		a.pairAddr = a.cfg.PairAdvertise
	}
	srv := &pairing.Server{Identity: a.tlsID, Camera: a, Limits: a.cfg.PairLimits}
	a.pairSrv = srv
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(ln); err != nil {
			a.log.Error("pairing endpoint stopped", "err", err)
		}
	}()
	return nil
}

// closePairingLocked closes the pairing endpoint: nobody can reach it
// while the camera has an owner. It may run inside a pairing connection
// (the one that paired), so it only stops accepting here; Close ends the
// rest.
func (a *Agent) closePairingLocked() {
	if a.pairSrv == nil {
		return
	}
	a.pairSrv.Stop()
	a.oldPairSrvs = append(a.oldPairSrvs, a.pairSrv)
	a.pairSrv = nil
	a.pairAddr = ""
}

// record turns one segment of a stream into the next record of that
// stream's chain.
func (a *Agent) record(stream feedchain.Stream, seg media.Segment) error {
	a.recordMu.Lock()
	defer a.recordMu.Unlock()
	chain := a.chainOf(stream)
	if chain == nil {
		return fmt.Errorf("no chain open for the %s stream", stream)
	}
	head := chain.Head()
	data, err := a.seal(stream, chain, head, seg.Data)
	if err != nil {
		return err
	}
	if err := chain.Reserve(int64(len(data))); err != nil {
		if errors.Is(err, store.ErrFull) {
			// Its parts went out under the next sequence number, which
			// the next segment takes: no more parts of it.
			next := chain.Head().Next()
			a.partState[stream].burnt = &next
			a.mu.Lock()
			first := a.recording != "stopped: storage full"
			a.recording = "stopped: storage full"
			a.mu.Unlock()
			if first {
				// Loudly, once per episode: unacknowledged video fills the
				// budget, and it is never deleted to make room.
				a.alarms.Raise(audit.StorageFull, fmt.Sprintf("recording stopped: %v", err))
			}
			return nil
		}
		return err
	}
	clock := seg.Clock
	if clock == feedchain.ClockUnknown {
		clock = feedchain.ClockArrival
	}
	if clock == feedchain.ClockArrival && a.clockSynced() {
		clock = feedchain.ClockArrivalSynced
	}
	// The store hashes the segment once, for the record signed here and
	// for its own check of it.
	r, err := chain.AppendNew(data, func(segHash feedchain.Hash, at feedchain.Head) (*feedchain.Record, error) {
		if at != head {
			// Only record appends, and it holds recordMu.
			return nil, fmt.Errorf("the %s chain's head moved under the recorder (%v, then %v)", stream, head, at)
		}
		r := &feedchain.Record{Version: feedchain.Version2, Camera: a.key.Address(), Epoch: chain.ID().Epoch,
			Segment: segHash, Start: seg.Start.UnixNano(), Duration: seg.Duration,
			Size: uint64(len(data)), Codec: seg.Codec, Stream: stream, Clock: clock}
		r.Seq, r.Prev = head.Next(), head.Hash
		return r, r.Sign(a.key)
	})
	if err != nil {
		return fmt.Errorf("store %s segment #%d: %w", stream, head.Next(), err)
	}
	a.mu.Lock()
	if a.recording != "recording" {
		a.log.Info("recording", "epoch", r.Epoch, "stream", stream.String(), "from_seq", r.Seq)
	}
	a.recording = "recording"
	a.mu.Unlock()
	n := a.notify
	if stream == feedchain.StreamSub {
		n = a.subNotify
	}
	select {
	case n <- struct{}{}:
	default:
	}
	return nil
}

// partQueue bounds the parts waiting for a stream's link session: more
// than a segment's worth are stale for a live viewer.
const partQueue = 32

// part signs one part of the segment a stream is recording (SPEC §7.3)
// and offers it to the stream's link session, dropping it when the
// session is not taking them.
func (a *Agent) part(stream feedchain.Stream, mp media.Part) {
	a.recordMu.Lock()
	defer a.recordMu.Unlock()
	chain := a.chainOf(stream)
	if chain == nil || len(mp.Data) == 0 {
		return
	}
	st := &a.partState[stream]
	head := chain.Head()
	p := &feedchain.Part{Camera: a.key.Address(), Epoch: chain.ID().Epoch, Stream: stream, Index: uint32(mp.Index),
		Offset: uint64(mp.Offset), Size: uint32(len(mp.Data)), Data: feedchain.SegmentHash(mp.Data)}
	if head.Valid {
		p.Seq, p.Prev = head.Seq+1, head.Hash
	}
	if st.burnt != nil && *st.burnt == p.Seq {
		return
	}
	st.burnt = nil
	if p.Index == 0 {
		st.sealed = nil
		if enc := a.currentE2EE(); enc != nil {
			k, err := enc.segmentKey(stream, p.Seq)
			if err != nil {
				a.log.Error("e2ee: no key for a part; parts of this segment are not sent", "stream", stream.String(), "err", err)
				st.last = nil
				return
			}
			if k != nil {
				st.sealed = &sealedParts{seq: p.Seq, key: k}
			}
		}
	}
	sp := st.sealed
	if sp != nil && (sp.seq != p.Seq || uint32(mp.Index) != sp.n || mp.Offset != len(sp.plain)) {
		return // not the part after the last one sealed
	}
	if sp != nil {
		// Sealed offsets and sizes: the statement describes the bytes the
		// hub and the card hold (SPEC §17.2, §7.3).
		p.Offset, p.Size = uint64(len(sp.sealed)), uint32(len(mp.Data)+e2ee.SealedOverhead)
	}
	if p.Index > 0 {
		l := st.last
		if l == nil || l.Seq != p.Seq || l.Epoch != p.Epoch || l.Index+1 != p.Index || l.End() != p.Offset {
			return // the parts before it did not go out
		}
		p.PrevPart = l.Hash()
	}
	data := mp.Data
	if sp != nil {
		// Once sealed under its index a part is the segment's, sent or
		// not: the record seals it, and its index is never used again.
		sealed, err := sp.key.Seal(uint32(mp.Index)+1, mp.Data)
		if err != nil {
			a.log.Error("e2ee: part not sealed", "stream", stream.String(), "err", err)
			st.last = nil
			return
		}
		sp.plain, sp.sealed, sp.n = append(sp.plain, mp.Data...), append(sp.sealed, sealed...), sp.n+1
		data, p.Data = sealed, feedchain.SegmentHash(sealed)
	}
	if err := p.Sign(a.key); err != nil {
		a.log.Warn("part not signed", "stream", stream.String(), "err", err)
		st.last = nil
		return
	}
	st.last = p
	select {
	case a.parts[stream] <- link.LivePart{Part: p, Data: bytes.Clone(data)}:
	default:
	}
}

// startLinkLocked starts the uploader to the paired hub, with its
// retention and checkpoint loops.
func (a *Agent) startLinkLocked() {
	if !a.started || a.closed || a.link != nil {
		return
	}
	p := a.state.Paired
	hub, pin, err := p.hub()
	if err != nil {
		a.log.Error("pairing state is corrupt; reset the camera", "err", err)
		return
	}
	run, ctx := newRun()
	a.link = run
	a.linkState = string(link.StateConnecting)
	owner, err := keys.ParseAddress(p.Owner)
	if err != nil {
		a.log.Error("pairing state is corrupt; reset the camera", "err", err)
		return
	}
	c := &link.Client{Addr: p.HubLink, Identity: a.tlsID, HubPin: pin, Hub: hub, Key: a.key, Epoch: a.state.Epoch,
		Owner: owner, ChainID: p.EVMChainID,
		Chain: a.chain, Alarms: a.alarms, Notify: a.notify, Parts: a.parts[feedchain.StreamMain], Logger: a.log,
		MinBackoff: a.cfg.MinBackoff, MaxBackoff: a.cfg.MaxBackoff,
		OnState: func(s link.State, err error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.link != run {
				return // a run that was stopped: its news is stale
			}
			a.linkState = string(s)
			if err != nil {
				a.linkState += ": " + err.Error()
			}
			if s == link.StateConnected {
				a.linkConnectedLocked()
			}
		}}
	if enc := a.e2eeLocked(); enc != nil {
		c.E2EE = enc
	}
	chain := a.chain
	run.goRun(func() { c.Run(ctx) })
	if a.subChain != nil {
		// The sub stream's chain has its own session: its own proof of the
		// chain, acknowledgements and backfill. Alarms travel on main's.
		sc := *c
		sc.Stream, sc.Chain, sc.Notify, sc.Parts = feedchain.StreamSub, a.subChain, a.subNotify, a.parts[feedchain.StreamSub]
		sc.Alarms = link.NoDelivery(a.alarms)
		sc.OnState = func(s link.State, err error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.link != run {
				return
			}
			a.subLinkState = string(s)
			if err != nil {
				a.subLinkState += ": " + err.Error()
			}
		}
		run.goRun(func() { sc.Run(ctx) })
	}
	run.goRun(func() { a.pruneLoop(ctx) })
	run.goRun(func() { a.checkpointLoop(ctx, p, chain) })
	if sub := a.subChain; sub != nil {
		run.goRun(func() { a.checkpointLoop(ctx, p, sub) }) // its own series (SubCheckpoint)
	}
}

// detachLinkLocked takes the uploader out of the agent; the caller stops
// it (linkRun.stop) once it has released the mutex.
func (a *Agent) detachLinkLocked() *linkRun {
	l := a.link
	a.link = nil
	a.linkState, a.subLinkState = "", ""
	if l != nil {
		l.cancel()
	}
	return l
}

// pruneLoop applies retention to acknowledged segments.
func (a *Agent) pruneLoop(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.mu.Lock()
			chains := []*store.Chain{a.chain, a.subChain}
			a.mu.Unlock()
			for _, c := range chains {
				if c == nil {
					continue
				}
				protect := uint64(0)
				if ack := c.Acked(); ack.Valid {
					protect = ack.Seq + 1
				}
				if _, err := c.Prune(protect); err != nil {
					a.log.Warn("retention", "stream", c.ID().Stream.String(), "err", err)
				}
			}
		}
	}
}
