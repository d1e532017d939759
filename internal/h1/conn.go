package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "unsafe" // readRequest's linkname

	"golang.org/x/net/http/httpguts"

	"github.com/portico-dev/portico/internal/idlepoll"
)

// readRequest is net/http's request reader: http.ReadRequest without its last
// step, which deletes the Host header that the server's checks below need.
// net/http keeps it reachable by linkname on purpose (go.dev/issue/67401).
//
//go:linkname readRequest net/http.readRequest
func readRequest(b *bufio.Reader) (*http.Request, error)

const (
	readBufferSize  = 4 << 10
	writeBufferSize = 8 << 10
	// bodyBufferSize is how much of a response body is held back so that the
	// response can go out in one write with a Content-Length.
	bodyBufferSize = 4 << 10
	// maxPostHandlerReadBytes is how much of a request body the handler left
	// unread is discarded to keep the connection (net/http's figure).
	maxPostHandlerReadBytes = 256 << 10
	// headerSlack is read beyond MaxHeaderBytes before answering 431 (net/http's).
	headerSlack = 4096
	// rstAvoidanceDelay bounds how long a connection closed with unread input
	// waits for the client's close, so that the response is not lost to a reset.
	rstAvoidanceDelay = 500 * time.Millisecond
	// lingerTime and lingerBytes bound the lingering close of a connection
	// whose request body was left unread (an answer such as 413 to a body over
	// the handler's limit): after the response the connection is half-closed
	// and what the client still sends is read and dropped, for up to
	// lingerTime and lingerBytes, so that the client reads the answer instead
	// of a reset (nginx's lingering_close, which has no byte bound). The bytes
	// are more than the largest body limit a Portico listener sets (the
	// gateway's 10 MB payload; an invoke's 6 MB): a client over a limit by
	// less than that reads the answer however its reads and writes interleave.
	lingerTime  = 5 * time.Second
	lingerBytes = 16 << 20
)

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// outBuf is a response's buffers, pooled: they are held only while a request
// is served, not while its connection idles.
type outBuf struct {
	bw   *bufio.Writer
	body []byte // held response body
	hdr  []byte // the handler's header fields, serialized at WriteHeader
}

// Write appends to hdr (http.Header.WriteSubset's writer).
func (o *outBuf) Write(p []byte) (int, error) { o.hdr = append(o.hdr, p...); return len(p), nil }

// WriteString appends to hdr.
func (o *outBuf) WriteString(s string) (int, error) { o.hdr = append(o.hdr, s...); return len(s), nil }

var outPool = sync.Pool{New: func() any {
	return &outBuf{bw: bufio.NewWriterSize(nil, writeBufferSize), body: make([]byte, 0, bodyBufferSize), hdr: make([]byte, 0, 512)}
}}

// Connection states, for Shutdown and for dormant connections (dormant_linux.go).
const (
	stateIdle    int32 = iota // waiting for a request's first byte
	stateActive               // reading or serving a request
	stateClosed               // closed by Shutdown (or the sweep) while idle or dormant
	stateDozing               // idle, and told by the sweep to go dormant
	stateDormant              // idle without a goroutine: waiting in the idle poller
)

