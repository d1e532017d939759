package runtimetest

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// SocketProxy forwards a unix socket to a daemon's (Docker's, containerd's) and
// can be taken down and brought back: to a client of Path, a daemon that goes
// away and returns. Down also cuts every connection through it, as a daemon
// restart does. Safe for concurrent use.
type SocketProxy struct {
	path, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]struct{}
}

// NewSocketProxy returns a proxy to the socket at target, listening (Up) on a
// socket in a temporary directory, and taken down when the test ends.
func NewSocketProxy(t testing.TB, target string) *SocketProxy {
	t.Helper()
	p := &SocketProxy{path: filepath.Join(t.TempDir(), "daemon.sock"), target: target, conns: map[net.Conn]struct{}{}}
	p.Up(t)
	t.Cleanup(p.Down)
	return p
}

// Path is the proxy's socket.
func (p *SocketProxy) Path() string { return p.path }

// Up listens again (a no-op when up).
func (p *SocketProxy) Up(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return
	}
	_ = os.Remove(p.path) // a stale socket
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("unix", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[d] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); _ = d.Close() }()
			go func() { _, _ = io.Copy(c, d); _ = c.Close() }()
		}
	}()
}

// Down stops listening and cuts every connection through the proxy (a no-op
// when down).
func (p *SocketProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return
	}
	_ = p.ln.Close()
	p.ln = nil
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
	_ = os.Remove(p.path)
}

// Refuse stops listening but keeps the connections through the proxy, as a
// daemon does that shuts down: dockerd closes its API first, then stops its
// containers, and requests already under way (a container's wait) are still
// answered. A no-op when down; Up listens again.
func (p *SocketProxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return
	}
	_ = p.ln.Close()
	p.ln = nil
	_ = os.Remove(p.path)
}
