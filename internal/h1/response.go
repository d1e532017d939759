package h1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// errFinished is returned by a write after the handler returned.
var errFinished = errors.New("h1: response written after its handler returned")

// response is a request's http.ResponseWriter. Like net/http's, it is not safe
// for concurrent use, except that the request body may be read while the
// response is written.
type response struct {
	c      *conn
	req    *http.Request
	out    *outBuf
	header http.Header
	body   *body // nil without a request body

	status        int
	contentLength int64 // the declared or computed length; -1: unknown
	written       int64
	buf           []byte // the body held before the commit

	wroteHeader bool // WriteHeader called with a final status
	committed   bool // the status line and header are in out.bw
	chunking    bool
	handlerDone bool
	closeAfter  bool
	fullDuplex  bool
	head        bool
	canContinue bool // guarded by c.wmu: a "100 Continue" may still be sent
	err         error

	// What WriteHeader saw in the handler's header.
	clHeader    string // a valid Content-Length the handler set
	te          string // the first Transfer-Encoding
	connection  string // the first Connection
	hasConn     bool
	hasType     bool
	hasCE       bool
	hasDate     bool
	trailers    bool
	switchProto bool

	// ctx is the request's context (in the response's allocation).
	ctx requestContext
}

func newResponse(c *conn, req *http.Request) *response {
	out := outPool.Get().(*outBuf)
	out.bw.Reset(c.out)
	if c.ownWriteDeadline.Load() {
		// The last handler's write deadline ends with its response.
		c.ownWriteDeadline.Store(false)
		c.writeUntil = time.Time{}
	}
	c.stopStall.Store(0) // and so does its stall at a stop (SetStopStall)
	w := c.nextResp
	c.nextResp = nil
	if w == nil {
		w = new(response)
	}
	*w = response{c: c, req: req, out: out, header: c.header(), contentLength: -1,
		buf: out.body[:0], head: req.Method == http.MethodHead, status: http.StatusOK,
		ctx: requestContext{parent: c.ctx}}
	return w
}

// maxReusedHeader is the most fields a response header may have had for its
// map to be cleared and reused by the next response (clearing costs in
// proportion to the map's room).
const maxReusedHeader = 16

// header returns an empty header map for the connection's next response: the
// last response's, cleared (a handler may not use its ResponseWriter, the
// header included, once it returned), so that a keep-alive connection does
// not allocate a map and its first group of slots for every response.
func (c *conn) header() http.Header {
	h := c.hdr
	if h == nil || len(h) > maxReusedHeader {
		h = make(http.Header)
		c.hdr = h
		return h
	}
	clear(h)
	return h
}

// release returns the buffers to the pool.
func (w *response) release() {
	if w.out == nil {
		return
	}
	w.out.bw.Reset(nil)
	w.out.hdr = w.out.hdr[:0]
	if cap(w.buf) <= bodyBufferSize {
		w.out.body = w.buf[:0]
	}
	outPool.Put(w.out)
	w.out, w.buf = nil, nil
}

// Header implements http.ResponseWriter.
func (w *response) Header() http.Header { return w.header }

func bodyAllowedForStatus(status int) bool {
	return (status < 100 || status > 199) && status != 204 && status != 304
}

// excluded are the header fields the commit writes itself.
var excluded = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true}

// excluded304 adds what a 304 must not carry (writeFields has both sets in
// a switch).
var excluded304 = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Content-Type": true}

