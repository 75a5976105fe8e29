package ledger

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/cometbft/cometbft/types"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/stateproof"
	"github.com/camchain/camchain/internal/tx"
)

// TestDeviceProofAgainstSignedHeader: on a real CometBFT node, a camera's
// record is proven to a client that trusts only the validator set: the
// header of the block after the proof's height is checked against the
// validators' commit signatures, then the proof against its app hash.
func TestDeviceProofAgainstSignedHeader(t *testing.T) {
	home := t.TempDir()
	hub, owner, cam := mustKey(t), mustKey(t), mustKey(t)
	if err := InitHome(home, "camchain-97", []keys.Address{hub.Address()}); err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, home)
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := tx.Sign(97, &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: hub.Address(), Nonce: 1, Expiry: tx.ExpiryIn(time.Minute)}, owner, cam)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := s.Encode()
	if r, err := n.Submit(ctx, raw); err != nil || r.Code != CodeOK {
		t.Fatalf("imprint: %+v %v", r, err)
	}
	_, p, err := n.App.DeviceProof(cam.Address())
	if err != nil {
		t.Fatal(err)
	}
	// The app hash after block H is in header H+1 (CometBFT commits that
	// block on its own after a block that changed the app hash).
	if err := n.WaitForHeight(ctx, p.Height+1); err != nil {
		t.Fatal(err)
	}
	verifiedAppHash := func(height int64) []byte {
		sh, _, err := n.SignedHeader(ctx, height)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := n.Validators(ctx, height)
		if err != nil {
			t.Fatal(err)
		}
		if err := sh.ValidateBasic("camchain-97"); err != nil {
			t.Fatal(err)
		}
		if err := types.VerifyCommit("camchain-97", vals, sh.Commit.BlockID, sh.Height, sh.Commit); err != nil {
			t.Fatalf("header %d: %v", height, err)
		}
		return sh.AppHash
	}
	d, err := VerifyDeviceProof(verifiedAppHash(int64(p.Height)+1), cam.Address(), p)
	if err != nil || d.Owner != owner.Address() || d.Hub != hub.Address() {
		t.Fatalf("proof against the signed header: %+v %v", d, err)
	}
	// Against the header from before the imprint the proof fails.
	if _, err := VerifyDeviceProof(verifiedAppHash(int64(p.Height)), cam.Address(), p); !errors.Is(err, stateproof.ErrAppHash) {
		t.Fatalf("proof against the previous header: %v", err)
	}
}

// TestTamperedValidatorDoesNotStart: an attacker with the disk of a stopped
// validator changes a camera's owner. Changing the entry alone is caught by
// the application's own check; rewriting the trie, its root and the app
// hash to match is caught against the app hash CometBFT's state recorded
// (the one the validators signed). Either way the node does not start.
func TestTamperedValidatorDoesNotStart(t *testing.T) {
	for _, coherent := range []bool{false, true} {
		home := t.TempDir()
		hub, owner, cam, thief := mustKey(t), mustKey(t), mustKey(t), mustKey(t)
		if err := InitHome(home, "camchain-96", []keys.Address{hub.Address()}); err != nil {
			t.Fatal(err)
		}
		n := startTestNode(t, home)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s, _ := tx.Sign(96, &tx.Imprint{Camera: cam.Address(), Owner: owner.Address(), Hub: hub.Address(), Nonce: 1, Expiry: tx.ExpiryIn(time.Minute)}, owner, cam)
		raw, _ := s.Encode()
		if r, err := n.Submit(ctx, raw); err != nil || r.Code != CodeOK {
			t.Fatalf("imprint: %+v %v", r, err)
		}
		h, _ := n.App.Height()
		_ = n.WaitForHeight(ctx, h+1) // the proof block, so the node is idle
		cancel()
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}

		db, err := dbm.NewPebbleDB("app", filepath.Join(home, "data"))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := db.Get(deviceKey(cam.Address()))
		var d Device
		if err := decodeValue(v, &d); err != nil {
			t.Fatal(err)
		}
		d.Owner = thief.Address()
		mustSet(t, db, deviceKey(cam.Address()), encodeValue(&d))
		if coherent {
			root, nodes, err := recomputeRoot(db, true)
			if err != nil {
				t.Fatal(err)
			}
			for path, blob := range nodes {
				mustSet(t, db, trieNodeKey([]byte(path)), blob)
			}
			mustSet(t, db, keyMetaStateRoot, root[:])
			mustSet(t, db, keyMetaAppHash, stateproof.AppHash(root))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		n2, err := StartNode(NodeConfig{Home: home})
		if err == nil {
			n2.Close()
			t.Fatalf("coherent=%v: the tampered validator started", coherent)
		}
		if !errors.Is(err, ErrStateTampered) {
			t.Fatalf("coherent=%v: %v, want ErrStateTampered", coherent, err)
		}
		if coherent && !strings.Contains(err.Error(), "consensus state recorded") {
			t.Fatalf("coherent tamper caught by the wrong check: %v", err)
		}
	}
}
