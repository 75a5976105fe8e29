package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Backup and restore of a hub (issue 9, finding 2): a hub restored from a
// backup holds a stale chain secret, so its camera refuses it exactly as
// it refuses a stale impostor; a stranger cannot resync it; the owner's
// wallet-signed resync re-keys it, and the camera backfills from its card
// everything the backup lacked: nothing is lost.
func TestRestoredHubIsRefusedUntilTheOwnerResyncs(t *testing.T) {
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--speed", "10")
	owner, stranger := newWallet(t), newWallet(t)
	camera := pair(t, h, a, owner)
	waitFor(t, 20*time.Second, "upload", func() bool { return seqOf(a.status(t).Acked) >= 3 })
	h.stop()
	backup := filepath.Join(t.TempDir(), "backup")
	if out, err := exec.Command("cp", "-a", h.data, backup).CombinedOutput(); err != nil {
		t.Fatalf("backup: %v %s", err, out)
	}
	ackedAtBackup := seqOf(a.status(t).Acked)
	h.run(t)
	waitFor(t, 30*time.Second, "upload after the backup", func() bool { return seqOf(a.status(t).Acked) >= ackedAtBackup+5 })
	h.stop()
	ackedBeforeRestore := seqOf(a.status(t).Acked)

	// Restore the backup in place.
	if err := os.RemoveAll(h.data); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", backup, h.data).CombinedOutput(); err != nil {
		t.Fatalf("restore: %v %s", err, out)
	}
	// What the backup holds, read from it (the hub may have stored a
	// record or two whose acknowledgement the camera never saw before the
	// hub stopped: the camera's acked count is no measure of it).
	backedUp := storedHead(t, backup, camera)
	h.run(t)
	waitFor(t, 30*time.Second, "the restored hub refused as stale", func() bool {
		return strings.HasPrefix(a.status(t).Link, "diverged")
	})
	if n := hubHead(t, h, camera); !backedUp.Valid || n != int64(backedUp.Seq) {
		t.Fatalf("the restored hub holds records up to #%d, its backup up to %v: the stale hub received records", n, backedUp)
	}
	if rc, _, errs := camchain(append([]string{"resync", camera, "--hub", h.url()}, stranger.flags()...)...); rc == 0 || !strings.Contains(errs, "not yours") {
		t.Fatalf("a stranger's resync: exit %d, %q", rc, errs)
	}
	rc, out, errs := camchain(append([]string{"resync", camera, "--hub", h.url()}, owner.flags()...)...)
	if rc != 0 {
		t.Fatalf("resync: exit %d: %s%s", rc, out, errs)
	}
	waitFor(t, 60*time.Second, "backfill after the resync", func() bool {
		s := a.status(t)
		return s.Link == "connected" && hubHead(t, h, camera) >= ackedBeforeRestore && seqOf(s.Acked) >= seqOf(s.Head)-1
	})
	if !contains(auditKinds(t, h, camera), "hub/resync") {
		t.Fatalf("no hub/resync on the audit log: %v", auditKinds(t, h, camera))
	}
	a.stop()
	h.stop()
	hubH, camH := compareStores(t, h.data, a.data, camera, 0)
	if camH.Seq-hubH.Seq > 2 {
		t.Fatalf("hub at #%d, camera at #%d after the resync", hubH.Seq, camH.Seq)
	}
}
