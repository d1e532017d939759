package h2

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/h1"
)

// stream is one request and its response. Fields under the connection's mu
// unless noted.
type stream struct {
	c    *conn
	x    *exchange
	id   uint32
	cond sync.Cond // on c.mu: the body grew, the send window grew, or it closed

	req    *http.Request
	h      http.Handler
	cancel context.CancelFunc

	sendWin    int64
	recvWin    int64
	recvClosed bool // END_STREAM received (or the stream closed)
	sendClosed bool // END_STREAM sent
	closed     bool
	resetErr   error // why the stream closed early

	body       []byte // received, not read yet
	bodyClosed bool   // the handler closed the body: DATA is dropped
	bodyErr    error  // io.EOF after END_STREAM; set when the stream closed early
	declared   int64  // content-length, -1 if none
	received   int64
	unacked    int64       // body bytes read and not yet returned with WINDOW_UPDATE
	trailer    http.Header // the request's trailers as they arrive (the reader's)
	deadline   time.Time
	timer      *time.Timer
	expect     bool // Expect: 100-continue not answered yet

	ended bool // END_STREAM or RST_STREAM appended (under wmu)
}

// exchange is what a request needs, in one allocation: its stream, request,
// URL, header values (when they are few) and response writer.
type exchange struct {
	st     stream
	req    http.Request
	url    url.URL
	vals   [8]string
	w      responseWriter
	fields [12][2]string
}

func newStream(c *conn, id uint32) *stream {
	x := &exchange{}
	st := &x.st
	st.x = x
	st.c, st.id, st.declared, st.recvWin = c, id, -1, streamWindow
	st.cond.L = &c.mu
	return st
}

// endSend records that st's last frame is about to be written: from then on
// the stream is closed if the client's side is (before the frame reaches the
// client, which may open its next stream at once). Under c.mu.
func (st *stream) endSend() {
	st.sendClosed = true
	if st.recvClosed {
		st.c.closeStream(st, nil)
	}
}

// writer is the stream's response writer (after newRequest).
func (st *stream) writer() *responseWriter {
	w := &st.x.w
	w.st, w.head, w.header, w.length, w.goAway = st, st.req.Method == http.MethodHead, make(http.Header), -1, false
	w.fields = st.x.fields[:0]
	return w
}

