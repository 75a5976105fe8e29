package hub

import (
	"context"
	"crypto/rand"
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
	"github.com/camchain/camchain/internal/store"
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
	h.witnesses = w
	return nil
}

// WitnessLogKey is the verifier key of the log of camera's chain in epoch:
// what a witness operator adds for it (with the origin, its name).
func (h *Hub) WitnessLogKey(origin string) (string, error) {
	return h.witnesses.keys.VerifierKey(origin)
}

// witnessLoop publishes until ctx ends.
func (h *Hub) witnessLoop(ctx context.Context) {
	defer h.wg.Done()
	if len(h.witnesses.clients) == 0 {
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

// publishWitnessed makes one pass over the main chains: every committed
// checkpoint whose root the hub's records give, not yet cosigned by a
// witness, is published to it, in ledger order.
func (h *Hub) publishWitnessed(ctx context.Context) {
	refs, err := h.store.Chains()
	if err != nil {
		h.cfg.Logger.Warn("witness: list chains", "err", err)
		return
	}
	for _, ref := range refs {
		if ref.Stream != store.Main(ref.Camera, ref.Epoch).Stream || ctx.Err() != nil {
			continue
		}
		c, err := h.store.Lookup(ref.Camera, ref.Epoch)
		if err != nil {
			continue
		}
		cps, err := h.node.App.Checkpoints(ref.Camera, ref.Epoch, 0, 1<<20)
		if err != nil || len(cps) == 0 {
			continue
		}
		origin := witness.Origin(h.node.LedgerChainID(), ref.Camera, ref.Epoch)
		var tree *checkpoint.Tree
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
				if tree == nil || tree.Size() < m.TreeSize {
					// A tree of the hub's own records, up to what it has.
					if tree = checkpoint.NewTree(); tree.ExtendTo(c, m.TreeSize) != nil {
						break
					}
				}
				if root, err := tree.RootAt(m.TreeSize); err != nil || root != m.Root {
					break // records differ from the checkpoint: integrity reports it, nothing to witness
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
