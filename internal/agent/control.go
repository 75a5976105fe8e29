package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func controlPath(dir string) string { return filepath.Join(dir, "control.sock") }

// serveControl listens on <data>/control.sock (created 0600: only the
// agent's user may press the button) for local commands:
// "reset" (the button) and "status". Its goroutines are the agent's (Close
// waits for them).
func (a *Agent) serveControl() (net.Listener, error) {
	p := controlPath(a.cfg.DataDir)
	os.Remove(p) // a stale socket from a killed agent (the store lock proves none runs)
	ln, err := listenPrivate(p)
	if err != nil {
		return nil, err
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				var reply any
				switch strings.TrimSpace(line) {
				case "reset":
					msg, err := a.Reset()
					reply = controlReply{OK: err == nil, Message: msg, Error: errString(err)}
				case "status":
					reply = a.Status()
				default:
					reply = controlReply{Error: "unknown command"}
				}
				json.NewEncoder(c).Encode(reply)
			}()
		}
	}()
	return ln, nil
}

type controlReply struct {
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Control sends one command to the agent running on dir. It returns
// ErrNotRunning if none listens.
func Control(dir, cmd string, reply any) error {
	c, err := net.DialTimeout("unix", controlPath(dir), 2*time.Second)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintln(c, cmd); err != nil {
		return err
	}
	return json.NewDecoder(c).Decode(reply)
}

// ErrNotRunning: no agent answers on the data directory's control socket.
var ErrNotRunning = fmt.Errorf("no camchain-agent is running on this data directory")