// newRequest builds st's request from its header block; h is the handler to
// serve it (the server's, or one answering 431).
func (c *conn) newRequest(st *stream, f *headerBlock) (*http.Request, http.Handler, error) {
	var method, scheme, authority, path string
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":authority":
			authority = hf.Value
		case ":path":
			path = hf.Value
		default: // :protocol: extended CONNECT is not offered
			return nil, nil, errors.New("h2: unsupported pseudo-header " + hf.Name)
		}
	}
	if method == "CONNECT" {
		if scheme != "" || path != "" || authority == "" {
			return nil, nil, errors.New("h2: malformed CONNECT")
		}
	} else if method == "" || scheme == "" || path == "" {
		return nil, nil, errors.New("h2: missing pseudo-header")
	} else if (scheme == "http" || scheme == "https") && path[0] != '/' && (path != "*" || method != http.MethodOptions) {
		// RFC 9113 8.3.1: origin form, or "*" for OPTIONS; an absolute
		// form ("http://host/...") makes the request malformed.
		return nil, nil, errors.New("h2: :path not in origin form")
	} else if hasSpaceOrCTL(path) {
		// RFC 9113 8.3.1, RFC 3986: no SP or control byte in a target, which
		// HTTP/1.1's request line cannot carry either (h1 answers 400).
		return nil, nil, errors.New("h2: space or control byte in :path")
	}
	regular := f.RegularFields()
	header := make(http.Header, len(regular))
	var cookies []string
	vals := st.x.vals[:0]
	if len(regular) > len(st.x.vals) {
		vals = make([]string, 0, len(regular))
	}
	for _, hf := range regular {
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return nil, nil, errors.New("h2: connection-specific header " + hf.Name)
		case "te":
			if hf.Value != "trailers" {
				return nil, nil, errors.New("h2: te other than trailers")
			}
		case "cookie":
			cookies = append(cookies, hf.Value)
			continue
		}
		key := canonicalKey(hf.Name)
		if vv, ok := header[key]; ok {
			header[key] = append(vv, hf.Value)
			continue
		}
		vals = append(vals, hf.Value)
		header[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if len(cookies) > 0 {
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	if cl := header["Content-Length"]; len(cl) > 0 {
		for _, v := range cl[1:] {
			if v != cl[0] {
				return nil, nil, errors.New("h2: conflicting content-length")
			}
		}
		n, err := strconv.ParseUint(cl[0], 10, 63)
		if err != nil {
			return nil, nil, errors.New("h2: bad content-length")
		}
		st.declared = int64(n)
		if len(cl) > 1 {
			header["Content-Length"] = cl[:1]
		}
	}
	if f.StreamEnded() && st.declared > 0 {
		return nil, nil, errors.New("h2: content-length without a body")
	}
	host := authority
	if host != "" {
		// RFC 9113 8.3.1: a Host that differs from :authority makes the
		// request malformed (the gateway routes by :authority).
		for _, v := range header["Host"] {
			if v != authority {
				return nil, nil, errors.New("h2: host differs from :authority")
			}
		}
	} else {
		host = header.Get("Host")
	}
	if host == "" && (scheme == "https" || scheme == "http") {
		// RFC 9113 8.3.1: a scheme with an authority component needs
		// :authority or Host.
		return nil, nil, errors.New("h2: neither :authority nor host")
	}
	u := &st.x.url
	h := c.srv.h
	if method == "CONNECT" {
		u.Host = authority
		path = authority
	} else if err := parsePath(u, path); err != nil {
		var esc url.EscapeError
		if c.srv.opts.BadTarget == nil || !errors.As(err, &esc) {
			return nil, nil, err
		}
		*u, h = url.URL{Path: "/"}, c.srv.opts.BadTarget
	}
	ctx, cancel := context.WithCancel(c.ctx)
	st.cancel = cancel
	r := &st.x.req
	*r = http.Request{
		Method: method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: header, Host: host, RemoteAddr: c.remote, RequestURI: path, TLS: c.tls,
	}
	*r = *r.WithContext(ctx)
	if v := header["Trailer"]; len(v) > 0 {
		st.trailer = http.Header{}
		for _, list := range v {
			for key := range strings.SplitSeq(list, ",") {
				switch key = http.CanonicalHeaderKey(textproto.TrimString(key)); key {
				case "", "Transfer-Encoding", "Trailer", "Content-Length":
				default:
					st.trailer[key] = nil
				}
			}
		}
		delete(header, "Trailer")
		// The handler's map: its values are filled in (from st.trailer, the
		// reader's) when the body reaches its end.
		r.Trailer = make(http.Header, len(st.trailer))
		for k := range st.trailer {
			r.Trailer[k] = nil
		}
	}
	if f.StreamEnded() {
		r.Body = http.NoBody
	} else {
		r.ContentLength = st.declared
		if st.declared < 0 {
			r.ContentLength = -1
		}
		r.Body = &requestBody{st: st}
		st.expect = strings.EqualFold(header.Get("Expect"), "100-continue")
	}
	if f.Truncated {
		h = http.HandlerFunc(headerTooLarge)
		if refuse := c.srv.opts.Refuse; refuse != nil {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { refuse(w, r, http.StatusRequestHeaderFieldsTooLarge) })
		}
	}
	return r, h, nil
}

// hasSpaceOrCTL reports whether s holds a space or an ASCII control byte.
func hasSpaceOrCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// parsePath sets u to url.ParseRequestURI(path), without its allocation
// when path has no escapes.
func parsePath(u *url.URL, path string) error {
	if path == "" || path[0] != '/' || strings.ContainsAny(path, "%#") {
		return parseRequestURI(u, path)
	}
	p, q, hasQuery := strings.Cut(path, "?")
	raw := false
	for i := 0; i < len(p); i++ {
		switch pathBytes[p[i]] {
		case pathUnsafe:
			return parseRequestURI(u, path)
		case pathKeptRaw:
			raw = true
		}
	}
	if strings.ContainsFunc(q, isCTL) {
		return parseRequestURI(u, path)
	}
	*u = url.URL{Path: p, RawQuery: q, ForceQuery: hasQuery && q == ""}
	if raw {
		// url.URL escapes these in EscapedPath unless RawPath keeps the
		// spelling, as ParseRequestURI's setPath does: the gateway matches
		// mappings and routes on EscapedPath.
		u.RawPath = p
	}
	return nil
}

