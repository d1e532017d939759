//go:build linux

package idlepoll

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// pair returns both ends of a loopback TCP connection and the server end's raw conn.
func pair(t *testing.T) (client, server net.Conn, raw syscall.RawConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	raw, err = server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return client, server, raw
}

func waitReady(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no ready call for %s", what)
	}
}

// TestReadyOneShot: an armed socket's ready runs when bytes come, and again
// after each Arm while bytes are still there; the poller itself waits in the
// Go runtime's network poller, not in a thread blocked in epoll_wait.
func TestReadyOneShot(t *testing.T) {
	p, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	if !p.polled {
		t.Fatal("the poller waits in epoll_wait, not in the network poller")
	}
	client, server, raw := pair(t)
	ready := make(chan struct{}, 4)
	w := p.Add(raw, func() { ready <- struct{}{} })
	defer w.Remove()
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ready, "the first byte")
	// Not read: armed again, the socket is still readable.
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ready, "the unread byte after Arm")
	buf := make([]byte, 8)
	if n, err := server.Read(buf); n != 1 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	client.Close()
	waitReady(t, ready, "the hang-up")
}

// TestRemove: a removed waiter cannot be armed, and removing twice is safe.
func TestRemove(t *testing.T) {
	p, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	_, _, raw := pair(t)
	w := p.Add(raw, func() { t.Error("ready after Remove") })
	if err := w.Arm(); err != nil {
		t.Fatal(err)
	}
	w.Remove()
	w.Remove()
	if err := w.Arm(); err == nil {
		t.Fatal("Arm after Remove succeeded")
	}
	p.mu.Lock()
	_, held := p.waiters[w.token]
	n := len(p.waiters)
	p.mu.Unlock()
	if held || w.token != 0 {
		t.Fatalf("removed waiter still registered (%d waiters)", n)
	}
}

// TestArmClosed: arming a closed socket fails instead of watching nothing.
func TestArmClosed(t *testing.T) {
	p, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	_, server, raw := pair(t)
	w := p.Add(raw, func() {})
	defer w.Remove()
	server.Close()
	if err := w.Arm(); err == nil {
		t.Fatal("Arm on a closed socket succeeded")
	}
}
