package main

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/feedchain/feedchaintest"
	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

// The link benchmark runs the hub side in a child process (this program,
// re-executed with linkHubEnv set), so that its CPU time is the hub's
// alone, read from the child's own rusage, and camera and hub contend for
// the cores as two programs on one machine do.
//
// Protocol with the parent, one line each on the child's stdout:
//
//	ready ADDR HUB_ADDRESS HUB_PIN   listening; the parent may connect
//	done BYTES CPU_NS HEAD           after the parent wrote a line on stdin:
//	                                 segment bytes received, the child's
//	                                 user+system CPU since ready, the hub's
//	                                 head hash ("-" for the plain baseline)
//
// The child gets its job from the environment: linkHubEnv ("link" or
// "plain"), and for "link" the camera's address and TLS pin; for "plain"
// the segment size (the tail of each frame it hashes).
const (
	linkHubEnv     = "CAMCHAIN_BENCH_LINK_HUB"
	linkHubCamEnv  = "CAMCHAIN_BENCH_LINK_CAMERA" // address hex
	linkHubPinEnv  = "CAMCHAIN_BENCH_LINK_PIN"    // camera TLS pin hex
	linkHubSizeEnv = "CAMCHAIN_BENCH_LINK_SEGMENT"
	// linkHubProfileEnv, if set, makes each child hub write a CPU profile
	// to its value suffixed with the mode and the process id.
	linkHubProfileEnv = "CAMCHAIN_BENCH_LINK_HUB_PROFILE"
)

// linkHubMain is the child's main; it returns the exit code.
func linkHubMain(stdin io.Reader, stdout io.Writer) int {
	if path := os.Getenv(linkHubProfileEnv); path != "" {
		f, err := os.Create(fmt.Sprintf("%s.%s.%d", path, os.Getenv(linkHubEnv), os.Getpid()))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if err := linkHub(os.Getenv(linkHubEnv), stdin, stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench link hub: %v\n", err)
		return 1
	}
	return 0
}

func linkHub(mode string, stdin io.Reader, stdout io.Writer) error {
	hubKey, err := keys.Generate()
	if err != nil {
		return err
	}
	hubID, err := link.NewIdentity()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	var received func() (int64, string)
	var wait func() error
	switch mode {
	case "link":
		cam, err := keys.ParseAddress(os.Getenv(linkHubCamEnv))
		if err != nil {
			return err
		}
		pin, err := link.ParsePin(os.Getenv(linkHubPinEnv))
		if err != nil {
			return err
		}
		// The hub chain verifies what the store verifies before it
		// acknowledges (signature, link, size and the segment's SHA-256)
		// but writes nothing: disk is hub.store_append's.
		chain := &feedchaintest.Chain{Camera: cam, DropSegments: true}
		backend := &benchBackend{pins: map[keys.Address]link.Pin{cam: pin},
			chain: func(keys.Address, uint64) (link.ServerChain, error) { return chain, nil }}
		srv := &link.Server{Identity: hubID, Key: hubKey, Backend: backend}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		received = func() (int64, string) {
			n := chain.Bytes()
			h := chain.Head()
			return n, hex.EncodeToString(h.Hash[:])
		}
		wait = func() error {
			err := srv.Close()
			if a := backend.alarmList(); len(a) > 0 {
				return fmt.Errorf("hub alarms: %q", a)
			}
			if serr := <-served; serr != nil {
				return serr
			}
			return err
		}
	case "plain":
		size, err := strconv.Atoi(os.Getenv(linkHubSizeEnv))
		if err != nil || size <= 0 {
			return fmt.Errorf("%s=%q: want a segment size", linkHubSizeEnv, os.Getenv(linkHubSizeEnv))
		}
		var n int64
		served := make(chan error, 1)
		go func() { served <- plainHashServe(ln, link.ServerConfig(hubID), size, &n) }()
		received = func() (int64, string) { return n, "-" }
		wait = func() error {
			ln.Close()
			if err := <-served; err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		}
	case "cameras":
		return camerasHub(ln, hubKey, hubID, stdin, stdout)
	default:
		return fmt.Errorf("%s=%q: want link, plain or cameras", linkHubEnv, mode)
	}
	cpu0, err := processCPU()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready %s %s %s\n", ln.Addr(), hubKey.Address().Hex(), hubID.Pin)
	if _, err := bufio.NewReader(stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for the parent: %w", err)
	}
	cpu1, err := processCPU()
	if err != nil {
		return err
	}
	if err := wait(); err != nil {
		return err
	}
	n, head := received()
	_, err = fmt.Fprintf(stdout, "done %d %d %s\n", n, int64(cpu1-cpu0), head)
	return err
}

// plainHashServe is the baseline hub: it accepts one TLS 1.3 connection
// and, for each frame (u32be length ‖ body, read through a 64 KiB buffer
// as link.Conn does), computes the SHA-256 of the segment (the last size
// bytes of the body) and answers with one byte. It reads the next frame
// while it hashes this one, with two circulating buffers, as link.Server
// does: the same necessary work (decrypt, hash, acknowledge) on the same
// two goroutines, nothing else. n counts the segment bytes hashed (read
// only after the connection ends).
func plainHashServe(ln net.Listener, cfg *tls.Config, size int, n *int64) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	tc := tls.Server(c, cfg)
	defer tc.Close()
	r := bufio.NewReaderSize(tc, 64<<10)
	type frame struct {
		body []byte
		err  error
	}
	frames := make(chan frame, 1)
	bufs := make(chan []byte, 2)
	bufs <- make([]byte, link.MaxFrame)
	bufs <- make([]byte, link.MaxFrame)
	go func() {
		defer close(frames)
		for buf := range bufs {
			var hdr [4]byte
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				frames <- frame{err: err}
				return
			}
			l := binary.BigEndian.Uint32(hdr[:])
			if l < uint32(size) || l > link.MaxFrame {
				frames <- frame{err: fmt.Errorf("frame length %d", l)}
				return
			}
			if _, err := io.ReadFull(r, buf[:l]); err != nil {
				frames <- frame{err: err}
				return
			}
			frames <- frame{body: buf[:l]}
		}
	}()
	defer close(bufs)
	var total int64
	for f := range frames {
		if f.err != nil {
			*n = total
			return f.err
		}
		sha256.Sum256(f.body[len(f.body)-size:])
		total += int64(size)
		if _, err := tc.Write([]byte{1}); err != nil {
			return err
		}
		bufs <- f.body[:cap(f.body)]
	}
	*n = total
	return nil
}

