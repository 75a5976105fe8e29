package evidence_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/testutil/openssltsa"
	"github.com/camchain/camchain/internal/tsa"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/witness"
)

// TestTimestampedBundle: checkpoints timestamped by a real RFC 3161 TSA
// (OpenSSL's `ts -reply`) verify under its CA, `openssl ts -verify` agrees
// on every token in the bundle, and a removed, altered, moved or
// untrusted timestamp says exactly what is no longer proven.
func TestTimestampedBundle(t *testing.T) {
	v := newWitnessedVector(t)
	a := openssltsa.Start(t)
	b, err := evidence.Decode(v.signed)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for i := range b.Checkpoints {
		t2, _ := tx.Decode(b.Checkpoints[i].Tx)
		m := t2.Msg.(*tx.Checkpoint)
		body := witness.Body(witness.Origin(b.LedgerChainID, b.Camera, b.Epoch), m.TreeSize, m.Root)
		tok, err := (&tsa.Client{URL: a.URL}).Timestamp(context.Background(), body)
		if err != nil {
			t.Fatal(err)
		}
		b.Checkpoints[i].Timestamps = [][]byte{tok}
		bodies = append(bodies, body)
	}
	data, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// OpenSSL agrees on each token as the bundle carries it.
	back, err := evidence.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range back.Checkpoints {
		if ok, out := a.Verify(t, c.Timestamps[0], []byte(bodies[i])); !ok {
			t.Fatalf("openssl ts -verify refuses checkpoint %d's token:\n%s", i, out)
		}
	}
	now := time.Now().Add(time.Minute)
	trusted := evidence.Options{PinnedValidatorsHash: v.pin, Now: now, Witnesses: []witness.Key{v.key}, TSARoots: a.Roots}
	rep, err := evidence.VerifyBytes(data, trusted)
	if err != nil {
		t.Fatalf("the timestamped bundle: %v", err)
	}
	for i, c := range rep.Checkpoints {
		if len(c.Timestamps) != 1 || !c.Timestamps[0].Trusted || c.Timestamps[0].Signer != "CN=camchain test TSA" {
			t.Fatalf("checkpoint %d: timestamps %+v", i, c.Timestamps)
		}
	}
	if s := rep.String(); !strings.Contains(s, "by CN=camchain test TSA (a TSA you trust") {
		t.Fatalf("report:\n%s", s)
	}
	untrusted, err := evidence.VerifyBytes(data, evidence.Options{PinnedValidatorsHash: v.pin, Now: now})
	if err != nil || untrusted.Checkpoints[0].Timestamps[0].Trusted {
		t.Fatalf("with no TSA trusted: %v", err)
	}
	// The version 1 vector and the witnessed one carry no timestamp.
	if _, err := evidence.VerifyBytes(v.signed, trusted); !errors.Is(err, evidence.ErrNotTimestamped) {
		t.Fatalf("a bundle without timestamps under a trusted TSA: %v", err)
	}

	otherTSA := openssltsa.Start(t)
	for _, tc := range []struct {
		name  string
		edit  func(b *evidence.Bundle)
		opts  evidence.Options
		kind  error
		index int
		says  string
	}{
		{"timestamp of checkpoint 1 removed", func(b *evidence.Bundle) { b.Checkpoints[1].Timestamps = nil }, trusted, evidence.ErrNotTimestamped, 1, "tree size 3"},
		{"a signature byte altered", func(b *evidence.Bundle) { t := b.Checkpoints[0].Timestamps[0]; t[len(t)-5] ^= 1 }, trusted, evidence.ErrTimestamp, 0, "timestamp 0"},
		{"timestamps swapped between checkpoints", func(b *evidence.Bundle) {
			b.Checkpoints[0].Timestamps, b.Checkpoints[1].Timestamps = b.Checkpoints[1].Timestamps, b.Checkpoints[0].Timestamps
		}, trusted, evidence.ErrTimestamp, 0, "of another message"},
		{"trusting another TSA", func(*evidence.Bundle) {}, evidence.Options{PinnedValidatorsHash: v.pin, Now: now, TSARoots: otherTSA.Roots}, evidence.ErrNotTimestamped, 0, "by a TSA you trust"},
		{"verifier's clock before the timestamp", func(b *evidence.Bundle) {
			for i := range b.Checkpoints {
				b.Checkpoints[i].Cosignatures = nil // dated as late: checked first
			}
		}, evidence.Options{PinnedValidatorsHash: v.pin, Now: now.Add(-time.Hour), TSARoots: a.Roots}, evidence.ErrTimestamp, 0, "after the verifier's clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := evidence.VerifyBytes(mutate(t, data, tc.edit), tc.opts)
			var ce *evidence.CheckpointError
			if !errors.Is(err, tc.kind) || !errors.As(err, &ce) || ce.Index != tc.index || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v at checkpoint %d saying %q", err, tc.kind, tc.index, tc.says)
			}
		})
	}
}
