package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testkit"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The tests here drive the server with hostile or broken clients. None of
// them waits for a clock: a timeout under test is short, and the test waits
// for what it causes (a GOAWAY, a closed connection, a handler's return),
// with guard, below, and the client connection's 10 s deadline so that a
// failure cannot hang.

// guard is how long a test waits for an outcome before it fails.
const guard = 10 * time.Second

// recv returns what ch brings, failing the test after guard.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("no %s within %v", what, guard)
		panic("unreachable")
	}
}

// rawConn is a client connection driven frame by frame. It keeps the flow
// control windows both ways: it sends no more than the server allows and
// fails the test when the server sends more than it allowed.
type rawConn struct {
	t    *testing.T
	c    *tls.Conn
	fr   *http2.Framer
	hbuf bytes.Buffer
	enc  *hpack.Encoder

	sendConn int64            // what the client may still send on the connection
	sendInit int64            // the server's SETTINGS_INITIAL_WINDOW_SIZE
	sendWin  map[uint32]int64 // what the client may still send on each stream
	recvConn int64            // what the server may still send on the connection
	recvInit int64            // the client's SETTINGS_INITIAL_WINDOW_SIZE
	recvWin  map[uint32]int64 // what the server may still send on each stream

	// replenish: DATA received is given back to the server's windows at once.
	replenish bool
	settings  map[http2.SettingID]uint32 // the server's
	streams   map[uint32]*rawStream
	goAway    *http2.GoAwayFrame
	pings     uint64
}

// rawStream is what the server sent on a stream.
type rawStream struct {
	status string // the final response's
	header []hpack.HeaderField
	body   []byte
	ended  bool // END_STREAM received
	reset  bool
	code   http2.ErrCode // the RST_STREAM's
}

// rawDial opens a raw connection to addr: the preface and an empty SETTINGS.
func rawDial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, fr := (&testServer{addr: addr}).dial(t)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	rc := &rawConn{t: t, c: c, fr: fr, sendConn: 65535, sendInit: 65535, sendWin: map[uint32]int64{},
		recvConn: 65535, recvInit: 65535, recvWin: map[uint32]int64{}, replenish: true,
		settings: map[http2.SettingID]uint32{}, streams: map[uint32]*rawStream{}}
	rc.enc = hpack.NewEncoder(&rc.hbuf)
	return rc
}

func (rc *rawConn) check(err error) {
	rc.t.Helper()
	if err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) stream(id uint32) *rawStream {
	s := rc.streams[id]
	if s == nil {
		s = &rawStream{}
		rc.streams[id] = s
	}
	return s
}

// setInitialWindow sends SETTINGS_INITIAL_WINDOW_SIZE.
func (rc *rawConn) setInitialWindow(n uint32) {
	rc.t.Helper()
	for id := range rc.recvWin {
		rc.recvWin[id] += int64(n) - rc.recvInit
	}
	rc.recvInit = int64(n)
	rc.check(rc.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: n}))
}

// grow sends WINDOW_UPDATE for stream id (0: the connection).
func (rc *rawConn) grow(id uint32, n uint32) {
	rc.t.Helper()
	if id == 0 {
		rc.recvConn += int64(n)
	} else {
		rc.recvWin[id] += int64(n)
	}
	rc.check(rc.fr.WriteWindowUpdate(id, n))
}

// request opens stream id with a request (fields are name, value pairs);
// end: it has no body.
func (rc *rawConn) request(id uint32, method, path string, end bool, fields ...string) {
	rc.t.Helper()
	rc.hbuf.Reset()
	enc := func(name, value string) {
		rc.check(rc.enc.WriteField(hpack.HeaderField{Name: name, Value: value}))
	}
	enc(":method", method)
	enc(":scheme", "https")
	enc(":authority", "localhost")
	enc(":path", path)
	for i := 0; i+1 < len(fields); i += 2 {
		enc(fields[i], fields[i+1])
	}
	block := rc.hbuf.Bytes()
	if len(block) > 16384 {
		rc.t.Fatalf("header block of %d bytes: one frame only", len(block))
	}
	rc.sendWin[id] = rc.sendInit
	rc.recvWin[id] = rc.recvInit
	rc.stream(id)
	rc.check(rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: end, EndHeaders: true}))
}

// block encodes a GET request's header block for path.
func (rc *rawConn) block(path string) []byte {
	rc.hbuf.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "localhost"}, {":path", path}} {
		rc.check(rc.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}))
	}
	return bytes.Clone(rc.hbuf.Bytes())
}

// reset sends RST_STREAM(CANCEL) for stream id.
func (rc *rawConn) reset(id uint32) {
	rc.t.Helper()
	rc.check(rc.fr.WriteRSTStream(id, http2.ErrCodeCancel))
}

// sendBody sends body on stream id within the server's windows, reading
// frames while it waits for them to grow.
func (rc *rawConn) sendBody(id uint32, body []byte, end bool) {
	rc.t.Helper()
	if len(body) == 0 {
		if end {
			rc.check(rc.fr.WriteData(id, true, nil))
		}
		return
	}
	for len(body) > 0 {
		n := int(min(int64(len(body)), 16384, rc.sendConn, rc.sendWin[id]))
		if n <= 0 {
			rc.next(fmt.Sprintf("the window to send stream %d's body", id))
			if s := rc.streams[id]; s.reset {
				rc.t.Fatalf("stream %d reset (%v) while its body was sent", id, s.code)
			}
			continue
		}
		rc.check(rc.fr.WriteData(id, end && n == len(body), body[:n]))
		rc.sendConn -= int64(n)
		rc.sendWin[id] -= int64(n)
		body = body[n:]
	}
}

