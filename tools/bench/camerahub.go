package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
	"github.com/camchain/camchain/internal/store"
)

// The hub of hub.cameras, in a child process (linkHubEnv=cameras): a
// link.Server over a real store on disk, authorizing the cameras listed in
// the pins file. Its commands, one line each on stdin:
//
//	stats   answers "stats CPU_NS APPENDS APPEND_NS": its user+system CPU
//	        since ready, store appends so far and their summed wall time
//	done    closes the server and the store and answers "done"
const (
	camerasPinsEnv  = "CAMCHAIN_BENCH_CAMERAS_PINS"  // file: "ADDRESS PIN" per line
	camerasStoreEnv = "CAMCHAIN_BENCH_CAMERAS_STORE" // the store's directory
	// camerasIntegEnv, if set, runs the hub's integrations too (metrics
	// and camera states from the link observer, hub.mqtt); with a broker
	// URL as its value, MQTT as well.
	camerasIntegEnv = "CAMCHAIN_BENCH_CAMERAS_INTEGRATIONS"
)

func camerasHub(ln net.Listener, hubKey *keys.PrivateKey, hubID *link.Identity, stdin io.Reader, stdout io.Writer) error {
	pins, err := readPins(os.Getenv(camerasPinsEnv))
	if err != nil {
		return err
	}
	st, err := store.Open(os.Getenv(camerasStoreEnv), store.Options{})
	if err != nil {
		return err
	}
	var appends, appendNS atomic.Int64
	backend := &benchBackend{pins: pins, chain: func(cam keys.Address, epoch uint64) (link.ServerChain, error) {
		c, err := st.Chain(cam, epoch)
		if err != nil {
			return nil, err
		}
		return &timedChain{Chain: c, n: &appends, ns: &appendNS}, nil
	}}
	// Every simulated camera connects from 127.0.0.1: the hub is set up as
	// one that serves many cameras behind one address.
	limit := len(pins) + 16
	srv := &link.Server{Identity: hubID, Key: hubKey, Backend: backend, Limits: link.ConnLimits{Total: limit, PerSource: limit}}
	integ, err := startBenchIntegrations(srv, st, hubKey, pins)
	if err != nil {
		return err
	}
	var served sync.WaitGroup
	served.Add(1)
	var serveErr error
	go func() { defer served.Done(); serveErr = srv.Serve(ln) }()
	cpu0, err := processCPU()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready %s %s %s\n", ln.Addr(), hubKey.Address().Hex(), hubID.Pin)
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "stats":
			cpu, err := processCPU()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "stats %d %d %d\n", int64(cpu-cpu0), appends.Load(), appendNS.Load())
		case "done":
			err := srv.Close()
			served.Wait()
			if integ != nil {
				err = errors.Join(err, integ.Close())
			}
			if a := backend.alarmList(); len(a) > 0 {
				err = fmt.Errorf("hub alarms: %q", a)
			}
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = serveErr
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, "done")
			return err
		default:
			return fmt.Errorf("unknown command %q", sc.Text())
		}
	}
	return fmt.Errorf("stdin closed: %v", sc.Err())
}

// timedChain is a store chain that sums the wall time of its appends.
type timedChain struct {
	*store.Chain
	n, ns *atomic.Int64
}

func (c *timedChain) Append(r *feedchain.Record, data []byte) error {
	t0 := time.Now()
	err := c.Chain.Append(r, data)
	c.ns.Add(int64(time.Since(t0)))
	c.n.Add(1)
	return err
}

func writePins(path string, cams []*simCamera) error {
	var b strings.Builder
	for _, c := range cams {
		fmt.Fprintf(&b, "%s %s\n", c.key.Address().Hex(), c.id.Pin)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func readPins(path string) (map[keys.Address]link.Pin, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pins := map[keys.Address]link.Pin{}
	for line := range strings.Lines(string(b)) {
		a, p, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", path, line)
		}
		addr, err := keys.ParseAddress(a)
		if err != nil {
			return nil, err
		}
		pin, err := link.ParsePin(p)
		if err != nil {
			return nil, err
		}
		pins[addr] = pin
	}
	return pins, nil
}
