package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/store"
	"github.com/camchain/camchain/internal/verify"
)

// camProc is a running camchain-testcam.
type camProc struct {
	*proc
	addr string
}

func runTestcam(t *testing.T, args ...string) *camProc {
	t.Helper()
	addr := freeAddr(t)
	return &camProc{proc: start(t, "camchain-testcam", "ready", append([]string{"-addr", addr}, args...)...), addr: addr}
}

// publisher is ffmpeg publishing a test pattern (and a tone) into the test
// camera, as a camera's encoder would.
type publisher struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// The encodings the tests publish: 25 fps, one IDR a second.
var (
	h264AAC  = []string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-bf", "2", "-c:a", "aac", "-b:a", "64k"}
	h265Opus = []string{"-c:v", "libx265", "-preset", "ultrafast", "-g", "25", "-x265-params", "log-level=error", "-c:a", "libopus", "-b:a", "32k"}
	h264G711 = []string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "pcm_mulaw", "-ar", "8000"}
	mjpeg    = []string{"-c:v", "mjpeg", "-an"}
)

func publish(t *testing.T, url, size string, enc []string) *publisher {
	t.Helper()
	return publishFor(t, url, size, enc, 120*time.Second)
}

// publishFor is publish for d of video (the publisher is killed at the
// test's end either way).
func publishFor(t *testing.T, url, size string, enc []string, d time.Duration) *publisher {
	t.Helper()
	args := []string{"-hide_banner", "-v", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(int(d.Seconds())), "-pix_fmt", "yuv420p"}
	args = append(append(args, enc...), "-rtsp_transport", "tcp", "-f", "rtsp", url)
	p := &publisher{cmd: exec.Command("ffmpeg", args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("ffmpeg: %v (ffmpeg comes from Debian: apt-get install ffmpeg; .ci/run installs it)", err)
	}
	t.Cleanup(p.kill)
	return p
}

func (p *publisher) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// probe is what ffprobe and ffmpeg say of one segment file.
type probe struct {
	videoCodec, audioCodec string
	videoFrames            int     // decoded (nb_read_frames)
	audioFrames            int     // decoded
	videoSpan              float64 // seconds from the first frame's PTS to the last one's end
}

func probeSegment(t *testing.T, path string) probe {
	t.Helper()
	// Every stored segment decodes on its own with zero errors.
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("%s does not decode cleanly: %v\n%s", path, err, out)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=index,codec_type,codec_name,nb_read_frames:packet=stream_index,pts_time,duration_time", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var j struct {
		Streams []struct {
			Index  int    `json:"index"`
			Type   string `json:"codec_type"`
			Name   string `json:"codec_name"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
		Packets []struct {
			Stream int    `json:"stream_index"`
			PTS    string `json:"pts_time"`
			Dur    string `json:"duration_time"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(out, &j); err != nil {
		t.Fatal(err)
	}
	var p probe
	video := -1
	for _, s := range j.Streams {
		n, _ := strconv.Atoi(s.Frames)
		switch s.Type {
		case "video":
			p.videoCodec, p.videoFrames, video = s.Name, n, s.Index
		case "audio":
			p.audioCodec, p.audioFrames = s.Name, n
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pk := range j.Packets {
		if pk.Stream != video {
			continue
		}
		pts, _ := strconv.ParseFloat(pk.PTS, 64)
		d, _ := strconv.ParseFloat(pk.Dur, 64)
		lo, hi = math.Min(lo, pts), math.Max(hi, pts+d)
	}
	p.videoSpan = hi - lo
	return p
}

// storedChain is a camera's stored records and segments (the agent stopped).
type storedChain struct {
	recs []*feedchain.Record
	segs []string // segment files, copied out of the store
}

func readChain(t *testing.T, agentData, camera string) storedChain {
	t.Helper()
	return readStream(t, agentData, camera, feedchain.StreamMain)
}

// readStream is readChain of one stream's chain: every record must be of
// that stream.
func readStream(t *testing.T, agentData, camera string, stream feedchain.Stream) storedChain {
	t.Helper()
	addr, err := keys.ParseAddress(camera)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(agentData, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ch, err := st.LookupStream(store.ChainRef{Camera: addr, Epoch: 0, Stream: stream})
	if err != nil {
		t.Fatal(err)
	}
	var sc storedChain
	head := ch.Head()
	dir := t.TempDir()
	var prev feedchain.Head
	for s := uint64(0); head.Valid && s <= head.Seq; s++ {
		r, err := ch.Record(s)
		if err != nil {
			t.Fatalf("record #%d: %v", s, err)
		}
		if err := feedchain.Verify(r); err != nil {
			t.Fatal(err)
		}
		if err := feedchain.VerifyNext(addr, 0, prev, r); err != nil {
			t.Fatal(err)
		}
		if err := feedchain.VerifyStream(stream, r); err != nil {
			t.Fatalf("%s stream's chain: %v", stream, err)
		}
		prev = feedchain.HeadOf(r)
		data, err := ch.Segment(s)
		if err != nil {
			t.Fatalf("segment #%d: %v", s, err)
		}
		if err := feedchain.VerifySegment(r, data); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("%d.mp4", s))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sc.recs = append(sc.recs, r)
		sc.segs = append(sc.segs, p)
	}
	return sc
}

// streamCheck is what one stream of a recorded chain must look like.
type streamCheck struct {
	stream     feedchain.Stream
	video      string // ffprobe codec name
	audio      string // ffprobe codec name, "" for none
	codecParts string // what the record's codec string must contain
	exactCount bool   // frames == duration × 25 exactly (no dropped leading pictures)
}

// checkStream decodes every segment of one stream and checks it against
// its record; it returns the number of segments.
func checkStream(t *testing.T, sc storedChain, want streamCheck) int {
	t.Helper()
	const frame = 0.040 // 25 fps
	n, frames := 0, 0
	var total time.Duration
	// A segment cut short by the camera going away (or the agent
	// stopping) may lack the B-frames that would have followed its last
	// frame in decode order; every other one holds every frame it spans.
	complete := map[int]bool{}
	last := -1
	for i, r := range sc.recs {
		if r.Stream != want.stream {
			continue
		}
		if last >= 0 {
			p := sc.recs[last]
			complete[last] = r.StartTime().Sub(p.StartTime().Add(p.Duration)).Abs() < verify.GapTolerance
		}
		last = i
	}
	for i, r := range sc.recs {
		if r.Stream != want.stream {
			continue
		}
		n++
		if r.Version != feedchain.Version2 || r.Clock == feedchain.ClockUnknown || !strings.Contains(r.Codec, want.codecParts) {
			t.Errorf("record #%d: version %d, clock %v, codec %q (want %q in it)", r.Seq, r.Version, r.Clock, r.Codec, want.codecParts)
		}
		p := probeSegment(t, sc.segs[i])
		if p.videoCodec != want.video || p.audioCodec != want.audio {
			t.Errorf("segment #%d (%s): video %q audio %q, want %q and %q", r.Seq, want.stream, p.videoCodec, p.audioCodec, want.video, want.audio)
		}
		if want.audio != "" && p.audioFrames == 0 {
			t.Errorf("segment #%d: no audio frames", r.Seq)
		}
		if d := math.Abs(p.videoSpan - r.Duration.Seconds()); d > frame+1e-6 {
			t.Errorf("segment #%d (%s): ffprobe spans %.3fs, record says %v", r.Seq, want.stream, p.videoSpan, r.Duration)
		}
		expect := int(math.Round(r.Duration.Seconds() / frame))
		if p.videoFrames > expect || complete[i] && (want.exactCount && p.videoFrames != expect || p.videoFrames < expect-4) {
			t.Errorf("segment #%d (%s): %d frames decoded for %v", r.Seq, want.stream, p.videoFrames, r.Duration)
		}
		if complete[i] {
			frames += p.videoFrames
			total += r.Duration
		}
	}
	// The frame counts add up: every frame of the recorded time is there
	// (in segments that ran to the next one).
	if want.exactCount && frames != int(math.Round(total.Seconds()/frame)) {
		t.Errorf("%s stream: %d frames over %v of records", want.stream, frames, total)
	}
	t.Logf("%s stream: %d segments, %d frames, %v", want.stream, n, frames, total)
	return n
}

// A real camera's two streams, through RTSP with credentials, into an agent
// paired with a real hub: H.264 + AAC main, H.265 (open GOP) + Opus sub.
// The main stream's camera is killed and restarted mid-run: a gap, no
// corrupt segment, the chain goes on. The password never shows.
func TestRTSPCameraMainAndSubWithAudioAndAnOutage(t *testing.T) {
	const pass = "Cam-pw-7f3a9"
	t.Setenv("E2E_CAM_PASS", pass)
	cam := runTestcam(t, "-user", "admin", "-pass-env", "E2E_CAM_PASS")
	mainURL := "rtsp://admin:" + pass + "@" + cam.addr + "/main"
	subURL := "rtsp://admin:" + pass + "@" + cam.addr + "/sub"
	mainPub := publish(t, mainURL, "640x360", h264AAC)
	publish(t, subURL, "320x180", h265Opus)

	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://admin:${E2E_CAM_PASS}@"+cam.addr+"/main",
		"--sub-source", subURL, "--segment", "1s", "--camera-max-backoff", "1s", "--camera-timeout", "3s")
	// E2EE off: this test decodes the card's and the hub's segment files
	// (ffprobe, frame and audio checks) to test ingest, not encryption.
	camera := pairClear(t, h, a, newWallet(t))
	waitFor(t, 40*time.Second, "main and sub segments acknowledged", func() bool {
		st := a.status(t)
		return seqOf(st.Acked) >= 8 && seqOf(st.SubAcked) >= 2
	})

	// The camera dies; 3 s later it is back.
	mainPub.kill()
	waitFor(t, 10*time.Second, "the agent to see the camera gone", func() bool {
		return strings.Contains(a.status(t).Sources["main"], "retrying")
	})
	time.Sleep(3 * time.Second)
	before := seqOf(a.status(t).Head)
	publish(t, mainURL, "640x360", h264AAC)
	waitFor(t, 40*time.Second, "recording after the restart", func() bool { return seqOf(a.status(t).Acked) >= before+6 })

	st := a.status(t)
	if st.Source != "rtsp://admin:xxxxx@"+cam.addr+"/main" || st.SubSource != "rtsp://admin:xxxxx@"+cam.addr+"/sub" {
		t.Errorf("status shows sources %q and %q", st.Source, st.SubSource)
	}
	raw, _ := exec.Command(bin("camchain-agent"), "status", "--data", a.data).Output()
	a.stop()
	if strings.Contains(a.output(), pass) || bytes.Contains(raw, []byte(pass)) {
		t.Fatal("the camera's password appears in the agent's output or status")
	}

	// camchain verify shows the outage as a gap of the main stream, and
	// nothing as tampered with, in either stream's chain: the store holds
	// two chains, <camera>/0 and <camera>/0.sub.
	code, out, errs := camchain("verify", "--hub", h.url(), filepath.Join(a.data, "store"))
	if !strings.Contains(out, "gap: main stream") {
		t.Errorf("verify shows no gap (exit %d):\n%s%s", code, out, errs)
	}
	for _, bad := range []verify.Status{verify.Modified, verify.Truncated, verify.Inserted, verify.Missing, verify.OutOfOrder, verify.Forged, verify.Failed} {
		if strings.Contains(out, " "+string(bad)+" ") {
			t.Errorf("verify finds %s:\n%s", bad, out)
		}
	}
	camDir := filepath.Join(a.data, "store", strings.ToLower(strings.TrimPrefix(camera, "0x")))
	for _, d := range []string{"0", "0.sub"} {
		if _, err := os.Stat(filepath.Join(camDir, d, "records.log")); err != nil {
			t.Errorf("the camera's store has no chain %s: %v", d, err)
		}
	}
	// Tampering with one sub-stream segment on the card is caught in the
	// sub stream's chain, and the main stream's chain still verifies.
	tampered := filepath.Join(camDir, "0.sub", "seg", "0000000000000001.mp4")
	seg, err := os.ReadFile(tampered)
	if err != nil {
		t.Fatal(err)
	}
	seg[len(seg)/2] ^= 0x01
	if err := os.WriteFile(tampered, seg, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = camchain("verify", "--hub", h.url(), filepath.Join(camDir, "0.sub"))
	if code != 1 || countLines(out, "✗ "+string(verify.Modified)+" ") != 1 || !strings.Contains(out, "✗ modified     seq 1      seg/0000000000000001.mp4") ||
		!strings.Contains(out, "epoch 0, sub stream: ") {
		t.Errorf("verify of the tampered sub stream: exit %d:\n%s%s", code, out, errs)
	}
	code, out, errs = camchain("verify", "--hub", h.url(), filepath.Join(camDir, "0"))
	if strings.Contains(out, " "+string(verify.Modified)+" ") || !strings.Contains(out, "0000000000000001.mp4") {
		t.Errorf("the main stream's chain is reported modified after a sub segment was: exit %d:\n%s%s", code, out, errs)
	}
	seg[len(seg)/2] ^= 0x01
	if err := os.WriteFile(tampered, seg, 0o600); err != nil {
		t.Fatal(err)
	}
	h.stop()

	// The hub holds each stream's records and segments, byte for byte.
	hubH, _ := compareStores(t, h.data, a.data, camera, 0)
	if !hubH.Valid || hubH.Seq < uint64(before) {
		t.Fatalf("hub holds %v", hubH)
	}
	if hubSub, _ := compareStream(t, h.data, a.data, camera, 0, feedchain.StreamSub); !hubSub.Valid || hubSub.Seq < 2 {
		t.Fatalf("hub holds %v of the sub stream", hubSub)
	}

	sc := readChain(t, a.data, camera)
	nMain := checkStream(t, sc, streamCheck{stream: feedchain.StreamMain, video: "h264", audio: "aac", codecParts: "avc1.", exactCount: true})
	nSub := checkStream(t, readStream(t, a.data, camera, feedchain.StreamSub),
		streamCheck{stream: feedchain.StreamSub, video: "hevc", audio: "opus", codecParts: "hvc1.1."})
	if nMain < 8 || nSub < 2 {
		t.Fatalf("%d main and %d sub segments", nMain, nSub)
	}
	if n := len(sc.recs); n != nMain {
		t.Fatalf("the main stream's chain holds %d records, %d of them main", n, nMain)
	}
	gaps := verify.FindGaps(sc.recs)
	if len(gaps) != 1 || gaps[0].Stream != "main" || gaps[0].Length < 2*time.Second || gaps[0].Length > 15*time.Second {
		t.Fatalf("gaps %v, want one of the main stream, of the outage's length", gaps)
	}
	// Main segments are 1 s (one GOP), the last one before the outage and
	// the first after may be shorter; media time never goes back.
	var lastEnd time.Time
	for _, r := range sc.recs {
		if r.Stream != feedchain.StreamMain {
			continue
		}
		if r.StartTime().Before(lastEnd.Add(-100 * time.Millisecond)) {
			t.Errorf("record #%d starts %v before the previous main segment ended", r.Seq, lastEnd.Sub(r.StartTime()))
		}
		if r.Duration > 1100*time.Millisecond {
			t.Errorf("record #%d lasts %v with a 1 s GOP and a 1 s target", r.Seq, r.Duration)
		}
		lastEnd = r.StartTime().Add(r.Duration)
	}
}

// countLines counts output lines containing s.
func countLines(out, s string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// garbagePublisher announces an H.264 stream into the test camera and
// sends RTP packets of random bytes: a broken camera.
func garbagePublisher(t *testing.T, url string) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}}}}
	if err := c.StartRecording(url, desc); err != nil {
		t.Fatalf("garbage publisher: %v", err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			payload := make([]byte, 20+int(seq)%1200)
			rand.Read(payload)
			c.WritePacketRTP(desc.Medias[0], &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq,
				Timestamp: uint32(seq) * 3600, SSRC: 7, Marker: seq%3 == 0}, Payload: payload})
		}
	}()
	t.Cleanup(func() { close(stop); <-done; c.Close() })
}

