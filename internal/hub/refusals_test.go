package hub

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
)

// A flood of refusals from ever new sources, signers and cameras keeps the
// tally bounded, and an interval yields at most one record per (kind,
// camera) with counts that add up.
func TestRefusalTallyIsBoundedAndAggregated(t *testing.T) {
	g := newRefusals()
	var cams []keys.Address
	for i := range maxRefusalKeys + 50 {
		var c keys.Address
		c[0], c[1] = byte(i>>8), byte(i)
		cams = append(cams, c)
	}
	const n = 20_000
	for i := range n {
		var s keys.Address
		s[2], s[3] = byte(i>>8), byte(i)
		kind := audit.TxRefused
		if i%2 == 0 {
			kind = audit.RateLimited
		}
		g.add(refusal{kind: kind, camera: cams[i%len(cams)], code: "unauthorized", source: fmt.Sprintf("10.0.%d.%d", i/256%256, i%256), signer: s})
	}
	if len(g.cur) > maxRefusalKeys+2 {
		t.Fatalf("%d tally keys, bound %d", len(g.cur), maxRefusalKeys)
	}
	var total uint64
	for _, tl := range g.cur {
		if len(tl.sources) > maxRefusalSources || len(tl.signers) > maxRefusalSigners || len(tl.codes) > 1 {
			t.Fatalf("tally grew: %d sources, %d signers, %d codes", len(tl.sources), len(tl.signers), len(tl.codes))
		}
		total += tl.total
	}
	if total != n {
		t.Fatalf("counted %d refusals, want %d", total, n)
	}
	recs := g.drain(time.Minute, time.Now())
	seen := map[refusalKey]bool{}
	for _, r := range recs {
		k := refusalKey{r.kind, r.camera}
		if seen[k] {
			t.Fatalf("two records for %v in one interval", k)
		}
		seen[k] = true
		if !strings.Contains(r.detail, "refused in 1m0s: unauthorized") || r.subject != (keys.Address{}) {
			t.Fatalf("record %+v", r)
		}
	}
	if len(g.cur) != 0 || len(g.drain(time.Minute, time.Now())) != 0 {
		t.Fatal("drain did not start a new interval")
	}
}

// A flood of unknown signers from one address cannot spend a known
// signer's budget, nor exceed the shared one.
func TestBudgetsKeepKnownSignersApart(t *testing.T) {
	b := newBudgets()
	now := time.Unix(1_800_000_000, 0)
	allowed := 0
	for i := range 10_000 {
		if b.allowUnknown("127.0.0.1", now.Add(time.Duration(i)*time.Millisecond)) {
			allowed++
		}
	}
	// 10 s at 10/s plus a burst of 20 for the one client.
	if allowed > int(unknownClientBudget.burst+10*unknownClientBudget.rate)+1 {
		t.Fatalf("one client got %d submissions through in 10 s", allowed)
	}
	owner := keys.Address{1}
	end := now.Add(10 * time.Second)
	for i := range int(knownSignerBudget.burst) {
		if !b.allowKnown(owner, end) {
			t.Fatalf("the known signer was refused at submission %d", i)
		}
	}
	// Many clients share the total.
	allowed = 0
	for i := range 10_000 {
		if b.allowUnknown(fmt.Sprintf("10.1.%d.%d", i/256, i%256), end) {
			allowed++
		}
	}
	if allowed > int(unknownTotalBudget.burst)+1 {
		t.Fatalf("%d submissions from many clients at one instant, total burst %v", allowed, unknownTotalBudget.burst)
	}
	if len(b.clients) > maxBuckets {
		t.Fatalf("%d client buckets, bound %d", len(b.clients), maxBuckets)
	}
}