// conn is one client connection.
type conn struct {
	s   *Server
	rwc net.Conn
	// rw is what requests are read from and responses written to: rwc, or
	// its raw I/O (internal/rawio).
	rw         io.ReadWriter
	remoteAddr string
	// ip is the client address counted for Options.MaxConnsPerIP (zero when
	// not counted).
	ip netip.Addr
	// tls is a TLS connection's state, which its requests carry (r.TLS);
	// nil on a plain connection.
	tls    *tls.ConnectionState
	ctx    context.Context // the parent of its requests' contexts
	cancel context.CancelFunc
	cr     connReader
	br     *bufio.Reader
	state  atomic.Int32
	// reading is set while c reads a request's head, or its handler a
	// request body: a wait that Shutdown ends (interruptRead).
	reading atomic.Bool
	// readingBody is set with reading for a request body's read.
	readingBody atomic.Bool
	// reqCtx is the context of the request being served (or last served);
	// reads that fail end it.
	reqCtx *requestContext
	// out is what responses are written to: rw, or tw with
	// Options.WriteTimeout.
	out io.Writer
	tw  timedWriter
	// writeUntil is the write deadline tw last set (zero: none known);
	// ownWriteDeadline is set while the handler's own (SetWriteDeadline) is
	// in force instead, until its response ends (atomic: a handler may set
	// its deadline from another goroutine, to cut short a write under way).
	writeUntil       time.Time
	ownWriteDeadline atomic.Bool
	// writing is set while tw writes: a write that Shutdown bounds
	// (interruptWrite). cutAtStop is set once a write of c failed, during a
	// stop, for want of a client that reads (counted in Server.stalledAtStop).
	writing   atomic.Bool
	cutAtStop bool
	// stopStall, when positive, is the stall a write of the response being
	// served may make once Shutdown began, in place of stopGrace
	// (SetStopStall); nanoseconds, reset for each response.
	stopStall atomic.Int64
	// wmu orders a "100 Continue" written by a body read against the response.
	wmu      sync.Mutex
	hijacked bool
	dateSec  int64
	date     []byte
	// clockAt is the last full clock reading (time.Now) taken for a Date;
	// within its second, later responses advance it by the monotonic clock
	// alone (conn.now).
	clockAt time.Time
	// doneAt is the clock reading of the last response's Date when that
	// response went out after its handler returned and its request had no
	// body: the end of the request, from which the idle deadline counts
	// (one clock reading per request instead of two). Zero: not known.
	doneAt time.Time
	// idleUntil is the read deadline setIdleDeadline last set, while it is
	// known to be the connection's (zero: not known). Only serve's goroutine
	// uses it; deadlineSet tells it of a deadline set from elsewhere.
	idleUntil   time.Time
	deadlineSet atomic.Bool
	// park is the Park of the request being handled, if its handler made one;
	// parkRaw, parkLook and parkReadable are what its Wait uses, made once.
	park         atomic.Pointer[Park]
	parkRaw      syscall.RawConn
	parkLook     func(fd uintptr) bool
	parkReadable bool
	clBuf        [20]byte // a response's Content-Length, formatted
	// hdr is the last response's header map, which the next one reuses
	// (conn.header); nil once a response's header may outlive it (hijack).
	hdr http.Header
	// nextResp is where the next response goes, allocated with its request
	// (nil: newResponse allocates it).
	nextResp *response
	// names are the spellings of the next request's header names (with
	// Options.WireNames; nil when all are canonical).
	names *namesCtx
	// capture, while net/http's reader reads a head with Options.WireNames,
	// receives every byte read from the connection.
	capture *[]byte
	// draining is set while Park looks for what crypto/tls holds (tlsHoldsNothing):
	// the read's deadline error is not the request's.
	draining bool
	// idleEnd is when the present idle wait ends (the idle deadline), set
	// with it; zero: never. The sweep closes a dormant connection then.
	idleEnd time.Time
	// Dormant connections (Options.DormantAfter, dormant_linux.go): served counts
	// the requests read, which the sweep compares with seen, its own
	// count from its last look; dozeMu orders the sweep's deadline against
	// the ones serve's goroutine sets; waiter is the connection's place in
	// the idle poller while it is dormant.
	served       atomic.Uint64
	seen         uint64
	dozeMu       sync.Mutex
	noDoze       bool         // under dozeMu: c cannot go dormant
	dormantUntil atomic.Int64 // while dormant: its idle deadline (UnixNano; 0: none)
	waiter       *idlepoll.Waiter
}

// connReader is what c.br reads: the connection, with the header-size limit
// while a header block is read.
type connReader struct {
	c      *conn
	remain int64
	// err is the last read's error (readRequestStdOnly clears it).
	err error
}

// Read implements io.Reader.
func (r *connReader) Read(p []byte) (int, error) {
	if r.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.c.rw.Read(p)
	r.remain -= int64(n)
	if err != nil {
		r.err = err
	}
	if r.c.capture != nil && n > 0 {
		*r.c.capture = append(*r.c.capture, p[:n]...)
	}
	// A failed read means the client went away, and ends its request's
	// context; a deadline that passed does not: the client is still there
	// to be answered (a request body that did not come in time).
	if err != nil && r.c.reqCtx != nil && !r.c.draining && !isDeadline(err) {
		r.c.reqCtx.end()
	}
	return n, err
}

// isDeadline reports a read or write that a deadline ended.
func isDeadline(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// closeIfIdle closes c when it is waiting for a request (Shutdown).
func (c *conn) closeIfIdle() bool {
	if c.state.CompareAndSwap(stateIdle, stateClosed) {
		_ = c.rwc.Close()
		return true
	}
	return c.closeIfDormant()
}

// serve reads and serves c's requests until it closes, is hijacked or goes
// dormant.
func (c *conn) serve() {
	c.remoteAddr = c.rwc.RemoteAddr().String()
	if tc, ok := c.rwc.(*tls.Conn); ok && !c.handshake(tc) {
		c.cancel()
		_ = c.rwc.Close()
		c.s.forget(c)
		return
	}
	c.cr.c = c
	c.run(true, false)
}

// run serves requests from the first (first) or from a keep-alive wait; woken
// is set when a dormant connection's wait goes on (awaken), whose deadline is
// set. It returns when the connection closes, is hijacked, or goes dormant:
// then it has handed the connection to the idle poller and must not touch it.
func (c *conn) run(first, woken bool) {
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(&c.cr)
	dormant := false
	defer func() {
		if dormant {
			return
		}
		c.cancel()
		if c.hijacked {
			return // the connection and its reader are the hijacker's
		}
		c.br.Reset(nil)
		readerPool.Put(c.br)
		_ = c.rwc.Close()
		c.s.forget(c)
	}()
	opts := &c.s.opts
	for ; ; first = false {
		// Wait for the request's first byte: an idle connection's time.
		switch {
		case woken:
			woken = false
		case first && opts.ReadHeaderTimeout > 0:
			c.setReadDeadline(time.Now().Add(opts.ReadHeaderTimeout))
		case !first && opts.IdleTimeout > 0:
			c.setIdleDeadline(opts.IdleTimeout)
		}
		c.doneAt = time.Time{}
		c.cr.remain = int64(opts.MaxHeaderBytes) + headerSlack
		_, err := c.br.Peek(1)
		for err != nil || !c.state.CompareAndSwap(stateIdle, stateActive) {
			if c.state.Load() != stateDozing {
				return // the client left, or Shutdown closed it
			}
			// The sweep told it to go dormant (before or after the request
			// came).
			if dormant, err = c.doze(err); dormant {
				return
			}
		}
		c.served.Add(1)
		c.startRead()
		req, err := c.readRequest(first)
		c.reading.Store(false)
		if err != nil {
			c.refuse(req, err)
			return
		}
		if !c.serveRequest(req) || c.s.set.Stopping() {
			return
		}
		c.state.Store(stateIdle)
		if c.s.set.Stopping() {
			return // Shutdown may have looked before the store
		}
	}
}

// handshake finishes a TLS connection's handshake, if its listener has not
// (within ReadHeaderTimeout, as the first request's header), and keeps its
// state for the connection's requests. It refuses a connection whose client
// and server agreed on a protocol other than HTTP/1.1 (h2 is another server's
// to serve: the listener hands such connections elsewhere).
func (c *conn) handshake(tc *tls.Conn) bool {
	st := tc.ConnectionState()
	if !st.HandshakeComplete {
		if d := c.s.opts.ReadHeaderTimeout; d > 0 {
			_ = tc.SetDeadline(time.Now().Add(d))
		}
		if err := tc.HandshakeContext(c.ctx); err != nil {
			c.s.opts.Log.Debug("h1: TLS handshake failed", "remote", c.remoteAddr, "err", err)
			return false
		}
		_ = tc.SetDeadline(time.Time{})
		st = tc.ConnectionState()
	}
	if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" {
		c.s.opts.Log.Debug("h1: TLS connection negotiated another protocol", "remote", c.remoteAddr, "protocol", p)
		return false
	}
	c.tls = &st
	return true
}

