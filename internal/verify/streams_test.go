package verify_test

import (
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/verify"
	"github.com/camchain/camchain/internal/verify/verifytest"
)

// A checkpoint of one stream's chain proves nothing about another's: a
// main-stream Checkpoint offered for the sub chain (or a SubCheckpoint
// for main) fails, naming the streams.
func TestACheckpointOfAnotherStreamFails(t *testing.T) {
	f := newFixture(t)
	m, err := f.chain.CheckpointMsg(0, 4, 1_800_000_000, 1_800_003_600)
	if err != nil {
		t.Fatal(err)
	}
	m.Stream = feedchain.StreamSub
	raw, err := verifytest.SignTx(chainID, m, f.chain.Key)
	if err != nil {
		t.Fatal(err)
	}
	rep := verify.Verify(verify.Input{Camera: f.chain.Key.Address(), Epoch: f.chain.Epoch, EVMChainID: chainID,
		Records: f.chain.Records, Checkpoints: verifytest.Ledgered([][]byte{raw}, 100, t0)})
	if len(rep.Checkpoints) != 1 || rep.Checkpoints[0].Status != verify.Failed || !strings.Contains(rep.Checkpoints[0].Detail, "sub stream's chain") {
		t.Fatalf("a SubCheckpoint on the main chain: %+v", rep.Checkpoints)
	}
	// The main records given as a sub chain are not that chain's.
	rep = verify.Verify(verify.Input{Camera: f.chain.Key.Address(), Epoch: f.chain.Epoch, Stream: feedchain.StreamSub, EVMChainID: chainID,
		Records: f.chain.Records, Checkpoints: f.full})
	if rep.OK() || rep.Stream != "sub" || rep.Checkpoints[0].Status != verify.Failed {
		t.Fatalf("main records and checkpoints verified as the sub stream's: %+v", rep.Checkpoints)
	}
}
