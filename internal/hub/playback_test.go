package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/api/playconn"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/tx"
	"github.com/camchain/camchain/internal/verify/verifytest"
	"github.com/camchain/camchain/internal/viewchain"
)

// playHub is an authz hub whose camera has n stored 2 s segments, the
// first starting at start.
func playHub(t *testing.T, n int, grant func(now uint64) *tx.Grant) (*authzHub, *verifytest.Chain, time.Time) {
	t.Helper()
	a := startAuthzHub(t, grant)
	start := time.Now().Add(-time.Duration(2*n+30) * time.Second).Truncate(time.Second)
	chain := verifytest.NewChain(a.cam, 0)
	if err := chain.AppendRandom(n, 3000, 7, start); err != nil {
		t.Fatal(err)
	}
	sc, err := a.h.Store().Chain(a.cam.Address(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range chain.Records {
		if err := sc.Append(r, chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}
	return a, chain, start
}

// received is what a viewer verified of a session.
type received struct {
	seqs   []uint64
	codecs []api.PlayCodec
	ended  bool
}

// consume reads messages until the session ends or stop says so, verifying
// every frame; it returns the first error (a break, or the hub's close).
func consume(ctx context.Context, next func(context.Context) (api.PlayMessage, error), v *viewchain.Verifier, got *received, chain *verifytest.Chain, stop func(*received) bool) error {
	for !stop(got) {
		m, err := next(ctx)
		if err != nil {
			return err
		}
		if m.Codec != nil {
			got.codecs = append(got.codecs, *m.Codec)
			continue
		}
		f, err := viewchain.DecodeFrame(m.Frame)
		if err != nil {
			return err
		}
		if f.Type == viewchain.FrameEnd {
			if err := v.End(f.Link); err != nil {
				return err
			}
			got.ended = true
			continue
		}
		c, err := v.Segment(f.Link, f.Record, f.Data)
		if err != nil {
			return err
		}
		if chain != nil && !bytes.Equal(f.Data, chain.Segments[c.Record.Seq]) {
			return errors.New("segment bytes differ from the camera's")
		}
		got.seqs = append(got.seqs, c.Record.Seq)
	}
	return nil
}

func asClient(a *authzHub, tok string) *api.Client {
	c, _ := api.NewClient(a.base)
	return c.WithCredentials(api.StaticToken(tok))
}

// Recorded playback of a range starts at the segment that starts at or
// before from (the key frame at or before it), streams each stored segment
// as it is with its record and a link, and ends with the hub's signed end;
// the viewer's verifier accepts it all.
func TestPlaybackRecordedRangeSeeksAndVerifies(t *testing.T) {
	a, chain, start := playHub(t, 10, func(now uint64) *tx.Grant { return &tx.Grant{ValidUntil: now + 3600} })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nonce, _ := viewchain.NewNonce()
	for _, tc := range []struct {
		from, to time.Duration
		want     []uint64
	}{
		{7*time.Second + 300*time.Millisecond, 15 * time.Second, []uint64{3, 4, 5, 6, 7}}, // #3 starts at 6 s
		{6 * time.Second, 8 * time.Second, []uint64{3}},                                   // exactly on a key frame
		{-time.Hour, 3 * time.Second, []uint64{0, 1}},                                     // before the first segment
		{19 * time.Second, 21 * time.Second, []uint64{9}},                                 // the last one
	} {
		p, err := playconn.Dial(ctx, asClient(a, a.viewerTok), a.cam.Address().Hex(), api.PlayOptions{From: start.Add(tc.from), To: start.Add(tc.to), Nonce: nonce.String(), Epoch: -1})
		if err != nil {
			t.Fatal(err)
		}
		if p.Start.Hub != a.h.Address().Hex() || p.Start.Live || p.Start.Stream != "main" || p.Start.Nonce != nonce.String() {
			t.Fatalf("start message %+v", p.Start)
		}
		v := viewchain.NewVerifier(a.h.Address(), a.cam.Address(), nonce, feedchain.StreamMain)
		var got received
		err = consume(ctx, p.Next, v, &got, chain, func(*received) bool { return false })
		if !errors.Is(err, api.ErrPlayEnded) || !got.ended {
			t.Fatalf("from %s: %v (ended %v)", tc.from, err, got.ended)
		}
		if err := v.Finish(true); err != nil {
			t.Fatal(err)
		}
		if !equalSeqs(got.seqs, tc.want) {
			t.Errorf("from %s to %s: records %v, want %v", tc.from, tc.to, got.seqs, tc.want)
		}
		if len(got.codecs) != 1 || got.codecs[0].Video != "H.264" || got.codecs[0].Mime != `video/mp4; codecs="avc1.4d401e"` {
			t.Errorf("codec messages %+v", got.codecs)
		}
	}
	// Bad queries are refused before the upgrade, saying what to send.
	for q, want := range map[string]string{"stream=side": "main or sub", "from=yesterday": "RFC 3339", "to=2026-01-01T00:00:00Z": "from", "nonce=zz": "hex"} {
		code, body := a.status(t, "GET", "/api/v1/devices/"+a.cam.Address().Hex()+"/play?"+q, "", a.ownerTok)
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	if code, body := a.status(t, "GET", "/api/v1/devices/"+a.cam.Address().Hex()+"/play", "", a.ownerTok); code != http.StatusBadRequest || !strings.Contains(body, "WebSocket") {
		t.Errorf("a plain GET: %d %s", code, body)
	}
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ticketPlay opens a playback socket the way a browser does: no token on
// the handshake, a ticket in the first message. It returns the socket
// after the start message, or the close status.
func ticketPlay(t *testing.T, ctx context.Context, a *authzHub, tok, query string) (*websocket.Conn, api.PlayStart, error) {
	t.Helper()
	var tk api.Ticket
	req, _ := http.NewRequest("POST", a.base+"/api/v1/auth/ticket", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&tk)
	resp.Body.Close()
	url := "ws" + strings.TrimPrefix(a.base, "http") + "/api/v1/devices/" + a.cam.Address().Hex() + "/play?" + query
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {a.h.auth.Origin().String()}}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(viewchain.MaxFrame)
	c.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","ticket":"`+tk.Ticket+`"}`))
	var start api.PlayStart
	for start.Type != "start" {
		_, b, err := c.Read(ctx)
		if err != nil {
			return nil, start, err
		}
		json.Unmarshal(b, &start)
	}
	return c, start, nil
}

func wsNext(c *websocket.Conn) func(context.Context) (api.PlayMessage, error) {
	return func(ctx context.Context) (api.PlayMessage, error) {
		typ, b, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return api.PlayMessage{}, api.ErrPlayEnded
			}
			return api.PlayMessage{}, err
		}
		if typ == websocket.MessageBinary {
			return api.PlayMessage{Frame: b}, nil
		}
		var cm api.PlayCodec
		json.Unmarshal(b, &cm)
		return api.PlayMessage{Codec: &cm}, nil
	}
}

// Live view starts at the newest segment and follows the chain; a viewer
// authenticated by a ticket is a viewer like any other; a revoke on the
// ledger closes its open stream within 2 s (code 4403), and a stranger's
// socket is closed before anything is sent.
func TestPlaybackLiveFollowsAndRevokeClosesIt(t *testing.T) {
	a, chain, start := playHub(t, 4, func(now uint64) *tx.Grant { return &tx.Grant{ValidUntil: now + 3600} })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, st, err := ticketPlay(t, ctx, a, a.viewerTok, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if !st.Live || st.Nonce != strings.Repeat("0", 32) {
		t.Fatalf("start %+v", st)
	}
	v := viewchain.NewVerifier(a.h.Address(), a.cam.Address(), viewchain.Nonce{}, feedchain.StreamMain)
	var got received
	if err := consume(ctx, wsNext(c), v, &got, chain, func(g *received) bool { return len(g.seqs) == 1 }); err != nil {
		t.Fatal(err)
	}
	if got.seqs[0] != 3 {
		t.Fatalf("live starts at record %d, want the newest, 3", got.seqs[0])
	}
	// New segments reach the open stream.
	if err := chain.AppendRandom(2, 3000, 8, start.Add(8*time.Second)); err != nil {
		t.Fatal(err)
	}
	sc, _ := a.h.Store().Chain(a.cam.Address(), 0)
	for i := 4; i < 6; i++ {
		if err := sc.Append(chain.Records[i], chain.Segments[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := consume(ctx, wsNext(c), v, &got, chain, func(g *received) bool { return len(g.seqs) == 3 }); err != nil {
		t.Fatal(err)
	}
	if !equalSeqs(got.seqs, []uint64{3, 4, 5}) {
		t.Fatalf("live records %v", got.seqs)
	}
	// The owner revokes the grant: the stream closes within 2 s.
	a.submit(t, &tx.Revoke{Camera: a.cam.Address(), Viewer: a.viewer.Address()}, a.owner)
	revoked := time.Now()
	_, _, err = c.Read(ctx)
	took := time.Since(revoked)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != wsForbidden || !strings.Contains(ce.Reason, "access ended") {
		t.Fatalf("after the revoke: %v, want close %d naming the access", err, wsForbidden)
	}
	if took > 2*time.Second {
		t.Fatalf("the revoked viewer's stream closed %s after the revoke, want within 2 s", took)
	}
	t.Logf("stream closed %s after the revoke committed", took)

	// A stranger with a valid ticket: closed, nothing sent.
	_, _, err = ticketPlay(t, ctx, a, a.strangerTok, "")
	if !errors.As(err, &ce) || ce.Code != wsForbidden {
		t.Fatalf("a stranger's socket: %v, want close %d", err, wsForbidden)
	}
	// A stranger with a bearer token: refused at the handshake.
	if _, err := playconn.Dial(ctx, asClient(a, a.strangerTok), a.cam.Address().Hex(), api.PlayOptions{Epoch: -1}); api.CodeOf(err) != api.ErrForbidden {
		t.Fatalf("a stranger's bearer handshake: %v, want forbidden", err)
	}
}

// Revoking the viewer's client (not its grant) closes its stream at once.
func TestPlaybackClosesWithItsClient(t *testing.T) {
	a, _, _ := playHub(t, 2, func(now uint64) *tx.Grant { return &tx.Grant{ValidUntil: now + 3600} })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := playconn.Dial(ctx, asClient(a, a.viewerTok), a.cam.Address().Hex(), api.PlayOptions{Epoch: -1})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := a.h.auth.Authenticate(a.viewerTok)
	if err != nil {
		t.Fatal(err)
	}
	if err := asClient(a, a.viewerTok).RevokeClient(ctx, sess.Client.String()); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := p.Next(ctx)
		var pe *api.PlayClosedError
		if errors.As(err, &pe) {
			if pe.Code != int(wsForbidden) {
				t.Fatalf("closed %d %q, want %d", pe.Code, pe.Reason, wsForbidden)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
