package rawio

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testkit"
)

// tcpPair returns the two ends of a loopback TCP connection: the accepted one
// (the server's) and the dialled one.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return server, client
}

// TestRawIOReadsAndWrites sends bytes both ways through Conn, small and over
// Max, with the socket buffers small enough that writes must wait for the
// poller, and ends with the peer's close read as io.EOF.
func TestRawIOReadsAndWrites(t *testing.T) {
	server, client := tcpPair(t)
	_ = server.(*net.TCPConn).SetWriteBuffer(4096)
	x := New(server)
	if x == nil {
		t.Fatal("no raw I/O for a TCP connection")
	}
	if _, err := client.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, 64)
	for len(got) < 18 {
		buf := make([]byte, 64)
		n, err := x.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "GET / HTTP/1.1\r\n\r\n" {
		t.Fatalf("read %q", got)
	}
	// Writes of every size up to twice Max, far more than the buffers hold.
	var want bytes.Buffer
	for _, size := range []int{1, 100, 4096, 60000, Max, Max + 1, 2 * Max} {
		want.Write(bytes.Repeat([]byte{byte('a' + size%26)}, size))
	}
	done := make(chan error, 1)
	go func() {
		p := want.Bytes()
		for _, size := range []int{1, 100, 4096, 60000, Max, Max + 1, 2 * Max} {
			n, err := x.Write(p[:size])
			if err == nil && n != size {
				err = io.ErrShortWrite
			}
			if err != nil {
				done <- err
				return
			}
			p = p[size:]
		}
		done <- server.(*net.TCPConn).CloseWrite()
	}()
	all, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(all, want.Bytes()) {
		t.Fatalf("client read %d bytes, want %d the same", len(all), want.Len())
	}
	_ = client.Close()
	n, err := x.Read(make([]byte, 16))
	if n != 0 || err != io.EOF { //nolint:errorlint // net.Conn's io.EOF is unwrapped
		t.Fatalf("after the peer's close: %d, %v; want 0, io.EOF", n, err)
	}
}

