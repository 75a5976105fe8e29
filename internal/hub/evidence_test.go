package hub_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/evidence"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/hub"
)

const (
	evSegments   = 8
	evSegmentLen = 4 << 20 // 32 MiB of video in the bundle
	evSlots      = 2
)

// The evidence endpoint under load, tried as an attacker would: clients
// that ask for a 32 MiB bundle and then read it slowly or not at all.
// Beyond the cap a request is refused at once with 503 unavailable; the
// hub's heap while it streams to the slow readers stays within a few
// segments (not the bundle held twice per request, as before); and once
// the slow readers go, the hub serves a bundle that verifies.
func TestEvidenceEndpointIsCappedAndStreams(t *testing.T) {
	dir := t.TempDir()
	if _, err := hub.Init(hub.Config{DataDir: dir}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(hub.Config{DataDir: dir, HTTPAddr: "127.0.0.1:0", LinkAddr: "127.0.0.1:0", MaxEvidenceRequests: evSlots})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	cam, err := evidencetest.NewCamera(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := cam.Record(evSegments, t0, 2*time.Second, evSegmentLen); err != nil {
		t.Fatal(err)
	}
	if err := cam.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	cam.Segments = nil // the test's own copy of the video: not the hub's heap
	q := url.Values{"from": {t0.Format(time.RFC3339)}, "to": {t0.Add(time.Hour).Format(time.RFC3339)}}
	path := fmt.Sprintf("/api/v1/devices/%s/evidence?%s", cam.Key.Address().Hex(), q.Encode())
	tok, err := cam.OwnerToken(ctx) // evidence is the owner's to read
	if err != nil {
		t.Fatal(err)
	}

	// One full fetch first, so the ledger's proofs are warm and the
	// baseline heap includes what any request leaves behind.
	if n := fetch(t, h.Addr(), path, tok); n == 0 {
		t.Fatal("no bundle")
	}
	base := liveHeap()

	// evSlots readers that read a few bytes and stop: the hub streams to
	// them, blocked in writes, holding their slots.
	var slow []net.Conn
	for range evSlots {
		c, err := net.Dial("tcp", h.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: camchain\r\nAuthorization: Bearer %s\r\n\r\n", path, tok)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("slow reader: %v %v", resp, err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	time.Sleep(300 * time.Millisecond) // the hub fills the sockets' buffers and blocks
	peak := liveHeap()
	grew := int64(peak) - int64(base)
	t.Logf("live heap: %d MiB before, %d MiB while streaming %d bundles of %d MiB to readers that stopped (grew %d MiB)",
		base>>20, peak>>20, evSlots, evSegments*evSegmentLen>>20, grew>>20)
	if bound := int64(evSlots*2*evSegmentLen + 8<<20); grew > bound {
		t.Fatalf("the hub's heap grew %d MiB serving %d bundles, over %d MiB (two segments each)", grew>>20, evSlots, bound>>20)
	}

	// Beyond the cap: refused at once, with a status that says why.
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, "http://"+h.Addr()+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			codes[i] = resp.StatusCode
			var eb api.ErrorBody
			if json.NewDecoder(resp.Body).Decode(&eb) != nil || eb.Error == nil || eb.Error.Code != api.ErrUnavailable {
				t.Errorf("over the cap: %d %+v, want 503 unavailable", resp.StatusCode, eb.Error)
			}
		}()
	}
	wg.Wait()
	for _, c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Fatalf("requests over the cap answered %v, want all 503", codes)
		}
	}

	// The slow readers leave; their slots come back and a bundle is served
	// in full, and it verifies.
	for _, c := range slow {
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, code := get(t, h.Addr(), path, tok)
		if code == 200 {
			if _, err := evidence.VerifyBytes(data, evidence.Options{Now: time.Now()}); err != nil {
				t.Fatalf("the bundle served after the slow readers does not verify: %v", err)
			}
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the slow readers left: status %d", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, addr, path, tok string) ([]byte, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data, resp.StatusCode
}

func fetch(t *testing.T, addr, path, tok string) int {
	data, code := get(t, addr, path, tok)
	if code != 200 {
		t.Fatalf("status %d: %s", code, data)
	}
	return len(data)
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