// next reads a frame and keeps the windows and the streams' state; it fails
// the test (naming what it waited for) when the connection ends.
func (rc *rawConn) next(what string) http2.Frame {
	rc.t.Helper()
	f, err := rc.read()
	if err != nil {
		rc.t.Fatalf("waiting for %s: %v", what, err)
	}
	return f
}

// read reads a frame (see next), returning the connection's error.
func (rc *rawConn) read() (http2.Frame, error) {
	rc.t.Helper()
	f, err := rc.fr.ReadFrame()
	if err != nil {
		return nil, err
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			break
		}
		_ = f.ForeachSetting(func(s http2.Setting) error {
			rc.settings[s.ID] = s.Val
			if s.ID == http2.SettingInitialWindowSize {
				for id := range rc.sendWin {
					rc.sendWin[id] += int64(s.Val) - rc.sendInit
				}
				rc.sendInit = int64(s.Val)
			}
			return nil
		})
		rc.check(rc.fr.WriteSettingsAck())
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			rc.sendConn += int64(f.Increment)
		} else if _, ok := rc.sendWin[f.StreamID]; ok {
			rc.sendWin[f.StreamID] += int64(f.Increment)
		}
	case *http2.MetaHeadersFrame:
		s := rc.stream(f.StreamID)
		if st := f.PseudoValue("status"); st != "" && !strings.HasPrefix(st, "1") {
			s.status, s.header = st, f.RegularFields()
		}
		s.ended = s.ended || f.StreamEnded()
	case *http2.DataFrame:
		s := rc.stream(f.StreamID)
		n := int64(f.Length)
		if _, ok := rc.recvWin[f.StreamID]; !ok {
			rc.recvWin[f.StreamID] = rc.recvInit // a stream opened without request
		}
		rc.recvConn -= n
		rc.recvWin[f.StreamID] -= n
		if rc.recvConn < 0 || rc.recvWin[f.StreamID] < 0 {
			rc.t.Errorf("the server sent more than the windows allow on stream %d: connection %d, stream %d",
				f.StreamID, rc.recvConn, rc.recvWin[f.StreamID])
		}
		s.body = append(s.body, f.Data()...)
		s.ended = s.ended || f.StreamEnded()
		if rc.replenish && n > 0 {
			rc.grow(0, uint32(n))
			if !s.ended && !s.reset {
				rc.grow(f.StreamID, uint32(n))
			}
		}
	case *http2.RSTStreamFrame:
		s := rc.stream(f.StreamID)
		s.reset, s.code = true, f.ErrCode
	case *http2.GoAwayFrame:
		rc.goAway = f
	}
	return f, nil
}

// until reads frames until done reports true.
func (rc *rawConn) until(what string, done func() bool) {
	rc.t.Helper()
	for !done() {
		rc.next(what)
	}
}

// response reads frames until stream id ended or was reset.
func (rc *rawConn) response(id uint32) *rawStream {
	rc.t.Helper()
	s := rc.stream(id)
	rc.until(fmt.Sprintf("stream %d's response", id), func() bool { return s.ended || s.reset })
	return s
}

// ok reads stream id's response and checks it is a 200 with body want.
func (rc *rawConn) ok(id uint32, want string) {
	rc.t.Helper()
	s := rc.response(id)
	if s.reset || s.status != "200" || string(s.body) != want {
		rc.t.Fatalf("stream %d: status %q, body %q (reset %v, %v), want 200 %q", id, s.status, s.body, s.reset, s.code, want)
	}
}

// ping sends a PING and reads frames until its acknowledgement: the server
// has processed every frame sent before it.
func (rc *rawConn) ping() {
	rc.t.Helper()
	rc.pings++
	var data [8]byte
	copy(data[:], fmt.Sprintf("%08d", rc.pings))
	rc.check(rc.fr.WritePing(false, data))
	for {
		f := rc.next("the PING's acknowledgement")
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && p.Data == data {
			return
		}
		if rc.goAway != nil {
			rc.t.Fatalf("GOAWAY(%v) before the PING's acknowledgement", rc.goAway.ErrCode)
		}
	}
}

// waitGoAway reads frames until a GOAWAY.
func (rc *rawConn) waitGoAway() *http2.GoAwayFrame {
	rc.t.Helper()
	rc.until("GOAWAY", func() bool { return rc.goAway != nil })
	return rc.goAway
}

// waitClosed reads until the server closes the connection; the client's own
// deadline is a failure.
func (rc *rawConn) waitClosed() {
	rc.t.Helper()
	for {
		if _, err := rc.read(); err != nil {
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				rc.t.Fatalf("the server did not close the connection: %v", err)
			}
			return
		}
	}
}

// serveTLS starts a server on a TLS listener and returns it, its address,
// its certificate and what Serve returns. The server is closed, and Serve
// waited for, at the end of the test.
func serveTLS(t testing.TB, h http.Handler, opts Options) (*Server, string, tls.Certificate, <-chan error) {
	t.Helper()
	cert := testkit.SelfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	s := New(h, opts)
	served := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		served <- s.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		<-done
	})
	return s, ln.Addr().String(), cert, served
}