// linkHubProc is a running child hub.
type linkHubProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr strings.Builder
	Addr   string
	Hub    keys.Address
	Pin    link.Pin
}

// startLinkHub starts the child hub in mode with extra environment.
func startLinkHub(mode string, env ...string) (*linkHubProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &linkHubProc{cmd: exec.Command(self)}
	p.cmd.Env = append(append(os.Environ(), linkHubEnv+"="+mode), env...)
	p.cmd.Stderr = &p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewReader(stdout)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	f, err := p.line("ready", 4)
	if err != nil {
		p.kill()
		return nil, err
	}
	p.Addr = f[1]
	if p.Hub, err = keys.ParseAddress(f[2]); err != nil {
		p.kill()
		return nil, err
	}
	if p.Pin, err = link.ParsePin(f[3]); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// query writes a command line to the child and reads its answer, a line
// starting with the same word with fields fields in all.
func (p *linkHubProc) query(cmd string, fields int) ([]string, error) {
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		return nil, fmt.Errorf("child hub: %w; stderr: %s", err, p.stderr.String())
	}
	return p.line(cmd, fields)
}

func (p *linkHubProc) line(word string, fields int) ([]string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() { s, err := p.out.ReadString('\n'); ch <- res{s, err} }()
	var r res
	select {
	case r = <-ch:
	case <-time.After(linkRunTimeout):
		r.err = errors.New("timed out")
	}
	f := strings.Fields(r.s)
	if r.err != nil || len(f) != fields || f[0] != word {
		return nil, fmt.Errorf("child hub: want %q line, got %q (%v); stderr: %s", word, r.s, r.err, p.stderr.String())
	}
	return f, nil
}

// finish asks the child for its figures and waits for it to exit: the
// segment bytes it received, its CPU time since it was ready, and its head
// hash (hex, "-" for the baseline).
func (p *linkHubProc) finish() (bytes int64, cpu time.Duration, head string, err error) {
	if _, err := io.WriteString(p.stdin, "done\n"); err != nil {
		p.kill()
		return 0, 0, "", err
	}
	f, err := p.line("done", 4)
	if err != nil {
		p.kill()
		return 0, 0, "", err
	}
	if err := p.cmd.Wait(); err != nil {
		return 0, 0, "", fmt.Errorf("child hub: %w; stderr: %s", err, p.stderr.String())
	}
	b, err1 := strconv.ParseInt(f[1], 10, 64)
	c, err2 := strconv.ParseInt(f[2], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, "", fmt.Errorf("child hub: %q: %w", f, err)
	}
	return b, time.Duration(c), f[3], nil
}

func (p *linkHubProc) kill() {
	p.stdin.Close()
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// headHex is the hex of a head's hash, as the child prints it.
func headHex(h feedchain.Head) string { return hex.EncodeToString(h.Hash[:]) }