func parseRequestURI(u *url.URL, path string) error {
	pu, err := url.ParseRequestURI(path)
	if err != nil {
		return err
	}
	*u = *pu
	return nil
}

func isCTL(r rune) bool { return r < ' ' || r == 0x7f }

// Classes of a path's bytes for parsePath.
const (
	pathPlain   = iota // url.URL keeps it as it is
	pathKeptRaw        // a sub-delim url.URL escapes in EscapedPath unless RawPath keeps it: ! ' ( ) *
	pathUnsafe         // anything else: url.URL escapes or refuses it
)

// pathBytes classifies every byte value (bytes of non-ASCII runes are
// unsafe, as the runes are).
var pathBytes = func() (t [256]uint8) {
	for i := range t {
		t[i] = pathUnsafe
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = pathPlain, pathPlain
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = pathPlain
	}
	for _, c := range "-._~/$&+,;=:@" {
		t[c] = pathPlain
	}
	for _, c := range "!'()*" {
		t[c] = pathKeptRaw
	}
	return t
}()

// headerTooLarge answers a request whose header list was over the limit, as
// net/http does.
func headerTooLarge(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	_, _ = io.WriteString(w, "431 Request Header Fields Too Large\n")
}

// requestBody is a request's body: what DATA frames brought, returned to the
// client's window as the handler reads it.
type requestBody struct {
	st     *stream
	closed bool
}

// errBodyClosed is what Read returns after Close.
var errBodyClosed = errors.New("h2: read on closed body")

// Read implements io.Reader.
func (b *requestBody) Read(p []byte) (int, error) {
	st := b.st
	c := st.c
	if b.closed {
		return 0, errBodyClosed
	}
	c.mu.Lock()
	if st.expect {
		st.expect = false
		if !st.recvClosed && len(st.body) == 0 && !st.closed {
			c.mu.Unlock()
			c.writeContinue(st)
			c.mu.Lock()
		}
	}
	var stop *time.Timer // wakes this read at the end of the stop's grace
	var stopAt time.Time
	for len(st.body) == 0 && st.bodyErr == nil {
		if !st.deadline.IsZero() && !time.Now().Before(st.deadline) {
			c.mu.Unlock()
			stopTimer(stop)
			return 0, os.ErrDeadlineExceeded
		}
		if stop == nil && c.srv.set.Stopping() {
			// The server is stopping (Shutdown wakes this wait): the body
			// has stopGrace to bring its next bytes, or the read ends
			// with h1.ErrShutdown, for the handler to answer 503.
			stopAt = time.Now().Add(stopGrace)
			stop = time.AfterFunc(stopGrace, func() {
				c.mu.Lock()
				st.cond.Broadcast()
				c.mu.Unlock()
			})
		}
		if stop != nil && !time.Now().Before(stopAt) {
			c.mu.Unlock()
			return 0, h1.ErrShutdown
		}
		st.cond.Wait()
	}
	stopTimer(stop)
	if len(st.body) == 0 {
		err := st.bodyErr
		if errors.Is(err, io.EOF) && st.trailer != nil {
			for k, vv := range st.trailer {
				st.req.Trailer[k] = vv
			}
		}
		c.mu.Unlock()
		return 0, err
	}
	n := copy(p, st.body)
	st.body = st.body[n:]
	if len(st.body) == 0 {
		st.body = st.body[:0:0]
	}
	// Return what was read to the client's windows in steps of an eighth.
	st.unacked += int64(n)
	c.recvUnacked += int64(n)
	var streamInc, connInc int64
	if !st.recvClosed && !st.closed && st.unacked >= streamWindow/8 {
		streamInc, st.unacked = st.unacked, 0
		st.recvWin += streamInc
	}
	if c.recvUnacked >= connWindow/8 {
		connInc, c.recvUnacked = c.recvUnacked, 0
		c.recvWin += connInc
	}
	c.mu.Unlock()
	if streamInc > 0 || connInc > 0 {
		c.wmu.Lock()
		if connInc > 0 {
			_ = c.wfr.WriteWindowUpdate(0, uint32(connInc))
		}
		if streamInc > 0 && !st.ended {
			_ = c.wfr.WriteWindowUpdate(st.id, uint32(streamInc))
		}
		c.wmu.Unlock()
		_ = c.flush()
	}
	return n, nil
}

