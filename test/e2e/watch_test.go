package e2e

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWatchALiveCamera: a real RTSP camera fed by ffmpeg (H.264 main, H.265
// sub), the agent, the hub, and `camchain watch` of both streams live: each
// verifies every segment (signatures, bytes, record chain, the hub's
// session chain), says which codec it got, and writes a file ffmpeg
// decodes with no error.
func TestWatchALiveCamera(t *testing.T) {
	cam := runTestcam(t)
	publish(t, "rtsp://"+cam.addr+"/main", "640x360", h264AAC)
	publish(t, "rtsp://"+cam.addr+"/sub", "320x180", h265Opus)
	h := initHub(t)
	h.run(t)
	a := runAgent(t, filepath.Join(t.TempDir(), "agent"), "--source", "rtsp://"+cam.addr+"/main",
		"--sub-source", "rtsp://"+cam.addr+"/sub", "--segment", "1s")
	owner := newWallet(t)
	// E2EE off: the watched files are decoded (ffmpeg, ffprobe frame
	// counts, the H.265 sub stream); TestE2EE and TestE2EESubStream watch
	// encrypted streams with the owner's key.
	camera := pairClear(t, h, a, owner)
	if rc, _, errs := camchain(append([]string{"login", "--hub", h.url()}, owner.flags()...)...); rc != 0 {
		t.Fatalf("login: %s", errs)
	}
	waitFor(t, 40*time.Second, "segments acknowledged", func() bool { return seqOf(a.status(t).Acked) >= 2 })

	for _, tc := range []struct{ stream, codec, decoder string }{{"main", "(H.264)", "h264"}, {"sub", "(H.265)", "hevc"}} {
		out := filepath.Join(t.TempDir(), tc.stream+".mp4")
		rc, stdout, stderr := camchain("watch", "--camera", camera, "--hub", h.url(), "--stream", tc.stream, "--segments", "4", "--out", out, "--timeout", "60s")
		if rc != 0 || !strings.Contains(stdout, "verified 4 segment(s)") || !strings.Contains(stderr, tc.codec) {
			t.Fatalf("watch %s: exit %d\n%s%s", tc.stream, rc, stdout, stderr)
		}
		if b, err := exec.Command("ffmpeg", "-v", "error", "-i", out, "-f", "null", "-").CombinedOutput(); err != nil || len(b) != 0 {
			t.Fatalf("ffmpeg decoding the %s stream watched: %v\n%s", tc.stream, err, b)
		}
		probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", out).Output()
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Split(strings.TrimSpace(string(probe)), ",")
		n, _ := strconv.Atoi(f[len(f)-1])
		// Four segments of about 1 s at 25 fps (the first may start late in
		// its GOP: live starts with the newest stored segment).
		if f[0] != tc.decoder || n < 3*20 {
			t.Fatalf("the %s file: %q, want %s with at least 60 frames", tc.stream, probe, tc.decoder)
		}
	}
}
