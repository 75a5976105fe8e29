package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"tailscale.com/envknob"
	"tailscale.com/tsnet"

	"github.com/camchain/camchain/internal/api"
	"github.com/camchain/camchain/internal/api/playconn"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/headscale"
	"github.com/camchain/camchain/internal/viewchain"
	"github.com/camchain/camchain/internal/wallet"
)

// Remote access (docs/SPEC.md §11.12): the first live frame through the
// tailnet beside through loopback directly, the same hub, camera and
// viewer in the same run. A real headscale with its embedded DERP relay on
// loopback; the real camchaind joined with --tailscale; the real agent on
// the built-in sample (1 s segments), paired over the LAN; the viewer is
// this process, once through its own tsnet node (WireGuard, every packet
// through the DERP relay: no UDP, as a phone behind a carrier NAT often
// gets) to the hub's tailnet address with its pinned certificate, once to
// the hub's loopback address, alternating. Each round is a fresh
// connection: from opening the playback socket (TCP, TLS on the tailnet,
// WebSocket upgrade, the hub's start) to the first segment verified
// (camera signature, bytes, record chain, session chain).
const tailnetRounds = 12

func benchTailnetFirstFrame(ctx context.Context, o *options) ([]Row, error) {
	bins := filepath.Dir(o.Bin)
	for _, b := range []string{"camchaind", "camchain", "camchain-agent"} {
		if st, err := os.Stat(filepath.Join(bins, b)); err != nil || st.IsDir() {
			return nil, fmt.Errorf("%s not found: run `make build` first (`make bench` does)", filepath.Join(bins, b))
		}
	}
	tmp, err := os.MkdirTemp("", "camchain-bench-tailnet-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	o.Progress.Printf("   headscale %s with its embedded DERP relay on loopback", headscale.Version)
	hsDir := filepath.Join(tmp, "headscale")
	if err := os.MkdirAll(hsDir, 0o700); err != nil {
		return nil, err
	}
	hs, err := headscale.Start(hsDir)
	if err != nil {
		return nil, err
	}
	defer hs.Close()
	authKey, err := hs.PreAuthKey("owner")
	if err != nil {
		return nil, err
	}

	hubData := filepath.Join(tmp, "hub")
	if out, err := exec.CommandContext(ctx, filepath.Join(bins, "camchaind"), "init", "--data", hubData).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("camchaind init: %w\n%s", err, out)
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	linkPort, err := freePort()
	if err != nil {
		return nil, err
	}
	httpAddr := "127.0.0.1:" + strconv.Itoa(httpPort)
	env := append(append(os.Environ(), headscale.Env...), "TS_AUTHKEY="+authKey, "CAMCHAIN_HOME="+filepath.Join(tmp, "home"))
	hub, err := startProcEnv(ctx, env, "camchaind", "the camera link is not on the tailnet", filepath.Join(bins, "camchaind"), "run", "--data", hubData,
		"--http", httpAddr, "--link", "127.0.0.1:"+strconv.Itoa(linkPort), "--log-level", "warn",
		"--tailscale", "--tailscale-control-url", hs.URL)
	if err != nil {
		return nil, err
	}
	defer hub.stop()
	m := regexp.MustCompile(`tailnet: (https://100\.\d+\.\d+\.\d+)/ .*\n.*fingerprint ([0-9a-f]{64})`).FindStringSubmatch(hub.output())
	if m == nil {
		return nil, fmt.Errorf("no tailnet origin and fingerprint in camchaind's output:\n%s", hub.output())
	}
	origin, fp := m[1], m[2]

	agentBin := filepath.Join(bins, "camchain-agent")
	agentData := filepath.Join(tmp, "agent")
	ag, err := startProc(ctx, "camchain-agent", "camchain-agent: camera", agentBin, "run", "--data", agentData, "--segment", "1s", "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	defer ag.stop()
	if err := pairAgent(ctx, bins, tmp, agentData, httpAddr); err != nil {
		return nil, err
	}
	var st struct {
		Camera string `json:"camera"`
		Acked  string `json:"acked"`
	}
	if err := waitUntil(ctx, time.Minute, func() bool {
		out, err := exec.Command(agentBin, "status", "--data", agentData).Output()
		return err == nil && json.Unmarshal(out, &st) == nil && seqOf(st.Acked) >= 3
	}); err != nil {
		return nil, fmt.Errorf("agent not recording: %w", err)
	}
	camera, err := keys.ParseAddress(st.Camera)
	if err != nil {
		return nil, err
	}
	owner, err := wallet.NewKeystore(filepath.Join(tmp, "keystore"), wallet.LightScrypt).Load("bench passphrase")
	if err != nil {
		return nil, err
	}

	// The viewer's own node on the tailnet.
	for _, kv := range headscale.Env {
		k, v, _ := strings.Cut(kv, "=")
		envknob.Setenv(k, v)
	}
	viewer := &tsnet.Server{Dir: filepath.Join(tmp, "viewer"), Hostname: "viewer", AuthKey: authKey, ControlURL: hs.URL, Ephemeral: true,
		Logf: func(string, ...any) {}, UserLogf: func(string, ...any) {}}
	defer viewer.Close()
	upCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := viewer.Up(upCtx); err != nil {
		return nil, fmt.Errorf("the viewer's tailnet node: %w", err)
	}

	loopCreds, tailCreds := &api.KeyCredentials{Key: owner}, &api.KeyCredentials{Key: owner}
	loopback := func() (*api.Client, error) {
		c, err := api.NewClient("http://" + httpAddr)
		if err != nil {
			return nil, err
		}
		return c.WithCredentials(loopCreds), nil
	}
	tailnet := func() (*api.Client, error) {
		c, err := api.NewClient(origin + "#sha256=" + fp)
		if err != nil {
			return nil, err
		}
		return c.WithDialer(viewer.Dial).WithCredentials(tailCreds), nil
	}
	c, err := loopback()
	if err != nil {
		return nil, err
	}
	s, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	hubAddr, err := keys.ParseAddress(s.HubAddress)
	if err != nil {
		return nil, err
	}
	// Log in on both paths first (a login is not a frame), and warm both.
	for _, mk := range []func() (*api.Client, error){loopback, tailnet} {
		c, err := mk()
		if err != nil {
			return nil, err
		}
		if _, err := firstLiveFrame(ctx, c, hubAddr, camera); err != nil {
			return nil, err
		}
	}
	o.Progress.Printf("   %d rounds: the first live frame through the tailnet, then through loopback", tailnetRounds)
	var tail, loop, added []time.Duration
	for range tailnetRounds {
		var d [2]time.Duration
		for i, mk := range []func() (*api.Client, error){tailnet, loopback} {
			c, err := mk()
			if err != nil {
				return nil, err
			}
			if d[i], err = firstLiveFrame(ctx, c, hubAddr, camera); err != nil {
				return nil, fmt.Errorf("round %d: %w", i, err)
			}
		}
		tail, loop, added = append(tail, d[0]), append(loop, d[1]), append(added, d[0]-d[1])
	}
	med := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	o.Progress.Printf("   tailnet p50 %.1f ms, loopback p50 %.1f ms, added p50 %.1f ms", ms(med(tail)), ms(med(loop)), ms(med(added)))
	return []Row{
		NewRow("live.tailnet_first_frame_added_ms", "ms", ms(med(added)), "live.loopback_first_frame_ms", ms(med(loop)), AtMost(300),
			fmt.Sprintf("what the tailnet path adds to the first live frame: p50 over %d rounds of (through the tailnet − through loopback), each a fresh connection from opening the playback socket to the first segment verified; tailnet p50 %.1f ms (p90 %.1f), loopback p50 %.1f ms (p90 %.1f); the viewer is its own tsnet node, every packet WireGuard through headscale %s's embedded DERP relay on loopback (no UDP), to the real camchaind --tailscale with its pinned certificate; the real agent on the built-in sample, 1 s segments; baseline: the same hub, camera and viewer through loopback directly (plain HTTP, the hub's default on 127.0.0.1: the tailnet figure also carries the TLS handshake), alternating in the same run; on a 2-core machine that also runs headscale, the hub, the agent and both nodes",
				tailnetRounds, ms(med(tail)), ms(pct(tail, 90)), ms(med(loop)), ms(pct(loop, 90)), headscale.Version)),
	}, nil
}

// firstLiveFrame opens a live playback socket and returns the time to the
// first segment verified.
func firstLiveFrame(ctx context.Context, c *api.Client, hub, camera keys.Address) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nonce, err := viewchain.NewNonce()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	p, err := playconn.Dial(ctx, c, camera.Hex(), api.PlayOptions{Nonce: nonce.String(), Epoch: -1, MaxFrame: viewchain.MaxFrame})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	v := viewchain.NewVerifier(hub, camera, nonce, feedchain.StreamMain)
	for {
		m, err := p.Next(ctx)
		if err != nil {
			return 0, err
		}
		if m.Codec != nil {
			continue
		}
		f, err := viewchain.DecodeFrame(m.Frame)
		if err != nil {
			return 0, err
		}
		if f.Type == viewchain.FrameEnd {
			return 0, errors.New("the session ended before a segment")
		}
		if _, err := v.Segment(f.Link, f.Record, f.Data); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
}
