package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tsa"
	"github.com/camchain/camchain/internal/witness"
)

// The hub publishes each camera's committed checkpoints to the witnesses
// the owner configured (docs/SPEC.md §16): a C2SP signed-note checkpoint of
// the camera's tree, sent by tlog-witness with the consistency proof from
// what each witness saw last. Cosignatures are kept in
// <data>/witness/cosignatures/ and go into evidence bundles; a witness
// that refuses the consistency proof (a fork) is a security alarm.
//
//	<data>/witness/log.secret     32 bytes from crypto/rand, made at the first start:
//	                              the seed of every log key (witness.LogKeys)
//	<data>/witness/cosignatures/  witness.Store
//	<data>/witness/server/        witness.Server: the logs of other hubs this
//	                              hub witnesses (WitnessLogs), with the last
//	                              tree it cosigned of each

// DefaultWitnessInterval is how often the hub looks for checkpoints to
// publish.
const DefaultWitnessInterval = 10 * time.Second

// WitnessTarget is one witness the hub publishes to.
type WitnessTarget struct {
	URL string      // its tlog-witness submission prefix
	Key witness.Key // its cosigning key
}

// ParseWitnessTarget reads "URL,VKEY" (the --witness flag).
func ParseWitnessTarget(s string) (WitnessTarget, error) {
	u, vkey, ok := strings.Cut(s, ",")
	if !ok {
		return WitnessTarget{}, fmt.Errorf("--witness %q: want URL,VKEY (the witness's submission URL and its verifier key name+id+key)", s)
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return WitnessTarget{}, fmt.Errorf("--witness %q: %q is not an http(s) URL", s, u)
	}
	k, err := witness.ParseKey(vkey)
	if err != nil {
		return WitnessTarget{}, fmt.Errorf("--witness %q: %w", s, err)
	}
	return WitnessTarget{URL: u, Key: k}, nil
}

func (c *Config) witnessDir() string { return filepath.Join(c.DataDir, "witness") }

// witnesses is the hub's publisher state.
type witnesses struct {
	keys    *witness.LogKeys
	store   *witness.Store
	clients []*witness.Client
	forks   map[string]bool // origin, witness, size already alarmed
	server  *witness.Server // the witness this hub runs for others; nil when it witnesses no log
}

// DefaultWitnessName names a hub's witness cosigning key: the hub's
// address under camchain's prefix, "camchain/v1/witness/0x…".
func DefaultWitnessName(hub keys.Address) string {
	return witness.OriginPrefix + "witness/" + strings.ToLower(hub.Hex())
}

