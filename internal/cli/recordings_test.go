package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
)

// appendStream appends n records of stream (clock-stamped as given) to
// the hub's chain of that stream, as the link would.
func appendStream(t *testing.T, c *store.Chain, cam *keys.PrivateKey, stream feedchain.Stream, clocks []feedchain.ClockSource) {
	t.Helper()
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, clock := range clocks {
		data := []byte(fmt.Sprintf("%s segment %d", stream, i))
		r := &feedchain.Record{Version: feedchain.Version2, Camera: cam.Address(), Seq: uint64(i), Segment: feedchain.SegmentHash(data),
			Start: start.Add(time.Duration(i) * 2 * time.Second).UnixNano(), Duration: 2 * time.Second, Size: uint64(len(data)),
			Codec: "avc1.4d401e", Stream: stream, Clock: clock}
		if h := c.Head(); h.Valid {
			r.Prev = h.Hash
		}
		if err := r.Sign(cam); err != nil {
			t.Fatal(err)
		}
		if err := c.Append(r, data); err != nil {
			t.Fatal(err)
		}
	}
}

// `camchain recordings` lists each stream's chain with every segment's
// stream and clock source.
func TestRecordingsListsEachStreamWithItsClock(t *testing.T) {
	h, url := startHub(t)
	owner := newTestWallet(t, "owner")
	cam := imprint(t, url, h, owner)
	cliLogin(t, url, owner.key)
	mainChain, err := h.Store().Chain(cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	subChain, err := h.Store().StreamChain(store.ChainRef{Camera: cam.Address(), Stream: feedchain.StreamSub})
	if err != nil {
		t.Fatal(err)
	}
	appendStream(t, mainChain, cam, feedchain.StreamMain, []feedchain.ClockSource{feedchain.ClockArrival, feedchain.ClockRTCP, feedchain.ClockRTCP})
	appendStream(t, subChain, cam, feedchain.StreamSub, []feedchain.ClockSource{feedchain.ClockArrival, feedchain.ClockArrival})

	r := runCLI("recordings", cam.Address().Hex(), "--hub", url).must(t, 0, "")
	for _, want := range []string{
		"camera " + cam.Address().Hex() + " epoch 0, main stream (not connected): 3 recording(s)",
		"SEQ      START                           DURATION       SIZE STREAM CLOCK    INTEGRITY",
		"0        2026-12-01T10:00:00Z              2.000s         14 main   arrival  pending",
		"2        2026-12-01T10:00:04Z              2.000s         14 main   rtcp     pending",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("main listing lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI("recordings", cam.Address().Hex(), "--hub", url, "--stream", "sub", "--json").must(t, 0, "")
	var l api.Recordings
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatal(err)
	}
	if l.Stream != "sub" || len(l.Items) != 2 || l.Items[1].Seq != 1 || l.Items[1].Stream != "sub" || l.Items[1].Clock != "arrival" {
		t.Fatalf("sub listing: %+v", l)
	}
	runCLI("recordings", cam.Address().Hex(), "--hub", url, "--stream", "side").must(t, 2, `unknown stream "side"`)

	// The API refuses an unknown stream too, with what to send.
	c, _ := api.NewClient(url)
	c.WithCredentials(&sessionCreds{})
	if _, err := c.StreamRecords(t.Context(), cam.Address().Hex(), "side", -1, 0, 0); api.CodeOf(err) != api.ErrBadRequest || !strings.Contains(err.Error(), "want main or sub") {
		t.Fatalf("records of stream side: %v", err)
	}
	sub, err := c.StreamRecords(t.Context(), cam.Address().Hex(), "sub", -1, 0, 0)
	if err != nil || sub.Stream != "sub" || len(sub.Items) != 2 {
		t.Fatalf("sub records: %+v %v", sub, err)
	}
}
