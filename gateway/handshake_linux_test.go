package gateway

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/edge"
)

// newHelloGatedListener is newTestHandshakeListener whose handshakes, once
// their ClientHello is read, report it on arrived and wait for release to be
// closed before they go on: handshakes that wait for the CPU, as those of a
// burst do.
func newHelloGatedListener(t *testing.T, e *tlsEnv, limits handshakeLimits) (hl *handshakeListener, arrived <-chan struct{}, release chan struct{}) {
	t.Helper()
	cfg := e.edge.TLSConfig().Clone()
	next := cfg.GetConfigForClient
	got := make(chan struct{}, 1024)
	release = make(chan struct{})
	cfg.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		got <- struct{}{}
		<-release
		if next != nil {
			return next(hi)
		}
		return nil, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limits.now = steppingClock(silentHandshakeGrace) // silent ones count at once
	hl = newHandshakeListener(ln, cfg, time.Hour, limits, false, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = hl.std.Close() })
	go func() {
		for {
			c, err := hl.std.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	return hl, got, release
}

// clientHello returns the first bytes a TLS client sends: its ClientHello
// record.
func clientHello(t *testing.T) []byte {
	t.Helper()
	a, b := net.Pipe()
	go func() { _ = tls.Client(a, &tls.Config{ServerName: "localhost"}).Handshake() }() //nolint:gosec // G402: only the hello is kept
	defer a.Close()
	defer b.Close()
	buf := make([]byte, maxRecordSize)
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// TestHandshakesPastTheirClientHelloAreNotShed: a burst of real handshakes
// from one source, more than the per-source bound, whose ClientHellos arrived
// and which wait for the server's CPU, all complete; only handshakes whose
// client is silent (nothing sent, or a ClientHello begun and never finished)
// are closed to make room. A source that floods the listener with handshakes
// stalled after their ClientHello loses its own oldest, never another
// source's.
func TestHandshakesPastTheirClientHelloAreNotShed(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})

	t.Run("burst waiting for the CPU", func(t *testing.T) {
		hl, arrived, release := newHelloGatedListener(t, e, handshakeLimits{total: 64, perSource: 4})
		const n = 16
		errs := make(chan error, n)
		for range n {
			go func() { errs <- handshakeFrom(t, e, hl, "127.0.0.1") }()
			<-arrived // the server read its ClientHello; the next one comes
		}
		close(release)
		for i := range n {
			if err := <-errs; err != nil {
				t.Errorf("handshake %d of a burst of %d from one source: %v", i, n, err)
			}
		}
	})

	t.Run("burst of real clients", func(t *testing.T) {
		// Their connections come faster than their ClientHellos: within
		// the grace, a source's silent ones count only against the total.
		frozen := time.Unix(0, 0)
		hl := newTestHandshakeListener(t, e, handshakeLimits{total: 64, perSource: 4, now: func() time.Time { return frozen }})
		const n = 48
		errs := make(chan error, n)
		for range n {
			go func() { errs <- handshakeFrom(t, e, hl, "127.0.0.1") }()
		}
		for i := range n {
			if err := <-errs; err != nil {
				t.Errorf("handshake %d of a burst of %d from one source: %v", i, n, err)
			}
		}
	})

	t.Run("silent within the grace", func(t *testing.T) {
		frozen := time.Unix(0, 0)
		hl := newTestHandshakeListener(t, e, handshakeLimits{total: 64, perSource: 4, now: func() time.Time { return frozen }})
		silentConns(t, hl.Addr().String(), "127.0.0.1", 12)
		if err := handshakeFrom(t, e, hl, "127.0.0.1"); err != nil {
			t.Fatalf("a handshake from the source: %v", err)
		}
		// The 12 were admitted before it (accepted in order): none was
		// closed for it.
		hl.mu.Lock()
		n := hl.bySource[netip.MustParseAddr("127.0.0.1")].all.Len()
		hl.mu.Unlock()
		if n < 12 {
			t.Errorf("%d handshakes in flight from the source, want the 12 silent ones kept", n)
		}
	})

	t.Run("partial hellos are silent", func(t *testing.T) {
		hl := newTestHandshakeListener(t, e, handshakeLimits{total: 8, perSource: 4})
		hello := clientHello(t)
		partial := silentConns(t, hl.Addr().String(), "127.0.0.1", 20)
		for _, c := range partial {
			if _, err := c.Write(hello[:len(hello)/2]); err != nil {
				t.Fatal(err)
			}
		}
		if err := handshakeFrom(t, e, hl, "127.0.0.1"); err != nil {
			t.Fatalf("a handshake from the source of stalled ClientHellos: %v", err)
		}
		if err := handshakeFrom(t, e, hl, "127.0.0.2"); err != nil {
			t.Fatalf("a handshake from another source: %v", err)
		}
		assertClosed(t, "stalled ClientHello", partial[:16])
	})

	t.Run("stalled after the hello", func(t *testing.T) {
		hl := newTestHandshakeListener(t, e, handshakeLimits{total: 8, perSource: 4})
		hello := clientHello(t)
		var flood []net.Conn
		for range 12 {
			c := silentConns(t, hl.Addr().String(), "127.0.0.1", 1)[0]
			if _, err := c.Write(hello); err != nil {
				t.Fatal(err)
			}
			// The server answered it: its handshake waits for the client's
			// Finished.
			if err := readServerFlight(c); err != nil {
				t.Fatal(err)
			}
			flood = append(flood, c)
		}
		if err := handshakeFrom(t, e, hl, "127.0.0.2"); err != nil {
			t.Fatalf("a handshake from another source: %v", err)
		}
		hl.mu.Lock()
		n := hl.pending.Len()
		hl.mu.Unlock()
		if n > 8 {
			t.Errorf("%d handshakes in flight, want at most 8", n)
		}
		assertEnded(t, "stalled handshake", flood[:4])
	})
}

// readServerFlight reads from c until the server has sent something.
func readServerFlight(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	_, err := c.Read(make([]byte, 1))
	return err
}

// assertEnded checks that the server closed each of cs, whatever it sent
// first (the deadline is a guard against hanging, not a timing assertion).
func assertEnded(t *testing.T, what string, cs []net.Conn) {
	t.Helper()
	for i, c := range cs {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("%s %d: still open", what, i)
			}
		}
	}
}

// TestFirstRecordArrived: a handshake's socket tells whether its client sent
// its ClientHello whole, without consuming it.
func TestFirstRecordArrived(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hello := clientHello(t)
	if firstRecordArrived(s) {
		t.Fatal("arrived before a byte was sent")
	}
	if _, err := c.Write(hello[:len(hello)-1]); err != nil {
		t.Fatal(err)
	}
	if firstRecordArrived(s) {
		t.Fatal("arrived with its last byte missing")
	}
	if _, err := c.Write(hello[len(hello)-1:]); err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(30 * time.Second)) // a guard against hanging
	first, ok, err := waitFirstRecord(s)
	if err != nil || !ok || first != recordTypeHandshake {
		t.Fatalf("waitFirstRecord = %#x, %v, %v", first, ok, err)
	}
	if !firstRecordArrived(s) {
		t.Fatal("not arrived once sent whole")
	}
	got := make([]byte, len(hello))
	if _, err := io.ReadFull(s, got); err != nil || !bytes.Equal(got, hello) {
		t.Fatalf("the ClientHello was consumed: %v", err)
	}
}