// setIdleDeadline bounds the wait for the next request on a keep-alive
// connection by idle, counted from the end of the last request. Resetting the
// deadline on every request costs a timer update each time, so the deadline
// set reaches past idle by a slack (idleSlack) and is left as it is while at
// least idle of it remains: a connection is closed after idle to idle plus
// the slack without a request. A server whose ConnContext hands the
// connection to its handlers sets it on every request (a handler may set the
// connection's deadlines behind the server's back).
func (c *conn) setIdleDeadline(idle time.Duration) {
	now := c.doneAt
	if now.IsZero() {
		now = time.Now()
	}
	if c.deadlineSet.Load() {
		c.deadlineSet.Store(false)
		c.idleUntil = time.Time{}
	}
	if !c.idleUntil.IsZero() && c.idleUntil.Sub(now) >= idle {
		c.idleEnd = c.idleUntil
		return
	}
	c.idleUntil = time.Time{}
	if c.s.opts.ConnContext == nil {
		c.idleUntil = now.Add(idle + idleSlack(idle))
		c.idleEnd = c.idleUntil
		_ = c.rwc.SetReadDeadline(c.idleUntil)
		return
	}
	c.idleEnd = now.Add(idle)
	_ = c.rwc.SetReadDeadline(c.idleEnd)
}

// idleSlack is how far past the idle timeout a keep-alive connection's
// deadline may reach: an eighth of it, at most a second (so with the
// gateway's 120 s a connection resets its deadline once a second at most).
func idleSlack(idle time.Duration) time.Duration { return min(idle/8, time.Second) }

// setReadDeadline sets the connection's read deadline for another purpose
// than the idle wait (header, body, closing): the idle deadline is to be set
// again.
func (c *conn) setReadDeadline(t time.Time) {
	c.idleUntil = time.Time{}
	_ = c.rwc.SetReadDeadline(t)
}

// headerBuffered reports whether a whole header block is already buffered:
// then reading it needs no more reads, and no deadline.
func (c *conn) headerBuffered() bool {
	buf, _ := c.br.Peek(c.br.Buffered())
	return bytes.Contains(buf, []byte("\r\n\r\n"))
}

// Errors of a request that the connection answers itself.
var errTooLarge = errors.New("h1: request header too large")

// errURITooLong is errTooLarge when the request line alone is over the limit.
var errURITooLong = errors.New("h1: request line too long")

// aLongTimeAgo is a deadline in the past: it wakes a blocked read at once.
var aLongTimeAgo = time.Unix(1, 0)

// errStopped is a request whose head had not come in whole when Shutdown
// began: nothing of it has run, and it is answered 503.
var errStopped = errors.New("h1: the server shut down before the request's head came in whole")

// ErrShutdown is the error of a request body read that Shutdown ended: the
// body had not come in whole when the server began to stop, and the
// handler, which has nothing of it to act on yet, answers 503 (the server is
// unavailable) rather than waiting for a client that may never send it.
var ErrShutdown = errors.New("the server shut down before the request's body came in whole")

// errHeaderTimeout is a request whose head had begun but did not come in
// whole within ReadHeaderTimeout: RFC 9110 15.5.9's 408.
var errHeaderTimeout = errors.New("h1: request head not received in time")

