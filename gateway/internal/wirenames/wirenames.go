// Package wirenames recovers request header names as the client spelled them.
//
// API Gateway passes request headers to REST (payload 1.0) and WebSocket
// integrations with the client's own spelling ("x-api-key", "Content-type"), but
// net/http canonicalizes names while it parses a request ("X-Api-Key"). To recover
// the spelling while net/http keeps doing all the parsing, the gateway's listener
// hands out connections whose reads pass a headerScanner: it follows the HTTP/1.x
// framing of what the client sends and records, for every request in order, the
// header field names of its header block. The gateway's outermost handler takes the
// connection's next block for every request and keeps its spellings only when the
// block agrees with the request net/http parsed.
//
// The gateway's default listener, internal/h1, knows the spellings from its own
// reading of each request (h1.Options.WireNames) and needs no recorder: From
// returns what h1 attached to the request's context when Take attached nothing.
//
// The TLS listener runs net/http's server behind its own handshakes and records
// the same way: Listener wraps a TLS connection that speaks HTTP/1.x so that it
// still reports its TLS state (net/http sets Request.TLS from it) and leaves a
// connection that negotiated HTTP/2 as it is, for net/http's HTTP/2 server
// (whose header names are lower case on the wire, as the client sent them).
package wirenames

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/portico-dev/portico/internal/h1"
)

// Bounds of what a connection's recorder keeps.
const (
	// maxPendingBlocks is how many header blocks may wait for their requests
	// (pipelining); one more disables the recorder.
	maxPendingBlocks = 8
	// maxBlockFields is how many field names a block compares; a block with more
	// stays in step but gives no spellings.
	maxBlockFields = 256
	// maxChunkLine bounds a chunk-size line, as net/http does.
	maxChunkLine = 4096
	// headerSlop is what net/http reads beyond MaxHeaderBytes before it answers
	// 431 (its bufio slop).
	headerSlop = 4096
)

// Names are a request's header names that the client spelled otherwise than
// net/http's canonical form, as spelled; the first spelling of a name wins.
// (Header names net/http accepts are tokens, for which two names have the same
// canonical form exactly when they are equal but for ASCII case.)
type Names []string

// Name returns the client's spelling of the canonical header name, or the name.
func (w Names) Name(canonical string) string {
	for _, n := range w {
		if len(n) == len(canonical) && strings.EqualFold(n, canonical) {
			return n
		}
	}
	return canonical
}

type wireNamesKey struct{}

type recorderKey struct{}

// From returns the spellings attached to a request's context: by Take (or
// With), else by internal/h1's server.
func From(ctx context.Context) Names {
	if w, ok := ctx.Value(wireNamesKey{}).(Names); ok {
		return w
	}
	return h1.WireNames(ctx)
}

// With returns ctx with the spellings w attached, as Take attaches them.
func With(ctx context.Context, w Names) context.Context {
	return context.WithValue(ctx, wireNamesKey{}, w)
}

// HeaderName returns the spelling r's client used on the wire for the
// canonical header name, or the name itself when the spelling is not known (or
// was canonical).
func HeaderName(r *http.Request, canonical string) string {
	return From(r.Context()).Name(canonical)
}

// gatewayHeaders are the headers API Gateway adds (or rewrites) on the way to
// an integration; events spell them as API Gateway does, not as the client did.
var gatewayHeaders = map[string]bool{
	"Host": true, "X-Forwarded-For": true, "X-Forwarded-Port": true, "X-Forwarded-Proto": true, "X-Amzn-Trace-Id": true,
}

// EventName is the key of the canonical header name in an event's headers:
// the client's spelling, but API Gateway's for the headers it adds.
func (w Names) EventName(canonical string) string {
	if len(w) == 0 || gatewayHeaders[canonical] {
		return canonical
	}
	return w.Name(canonical)
}

// Take takes the next header block recorded on r's connection and, when
// it agrees with r and spells some name otherwise than canonically, returns r with
// the spellings in its context. Call it once for every request on a connection,
// in order.
func Take(r *http.Request) *http.Request {
	rec, _ := r.Context().Value(recorderKey{}).(*headerRecorder)
	if rec == nil {
		return r
	}
	w := rec.take(r.Header)
	if len(w) == 0 {
		return r
	}
	return r.WithContext(With(r.Context(), w))
}

