package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/ledger"
)

// The alarm log keeps every alarm appended until it is marked committed,
// across a crash (a reopen without Close), a torn last line, and
// compaction; an identical resend is logged once (issue 8, finding 3).
func TestAlarmLogSurvivesCrashesAndLosesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "alarms")
	cam, _ := keys.Generate()
	at := time.Unix(1_800_000_000, 0)
	l, err := openAlarmLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []audit.Kind{audit.CloneSuspected, audit.ChainDivergence.Kind(), audit.StorageFull.Kind()} {
		if err := l.Append(cam.Address(), k, "detail", at.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Append(cam.Address(), audit.CloneSuspected, "detail", at); err != nil { // a resend
		t.Fatal(err)
	}
	if l.Pending() != 3 {
		t.Fatalf("%d pending, want 3 (the resend logged once)", l.Pending())
	}
	first, _, _ := l.next()
	if err := l.done(1); err != nil {
		t.Fatal(err)
	}
	// Crash: no Close; a torn line after the last fsync'd entry.
	f, _ := os.OpenFile(filepath.Join(dir, "alarms.log"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"camera":"0x`)
	f.Close()
	l2, err := openAlarmLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Pending() != 2 {
		t.Fatalf("after the crash %d pending, want 2", l2.Pending())
	}
	e, _, _ := l2.next()
	if e.Kind != audit.ChainDivergence.Kind() || e.Camera != cam.Address().Hex() || e.Nonce == first.Nonce || e.Nonce == 0 {
		t.Fatalf("next alarm after the crash: %+v", e)
	}
	// Appends go on on a line boundary after the torn tail was cut.
	if err := l2.Append(keys.Address{}, audit.CloneSuspected, "after", at); err != nil {
		t.Fatal(err)
	}
	l2.Close()
	l3, err := openAlarmLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l3.Pending() != 3 {
		t.Fatalf("%d pending after reopening, want 3", l3.Pending())
	}
	for l3.Pending() > 0 {
		if err := l3.done(1); err != nil {
			t.Fatal(err)
		}
	}
	// Compaction: a fully committed log over the limit starts again empty
	// under a new generation, and the old committed count means nothing.
	l3.size = alarmCompactAt + 1
	if err := l3.Append(cam.Address(), audit.CloneSuspected, strings.Repeat("x", 10), at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	gen := l3.gen
	if err := l3.done(1); err != nil {
		t.Fatal(err)
	}
	if l3.gen == gen || l3.Pending() != 0 {
		t.Fatalf("not compacted: gen %s -> %s, %d pending", gen, l3.gen, l3.Pending())
	}
	// A crash right after compaction, before anything is committed in the
	// new generation, with one new alarm: it is still pending.
	if err := l3.Append(cam.Address(), audit.CloneSuspected, "new", at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	l4, err := openAlarmLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l4.Pending() != 1 {
		t.Fatalf("%d pending after compaction and a crash, want 1", l4.Pending())
	}
	// Only security alarms take this path.
	if !audit.CloneSuspected.IsAlarm() || audit.PairingRefused.IsAlarm() {
		t.Fatal("alarm classification")
	}
}

// FuzzAlarmLog opens arbitrary alarm-log files: no panic, and whatever
// opens keeps its entries across an append and a reopen.
func FuzzAlarmLog(f *testing.F) {
	f.Add([]byte(alarmLogHeader+" 0011223344556677\n"), []byte("0011223344556677 0\n"))
	f.Add([]byte(alarmLogHeader+" aa\n{\"kind\":\"hub/clone-suspected\",\"detail\":\"x\",\"at\":1,\"nonce\":2}\n{\"kind"), []byte("aa 1\n"))
	f.Add([]byte("garbage"), []byte("x"))
	f.Fuzz(func(t *testing.T, log, committed []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "alarms.log"), log, 0o600)
		os.WriteFile(filepath.Join(dir, "alarms.committed"), committed, 0o600)
		l, err := openAlarmLog(dir)
		if err != nil {
			return
		}
		before := l.Pending()
		if before < 0 || l.committed > len(l.entries) {
			t.Fatalf("pending %d, committed %d of %d", before, l.committed, len(l.entries))
		}
		if err := l.Append(keys.Address{}, audit.CloneSuspected, "fuzz", time.Unix(3, 0)); err != nil {
			t.Fatal(err)
		}
		l.Close()
		l2, err := openAlarmLog(dir)
		if err != nil {
			t.Fatalf("reopen after append: %v", err)
		}
		defer l2.Close()
		if l2.Pending() != before+1 {
			t.Fatalf("pending %d after reopen, want %d", l2.Pending(), before+1)
		}
	})
}

// An alarm the hub persisted but had not yet filed when it stopped (a
// crash between the fsync and the ledger) reaches the ledger after the
// next start, once (issue 8, finding 3).
func TestPersistedAlarmIsFiledAfterRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	if _, err := Init(Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: dir}
	l, err := openAlarmLog(cfg.alarmDir())
	if err != nil {
		t.Fatal(err)
	}
	cam, _ := keys.Generate()
	if err := l.Append(cam.Address(), audit.CloneSuspected, "persisted before a crash", time.Now()); err != nil {
		t.Fatal(err)
	}
	l.Close()
	h, err := Start(Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs, err := h.Node().App.Events(ledger.EventFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Kind == audit.CloneSuspected && strings.Contains(e.Detail, "persisted before a crash") && e.Actor == h.Address() {
				n++
			}
		}
		if n == 1 && h.alarms.Pending() == 0 {
			return
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("%d copies of the alarm on the ledger, %d pending", n, h.alarms.Pending())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A flood of alarms of one camera and kind is filed as summary records,
// each standing for its run and counting it, none lost; other alarms keep
// their place in order.
func TestAlarmFloodIsFiledInSummaries(t *testing.T) {
	l, err := openAlarmLog(filepath.Join(t.TempDir(), "alarms"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cam, _ := keys.Generate()
	at := time.Unix(1_800_000_000, 0)
	const flood = maxAlarmBatch + 200
	for i := range flood {
		if err := l.Append(cam.Address(), audit.CloneSuspected, fmt.Sprintf("attempt %d", i), at.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Append(cam.Address(), audit.StorageFull.Kind(), "card full", at); err != nil {
		t.Fatal(err)
	}
	var records []alarmEntry
	var counted int
	for {
		e, n, ok := l.next()
		if !ok {
			break
		}
		records = append(records, e)
		counted += n
		if err := l.done(n); err != nil {
			t.Fatal(err)
		}
	}
	if counted != flood+1 || len(records) != 3 {
		t.Fatalf("%d records for %d alarms, counting %d", len(records), flood+1, counted)
	}
	if !strings.HasPrefix(records[0].Detail, fmt.Sprintf("%d hub/clone-suspected alarms", maxAlarmBatch)) ||
		!strings.HasPrefix(records[1].Detail, "200 hub/clone-suspected alarms") ||
		records[2].Kind != audit.StorageFull.Kind() || records[2].Detail != "card full" {
		t.Fatalf("records: %q / %q / %s %q", records[0].Detail, records[1].Detail, records[2].Kind, records[2].Detail)
	}
}
