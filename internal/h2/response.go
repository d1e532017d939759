package h2

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func hpackField(name, value string) hpack.HeaderField {
	return hpack.HeaderField{Name: name, Value: value}
}

// responseWriter is a stream's http.ResponseWriter. Only the handler's
// goroutine uses it.
type responseWriter struct {
	st     *stream
	head   bool // a HEAD request: the body is counted, not sent
	header http.Header
	status int  // 0 until WriteHeader (1xx ones are sent and forgotten)
	sent   bool // the HEADERS frame is written
	buf    *[smallBody]byte
	n      int   // bytes of buf held
	length int64 // Content-Length the handler set, -1 if none
	wrote  int64 // body bytes written
	err    error // the stream or connection is gone

	// The head as it was when WriteHeader ran (later changes to the header
	// are not sent, as with net/http): its fields with wire names, whether
	// it had a Content-Type and a Date, and the trailers it declared.
	fields   [][2]string
	hasType  bool
	hasDate  bool
	trailers []string
	// goAway: the handler's header said "Connection: close", which HTTP/2
	// cannot carry; as with net/http's HTTP/2 server, the connection gets
	// GOAWAY after the response and closes once its streams are done.
	goAway bool
}

var bufPool = sync.Pool{New: func() any { return new([smallBody]byte) }}

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic("h2: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.sendInformational(code)
		return
	}
	w.status = code
	w.fields = w.fields[:0]
	for k, vv := range w.header {
		switch k {
		case "Connection":
			w.goAway = httpguts.HeaderValuesContainsToken(vv, "close")
			continue
		case "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te":
			continue
		case "Content-Type":
			w.hasType = true
		case "Date":
			w.hasDate = true
		case "Content-Length":
			if len(vv) == 0 || !bodyAllowed(code) {
				// RFC 9110 8.6: none in a 1xx, 204 or 304, which have no
				// body (a client takes one as a malformed response).
				continue
			}
			n, err := strconv.ParseInt(vv[0], 10, 64)
			if err != nil || n < 0 {
				continue
			}
			w.length = n
			w.fields = append(w.fields, [2]string{"content-length", vv[0]})
			continue
		case "Trailer":
			for _, v := range vv {
				for k := range strings.SplitSeq(v, ",") {
					if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
						w.trailers = append(w.trailers, k)
					}
				}
			}
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := lowerKey(k)
		for _, v := range vv {
			if validField(k, v) {
				w.fields = append(w.fields, [2]string{name, v})
			}
		}
	}
}

