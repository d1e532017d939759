// Package fastproxy is the gateway's fast HTTP/1.1 proxy for HTTP_PROXY
// integrations to HTTP and HTTPS backends. It is a second HTTP client beside
// net/http's transport, kept under gateway/internal so that only the gateway
// uses it.
package fastproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/rawio"
)

// Proxy forwards HTTP_PROXY requests to HTTP and HTTPS backends synchronously
// over keep-alive connections it owns (HTTP/1.1, over TLS for https: URLs): the handler's goroutine writes the request and
// reads the response itself, so a request costs no transport goroutines, no
// channel hand-offs and no cloned header map.
//
// It keeps the semantics of the gateway's httputil.ReverseProxy path
// (serveHTTPProxy in gateway/proxy.go): the same request line, Host, hop-by-hop header removal both ways,
// X-Forwarded-For appended to and X-Forwarded-Host/-Proto set as
// ProxyRequest.SetXForwarded does (and the caller's extra fields, ServeExtra),
// bodies of known and unknown length, interim (1xx) answers kept from the
// client and bounded (MaxInterim), response trailers, the integration timeout and the error kinds.
// It declines, before anything is sent, the requests that need more (see route);
// those go through the ReverseProxy. Serve returns errors of the kinds the
// gateway's backendError knows (context.DeadlineExceeded for the deadline).
//
// A Proxy is safe for concurrent use.
type Proxy struct {
	maxIdle     int           // idle connections kept per backend host for idleTimeout
	idleTimeout time.Duration // an idle connection is closed after this long
	// Past maxIdle, a pool keeps up to burstFactor*maxIdle idle connections,
	// each for burstIdle (see Pool).
	burstIdle   time.Duration
	dialTimeout time.Duration
	softWait    time.Duration // see ServeQuery
	// dialControl, when set, may refuse a backend address before it is
	// connected to (SetDialControl).
	dialControl func(network, address string, c syscall.RawConn) error

	pools    sync.Map     // URL host -> *Pool, http: URLs
	tlsPools sync.Map     // URL host -> *Pool, https: URLs
	npools   atomic.Int64 // entries in both, bounded by maxPools
	tlsBase  *tls.Config  // SetTLSClientConfig
	// sessions keeps a TLS session per backend host name, so that a new
	// connection to an https backend resumes instead of a full handshake.
	sessions tls.ClientSessionCache
	bufs     sync.Pool // *[]byte of fastBufSize, body copy buffers

	served  atomic.Int64 // requests this path took (tests and debugging)
	extends atomic.Int64 // exchanges that outlived their soft deadline (tests)

	// maxBody bounds a response body (SetMaxResponseBody; 0: no bound).
	maxBody int64
	// rename gives the name a response field goes to the client under when
	// the request asks for renames (SetRename; nil: none).
	rename func(canonical string) string

	wrapConn func(net.Conn) net.Conn // tests: sees every backend connection dialled
	now      func() time.Time        // the clock of the pools' idle times (tests)
}

const (
	fastBufSize = 32 << 10
	// maxPools bounds the backend hosts with a pool; requests to further hosts
	// (URIs with a parameter in the host, say) take the ReverseProxy.
	maxPools = 1024
	// maxResponseHeaderBytes bounds the response head, as the stock transport's
	// default MaxResponseHeaderBytes does.
	maxResponseHeaderBytes = 10 << 20
	// burstFactor bounds a pool's idle connections: burstFactor*maxIdle.
	burstFactor = 4
)

// errStaleConn marks a failure before any byte of the response arrived on a
// reused connection: the backend most likely closed it while it was idle.
var errStaleConn = errors.New("reused backend connection failed before the response")

// New returns a Proxy that keeps up to maxIdlePerHost idle connections per
// backend host for 90 s, and more for a few seconds after a burst (see Pool).
func New(maxIdlePerHost int) *Proxy {
	return &Proxy{maxIdle: maxIdlePerHost, idleTimeout: 90 * time.Second, burstIdle: 5 * time.Second,
		dialTimeout: 10 * time.Second, softWait: softWait, now: time.Now,
		sessions: tls.NewLRUClientSessionCache(maxPools)}
}

// SetRename sets the renames a request served with rename (ServeExtra) applies
// to the backend's response fields: rename returns the name a field of the
// canonical name goes to the client under, or "" to keep it. It must not
// change while the Proxy serves (parsed heads keep its answers, so that a
// renaming request costs no more than another), and it is called without
// the request: the same name is always renamed alike.
func (p *Proxy) SetRename(rename func(canonical string) string) { p.rename = rename }

// SetMaxResponseBody bounds the response bodies passed on: a backend that
// announces a longer one gets ErrResponseTooLarge before anything goes to the
// client; one whose body grows past n as it streams is cut off there
// (ErrAborted, with ErrResponseTooLarge). Call it before serving.
func (p *Proxy) SetMaxResponseBody(n int64) { p.maxBody = n }

// ErrResponseTooLarge marks a backend response body over the bound of
// SetMaxResponseBody.
var ErrResponseTooLarge = errors.New("backend response body over the limit")

// MaxInterim bounds the interim (1xx) answers read from a backend before its
// final one, on every HTTP integration path (the gateway's net/http ones
// count them too): none goes to the client, and one more fails the request
// with ErrTooManyInterim. Five is the bound Go's HTTP transport long had
// (max1xxResponses, as Chrome's).
const MaxInterim = 5

// ErrTooManyInterim marks a backend that sent more than MaxInterim interim
// (1xx) answers before its final one.
var ErrTooManyInterim = errors.New("backend sent too many interim (1xx) answers")

// SetDialControl sets a check of each backend address, resolved, before a
// connection to it is made (net.Dialer.Control): an error refuses the dial.
// Call it before serving.
func (p *Proxy) SetDialControl(f func(network, address string, c syscall.RawConn) error) {
	p.dialControl = f
}

// SetTLSClientConfig sets the configuration of connections to https:
// backends (nil: Go's defaults, the system's roots; SSL_CERT_FILE and
// SSL_CERT_DIR name others), as the transport's TLSClientConfig does for the
// requests the fast path declines. Each backend host's connections get a copy
// with its name to verify, HTTP/1.1 as their only protocol and, unless cfg has
// a cache of its own, the proxy's session cache (new connections resume the
// last session with the host). Call it before the first request.
func (p *Proxy) SetTLSClientConfig(cfg *tls.Config) { p.tlsBase = cfg }

