//go:build linux

package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testkit"
)

// parkServer serves /park with a handler that makes a Park, hands it to the
// test (parks) and waits on it (its Wait results on waited), and anything else
// with "plain".
type parkServer struct {
	addr   string
	srv    *Server
	parks  chan parked
	waited chan bool
	client *tls.Config // the clients' TLS, over TLS; nil for plain
}

// transport is what a test's clients speak to its server.
type transport int

const (
	plain transport = iota
	overTLS
)

// overBoth runs f over plain TCP and over TLS.
func overBoth(t *testing.T, f func(t *testing.T, tr transport)) {
	t.Run("plain", func(t *testing.T) { f(t, plain) })
	t.Run("tls", func(t *testing.T) { f(t, overTLS) })
}

// parked is a parked handler's writer and Park; nil p when NewPark refused.
type parked struct {
	w    http.ResponseWriter
	p    *Park
	done chan struct{} // closed once answer has returned
}

func startPark(t *testing.T, tr transport, o Options) *parkServer {
	t.Helper()
	ps := &parkServer{parks: make(chan parked, 4), waited: make(chan bool, 4)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/park" {
			_, _ = io.WriteString(w, "plain")
			return
		}
		p := NewPark(w)
		done := make(chan struct{})
		ps.parks <- parked{w, p, done}
		if p == nil {
			_, _ = io.WriteString(w, "no park")
			return
		}
		readable := p.Wait()
		for !readable && !p.answered.Load() {
			readable = p.Wait() // woken with nothing answered: the test's Wake
		}
		<-done // the answer's writer is done with w (the client may have it sooner)
		ps.waited <- readable
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tr == overTLS {
		cert := testkit.SelfSigned(t)
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		ps.client = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test's own certificate
	}
	ps.srv = New(h, o)
	done := make(chan error, 1)
	go func() { done <- ps.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = ps.srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	ps.addr = ln.Addr().String()
	return ps
}

// answer writes body as w's answer from the calling goroutine and says so.
func answer(pk parked, body string) {
	pk.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = io.WriteString(pk.w, body)
	pk.w.(http.Flusher).Flush()
	pk.p.Answered()
	close(pk.done)
}

// answered answers pk with body from another goroutine and checks that the
// client c reads it.
func answered(t *testing.T, c *parkClient, pk parked, body string) {
	t.Helper()
	go answer(pk, body)
	if got := c.read(t); got != body {
		t.Fatalf("answer: %q, want %q", got, body)
	}
}

// parkOne starts a server with o, sends /park on a new connection and returns
// the parked handler.
func parkOne(t *testing.T, tr transport, o Options) (*parkServer, *parkClient, parked) {
	t.Helper()
	ps := startPark(t, tr, o)
	c := ps.dial(t)
	c.get(t, "/park", "")
	return ps, c, <-ps.parks
}

// endsIdle checks that the parked handler returned without its client
// sending, and that the server closed the connection.
func endsIdle(t *testing.T, ps *parkServer, c *parkClient) {
	t.Helper()
	if <-ps.waited {
		t.Fatal("readable, with the client idle")
	}
	if _, err := c.br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("the connection was not closed: %v", err)
	}
}

type parkClient struct {
	net.Conn
	br *bufio.Reader
}

// dial connects a client to ps, over TLS when ps speaks it.
func (ps *parkServer) dial(t *testing.T) *parkClient {
	t.Helper()
	var c net.Conn
	var err error
	if ps.client != nil {
		c, err = tls.Dial("tcp", ps.addr, ps.client)
	} else {
		c, err = net.Dial("tcp", ps.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // a guard against a hang
	return &parkClient{c, bufio.NewReader(c)}
}

func (c *parkClient) get(t *testing.T, path, extra string) {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n"+extra+"\r\n"); err != nil {
		t.Fatal(err)
	}
}

func (c *parkClient) read(t *testing.T) string {
	t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading an answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParkAnsweredFromAnotherGoroutine checks Park's path: the answer written
// by another goroutine reaches the client while the handler stays parked; the
// client's next request wakes it, and that request is served on the same
// connection.
func TestParkAnsweredFromAnotherGoroutine(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps := startPark(t, tr, Options{IdleTimeout: time.Minute})
		c := ps.dial(t)
		for i := range 3 {
			c.get(t, "/park", "")
			if i > 0 && !<-ps.waited {
				t.Fatalf("call %d: the last handler's wait ended, but not readable", i)
			}
			pk := <-ps.parks
			if pk.p == nil {
				t.Fatal("NewPark refused a plain keep-alive request")
			}
			answered(t, c, pk, "answer "+strconv.Itoa(i))
			select {
			case r := <-ps.waited:
				t.Fatalf("the handler woke before its client sent again (call %d, readable %v)", i, r)
			default:
			}
		}
		c.get(t, "/plain", "")
		if !<-ps.waited {
			t.Fatal("the handler's wait ended, but not readable")
		}
		if got := c.read(t); got != "plain" {
			t.Fatalf("the next request on the connection: %q", got)
		}
	})
}

// TestParkWake checks that Wake ends a Wait, also one not begun yet (then the
// next Wait returns at once), and that the connection is the server's again
// after the handler returns: a Wake then leaves it alone.
func TestParkWake(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps, c, pk := parkOne(t, tr, Options{IdleTimeout: time.Minute})
		pk.p.Wake() // before, or during, the handler's Wait: it loops on it
		answered(t, c, pk, "woken")
		<-pk.done   // Answered has returned (the client may have its answer sooner)
		pk.p.Wake() // the handler is parked and answered: it returns
		if <-ps.waited {
			t.Fatal("a Wake reported readable")
		}
		pk.p.Wake() // after the handler: nothing
		c.get(t, "/plain", "")
		if got := c.read(t); got != "plain" {
			t.Fatalf("after the handler: %q", got)
		}
	})
}

