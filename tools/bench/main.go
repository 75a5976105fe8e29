// Command bench measures camchain's performance figures, each beside a
// baseline measured in the same run, and reports them: a Markdown table on
// stdout, bench/latest.json (one entry per figure: name, value, unit,
// baseline, ratio, target, pass) and bench/latest.md (the table with the
// machine it ran on, for the README). Progress goes to stderr.
//
// `make bench` runs it from the repository root after `make build`. Each
// benchmark group is one entry of groups(); a new issue adds its figures by
// adding a group there, in its own file.
//
// Usage:
//
//	go run ./tools/bench [-only REGEXP] [-out bench/latest.json] [-list] [-cpuprofile FILE]
//
// With -only, the report files are written only if -out is given too, and
// the README's table never: a partial run does not replace the published
// table. The exit status is 1
// if a group failed or a figure missed its target (the files are still
// written in the second case: the figures are valid, just not good enough).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
)

// group is a named set of figures measured together, each with its
// baseline.
type group struct {
	Name string // the prefix of its rows' names, matched by -only
	Doc  string
	Run  func(ctx context.Context, o *options) ([]Row, error)
}

// groups lists every benchmark group in the order they run.
func groups() []group {
	return []group{
		{"ledger.commit_throughput", "signed txs committed per second on one node, beside unsigned no-op txs", benchCommitThroughput},
		{"ledger.commit_latency", "submit-to-commit latency of one tx at a time, signed beside no-op", benchCommitLatency},
		{"ledger.network", "4 validators on 127.0.0.2-5: commit latency p50/p99 and signed tx/s, beside one node in the same run", benchNetwork},
		{"ledger.catchup", "a restarted validator catching up -catchup-blocks blocks, beside the time to produce them", benchCatchUp},
		{"hub.start_to_ready", "camchaind run until GET /api/v1/status answers 200, beside a bare CometBFT kvstore node", benchHubStart},
		{"link.throughput", "one camera's segments through the link to a hub that checks them as its store does (SHA-256 included), beside plain TLS 1.3 carrying the same bytes plus their SHA-256", benchLinkThroughput},
		{"hub.store_append", "1 MiB segments durably appended to one chain of the hub's store, beside plain write+fsync", benchStoreAppend},
		{"hub.store_objects", "1 MiB segments durably appended to one chain of the hub's store with recordings in an S3 bucket alone (a real versitygw on loopback), beside the same store on its disk, same run", benchObjectStore},
		{"hub.cameras", "simulated cameras at 4 Mbit/s each against one hub (link + store), all segments acknowledged", benchCameras},
		{"agent.footprint", "the real agent paired with a real hub at 4 Mbit/s: RSS beside a hello world, CPU beside the agent at 1x", benchAgentFootprint},
		{"agent.size", "stripped camchain-agent for linux/arm64 and linux/arm (GOARM=7), beside a hello world", benchAgentSize},
		{"checkpoint.build", "checkpoint root over a period of 1,000,000 records, beside SHA-256 over the same record hashes", benchCheckpointBuild},
		{"verify.throughput", "camchain verify over 200 1 MiB segment files of one chain (read-only log, SHA-256 of every clip, signatures, Merkle checkpoints), beside SHA-256 of the same files on every core", benchVerify},
		{"auth", "wallet logins per second and p99 with 100 concurrent clients, beside PBKDF2-SHA256 600k password logins; an authorized recordings read beside the same read with authorization off", benchLogin},
		{"ui", "the web UI's first load in Chromium from a hub on loopback: bytes transferred (compressed) and time to interactive, beside the HTML page alone", benchUIFirstLoad},
		{"ingest.pipeline", "RTP in (1080p H.264 at 8 Mbit/s) → segment → SHA-256 → sign → store (write + fsync), beside SHA-256 + write + fsync of the same segments", benchIngestPipeline},
		{"ingest.agent_rtsp", "the real agent recording a real 4 Mbit/s 1080p RTSP main stream and a sub stream from ffmpeg through camchain-testcam, paired with a real hub: CPU beside ffmpeg reading the same streams, RSS beside a hello world", benchIngestAgent},
		{"hub.mqtt", "100 cameras streaming to a hub with MQTT integrations: messages per second at the broker, and the hub's CPU beside the same run without MQTT", benchMQTT},
		{"live.latency", "live view latency from the agent receiving a frame to camchain watch having verified and written it, with parts (200 ms) beside the same without parts, frames matched by decode time", benchLiveLatency},
		{"live.tailnet", "the first live frame through the tailnet (headscale and its DERP relay on loopback, the hub's embedded Tailscale node) beside through loopback directly, same hub, camera and viewer", benchTailnetFirstFrame},
		{"e2ee", "end-to-end encryption's cost, off and on in the same run (the owner's policy signed with camchain encryption --on and --off): the agent's CPU at 4 Mbit/s as agent.footprint measures it, and the live view with parts as live.latency measures it (camchain watch decrypting)", benchE2EE},
		{"playback.seek", "recorded playback: time to the first segment of a seek into a 24-hour timeline through the hub's playback socket, beside the store's own seek and read", benchPlaybackSeek},
		{"timeline.day_query", "one day of one camera's timeline (spans, gaps, alarms, integrity per segment) through the API from a store of 30 days at 2 s segments, beside reading that day's records from the log directly", benchTimelineDay},
		{"export.hour", "camchain export of one hour (bundle from the hub, verified, MP4 and evidence written), MB/s beside copying the same segment files", benchExportHour},
		{"checkpoint.publish", "one camera's checkpoint published end to end each period (sign, ledger commit, a real witness's cosignature, a real TSA's timestamp) until its bundle carries both, beside signing alone", benchCheckpointPublish},
		{"player.live_latency", "the web UI's live view in Chromium: the agent receiving a frame to the page presenting it (requestVideoFrameCallback), every segment verified in the page, beside camchain watch of the same feed in the same run", benchPlayerLatency},
		{"player.verify", "the web player's own verification of a recorded session in Chromium (session chain, camera signatures, record chain, SHA-256 against the records), beside SHA-256 alone of the same segments in the same page", benchPlayerVerify},
		{"player.decrypt", "the web player with end-to-end encryption: a sealed recorded session in Chromium verified and decrypted as the player does (Verifier, then Keyring: envelope, HKDF, AES-GCM), beside verification alone of the same sealed frames in the same page", benchPlayerDecrypt},
		{"evidence.html", "the offline HTML verifier in Chromium on a 1-hour bundle (1800 clips), beside camchain evidence verify of the same bundle", benchEvidenceHTML},
		{"evidence", "evidence bundle of 30 clips of 1 MiB under 2 checkpoints: overhead per clip beside the clip, verify time beside SHA-256 of the clips", benchEvidence},
	}
}

