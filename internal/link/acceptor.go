package link

import (
	"errors"
	"net"
	"sync"
)

// Acceptor is the accept loop of a port strangers reach (the hub's link
// port, the camera's pairing port): connections within a Gate's limits,
// each served in its own goroutine, and Close ends and waits for every one.
type Acceptor struct {
	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	closing bool
	wg      sync.WaitGroup
}

// Serve accepts on ln until Stop or Close, admitting connections through a
// gate for limits and serving each with serve (which need not close it).
// It returns nil after Stop or Close.
func (a *Acceptor) Serve(ln net.Listener, limits ConnLimits, serve func(net.Conn)) error {
	gate := NewGate(limits)
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		ln.Close()
		return nil
	}
	a.ln, a.conns = ln, map[net.Conn]struct{}{}
	a.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			a.mu.Lock()
			closing := a.closing
			a.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if !gate.Enter(c.RemoteAddr()) {
			c.Close() // over a limit: closed before the TLS handshake
			continue
		}
		a.mu.Lock()
		if a.closing {
			a.mu.Unlock()
			gate.Leave(c.RemoteAddr())
			c.Close()
			return nil
		}
		a.conns[c] = struct{}{}
		a.wg.Add(1)
		a.mu.Unlock()
		go func() {
			defer a.wg.Done()
			defer func() {
				a.mu.Lock()
				delete(a.conns, c)
				a.mu.Unlock()
				c.Close()
				gate.Leave(c.RemoteAddr())
			}()
			serve(c)
		}()
	}
}

// Stop stops accepting; connections being served go on. It does not wait,
// so a connection may call it.
func (a *Acceptor) Stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closing = true
	if a.ln != nil {
		a.ln.Close()
	}
}

// Close stops accepting, ends every connection and waits for them.
func (a *Acceptor) Close() error {
	a.mu.Lock()
	a.closing = true
	var err error
	if a.ln != nil {
		if err = a.ln.Close(); errors.Is(err, net.ErrClosed) {
			err = nil
		}
	}
	for c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
	return err
}
