package e2e

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/keys"
)

// publicRecords pages through the hub's public /records for the camera's
// epoch 0 and returns every record's bytes, in order.
func publicRecords(t *testing.T, h *hubProc, camera string) [][]byte {
	t.Helper()
	var out [][]byte
	from := uint64(0)
	for {
		l, err := h.client(t).Records(context.Background(), camera, 0, from, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			b, err := hex.DecodeString(strings.TrimPrefix(it, "0x"))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		if l.Next == "" {
			return out
		}
		if from, err = strconv.ParseUint(l.Next, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
}

// writeRecordsLog writes a store's records.log (SPEC §9) holding recs, as
// an attacker rebuilding a hub's chain from public records would.
func writeRecordsLog(t *testing.T, hubData, camera string, recs [][]byte) {
	t.Helper()
	cam, err := keys.ParseAddress(camera)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(hubData, "recordings", hex.EncodeToString(cam[:]), "0")
	b := []byte("CCRECLOG\x00\x00\x00\x01\x00\x00\x00\x00")
	table := crc32.MakeTable(crc32.Castagnoli)
	for _, r := range recs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(r)))
		b = append(b, r...)
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(r, table))
	}
	if err := os.WriteFile(filepath.Join(dir, "records.log"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The attack of issue 9, finding 1, from outside: an impostor hub started
// from a stale copy of the real hub's data directory (its keys, ledger,
// pairings and chain secret as they were), with its records log rebuilt
// from the real hub's public /records, so it holds every record hash the
// camera could ask about. The chain secret moved on with the camera's
// later sessions, so the proofs fail: the camera refuses it (and the
// impostor's own hub code sees the camera's secret is ahead of its copy),
// streams nothing to it, and later backfills the real hub, losing nothing.
func TestStaleHubCopyWithPublicRecordsIsRefused(t *testing.T) {
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "10")
	camera := pair(t, h, a, newWallet(t))
	waitFor(t, 20*time.Second, "upload", func() bool { return seqOf(a.status(t).Acked) >= 3 })
	h.stop()
	stale := &hubProc{data: filepath.Join(t.TempDir(), "stale"), http: h.http, link: h.link, reader: &api.KeyCredentials{Key: h.reader.Key}} // logs in afresh there
	if out, err := exec.Command("cp", "-a", h.data, stale.data).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	// The camera goes on with the real hub: a new session, a new secret.
	h.run(t)
	copied := seqOf(a.status(t).Acked)
	waitFor(t, 30*time.Second, "more upload after the copy", func() bool { return seqOf(a.status(t).Acked) >= copied+3 })
	recs := publicRecords(t, h, camera)
	h.stop()

	writeRecordsLog(t, stale.data, camera, recs)
	stale.run(t)
	if n := hubHead(t, stale, camera); n != int64(len(recs))-1 {
		t.Fatalf("the impostor's rebuilt chain ends at #%d, want #%d", n, len(recs)-1)
	}
	acked := seqOf(a.status(t).Acked)
	waitFor(t, 30*time.Second, "the camera to refuse the stale copy", func() bool {
		return strings.HasPrefix(a.status(t).Link, "diverged")
	})
	before := seqOf(a.status(t).Head)
	waitFor(t, 10*time.Second, "recording to go on", func() bool { return seqOf(a.status(t).Head) > before+3 })
	if n := hubHead(t, stale, camera); n != int64(len(recs))-1 {
		t.Fatalf("the impostor received records: its chain is at #%d", n)
	}
	if got := seqOf(a.status(t).Acked); got != acked {
		t.Fatalf("the camera took acknowledgements from the impostor: #%d -> #%d", acked, got)
	}
	stale.stop()

	h.run(t)
	waitFor(t, 60*time.Second, "backfill to the real hub", func() bool {
		s := a.status(t)
		return seqOf(s.Acked) > before+3 && seqOf(s.Acked) >= seqOf(s.Head)-1
	})
	a.stop()
	h.stop()
	hubH, camH := compareStores(t, h.data, a.data, camera, 0)
	if camH.Seq-hubH.Seq > 2 {
		t.Fatalf("hub at #%d, camera at #%d", hubH.Seq, camH.Seq)
	}
}