// refusedStatus is the status of a request the server refuses before a
// handler runs, for Options.Refuse to answer: 431, 414, 503 (errStopped), 408
// (errHeaderTimeout), 501 (a transfer coding other than chunked), a
// statusError's own (400, 505), and 400 for any other request net/http's
// reader could not parse; 0 for a client that went away or idled out before
// sending anything to answer.
func refusedStatus(err error) int {
	var se statusError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errTooLarge):
		return http.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, errURITooLong):
		return http.StatusRequestURITooLong
	case errors.Is(err, errStopped):
		return http.StatusServiceUnavailable
	case errors.Is(err, errHeaderTimeout):
		return http.StatusRequestTimeout
	case errors.As(err, &se):
		return se.code
	case strings.HasPrefix(err.Error(), "unsupported transfer encoding"): // net/http's unsupportedTEError
		return http.StatusNotImplemented
	case isCommonNetReadError(err):
		return 0
	}
	return http.StatusBadRequest
}

// refusedRequest is the request head names, for Options.Refuse: the request
// line's when it came in whole (badTargetRequest), else one with only the
// method, when head starts with one, and the target "/".
func refusedRequest(head []byte) *http.Request {
	if req := badTargetRequest(head); req != nil {
		return req
	}
	method, _, _ := bytes.Cut(head, []byte(" "))
	if len(method) > 16 || !httpguts.ValidHeaderFieldName(string(method)) {
		method = nil // a token, as a method is: the field name's syntax
	}
	return &http.Request{Method: string(method), RequestURI: "/", URL: &url.URL{Path: "/"}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Close: true}
}

// stopGrace is how long a request body still coming in when Shutdown began
// has for each of its next reads: a client that keeps sending its body goes
// on (its request then runs and is answered, as any running request is), one
// that stalls is cut off (ErrShutdown) after it rather than after the body's
// own timeout or the shutdown's.
const stopGrace = time.Second

// startRead marks c as reading a request's head, which Shutdown does not
// wait for (interruptRead); when Shutdown has already begun, the read ends
// at once.
func (c *conn) startRead() {
	c.readingBody.Store(false)
	c.reading.Store(true)
	c.stopIfStopping()
}

// startBodyRead marks c as reading a request body, which Shutdown waits for
// only while it keeps coming (stopGrace).
func (c *conn) startBodyRead() {
	c.readingBody.Store(true)
	c.reading.Store(true)
	c.stopIfStopping()
}

// stopDeadline is the read deadline of c's read in progress once Shutdown
// began: in the past for a head (nothing of the request has run), stopGrace
// from now for a body.
func (c *conn) stopDeadline() time.Time {
	if c.readingBody.Load() {
		return time.Now().Add(stopGrace)
	}
	return aLongTimeAgo
}

// stopIfStopping ends c's read in progress (its head, or a stalled request
// body) when the server is shutting down (stopDeadline). Called after the
// reader set a deadline of its own, it keeps Shutdown's.
func (c *conn) stopIfStopping() {
	if c.s.set.Stopping() {
		_ = c.rwc.SetReadDeadline(c.stopDeadline())
	}
}

// interruptRead ends, for Shutdown, the wait of c for a request's head or
// body, if it waits for one: nothing of the request has run, so it is
// answered 503 rather than waited for (a body that keeps coming has
// stopGrace for each read). The reader marked itself (reading) before it
// read and looks at Stopping after, so either it sees the stop or this sees
// it reading.
func (c *conn) interruptRead() {
	if c.reading.Load() {
		_ = c.rwc.SetReadDeadline(c.stopDeadline())
	}
}

// statusError is a request refused with code and text.
type statusError struct {
	code int
	text string
}

func (e statusError) Error() string { return http.StatusText(e.code) + ": " + e.text }

func badRequest(text string) error { return statusError{http.StatusBadRequest, text} }

// readRequest reads the next request and applies net/http's server checks.
// A plain request whose head is buffered is parsed here (parseRequest);
// anything else goes to net/http's reader, which may need to read more: then
// a keep-alive connection's header deadline (ReadHeaderTimeout) starts.
func (c *conn) readRequest(first bool) (*http.Request, error) {
	if fr := parseRequest(c.br, c.s.opts.WireNames); fr != nil {
		c.nextResp = &fr.resp
		c.names = fr.names
		req, err := c.checkRequest(&fr.req, fr)
		if err != nil {
			// For Options.Refuse: the request line's request.
			req = lineRequest(&fr.req)
		}
		return req, err
	}
	if opts := &c.s.opts; !first && opts.ReadHeaderTimeout > 0 && !c.headerBuffered() {
		c.setReadDeadline(time.Now().Add(opts.ReadHeaderTimeout))
		c.stopIfStopping() // the deadline just set may have replaced Shutdown's
	}
	return c.readRequestStd()
}

// skipEmptyLines drops the empty lines (CRLF, or a bare LF) before a request
// line, which RFC 9112 2.2 says a server SHOULD ignore (a client may send one
// after a POST body), before net/http's reader sees the head (it refuses
// them; net/http's server drops up to four CR or LF bytes, and only after a
// POST). parseRequest declines a head that starts with one, so the fast path
// and the fallback agree. They count against the header limit (the
// connection reader's).
func (c *conn) skipEmptyLines() error {
	for {
		b, err := c.br.Peek(1)
		if err != nil {
			return err
		}
		n := 0
		switch b[0] {
		case '\n':
			n = 1
		case '\r':
			if b, err = c.br.Peek(2); err != nil {
				return err
			}
			if b[1] == '\n' {
				n = 2
			}
		}
		if n == 0 {
			return nil
		}
		_, _ = c.br.Discard(n)
	}
}