// silentCamera accepts connections and never answers.
func silentCamera(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// Cameras that go wrong: each agent says clearly what is wrong, keeps
// running and retrying, and stores nothing corrupt.
func TestRTSPCameraFailuresAreClearAndRetried(t *testing.T) {
	const pass = "Right-pw-41"
	t.Setenv("E2E_CAM_PASS", pass)
	cam := runTestcam(t, "-user", "admin", "-pass-env", "E2E_CAM_PASS")
	at := func(path string) string { return "rtsp://admin:" + pass + "@" + cam.addr + path }
	publish(t, at("/ok"), "320x240", h264AAC)
	publish(t, at("/mjpeg"), "320x240", mjpeg)
	publish(t, at("/g711"), "320x240", h264G711)
	garbagePublisher(t, at("/garbage"))

	cases := []struct {
		name, source, wantLog string
		records               bool
	}{
		{"wrong credentials", "rtsp://admin:Wrong-pw-99@" + cam.addr + "/ok", "401 (Unauthorized)", false},
		{"unsupported video codec", at("/mjpeg"), "offers no H.264 or H.265 video (it offers: video M-JPEG)", false},
		{"garbage RTP", at("/garbage"), "the camera sent no usable video", false},
		{"never answers", "rtsp://admin:" + pass + "@" + silentCamera(t) + "/x", "DESCRIBE", false},
		{"G.711 audio is dropped, video kept", at("/g711"), "camera audio not recorded", true},
	}
	agents := make([]*agentProc, len(cases))
	for i, tc := range cases {
		agents[i] = runAgent(t, filepath.Join(t.TempDir(), fmt.Sprint("agent", i)), "--source", tc.source,
			"--segment", "1s", "--camera-timeout", "1s", "--camera-max-backoff", "1s")
	}
	time.Sleep(8 * time.Second)
	for i, tc := range cases {
		a := agents[i]
		st := a.status(t) // the agent is still running
		out := a.output()
		if tc.wantLog != "" && !strings.Contains(out, tc.wantLog) {
			t.Errorf("%s: the log does not say %q:\n%s", tc.name, tc.wantLog, out)
		}
		if strings.Contains(out, pass) || strings.Contains(out, "Wrong-pw-99") || strings.Contains(fmt.Sprint(st), pass) {
			t.Errorf("%s: a password shows in the output or status", tc.name)
		}
		retries := countLines(out, "retrying")
		if tc.records {
			if n := countLines(out, tc.wantLog); n != 1 {
				t.Errorf("%s: %d lines about the dropped audio, want one", tc.name, n)
			}
			if seqOf(st.Head) < 2 {
				t.Errorf("%s: head %s, want recording", tc.name, st.Head)
			}
			continue
		}
		if retries < 2 {
			t.Errorf("%s: %d retries in 8 s:\n%s", tc.name, retries, out)
		}
		if !strings.HasPrefix(st.Sources["main"], "retrying") && !strings.HasPrefix(st.Sources["main"], "connecting") {
			t.Errorf("%s: source state %q", tc.name, st.Sources["main"])
		}
		if st.Head != "empty chain" {
			t.Errorf("%s: stored %s from a camera that sent nothing usable", tc.name, st.Head)
		}
	}
	// What was stored decodes: video only, the G.711 audio left out.
	a := agents[len(cases)-1]
	camera := a.status(t).Camera
	a.stop()
	sc := readChain(t, a.data, camera)
	checkStream(t, sc, streamCheck{stream: feedchain.StreamMain, video: "h264", codecParts: "avc1.", exactCount: true})
	for _, r := range sc.recs {
		if strings.Contains(r.Codec, ",") {
			t.Errorf("record #%d codec %q: G.711 was kept", r.Seq, r.Codec)
		}
	}
}

// One agent process records three cameras from one cameras file: three
// keys, three data directories, three chains.
func TestThreeCamerasFromOneConfigFile(t *testing.T) {
	cam := runTestcam(t)
	dir := t.TempDir()
	cfg := "defaults:\n  segment: 1s\n  camera_max_backoff: 1s\ncameras:\n"
	for _, n := range []string{"porch", "garden", "garage"} {
		cfg += fmt.Sprintf("  - name: %s\n    data: %s\n    source: rtsp://%s/sample\n", n, n, cam.addr)
	}
	file := filepath.Join(dir, "cameras.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "camchain-agent", "camchain-agent: camera", "run", "--config", file, "--log-level", "info")
	cams := map[string]string{}
	for _, n := range []string{"porch", "garden", "garage"} {
		data := filepath.Join(dir, n)
		waitFor(t, 30*time.Second, n+" recording", func() bool {
			s, err := agentStatusOf(data)
			return err == nil && seqOf(s.Head) >= 1
		})
		s, _ := agentStatusOf(data)
		pairingCode(t, data) // each has its own pairing code
		cams[n] = s.Camera
	}
	p.stop()
	if cams["porch"] == cams["garden"] || cams["garden"] == cams["garage"] || cams["porch"] == cams["garage"] {
		t.Fatalf("cameras share a key: %v", cams)
	}
	for n, camera := range cams {
		sc := readChain(t, filepath.Join(dir, n), camera)
		if len(sc.recs) < 2 {
			t.Fatalf("%s: %d records", n, len(sc.recs))
		}
		probeSegment(t, sc.segs[0])
	}
}
