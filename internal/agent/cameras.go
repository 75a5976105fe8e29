package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/camchain/camchain/internal/feedchain"
)

// Limits of a cameras file.
const (
	MaxCamerasFileBytes = 1 << 20
	MaxCameras          = 64
)

// CamerasFile is a cameras file: several cameras recorded by one agent
// process (an NVR box beside a house's cameras), each with its own key,
// pairing code, data directory and chain. See cameras.example.yaml.
type CamerasFile struct {
	// Defaults apply to every camera that leaves a field unset.
	Defaults CameraConfig `yaml:"defaults"`
	// Cameras are the cameras, at least one.
	Cameras []CameraConfig `yaml:"cameras"`
}

// CameraConfig is one camera of a cameras file.
type CameraConfig struct {
	// Name labels the camera's log lines; unique, [a-z0-9_-], ≤ 32 bytes.
	Name string `yaml:"name"`
	// Data is the camera's data directory; relative paths are relative to
	// the cameras file. Unique.
	Data        string `yaml:"data"`
	SourceFlags `yaml:",inline"`
	// PairListen and PairAdvertise are as --pair-listen and
	// --pair-advertise (default 127.0.0.1:0: a free port).
	PairListen    string `yaml:"pair_listen"`
	PairAdvertise string `yaml:"pair_advertise"`
	// MaxBytes and Retention are as --max-bytes and --retention.
	MaxBytes  int64         `yaml:"max_bytes"`
	Retention time.Duration `yaml:"retention"`
}

var cameraName = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// envRef is ${NAME} in a source URL: a password kept out of the file.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ParseCamerasFile reads a cameras file strictly (unknown fields are
// errors), fills each camera's unset fields from the defaults, expands
// ${NAME} in source URLs from getenv, resolves relative data directories
// against dir, and checks the result.
func ParseCamerasFile(b []byte, dir string, getenv func(string) string) (*CamerasFile, error) {
	if len(b) > MaxCamerasFileBytes {
		return nil, fmt.Errorf("cameras file: %d bytes is over the %d-byte limit", len(b), MaxCamerasFileBytes)
	}
	var f CamerasFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("cameras file: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("cameras file: more than one YAML document")
	}
	if len(f.Cameras) == 0 || len(f.Cameras) > MaxCameras {
		return nil, fmt.Errorf("cameras file: %d cameras; want 1 to %d", len(f.Cameras), MaxCameras)
	}
	names, dirs := map[string]bool{}, map[string]bool{}
	for i := range f.Cameras {
		c := &f.Cameras[i]
		c.fill(&f.Defaults)
		if !cameraName.MatchString(c.Name) {
			return nil, fmt.Errorf("cameras file: camera %d: name %q: want 1 to 32 of [a-z0-9_-]", i+1, c.Name)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("cameras file: camera %q twice", c.Name)
		}
		names[c.Name] = true
		if c.Data == "" {
			return nil, fmt.Errorf("cameras file: camera %q has no data directory", c.Name)
		}
		if !filepath.IsAbs(c.Data) {
			c.Data = filepath.Join(dir, c.Data)
		}
		c.Data = filepath.Clean(c.Data)
		if dirs[c.Data] {
			return nil, fmt.Errorf("cameras file: camera %q shares data directory %s with another camera: each camera needs its own", c.Name, c.Data)
		}
		dirs[c.Data] = true
		if err := c.SourceFlags.expand(getenv); err != nil {
			return nil, fmt.Errorf("cameras file: camera %q: %w", c.Name, err)
		}
		var cfg Config
		var none func(feedchain.Stream, string)
		if err := c.SourceFlags.apply(&cfg, slog.New(slog.DiscardHandler), &none); err != nil {
			return nil, fmt.Errorf("cameras file: camera %q: %w", c.Name, err)
		}
	}
	return &f, nil
}

// expand replaces ${NAME} in the source URLs with the environment's value,
// so that a camera's password need be neither in a file nor on a command
// line (where ps shows it).
func (f *SourceFlags) expand(getenv func(string) string) error {
	var missing []string
	exp := func(s string) string {
		return envRef.ReplaceAllStringFunc(s, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v := getenv(name)
			if v == "" {
				missing = append(missing, name)
			}
			return v
		})
	}
	f.Source, f.SubSource = exp(f.Source), exp(f.SubSource)
	if len(missing) > 0 {
		return fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return nil
}

// fill copies d's fields into c's unset ones.
func (c *CameraConfig) fill(d *CameraConfig) {
	set := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	set(&c.Source, d.Source)
	set(&c.Transport, d.Transport)
	set(&c.PairListen, d.PairListen)
	set(&c.PairAdvertise, d.PairAdvertise)
	if c.Segment == 0 {
		c.Segment = d.Segment
	}
	if c.Parts == 0 {
		c.Parts = d.Parts
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = d.MaxBytes
	}
	if c.Retention == 0 {
		c.Retention = d.Retention
	}
}

// LoadCamerasFile reads and parses a cameras file from disk, with the
// process's environment.
func LoadCamerasFile(path string) (*CamerasFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > MaxCamerasFileBytes {
		return nil, fmt.Errorf("cameras file %s: %d bytes is over the %d-byte limit", path, fi.Size(), MaxCamerasFileBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return ParseCamerasFile(b, abs, os.Getenv)
}

// RunCameras opens an Agent per camera of f and runs them all until ctx
// ends or one of them fails (then all stop: a supervisor restarts the
// process). base supplies what the file does not set (logger, console,
// limits). It prints each camera's identity line to base.Out.
func RunCameras(ctx context.Context, f *CamerasFile, base Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var agents []*Agent
	closeAll := func() {
		for _, a := range agents {
			a.Close()
		}
	}
	for _, c := range f.Cameras {
		cfg := base
		cfg.DataDir, cfg.PairListen, cfg.PairAdvertise = c.Data, c.PairListen, c.PairAdvertise
		cfg.MaxBytes, cfg.MaxAge = c.MaxBytes, c.Retention
		cfg.Logger = base.Logger.With("cam", c.Name)
		var setState func(feedchain.Stream, string)
		if err := c.SourceFlags.apply(&cfg, cfg.Logger, &setState); err != nil {
			closeAll()
			return fmt.Errorf("camera %q: %w", c.Name, err)
		}
		a, err := Open(cfg)
		if err != nil {
			closeAll()
			return fmt.Errorf("camera %q: %w", c.Name, err)
		}
		setState = a.SetSourceState
		agents = append(agents, a)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(agents))
	for i, a := range agents {
		fmt.Fprintf(base.Out, "camchain-agent: camera %s, data %s, name %s\n", a.Address().Hex(), a.cfg.DataDir, f.Cameras[i].Name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Run(ctx); err != nil {
				errs[i] = fmt.Errorf("camera %q: %w", f.Cameras[i].Name, err)
			}
			cancel()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