// TestNewParkRefuses checks the requests NewPark gives no Park: a pipelined
// one (its successor is buffered, no readiness would come) and one whose
// connection closes after it.
func TestNewParkRefuses(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps := startPark(t, tr, Options{IdleTimeout: time.Minute})
		c := ps.dial(t)
		if _, err := io.WriteString(c, "GET /park HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if pk := <-ps.parks; pk.p != nil {
			t.Fatal("a Park for a request with the next one buffered")
		}
		if got := c.read(t); got != "no park" {
			t.Fatalf("pipelined: %q", got)
		}
		if got := c.read(t); got != "plain" {
			t.Fatalf("pipelined second: %q", got)
		}
		c.get(t, "/park", "Connection: close\r\n")
		if pk := <-ps.parks; pk.p != nil {
			t.Fatal("a Park for a request whose connection closes after it")
		}
		if got := c.read(t); got != "no park" {
			t.Fatalf("closing: %q", got)
		}
	})
}

// TestParkAnsweredWithin checks AnsweredWithin: the parked handler returns
// soon after its answer although the client sends nothing and the idle
// timeout is an hour away, and the connection stays open for the client's
// next request.
func TestParkAnsweredWithin(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps, c, pk := parkOne(t, tr, Options{IdleTimeout: time.Hour})
		go func() {
			pk.w.Header().Set("Content-Length", "6")
			_, _ = io.WriteString(pk.w, "within")
			pk.w.(http.Flusher).Flush()
			pk.p.AnsweredWithin(time.Millisecond)
			close(pk.done)
		}()
		if got := c.read(t); got != "within" {
			t.Fatalf("answer: %q", got)
		}
		if <-ps.waited { // without the bound, an hour: the test would time out
			t.Fatal("readable, with the client idle")
		}
		c.get(t, "/plain", "")
		if got := c.read(t); got != "plain" {
			t.Fatalf("the next request on the connection: %q", got)
		}
	})
}

// TestParkAnsweredEndsAtIdleTimeout checks that a parked handler whose client
// keeps the connection idle after its answer returns at the idle timeout, and
// the connection is closed as an idle one would be.
func TestParkAnsweredEndsAtIdleTimeout(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps, c, pk := parkOne(t, tr, Options{IdleTimeout: 20 * time.Millisecond})
		answered(t, c, pk, "idle")
		endsIdle(t, ps, c)
	})
}

// TestShutdownWakesAnsweredPark checks that Shutdown does not wait for the
// client of a parked, answered handler: the handler returns, the connection
// closes, and Shutdown returns.
func TestShutdownWakesAnsweredPark(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps, c, pk := parkOne(t, tr, Options{IdleTimeout: time.Hour})
		answered(t, c, pk, "bye")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a guard against a hang
		defer cancel()
		if err := ps.srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown waited for the parked handler's client: %v", err)
		}
		endsIdle(t, ps, c)
	})
}

// TestParkReady checks Ready: true on a connection with nothing unsent or
// unacknowledged.
func TestParkReady(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps, c, pk := parkOne(t, tr, Options{IdleTimeout: time.Minute})
		if !pk.p.Ready() {
			t.Fatal("not Ready on a quiet connection")
		}
		answered(t, c, pk, "ok")
		c.get(t, "/plain", "")
		<-ps.waited
		_ = c.read(t)
	})
}

// TestNewParkRefusesWhatTLSHolds checks that a request whose successor came in
// the same read as its own record gets no Park over TLS: crypto/tls holds the
// next record, undecrypted, where neither the server's reader nor the socket's
// readiness shows it. Both requests are answered.
func TestNewParkRefusesWhatTLSHolds(t *testing.T) {
	ps := startPark(t, overTLS, Options{IdleTimeout: time.Minute})
	raw, err := net.Dial("tcp", ps.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	_ = raw.SetDeadline(time.Now().Add(20 * time.Second)) // a guard against a hang
	hc := &testkit.HeldConn{Conn: raw}
	tc := tls.Client(hc, ps.client)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	hc.Hold = true
	for _, path := range []string{"/park", "/plain"} { // a record each
		if _, err := io.WriteString(tc, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := hc.Flush(); err != nil {
		t.Fatal(err)
	}
	if pk := <-ps.parks; pk.p != nil {
		go answer(pk, "parked")
		t.Fatal("a Park for a request whose successor crypto/tls holds")
	}
	c := &parkClient{tc, bufio.NewReader(tc)}
	if got := c.read(t); got != "no park" {
		t.Fatalf("first: %q", got)
	}
	if got := c.read(t); got != "plain" {
		t.Fatalf("second: %q", got)
	}
}

// TestTLSRequests checks what a handler sees of a TLS connection: r.TLS with
// the connection's state, on every request of a keep-alive connection.
func TestTLSRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert := testkit.SelfSigned(t)
	srv := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || !r.TLS.HandshakeComplete {
			_, _ = io.WriteString(w, "no TLS state")
			return
		}
		_, _ = io.WriteString(w, tls.VersionName(r.TLS.Version)+" "+r.TLS.ServerName)
	}), Options{IdleTimeout: time.Minute})
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}))
	}()
	defer func() {
		_ = srv.Close()
		<-done
	}()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}}} //nolint:gosec // the test's own certificate
	defer client.CloseIdleConnections()
	for i := range 2 {
		resp, err := client.Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.ProtoMajor != 1 || string(b) != "TLS 1.3 localhost" {
			t.Fatalf("request %d: %s %q", i, resp.Proto, b)
		}
	}
	// A client that chose h2 is not served HTTP/1.1: its connection closes.
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // the test's own certificate
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("an h2 connection was served")
	}
}
