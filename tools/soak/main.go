// Command soak runs many real camera agents against one real hub for a
// long while and checks that nothing was lost and that the hub's memory
// stayed flat (make soak; not part of make test).
//
// It starts camchaind (recordings on its disk, or with -s3 in a real
// versitygw bucket on loopback, optionally killed for -outage in the
// middle of the run), N camchain-agent processes on the built-in sample
// clip, pairs each with the hub through camchain pair, and lets them
// record for -duration while sampling the hub's RSS. At the end it waits
// until every camera's head at that moment is acknowledged, stops
// everything, and compares, for every camera, each record on its card with
// the hub's copy (the same record hash at each seq) and each acknowledged
// segment with the hub's (its SHA-256 and size checked against the
// record, read from the hub's disk or the bucket). It prints a summary
// and exits 1 if any segment is lost or memory grew.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/objstore"
	"github.com/camchain/camchain/internal/store/layout"
	"github.com/camchain/camchain/internal/testutil/s3server"
	"github.com/camchain/camchain/internal/verify"
)

func main() { os.Exit(run()) }

type config struct {
	bin      string
	agents   int
	duration time.Duration
	s3       bool
	outage   time.Duration
	work     string
	keep     bool
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		fmt.Fprintf(os.Stderr, "soak: %s=%q is not a duration; using %s\n", name, v, def)
	}
	return def
}

func run() int {
	var c config
	flag.StringVar(&c.bin, "bin", "bin", "directory holding camchaind, camchain-agent and camchain (make build)")
	flag.IntVar(&c.agents, "agents", 50, "camera agents, one process each")
	flag.DurationVar(&c.duration, "duration", envDuration("SOAK_DURATION", 30*time.Minute), "how long the agents record (after all are paired; or $SOAK_DURATION)")
	flag.BoolVar(&c.s3, "s3", os.Getenv("SOAK_S3") != "", "keep the hub's recordings in a real S3 bucket (versitygw on loopback) alone (or $SOAK_S3)")
	flag.DurationVar(&c.outage, "outage", envDuration("SOAK_OUTAGE", 0), "with -s3: kill the object store this long, a third into the run (or $SOAK_OUTAGE)")
	flag.StringVar(&c.work, "work", "", "working directory (default a new temporary one, removed at the end)")
	flag.BoolVar(&c.keep, "keep", false, "keep the working directory")
	flag.Float64Var(&maxGrowth, "max-growth", maxGrowth, "largest allowed rise of the hub's RSS, mean of the last third of the run over the first (after a tenth's warm-up)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := newSoak(c)
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		return 1
	}
	defer s.close()
	sum, err := s.run(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		return 1
	}
	fmt.Print(sum.String())
	if !sum.ok() {
		return 1
	}
	return 0
}

type soak struct {
	c     config
	work  string
	procs []*proc
	hub   *proc
	s3    *s3server.Server
	http  string
	link  string
	wdir  string // wallet keystore
	wpass string
}

func newSoak(c config) (*soak, error) {
	work := c.work
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "camchain-soak-"); err != nil {
			return nil, err
		}
	}
	for _, b := range []string{"camchaind", "camchain-agent", "camchain"} {
		if _, err := os.Stat(filepath.Join(c.bin, b)); err != nil {
			return nil, fmt.Errorf("%s: %w (run make build, or pass -bin)", b, err)
		}
	}
	abs, err := filepath.Abs(c.bin)
	if err != nil {
		return nil, err
	}
	c.bin = abs
	return &soak{c: c, work: work}, nil
}

func (s *soak) close() {
	for _, p := range slices.Backward(s.procs) {
		p.kill()
	}
	if s.s3 != nil {
		s.s3.Stop()
	}
	if !s.c.keep && s.c.work == "" {
		os.RemoveAll(s.work)
	} else {
		fmt.Fprintf(os.Stderr, "soak: working directory kept: %s\n", s.work)
	}
}