// lineRequest is req's request line alone, for Options.Refuse (as
// badTargetRequest is).
func lineRequest(req *http.Request) *http.Request {
	return &http.Request{Method: req.Method, RequestURI: req.RequestURI, URL: &url.URL{Path: "/"}, Proto: req.Proto, ProtoMajor: req.ProtoMajor,
		ProtoMinor: req.ProtoMinor, Header: http.Header{}, Body: http.NoBody, Close: true}
}

// readRequestStd reads the next request with net/http's reader. The head is
// copied as it is read (what is buffered, then every read): net/http's reader
// drops a Content-Length that comes with a Transfer-Encoding, which the copy
// still shows (framedTwice), and with Options.WireNames the names are picked
// out of it. Only requests the fast path (parseRequest) leaves pay for the
// copy, and every request with a Transfer-Encoding and a Content-Length, or on
// HTTP/1.0, is one of them (framedTwice).
func (c *conn) readRequestStd() (*http.Request, error) {
	if err := c.skipEmptyLines(); err != nil {
		return nil, err
	}
	buf := headPool.Get().(*[]byte)
	buffered, _ := c.br.Peek(c.br.Buffered())
	*buf = append((*buf)[:0], buffered...)
	c.capture = buf
	req, err := c.readRequestStdOnly()
	c.capture = nil
	if bt := (url.EscapeError("")); err != nil && errors.As(err, &bt) {
		// A target net/http's parser refuses for its escapes: the request
		// its line names, for Options.BadTarget.
		req = badTargetRequest(*buf)
	}
	if errors.Is(err, errTooLarge) && bytes.IndexByte(*buf, '\n') < 0 {
		// The request line alone is over the limit: RFC 9112 section 3's 414.
		err = errURITooLong
	}
	if err == nil {
		// What is still buffered was captured but not consumed.
		head := (*buf)[:len(*buf)-c.br.Buffered()]
		switch {
		case framedTwice(head, req):
			req, err = nil, errFramedTwice
		case c.s.opts.WireNames:
			c.names = headNames(head, req.Header)
		}
	}
	if req == nil && refusedStatus(err) != 0 {
		// For Options.Refuse: what the head says of the request, so far.
		req = refusedRequest(*buf)
	}
	if cap(*buf) <= maxPooledHead {
		headPool.Put(buf)
	}
	return req, err
}

// badTargetRequest is the request the request line at the start of head
// names (method, target, protocol), without header fields; nil when head does
// not start with one.
func badTargetRequest(head []byte) *http.Request {
	line, _, ok := bytes.Cut(head, []byte("\n"))
	if !ok {
		return nil
	}
	method, rest, ok1 := strings.Cut(strings.TrimSuffix(string(line), "\r"), " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	major, minor, ok3 := http.ParseHTTPVersion(proto)
	if !ok1 || !ok2 || !ok3 || method == "" || target == "" {
		return nil
	}
	return &http.Request{Method: method, RequestURI: target, URL: &url.URL{Path: "/"}, Proto: proto, ProtoMajor: major, ProtoMinor: minor,
		Header: http.Header{}, Body: http.NoBody, Close: true}
}

// serveBadTarget answers req, a request whose target did not parse, with h;
// the connection closes after it.
func (c *conn) serveBadTarget(h http.Handler, req *http.Request) {
	c.names = nil
	req.RemoteAddr = c.remoteAddr
	w := newResponse(c, req)
	rc := &w.ctx
	defer rc.end()
	c.reqCtx = rc
	*req = *req.WithContext(rc)
	w.Header().Set("Connection", "close")
	if !c.runBadTarget(h, w, req) {
		w.release()
		return
	}
	w.finish()
	w.release()
}

// runRefuse answers req, whose head was read, with Options.Refuse for status
// (w is req's response); a panic in it is logged.
func (c *conn) runRefuse(w *response, req *http.Request, status int) {
	refuse := c.s.opts.Refuse
	c.runBadTarget(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { refuse(w, r, status) }), w, req)
}

// runBadTarget calls h; false when it panicked (logged).
func (c *conn) runBadTarget(h http.Handler, w *response, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			c.s.opts.Log.Error("h1: panic answering a bad request target from "+c.remoteAddr, "panic", fmt.Sprint(p))
		}
	}()
	h.ServeHTTP(w, req)
	return true
}

// errFramedTwice refuses a request whose body length two fields declare.
var errFramedTwice = statusError{http.StatusBadRequest, "Transfer-Encoding with Content-Length, or on an HTTP/1.0 request"}