// WriteHeader implements http.ResponseWriter. Informational statuses (but 101)
// are sent at once; a final status fixes the header: later changes to it are
// not sent, except declared trailers.
func (w *response) WriteHeader(code int) {
	if w.c.hijacked || w.wroteHeader || w.out == nil {
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		bw := w.out.bw
		writeStatusLine(bw, w.req.ProtoAtLeast(1, 1), code)
		_ = w.header.WriteSubset(bw, excluded)
		_, _ = bw.WriteString("\r\n")
		w.setErr(bw.Flush())
		return
	}
	w.wroteHeader = true
	w.status = code
	var seen fieldsSeen
	if writeFields(w.out, w.header, code == http.StatusNotModified, &seen) {
		w.trailers = true
	}
	// The keys writeFields saw are canonical, so its values are what h.Get
	// and h.Values give.
	if len(seen.cl) > 0 && seen.cl[0] != "" {
		if v, err := strconv.ParseInt(seen.cl[0], 10, 64); err == nil && v >= 0 {
			w.contentLength = v
			w.clHeader = seen.cl[0]
		}
	}
	if len(seen.te) > 0 {
		w.te = seen.te[0]
	}
	if seen.hasConn {
		w.hasConn = true
		if len(seen.conn) > 0 {
			w.connection = seen.conn[0]
		}
	}
	w.hasType, w.hasDate = seen.hasType, seen.hasDate
	w.hasCE = len(seen.ce) > 0 && seen.ce[0] != ""
	w.switchProto = code == http.StatusSwitchingProtocols && len(seen.upgrade) > 0 && seen.upgrade[0] != "" &&
		httpguts.HeaderValuesContainsToken(seen.conn, "Upgrade")
	if seen.trailer {
		w.trailers = true
	}
}

// fieldsSeen is what writeFields saw of the fields that decide a response's
// framing: the values of those keys (nil when absent) and whether they are there.
type fieldsSeen struct {
	cl, te, conn, ce, upgrade []string
	hasConn, hasType, hasDate bool
	trailer                   bool // a non-empty Trailer
}

// writeFields appends h's fields but those in excluded (excluded304 when
// is304) and the trailers announced with http.TrailerPrefix to o, byte for
// byte as h.WriteSubset(o, ex) would with those trailers added to ex (keys
// sorted, invalid names dropped, CR and LF in values made spaces, values
// trimmed). Unlike WriteSubset it uses no pooled sorter, looks each key up
// once (in the iteration) and copies clean values as they are. It reports
// whether a key had http.TrailerPrefix, and fills seen (when not nil) with the
// framing fields met on the way, sparing the commit its own lookups.
func writeFields(o *outBuf, h http.Header, is304 bool, seen *fieldsSeen) (prefixed bool) {
	type field struct {
		k  string
		vs []string
	}
	if seen == nil {
		seen = new(fieldsSeen)
	}
	var small [16]field
	fs := small[:0]
	for k, vs := range h {
		switch k {
		case "Content-Length":
			seen.cl = vs
			continue
		case "Transfer-Encoding":
			seen.te = vs
			continue
		case "Connection":
			seen.conn, seen.hasConn = vs, true
			continue
		case "Content-Type":
			seen.hasType = true
			if is304 {
				continue
			}
		case "Date":
			seen.hasDate = true
		case "Content-Encoding":
			seen.ce = vs
		case "Upgrade":
			seen.upgrade = vs
		case "Trailer":
			seen.trailer = len(vs) > 0
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			prefixed = true
			continue
		}
		fs = append(fs, field{k, vs})
	}
	if len(fs) <= len(small) {
		for i := 1; i < len(fs); i++ { // insertion sort: no allocation, few keys
			for j := i; j > 0 && fs[j].k < fs[j-1].k; j-- {
				fs[j], fs[j-1] = fs[j-1], fs[j]
			}
		}
	} else {
		slices.SortFunc(fs, func(a, b field) int { return strings.Compare(a.k, b.k) })
	}
	for _, f := range fs {
		if !httpguts.ValidHeaderFieldName(f.k) {
			continue
		}
		for _, v := range f.vs {
			v = FieldValue(v)
			o.hdr = append(o.hdr, f.k...)
			o.hdr = append(o.hdr, ": "...)
			o.hdr = append(o.hdr, v...)
			o.hdr = append(o.hdr, "\r\n"...)
		}
	}
	return prefixed
}

// FieldValue is v as a field value goes out: as it is when clean
// (cleanValue), else on one line with its control characters as spaces
// (oneLine).
func FieldValue(v string) string {
	if cleanValue(v) {
		return v
	}
	return oneLine(v)
}