// stopGrace is how long a request body still coming in when Shutdown began
// has for each of its next reads, as HTTP/1.1's has (h1): a client that keeps
// sending its body goes on, one that stalls gets h1.ErrShutdown after it
// rather than holding the stop until its deadline.
const stopGrace = time.Second

// wakeBodyReads wakes the reads of c's request bodies waiting for bytes, for
// Shutdown: each then has stopGrace (requestBody.Read).
func (c *conn) wakeBodyReads() {
	c.mu.Lock()
	for _, st := range c.streams {
		st.cond.Broadcast()
	}
	c.mu.Unlock()
}

// stopTimer stops t, if any.
func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// Close implements io.Closer: what the body holds, and what arrives from now
// on, is dropped, and the client's window for it comes back.
func (b *requestBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	st, c := b.st, b.st.c
	c.mu.Lock()
	st.bodyClosed = true
	n := c.dropBody(st)
	closed := c.closed
	c.mu.Unlock()
	if n > 0 && !closed {
		c.windowBack(n)
		_ = c.flush()
	}
	return nil
}

// setReadDeadline bounds the wait for the body's next bytes.
func (st *stream) setReadDeadline(t time.Time) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	st.deadline = t
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	if !t.IsZero() {
		st.timer = time.AfterFunc(time.Until(t), func() {
			c.mu.Lock()
			st.cond.Broadcast()
			c.mu.Unlock()
		})
	}
}

// writeContinue answers Expect: 100-continue.
func (c *conn) writeContinue(st *stream) {
	c.wmu.Lock()
	if !st.ended {
		c.writeHeaderBlock(st.id, false, func(enc func(name, value string)) { enc(":status", "100") })
	}
	c.wmu.Unlock()
	_ = c.flush()
}

// canonicalKey is http.CanonicalHeaderKey for a lower-case field name, without
// an allocation for the common ones.
func canonicalKey(name string) string {
	if k, ok := commonCanonical[name]; ok {
		return k
	}
	return http.CanonicalHeaderKey(name)
}

// lowerKey is the wire name of a header key, without an allocation for the
// common ones.
func lowerKey(key string) string {
	if k, ok := commonLower[key]; ok {
		return k
	}
	return strings.ToLower(key)
}

var commonCanonical, commonLower = func() (map[string]string, map[string]string) {
	names := []string{"accept", "accept-charset", "accept-encoding", "accept-language", "accept-ranges",
		"access-control-allow-credentials", "access-control-allow-headers", "access-control-allow-methods",
		"access-control-allow-origin", "access-control-expose-headers", "access-control-max-age",
		"access-control-request-headers", "access-control-request-method", "age", "allow", "authorization",
		"cache-control", "content-disposition", "content-encoding", "content-language", "content-length",
		"content-location", "content-range", "content-type", "cookie", "date", "etag", "expect", "expires",
		"from", "host", "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
		"last-modified", "link", "location", "max-forwards", "origin", "priority", "proxy-authenticate",
		"proxy-authorization", "range", "referer", "refresh", "retry-after", "server", "set-cookie",
		"strict-transport-security", "trailer", "transfer-encoding", "user-agent", "vary", "via",
		"www-authenticate", "x-amz-date", "x-amz-security-token", "x-amzn-requestid", "x-amzn-trace-id",
		"x-api-key", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-request-id",
		"sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user", "sec-ch-ua",
		"sec-ch-ua-mobile", "sec-ch-ua-platform", "upgrade-insecure-requests", "dnt", "pragma",
		"x-amz-apigw-id", "x-amzn-errortype", "x-amzn-remapped-content-length"}
	canon := make(map[string]string, len(names))
	lower := make(map[string]string, len(names))
	for _, n := range names {
		k := http.CanonicalHeaderKey(n)
		canon[n] = k
		lower[k] = n
	}
	return canon, lower
}()