// Served returns how many requests Serve took, for tests and debugging.
func (p *Proxy) Served() int64 { return p.served.Load() }

// Idle returns how many idle connections the pool of a backend (u's scheme and
// host) holds, and how many of those the backend has closed meanwhile (found
// by a non-blocking peek, on Linux only: elsewhere none), for tests and
// debugging.
func (p *Proxy) Idle(u *url.URL) (idle, closedByPeer int) {
	pools := &p.pools
	if u.Scheme == "https" {
		pools = &p.tlsPools
	}
	v, ok := pools.Load(u.Host)
	if !ok {
		return 0, 0
	}
	hp := v.(*Pool)
	hp.mu.Lock()
	defer hp.mu.Unlock()
	for _, c := range hp.idle {
		if !connAlive(c.nc) {
			closedByPeer++
		}
	}
	return len(hp.idle), closedByPeer
}

// Route returns the pool that serves a request to u with method, or nil when the
// request needs the ReverseProxy: unusual URLs, hosts that need IDNA or
// zone handling, Expect: 100-continue, request trailers, CONNECT, and bodies
// of unknown length on methods that usually have none (the transport probes
// those). An upgrade request is no reason: its Upgrade and Connection headers
// are hop-by-hop and do not go, and a backend's 101 is an error, on both paths.
func (p *Proxy) Route(u *url.URL, method string, r *http.Request) *Pool {
	secure := u.Scheme == "https"
	if u.Scheme != "http" && !secure || u.User != nil || u.Opaque != "" || u.Host == "" {
		return nil
	}
	if method == http.MethodConnect || !validToken(method) {
		return nil
	}
	h := r.Header
	if len(h["Expect"]) > 0 || len(r.Trailer) > 0 {
		return nil
	}
	if r.ContentLength < 0 && methodUsuallyLacksBody(method) {
		return nil
	}
	hp := p.pool(u.Host, secure)
	if hp == nil || hp.addr == "" {
		return nil
	}
	return hp
}

// pool returns host's pool (secure: for https: URLs), made on first use; nil
// once maxPools hosts have one.
func (p *Proxy) pool(host string, secure bool) *Pool {
	pools := &p.pools
	if secure {
		pools = &p.tlsPools
	}
	if v, ok := pools.Load(host); ok {
		return v.(*Pool)
	}
	if p.npools.Load() >= maxPools {
		return nil
	}
	hp := &Pool{fp: p}
	if isPlainHost(host) {
		hp.hostHeader = host
		hostname, port := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "80"
		if secure {
			port = "443"
		}
		if h, pt, err := net.SplitHostPort(host); err == nil {
			hostname = h
			if pt != "" {
				port = pt
			}
		}
		hp.addr = net.JoinHostPort(hostname, port)
		if secure {
			// As the transport's: the host's name to verify (an IP address is
			// verified, not sent as SNI), and HTTP/1.1; sessions resumed.
			cfg := &tls.Config{}
			if p.tlsBase != nil {
				cfg = p.tlsBase.Clone()
			}
			if cfg.ServerName == "" {
				cfg.ServerName = hostname
			}
			if cfg.ClientSessionCache == nil {
				cfg.ClientSessionCache = p.sessions
			}
			cfg.NextProtos = []string{"http/1.1"}
			hp.tls = cfg
		}
	}
	v, loaded := pools.LoadOrStore(host, hp)
	if !loaded {
		p.npools.Add(1)
	}
	return v.(*Pool)
}

// isPlainHost reports whether host is printable ASCII without a zone or the
// characters the stock transport rejects, so it goes on the wire as it is.
func isPlainHost(host string) bool {
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '/' {
			return false
		}
	}
	return host != ""
}

// Serve forwards r to u through hp (from Route) within timeout. Failures before the response
// head reached the client return an error for backendError; after that, a
// failed body copy returns an ErrAborted, and the caller drops the client
// connection, as ReverseProxy does.
//
// A request the client cancels aborts its backend exchange. To spare every
// request a context.AfterFunc, the abort is armed only for exchanges that take
// longer than softWait: until then the connection's deadline is a soft one,
// and when it passes before the integration timeout the exchange arms the
// abort, moves the deadline to the timeout and goes on (backendConn.extend).
// A cancellation is thus seen at once after softWait, and within softWait
// before.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, hp *Pool, u *url.URL, method string, timeout time.Duration) error {
	return p.ServeQuery(w, r, hp, u, "", method, timeout)
}

// ServeQuery is Serve with query appended to u's query string (after an "&"
// when u has one), so that a shared u need not be copied.
func (p *Proxy) ServeQuery(w http.ResponseWriter, r *http.Request, hp *Pool, u *url.URL, query, method string, timeout time.Duration) error {
	return p.ServeExtra(w, r, hp, u, query, method, timeout, nil, false, nil)
}