func (s *soak) logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// proc is a running program with its output kept in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func (s *soak) start(name, ready string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(s.work, "logs", fmt.Sprintf("%s-%d.log", name, len(s.procs)))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: exec.Command(filepath.Join(s.c.bin, name), args...), done: make(chan struct{}), log: logPath}
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = io.MultiWriter(lf, pw), lf
	if err := p.cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	s.procs = append(s.procs, p)
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), ready) {
				once = true
				close(seen)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() { p.cmd.Wait(); pw.Close(); lf.Close(); close(p.done) }()
	select {
	case <-seen:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before %q (log %s)", name, ready, logPath)
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s not ready after 60s (log %s)", name, logPath)
	}
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// rss is a process's resident set in bytes, from /proc.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.ParseInt(f[0], 10, 64)
				return n << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

func (s *soak) camchain(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(s.c.bin, "camchain"), args...)
	cmd.Env = append(os.Environ(), "CAMCHAIN_HOME="+filepath.Join(s.work, "home"))
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("camchain %s: %w\n%s%s", args[0], err, out, errb.String())
	}
	return string(out), nil
}

type agent struct {
	data   string
	camera string
	epoch  uint64
	proc   *proc
}

type agentStatus struct {
	Camera string `json:"camera"`
	Epoch  uint64 `json:"epoch"`
	Head   string `json:"head"`
	Acked  string `json:"acked"`
}

func (s *soak) status(a *agent) (agentStatus, error) {
	out, err := exec.Command(filepath.Join(s.c.bin, "camchain-agent"), "status", "--data", a.data).Output()
	if err != nil {
		return agentStatus{}, fmt.Errorf("camchain-agent status %s: %w", a.data, err)
	}
	var st agentStatus
	return st, json.Unmarshal(out, &st)
}

// seqOf parses "#12 abcd…" into 12 (-1 for none).
func seqOf(h string) int64 {
	var n int64 = -1
	if strings.HasPrefix(h, "#") {
		fmt.Sscan(h[1:], &n)
	}
	return n
}

