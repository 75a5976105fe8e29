package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/integrations"
	"github.com/camchain/camchain/internal/integrations/mqtttest"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/store"
)

// hub.mqtt: 100 simulated cameras streaming at 4 Mbit/s to one hub (the
// hub.cameras child: link server and real store) that runs its
// integrations, once publishing to an MQTT broker (in this process, a real
// one, on loopback) and once without MQTT, alternating; the hub's CPU of
// both, and what reached the broker per second.
const (
	mqttCameras = 100
	mqttStepFor = 10 * time.Second
	mqttRounds  = 5 // each variant runs this often, alternating (an odd count: a true median)
)

func benchMQTT(ctx context.Context, o *options) ([]Row, error) {
	broker, err := mqtttest.Start("bench", "bench-pass", nil)
	if err != nil {
		return nil, err
	}
	defer broker.Stop()
	pool, poolHash := segmentPool(4)
	type run struct {
		mqtt      bool
		r         camStepResult
		msgs      int
		events    float64 // messages per second at the broker
		alarms    int
		retained  int
		connected bool
	}
	var runs []run
	for round := range mqttRounds * 2 {
		// off on, on off, off on, …: neither variant always runs second,
		// on a machine the other has just warmed.
		withMQTT := round%4 == 1 || round%4 == 2
		r, msgs, err := mqttRun(ctx, o, broker, withMQTT, pool, poolHash)
		if err != nil {
			return nil, err
		}
		rr := run{mqtt: withMQTT, r: r, msgs: msgs, events: float64(msgs) / mqttStepFor.Seconds()}
		o.Progress.Printf("   %s: %s; %d MQTT messages (%.0f/s)", map[bool]string{false: "without MQTT", true: "with MQTT"}[withMQTT], r, msgs, rr.events)
		if !r.keptUp {
			return nil, fmt.Errorf("hub.mqtt: the hub did not keep up with %d cameras: %s", mqttCameras, r.why)
		}
		runs = append(runs, rr)
	}
	var cpuOn, cpuOff, rate, segRate []float64
	for _, r := range runs {
		if r.mqtt {
			cpuOn = append(cpuOn, r.r.hubCPU)
			rate = append(rate, r.events)
			segRate = append(segRate, float64(r.r.segments)/mqttStepFor.Seconds())
		} else {
			cpuOff = append(cpuOff, r.r.hubCPU)
		}
	}
	on, off := medianFloat(cpuOn), medianFloat(cpuOff)
	var each []string
	for _, r := range runs {
		each = append(each, fmt.Sprintf("%s %.1f %% (ack p99 %.0f ms, machine %.0f %% busy)", map[bool]string{false: "off", true: "on"}[r.mqtt], r.r.hubCPU, ms(r.r.p99), r.r.machineBusy))
	}
	setup := fmt.Sprintf("%d simulated cameras at 4 Mbit/s (a %d-byte segment every %s) against the hub.cameras child (link server, real store, fsync per segment) running its integrations (link observer, Prometheus metrics, camera states); "+
		"with MQTT the child publishes to a mochi-mqtt broker in the bench process on loopback (paho, QoS 1): every camera's retained state and changed fields each second, Home Assistant discovery on connect; "+
		"runs of %s alternate off on, on off, …, %d of each, median taken; the broker's CPU is the bench process's, not the hub's", mqttCameras, camSegmentBytes, camSegmentPeriod, mqttStepFor, mqttRounds)
	return []Row{
		NewRow("hub.mqtt.messages_per_s", "msg/s", medianFloat(rate), "hub.mqtt.segments_per_s", medianFloat(segRate), nil,
			"MQTT messages from the hub that reached the broker per second while 100 cameras streamed (retained states and their changed fields; no alarm happened), beside the segments the hub acknowledged per second in the same runs (the ratio is messages per segment); "+setup),
		NewRow("hub.mqtt.hub_cpu", "% core", on, "hub.mqtt.hub_cpu_without_mqtt", off, RatioAtMost(1.05),
			fmt.Sprintf("the hub's CPU (user+system, %% of one core) with MQTT beside the same run without it; target overhead ≤ 5 %%; each run: %s; %s", strings.Join(each, ", "), setup)),
	}, nil
}