// ServeExtra is ServeQuery that also sends extra, header fields as name and
// value pairs (canonical names the client's own do not repeat, such as
// X-Forwarded-Port), after the client's fields; extra is only read, never
// kept. With rename, the response's fields go to the client under the
// names SetRename's function gives them. values, when its capacity holds
// them, is where the response's field values go (the client's header gets
// slices of it), instead of an allocation: room the caller gives up to w's
// header.
func (p *Proxy) ServeExtra(w http.ResponseWriter, r *http.Request, hp *Pool, u *url.URL, query, method string, timeout time.Duration, extra []string, rename bool, values []string) error {
	p.served.Add(1)
	ctx := r.Context()
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	deadline := now.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	hasBody := r.ContentLength != 0
	replayable := !hasBody && (isReplayableMethod(method) || len(r.Header["Idempotency-Key"]) > 0 || len(r.Header["X-Idempotency-Key"]) > 0)
	buf := bufLease{p: p}
	defer buf.release()

	var (
		c    *backendConn
		resp *http.Response
	)
	for attempt := 0; ; attempt++ {
		var err error
		c = nil
		if attempt == 0 {
			c = hp.get(!replayable)
		}
		if c == nil {
			if c, err = hp.dial(ctx, deadline); err != nil {
				return classifyFastErr(ctx, deadline, err)
			}
		}
		c.rename, c.values = rename && p.rename != nil, values
		if err = c.begin(ctx, now, deadline, p.softWait); err == nil {
			resp, err = c.roundTrip(w, r, u, query, method, extra, deadline, hasBody, &buf)
		}
		c.values = nil // the request's room stays with the request
		if err == nil {
			break
		}
		aborted := !c.end()
		c.close()
		if attempt == 0 && replayable && !aborted && errors.Is(err, errStaleConn) {
			continue // the backend closed the idle connection: once more on a fresh one
		}
		return classifyFastErr(ctx, deadline, err)
	}

	if resp.StatusCode == http.StatusSwitchingProtocols {
		c.end()
		c.close()
		upgrade := ""
		if u := resp.Header.Get("Upgrade"); u != "" {
			upgrade = fmt.Sprintf(" (upgrade %q)", u)
		}
		return fmt.Errorf("backend answered %d %s%s; an HTTP integration does not switch protocols",
			resp.StatusCode, http.StatusText(resp.StatusCode), upgrade)
	}
	if p.maxBody > 0 && resp.ContentLength > p.maxBody {
		if c.direct {
			c.unwindHead(w.Header())
		}
		c.end()
		c.close()
		_ = resp.Body.Close()
		return fmt.Errorf("%w: %d bytes announced, over %d", ErrResponseTooLarge, resp.ContentLength, p.maxBody)
	}
	// The start of the body is read before the head goes out (unless it is
	// all buffered already), so that a body the backend cuts short or
	// garbles there is still an error the gateway can answer.
	buffered := c.direct && c.body.n <= int64(c.br.Buffered())
	var start []byte
	startErr := error(nil)
	if !buffered {
		start, startErr = readStart(resp.Body, resp.ContentLength, buf.get())
		if startErr != nil && !errors.Is(startErr, io.EOF) {
			if c.direct {
				c.unwindHead(w.Header())
			}
			c.end()
			c.close()
			_ = resp.Body.Close()
			return classifyFastErr(ctx, deadline, fmt.Errorf("%w: %w", ErrResponseBody, startErr))
		}
	}
	stream := c.head.stream
	if !c.direct {
		RemoveHopByHop(resp.Header)
		if c.rename {
			renameFields(resp.Header, p.rename)
		}
		copyHeaderInto(w.Header(), resp.Header)
		stream = isEventStream(resp.Header["Content-Type"])
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		w.Header().Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)

	var err error
	switch {
	case buffered:
		err = c.writeBufferedBody(w, stream)
	case len(start) > 0:
		err = writeStart(w, start, stream || resp.ContentLength == -1)
	}
	if err == nil && !buffered && startErr == nil {
		left := int64(-1) // no bound
		if p.maxBody > 0 {
			left = p.maxBody - int64(len(start))
		}
		err = copyBody(w, resp, buf.get(), stream, left)
	}
	if err != nil {
		c.end()
		c.close()
		_ = resp.Body.Close()
		return fmt.Errorf("%w: %w", ErrAborted, err)
	}
	_ = resp.Body.Close() // at EOF: fills resp.Trailer
	// resp may be the connection's own (readCommonHead): done with it before the
	// connection goes back to the pool.
	trailer := resp.Trailer
	if c.end() && !resp.Close && c.br.Buffered() == 0 {
		hp.put(c)
	} else {
		c.close()
	}

	if len(trailer) > 0 {
		// Force chunking, as ReverseProxy does, so the trailers can follow.
		_ = http.NewResponseController(w).Flush()
	}
	if len(trailer) == announced {
		copyHeaderInto(w.Header(), trailer)
		return nil
	}
	for k, vv := range trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			w.Header().Add(k, v)
		}
	}
	return nil
}

// ErrAborted marks a failure after the response head went to the client (the
// backend's body failed, or the write to the client did): the answer can no
// longer be replaced by an error, and the client connection is to be dropped,
// as ReverseProxy does (panic(http.ErrAbortHandler)).
var ErrAborted = errors.New("answer aborted after its head went to the client")

// ErrResponseBody marks a failure reading the backend's response body (cut
// short, or garbled chunks): before the head went to the client, an error to
// answer as any other of the backend's; after it, with ErrAborted.
var ErrResponseBody = errors.New("reading the backend's response body")

// bufLease is a request's body copy buffer, taken from the Proxy's pool when a
// body needs one (most bodiless requests with small answers never do).
type bufLease struct {
	p *Proxy
	b *[]byte
}

func (l *bufLease) get() []byte {
	if l.b == nil {
		if v, ok := l.p.bufs.Get().(*[]byte); ok {
			l.b = v
		} else {
			b := make([]byte, fastBufSize)
			l.b = &b
		}
	}
	return *l.b
}

func (l *bufLease) release() {
	if l.b != nil {
		l.p.bufs.Put(l.b)
		l.b = nil
	}
}

// classifyFastErr maps a failure to the errors backendError knows: a client
// body that did not arrive in time is itself (listener.ErrBodyTimeout), the
// integration deadline is context.DeadlineExceeded (504), a cancelled request
// its context's error, anything else itself.
func classifyFastErr(ctx context.Context, deadline time.Time, err error) error {
	if errors.Is(err, listener.ErrBodyTimeout) {
		return err // the client's body was late, not the backend (408)
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%s)", cerr, err.Error())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(deadline) {
		return fmt.Errorf("%w (%s)", context.DeadlineExceeded, err.Error())
	}
	return err
}

// readStart reads the start of a response body of length (-1: unknown) into
// buf: all of it when it fits, else what one read gives. The client sees no
// delay from it: the response head goes to the client with the body's first
// bytes in any case (or when the body ends).
func readStart(body io.Reader, length int64, buf []byte) ([]byte, error) {
	if length >= 0 && length <= int64(len(buf)) {
		n, err := io.ReadFull(body, buf[:length])
		return buf[:n], err
	}
	n, err := body.Read(buf)
	return buf[:n], err
}

