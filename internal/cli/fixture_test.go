package cli

import (
	"context"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/hub"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// recordedCamera is a real hub with a camera imprinted by an owner whom
// the CLI has logged in, and a chain of n real sample segments the camera
// signed, from start on — the start of every test that records, checkpoints
// and then runs a command on what was recorded.
type recordedCamera struct {
	h     *hub.Hub
	url   string
	owner testWallet
	cam   *keys.PrivateKey
	c     *api.Client // logged in as nobody: for public routes (status, tx submission)
	st    *api.Status
	chain *verifytest.Chain
}

func newRecordedCamera(t *testing.T, h *hub.Hub, url string, n int, start time.Time) *recordedCamera {
	t.Helper()
	rc := &recordedCamera{h: h, url: url, owner: newTestWallet(t, "owner")}
	rc.cam = imprint(t, url, h, rc.owner)
	cliLogin(t, url, rc.owner.key)
	c, err := api.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	rc.c = c
	if rc.st, err = c.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	rc.chain = verifytest.NewChain(rc.cam, 0)
	if err := rc.chain.AppendSample(n, start); err != nil {
		t.Fatal(err)
	}
	return rc
}

// toHub appends the whole chain to the hub's copy, as the link would, and
// returns the hub's chain.
func (rc *recordedCamera) toHub(t *testing.T) *store.Chain {
	t.Helper()
	hc, err := rc.h.Store().Chain(rc.cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rc.chain.Records {
		if err := hc.Append(r, rc.chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}
	return hc
}

// submit signs m with k and submits it; the ledger must take it.
func (rc *recordedCamera) submit(t *testing.T, m tx.Msg, k *keys.PrivateKey) {
	t.Helper()
	raw, err := verifytest.SignTx(rc.st.EVMChainID, m, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.c.Submit(context.Background(), raw); err != nil {
		t.Fatalf("submit %T: %v", m, err)
	}
}

// checkpoint commits the camera's checkpoint of seqs first–last for the
// period [periodStart, periodEnd] (unix seconds).
func (rc *recordedCamera) checkpoint(t *testing.T, first, last, periodStart, periodEnd uint64) {
	t.Helper()
	m, err := rc.chain.CheckpointMsg(first, last, periodStart, periodEnd)
	if err != nil {
		t.Fatal(err)
	}
	rc.submit(t, m, rc.cam)
}

// ownerClient is an API client with the owner's credentials.
func (rc *recordedCamera) ownerClient(t *testing.T) *api.Client {
	t.Helper()
	c, err := api.NewClient(rc.url)
	if err != nil {
		t.Fatal(err)
	}
	c.WithCredentials(&api.KeyCredentials{Key: rc.owner.key})
	return c
}