// cleanValue reports whether v has no control character but tabs and no
// leading or trailing white space: such a value is written as it is.
func cleanValue(v string) bool {
	if v == "" {
		return true
	}
	if isSpace(v[0]) || isSpace(v[len(v)-1]) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if isCTL(v[i]) {
			return false
		}
	}
	return true
}

// isCTL reports whether b is a control character other than a tab, which no
// field value may hold (RFC 9110 5.5): CR, LF, NUL and DEL among them.
func isCTL(b byte) bool { return (b < ' ' && b != '\t') || b == 0x7f }

// oneLine is a field value as it goes out: as net/http's WriteSubset writes
// it (CR and LF as spaces, white space trimmed), but with every other control
// character a space too, so that no value can break the head (net/http
// writes a NUL or a DEL as it is, and a client then drops the answer).
func oneLine(v string) string {
	b := []byte(v)
	for i, c := range b {
		if isCTL(c) {
			b[i] = ' '
		}
	}
	return textproto.TrimString(string(b))
}

// isSpace is textproto's ASCII white space (what TrimString trims).
func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// statusLines are the status lines of the codes with a text, HTTP/1.0 and 1.1.
var statusLines = func() (t [2][600]string) {
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			t[0][code] = "HTTP/1.0 " + strconv.Itoa(code) + " " + text + "\r\n"
			t[1][code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return t
}()

func writeStatusLine(bw *bufio.Writer, is11 bool, code int) {
	v := 0
	if is11 {
		v = 1
	}
	if code < 600 && statusLines[v][code] != "" {
		_, _ = bw.WriteString(statusLines[v][code])
		return
	}
	// A code without a text has an empty reason phrase (RFC 9112 4: the
	// space stays), as API Gateway sends one; net/http's "status code N" is
	// its own invention.
	_, _ = fmt.Fprintf(bw, "HTTP/1.%d %03d \r\n", v, code)
}

// Write implements http.ResponseWriter.
func (w *response) Write(p []byte) (int, error) {
	if err := w.beforeWrite(len(p)); err != nil || len(p) == 0 {
		return 0, err
	}
	if !w.committed {
		if len(w.buf)+len(p) <= bodyBufferSize {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.commitHeld(p)
	}
	return w.writeBody(p)
}

// WriteString implements io.StringWriter.
func (w *response) WriteString(s string) (int, error) {
	if err := w.beforeWrite(len(s)); err != nil || len(s) == 0 {
		return 0, err
	}
	if !w.committed && len(w.buf)+len(s) <= bodyBufferSize {
		w.buf = append(w.buf, s...)
		return len(s), nil
	}
	return w.Write([]byte(s))
}

// beforeWrite checks a write of n bytes and counts it.
func (w *response) beforeWrite(n int) error {
	switch {
	case w.c.hijacked:
		return http.ErrHijacked
	case w.out == nil:
		return errFinished
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if n == 0 {
		return nil
	}
	if !bodyAllowedForStatus(w.status) {
		return http.ErrBodyNotAllowed
	}
	w.written += int64(n)
	if w.contentLength != -1 && w.written > w.contentLength {
		return http.ErrContentLength
	}
	return nil
}

// commitHeld commits the header, sniffing the held body or else next, and
// sends the held body.
func (w *response) commitHeld(next []byte) {
	sniff := w.buf
	if len(sniff) == 0 {
		sniff = next
	}
	w.commit(sniff)
	if len(w.buf) > 0 {
		_, _ = w.writeBody(w.buf)
	}
	w.buf = w.buf[:0]
}

// writeBody sends p after the header, framed.
func (w *response) writeBody(p []byte) (int, error) {
	if w.head || w.err != nil {
		return len(p), w.err
	}
	bw := w.out.bw
	if w.chunking {
		_, _ = bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
		_, _ = bw.Write(p)
		_, err := bw.WriteString("\r\n")
		w.setErr(err)
	} else {
		_, err := bw.Write(p)
		w.setErr(err)
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// setErr records a write error: the connection is done, and so is the
// request's context.
func (w *response) setErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
		w.closeAfter = true
		w.c.reqCtx.end()
	}
}

// commit writes the status line and header to out.bw, deciding the framing as
// net/http's server does; p is the start of the body (all of it once the
// handler is done).
func (w *response) commit(p []byte) {
	w.committed = true
	if w.body != nil && w.body.expect {
		w.c.wmu.Lock()
		w.canContinue = false
		w.c.wmu.Unlock()
	}
	keepAlives := !w.c.s.set.Stopping()
	code := w.status
	allowed := bodyAllowedForStatus(code)
	hasTE := w.te != ""
	var setCL []byte
	if w.handlerDone && !w.trailers && !hasTE && allowed && w.clHeader == "" && (!w.head || len(p) > 0) {
		w.contentLength = int64(len(p))
		setCL = strconv.AppendInt(w.c.clBuf[:0], int64(len(p)), 10)
	}
	req := w.req
	wants10KeepAlive := req.ProtoMajor == 1 && req.ProtoMinor == 0 && httpguts.HeaderValuesContainsToken(req.Header["Connection"], "keep-alive")
	if wants10KeepAlive && keepAlives && w.clHeader != "" && w.connection == "keep-alive" {
		w.closeAfter = false
	}
	hasCL := w.contentLength != -1
	setConn := ""
	if wants10KeepAlive && (w.head || hasCL || !allowed) {
		if !w.hasConn {
			setConn = "keep-alive"
		}
	} else if !req.ProtoAtLeast(1, 1) || req.Close || httpguts.HeaderValuesContainsToken(req.Header["Connection"], "close") {
		w.closeAfter = true
	}
	if w.connection == "close" || !keepAlives {
		w.closeAfter = true
	}
	dropConn := false
	if b := w.body; b != nil {
		if b.expectPending() {
			w.closeAfter = true // the client may be waiting for a 100 Continue: its body is not coming
		} else if req.ContentLength != 0 && !w.closeAfter && !w.fullDuplex {
			if tooBig, broken := b.discard(); broken {
				w.closeAfter = true
			} else if tooBig {
				w.closeAfter = true
				dropConn = true
				setConn = "close"
			}
		}
	}
	setType := ""
	if allowed && !w.hasCE && !w.hasType && !hasTE && len(p) > 0 {
		setType = http.DetectContentType(p)
	}
	keepCL := w.clHeader != "" && allowed
	if hasCL && hasTE && w.te != "identity" {
		w.c.s.opts.Log.Warn("h1: WriteHeader called with both Transfer-Encoding and Content-Length", "te", w.te, "content-length", w.contentLength)
		keepCL, setCL, hasCL = false, nil, false
	}
	keepTE := hasTE
	setTE := ""
	switch {
	case w.head || !allowed || code == http.StatusNoContent:
		keepTE = false
	case hasCL:
		keepTE = false
	case req.ProtoAtLeast(1, 1):
		if hasTE && w.te == "identity" {
			w.chunking = false
			w.closeAfter = true
			keepTE = false
		} else {
			w.chunking = true
			setTE = "chunked"
			if hasTE && w.te == "chunked" {
				keepTE = false
			}
		}
	default:
		w.closeAfter = true
		keepTE = false
	}
	if w.chunking {
		keepCL, setCL = false, nil
	}
	keepConn := w.hasConn && !dropConn
	if w.closeAfter && (!keepAlives || !httpguts.HeaderValuesContainsToken(w.header["Connection"], "close")) && !w.switchProto {
		keepConn = false
		if req.ProtoAtLeast(1, 1) {
			setConn = "close"
		}
	}

	bw := w.out.bw
	writeStatusLine(bw, req.ProtoAtLeast(1, 1), code)
	_, _ = bw.Write(w.out.hdr)
	if keepCL {
		writeField(bw, "Content-Length", w.clHeader)
	}
	if keepTE {
		for _, v := range w.header["Transfer-Encoding"] {
			writeField(bw, "Transfer-Encoding", v)
		}
	}
	if keepConn {
		for _, v := range w.header["Connection"] {
			writeField(bw, "Connection", v)
		}
	}
	if !w.hasDate {
		_, _ = bw.WriteString("Date: ")
		now := w.c.now()
		if w.handlerDone && w.body == nil {
			w.c.doneAt = now
		}
		_, _ = bw.Write(w.c.dateValue(now))
		_, _ = bw.WriteString("\r\n")
	}
	if setCL != nil {
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.Write(setCL)
		_, _ = bw.WriteString("\r\n")
	}
	if setType != "" {
		writeField(bw, "Content-Type", setType)
	}
	if setConn != "" {
		writeField(bw, "Connection", setConn)
	}
	if setTE != "" {
		writeField(bw, "Transfer-Encoding", setTE)
	}
	_, err := bw.WriteString("\r\n")
	w.setErr(err)
}

func writeField(bw *bufio.Writer, name, value string) {
	_, _ = bw.WriteString(name)
	_, _ = bw.WriteString(": ")
	value = FieldValue(value)
	_, _ = bw.WriteString(value)
	_, _ = bw.WriteString("\r\n")
}

// finish completes the response after the handler returned and sends it.
func (w *response) finish() {
	w.handlerDone = true
	if !w.wroteHeader && w.body != nil && w.body.readFailed() {
		// The handler answered nothing to a request whose body could not
		// be read to its end (the client went away, or a deadline passed):
		// there is no answer to give, certainly not a default 200 that
		// would say an incomplete request succeeded. The connection closes
		// without one.
		w.closeAfter = true
		_ = w.body.Close()
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	bw := w.out.bw
	if !w.committed {
		w.commit(w.buf)
		if len(w.buf) > 0 {
			_, _ = w.writeBody(w.buf)
		}
		w.buf = w.buf[:0]
	}
	if w.chunking && !w.head {
		_, _ = bw.WriteString("0\r\n")
		w.writeTrailers(bw)
		_, err := bw.WriteString("\r\n")
		w.setErr(err)
	}
	w.setErr(bw.Flush())
	if w.body != nil {
		if w.closeAfter {
			_ = w.body.Close()
		} else if !w.body.finish() {
			w.closeAfter = true
		}
	}
}

// writeTrailers writes the declared trailers and those named with
// http.TrailerPrefix.
func (w *response) writeTrailers(bw *bufio.Writer) {
	for _, decl := range w.header["Trailer"] {
		for _, k := range strings.Split(decl, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if !httpguts.ValidTrailerHeader(k) {
				continue
			}
			for _, v := range w.header[k] {
				writeField(bw, k, v)
			}
		}
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vv {
				writeField(bw, name, v)
			}
		}
	}
}

// reusable reports whether the connection may serve another request.
func (w *response) reusable() bool {
	if w.closeAfter || w.err != nil {
		return false
	}
	return w.head || w.contentLength == -1 || !bodyAllowedForStatus(w.status) || w.contentLength == w.written
}

// Flush implements http.Flusher.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError sends what the handler wrote so far (http.ResponseController).
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if w.out == nil {
		return errFinished
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commitHeld(nil)
	}
	w.setErr(w.out.bw.Flush())
	return w.err
}

// Hijack implements http.Hijacker: the connection, its buffered input and a
// writer are the caller's; the server forgets the connection.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.out == nil {
		return nil, nil, errFinished
	}
	if w.wroteHeader {
		if err := w.FlushError(); err != nil {
			return nil, nil, err
		}
	}
	c.hijacked = true
	c.hdr = nil
	c.deadlineSet.Store(true)
	_ = c.rwc.SetDeadline(time.Time{})
	c.s.forget(c)
	rw := bufio.NewReadWriter(c.br, w.out.bw)
	w.out = nil // the writer is the hijacker's now
	return c.rwc, rw, nil
}