// framedTwice reports whether the head of req has a Transfer-Encoding field
// and either a Content-Length field or an HTTP/1.0 request line. RFC 9112
// §6.1 lets Transfer-Encoding override Content-Length, but a server MUST close
// the connection after such a request, and an HTTP/1.0 recipient treats the
// body as Content-Length framed: either way a proxy in front may have framed
// the body otherwise, the start of request smuggling. net/http serves such a
// request and keeps the connection (it drops the Content-Length, or ignores
// the Transfer-Encoding of an HTTP/1.0 request); h1 refuses it with 400 and
// closes the connection, as nginx does.
func framedTwice(head []byte, req *http.Request) bool {
	te, cl := false, false
	// The request line first, then a field per line; obs-fold continuation
	// lines start with white space and name nothing.
	for i := bytes.IndexByte(head, '\n'); i >= 0 && i+1 < len(head); {
		line := head[i+1:]
		next := bytes.IndexByte(line, '\n')
		if next >= 0 {
			line = line[:next]
		}
		if colon := bytes.IndexByte(line, ':'); colon > 0 {
			name := line[:colon]
			te = te || bytes.EqualFold(name, []byte("Transfer-Encoding"))
			cl = cl || bytes.EqualFold(name, []byte("Content-Length"))
		}
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return te && (cl || !req.ProtoAtLeast(1, 1))
}

// readRequestStdOnly reads the next request with net/http's reader.
func (c *conn) readRequestStdOnly() (*http.Request, error) {
	c.cr.err = nil
	req, err := readRequest(c.br)
	if err != nil {
		switch {
		case c.cr.remain <= 0:
			return nil, errTooLarge
		case isDeadline(c.cr.err) && c.s.set.Stopping():
			// Shutdown ended the wait for the rest of the head (or its
			// own deadline ended while the server stops). net/http's
			// reader may report what it made of the partial head
			// instead: the connection's read error tells.
			return nil, errStopped
		case isDeadline(c.cr.err):
			// The head had begun (its first byte came) but did not end
			// within ReadHeaderTimeout: 408, whatever net/http's reader
			// made of the partial head (a malformed line, often).
			return nil, errHeaderTimeout
		}
		return nil, err
	}
	return c.checkRequest(req, nil)
}

// checkRequest applies net/http's server checks to a request read; fr, when
// the request was read by parseRequest, says its header names and values are
// known to be valid and whether it had a Host field (which parseRequest put in
// req.Host only).
func (c *conn) checkRequest(req *http.Request, fr *fastRequest) (*http.Request, error) {
	c.cr.remain = math.MaxInt64
	isH2Upgrade := req.Method == "PRI" && len(req.Header) == 0 && req.URL.Path == "*" && req.Proto == "HTTP/2.0"
	if req.ProtoMajor != 1 && !isH2Upgrade {
		return nil, statusError{http.StatusHTTPVersionNotSupported, "unsupported protocol version"}
	}
	hosts, host := 0, ""
	if fr != nil {
		if fr.hasHost {
			hosts, host = 1, req.Host
		}
	} else if hv := req.Header["Host"]; len(hv) > 0 {
		hosts, host = len(hv), hv[0]
	}
	if req.ProtoAtLeast(1, 1) && hosts == 0 && !isH2Upgrade && req.Method != "CONNECT" {
		return nil, badRequest("missing required Host header")
	}
	if hosts == 1 && !httpguts.ValidHostHeader(host) {
		return nil, badRequest("malformed Host header")
	}
	if fr == nil {
		for k, vv := range req.Header {
			if !httpguts.ValidHeaderFieldName(k) {
				return nil, badRequest("invalid header name")
			}
			for _, v := range vv {
				if !httpguts.ValidHeaderFieldValue(v) {
					return nil, badRequest("invalid header value")
				}
			}
		}
	}
	if fr == nil && (req.URL.Host == "" || !c.s.opts.KeepAbsoluteFormHost) {
		delete(req.Header, "Host")
	}
	req.RemoteAddr = c.remoteAddr
	req.TLS = c.tls
	return req, nil
}

// refuse answers a request that could not be read (err): with
// Options.BadTarget or Options.Refuse when set and err is theirs (req is then
// what its head says of the request), else as net/http does. The connection
// closes after it.
func (c *conn) refuse(req *http.Request, err error) {
	var h http.Handler
	var bt url.EscapeError
	status := refusedStatus(err)
	switch {
	case req == nil:
	case errors.As(err, &bt):
		h = c.s.opts.BadTarget
	case status != 0 && c.s.opts.Refuse != nil:
		refuse := c.s.opts.Refuse
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { refuse(w, r, status) })
	}
	if h == nil {
		c.replyError(err)
		return
	}
	c.serveBadTarget(h, req)
	if status != 0 {
		// The client may be sending its head still: let it take the answer
		// before the close resets the connection.
		c.closeWriteAndWait()
	}
}

// replyError answers a request that could not be read, as net/http does.
func (c *conn) replyError(err error) {
	reply, wait := errorReply(err)
	if reply != "" {
		_, _ = io.WriteString(c.rwc, reply)
	}
	if wait {
		c.closeWriteAndWait()
	}
}

