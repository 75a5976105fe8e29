package agent

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/pairing"
	"github.com/camchain/camchain/internal/tx"
)

// deviceKey stands for a TPM or secure element: the agent reaches the key
// only through keys.Signer, and the test counts what it was asked to sign.
type deviceKey struct {
	k     *keys.PrivateKey
	signs atomic.Int32
}

func (d *deviceKey) Address() keys.Address { return d.k.Address() }
func (d *deviceKey) SignDigest(digest [32]byte) (keys.Signature, error) {
	d.signs.Add(1)
	return d.k.SignDigest(digest)
}

// A camera whose key a device holds (Config.Signer) is that key's
// identity: its pairing code names it, its co-signature of the imprint and
// of its TLS pin come from the device, its hub login too, and no key is
// created or sealed on its storage.
func TestAgentSignsWithAKeyItDoesNotHold(t *testing.T) {
	confirmEvery = 20 * time.Millisecond
	dev := &deviceKey{k: mustKey(t)}
	a, _ := startAgentWith(t, Config{Signer: dev})
	if a.Address() != dev.Address() {
		t.Fatalf("camera %s, device key %s", a.Address().Hex(), dev.Address().Hex())
	}
	code, err := pairing.ParseCode(a.Status().Code)
	if err != nil || code.Camera != dev.Address() {
		t.Fatalf("pairing code names %v (%v), want the device's key", code, err)
	}
	ledger := newTxHub(t)
	req := requestVia(t, code, mustKey(t), ledger.URL(), time.Minute)
	resp, err := pairing.Dial(context.Background(), code, req)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tx.Digest(req.EVMChainID, req.Imprint(code.Camera))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := keys.Recover(d, resp.CameraSig); err != nil || got != dev.Address() {
		t.Fatalf("imprint co-signed by %s (%v), want the device's key", got.Hex(), err)
	}
	if got, err := keys.Recover(pairing.PinDigest(d, resp.CameraPin), resp.PinSig); err != nil || got != dev.Address() {
		t.Fatalf("TLS pin signed by %s (%v), want the device's key", got.Hex(), err)
	}
	ledger.commit(t, req, code.Camera, resp)
	waitPaired(t, a) // confirming the imprint logs in to the hub, signed by the device
	if n := dev.signs.Load(); n < 3 {
		t.Fatalf("the device signed %d times; want the imprint, the pin and the login", n)
	}
	if _, err := os.Stat(filepath.Join(a.cfg.DataDir, "keys", "camera")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a camera key was created on storage beside the device's: %v", err)
	}
}