// writeStart writes the body's start (readStart) to w, flushed with flush, as
// copyBody flushes.
func writeStart(w http.ResponseWriter, start []byte, flush bool) error {
	if _, err := w.Write(start); err != nil {
		return err
	}
	if flush {
		_ = http.NewResponseController(w).Flush()
	}
	return nil
}

// copyBody copies resp's body to w with buf, flushing after each write when the
// response streams (unknown length, or Server-Sent Events: stream), as
// ReverseProxy does. A failure to read the body is an ErrResponseBody. left,
// unless negative, is how many more bytes the body may have: past it the copy
// fails with ErrResponseTooLarge, the bytes over it unwritten.
func copyBody(w http.ResponseWriter, resp *http.Response, buf []byte, stream bool, left int64) error {
	var rc *http.ResponseController
	if resp.ContentLength == -1 || stream {
		rc = http.NewResponseController(w)
	}
	for {
		n, rerr := resp.Body.Read(buf)
		if left >= 0 {
			if left -= int64(n); left < 0 {
				return fmt.Errorf("%w: %w", ErrResponseBody, ErrResponseTooLarge)
			}
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if rc != nil {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("%w: %w", ErrResponseBody, rerr)
		}
	}
}

// writeBufferedBody writes the body of a common head's response (see
// readCommonHead) to w when all of it is buffered already: from the buffer,
// in one write, as copyBody would have in one read and one write.
func (c *backendConn) writeBufferedBody(w http.ResponseWriter, stream bool) error {
	if c.body.n == 0 {
		return nil
	}
	p, _ := c.br.Peek(int(c.body.n))
	_, err := w.Write(p)
	_, _ = c.br.Discard(len(p))
	c.body.n = 0
	if err == nil && stream {
		_ = http.NewResponseController(w).Flush()
	}
	return err
}

// unwindHead takes the fields readCommonHead put into dst out again: the
// response is not going to the client after all.
func (c *backendConn) unwindHead(dst http.Header) {
	for i := len(c.head.fields) - 1; i >= 0; i-- {
		name := c.head.fields[i].name
		if c.rename {
			name = c.head.fields[i].renamed
		}
		if vv := dst[name]; len(vv) > 1 {
			dst[name] = vv[:len(vv)-1]
		} else {
			delete(dst, name)
		}
	}
}

func isEventStream(ct []string) bool {
	if len(ct) == 0 || !strings.Contains(strings.ToLower(ct[0]), "event-stream") {
		return false
	}
	base, _, _ := mime.ParseMediaType(ct[0])
	return base == "text/event-stream"
}

// renameFields moves h's fields to the names rename gives them.
func renameFields(h http.Header, rename func(string) string) {
	for k, vv := range h {
		if to := rename(k); to != "" && to != k {
			delete(h, k)
			h[to] = append(h[to], vv...)
		}
	}
}

// copyHeaderInto adds src's values to dst, as ReverseProxy's copyHeader does;
// src is the backend's response head, owned by the caller, so its slices move.
func copyHeaderInto(dst, src http.Header) {
	for k, vv := range src {
		if old, ok := dst[k]; ok {
			dst[k] = append(old, vv...)
		} else {
			dst[k] = vv
		}
	}
}

// HopHeaders are the hop-by-hop headers ReverseProxy removes both ways: no
// proxy path of the gateway forwards them.
var HopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// RemoveHopByHop removes the hop-by-hop headers and those named in
// Connection.
func RemoveHopByHop(h http.Header) {
	removeHopByHop(h, false)
}

// RemoveRequestHopByHop is RemoveHopByHop for a request to a backend: a
// Connection list naming one of the gateway's own fields (GatewayField) does
// not remove it, so that a client cannot keep its address, the forwarding
// fields or the trace id from the backend.
func RemoveRequestHopByHop(h http.Header) {
	removeHopByHop(h, true)
}

func removeHopByHop(h http.Header, request bool) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" && (!request || !GatewayField(textproto.CanonicalMIMEHeaderKey(sf))) {
				h.Del(sf)
			}
		}
	}
	for _, f := range HopHeaders {
		delete(h, f)
	}
}

// GatewayField reports whether a request field of canonical name is one the
// gateway sets on every request to an HTTP backend (Host, X-Forwarded-For,
// -Host, -Port and -Proto, X-Amzn-Trace-Id, and its hop count X-Portico-Hops):
// a Connection header cannot make it hop-by-hop. The client's X-Forwarded-For
// and X-Amzn-Trace-Id go on (its address appended to the first) whatever its
// Connection lists, on every proxy path.
func GatewayField(name string) bool {
	switch name {
	case "Host", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Amzn-Trace-Id", "X-Portico-Hops":
		return true
	}
	return false
}

// skipOutgoing reports whether a client request header is not forwarded as it is:
// hop-by-hop, the client's forwarding headers (replaced), those the request
// line and framing write (Host, User-Agent, Content-Length, Transfer-Encoding),
// and the gateway's hop count (X-Portico-Hops: its caller sends its own as an
// extra field).
func skipOutgoing(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto",
		"Host", "User-Agent", "Content-Length",
		"X-Portico-Hops": // the gateway's hop count goes as extra
		return true
	}
	return false
}

// connectionNamed returns the canonical names the Connection header lists but
// for the gateway's own fields (GatewayField); nil without one.
func connectionNamed(h http.Header) []string {
	var names []string
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				if k := textproto.CanonicalMIMEHeaderKey(sf); !GatewayField(k) {
					names = append(names, k)
				}
			}
		}
	}
	return names
}

// hasToken reports whether a comma-separated header value lists token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(t), token) {
				return true
			}
		}
	}
	return false
}

func isReplayableMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// methodUsuallyLacksBody mirrors net/http's list of methods for which the
// transport probes a body of unknown length.
func methodUsuallyLacksBody(m string) bool {
	switch m {
	case "GET", "HEAD", "DELETE", "OPTIONS", "PROPFIND", "SEARCH":
		return true
	}
	return false
}

// validToken reports whether s is a non-empty RFC 9110 token.
func validToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validValue reports whether a header value can be written as it is (no CR, LF
// or NUL), as the transport requires.
func validValue(v string) bool {
	return strings.IndexByte(v, '\n') < 0 && strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, 0) < 0
}