// Listener wraps a listener so that every connection records its requests'
// header names. MaxHeaderBytes is the http.Server's.
//
// A *tls.Conn must have finished its handshake when the wrapped listener
// returns it (the gateway's handshakeListener does): one that negotiated HTTP/2
// is returned unwrapped, since net/http serves HTTP/2 only on a *tls.Conn; any
// other is wrapped in a recording connection that keeps its ConnectionState.
type Listener struct {
	net.Listener
	MaxHeaderBytes int
}

// Accept implements net.Listener.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*tls.Conn)
	if !ok {
		return &recordingConn{Conn: c, rec: newHeaderRecorder(l.MaxHeaderBytes)}, nil
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		return tc, nil
	}
	return &recordingTLSConn{recordingConn{Conn: tc, rec: newHeaderRecorder(l.MaxHeaderBytes)}, tc}, nil
}

// ConnContext is the http.Server's ConnContext: it hands a recording
// connection's recorder to the handlers of its requests.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	switch rc := c.(type) {
	case *recordingConn:
		return context.WithValue(ctx, recorderKey{}, rc.rec)
	case *recordingTLSConn:
		return context.WithValue(ctx, recorderKey{}, rc.rec)
	}
	return ctx
}

// recordingTLSConn is a recordingConn around a TLS connection. net/http
// serves it as HTTP/1.x and, since it is not a *tls.Conn, sets Request.TLS
// from its ConnectionState.
type recordingTLSConn struct {
	recordingConn
	tc *tls.Conn
}

// ConnectionState returns the TLS connection's state.
func (c *recordingTLSConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// recordingConn passes what is read from the connection through its recorder.
type recordingConn struct {
	net.Conn
	rec *headerRecorder
}

// Read implements net.Conn.
func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.rec.feed(p[:n])
	}
	return n, err
}

// UpgradedConn returns the wrapped connection. Once a request upgrades its
// connection to another protocol (WebSocket) there are no more header blocks to
// record, and the new owner reads and writes the wrapped connection directly:
// the connections package does, so that its poller can watch the socket.
func (c *recordingConn) UpgradedConn() net.Conn { return c.Conn }