// A connection with no stream open is sent GOAWAY(NO_ERROR) and closed after
// IdleTimeout; one with a stream open is not.
func TestIdleTimeout(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			started <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "done")
	}), Options{IdleTimeout: time.Second}) // what a client may stall between its handshake and its request: on a loaded machine 200 ms was passed

	t.Run("idle connection", func(t *testing.T) {
		rc := rawDial(t, ts.addr)
		rc.request(1, "GET", "/", true)
		rc.ok(1, "done")
		if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeNo || ga.LastStreamID != 1 {
			t.Fatalf("GOAWAY %v, last stream %d; want NO_ERROR, 1", ga.ErrCode, ga.LastStreamID)
		}
		rc.waitClosed()
	})

	t.Run("stream open", func(t *testing.T) {
		rc := rawDial(t, ts.addr)
		rc.request(1, "GET", "/block", true)
		recv(t, started, "handler start")
		// A connection opened after the stream and left idle: once it is
		// closed, the first connection has had no frame for longer than the
		// idle timeout too.
		idle := rawDial(t, ts.addr)
		idle.waitGoAway()
		idle.waitClosed()
		rc.ping()
		close(release)
		rc.ok(1, "done")
		if rc.goAway != nil {
			t.Fatalf("GOAWAY(%v) while a stream was open", rc.goAway.ErrCode)
		}
		// Idle again once the stream is done.
		if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeNo {
			t.Fatalf("GOAWAY %v, want NO_ERROR", ga.ErrCode)
		}
		rc.waitClosed()
	})
}

// A connection that does not finish its TLS handshake, preface and first
// SETTINGS within ReadHeaderTimeout is closed.
func TestReadHeaderTimeout(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), Options{ReadHeaderTimeout: time.Second}) // time for a handshake under -race on a loaded machine

	for _, tc := range []struct {
		name string
		send string
	}{
		{"no preface", ""},
		{"half a preface", http2.ClientPreface[:10]},
		{"preface without SETTINGS", http2.ClientPreface},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", ts.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(guard))
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			// Whatever the server says (its SETTINGS, a GOAWAY), it must then
			// close the connection.
			_, err = io.Copy(io.Discard, c)
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				t.Fatalf("connection still open: %v", err)
			}
		})
	}

	t.Run("no TLS handshake", func(t *testing.T) {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(guard))
		_, err = io.Copy(io.Discard, c)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Fatalf("connection still open: %v", err)
		}
	})
}

// The header deadline ends with the handshake: without an idle timeout, a
// connection whose stream outlives ReadHeaderTimeout is not closed.
func TestReadHeaderTimeoutEndsWithHandshake(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "done")
	}), Options{ReadHeaderTimeout: time.Second, IdleTimeout: -1}) // time for a handshake under -race on a loaded machine
	rc := rawDial(t, ts.addr)
	rc.request(1, "GET", "/", true)
	recv(t, started, "handler start")
	// A connection that never sends its preface, opened later: once it is
	// closed, the first one's header timeout has passed too.
	late, err := tls.Dial("tcp", ts.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	_ = late.SetDeadline(time.Now().Add(guard))
	if _, err := io.Copy(io.Discard, late); err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Fatalf("connection without a preface still open: %v", err)
		}
	}
	rc.ping()
	close(release)
	rc.ok(1, "done")
	if rc.goAway != nil {
		t.Fatalf("GOAWAY(%v) while a stream was open", rc.goAway.ErrCode)
	}
}

// A header list over MaxHeaderBytes is answered with 431, and the connection
// goes on.
func TestHeaderListTooLarge(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok "+r.Header.Get("X-Small"))
	}), Options{MaxHeaderBytes: 1024})
	rc := rawDial(t, ts.addr)
	rc.until("the server's SETTINGS", func() bool { return len(rc.settings) > 0 })
	if got := rc.settings[http2.SettingMaxHeaderListSize]; got != 1024 {
		t.Fatalf("SETTINGS_MAX_HEADER_LIST_SIZE %d, want 1024", got)
	}
	// Each field within the limit, the list over it.
	var big []string
	for i := range 4 {
		big = append(big, fmt.Sprintf("x-big-%d", i), strings.Repeat("a", 300))
	}
	rc.request(1, "GET", "/", true, big...)
	s := rc.response(1)
	if s.status != "431" || string(s.body) != "431 Request Header Fields Too Large\n" {
		t.Fatalf("status %q, body %q; want 431", s.status, s.body)
	}
	// The connection (and its HPACK state) is still good.
	rc.request(3, "GET", "/", true, "x-small", "yes")
	rc.ok(3, "ok yes")
	rc.request(5, "POST", "/", false, big...)
	s = rc.response(5)
	if s.status != "431" {
		t.Fatalf("status %q with a body to come; want 431", s.status)
	}
	rc.request(7, "GET", "/", true, "x-small", "again")
	rc.ok(7, "ok again")
}

