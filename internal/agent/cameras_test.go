package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func exampleEnv(name string) string {
	return map[string]string{"PORCH_PASSWORD": "s3cret", "GARDEN_PASSWORD": "hunter2"}[name]
}

// The commented example in docs/ loads, and means what its comments say.
func TestExampleCamerasFileLoads(t *testing.T) {
	b, err := os.ReadFile("../../docs/cameras.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseCamerasFile(b, "/etc/camchain", exampleEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Cameras) != 3 {
		t.Fatalf("%d cameras", len(f.Cameras))
	}
	porch, garden, demo := f.Cameras[0], f.Cameras[1], f.Cameras[2]
	if porch.Data != "/etc/camchain/cameras/porch" || !strings.Contains(porch.Source, "admin:s3cret@") ||
		!strings.HasSuffix(porch.SubSource, "/102") || porch.Segment != 2*time.Second || porch.Transport != "tcp" ||
		porch.MaxBytes != 2<<30 || porch.Retention != 168*time.Hour || porch.ReadTimeout != 10*time.Second {
		t.Errorf("porch: %+v", porch)
	}
	if garden.Transport != "udp" || garden.Segment != 4*time.Second || garden.SubSource != "" || garden.PairListen != "0.0.0.0:7702" {
		t.Errorf("garden: %+v", garden)
	}
	if demo.Source != SampleSourceName {
		t.Errorf("demo: %+v", demo)
	}
}

func TestCamerasFileRefuses(t *testing.T) {
	ok := "cameras:\n  - name: a\n    data: a\n    source: rtsp://h/x\n"
	if _, err := ParseCamerasFile([]byte(ok), "/d", exampleEnv); err != nil {
		t.Fatalf("minimal file: %v", err)
	}
	for _, tt := range []struct{ name, yaml, want string }{
		{"no cameras", "cameras: []\n", "0 cameras"},
		{"unknown field", ok + "    colour: red\n", "colour"},
		{"same data", ok + "  - name: b\n    data: a\n", "shares data directory"},
		{"same name", ok + "  - name: a\n    data: b\n", "twice"},
		{"bad name", "cameras:\n  - name: A B\n    data: a\n", "name"},
		{"no data", "cameras:\n  - name: a\n", "no data directory"},
		{"unset env", "cameras:\n  - name: a\n    data: a\n    source: rtsp://u:${NOPE}@h/x\n", "NOPE is not set"},
		{"bad url", "cameras:\n  - name: a\n    data: a\n    source: http://h/x\n", "rtsp"},
		{"bad transport", "cameras:\n  - name: a\n    data: a\n    source: rtsp://h/x\n    rtsp_transport: sctp\n", "transport"},
		{"short segment", "cameras:\n  - name: a\n    data: a\n    source: rtsp://h/x\n    segment: 500ms\n", "segment target"},
		{"sub without main", "cameras:\n  - name: a\n    data: a\n    sub_source: rtsp://h/y\n", "sub-source"},
		{"two documents", ok + "---\n" + ok, "more than one"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCamerasFile([]byte(tt.yaml), "/d", exampleEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	// An error never shows a password, from the file or the environment.
	_, err := ParseCamerasFile([]byte("cameras:\n  - name: a\n    data: a\n    source: rtsp://u:${PORCH_PASSWORD}@h/x\n    segment: 1ms\n"), "/d", exampleEnv)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v", err)
	}
	_, err = ParseCamerasFile([]byte("cameras:\n  - name: a\n    data: a\n    source: rtsp://u:pw@h/x\n    rtsp_transport: x\n"), "/d", exampleEnv)
	if err == nil || strings.Contains(err.Error(), "pw@") {
		t.Fatalf("error %v", err)
	}
}

func FuzzParseCamerasFile(f *testing.F) {
	b, err := os.ReadFile("../../docs/cameras.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("cameras:\n  - name: a\n    data: a\n    source: rtsp://u:${X}@h/x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCamerasFile(b, "/d", exampleEnv)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, cam := range c.Cameras {
			if seen[cam.Data] || !filepath.IsAbs(cam.Data) || !cameraName.MatchString(cam.Name) {
				t.Fatalf("accepted %+v", cam)
			}
			seen[cam.Data] = true
		}
	})
}