// ReadFrom keeps net/http's sendfile/splice path for responses.
func (c *recordingConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite half-closes the connection when the underlying one can (net/http
// uses it to close gracefully).
func (c *recordingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// headerBlock is the field names of one request's header block, as sent.
type headerBlock struct {
	names []byte  // the names, concatenated
	ends  []int32 // the end of each name in names
	// overflow is set when the block had more than maxBlockFields fields.
	overflow bool
}

func (b *headerBlock) reset() {
	b.names, b.ends, b.overflow = b.names[:0], b.ends[:0], false
}

func (b *headerBlock) add(name []byte) {
	if len(b.ends) >= maxBlockFields {
		b.overflow = true
		return
	}
	b.names = append(b.names, name...)
	b.ends = append(b.ends, int32(len(b.names)))
}

func (b *headerBlock) name(i int) []byte {
	start := int32(0)
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.names[start:b.ends[i]]
}

// spellings checks the block against the header net/http parsed from the same
// request and returns the names spelled otherwise than canonically (the first
// spelling of each). ok is false when the block does not agree: the same set of
// canonical names, except Host (which net/http moves to Request.Host), the
// framing fields net/http removes (Transfer-Encoding, Trailer, and Content-Length
// of a chunked request) and the Cache-Control it adds for "Pragma: no-cache".
func (b *headerBlock) spellings(h http.Header) (w Names, ok bool) {
	if b.overflow {
		return nil, false
	}
	matched := 0
	pragma, cacheControl := false, false
	for i := range b.ends {
		name := b.name(i)
		dup := false
		for j := 0; j < i; j++ {
			if prev := b.name(j); len(prev) == len(name) && bytes.EqualFold(prev, name) {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if bytes.EqualFold(name, []byte("Host")) {
			continue
		}
		pragma = pragma || bytes.EqualFold(name, []byte("Pragma"))
		cacheControl = cacheControl || bytes.EqualFold(name, []byte("Cache-Control"))
		spelled := !isCanonicalName(name)
		var present bool
		if spelled {
			var buf [64]byte
			if len(name) <= len(buf) {
				c := canonicalize(buf[:len(name)], name)
				_, present = h[string(c)]
			} else {
				_, present = h[http.CanonicalHeaderKey(string(name))]
			}
		} else {
			_, present = h[string(name)]
		}
		if !present {
			if bytes.EqualFold(name, []byte("Transfer-Encoding")) || bytes.EqualFold(name, []byte("Trailer")) ||
				bytes.EqualFold(name, []byte("Content-Length")) {
				continue
			}
			return nil, false
		}
		matched++
		if spelled {
			w = append(w, string(name))
		}
	}
	extra := len(h) - matched
	if extra == 1 && pragma && !cacheControl {
		if _, ok := h["Cache-Control"]; ok {
			extra = 0
		}
	}
	if extra != 0 {
		return nil, false
	}
	return w, true
}

// isCanonicalName reports whether net/http would keep name as it is: an upper-case
// letter first and after each hyphen, lower-case elsewhere. Names with bytes that
// are not token characters count as canonical (net/http leaves them alone).
func isCanonicalName(name []byte) bool {
	upper, canonical := true, true
	for _, c := range name {
		if !isTokenByte(c) {
			return true
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	return canonical
}

// canonicalize writes the canonical form of the token name into dst (of the
// same length) and returns it.
func canonicalize(dst, name []byte) []byte {
	upper := true
	for i, c := range name {
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		dst[i] = c
		upper = c == '-'
	}
	return dst
}

func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// headerRecorder holds the header blocks a connection's scanner recorded until
// their requests take them. Safe for concurrent use by the connection's reader
// and its handlers.
type headerRecorder struct {
	// off is set once the recorder reports nothing more: the scanner stopped
	// (an upgrade, a CONNECT, bytes it cannot frame) or the blocks fell out of
	// step with the requests. Blocks already queued are still taken.
	off  atomic.Bool
	scan headerScanner // used by the reader only

	mu      sync.Mutex
	queue   [maxPendingBlocks]headerBlock
	head    int
	pending int
	bytes   int // name bytes queued
	// disabled is set when the queue overflowed or a block disagreed: nothing
	// more is taken.
	disabled bool
}

func newHeaderRecorder(maxHeaderBytes int) *headerRecorder {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	rec := &headerRecorder{}
	rec.scan = headerScanner{rec: rec, limit: maxHeaderBytes + headerSlop, maxQueued: maxHeaderBytes}
	return rec
}

// feed scans bytes read from the connection, in order.
func (rec *headerRecorder) feed(p []byte) {
	if rec.off.Load() {
		return
	}
	rec.scan.feed(p)
	if rec.scan.state == scanDone {
		rec.off.Store(true)
	}
}

// publish queues the scanner's current block (swapping buffers with the queue
// slot, so that neither side allocates in the steady state).
func (rec *headerRecorder) publish(b *headerBlock) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.disabled {
		return
	}
	if rec.pending == maxPendingBlocks || rec.bytes+len(b.names) > rec.scan.maxQueued {
		rec.disabled = true
		return
	}
	slot := &rec.queue[(rec.head+rec.pending)%maxPendingBlocks]
	*slot, *b = *b, *slot
	b.reset()
	rec.pending++
	rec.bytes += len(slot.names)
}

// take pops the next block and returns its spellings for a request whose parsed
// header is h; nil when there is no usable block.
func (rec *headerRecorder) take(h http.Header) Names {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.pending == 0 {
		if !rec.off.Load() {
			// The request was parsed, so the scanner has seen its header
			// block: the two are out of step.
			rec.disabled = true
		}
		return nil
	}
	if rec.disabled {
		return nil
	}
	b := &rec.queue[rec.head]
	rec.head = (rec.head + 1) % maxPendingBlocks
	rec.pending--
	rec.bytes -= len(b.names)
	w, ok := b.spellings(h)
	if !ok {
		rec.disabled = true
		return nil
	}
	return w
}

// scanState is where a headerScanner is in the byte stream.
type scanState uint8

const (
	scanRequestLine scanState = iota // before a request line
	scanFields                       // in a header block
	scanBody                         // in a Content-Length body
	scanChunkLine                    // before a chunk-size line
	scanChunkData                    // in a chunk's data
	scanChunkCR                      // before the CR after a chunk's data
	scanChunkLF                      // before the LF after a chunk's data
	scanTrailers                     // in the trailer block of a chunked body
	scanDone                         // stopped for good
)

// headerScanner follows the HTTP/1.x request framing of the bytes a client sends
// on one connection, as net/http frames them, and publishes every request's header
// block. It skips Content-Length bodies by count and follows chunked framing
// (sizes, extensions, trailers) to the end; it stops after an Upgrade or CONNECT
// request (the connection is then someone else's) and at anything it cannot frame.
// Bodies are never copied; a line is copied only when a read splits it. Not safe
// for concurrent use.
type headerScanner struct {
	rec       *headerRecorder
	limit     int // bytes of a header block (request line included) or trailer block
	maxQueued int // name bytes the recorder may queue

	state     scanState
	partial   []byte // a line split across reads, without its LF
	remaining uint64 // of a body or chunk
	block     headerBlock
	hdrBytes  int // of the current header or trailer block

	// The current request.
	post, connect, optionsStar, http10 bool
	contentLength                      int64 // -1: none
	transferEncodings                  int
	chunked, upgrade, framingField     bool

	// leadingSkipped counts the CR and LF bytes skipped before a request line
	// after a POST (net/http discards up to 4 for old clients).
	leadingSkipped int
}

// fail stops the scanner for the rest of the connection.
func (s *headerScanner) fail() {
	s.state = scanDone
	s.partial = nil
}

// lineLimit is the longest line the current state accepts.
func (s *headerScanner) lineLimit() int {
	if s.state == scanChunkLine {
		return maxChunkLine
	}
	return s.limit - s.hdrBytes
}

// feed scans p, the next bytes of the stream.
func (s *headerScanner) feed(p []byte) {
	for len(p) > 0 {
		switch s.state {
		case scanDone:
			return
		case scanBody, scanChunkData:
			n := uint64(len(p))
			if n > s.remaining {
				n = s.remaining
			}
			p = p[n:]
			s.remaining -= n
			if s.remaining == 0 {
				if s.state == scanBody {
					s.endMessage()
				} else {
					s.state = scanChunkCR
				}
			}
		case scanChunkCR:
			if p[0] != '\r' {
				s.fail()
				return
			}
			p = p[1:]
			s.state = scanChunkLF
		case scanChunkLF:
			if p[0] != '\n' {
				s.fail()
				return
			}
			p = p[1:]
			s.state = scanChunkLine
		default:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				if len(s.partial)+len(p) > s.lineLimit() {
					s.fail()
					return
				}
				s.partial = append(s.partial, p...)
				return
			}
			line := p[:i]
			p = p[i+1:]
			if len(s.partial) > 0 {
				s.partial = append(s.partial, line...)
				line = s.partial
			}
			if len(line) >= s.lineLimit() {
				s.fail()
				return
			}
			s.line(line)
			if cap(s.partial) > maxChunkLine {
				s.partial = nil // a long line once: do not keep its buffer
			} else if s.partial != nil {
				s.partial = s.partial[:0]
			}
		}
	}
}

// line handles one line (without its LF) in a line-oriented state.
func (s *headerScanner) line(line []byte) {
	switch s.state {
	case scanRequestLine:
		s.requestLine(line)
	case scanFields:
		s.hdrBytes += len(line) + 1
		s.field(trimCR(line))
	case scanChunkLine:
		s.chunkLine(line)
	case scanTrailers:
		s.hdrBytes += len(line) + 1
		if len(trimCR(line)) == 0 {
			s.endMessage()
		}
	}
}

func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

func (s *headerScanner) requestLine(line []byte) {
	if s.post {
		// net/http discards up to 4 CR or LF bytes after a POST.
		for s.leadingSkipped < 4 && len(line) > 0 && line[0] == '\r' {
			line = line[1:]
			s.leadingSkipped++
		}
		if len(line) == 0 && s.leadingSkipped < 4 {
			s.leadingSkipped++ // the LF
			return
		}
	}
	line = trimCR(line)
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(proto) != len("HTTP/1.1") || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || proto[7] < '0' || proto[7] > '9' {
		s.fail() // HTTP/2 prefaces, HTTP/0.9, garbage
		return
	}
	s.post = string(method) == http.MethodPost
	s.connect = string(method) == http.MethodConnect
	s.optionsStar = string(method) == http.MethodOptions && string(target) == "*"
	s.http10 = proto[7] == '0'
	s.contentLength, s.transferEncodings = -1, 0
	s.chunked, s.upgrade, s.framingField = false, false, false
	s.leadingSkipped = 0
	s.block.reset()
	s.hdrBytes = len(line) + 1
	s.state = scanFields
}

func (s *headerScanner) field(line []byte) {
	if len(line) == 0 {
		s.endHeaders()
		return
	}
	if line[0] == ' ' || line[0] == '\t' {
		// An obsolete line folding continues the previous field: an error on
		// the first line, and a change of meaning for a framing field.
		if len(s.block.ends) == 0 && !s.block.overflow || s.framingField {
			s.fail()
		}
		return
	}
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		s.fail()
		return
	}
	s.block.add(name)
	s.framingField = false
	switch len(name) {
	case len("Content-Length"):
		if bytes.EqualFold(name, []byte("Content-Length")) {
			s.framingField = true
			n, ok := parseContentLength(value)
			if !ok || s.contentLength >= 0 && n != s.contentLength {
				s.fail()
				return
			}
			s.contentLength = n
		}
	case len("Transfer-Encoding"):
		if bytes.EqualFold(name, []byte("Transfer-Encoding")) {
			s.framingField = true
			s.transferEncodings++
			s.chunked = bytes.EqualFold(bytes.Trim(value, " \t\r\n"), []byte("chunked"))
		}
	case len("Upgrade"):
		if bytes.EqualFold(name, []byte("Upgrade")) {
			s.upgrade = true
		}
	}
}

// parseContentLength parses a Content-Length value as net/http does.
func parseContentLength(v []byte) (int64, bool) {
	v = bytes.Trim(v, " \t\r\n")
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func (s *headerScanner) endHeaders() {
	// net/http ignores Transfer-Encoding on HTTP/1.0 requests and accepts only
	// a single "chunked" otherwise (else it answers 501 and closes).
	chunked := s.transferEncodings > 0 && !s.http10
	if chunked && (s.transferEncodings != 1 || !s.chunked) {
		s.fail()
		return
	}
	if !s.optionsStar { // net/http answers "OPTIONS *" itself
		s.rec.publish(&s.block)
	}
	s.hdrBytes = 0
	switch {
	case s.connect || s.upgrade:
		s.state = scanDone // hijacked (WebSockets) or tunnelled from here on
	case chunked:
		s.state = scanChunkLine
	case s.contentLength > 0:
		s.remaining = uint64(s.contentLength)
		s.state = scanBody
	default:
		s.endMessage()
	}
}

func (s *headerScanner) chunkLine(line []byte) {
	// net/http wants CRLF and no other CR, trims trailing whitespace, drops
	// extensions and parses at most 16 hex digits.
	n := len(line)
	if n == 0 || line[n-1] != '\r' || bytes.IndexByte(line[:n-1], '\r') >= 0 {
		s.fail()
		return
	}
	size, _, _ := bytes.Cut(bytes.TrimRight(line[:n-1], " \t"), []byte(";"))
	if len(size) == 0 || len(size) > 16 {
		s.fail()
		return
	}
	var v uint64
	for _, c := range size {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			s.fail()
			return
		}
		v = v<<4 | uint64(c)
	}
	if v == 0 {
		s.hdrBytes = 0
		s.state = scanTrailers
		return
	}
	s.remaining = v
	s.state = scanChunkData
}

func (s *headerScanner) endMessage() {
	s.hdrBytes = 0
	s.state = scanRequestLine
}