// With Options.Refuse, a header list over MaxHeaderBytes is answered by it,
// with status 431, in place of the plain text; the connection goes on.
func TestHeaderListTooLargeRefuse(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), Options{MaxHeaderBytes: 1024, Refuse: func(w http.ResponseWriter, r *http.Request, status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"message":"`+r.Method+` refused"}`)
	}})
	rc := rawDial(t, ts.addr)
	var big []string
	for i := range 4 {
		big = append(big, fmt.Sprintf("x-big-%d", i), strings.Repeat("a", 300))
	}
	rc.request(1, "GET", "/", true, big...)
	if s := rc.response(1); s.status != "431" || string(s.body) != `{"message":"GET refused"}` {
		t.Fatalf("status %q, body %q; want 431 from Refuse", s.status, s.body)
	}
	rc.request(3, "GET", "/", true)
	rc.ok(3, "ok")
}

// A header block spread over CONTINUATION frames is served while its list
// is within MaxHeaderBytes; one that goes on past it ends the connection
// before the client is done sending it.
func TestContinuationFlood(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, len(r.Header))
	}), Options{MaxHeaderBytes: 1024})
	// field encodes one header field, a fragment of its own.
	field := func(rc *rawConn, name, value string) []byte {
		rc.hbuf.Reset()
		rc.check(rc.enc.WriteField(hpack.HeaderField{Name: name, Value: value}))
		return bytes.Clone(rc.hbuf.Bytes())
	}

	rc := rawDial(t, ts.addr)
	rc.check(rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: rc.block("/"), EndStream: true}))
	for i := range 10 {
		rc.check(rc.fr.WriteContinuation(1, i == 9, field(rc, fmt.Sprintf("x-%d", i), "v")))
	}
	rc.ok(1, "10")

	rc = rawDial(t, ts.addr)
	rc.check(rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: rc.block("/"), EndStream: true}))
	for i := range 1000 {
		// Each field is new (a literal), and the list passes the limit by
		// the sixth; the server may be gone long before the thousandth.
		if rc.fr.WriteContinuation(1, false, field(rc, fmt.Sprintf("x-%d", i), strings.Repeat("v", 200))) != nil {
			break
		}
	}
	if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeProtocol {
		t.Fatalf("GOAWAY %v, want PROTOCOL_ERROR", ga.ErrCode)
	}
	rc.waitClosed()
}

// A header block over the list limit that goes on in CONTINUATION frames,
// each field within the limit (as clients split a large, incompressible
// header list), is answered 431 on its stream; the connection and its HPACK
// state go on.
func TestHeaderBlockOverLimitInContinuations(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok "+r.Header.Get("X-Small"))
	}), Options{MaxHeaderBytes: 1024})
	rc := rawDial(t, ts.addr)
	rc.check(rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: rc.block("/"), EndStream: true}))
	const n = 12 // fields of 200 bytes: the list passes 1024 by the fifth
	for i := range n {
		rc.hbuf.Reset()
		rc.check(rc.enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-%d", i), Value: strings.Repeat("v", 200)}))
		rc.check(rc.fr.WriteContinuation(1, i == n-1, bytes.Clone(rc.hbuf.Bytes())))
	}
	if s := rc.response(1); s.status != "431" {
		t.Fatalf("status %q, GOAWAY %v; want 431 on the stream", s.status, rc.goAway)
	}
	rc.request(3, "GET", "/", true, "x-small", "yes")
	rc.ok(3, "ok yes")
	if rc.goAway != nil {
		t.Fatalf("GOAWAY(%v)", rc.goAway.ErrCode)
	}
}

// A stream over MaxConcurrentStreams is refused; the others are served.
func TestTooManyConcurrentStreams(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			started <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}), Options{MaxConcurrentStreams: 2})
	rc := rawDial(t, ts.addr)
	rc.until("the server's SETTINGS", func() bool { return len(rc.settings) > 0 })
	if got := rc.settings[http2.SettingMaxConcurrentStreams]; got != 2 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want 2", got)
	}
	rc.request(1, "GET", "/block", true)
	rc.request(3, "GET", "/block", true)
	recv(t, started, "handler start")
	recv(t, started, "handler start")
	rc.request(5, "GET", "/", true)
	s := rc.response(5)
	if !s.reset || s.code != http2.ErrCodeRefusedStream && s.code != http2.ErrCodeProtocol {
		t.Fatalf("third stream: reset %v (%v), status %q; want REFUSED_STREAM or PROTOCOL_ERROR", s.reset, s.code, s.status)
	}
	close(release)
	rc.ok(1, "ok")
	rc.ok(3, "ok")
	// A stream is closed before its END_STREAM goes out: the next one, sent
	// as soon as both answers came, is served.
	rc.request(7, "GET", "/", true)
	rc.ok(7, "ok")
	if rc.goAway != nil {
		t.Fatalf("GOAWAY(%v)", rc.goAway.ErrCode)
	}
}

// handlerCount counts handlers running and remembers the most at once.
type handlerCount struct {
	now, max atomic.Int32
}

func (hc *handlerCount) enter() {
	n := hc.now.Add(1)
	for {
		m := hc.max.Load()
		if n <= m || hc.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (hc *handlerCount) exit() { hc.now.Add(-1) }

// Streams opened and reset at once never run more than MaxConcurrentStreams
// handlers at a time, and a client that piles them up behind handlers that
// keep running is told to calm down.
func TestRapidReset(t *testing.T) {
	const limit = 4

	t.Run("handlers that end with their context", func(t *testing.T) {
		var count handlerCount
		var first sync.Once
		entered := make(chan struct{})
		ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/ok" {
				_, _ = io.WriteString(w, "ok")
				return
			}
			count.enter()
			defer count.exit()
			first.Do(func() { close(entered) })
			<-r.Context().Done()
		}), Options{MaxConcurrentStreams: limit})
		rc := rawDial(t, ts.addr)
		id := uint32(1)
		for range 50 * limit {
			if rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rc.block("/"), EndStream: true, EndHeaders: true}) != nil ||
				rc.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				break // the server may be gone already
			}
			id += 2
		}
		// The reset streams' handlers may outlive the pile (then GOAWAY
		// ENHANCE_YOUR_CALM), or not (then the connection is still good).
		_ = rc.fr.WritePing(false, [8]byte{})
		for rc.goAway == nil {
			if p, ok := rc.next("the PING's acknowledgement or GOAWAY").(*http2.PingFrame); ok && p.IsAck() {
				break
			}
		}
		if ga := rc.goAway; ga != nil && ga.ErrCode != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("GOAWAY %v", ga.ErrCode)
		}
		// Handlers run on their own goroutines: the first may start after
		// the PING was answered.
		select {
		case <-entered:
		case <-time.After(10 * time.Second): // a guard, not a timing
			t.Fatal("no handler ran")
		}
		if m := count.max.Load(); m > limit {
			t.Fatalf("%d handlers ran at once, want at most %d", m, limit)
		}
		if rc.goAway == nil {
			rc.request(id, "GET", "/ok", true)
			rc.ok(id, "ok")
		}
		t.Logf("at most %d handlers at once, GOAWAY %v", count.max.Load(), rc.goAway != nil)
		if m := count.max.Load(); m > limit {
			t.Fatalf("%d handlers ran at once, want at most %d", m, limit)
		}
	})

	// Streams reset while their handlers, which ignore their context, go on:
	// by the client, or by the server on the client's provocation (a stream
	// window overflowed, as in "MadeYouReset").
	for _, tc := range []struct {
		name  string
		reset func(rc *rawConn, id uint32) error
	}{
		{"client resets", func(rc *rawConn, id uint32) error { return rc.fr.WriteRSTStream(id, http2.ErrCodeCancel) }},
		{"server resets", func(rc *rawConn, id uint32) error { return rc.fr.WriteWindowUpdate(id, 1<<31-1) }},
	} {
		t.Run("handlers that ignore their context, "+tc.name, func(t *testing.T) {
			var count handlerCount
			release := make(chan struct{})
			started := make(chan struct{}, limit)
			ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				count.enter()
				defer count.exit()
				select {
				case started <- struct{}{}:
				default:
				}
				<-release
			}), Options{MaxConcurrentStreams: limit})
			defer close(release)
			rc := rawDial(t, ts.addr)
			id := uint32(1)
			for range limit {
				rc.request(id, "GET", "/", true)
				id += 2
			}
			for range limit {
				recv(t, started, "handler start")
			}
			for i := uint32(1); i < id; i += 2 {
				rc.check(tc.reset(rc, i))
			}
			// Every stream is reset, every handler still runs: what comes
			// now queues, and a pile of more than 4x the limit is too many.
			for range 4*limit + 4 {
				if rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rc.block("/"), EndStream: true, EndHeaders: true}) != nil ||
					tc.reset(rc, id) != nil {
					break // the server may be gone already
				}
				id += 2
			}
			if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeEnhanceYourCalm {
				t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", ga.ErrCode)
			}
			rc.waitClosed()
			if m := count.max.Load(); m != limit {
				t.Fatalf("%d handlers ran at once, want %d", m, limit)
			}
		})
	}
}

// A body the handler does not read gives its connection window back, whether
// the client was still sending it (then the stream is reset with NO_ERROR)
// or had sent all of it.
func TestUnreadBodyReturnsWindow(t *testing.T) {
	proceed := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ignore":
			<-proceed
			_, _ = io.WriteString(w, "ignored")
		case "/read":
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = fmt.Fprint(w, n)
		}
	}), Options{})
	rc := rawDial(t, ts.addr)
	half := bytes.Repeat([]byte("x"), connWindow/2)
	rc.request(1, "POST", "/ignore", false)
	rc.sendBody(1, half, false)
	rc.request(3, "POST", "/ignore", false)
	rc.sendBody(3, half, true)
	rc.ping() // the server has both bodies, the whole connection window
	close(proceed)
	rc.ok(1, "ignored")
	s := rc.stream(1)
	rc.until("RST_STREAM on stream 1", func() bool { return s.reset })
	if s.code != http2.ErrCodeNo {
		t.Fatalf("stream 1 reset with %v, want NO_ERROR", s.code)
	}
	rc.ok(3, "ignored")
	if rc.stream(3).reset {
		t.Fatal("stream 3, whose body had ended, was reset")
	}
	rc.until("the whole connection window back", func() bool { return rc.sendConn == connWindow })
	body := bytes.Repeat([]byte("y"), connWindow+connWindow/2)
	rc.request(5, "POST", "/read", false)
	rc.sendBody(5, body, true)
	rc.ok(5, fmt.Sprint(len(body)))
}

// DATA a client sends on a stream after its own RST_STREAM is a stream error
// STREAM_CLOSED (RFC 9113 5.1, "closed"), also when the server had reset the
// stream first (its handler answered without reading the body): the frames
// the server ignores after its own reset are those the client sent before it
// learnt of it, and a client that then reset the stream knew it was closed.
// h2spec's "closed: Sends a DATA frame after sending RST_STREAM frame" saw the
// DATA ignored whenever the handler's answer beat the client's reset.
func TestDataAfterTheClientsResetIsStreamClosed(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "early")
	}), Options{})
	rc := rawDial(t, ts.addr)
	rc.request(1, "POST", "/", false)
	rc.ok(1, "early")
	s := rc.stream(1)
	rc.until("RST_STREAM on stream 1", func() bool { return s.reset })
	rc.check(rc.fr.WriteData(1, false, []byte("as if in flight when the server reset the stream")))
	rc.ping()
	if s.code != http2.ErrCodeNo {
		t.Fatalf("DATA that may have been in flight at the server's reset answered with %v", s.code)
	}
	rc.reset(1)
	rc.check(rc.fr.WriteData(1, true, []byte("test")))
	rc.ping() // the server answers the DATA before the PING
	if s.code != http2.ErrCodeStreamClosed {
		t.Fatalf("DATA after the client's own RST_STREAM: stream 1's last reset %v, want STREAM_CLOSED", s.code)
	}
}

// TestDataAfterTheClientsResetOfAnAbortedHandler: the client resets a stream
// whose handler then aborts (as a proxy does once its request's context ends,
// panicking with http.ErrAbortHandler) before the reader comes to the DATA the
// client sent after its RST_STREAM: that DATA is still a stream error
// STREAM_CLOSED (h2spec 5.1, "closed: Sends a DATA frame after sending
// RST_STREAM frame"), not DATA in flight at a reset of the server's to ignore.
func TestDataAfterTheClientsResetOfAnAbortedHandler(t *testing.T) {
	started := make(chan struct{}, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		panic(http.ErrAbortHandler)
	}), Options{})
	done := make(chan uint32, 1)
	hook := func(s *Server, id uint32) {
		if s == ts.srv { // not a stream an earlier test's server is still ending
			done <- id
		}
	}
	testHookStreamDone.Store(&hook)
	t.Cleanup(func() { testHookStreamDone.Store(nil) })
	rc := rawDial(t, ts.addr)
	rc.request(1, "POST", "/", false)
	recv(t, started, "the handler's start")
	rc.reset(1)
	if id := recv(t, done, "the aborted handler's end"); id != 1 {
		t.Fatalf("stream %d ended, want 1", id)
	}
	rc.check(rc.fr.WriteData(1, true, []byte("test")))
	rc.ping() // the server answers the DATA before the PING
	if s := rc.stream(1); !s.reset || s.code != http2.ErrCodeStreamClosed {
		t.Fatalf("DATA after the client's own RST_STREAM, its handler aborted: reset %v with %v, want STREAM_CLOSED", s.reset, s.code)
	}
}

// largeBody is a response body whose bytes depend on their position.
func largeBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i ^ i>>8 ^ i>>16)
	}
	return b
}

// A response keeps to the client's windows; a Write waiting for a window
// that never comes returns when the client resets the stream.
func TestResponseFlowControl(t *testing.T) {
	want := largeBody(300 << 10)
	wrote := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for p := want; len(p) > 0; p = p[100<<10:] {
			if _, err := w.Write(p[:100<<10]); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}), Options{})

	t.Run("window grown", func(t *testing.T) {
		rc := rawDial(t, ts.addr)
		rc.replenish = false
		rc.setInitialWindow(100)
		rc.request(1, "GET", "/", true)
		s := rc.stream(1)
		rc.until("the first 100 bytes", func() bool { return len(s.body) >= 100 })
		rc.ping() // anything more would have come by now
		if len(s.body) != 100 || s.ended {
			t.Fatalf("%d bytes (ended %v) within a window of 100", len(s.body), s.ended)
		}
		rc.grow(1, 1<<20)
		rc.grow(0, 1<<20)
		rc.response(1)
		if s.reset || !bytes.Equal(s.body, want) {
			t.Fatalf("%d bytes (reset %v), want %d", len(s.body), s.reset, len(want))
		}
		if err := recv(t, wrote, "handler's return"); err != nil {
			t.Fatal(err)
		}
	})

	for _, tc := range []struct {
		name   string
		window uint32 // SETTINGS_INITIAL_WINDOW_SIZE
		first  int    // what the server may send
	}{
		{"stream window never grown", 100, 100},
		{"connection window never grown", 1 << 20, 65535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := rawDial(t, ts.addr)
			rc.replenish = false
			rc.setInitialWindow(tc.window)
			rc.request(1, "GET", "/", true)
			s := rc.stream(1)
			rc.until("the window's bytes", func() bool { return len(s.body) >= tc.first })
			rc.reset(1)
			if err := recv(t, wrote, "handler's return"); err == nil {
				t.Fatal("Write returned no error after the stream was reset")
			}
			// The connection still serves.
			rc.grow(0, 1<<20)
			rc.replenish = true
			rc.setInitialWindow(1 << 20)
			rc.request(3, "GET", "/", true)
			rc.ok(3, string(want))
			recv(t, wrote, "handler's return")
		})
	}
}

// Close ends the handlers' contexts, the Write of one blocked on flow
// control, and Serve.
func TestCloseEndsHandlers(t *testing.T) {
	started := make(chan struct{}, 2)
	ended := make(chan error, 3)
	wrote := make(chan error, 1)
	srv, addr, _, served := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/write" {
			// Blocked on the client's window of 100 bytes.
			_, err := w.Write(largeBody(1 << 20))
			wrote <- err
		} else {
			started <- struct{}{}
		}
		<-r.Context().Done()
		ended <- r.Context().Err()
	}), Options{})
	rc := rawDial(t, addr)
	rc.replenish = false
	rc.setInitialWindow(100)
	rc.request(1, "GET", "/", true)
	rc.request(3, "POST", "/", false)
	rc.request(5, "GET", "/write", true)
	recv(t, started, "handler start")
	recv(t, started, "handler start")
	rc.until("stream 5's first bytes", func() bool { return len(rc.stream(5).body) == 100 })
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	if err := recv(t, wrote, "the blocked Write's return"); err == nil {
		t.Error("the blocked Write returned no error")
	}
	for range 3 {
		if err := recv(t, ended, "handler's end"); !errors.Is(err, context.Canceled) {
			t.Errorf("handler's context ended with %v", err)
		}
	}
	if err := recv(t, closed, "Close's return"); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, served, "Serve's return"); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v, want http.ErrServerClosed", err)
	}
	rc.waitClosed()
}

// Shutdown sends GOAWAY and, when its context ends first, closes: the
// handlers' contexts end.
func TestShutdownDeadlineEndsHandlers(t *testing.T) {
	started := make(chan struct{}, 1)
	ended := make(chan error, 1)
	srv, addr, _, served := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		ended <- r.Context().Err()
	}), Options{})
	rc := rawDial(t, addr)
	rc.request(1, "GET", "/", true)
	recv(t, started, "handler start")
	ctx, cancel := context.WithCancel(context.Background())
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeNo || ga.LastStreamID != 1 {
		t.Fatalf("GOAWAY %v, last stream %d; want NO_ERROR, 1", ga.ErrCode, ga.LastStreamID)
	}
	cancel()
	if err := recv(t, shut, "Shutdown's return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown returned %v, want context.Canceled", err)
	}
	if err := recv(t, ended, "handler's end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler's context: %v", err)
	}
	if err := recv(t, served, "Serve's return"); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v, want http.ErrServerClosed", err)
	}
	rc.waitClosed()
}

// Shutdown keeps to its deadline when a connection cannot take its GOAWAY:
// a client that reads nothing, one that never does its TLS handshake.
func TestShutdownDeadlineWithStuckClients(t *testing.T) {
	t.Run("client reads nothing", func(t *testing.T) {
		srv := New(http.NotFoundHandler(), Options{})
		defer srv.Close()
		c := newScriptConn([]byte(http2.ClientPreface))
		c.stall = true
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.ServeConn(c)
		}()
		recv(t, c.stalled, "the server's first write")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(ctx) }()
		if err := recv(t, shut, "Shutdown's return"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Shutdown returned %v, want context.Canceled", err)
		}
		recv(t, served, "ServeConn's return")
	})

	t.Run("no TLS handshake", func(t *testing.T) {
		accepted := make(chan struct{}, 1)
		srv, addr, _, served := serveTLS(t, http.NotFoundHandler(), Options{ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			accepted <- struct{}{}
			return ctx
		}})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		recv(t, accepted, "the connection's acceptance")
		// ConnContext runs just before the server registers the connection;
		// a Shutdown between the two refuses it and has nothing to wait for.
		for srv.Open() == 0 {
			runtime.Gosched()
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(ctx) }()
		if err := recv(t, shut, "Shutdown's return"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Shutdown returned %v, want context.Canceled", err)
		}
		if err := recv(t, served, "Serve's return"); !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
}

// A read deadline set with http.ResponseController ends a body Read that
// waits for bytes with os.ErrDeadlineExceeded, and can be lifted.
func TestBodyReadDeadline(t *testing.T) {
	read := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctl := http.NewResponseController(w)
		at := time.Now().Add(-time.Second)
		if r.URL.Path == "/soon" {
			at = time.Now().Add(50 * time.Millisecond)
		}
		if err := ctl.SetReadDeadline(at); err != nil {
			read <- err
			return
		}
		_, err := r.Body.Read(make([]byte, 10))
		read <- err
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		// The deadline lifted, the body reads again.
		if err := ctl.SetReadDeadline(time.Time{}); err != nil {
			return
		}
		w.WriteHeader(http.StatusOK)
		_ = ctl.Flush()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		_, _ = w.Write(b)
	}), Options{})
	for _, path := range []string{"/past", "/soon"} {
		t.Run(path, func(t *testing.T) {
			rc := rawDial(t, ts.addr)
			rc.request(1, "POST", path, false)
			if err := recv(t, read, "handler's Read"); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read returned %v, want os.ErrDeadlineExceeded", err)
			}
			s := rc.stream(1)
			rc.until("the response's head", func() bool { return s.status != "" || s.reset })
			rc.sendBody(1, []byte("late body"), true)
			rc.ok(1, "late body")
		})
	}
}

// A client that takes nothing is cut off after WriteTimeout, and the
// handler's Write fails.
func TestWriteTimeout(t *testing.T) {
	wrote := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := largeBody(1 << 20)
		for range 1 << 10 {
			if _, err := w.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}), Options{WriteTimeout: 200 * time.Millisecond})
	rc := rawDial(t, ts.addr)
	rc.setInitialWindow(1<<31 - 1)
	rc.grow(0, 1<<31-1-65535)
	rc.request(1, "GET", "/", true)
	if err := recv(t, wrote, "handler's return"); err == nil {
		t.Fatal("1 GB written to a client that reads nothing")
	}
	rc.replenish = false
	rc.waitClosed()
}

// A client that gives a stream no flow-control window for WriteTimeout (here
// SETTINGS_INITIAL_WINDOW_SIZE 0 and no WINDOW_UPDATE) has its streams reset
// with RST_STREAM(INTERNAL_ERROR), as net/http's WriteTimeout does; the
// handlers' writes fail and they return; and the connection, left without a
// stream, gets GOAWAY and closes after its idle timeout.
func TestWindowStallTimeout(t *testing.T) {
	const streams = 20
	wrote := make(chan error, streams)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flush" {
			// A handler that writes a body of its own, as a proxy does.
			_, err := w.Write(largeBody(64 << 10))
			wrote <- err
			return
		}
		// A small body held until the handler returns (a MOCK route's).
		_, _ = io.WriteString(w, "mock")
		wrote <- nil
	}), Options{WriteTimeout: 200 * time.Millisecond, IdleTimeout: time.Second}) // the idle timeout is the time to send the requests
	rc := rawDial(t, ts.addr)
	rc.replenish = false
	rc.setInitialWindow(0)
	for i := range streams {
		path := "/mock"
		if i%2 == 1 {
			path = "/flush"
		}
		rc.request(uint32(2*i+1), "GET", path, true)
	}
	for range streams {
		err := recv(t, wrote, "a handler's return")
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a stalled handler's Write: %v, want a deadline error", err)
		}
	}
	for i := range streams {
		id := uint32(2*i + 1)
		s := rc.stream(id)
		rc.until(fmt.Sprintf("stream %d's RST_STREAM", id), func() bool { return s.reset })
		if s.code != http2.ErrCodeInternal || s.status != "200" || len(s.body) > 0 {
			t.Errorf("stream %d: %v, status %q, body %d bytes; want its head, then INTERNAL_ERROR", id, s.code, s.status, len(s.body))
		}
	}
	if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeNo {
		t.Fatalf("GOAWAY %v, want NO_ERROR", ga.ErrCode)
	}
	rc.waitClosed()
}

// A header block left unfinished (HEADERS without END_HEADERS, then silence
// or CONTINUATION frames that trickle in) ends the connection after
// ReadHeaderTimeout, even while another stream is open (no idle timeout
// runs).
func TestUnfinishedHeaderBlock(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	started := make(chan struct{}, 2)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}), Options{ReadHeaderTimeout: time.Second, IdleTimeout: -1}) // time for a handshake under -race on a loaded machine

	for _, tc := range []struct {
		name  string
		trick bool // CONTINUATION frames of one byte each keep coming
	}{
		{"silence", false},
		{"trickle", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := rawDial(t, ts.addr)
			rc.request(1, "GET", "/", true)
			recv(t, started, "handler start")
			// The server's SETTINGS are acknowledged now: the client writes
			// nothing else in the middle of the block.
			rc.ping()
			rc.check(rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: rc.block("/")}))
			if tc.trick {
				rc.hbuf.Reset()
				rc.check(rc.enc.WriteField(hpack.HeaderField{Name: "x-slow", Value: strings.Repeat("v", 1000)}))
				field := bytes.Clone(rc.hbuf.Bytes())
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for _, b := range field {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						if rc.fr.WriteContinuation(3, false, []byte{b}) != nil {
							return
						}
					}
				}()
			}
			if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeNo || ga.LastStreamID != 1 {
				t.Fatalf("GOAWAY %v, last stream %d; want NO_ERROR, 1", ga.ErrCode, ga.LastStreamID)
			}
			rc.waitClosed()
		})
	}
}

// A header block of empty CONTINUATION frames (CVE-2024-27316) ends the
// connection with ENHANCE_YOUR_CALM, with no timeout needed.
func TestEmptyContinuationFlood(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), Options{})
	rc := rawDial(t, ts.addr)
	rc.ping() // the server's SETTINGS are acknowledged: nothing comes between the frames
	rc.check(rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: rc.block("/"), EndStream: true}))
	for range 10000 {
		if rc.fr.WriteContinuation(1, false, nil) != nil {
			break
		}
	}
	if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", ga.ErrCode)
	}
	rc.waitClosed()
}

// A request to an https or http URL with neither :authority nor host is
// malformed (RFC 9113 8.3.1): RST_STREAM(PROTOCOL_ERROR), as other malformed
// requests get; with either one it is served.
func TestMissingAuthority(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "host "+r.Host)
	}), Options{})
	rc := rawDial(t, ts.addr)
	send := func(id uint32, fields ...string) {
		rc.hbuf.Reset()
		for i := 0; i+1 < len(fields); i += 2 {
			rc.check(rc.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]}))
		}
		rc.recvWin[id] = rc.recvInit
		rc.check(rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: rc.hbuf.Bytes(), EndStream: true, EndHeaders: true}))
	}
	for i, scheme := range []string{"https", "http"} {
		id := uint32(4*i + 1)
		send(id, ":method", "GET", ":scheme", scheme, ":path", "/")
		if s := rc.response(id); !s.reset || s.code != http2.ErrCodeProtocol {
			t.Errorf("%s without :authority or host: status %q, reset %v (%v); want RST_STREAM(PROTOCOL_ERROR)", scheme, s.status, s.reset, s.code)
		}
		send(id+2, ":method", "GET", ":scheme", scheme, ":path", "/", "host", "example.com")
		rc.ok(id+2, "host example.com")
	}
	rc.request(9, "GET", "/", true)
	rc.ok(9, "host localhost")
}