// SetReadDeadline sets the connection's read deadline (http.ResponseController).
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.deadlineSet.Store(true)
	return w.c.rwc.SetReadDeadline(t)
}

// SetWriteDeadline sets the connection's write deadline (http.ResponseController),
// in place of Options.WriteTimeout's until the response ends.
func (w *response) SetWriteDeadline(t time.Time) error {
	w.c.ownWriteDeadline.Store(true)
	return w.c.rwc.SetWriteDeadline(t)
}

// EnableFullDuplex lets the handler read the request body after it started the
// response: the unread body is then not discarded when the header goes out
// (http.ResponseController).
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// ReadFrom implements io.ReaderFrom, with a pooled buffer.
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, src, *bp)
}

// writeContinue sends "100 Continue" unless the response has started.
func (w *response) writeContinue() {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	if !w.canContinue {
		return
	}
	w.canContinue = false
	bw := w.out.bw
	_, _ = bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	w.setErr(bw.Flush())
}

// body is a request body: it sends "100 Continue" before its first read when
// the client asked for one, and keeps what the server must know afterwards.
type body struct {
	mu        sync.Mutex
	src       io.ReadCloser // net/http's body reader
	w         *response
	expect    bool // a 100 Continue is due before the first read
	sawEOF    bool
	closed    bool
	abandoned bool // discarded in part: reads fail
	failed    bool // a read failed
	read      int64
}