// errorReply is net/http's answer to a request that could not be read ("" for
// none) and whether the connection is then half-closed and drained.
func errorReply(err error) (reply string, closeWait bool) {
	const errorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	var se statusError
	switch {
	case errors.Is(err, errTooLarge):
		const publicErr = "431 Request Header Fields Too Large"
		return "HTTP/1.1 " + publicErr + errorHeaders + publicErr, true
	case errors.Is(err, errURITooLong):
		const publicErr = "414 URI Too Long"
		return "HTTP/1.1 " + publicErr + errorHeaders + publicErr, true
	case errors.Is(err, errStopped):
		const publicErr = "503 Service Unavailable"
		return "HTTP/1.1 " + publicErr + errorHeaders + publicErr, true
	case errors.Is(err, errHeaderTimeout):
		const publicErr = "408 Request Timeout"
		return "HTTP/1.1 " + publicErr + errorHeaders + publicErr, true
	case errors.Is(err, errFramedTwice):
		// The body that follows is not read: wait for the client to take
		// the answer before the close resets the connection.
		msg := fmt.Sprintf("%d %s: %s", errFramedTwice.code, http.StatusText(errFramedTwice.code), errFramedTwice.text)
		return "HTTP/1.1 " + msg + errorHeaders + msg, true
	case strings.HasPrefix(err.Error(), "unsupported transfer encoding"): // net/http's unsupportedTEError
		return "HTTP/1.1 501 Not Implemented" + errorHeaders + "Unsupported transfer encoding", false
	case isCommonNetReadError(err):
		return "", false // the client went away or idled out: nothing to say
	case errors.As(err, &se):
		msg := fmt.Sprintf("%d %s: %s", se.code, http.StatusText(se.code), se.text)
		return "HTTP/1.1 " + msg + errorHeaders + msg, false
	default:
		const publicErr = "400 Bad Request"
		return "HTTP/1.1 " + publicErr + errorHeaders + publicErr, false
	}
}

func isCommonNetReadError(err error) bool {
	if errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "read"
}

// closeWriteAndWait half-closes c and waits (briefly) for the client to close,
// so that a response sent while the client still sends is not lost to a reset.
func (c *conn) closeWriteAndWait() { c.closeWriteAndDrain(rstAvoidanceDelay, lingerBytes) }

// closeWriteAndDrain half-closes c, then reads and drops what the client still
// sends, until it closes, d passes or max bytes came, so that the response
// already sent is read by the client rather than lost to the reset that
// closing a connection with unread input sends.
func (c *conn) closeWriteAndDrain(d time.Duration, max int64) {
	if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	c.setReadDeadline(time.Now().Add(d))
	_, _ = io.CopyN(io.Discard, c.rwc, max)
}

// serveRequest runs the handler for req and finishes its response; false when
// the connection is not to be reused.
func (c *conn) serveRequest(req *http.Request) bool {
	w := newResponse(c, req)
	rc := &w.ctx
	defer rc.end()
	c.reqCtx = rc
	var ctx context.Context = rc
	if nc := c.names; nc != nil {
		c.names = nil
		nc.Context = ctx
		ctx = nc
	}
	// Set in place: the copy WithContext makes stays on the stack, and a
	// chunked body's trailers still reach this request (w holds req).
	*req = *req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		// The header's deadline does not bound the body: the handler (through
		// http.ResponseController) decides.
		c.setReadDeadline(time.Time{})
		b := &body{src: req.Body, w: w}
		w.body = b
		req.Body = b
	}
	if expect := req.Header["Expect"]; len(expect) == 0 {
		// the common case: one lookup
	} else if httpguts.HeaderValuesContainsToken(expect, "100-continue") {
		if req.ProtoAtLeast(1, 1) && req.ContentLength != 0 && w.body != nil {
			w.body.expect = true
			w.canContinue = true
		}
	} else if expect[0] != "" {
		// An expectation the server cannot meet (RFC 9110 10.1.1): 417,
		// through Options.Refuse when set (with a body in its shape).
		w.Header().Set("Connection", "close")
		if c.s.opts.Refuse != nil {
			c.runRefuse(w, req, http.StatusExpectationFailed)
		} else {
			w.WriteHeader(http.StatusExpectationFailed)
		}
		w.finish()
		w.release()
		return false
	}
	ok := c.runHandler(w, req)
	if p := c.park.Load(); p != nil {
		p.end()
		c.park.Store(nil)
	}
	if !ok {
		if !c.hijacked {
			if w.committed && w.out != nil {
				_ = w.out.bw.Flush()
			}
			w.release()
		}
		return false
	}
	if c.hijacked {
		return false
	}
	w.finish()
	w.release()
	if w.reusable() {
		return true
	}
	if w.committed && w.err == nil && w.body != nil {
		switch {
		case w.body.readFailed():
			// An answer to a body that did not arrive (a deadline) went out
			// while the client may still be sending: let it take the answer
			// before the close resets the connection.
			c.closeWriteAndWait()
		case !w.body.sawEOFLocked():
			// The handler answered without reading the body to its end and
			// more was left than is discarded to keep the connection (a 413
			// to a body over its limit), or the client waits for a 100
			// Continue that was not sent: it may be sending still. Linger
			// so that it reads the answer rather than a reset.
			c.closeWriteAndDrain(lingerTime, lingerBytes)
		}
	}
	return false
}

// runHandler calls the handler; false when it panicked (logged, unless it was
// http.ErrAbortHandler).
func (c *conn) runHandler(w *response, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			if p != http.ErrAbortHandler { //nolint:errorlint // net/http compares the same way
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.s.opts.Log.Error("h1: panic serving "+c.remoteAddr, "panic", fmt.Sprint(p), "stack", string(buf))
			}
		}
	}()
	if req.RequestURI == "*" && req.Method == http.MethodOptions && !c.s.opts.GlobalOptions {
		globalOptions(w, req) // as net/http's server answers it
		return true
	}
	c.s.h.ServeHTTP(w, req)
	return true
}