func (s *soak) run(ctx context.Context) (*summary, error) {
	sum := &summary{agents: s.c.agents, duration: s.c.duration, s3: s.c.s3, outage: s.c.outage}
	var hubEnv []string
	hubData := filepath.Join(s.work, "hub")
	var err error
	if s.http, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.link, err = freeAddr(); err != nil {
		return nil, err
	}
	if out, err := exec.Command(filepath.Join(s.c.bin, "camchaind"), "init", "--data", hubData).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("camchaind init: %v\n%s", err, out)
	}
	args := []string{"run", "--data", hubData, "--http", s.http, "--link", s.link, "--log-level", "warn"}
	if s.c.s3 {
		s.logf("starting versitygw (tools/s3server) on loopback")
		if s.s3, err = s3server.New(filepath.Join(s.work, "s3"), "soak"); err != nil {
			return nil, err
		}
		hubEnv = s.s3.Env()
		args = append(args, "--recordings", s.s3.URL("hub"))
	}
	s.hub, err = s.start("camchaind", "ready", hubEnv, args...)
	if err != nil {
		return nil, err
	}
	hubURL := "http://" + s.http
	s.wdir, s.wpass = filepath.Join(s.work, "wallet"), filepath.Join(s.work, "wallet.pass")
	os.WriteFile(s.wpass, []byte("soak passphrase\n"), 0o600)
	if _, err := s.camchain("wallet", "new", "--light-kdf", "--keystore", s.wdir, "--passphrase-file", s.wpass); err != nil {
		return nil, err
	}

	s.logf("starting %d agents and pairing each with the hub at %s", s.c.agents, hubURL)
	agents := make([]*agent, s.c.agents)
	for i := range agents {
		a := &agent{data: filepath.Join(s.work, fmt.Sprintf("agent-%02d", i))}
		if a.proc, err = s.start("camchain-agent", "camchain-agent: camera", nil, "run", "--data", a.data, "--log-level", "warn", "--max-backoff", "5s"); err != nil {
			return nil, err
		}
		code, err := waitFile(filepath.Join(a.data, "pairing-code.txt"), 30*time.Second)
		if err != nil {
			return nil, err
		}
		out, err := s.camchain("pair", code, "--hub", hubURL, "--yes", "--keystore", s.wdir, "--passphrase-file", s.wpass)
		if err != nil {
			return nil, err
		}
		f := strings.Fields(out)
		if len(f) < 2 || f[0] != "camera" {
			return nil, fmt.Errorf("pair output: %q", out)
		}
		a.camera = f[1]
		agents[i] = a
		if (i+1)%10 == 0 {
			s.logf("  %d/%d paired", i+1, len(agents))
		}
	}
	for _, a := range agents {
		st, err := s.status(a)
		if err != nil {
			return nil, err
		}
		a.epoch = st.Epoch
	}

	s.logf("recording for %s", s.c.duration)
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	var outageAt, outageEnd time.Time
	if s.c.s3 && s.c.outage > 0 {
		outageAt = start.Add(s.c.duration / 3)
		outageEnd = outageAt.Add(s.c.outage)
	}
	outageOn := false
	for time.Since(start) < s.c.duration {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		select {
		case <-s.hub.done:
			return nil, fmt.Errorf("the hub exited (log %s)", s.hub.log)
		default:
		}
		if r, err := rss(s.hub.cmd.Process.Pid); err == nil {
			sum.rss = append(sum.rss, sample{time.Since(start), r})
		}
		now := time.Now()
		if !outageAt.IsZero() && !outageOn && now.After(outageAt) && now.Before(outageEnd) {
			s.logf("object store killed for %s", s.c.outage)
			s.s3.Stop()
			outageOn = true
		}
		if outageOn && now.After(outageEnd) {
			if err := s.s3.Start(); err != nil {
				return nil, err
			}
			s.logf("object store back")
			outageOn = false
		}
		if n := len(sum.rss); n%6 == 0 {
			s.logf("  %s: hub RSS %.1f MiB", time.Since(start).Round(time.Second), float64(sum.rss[n-1].rss)/(1<<20))
		}
	}
	if outageOn {
		if err := s.s3.Start(); err != nil {
			return nil, err
		}
	}

	// Every camera's head now must reach the hub.
	s.logf("waiting until every camera's head is acknowledged")
	heads := make([]int64, len(agents))
	for i, a := range agents {
		st, err := s.status(a)
		if err != nil {
			return nil, err
		}
		heads[i] = seqOf(st.Head)
	}
	deadline := time.Now().Add(3*time.Minute + s.c.outage)
	for i, a := range agents {
		for {
			st, err := s.status(a)
			if err != nil {
				return nil, err
			}
			if seqOf(st.Acked) >= heads[i] {
				break
			}
			if time.Now().After(deadline) {
				sum.unacked = append(sum.unacked, fmt.Sprintf("%s: head #%d, acked %s", a.camera, heads[i], st.Acked))
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	sum.wall = time.Since(start)
	for _, a := range agents {
		a.proc.kill()
	}
	s.hub.kill()

	s.logf("comparing every card with the hub's copy")
	var bucket *objstore.Objstore
	if s.c.s3 {
		octx, cancel := context.WithTimeout(ctx, time.Minute)
		bucket, err = objstore.Open(octx, s.s3.Config("hub"))
		cancel()
		if err != nil {
			return nil, err
		}
	}
	for i, a := range agents {
		if err := compare(ctx, sum, a, heads[i], filepath.Join(hubData, "recordings"), bucket); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

func waitFile(path string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no %s after %s", path, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// compare checks a camera's card against the hub's copy up to head.
func compare(ctx context.Context, sum *summary, a *agent, head int64, hubStore string, bucket *objstore.Objstore) error {
	camHex := strings.ToLower(strings.TrimPrefix(a.camera, "0x"))
	ed := layout.EpochDir(a.epoch, feedchain.StreamMain)
	card, err := verify.ReadLogFile(filepath.Join(a.data, "store", camHex, ed, layout.LogName))
	if err != nil {
		return err
	}
	hub, err := verify.ReadLogFile(filepath.Join(hubStore, camHex, ed, layout.LogName))
	if err != nil {
		return err
	}
	for seq := int64(0); seq <= head; seq++ {
		sum.checked++
		if seq >= int64(len(card.Records)) {
			sum.lost = append(sum.lost, fmt.Sprintf("%s #%d: not on the card", a.camera, seq))
			continue
		}
		r := card.Records[seq]
		if seq >= int64(len(hub.Records)) || hub.Records[seq].Hash() != r.Hash() {
			sum.lost = append(sum.lost, fmt.Sprintf("%s #%d: record not on the hub", a.camera, seq))
			continue
		}
		var data []byte
		if bucket != nil {
			data, err = bucket.Get(ctx, layout.ObjSegName(camHex+"/"+ed, uint64(seq)))
		} else {
			data, err = os.ReadFile(filepath.Join(hubStore, camHex, ed, layout.SegDirName, layout.SegName(uint64(seq))))
		}
		if err == nil {
			err = feedchain.VerifySegment(r, data)
		}
		if err != nil {
			sum.lost = append(sum.lost, fmt.Sprintf("%s #%d: segment: %v", a.camera, seq, err))
			continue
		}
		sum.bytes += int64(len(data))
	}
	return nil
}

type sample struct {
	at  time.Duration
	rss int64
}

type summary struct {
	agents   int
	duration time.Duration
	wall     time.Duration
	s3       bool
	outage   time.Duration
	checked  int64
	bytes    int64
	lost     []string
	unacked  []string
	rss      []sample
}

// memory compares the mean RSS of the first third of the samples after
// warm-up (the first tenth of the run) with that of the last third.
func (s *summary) memory() (first, last, peak int64) {
	var xs []int64
	for _, x := range s.rss {
		peak = max(peak, x.rss)
		if x.at >= s.duration/10 {
			xs = append(xs, x.rss)
		}
	}
	if len(xs) < 3 {
		return 0, 0, peak
	}
	mean := func(v []int64) int64 {
		var t int64
		for _, x := range v {
			t += x
		}
		return t / int64(len(v))
	}
	k := len(xs) / 3
	return mean(xs[:k]), mean(xs[len(xs)-k:]), peak
}

func (s *summary) memoryFlat() bool {
	first, last, _ := s.memory()
	return first > 0 && float64(last) <= float64(first)*(1+maxGrowth)
}

var maxGrowth = 0.25

func (s *summary) ok() bool { return len(s.lost) == 0 && len(s.unacked) == 0 && s.memoryFlat() }

func (s *summary) String() string {
	var b strings.Builder
	first, last, peak := s.memory()
	mode := "disk"
	if s.s3 {
		mode = "S3 bucket alone (versitygw on loopback)"
		if s.outage > 0 {
			mode += fmt.Sprintf(", object store killed for %s a third into the run", s.outage)
		}
	}
	fmt.Fprintf(&b, "soak summary\n")
	fmt.Fprintf(&b, "  agents:          %d camchain-agent processes (built-in sample clip, 2 s segments) against one camchaind\n", s.agents)
	fmt.Fprintf(&b, "  recordings:      %s\n", mode)
	fmt.Fprintf(&b, "  recording time:  %s (until every head acknowledged: %s)\n", s.duration, s.wall.Round(time.Second))
	fmt.Fprintf(&b, "  segments:        %d checked card against hub (%.1f MiB), %d lost\n", s.checked, float64(s.bytes)/(1<<20), len(s.lost))
	for i, l := range s.lost {
		if i == 10 {
			fmt.Fprintf(&b, "    … %d more\n", len(s.lost)-10)
			break
		}
		fmt.Fprintf(&b, "    lost: %s\n", l)
	}
	for _, u := range s.unacked {
		fmt.Fprintf(&b, "    not acknowledged in time: %s\n", u)
	}
	fmt.Fprintf(&b, "  hub RSS:         first third %.1f MiB, last third %.1f MiB (%+.1f%%), peak %.1f MiB, %d samples\n",
		float64(first)/(1<<20), float64(last)/(1<<20), 100*(float64(last)/float64(max(first, 1))-1), float64(peak)/(1<<20), len(s.rss))
	verdict := "PASS"
	if !s.ok() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "  memory flat:     %v (allowed growth %.0f%%)\n", s.memoryFlat(), 100*maxGrowth)
	fmt.Fprintf(&b, "soak: %s\n", verdict)
	return b.String()
}
