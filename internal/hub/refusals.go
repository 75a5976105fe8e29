package hub

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
)

// DefaultRefusalInterval is how often the hub writes its aggregated refusal
// records (docs/SPEC.md §4.1): at most one per kind (and camera of this
// hub) per interval.
const DefaultRefusalInterval = time.Minute

// Bounds of the refusal tally, so a flood cannot grow the hub's memory.
const (
	maxRefusalKeys    = 256 // (kind, camera) pairs; more fold into (kind, no camera)
	maxRefusalSources = 8   // client addresses per key; more count as "others"
	maxRefusalSigners = 4   // signers named per key; more are only counted
)

// refusalKey is what one aggregated record covers.
type refusalKey struct {
	kind   audit.Kind
	camera keys.Address // a camera bound to this hub, or zero
}

// refusalTally counts one key's refusals in the current interval.
type refusalTally struct {
	total   uint64
	codes   map[string]uint64
	sources map[string]uint64
	others  uint64 // refusals from sources beyond maxRefusalSources
	signers map[keys.Address]uint64
}

// refusal is one refused request, as the hub records it. Only requests
// whose signatures verified are ever recorded: signer is who signed it.
type refusal struct {
	kind   audit.Kind
	camera keys.Address // zero unless the camera is bound to this hub
	code   string       // the ledger's result code name, or "rate-limited"
	source string       // the client's address
	signer keys.Address
}

// refusals aggregates the hub's refusal records: counts per kind, camera,
// result code, client and signer, written once per interval.
type refusals struct {
	mu  sync.Mutex
	cur map[refusalKey]*refusalTally
}

func newRefusals() *refusals { return &refusals{cur: map[refusalKey]*refusalTally{}} }

func (g *refusals) add(r refusal) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := refusalKey{r.kind, r.camera}
	t, ok := g.cur[k]
	if !ok && len(g.cur) >= maxRefusalKeys {
		k.camera = keys.Address{}
		t, ok = g.cur[k]
	}
	if !ok {
		t = &refusalTally{codes: map[string]uint64{}, sources: map[string]uint64{}, signers: map[keys.Address]uint64{}}
		g.cur[k] = t
	}
	t.total++
	t.codes[r.code]++ // result codes are a closed, small set
	if _, ok := t.sources[r.source]; ok || len(t.sources) < maxRefusalSources {
		t.sources[r.source]++
	} else {
		t.others++
	}
	if _, ok := t.signers[r.signer]; ok || len(t.signers) < maxRefusalSigners {
		t.signers[r.signer]++
	}
}

// drain returns the interval's records, one per key, and starts a new
// interval.
func (g *refusals) drain(interval time.Duration, at time.Time) []auditEvent {
	g.mu.Lock()
	cur := g.cur
	g.cur = map[refusalKey]*refusalTally{}
	g.mu.Unlock()
	out := make([]auditEvent, 0, len(cur))
	for k, t := range cur {
		out = append(out, auditEvent{camera: k.camera, kind: k.kind, detail: t.detail(interval), at: at})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return out[i].kind < out[j].kind
		}
		return string(out[i].camera[:]) < string(out[j].camera[:])
	})
	return out
}

// detail summarises a tally, most frequent first, e.g.
// "1532 refused in 1m0s: unauthorized 1500, rate-limited 32; from 127.0.0.1 1532; signers 0xAb…(3) …".
func (t *refusalTally) detail(interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d refused in %s:", t.total, interval)
	writeCounts(&b, t.codes)
	b.WriteString("; from")
	writeCounts(&b, t.sources)
	if t.others > 0 {
		fmt.Fprintf(&b, " others %d", t.others)
	}
	signers := map[string]uint64{}
	for a, n := range t.signers {
		signers[a.Hex()] = n
	}
	b.WriteString("; signers")
	writeCounts(&b, signers)
	return b.String()
}

func writeCounts(b *strings.Builder, m map[string]uint64) {
	type kv struct {
		k string
		n uint64
	}
	l := make([]kv, 0, len(m))
	for k, n := range m {
		l = append(l, kv{k, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || l[i].n == l[j].n && l[i].k < l[j].k })
	for i, e := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, " %s %d", e.k, e.n)
	}
}