func (h *Hub) startWitnesses() error {
	dir := h.cfg.witnessDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p := filepath.Join(dir, "log.secret")
	secret, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		secret = make([]byte, witness.LogSecretSize)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		if err := atomicfile.Create(p, secret, 0o600); err != nil {
			return fmt.Errorf("witness log secret: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("witness log secret: %w", err)
	}
	lk, err := witness.NewLogKeys(secret)
	if err != nil {
		return fmt.Errorf("witness log secret %s: %w (restore it from a backup: witnesses know the log keys it makes)", p, err)
	}
	st, err := witness.OpenStore(filepath.Join(dir, "cosignatures"))
	if err != nil {
		return err
	}
	w := &witnesses{keys: lk, store: st, forks: map[string]bool{}}
	for _, t := range h.cfg.Witnesses {
		w.clients = append(w.clients, &witness.Client{Key: t.Key, URL: t.URL})
	}
	if w.server, err = h.openWitnessServer(lk); err != nil {
		st.Close()
		return err
	}
	h.witnesses = w
	return nil
}

// openWitnessServer opens the witness this hub runs for other hubs' logs:
// those of cfg.WitnessLogs and those added at earlier starts. It is nil
// (and /witness/add-checkpoint answers 404) when there are none.
func (h *Hub) openWitnessServer(lk *witness.LogKeys) (*witness.Server, error) {
	dir := filepath.Join(h.cfg.witnessDir(), "server")
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && len(h.cfg.WitnessLogs) == 0 {
		return nil, nil
	}
	name := h.cfg.WitnessName
	if name == "" {
		name = DefaultWitnessName(h.key.Address())
	}
	s, err := witness.NewServer(dir, name, lk.CosigningKey(), h.cfg.Logger)
	if err != nil {
		return nil, err
	}
	for _, vkey := range h.cfg.WitnessLogs {
		if err := s.AddLog(vkey); err != nil {
			return nil, fmt.Errorf("--witness-log %q: %w", vkey, err)
		}
	}
	if s.Logs() == 0 {
		return nil, nil
	}
	return s, nil
}

// WitnessServerKey is the cosigning key of the witness this hub runs for
// others (what their owners pass to --witness with its URL), and false
// when it witnesses no log.
func (h *Hub) WitnessServerKey() (witness.Key, bool) {
	if h.witnesses == nil || h.witnesses.server == nil {
		return witness.Key{}, false
	}
	return h.witnesses.server.Key(), true
}

// WitnessURL is the submission prefix of the witness this hub runs.
func (h *Hub) WitnessURL() string { return h.BaseURL() + witnessPrefix }

// witnessPrefix is where the hub's witness takes add-checkpoint requests.
const witnessPrefix = "/witness"

// serveWitness answers the tlog-witness protocol, public by design: a log
// proves itself by its signature, and the witness's answers are public.
func (h *Hub) serveWitness(w http.ResponseWriter, r *http.Request) {
	if h.witnesses == nil || h.witnesses.server == nil {
		http.Error(w, "this hub witnesses no log (camchaind run --witness-log VKEY)", http.StatusNotFound)
		return
	}
	h.witnesses.server.ServeHTTP(w, r)
}

// WitnessLogKey is the verifier key of the log of camera's chain in epoch:
// what a witness operator adds for it (with the origin, its name).
func (h *Hub) WitnessLogKey(origin string) (string, error) {
	return h.witnesses.keys.VerifierKey(origin)
}

// witnessLoop publishes until ctx ends.
func (h *Hub) witnessLoop(ctx context.Context) {
	defer h.wg.Done()
	if len(h.witnesses.clients) == 0 && len(h.cfg.TSAs) == 0 {
		return
	}
	t := time.NewTicker(h.cfg.WitnessInterval)
	defer t.Stop()
	for {
		h.publishWitnessed(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publishWitnessed makes one pass over the chains (each stream's is its
// own log, SPEC §16.1): every committed checkpoint whose root the hub's
// records give, not yet cosigned by a witness, is published to it, in
// ledger order.
func (h *Hub) publishWitnessed(ctx context.Context) {
	refs, err := h.store.Chains()
	if err != nil {
		h.cfg.Logger.Warn("witness: list chains", "err", err)
		return
	}
	for _, ref := range refs {
		if ctx.Err() != nil {
			return
		}
		c, err := h.store.LookupStream(ref)
		if err != nil {
			continue
		}
		cps, err := h.node.App.StreamCheckpoints(ref.Camera, ref.Epoch, ref.Stream, 0, 1<<20)
		if err != nil || len(cps) == 0 {
			continue
		}
		origin := witness.StreamOrigin(h.node.LedgerChainID(), ref.Camera, ref.Epoch, ref.Stream)
		var tree *checkpoint.Tree
		// matches: the hub's own records give the checkpoint's root (else
		// integrity reports it, and there is nothing to witness or stamp).
		matches := func(cp ledger.CheckpointRecord) bool {
			if tree == nil || tree.Size() < cp.Msg.TreeSize {
				if tree = checkpoint.NewTree(); tree.ExtendTo(c, cp.Msg.TreeSize) != nil {
					return false
				}
			}
			root, err := tree.RootAt(cp.Msg.TreeSize)
			return err == nil && root == cp.Msg.Root
		}
		h.timestampCheckpoints(ctx, origin, cps, matches)
		for _, wc := range h.witnesses.clients {
			last, err := h.witnesses.store.Last(origin, wc.Key)
			if err != nil {
				h.cfg.Logger.Error("witness: cosignature store", "origin", origin, "err", err)
				return
			}
			for _, cp := range cps {
				m := cp.Msg
				if m.TreeSize <= last {
					continue
				}
				if !matches(cp) {
					break
				}
				cs, err := witness.Publish(ctx, wc, h.witnesses.keys, origin, tree, m.TreeSize, last)
				if err != nil {
					h.witnessFailed(ref, origin, wc, err)
					break
				}
				if err := h.witnesses.store.Add(origin, m.TreeSize, feedchain.Hash(m.Root), cs); err != nil {
					h.cfg.Logger.Error("witness: keep cosignature", "origin", origin, "err", err)
					break
				}
				last = m.TreeSize
			}
		}
	}
}

func (h *Hub) witnessFailed(ref store.ChainRef, origin string, wc *witness.Client, err error) {
	var fe *witness.ForkError
	if !errors.As(err, &fe) {
		h.cfg.Logger.Warn("witness: not cosigned; will retry", "witness", wc.Key.Name, "origin", origin, "err", err)
		return
	}
	id := fmt.Sprintf("%s %s %d", origin, wc.Key, fe.Size)
	if h.witnesses.forks[id] {
		return
	}
	if err := h.recordAlarm(ref.Camera, audit.WitnessFork, err.Error(), time.Now()); err != nil {
		h.cfg.Logger.Error("witness: fork alarm not recorded", "err", err)
		return
	}
	h.witnesses.forks[id] = true
}

// witnessCosignatures are the kept cosignatures of a checkpoint's tree,
// for evidence bundles.
func (h *Hub) witnessCosignatures(origin string, size uint64, root feedchain.Hash) []witness.Cosignature {
	cs, err := h.witnesses.store.For(origin, size, root)
	if err != nil {
		h.cfg.Logger.Warn("witness: cosignatures not read", "origin", origin, "err", err)
	}
	return cs
}

// witnessInfo is GET /devices/{camera}/witness: what a witness operator
// needs to witness the camera's log in its current epoch, and how far each
// configured witness has cosigned it.
type witnessInfo struct {
	Origin    string          `json:"origin"`
	Epoch     uint64          `json:"epoch"`
	LogKey    string          `json:"log_key"`
	Witnesses []witnessStatus `json:"witnesses"`
}

type witnessStatus struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	URL  string `json:"url"`
	// CosignedSize is the largest tree of this log the witness cosigned
	// for this hub (0: none yet).
	CosignedSize uint64 `json:"cosigned_size"`
}

func (h *Hub) witnessInfo(r *http.Request) (any, error) {
	d, err := h.lookupDevice(r)
	if err != nil {
		return nil, err
	}
	origin := witness.Origin(h.node.LedgerChainID(), d.Camera, d.Epoch)
	lk, err := h.WitnessLogKey(origin)
	if err != nil {
		return nil, err
	}
	out := witnessInfo{Origin: origin, Epoch: d.Epoch, LogKey: lk, Witnesses: []witnessStatus{}}
	for _, c := range h.witnesses.clients {
		n, err := h.witnesses.store.Last(origin, c.Key)
		if err != nil {
			return nil, err
		}
		out.Witnesses = append(out.Witnesses, witnessStatus{Name: c.Key.Name, Key: c.Key.String(), URL: c.URL, CosignedSize: n})
	}
	return out, nil
}

// Timestamps (docs/SPEC.md §16.5): each committed checkpoint's body is
// timestamped by each configured TSA once; the token is kept as one file,
// written atomically:
//
//	<data>/witness/timestamps/<origin, '/' as '_'>-<tree size>-<TSA id>.tst
//
// where the TSA id is the first 8 bytes of SHA-256 of its URL, in hex.

func (c *Config) timestampDir() string { return filepath.Join(c.witnessDir(), "timestamps") }

func timestampFile(dir, origin string, size uint64, tsaURL string) string {
	id := sha256.Sum256([]byte(tsaURL))
	return filepath.Join(dir, fmt.Sprintf("%s-%d-%x.tst", strings.ReplaceAll(origin, "/", "_"), size, id[:8]))
}

// timestampCheckpoints asks each TSA for a token of every checkpoint of
// the chain it has none for. It stops at a TSA's first failure (retried at
// the next pass).
func (h *Hub) timestampCheckpoints(ctx context.Context, origin string, cps []ledger.CheckpointRecord, matches func(ledger.CheckpointRecord) bool) {
	dir := h.cfg.timestampDir()
	for _, u := range h.cfg.TSAs {
		c := &tsa.Client{URL: u}
		for _, cp := range cps {
			p := timestampFile(dir, origin, cp.Msg.TreeSize, u)
			if _, err := os.Stat(p); err == nil || ctx.Err() != nil {
				continue
			}
			if !matches(cp) {
				break
			}
			tok, err := c.Timestamp(ctx, witness.Body(origin, cp.Msg.TreeSize, feedchain.Hash(cp.Msg.Root)))
			if err != nil {
				h.cfg.Logger.Warn("timestamp: not granted; will retry", "tsa", u, "origin", origin, "err", err)
				break
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				h.cfg.Logger.Error("timestamp: keep token", "err", err)
				return
			}
			if err := atomicfile.Create(p, tok, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
				h.cfg.Logger.Error("timestamp: keep token", "file", p, "err", err)
				return
			}
		}
	}
}

// checkpointTimestamps are the kept tokens of a checkpoint's tree that
// verify over it, for evidence bundles.
func (h *Hub) checkpointTimestamps(origin string, size uint64, root feedchain.Hash) [][]byte {
	var out [][]byte
	body := witness.Body(origin, size, root)
	for _, u := range h.cfg.TSAs {
		tok, err := os.ReadFile(timestampFile(h.cfg.timestampDir(), origin, size, u))
		if err != nil {
			continue
		}
		if _, err := tsa.Verify(tok, body, nil); err != nil {
			h.cfg.Logger.Warn("timestamp: a kept token does not verify; left out", "tsa", u, "origin", origin, "size", size, "err", err)
			continue
		}
		out = append(out, tok)
	}
	return out
}