var errAbandoned = errors.New("h1: request body abandoned after the response started")

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, http.ErrBodyReadAfterClose
	case b.sawEOF:
		return 0, io.EOF
	case b.abandoned:
		return 0, errAbandoned
	}
	if b.expect {
		b.expect = false
		b.w.writeContinue()
	}
	c := b.w.c
	c.startBodyRead()
	n, err := b.src.Read(p)
	b.read += int64(n)
	c.reading.Store(false)
	if err != nil && isDeadline(err) && c.s.set.Stopping() {
		// Shutdown ended the wait for the rest of the body (interruptRead).
		err = ErrShutdown
	}
	if errors.Is(err, io.EOF) {
		b.sawEOF = true
	} else if err != nil {
		b.failed = true
	}
	return n, err
}

// Close implements io.Closer. The rest of the body is left to the server.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// expectPending reports a body whose client waits for a 100 Continue that was
// never sent.
func (b *body) expectPending() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.expect && !b.sawEOF
}

// discard reads and drops what the handler left of the body, up to
// maxPostHandlerReadBytes: tooBig when more is left, broken when the body
// cannot be read to its end (the connection is then done). A body whose
// Content-Length leaves more than that unread is tooBig at once, unread, as
// with net/http: its answer (a 413 to a body over the handler's limit) goes
// out before any of the body is read, not after the client sent what is
// discarded or the body's deadline ended.
func (b *body) discard() (tooBig, broken bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sawEOF {
		return false, false
	}
	if b.failed || b.expect {
		return false, true
	}
	if cl := b.w.req.ContentLength; cl > 0 && cl-b.read > maxPostHandlerReadBytes {
		b.abandoned = true
		return true, false
	}
	b.w.c.startBodyRead() // Shutdown waits for it only while it keeps coming
	_, err := io.CopyN(io.Discard, b.src, maxPostHandlerReadBytes+1)
	b.w.c.reading.Store(false)
	switch {
	case err == nil:
		b.abandoned = true
		return true, false
	case errors.Is(err, io.EOF):
		b.sawEOF = true
		return false, false
	default:
		b.failed = true
		return false, true
	}
}

// finish ends the body once the response is sent: false when the connection
// cannot be reused because the body was not read to its end.
func (b *body) finish() bool {
	tooBig, broken := false, false
	if !b.sawEOFLocked() {
		tooBig, broken = b.discard()
	}
	b.mu.Lock()
	b.closed = true
	ok := b.sawEOF && !tooBig && !broken
	b.mu.Unlock()
	return ok
}

// readFailed reports whether a read of the body failed before its end.
func (b *body) readFailed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed
}

func (b *body) sawEOFLocked() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sawEOF
}
