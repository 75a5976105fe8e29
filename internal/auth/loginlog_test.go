package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/camchain/camchain/internal/auth/signin"
	"github.com/camchain/camchain/internal/checkpoint"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/tx"
)

const testEVMChain = 4242

func testRecord(i int) *Entry {
	r := &Record{Kind: KindLogin, Time: 1764648000 + uint64(i)}
	r.Address[0], r.Client[0], r.Prev[0], r.Message[0] = 0x11, byte(i), byte(i>>8), 0x44
	r.Client[1] = byte(i >> 8)
	return &Entry{Record: r}
}

func testRefusal(i int) *Entry {
	r := &RefusalRecord{Time: 1764648000 + uint64(i), Reason: ReasonWrongDomain}
	r.Address[0], r.Client[0], r.Client[1] = 0x66, byte(i), byte(i>>8)
	return &Entry{Refusal: r}
}

// signBatch makes the LoginBatch transaction a hub would commit for b.
func signBatch(t testing.TB, hub *keys.PrivateKey, b *Batch) []byte {
	t.Helper()
	signed, err := tx.Sign(testEVMChain, &tx.LoginBatch{Hub: hub.Address(), Seq: b.Seq, PeriodStart: b.Start, PeriodEnd: b.End,
		Size: b.Size, Root: b.Root, Unverified: b.Unverified, Nonce: 1, Expiry: 2000000000}, hub)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := signed.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func mustOpenLog(t testing.TB, dir string, now uint64) *LoginLog {
	t.Helper()
	l, err := OpenLoginLog(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Records and verified refusals are kept, batched per interval and
// provable against the batch's root; unverified refusals only counted.
func TestLoginLogBatchesAndProofs(t *testing.T) {
	dir := t.TempDir()
	hub, _ := keys.Generate()
	l := mustOpenLog(t, dir, 1764648000)
	if b, err := l.Close(1764648060); b != nil || err != nil {
		t.Fatalf("an empty interval closed a batch: %+v, %v", b, err)
	}
	var entries []*Entry
	for i := range 5 {
		e := testRecord(i)
		if i%2 == 1 {
			e = testRefusal(i)
		}
		entries = append(entries, e)
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	l.Count()
	l.Count()
	if _, err := l.Prove(entries[0].Hash()); !errors.Is(err, ErrNotBatched) {
		t.Fatalf("proof from the open batch: %v, want ErrNotBatched", err)
	}
	b, err := l.Close(1764648120)
	if err != nil || b == nil {
		t.Fatalf("close: %+v, %v", b, err)
	}
	var hashes []feedchain.Hash
	for _, e := range entries {
		hashes = append(hashes, feedchain.Hash(e.Hash()))
	}
	// The empty interval did not end the batch: it covers both intervals.
	if b.Seq != 0 || b.Start != 1764648000 || b.End != 1764648120 || b.Size != 5 || b.Unverified != 2 || b.Root != checkpoint.Root(hashes) {
		t.Fatalf("batch %+v", b)
	}
	batchTx := signBatch(t, hub, b)
	for i, e := range entries {
		p, err := l.Prove(e.Hash())
		if err != nil {
			t.Fatal(err)
		}
		if p.Index != uint64(i) || p.Batch != *b {
			t.Fatalf("entry %d: index %d batch %+v", i, p.Index, p.Batch)
		}
		got, m, err := VerifyLoginProof(LoginProof{Entry: p.Raw, Index: p.Index, Path: p.Path, BatchTx: batchTx}, testEVMChain, hub.Address())
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if got.Hash() != e.Hash() || m.Seq != 0 {
			t.Fatalf("entry %d verified as another", i)
		}
	}
	if _, err := l.Prove(signin.Head{1}); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("unknown hash: %v", err)
	}
	if got := l.Closed(0); len(got) != 1 || *got[0] != *b {
		t.Fatalf("Closed(0) = %+v", got)
	}
	if got := l.Closed(1); len(got) != 0 {
		t.Fatalf("Closed(1) = %+v", got)
	}
}

// Every way a proof can be wrong is refused.
func TestVerifyLoginProofRefuses(t *testing.T) {
	l := mustOpenLog(t, t.TempDir(), 1764648000)
	hub, _ := keys.Generate()
	other, _ := keys.Generate()
	for i := range 7 {
		if err := l.Append(testRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := l.Close(1764648060)
	p, err := l.Prove(testRecord(3).Hash())
	if err != nil {
		t.Fatal(err)
	}
	good := LoginProof{Entry: p.Raw, Index: p.Index, Path: p.Path, BatchTx: signBatch(t, hub, b)}
	if _, _, err := VerifyLoginProof(good, testEVMChain, hub.Address()); err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 1; return c }
	otherRoot := *b
	otherRoot.Root[0] ^= 1
	forged, _ := tx.Sign(testEVMChain, &tx.LoginBatch{Hub: hub.Address(), PeriodStart: b.Start, PeriodEnd: b.End, Size: b.Size, Root: b.Root, Nonce: 1, Expiry: 2000000000}, other)
	forgedRaw, _ := forged.Encode()
	for name, mut := range map[string]func(p *LoginProof){
		"entry bit flipped":       func(p *LoginProof) { p.Entry = flip(p.Entry, 30) },
		"entry trailing byte":     func(p *LoginProof) { p.Entry = append(append([]byte(nil), p.Entry...), 0) },
		"index + 1":               func(p *LoginProof) { p.Index++ },
		"index - 1":               func(p *LoginProof) { p.Index-- },
		"index beyond the size":   func(p *LoginProof) { p.Index = b.Size },
		"path hash flipped":       func(p *LoginProof) { p.Path = append([]feedchain.Hash(nil), p.Path...); p.Path[0][5] ^= 1 },
		"path cut":                func(p *LoginProof) { p.Path = p.Path[:len(p.Path)-1] },
		"path extended":           func(p *LoginProof) { p.Path = append(append([]feedchain.Hash(nil), p.Path...), feedchain.Hash{}) },
		"another root":            func(p *LoginProof) { p.BatchTx = signBatch(t, hub, &otherRoot) },
		"batch by another hub":    func(p *LoginProof) { p.BatchTx = signBatch(t, other, b) },
		"batch forged for hub":    func(p *LoginProof) { p.BatchTx = forgedRaw },
		"batch tx bit flipped":    func(p *LoginProof) { p.BatchTx = flip(p.BatchTx, 40) },
		"batch tx trailing bytes": func(p *LoginProof) { p.BatchTx = append(append([]byte(nil), p.BatchTx...), 0) },
	} {
		q := good
		mut(&q)
		if _, _, err := VerifyLoginProof(q, testEVMChain, hub.Address()); !errors.Is(err, ErrLoginProof) {
			t.Errorf("%s: %v, want ErrLoginProof", name, err)
		}
	}
	if _, _, err := VerifyLoginProof(good, testEVMChain+1, hub.Address()); !errors.Is(err, ErrLoginProof) {
		t.Errorf("another chain: %v", err)
	}
	if _, _, err := VerifyLoginProof(good, testEVMChain, other.Address()); !errors.Is(err, ErrLoginProof) {
		t.Errorf("another hub expected: %v", err)
	}
}

// A crash loses nothing that was acknowledged: appends survive a reopen,
// a torn last frame is cut, a closed batch starts the next on reopen, and
// damage anywhere else refuses to open.
func TestLoginLogCrashSafety(t *testing.T) {
	dir := t.TempDir()
	l := mustOpenLog(t, dir, 1764648000)
	for i := range 3 {
		if err := l.Append(testRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	// "Crash": no Close, no Shutdown; a half-written frame at the end.
	f, _ := os.OpenFile(filepath.Join(dir, "0000000000000000.log"), os.O_WRONLY|os.O_APPEND, 0)
	f.Write(frame(tagEntry, testRecord(99).Encode())[:50])
	f.Close()
	l = mustOpenLog(t, dir, 1764649999)
	if err := l.Append(testRecord(3)); err != nil {
		t.Fatal(err)
	}
	b, err := l.Close(1764648100)
	if err != nil || b.Size != 4 || b.Start != 1764648000 {
		t.Fatalf("batch after a torn reopen: %+v, %v", b, err)
	}
	for i := range 4 {
		if _, err := l.Prove(testRecord(i).Hash()); err != nil {
			t.Fatalf("record %d lost: %v", i, err)
		}
	}
	if _, err := l.Prove(testRecord(99).Hash()); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("the torn record is in the log: %v", err)
	}
	l.Shutdown()
	// Reopened after a close, the next batch starts where it ended.
	l = mustOpenLog(t, dir, 1764650000)
	if err := l.Append(testRecord(5)); err != nil {
		t.Fatal(err)
	}
	b1, _ := l.Close(1764648200)
	if b1.Seq != 1 || b1.Start != 1764648100 || b1.Size != 1 {
		t.Fatalf("second batch %+v", b1)
	}
	l.Shutdown()
	// A damaged closed batch: refuse to open.
	p := filepath.Join(dir, "0000000000000000.log")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	flip := func() {
		t.Helper()
		data[60] ^= 1
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	flip()
	if _, err := OpenLoginLog(dir, 1764650000); err == nil {
		t.Fatal("opened a log whose closed batch is damaged")
	}
	flip() // repaired: what follows fails for the missing batch alone
	if l, err := OpenLoginLog(dir, 1764650000); err != nil {
		t.Fatalf("the repaired log does not open: %v", err)
	} else {
		l.Shutdown()
	}
	// A batch missing between two others (the oldest ones go by Prune).
	if err := os.Remove(filepath.Join(dir, "0000000000000001.log")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLoginLog(dir, 1764650000); err == nil {
		t.Fatal("opened a log with a batch missing")
	}
}

// Concurrent logins share fsyncs; every one of them is in the log.
func TestLoginLogConcurrentAppends(t *testing.T) {
	l := mustOpenLog(t, t.TempDir(), 1764648000)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := l.Append(testRecord(g*50 + i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	b, _ := l.Close(1764648060)
	if b.Size != 400 {
		t.Fatalf("%d records, want 400", b.Size)
	}
	for i := range 400 {
		if _, err := l.Prove(testRecord(i).Hash()); err != nil {
			t.Fatal(fmt.Errorf("record %d: %w", i, err))
		}
	}
}

// Past the per-interval cap, refusal records are only counted, while
// logins are still recorded: a flood of signed junk cannot crowd out, or
// grow the log faster than the cap.
func TestLoginLogRefusalCap(t *testing.T) {
	l := mustOpenLog(t, t.TempDir(), 1764648000)
	l.maxRefusals = 3
	for i := range 10 {
		if err := l.Append(testRefusal(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Append(testRecord(1)); err != nil {
		t.Fatal(err)
	}
	b, _ := l.Close(1764648060)
	if b.Size != 4 || b.Unverified != 7 {
		t.Fatalf("batch %+v: want 3 refusals and the login recorded, 7 counted", b)
	}
	if _, err := l.Prove(testRecord(1).Hash()); err != nil {
		t.Fatalf("the login after the cap: %v", err)
	}
	if _, err := l.Prove(testRefusal(5).Hash()); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("a refusal past the cap is recorded: %v", err)
	}
}

// Prune drops the oldest committed batches past the retention, and only
// those; the log reopens from the first batch it kept.
func TestLoginLogPrune(t *testing.T) {
	dir := t.TempDir()
	l := mustOpenLog(t, dir, 1000)
	for i := range 3 {
		if err := l.Append(testRecord(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Close(uint64(1100 + 100*i)); err != nil {
			t.Fatal(err)
		}
	}
	// Batches 0..2 end at 1100, 1200, 1300. Only batch 0 is committed: a
	// batch not yet on the ledger is kept whatever its age.
	if n, err := l.Prune(5000, 1); err != nil || n != 1 {
		t.Fatalf("prune: %d, %v; want 1", n, err)
	}
	if n, _ := l.Prune(1250, 3); n != 1 {
		t.Fatalf("prune before 1250: %d, want 1 (batch 1)", n)
	}
	if _, err := l.Prove(testRecord(0).Hash()); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("a pruned record: %v", err)
	}
	if _, err := l.Prove(testRecord(2).Hash()); err != nil {
		t.Fatal(err)
	}
	if got := l.Closed(0); len(got) != 1 || got[0].Seq != 2 {
		t.Fatalf("Closed(0) after the prune: %+v", got)
	}
	l.Shutdown()
	l = mustOpenLog(t, dir, 9999)
	p, err := l.Prove(testRecord(2).Hash())
	if err != nil || p.Batch.Seq != 2 {
		t.Fatalf("after reopening a pruned log: %+v, %v", p, err)
	}
	if err := l.Append(testRecord(3)); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Close(1400); b.Seq != 3 {
		t.Fatalf("next batch %+v", b)
	}
	// Never the open batch.
	if n, _ := l.Prune(1<<40, 1<<40); n != 2 {
		t.Fatalf("prune everything: %d, want the 2 closed batches", n)
	}
	if err := l.Append(testRecord(4)); err != nil {
		t.Fatalf("append after pruning all closed batches: %v", err)
	}
}