// now returns the time of a response's Date (and of its request's end). A
// full clock reading (time.Now) reads the wall clock and the monotonic clock;
// within the second of the last full reading, that reading advanced by the
// monotonic clock alone (time.Since, about half the cost) is as good. Once the
// second of the Date last formatted has passed, the clock is read in full
// again, so the Date follows the wall clock (a step of it included) within a
// second.
func (c *conn) now() time.Time {
	if !c.clockAt.IsZero() {
		if now := c.clockAt.Add(time.Since(c.clockAt)); now.Unix() == c.dateSec {
			return now
		}
	}
	c.clockAt = time.Now()
	return c.clockAt
}

// dateValue returns the Date header value for now, formatted once a second.
func (c *conn) dateValue(now time.Time) []byte {
	if sec := now.Unix(); sec != c.dateSec || c.date == nil {
		c.dateSec = sec
		c.date = now.UTC().AppendFormat(c.date[:0], http.TimeFormat)
	}
	return c.date
}

// globalOptions answers "OPTIONS *" as net/http's server does.
func globalOptions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "0")
	if r.ContentLength != 0 {
		_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 4<<10))
	}
}

// writeChunk is the most timedWriter writes under one check of the deadline:
// a long write is as many writes, each of which must make progress.
const writeChunk = 64 << 10

// timedWriter writes a connection's responses under Options.WriteTimeout. The
// write deadline is moved only when less than half of the timeout is left of
// it (one timer update per half timeout, not one per write), so a write that
// takes nothing for between half the timeout and all of it fails. Once
// Shutdown began, a write has stopGrace to make progress, again after each
// progress: an answer whose client keeps reading goes on, one whose client
// takes nothing for stopGrace fails, so that it does not hold the stop
// (interruptWrite).
type timedWriter struct{ c *conn }

func (w *timedWriter) Write(p []byte) (int, error) {
	c := w.c
	if c.hijacked {
		return c.rw.Write(p)
	}
	// Marked before the deadline is set and Stopping looked at, as
	// Shutdown stops before it looks at writing: either this sees the stop
	// or Shutdown sees the write.
	c.writing.Store(true)
	defer c.writing.Store(false)
	b := c.s.opts.Unread
	if b != nil && len(p) >= writeChunk {
		b.add(c, int64(len(p)))
		defer b.done(c, int64(len(p)))
	} else {
		b = nil
	}
	var n int
	if c.ownWriteDeadline.Load() && !c.s.set.Stopping() && (b == nil || !b.over()) {
		k, err := c.rw.Write(p)
		if err == nil || !isDeadline(err) || !c.s.set.Stopping() {
			return k, err
		}
		// A stop began during the write and bounded it (interruptWrite):
		// one deadline for the whole of p, however much the client took.
		// The rest goes under the stop's stall timeout, renewed on each
		// progress, so that a client that keeps reading gets it all.
		n = k
	}
	d := c.s.opts.WriteTimeout
	for n < len(p) {
		now := time.Now()
		if !c.ownWriteDeadline.Load() && now.Add(d/2).After(c.writeUntil) {
			c.writeUntil = now.Add(d)
			_ = c.rwc.SetWriteDeadline(c.writeUntil)
		}
		// Under a stop, or past the unread budget, a write has a short
		// stall timeout, renewed on each progress.
		short := time.Duration(0)
		if c.s.set.Stopping() {
			short = c.stopGrace()
		}
		if b != nil && b.over() && (short == 0 || b.stall < short) {
			short = b.stall
		}
		if short > 0 {
			c.writeUntil = now.Add(short)
			_ = c.rwc.SetWriteDeadline(c.writeUntil)
		}
		k, err := c.rw.Write(p[n:min(len(p), n+writeChunk)])
		n += k
		if err != nil && k > 0 && isDeadline(err) && (c.s.set.Stopping() || b != nil && b.over()) {
			continue // it took some within its short timeout: another one
		}
		if err != nil {
			switch {
			case !isDeadline(err):
			case c.s.set.Stopping():
				if !c.cutAtStop {
					c.cutAtStop = true
					c.s.stalledAtStop.Add(1)
				}
			case b != nil && (short > 0 || time.Now().Before(c.writeUntil)):
				// The budget's stall timeout, set here or by the write
				// that took the budget over (before WriteTimeout's).
				b.cut.Add(1)
			}
			return n, err
		}
	}
	return n, nil
}

// interruptWrite bounds, for Shutdown, the write of c in progress, if it
// writes: it fails unless the client takes some of it within stopGrace, or
// the response's own stall (SetStopStall) (timedWriter). Only with
// Options.WriteTimeout.
func (c *conn) interruptWrite() {
	if c.writing.Load() {
		_ = c.rwc.SetWriteDeadline(time.Now().Add(c.stopGrace()))
	}
}

// stopGrace is how long a write of c's response may make no progress once
// Shutdown began: the response's own (SetStopStall), else stopGrace.
func (c *conn) stopGrace() time.Duration {
	if d := time.Duration(c.stopStall.Load()); d > 0 {
		return d
	}
	return stopGrace
}