// CloseIdle closes every idle connection, for when the gateway stops. Requests in
// flight keep theirs, and connections they return later are pooled again.
func (p *Proxy) CloseIdle() {
	for _, pools := range []*sync.Map{&p.pools, &p.tlsPools} {
		pools.Range(func(_, v any) bool {
			v.(*Pool).closeIdle()
			return true
		})
	}
}

// Pool holds the idle keep-alive connections to one backend host, most
// recently used last. Safe for concurrent use.
//
// It keeps maxIdle of them for idleTimeout. More concurrent requests than that
// (a thousand clients, say) would otherwise close a connection after most
// requests and dial another for the next, a storm of dials that leaves the
// host's ephemeral ports in TIME_WAIT; so the pool keeps up to
// burstFactor*maxIdle, and closes those past maxIdle once idle for burstIdle:
// a sustained load reuses its connections, and they go soon after it ends.
type Pool struct {
	fp         *Proxy
	addr       string // dial address, host:port; "" when the host needs the ReverseProxy
	hostHeader string
	tls        *tls.Config // https: backends; nil for http:

	mu    sync.Mutex
	idle  []*backendConn
	timer *time.Timer // runs prune; armed while idle is non-empty
	armed bool
	due   time.Time // when the armed timer fires
}

// get pops the most recently used idle connection, or returns nil. With check,
// the connection is first probed without blocking, and dropped when the backend
// closed it or sent something unasked: a request that cannot be retried should
// not be the one to find out.
func (hp *Pool) get(check bool) *backendConn {
	for {
		hp.mu.Lock()
		n := len(hp.idle)
		if n == 0 {
			hp.mu.Unlock()
			return nil
		}
		c := hp.idle[n-1]
		hp.idle[n-1] = nil
		hp.idle = hp.idle[:n-1]
		hp.mu.Unlock()
		if !check || connAlive(c.nc) {
			c.reused = true
			return c
		}
		c.close()
	}
}

// put returns a connection whose last response was read to the end.
func (hp *Pool) put(c *backendConn) {
	now := hp.fp.now()
	c.idleAt = now
	hp.mu.Lock()
	if len(hp.idle) >= burstFactor*hp.fp.maxIdle {
		hp.mu.Unlock()
		c.close()
		return
	}
	hp.idle = append(hp.idle, c)
	if due := hp.nextPrune(); !hp.armed || due.Before(hp.due) {
		hp.arm(now, due)
	}
	hp.mu.Unlock()
}

// nextPrune is when the oldest idle connection is due to close: after
// burstIdle while the pool holds more than maxIdle, else after idleTimeout.
// Called with mu held and idle non-empty.
func (hp *Pool) nextPrune() time.Time {
	if len(hp.idle) > hp.fp.maxIdle {
		return hp.idle[0].idleAt.Add(hp.fp.burstIdle)
	}
	return hp.idle[0].idleAt.Add(hp.fp.idleTimeout)
}

// arm sets the timer to run prune at due. Called with mu held.
func (hp *Pool) arm(now, due time.Time) {
	hp.armed, hp.due = true, due
	if hp.timer == nil {
		hp.timer = time.AfterFunc(due.Sub(now), hp.prune)
	} else {
		hp.timer.Reset(due.Sub(now))
	}
}

// prune closes the connections idle for idleTimeout or longer, and those past
// maxIdle idle for burstIdle or longer (the oldest are first in idle), then
// re-arms the timer for the next one.
func (hp *Pool) prune() {
	now := hp.fp.now()
	hp.mu.Lock()
	n := 0
	for n < len(hp.idle) {
		age := now.Sub(hp.idle[n].idleAt)
		if age < hp.fp.idleTimeout && (len(hp.idle)-n <= hp.fp.maxIdle || age < hp.fp.burstIdle) {
			break
		}
		n++
	}
	stale := make([]*backendConn, n)
	copy(stale, hp.idle[:n])
	rest := copy(hp.idle, hp.idle[n:])
	clear(hp.idle[rest:])
	hp.idle = hp.idle[:rest]
	if rest > 0 {
		hp.arm(now, hp.nextPrune())
	} else {
		hp.armed = false
	}
	hp.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
}