func (w *responseWriter) sendInformational(code int) {
	c := w.st.c
	c.wmu.Lock()
	if !w.st.ended {
		c.writeHeaderBlock(w.st.id, false, func(enc func(name, value string)) {
			enc(":status", strconv.Itoa(code))
			encodeFields(w.header, func(name, value string) {
				if name != "content-length" { // RFC 9110 8.6: a 1xx has no body
					enc(name, value)
				}
			})
		})
	}
	c.wmu.Unlock()
	_ = c.flush()
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		if len(p) == 0 {
			return 0, nil // nothing to refuse, as h1 and net/http take it
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.length >= 0 && w.wrote+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	w.wrote += int64(len(p))
	if !w.sent && w.n+len(p) <= smallBody {
		if w.buf == nil {
			w.buf = bufPool.Get().(*[smallBody]byte)
		}
		w.n += copy(w.buf[w.n:], p)
		return len(p), nil
	}
	if !w.hasType && !w.sent {
		sniff := p
		if w.n > 0 {
			sniff = w.buf[:w.n]
		}
		w.hasType = true
		w.fields = append(w.fields, [2]string{"content-type", http.DetectContentType(sniff)})
	}
	if err := w.sendHead(false); err != nil {
		return 0, err
	}
	if w.head {
		return len(p), nil
	}
	if err := w.sendHeld(false); err != nil {
		return 0, err
	}
	if err := w.st.c.sendData(w.st, p, false); err != nil {
		w.err = err
		return 0, err
	}
	return len(p), nil
}

// WriteString implements io.StringWriter.
func (w *responseWriter) WriteString(s string) (int, error) {
	if !w.sent && w.status != 0 && bodyAllowed(w.status) && w.err == nil && w.n+len(s) <= smallBody &&
		(w.length < 0 || w.wrote+int64(len(s)) <= w.length) {
		if w.buf == nil {
			w.buf = bufPool.Get().(*[smallBody]byte)
		}
		w.n += copy(w.buf[w.n:], s)
		w.wrote += int64(len(s))
		return len(s), nil
	}
	return w.Write([]byte(s))
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError sends the head and what the body holds (http.ResponseController).
func (w *responseWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if err := w.sendHead(false); err != nil {
		return err
	}
	if err := w.sendHeld(false); err != nil {
		return err
	}
	return w.st.c.flush()
}

// SetReadDeadline bounds the wait for the request body (http.ResponseController).
func (w *responseWriter) SetReadDeadline(t time.Time) error {
	w.st.setReadDeadline(t)
	return nil
}

// EnableFullDuplex implements http.ResponseController's switch: HTTP/2 is.
func (w *responseWriter) EnableFullDuplex() error { return nil }

// sendHead writes the HEADERS frame once; end ends the stream with it.
func (w *responseWriter) sendHead(end bool) error {
	if w.sent {
		return w.err
	}
	w.sent = true
	if w.err != nil {
		return w.err
	}
	c := w.st.c
	c.wmu.Lock()
	if w.st.ended {
		c.wmu.Unlock()
		w.err = errStreamReset
		return w.err
	}
	w.writeHead(end, "")
	if end {
		w.st.ended = true
	}
	c.wmu.Unlock()
	if end {
		return c.flush()
	}
	return nil
}

// writeHead encodes the response head, with contentLength when not "". Under
// wmu.
func (w *responseWriter) writeHead(end bool, contentLength string) {
	w.st.c.writeHeaderBlock(w.st.id, end, func(enc func(name, value string)) {
		enc(":status", statusText(w.status))
		for _, f := range w.fields {
			enc(f[0], f[1])
		}
		if contentLength != "" {
			enc("content-length", contentLength)
		}
		if !w.hasDate {
			enc("date", httpDate())
		}
	})
}

// sendHeld writes the held body as DATA.
func (w *responseWriter) sendHeld(end bool) error {
	if w.n == 0 && !end {
		return nil
	}
	var p []byte
	if w.buf != nil && !w.head {
		p = w.buf[:w.n]
	}
	w.n = 0
	if err := w.st.c.sendData(w.st, p, end); err != nil {
		w.err = err
		return err
	}
	return nil
}

// finish ends the response once the handler returned.
func (w *responseWriter) finish() {
	st, c := w.st, w.st.c
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err == nil && !w.sent {
		w.finishHead()
	} else if w.err == nil {
		trailers := w.trailerFields()
		if err := w.sendHeld(len(trailers) == 0); err == nil && len(trailers) > 0 {
			w.sendTrailers(trailers)
		}
	}
	c.mu.Lock()
	st.sendClosed = true
	unread := !st.recvClosed && !st.closed
	if !unread {
		c.closeStream(st, nil)
	}
	c.mu.Unlock()
	if unread {
		// The client may stop sending a body nobody reads.
		c.reset(st, http2.ErrCodeNo, nil)
	}
	if w.goAway {
		c.goAway(http2.ErrCodeNo, false)
	}
}

// finishHead writes a whole response that was never flushed: its head, and
// its body in the same write when the windows allow.
func (w *responseWriter) finishHead() {
	st, c := w.st, w.st.c
	w.sent = true
	trailers := w.trailerFields()
	if !w.hasType && w.n > 0 && bodyAllowed(w.status) {
		w.fields = append(w.fields, [2]string{"content-type", http.DetectContentType(w.buf[:w.n])})
	}
	contentLength := ""
	if w.length < 0 && len(trailers) == 0 && bodyAllowed(w.status) && (w.n > 0 || !w.head) {
		contentLength = strconv.Itoa(w.n)
	}
	body := w.n
	if w.head {
		body = 0
	}
	// Take the window for the body before taking the write lock.
	whole := body == 0
	c.mu.Lock()
	if body > 0 && body <= int(c.maxFrame.Load()) && !st.closed && st.sendWin >= int64(body) && c.sendWin >= int64(body) {
		st.sendWin -= int64(body)
		c.sendWin -= int64(body)
		whole = true
	}
	end := whole && len(trailers) == 0
	if end {
		st.endSend()
	}
	c.mu.Unlock()
	c.wmu.Lock()
	if st.ended {
		c.wmu.Unlock()
		return
	}
	w.writeHead(end && body == 0, contentLength)
	if whole && body > 0 {
		_ = c.wfr.WriteData(st.id, end, w.buf[:body])
	}
	if end {
		st.ended = true
	}
	c.wmu.Unlock()
	if whole {
		w.n = 0
	}
	if !end {
		if err := w.sendHeld(len(trailers) == 0); err == nil && len(trailers) > 0 {
			w.sendTrailers(trailers)
		}
		return
	}
	_ = c.flushEnd()
}

// sendTrailers ends the stream with a HEADERS frame of trailers.
func (w *responseWriter) sendTrailers(trailers [][2]string) {
	st, c := w.st, w.st.c
	c.mu.Lock()
	st.endSend()
	c.mu.Unlock()
	c.wmu.Lock()
	if !st.ended {
		st.ended = true
		c.writeHeaderBlock(st.id, true, func(enc func(name, value string)) {
			for _, f := range trailers {
				enc(f[0], f[1])
			}
		})
	}
	c.wmu.Unlock()
	_ = c.flushEnd()
}

// trailerFields are the trailers to send: those declared before the head was
// sent, and those named with http.TrailerPrefix.
func (w *responseWriter) trailerFields() [][2]string {
	var out [][2]string
	for _, k := range w.trailers {
		for _, v := range w.header[k] {
			if validField(k, v) {
				out = append(out, [2]string{lowerKey(k), v})
			}
		}
	}
	for k, vv := range w.header {
		name, ok := strings.CutPrefix(k, http.TrailerPrefix)
		if !ok {
			continue
		}
		for _, v := range vv {
			if validField(name, v) {
				out = append(out, [2]string{strings.ToLower(name), v})
			}
		}
	}
	return out
}

func (w *responseWriter) release() {
	if w.buf != nil {
		bufPool.Put(w.buf)
		w.buf = nil
	}
}

// sendData writes p on st as DATA frames within the flow-control windows,
// the last one with END_STREAM when end is set, and flushes. A client that
// gives no window for WriteTimeout is taking nothing: the stream is reset
// (RST_STREAM(INTERNAL_ERROR), as net/http's WriteTimeout does) and the
// error returned is a timeout.
func (c *conn) sendData(st *stream, p []byte, end bool) error {
	var stall *time.Timer // runs while sendData waits for a window
	var stallEnd time.Time
	defer func() {
		if stall != nil {
			stall.Stop()
		}
	}()
	for {
		c.mu.Lock()
		n := 0
		for {
			if st.closed || c.closed {
				err := st.resetErr
				c.mu.Unlock()
				if err == nil {
					err = errConnClosed
				}
				return err
			}
			n = min(len(p), int(c.maxFrame.Load()))
			n = int(min(int64(n), max(st.sendWin, 0), max(c.sendWin, 0)))
			if n > 0 || len(p) == 0 {
				break
			}
			// Out of window: what is appended must reach the client first.
			c.mu.Unlock()
			if err := c.flush(); err != nil {
				return err
			}
			c.mu.Lock()
			if st.closed || c.closed || st.sendWin > 0 && c.sendWin > 0 {
				continue
			}
			if stall == nil {
				stallEnd = time.Now().Add(c.srv.opts.WriteTimeout)
				stall = time.AfterFunc(c.srv.opts.WriteTimeout, func() {
					c.mu.Lock()
					st.cond.Broadcast()
					c.cond.Broadcast()
					c.mu.Unlock()
				})
			} else if !time.Now().Before(stallEnd) {
				c.mu.Unlock()
				c.reset(st, http2.ErrCodeInternal, errWindowTimeout)
				return errWindowTimeout
			}
			if st.sendWin <= 0 {
				st.cond.Wait()
			} else {
				c.cond.Wait()
			}
		}
		if stall != nil { // the client gave a window: the wait starts again
			stall.Stop()
			stall = nil
		}
		st.sendWin -= int64(n)
		c.sendWin -= int64(n)
		last := end && n == len(p)
		if last {
			st.endSend()
		}
		c.mu.Unlock()
		c.wmu.Lock()
		if st.ended {
			c.wmu.Unlock()
			return errStreamReset
		}
		_ = c.wfr.WriteData(st.id, last, p[:n])
		if last {
			st.ended = true
		}
		big := len(c.wbuf) >= 64<<10
		c.wmu.Unlock()
		p = p[n:]
		if len(p) == 0 {
			if last {
				return c.flushEnd()
			}
			return c.flush()
		}
		if big {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
}

// errWindowTimeout is what a handler's writes return once its stream was
// reset because the client gave it no flow-control window for WriteTimeout.
var errWindowTimeout = fmt.Errorf("h2: the client gave no flow-control window within the write timeout: %w", os.ErrDeadlineExceeded)

// writeHeaderBlock encodes a header block and writes it as HEADERS and, if it
// is larger than the peer's frame size, CONTINUATION frames. Under wmu.
func (c *conn) writeHeaderBlock(id uint32, end bool, fields func(enc func(name, value string))) {
	c.hbuf.Reset()
	fields(func(name, value string) {
		_ = c.henc.WriteField(hpackField(name, value))
	})
	block := c.hbuf.Bytes()
	max := int(c.maxFrame.Load())
	first := block
	if len(first) > max {
		first = first[:max]
	}
	block = block[len(first):]
	_ = c.wfr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(block) == 0})
	for len(block) > 0 {
		frag := block
		if len(frag) > max {
			frag = frag[:max]
		}
		block = block[len(frag):]
		_ = c.wfr.WriteContinuation(id, len(block) == 0, frag)
	}
}

// encodeFields encodes a response header's fields, without the ones HTTP/2
// does not carry and those that are not valid.
func encodeFields(h http.Header, enc func(name, value string)) {
	for k, vv := range h {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te":
			continue
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := lowerKey(k)
		for _, v := range vv {
			if validField(k, v) {
				enc(name, v)
			}
		}
	}
}

func validField(k, v string) bool {
	return httpguts.ValidHeaderFieldName(k) && httpguts.ValidHeaderFieldValue(v)
}

func statusText(code int) string {
	switch code {
	case 200:
		return "200"
	case 204:
		return "204"
	case 404:
		return "404"
	}
	return strconv.Itoa(code)
}

// httpDate is the Date header's value, formatted once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &dateCache{sec: sec, s: now.UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.s
}

type dateCache struct {
	sec int64
	s   string
}

var cachedDate atomic.Pointer[dateCache]