// mqttRun runs the cameras against a fresh child hub for one step.
func mqttRun(ctx context.Context, o *options, broker *mqtttest.Broker, withMQTT bool, pool [][]byte, poolHash []feedchain.Hash) (camStepResult, int, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-mqtt-*")
	if err != nil {
		return camStepResult{}, 0, err
	}
	defer os.RemoveAll(tmp)
	cams, err := newSimCameras(mqttCameras)
	if err != nil {
		return camStepResult{}, 0, err
	}
	pinsPath, storeDir := filepath.Join(tmp, "pins"), filepath.Join(tmp, "store")
	if err := writePins(pinsPath, cams); err != nil {
		return camStepResult{}, 0, err
	}
	integ := "on"
	if withMQTT {
		integ = broker.URL()
	}
	hub, err := startLinkHub("cameras", camerasPinsEnv+"="+pinsPath, camerasStoreEnv+"="+storeDir, camerasIntegEnv+"="+integ)
	if err != nil {
		return camStepResult{}, 0, err
	}
	defer hub.kill()
	runCtx, stop := context.WithCancel(ctx)
	var clients sync.WaitGroup
	defer func() { stop(); clients.Wait() }()
	for _, c := range cams {
		cl := &link.Client{Addr: hub.Addr, Identity: c.id, HubPin: hub.Pin, Hub: hub.Hub, Key: c.key, Chain: c.chain, Alarms: c.alarms, Notify: c.notify,
			OnState: func(s link.State, err error) { c.connected.Store(s == link.StateConnected) }}
		clients.Add(1)
		go func() { defer clients.Done(); cl.Run(runCtx) }()
	}
	if err := waitUntil(ctx, camConnectWithin, func() bool {
		return countIf(cams, func(c *simCamera) bool { return c.connected.Load() }) == len(cams)
	}); err != nil {
		return camStepResult{}, 0, fmt.Errorf("cameras connected: %w", err)
	}
	time.Sleep(2 * time.Second) // the connect-time discovery and states are not the step's
	rec := broker.Recorded()
	n0 := rec.Count()
	r, err := camerasStep(ctx, o, hub, cams, pool, poolHash, mqttStepFor)
	if err != nil {
		return r, 0, err
	}
	msgs := 0
	for _, m := range rec.Messages()[n0:] {
		if !strings.HasPrefix(m.Topic, "$") { // not the broker's own $SYS topics
			msgs++
		}
	}
	if withMQTT && msgs == 0 {
		return r, 0, fmt.Errorf("hub.mqtt: nothing reached the broker")
	}
	stop()
	clients.Wait()
	if _, err := hub.query("done", 1); err != nil {
		return r, 0, err
	}
	return r, msgs, hub.cmd.Wait()
}

// startBenchIntegrations runs the integrations in the child hub when
// camerasIntegEnv asks for them.
func startBenchIntegrations(srv *link.Server, st *store.Store, key *keys.PrivateKey, pins map[keys.Address]link.Pin) (*integrations.Service, error) {
	v := os.Getenv(camerasIntegEnv)
	if v == "" {
		return nil, nil
	}
	cfg := integrations.Config{Dir: os.Getenv(camerasStoreEnv) + "-integrations", Key: key, Version: "bench",
		Hub: &benchIntegrationSource{st: st, srv: srv, pins: pins}}
	if strings.HasPrefix(v, "mqtt") {
		cfg.MQTT.URL = v
	}
	s, err := integrations.Start(cfg)
	if err != nil {
		return nil, err
	}
	srv.Observer = s.Observer()
	return s, nil
}

// benchIntegrationSource is integrations.Hub over the child's store and
// link server (no ledger: no checkpoints, no audit events).
type benchIntegrationSource struct {
	st   *store.Store
	srv  *link.Server
	pins map[keys.Address]link.Pin
}

func (b *benchIntegrationSource) Cameras() []integrations.CameraInfo {
	live := map[keys.Address]bool{}
	for _, c := range b.srv.LiveCameras() {
		live[c] = true
	}
	out := make([]integrations.CameraInfo, 0, len(b.pins))
	for cam := range b.pins {
		ci := integrations.CameraInfo{Camera: cam, Online: live[cam], Retention: 30 * 24 * time.Hour}
		if c, err := b.st.Lookup(cam, 0); err == nil {
			ci.Head = c.Head()
			if si, ok := c.Info(ci.Head.Seq); ok && ci.Head.Valid {
				ci.Recording = ci.Online && time.Since(si.Start.Add(si.Duration)) < 30*time.Second
			}
		}
		out = append(out, ci)
	}
	return out
}

func (b *benchIntegrationSource) EventsAfter(after uint64, _ int) ([]integrations.LedgerEvent, uint64, error) {
	return nil, after, nil
}
func (b *benchIntegrationSource) LatestEventSeq() (uint64, error)   { return 0, nil }
func (b *benchIntegrationSource) Height() (uint64, <-chan struct{}) { return 0, nil }
func (b *benchIntegrationSource) StoreBytes() int64                 { return b.st.Stored() }
func (b *benchIntegrationSource) RetentionDeleted() (int64, int64)  { return b.st.Deleted() }