// closeIdle closes the pool's idle connections and disarms its timer.
func (hp *Pool) closeIdle() {
	hp.mu.Lock()
	idle := hp.idle
	hp.idle = nil
	if hp.armed {
		hp.timer.Stop()
		hp.armed = false
	}
	hp.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// dial opens a fresh connection to the backend, bounded by the dial timeout, the
// deadline and ctx.
func (hp *Pool) dial(ctx context.Context, deadline time.Time) (*backendConn, error) {
	d := net.Dialer{Timeout: hp.fp.dialTimeout, Deadline: deadline, KeepAlive: 30 * time.Second, Control: hp.fp.dialControl}
	nc, err := d.DialContext(ctx, "tcp", hp.addr)
	if err != nil {
		return nil, err
	}
	if hp.fp.wrapConn != nil {
		nc = hp.fp.wrapConn(nc)
	}
	if hp.tls != nil {
		if nc, err = hp.handshake(ctx, nc, deadline); err != nil {
			return nil, err
		}
	}
	c := &backendConn{nc: nc, fp: hp.fp}
	c.cr = connReader{c: c, raw: rawio.New(nc), limit: math.MaxInt64}
	c.cw = connWriter{c: c, s: newSender(nc)}
	c.br = bufio.NewReader(&c.cr)
	c.bw = bufio.NewWriter(&c.cw)
	c.hostHeader = hp.hostHeader
	return c, nil
}

// handshake runs a TLS handshake over nc, bounded as the dial is, and returns
// the TLS connection; its reads and writes are raw system calls underneath
// (rawio.Wrap), as a plain connection's are.
func (hp *Pool) handshake(ctx context.Context, nc net.Conn, deadline time.Time) (net.Conn, error) {
	tc := tls.Client(rawio.Wrap(nc), hp.tls)
	d := time.Now().Add(hp.fp.dialTimeout)
	if !deadline.IsZero() && deadline.Before(d) {
		d = deadline
	}
	_ = nc.SetDeadline(d)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return tc, nil
}

// backendConn is one keep-alive connection to a backend, used by one request at a
// time.
type backendConn struct {
	fp *Proxy
	nc net.Conn
	cr connReader
	cw connWriter
	br *bufio.Reader
	bw *bufio.Writer
	dl time.Time // the deadline set on nc
	// The request in flight (begin to end): its context, its deadline, and the
	// stop of its armed abort (nil until extend arms it).
	ctx        context.Context
	hard       time.Time
	stop       func() bool
	hostHeader string
	line       requestLine  // the last request's line and Host field
	method     string       // of the request in flight
	shell      http.Request // what http.ReadResponse reads the method from
	// direct: readCommonHead read the last response, whose head (kept for the
	// next one's), resp and body are these; its fields went to the client's
	// header already.
	direct bool
	// rename: the request in flight asked for the Proxy's renames; values
	// is the room it gave for its response's field values (ServeExtra).
	rename bool
	values []string
	head   commonHead
	resp   http.Response
	body   fixedBody
	idleAt time.Time
	reused bool
	// The client's body being sent (writeBody): its writer, and the
	// integration deadline at which bodyTimer ends the wait for it.
	bodyMu    sync.Mutex
	bodyW     http.ResponseWriter
	bodyDL    time.Time
	bodyTimer *time.Timer
}

// softWait is how long an exchange runs before it arms the abort on its
// request's cancellation (see Proxy.ServeQuery); a connection's soft deadline
// is kept for requests that start while it is at least softWait/2 away.
const softWait = time.Second

// begin starts a request's exchange on c: the deadline of nc becomes a soft
// one, softWait away (or the request's deadline when that is nearer); a soft
// deadline set by an earlier request is kept while it is between softWait/2
// and softWait away and not past deadline, which spares most requests the
// cost of setting one.
func (c *backendConn) begin(ctx context.Context, now, deadline time.Time, softWait time.Duration) error {
	c.ctx, c.hard, c.stop = ctx, deadline, nil
	soft := now.Add(softWait)
	if deadline.Before(soft) {
		soft = deadline
	}
	if c.dl.After(soft) || c.dl.Before(now.Add(softWait/2)) {
		if err := c.nc.SetDeadline(soft); err != nil {
			return err
		}
		c.dl = soft
	}
	return nil
}

// extend is called when a read or write of the exchange timed out; it reports
// whether to try again. Past the request's deadline, or once the request is
// cancelled, no. Otherwise the deadline was a soft one: the abort on the
// request's cancellation is armed, the deadline moves to the request's, and
// the exchange goes on.
func (c *backendConn) extend() bool {
	if c.ctx == nil || c.ctx.Err() != nil || !time.Now().Before(c.hard) {
		return false
	}
	if c.stop == nil {
		c.stop = context.AfterFunc(c.ctx, c.abort)
		c.fp.extends.Add(1)
	}
	if err := c.nc.SetDeadline(c.hard); err != nil {
		return false
	}
	c.dl = c.hard
	// A cancellation between the AfterFunc and SetDeadline had its abort
	// overwritten: it is seen here.
	return c.ctx.Err() == nil
}

// end finishes the exchange begun by begin; it reports false when the abort
// ran (or runs), and the connection must not be reused.
func (c *backendConn) end() bool {
	ok := true
	if c.stop != nil {
		ok = c.stop()
	}
	c.ctx, c.stop = nil, nil
	return ok
}

// abort unblocks the connection's reads and writes when the client's request is
// cancelled.
func (c *backendConn) abort() { _ = c.nc.SetDeadline(time.Unix(1, 0)) }

func (c *backendConn) close() { _ = c.nc.Close() }

// roundTrip writes the request and reads the response head, past up to
// MaxInterim interim (1xx) answers, which do not go to w.
func (c *backendConn) roundTrip(w http.ResponseWriter, r *http.Request, u *url.URL, query, method string, extra []string, deadline time.Time, hasBody bool, buf *bufLease) (*http.Response, error) {
	c.cw.writes, c.direct = 0, false
	werr := c.writeHead(r, u, query, method, extra, hasBody)
	if werr == nil && hasBody {
		werr = c.writeBody(w, r, deadline, buf.get())
	}
	if werr == nil {
		// A request that goes out in one write goes with the wait for the
		// answer (sender): no read that is sure to find nothing. (After an
		// earlier write, an answer may have come already, and its readiness
		// would not be seen again.)
		c.cw.thenWait = c.cw.writes == 0
		werr = c.bw.Flush()
		c.cw.thenWait = false
	}
	if werr != nil {
		var be *bodyReadError
		if errors.As(werr, &be) {
			return nil, be // the client's body failed (malformed, too large, cut off)
		}
		if !hasBody {
			return nil, c.staleOr(werr)
		}
		// The backend may have answered before taking the whole body; read
		// that answer if it came, as the transport would, then drop the
		// connection.
		resp, rerr := c.readResponse(w)
		if rerr != nil {
			return nil, werr
		}
		resp.Close = true
		return resp, nil
	}
	if _, err := c.br.Peek(1); err != nil {
		return nil, c.staleOr(err)
	}
	return c.readResponse(w)
}

// staleOr marks err as errStaleConn when the connection was reused and the
// failure is not a timeout.
func (c *backendConn) staleOr(err error) error {
	if ne := net.Error(nil); c.reused && (!errors.As(err, &ne) || !ne.Timeout()) {
		return fmt.Errorf("%w: %w", errStaleConn, err)
	}
	return err
}

func (c *backendConn) readResponse(w http.ResponseWriter) (*http.Response, error) {
	if resp, ok := c.readCommonHead(w.Header()); ok {
		c.cr.limit = math.MaxInt64
		c.direct = true
		return resp, nil
	}
	c.shell.Method = c.method
	c.cr.limit = maxResponseHeaderBytes
	interim := 0
	for {
		resp, err := http.ReadResponse(c.br, &c.shell)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 599 {
			// ReadResponse takes any three digits; WriteHeader panics below
			// 100, and RFC 9110 §15 puts every valid status in 100..599.
			return nil, fmt.Errorf("backend answered status %d, outside 100..599", resp.StatusCode)
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			// An interim answer stays here: API Gateway sends its client only
			// the integration's final answer (the client's 100 Continue is the
			// gateway server's own). Past MaxInterim the backend is taken to
			// be broken, before it costs more reads.
			interim++
			if interim > MaxInterim {
				return nil, fmt.Errorf("%w: more than %d before a final answer", ErrTooManyInterim, MaxInterim)
			}
			c.cr.limit = maxResponseHeaderBytes
			continue
		}
		c.cr.limit = math.MaxInt64
		return resp, nil
	}
}

// requestLine is the request line and Host field a connection wrote last,
// kept for the next request: a route's requests mostly go with the same
// method and URL and no query of the client's. It keeps only a line of a
// common method, no client query and a short URL (maxLineURL), so that a
// pooled connection holds no more than a short line and never the client's
// strings.
type requestLine struct {
	method, path, rawPath, rawQuery string
	force                           bool
	b                               []byte // nil: none kept
}

// maxLineURL bounds the path, raw path and query of a kept request line.
const maxLineURL = 512

// writeLine writes the request line of method, u and query, and the Host
// field, into c.bw: the kept line when it is that one, else a line made anew
// (and kept when it may be).
func (c *backendConn) writeLine(u *url.URL, query, method string) {
	l := &c.line
	if l.b != nil && query == "" && method == l.method && u.Path == l.path && u.RawPath == l.rawPath &&
		u.RawQuery == l.rawQuery && u.ForceQuery == l.force {
		_, _ = c.bw.Write(l.b)
		return
	}
	m, common := commonMethod(method)
	if !common || query != "" || len(u.Path)+len(u.RawPath)+len(u.RawQuery) > maxLineURL {
		_, _ = c.bw.Write(appendLine(c.bw.AvailableBuffer(), u, query, method, c.hostHeader))
		return
	}
	*l = requestLine{method: m, path: u.Path, rawPath: u.RawPath, rawQuery: u.RawQuery, force: u.ForceQuery,
		b: appendLine(l.b[:0], u, "", m, c.hostHeader)}
	_, _ = c.bw.Write(l.b)
}

// appendLine appends the request line of method, u and query, and the Host
// field, to b.
func appendLine(b []byte, u *url.URL, query, method, host string) []byte {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	if u.ForceQuery || u.RawQuery != "" || query != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
		if u.RawQuery != "" && query != "" {
			b = append(b, '&')
		}
		b = append(b, query...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	return append(b, "\r\n"...)
}

// commonMethod returns m as a constant string when it is one of the common
// methods.
func commonMethod(m string) (string, bool) {
	switch m {
	case http.MethodGet:
		return http.MethodGet, true
	case http.MethodHead:
		return http.MethodHead, true
	case http.MethodPost:
		return http.MethodPost, true
	case http.MethodPut:
		return http.MethodPut, true
	case http.MethodPatch:
		return http.MethodPatch, true
	case http.MethodDelete:
		return http.MethodDelete, true
	case http.MethodOptions:
		return http.MethodOptions, true
	}
	return "", false
}

// writeHead writes the request line and headers into c.bw.
func (c *backendConn) writeHead(r *http.Request, u *url.URL, query, method string, extra []string, hasBody bool) error {
	c.method = method
	bw := c.bw
	c.writeLine(u, query, method)

	h := r.Header
	named := connectionNamed(h)
	if ua := h["User-Agent"]; len(ua) > 0 && ua[0] != "" && !slices.Contains(named, "User-Agent") {
		if err := writeField(bw, "User-Agent", ua[0]); err != nil {
			return err
		}
	}
	switch {
	case r.ContentLength > 0:
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.WriteString(strconv.FormatInt(r.ContentLength, 10))
		_, _ = bw.WriteString("\r\n")
	case r.ContentLength < 0:
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch:
		// As the transport does: "many servers expect a Content-Length for these methods".
		_, _ = bw.WriteString("Content-Length: 0\r\n")
	}
	for k, vv := range h {
		if skipOutgoing(k) || (named != nil && slices.Contains(named, k)) {
			continue
		}
		if !validToken(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vv {
			if err := writeField(bw, k, v); err != nil {
				return err
			}
		}
	}
	if hasToken(h["Te"], "trailers") {
		_, _ = bw.WriteString("Te: trailers\r\n")
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		// The client's address is appended to the X-Forwarded-For it sent, as
		// SetXForwarded does on the ReverseProxy path.
		xff := ip
		if prior := h["X-Forwarded-For"]; len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + ip
		}
		if err := writeField(bw, "X-Forwarded-For", xff); err != nil {
			return err
		}
	}
	if r.Host != "" { // an HTTP/1.0 request may have none: no empty field for it
		if err := writeField(bw, "X-Forwarded-Host", r.Host); err != nil {
			return err
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if err := writeField(bw, extra[i], extra[i+1]); err != nil {
			return err
		}
	}
	if r.TLS == nil {
		_, _ = bw.WriteString("X-Forwarded-Proto: http\r\n\r\n")
	} else {
		_, _ = bw.WriteString("X-Forwarded-Proto: https\r\n\r\n")
	}
	return nil
}

func writeField(bw *bufio.Writer, k, v string) error {
	if !validValue(v) {
		return fmt.Errorf("net/http: invalid header field value for %q", k)
	}
	_, _ = bw.WriteString(k)
	_, _ = bw.WriteString(": ")
	_, _ = bw.WriteString(textproto.TrimString(v))
	_, err := bw.WriteString("\r\n")
	return err
}

// ErrRequestBody marks a failure reading the client's request body (a
// malformed chunked body, one cut short): the client's error, not the
// backend's. Serve's errors match it with errors.Is, and keep the read's own
// error in their chain.
var ErrRequestBody = errors.New("reading the request body")

// bodyReadError is a failure reading the client's request body.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string        { return ErrRequestBody.Error() + ": " + e.err.Error() }
func (e *bodyReadError) Unwrap() error        { return e.err }
func (e *bodyReadError) Is(target error) bool { return target == ErrRequestBody } //nolint:errorlint // the sentinel itself

// writeBody sends the request body: the head first (as the transport does, for
// backends that answer on it), then the body, of Content-Length bytes or chunked
// with a flush after each chunk. Reading the client's body is bounded by the
// deadline too, and still by an earlier read deadline the listener set
// (listener.Limits.Handler's body-timeout): whichever comes first ends it.
func (c *backendConn) writeBody(w http.ResponseWriter, r *http.Request, deadline time.Time, buf []byte) (err error) {
	// A body that fits beside the head goes out with it, in one write; a larger
	// one (or one of unknown length) lets the backend see the head first.
	if r.ContentLength < 0 || r.ContentLength > int64(c.bw.Available()) {
		if err := c.bw.Flush(); err != nil {
			return err
		}
	}
	c.armBodyDeadline(w, deadline)
	defer func() { c.disarmBodyDeadline(err == nil) }()
	body := r.Body
	if r.ContentLength > 0 {
		var sent int64
		for sent < r.ContentLength {
			chunk := buf
			if rem := r.ContentLength - sent; rem < int64(len(chunk)) {
				chunk = chunk[:rem]
			}
			n, rerr := body.Read(chunk)
			if n > 0 {
				if _, err := c.bw.Write(chunk[:n]); err != nil {
					return err
				}
				sent += int64(n)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				return &bodyReadError{rerr}
			}
		}
		if sent != r.ContentLength {
			return &bodyReadError{fmt.Errorf("http: ContentLength=%d with Body length %d", r.ContentLength, sent)}
		}
		// Read to EOF, as the transport does, so the server learns the body is done.
		if n, rerr := body.Read(buf[:1]); n > 0 || (rerr != nil && !errors.Is(rerr, io.EOF)) {
			if rerr == nil {
				rerr = fmt.Errorf("http: ContentLength=%d with a longer body", r.ContentLength)
			}
			return &bodyReadError{rerr}
		}
		return nil
	}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if err := c.writeChunk(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &bodyReadError{rerr}
		}
	}
	_, err = c.bw.WriteString("0\r\n\r\n")
	return err
}

// armBodyDeadline has the read of w's request body end at deadline: a timer
// then moves the read deadline into the past. Setting the read deadline to
// deadline itself would replace an earlier one, the listener's body-timeout,
// whose 408 would then wait for the integration timeout.
func (c *backendConn) armBodyDeadline(w http.ResponseWriter, deadline time.Time) {
	c.bodyMu.Lock()
	c.bodyW, c.bodyDL = w, deadline
	c.bodyMu.Unlock()
	if c.bodyTimer == nil {
		c.bodyTimer = time.AfterFunc(time.Until(deadline), c.bodyDeadlinePassed)
		return
	}
	c.bodyTimer.Reset(time.Until(deadline))
}

// bodyDeadlinePassed ends the wait for the client's body at the integration
// deadline. A call that started as the last body ended, and runs once the next
// request's is armed, finds that deadline still ahead and does nothing.
func (c *backendConn) bodyDeadlinePassed() {
	c.bodyMu.Lock()
	defer c.bodyMu.Unlock()
	if c.bodyW != nil && !time.Now().Before(c.bodyDL) {
		_ = http.NewResponseController(c.bodyW).SetReadDeadline(time.Unix(1, 0))
	}
}

// disarmBodyDeadline stops the body's timer and, once the body was read whole,
// clears the read deadline. A body not read whole (its read failed, or the
// backend's write) keeps the deadline it had, the listener's body-timeout or
// the one the timer moved into the past: it bounds the server's discarding of
// the rest after the answer (net/http's reads the rest of a body the handler
// left, under whatever read deadline the connection has: none would let a
// client that stopped sending hold the connection).
func (c *backendConn) disarmBodyDeadline(whole bool) {
	c.bodyTimer.Stop()
	c.bodyMu.Lock()
	w := c.bodyW
	c.bodyW = nil
	c.bodyMu.Unlock()
	if whole {
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	}
}

// writeChunk writes one chunk of a chunked body and flushes it, so a streaming
// upload reaches the backend as it comes.
func (c *backendConn) writeChunk(p []byte) error {
	var hex [16]byte
	_, _ = c.bw.Write(strconv.AppendInt(hex[:0], int64(len(p)), 16))
	_, _ = c.bw.WriteString("\r\n")
	_, _ = c.bw.Write(p)
	_, _ = c.bw.WriteString("\r\n")
	return c.bw.Flush()
}

// connReader reads the connection with a budget, to bound a response head,
// going on past a soft deadline (backendConn.extend).
type connReader struct {
	c     *backendConn
	raw   *rawio.Conn // nil: not a plain TCP connection, or not Linux
	limit int64
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.limit <= 0 {
		return 0, fmt.Errorf("backend response head over %d bytes", maxResponseHeaderBytes)
	}
	if int64(len(p)) > r.limit {
		p = p[:r.limit]
	}
	n, err := r.read(p)
	for n == 0 && isTimeout(err) && r.c.extend() {
		n, err = r.read(p)
	}
	r.limit -= int64(n)
	return n, err
}

func (r *connReader) read(p []byte) (int, error) {
	if r.raw != nil {
		return r.raw.Read(p)
	}
	return r.c.nc.Read(p)
}

// connWriter writes the connection, going on past a soft deadline
// (backendConn.extend). With thenWait (the request's last bytes), it writes
// through the sender when it has one, which returns once the response can be
// read; what the sender leaves unwritten (a full socket buffer, a deadline)
// goes the ordinary way.
type connWriter struct {
	c        *backendConn
	s        *sender // nil: not a plain socket, or not Linux
	thenWait bool
	writes   int // Write calls in this exchange
}

func (w *connWriter) Write(p []byte) (int, error) {
	w.writes++
	written := 0
	if w.thenWait && w.s != nil {
		n, err := w.s.sendThenWait(w.c.nc, p)
		if err != nil || n == len(p) {
			return n, err
		}
		written = n
	}
	for {
		n, err := w.c.nc.Write(p[written:])
		written += n
		if err == nil || !isTimeout(err) || !w.c.extend() {
			return written, err
		}
	}
}

// isTimeout reports whether err is a passed deadline.
func isTimeout(err error) bool {
	return err != nil && errors.Is(err, os.ErrDeadlineExceeded)
}