// TestRawIOErrorsAsNetConn checks that Conn's errors look like net.Conn's:
// deadlines, a closed connection, and a reset peer.
func TestRawIOErrorsAsNetConn(t *testing.T) {
	type shape struct {
		op, net, inner   string
		timeout, closed  bool
		errno, addresses bool
	}
	shapeOf := func(err error, c net.Conn) shape {
		var oe *net.OpError
		if !errors.As(err, &oe) {
			t.Fatalf("%v (%T) is not a *net.OpError", err, err)
		}
		var se *os.SyscallError
		return shape{op: oe.Op, net: oe.Net, inner: oe.Err.Error(), timeout: oe.Timeout(), closed: errors.Is(err, net.ErrClosed),
			errno: errors.As(err, &se), addresses: oe.Source.String() == c.LocalAddr().String() && oe.Addr.String() == c.RemoteAddr().String()}
	}
	for _, tc := range []struct {
		name string
		run  func(c net.Conn, rw io.ReadWriter, peer net.Conn) error
	}{
		{"read deadline", func(c net.Conn, rw io.ReadWriter, _ net.Conn) error {
			_ = c.SetReadDeadline(time.Now().Add(-time.Second))
			_, err := rw.Read(make([]byte, 8))
			return err
		}},
		{"read deadline long past", func(c net.Conn, rw io.ReadWriter, _ net.Conn) error {
			_ = c.SetDeadline(time.Unix(1, 0)) // as the fast proxy's abort does
			_, err := rw.Read(make([]byte, 8))
			return err
		}},
		{"write deadline", func(c net.Conn, rw io.ReadWriter, _ net.Conn) error {
			_ = c.SetWriteDeadline(time.Now().Add(-time.Second))
			_, err := rw.Write([]byte("x"))
			return err
		}},
		{"read closed", func(c net.Conn, rw io.ReadWriter, _ net.Conn) error {
			_ = c.Close()
			_, err := rw.Read(make([]byte, 8))
			return err
		}},
		{"write closed", func(c net.Conn, rw io.ReadWriter, _ net.Conn) error {
			_ = c.Close()
			_, err := rw.Write([]byte("x"))
			return err
		}},
		{"read reset", func(_ net.Conn, rw io.ReadWriter, peer net.Conn) error {
			_ = peer.(*net.TCPConn).SetLinger(0)
			_ = peer.Close()
			for {
				if _, err := rw.Read(make([]byte, 8)); err != nil {
					return err
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := tcpPair(t)
			want := shapeOf(tc.run(server, server, client), server)
			server, client = tcpPair(t)
			got := shapeOf(tc.run(server, New(server), client), server)
			if got != want || !got.addresses {
				t.Fatalf("Conn's error: %+v\nnet.Conn's: %+v", got, want)
			}
			// The dialled end (a proxy's backend connection) errs alike.
			server, client = tcpPair(t)
			want = shapeOf(tc.run(client, client, server), client)
			server, client = tcpPair(t)
			got = shapeOf(tc.run(client, New(client), server), client)
			if got != want || !got.addresses {
				t.Fatalf("the dialled end: Conn's error: %+v\nnet.Conn's: %+v", got, want)
			}
		})
	}
}

// TestPeekReadable holds PeekReadable to its promise: false while nothing has
// come, true once bytes or the peer's close have, and nothing consumed.
func TestPeekReadable(t *testing.T) {
	server, client := tcpPair(t)
	raw, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	look := func() (readable bool) {
		if err := raw.Control(func(fd uintptr) { readable = PeekReadable(fd) }); err != nil {
			t.Fatal(err)
		}
		return readable
	}
	// waitReadable parks in the poller until PeekReadable says yes (the
	// deadline only keeps a broken build from hanging).
	waitReadable := func() {
		t.Helper()
		_ = server.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := raw.Read(PeekReadable); err != nil {
			t.Fatalf("waiting for readability: %v", err)
		}
		_ = server.SetReadDeadline(time.Time{})
	}
	if look() {
		t.Fatal("PeekReadable: true with nothing sent")
	}
	if _, err := client.Write([]byte("xy")); err != nil {
		t.Fatal(err)
	}
	waitReadable()
	if !look() {
		t.Fatal("PeekReadable: false with two bytes waiting")
	}
	buf := make([]byte, 8)
	if n, err := io.ReadFull(server, buf[:2]); err != nil || string(buf[:n]) != "xy" {
		t.Fatalf("read after the peeks: %q, %v (the peek consumed bytes)", buf[:n], err)
	}
	if look() {
		t.Fatal("PeekReadable: true after the bytes were read")
	}
	_ = client.Close()
	waitReadable()
	if !look() {
		t.Fatal("PeekReadable: false after the peer closed")
	}
	if _, err := server.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the close: %v, want EOF", err)
	}
}

// TestPeekState: PeekState tells bytes waiting from the peer's close, and
// consumes nothing.
func TestPeekState(t *testing.T) {
	server, client := tcpPair(t)
	raw, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	look := func() (ready, data bool) {
		if err := raw.Control(func(fd uintptr) { ready, data = PeekState(fd) }); err != nil {
			t.Fatal(err)
		}
		return ready, data
	}
	wait := func() {
		t.Helper()
		_ = server.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := raw.Read(PeekReadable); err != nil {
			t.Fatalf("waiting for readability: %v", err)
		}
		_ = server.SetReadDeadline(time.Time{})
	}
	if ready, _ := look(); ready {
		t.Fatal("PeekState: ready with nothing sent")
	}
	if _, err := client.Write([]byte("xy")); err != nil {
		t.Fatal(err)
	}
	wait()
	if ready, data := look(); !ready || !data {
		t.Fatalf("PeekState with two bytes waiting: ready %v data %v", ready, data)
	}
	buf := make([]byte, 8)
	if n, err := io.ReadFull(server, buf[:2]); err != nil || string(buf[:n]) != "xy" {
		t.Fatalf("read after the peeks: %q, %v (the peek consumed bytes)", buf[:n], err)
	}
	_ = client.Close()
	wait()
	if ready, data := look(); !ready || data {
		t.Fatalf("PeekState after the peer closed: ready %v data %v, want ready, no data", ready, data)
	}
}

// TestUnsent checks Unsent: nothing on a quiet connection; bytes once the
// peer stops reading and the socket holds what it could not send; nothing
// again once the peer has read them all.
func TestUnsent(t *testing.T) {
	server, client := tcpPair(t)
	raw, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	unsent := func() int {
		t.Helper()
		var n int
		var ok bool
		if err := raw.Control(func(fd uintptr) { n, ok = Unsent(fd) }); err != nil || !ok {
			t.Fatalf("Unsent: %v, ok %v", err, ok)
		}
		return n
	}
	if n := unsent(); n != 0 {
		t.Fatalf("Unsent: %d on a quiet connection", n)
	}
	// Fill the peer's receive window and this socket's send buffer: writes
	// of the non-blocking socket until it takes no more (EAGAIN), with bytes
	// still held here. (Not a write with a deadline: on a loaded machine the
	// deadline can pass before the first byte.)
	wrote := 0
	chunk := make([]byte, 64<<10)
	if err := raw.Write(func(fd uintptr) bool {
		for {
			n, err := syscall.Write(int(fd), chunk)
			if n > 0 {
				wrote += n
			}
			if err != nil {
				return !errors.Is(err, syscall.EINTR)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if n := unsent(); n == 0 || n > wrote {
		t.Fatalf("Unsent: %d with the peer not reading (%d bytes written)", n, wrote)
	}
	if _, err := io.CopyN(io.Discard, client, int64(wrote)); err != nil {
		t.Fatal(err)
	}
	// The last acknowledgement may trail the read a little: wait on it, not a clock.
	for i := 0; unsent() != 0; i++ {
		if i > 10000 {
			t.Fatalf("Unsent: %d after the peer read everything", unsent())
		}
		runtime.Gosched()
	}
}

// TestWrap: crypto/tls over a wrapped connection handshakes and carries
// records both ways, its deadlines are the connection's, a peer's close is
// io.EOF through it, the wrapper does not offer its socket, and what is not
// a TCP connection is returned as it is.
func TestWrap(t *testing.T) {
	server, client := tcpPair(t)
	w := Wrap(server)
	if _, ok := w.(*wrapped); !ok {
		t.Fatalf("Wrap(%T) = %T", server, w)
	}
	if _, ok := w.(syscall.Conn); ok {
		t.Fatal("the wrapper offers its socket")
	}
	cert := testkit.SelfSigned(t)
	ts := tls.Server(w, &tls.Config{Certificates: []tls.Certificate{cert}})
	tc := tls.Client(client, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // G402: a test's own certificate
	done := make(chan error, 1)
	go func() {
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(tc, buf); err != nil {
			done <- err
			return
		}
		_, err := tc.Write(bytes.ToUpper(buf))
		done <- err
	}()
	if err := ts.Handshake(); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(ts, buf); err != nil || string(buf) != "HELLO" {
		t.Fatalf("read %q: %v", buf, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = w.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := w.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	_ = w.SetReadDeadline(time.Time{})
	_ = client.Close()
	if _, err := w.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the peer's close: %v", err)
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if Wrap(p1) != p1 {
		t.Fatal("a pipe was wrapped")
	}
}

// TestWrapCloseWrite checks that the wrapper half-closes as its connection
// does: the peer reads EOF, and can still write back through the wrapper.
func TestWrapCloseWrite(t *testing.T) {
	server, client := tcpPair(t)
	w := Wrap(client)
	cw, ok := w.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("the wrapper has no CloseWrite")
	}
	if _, err := w.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = server.SetDeadline(time.Now().Add(20 * time.Second)) // a guard against a hang
	if b, err := io.ReadAll(server); err != nil || string(b) != "last" {
		t.Fatalf("the peer read %q, %v; want \"last\" then EOF", b, err)
	}
	if _, err := server.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	_ = w.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(w, buf); err != nil || string(buf) != "back" {
		t.Fatalf("after CloseWrite the wrapper read %q, %v", buf, err)
	}
}