// options are the knobs the groups share.
type options struct {
	Bin           string // the camchaind binary
	Txs           int    // transactions per throughput run
	InFlight      int    // concurrent Submit calls in throughput runs
	LatencyTxs    int    // sequential transactions per latency run
	StartRuns     int    // start-to-ready repetitions
	CatchUpBlocks int    // blocks a restarted validator catches up
	SignedProfile string // CPU profile of the signed flood of ledger.commit_throughput only
	LoginProfile  string // CPU profile of auth.logins_per_s's login phase only
	// Agent, while a group that sets it runs, is the camchain-agent binary
	// agentPhase runs (releasedAgent); "" is the one beside Bin.
	Agent    string
	Progress *progress
}

func main() {
	if os.Getenv(linkHubEnv) != "" {
		os.Exit(linkHubMain(os.Stdin, os.Stdout)) // the link benchmark's hub (linkhub.go)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		only = fs.String("only", "", "run only the groups whose name matches this regular expression")
		out  = fs.String("out", "bench/latest.json", "write the JSON report here (and the Markdown table beside it, .md); empty: write nothing")
		list = fs.Bool("list", false, "list the benchmark groups and exit")
		prof = fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		o    = options{}
	)
	fs.StringVar(&o.Bin, "bin", "bin/camchaind", "camchaind binary (built by `make build`)")
	fs.IntVar(&o.Txs, "txs", 20_000, "transactions per throughput run")
	fs.IntVar(&o.InFlight, "inflight", 512, "concurrent submissions in throughput runs")
	fs.IntVar(&o.LatencyTxs, "latency-txs", 300, "transactions per latency run")
	fs.IntVar(&o.StartRuns, "start-runs", 5, "start-to-ready repetitions (the median is reported)")
	fs.IntVar(&o.CatchUpBlocks, "catchup-blocks", 10_000, "blocks a restarted validator catches up (ledger.catchup)")
	fs.StringVar(&o.SignedProfile, "signed-cpuprofile", "", "write a CPU profile of ledger.commit_throughput's signed flood alone to this file (not with -cpuprofile)")
	fs.StringVar(&o.LoginProfile, "login-cpuprofile", "", "write a CPU profile of auth.logins_per_s's login phase alone to this file (not with -cpuprofile)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *list {
		for _, g := range groups() {
			fmt.Fprintf(stdout, "%-28s %s\n", g.Name, g.Doc)
		}
		return 0
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintf(stderr, "bench: -only: %v\n", err)
		return 2
	}
	outSet := false
	fs.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	if *only != "" && !outSet {
		*out = ""
	}

	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	o.Progress = &progress{w: stderr, start: start}
	rep := &Report{Version: ReportVersion, Machine: thisMachine(start)}
	o.Progress.Printf("machine: %s", rep.Machine)

	var failed []string
	ran := 0
	for _, g := range groups() {
		if !re.MatchString(g.Name) {
			continue
		}
		ran++
		o.Progress.Printf("== %s: %s", g.Name, g.Doc)
		t0 := time.Now()
		rows, err := g.Run(ctx, &o)
		if err != nil {
			o.Progress.Printf("!! %s failed: %v", g.Name, err)
			failed = append(failed, g.Name)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		for _, r := range rows {
			o.Progress.Printf("   %s = %s %s (baseline %s %s, ratio %s; %s)", r.Name, formatNumber(r.Value), r.Unit, formatNumber(r.Baseline), r.Unit, formatRatio(r.Ratio), r.Note)
		}
		o.Progress.Printf("== %s done in %s", g.Name, time.Since(t0).Round(100*time.Millisecond))
		rep.Rows = append(rep.Rows, rows...)
	}
	if ran == 0 {
		fmt.Fprintf(stderr, "bench: no group matches -only %q (see -list)\n", *only)
		return 2
	}

	fmt.Fprint(stdout, rep.Table())
	if len(failed) > 0 {
		fmt.Fprintf(stderr, "bench: %d group(s) failed: %s; report files not written\n", len(failed), strings.Join(failed, ", "))
		return 1
	}
	if *out != "" {
		if err := writeReport(rep, *out, *only == ""); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		o.Progress.Printf("wrote %s and %s", *out, mdPath(*out))
	} else {
		o.Progress.Printf("report files not written (-only without -out)")
	}
	if missed := rep.Missed(); len(missed) > 0 {
		for _, r := range missed {
			fmt.Fprintf(stderr, "bench: %s = %s %s (ratio %s) misses its target %s\n", r.Name, formatNumber(r.Value), r.Unit, formatRatio(r.Ratio), r.Target.withUnit(r.Unit))
		}
		return 1
	}
	return 0
}

// mdPath is the Markdown report beside the JSON one.
func mdPath(jsonPath string) string {
	return strings.TrimSuffix(jsonPath, filepath.Ext(jsonPath)) + ".md"
}

// writeReport writes the JSON and Markdown reports and, for a full run
// (readme), the README's table.
func writeReport(rep *Report, path string, readme bool) error {
	js, err := rep.JSON()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(path, js, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	md := mdPath(path)
	if err := atomicfile.Write(md, []byte(rep.Markdown()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", md, err)
	}
	if !readme {
		return nil
	}
	return updateReadme("README.md", rep.Markdown())
}

// Markers around the README's benchmark table, which writeReport replaces.
const (
	readmeStart = "<!-- bench:start -->"
	readmeEnd   = "<!-- bench:end -->"
)

// updateReadme replaces the text between the markers in the README with
// the latest table, so the README always shows the last full run. A README
// without the markers is left alone.
func updateReadme(path, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil // not run from the repository root: nothing to update
	}
	out, ok := spliceBetween(string(b), readmeStart, readmeEnd, table)
	if !ok {
		return nil
	}
	return atomicfile.Write(path, []byte(out), 0o644)
}

// spliceBetween replaces what lies between start and end (exclusive).
func spliceBetween(s, start, end, repl string) (string, bool) {
	i := strings.Index(s, start)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return s, false
	}
	return s[:i+len(start)] + "\n" + repl + s[j:], true
}

// progress prints timestamped progress lines to stderr.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *progress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%7.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// Every prints status() every interval until the returned stop is called.
func (p *progress) Every(interval time.Duration, status func() string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.Printf("   %s", status())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
