package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The request reader's fast path: a plain request whose head is already
// buffered is parsed straight from the buffer, with one string copy of the
// head that the method, target, header names and values are sliced from, and
// the header's value slices cut from one allocation (as textproto does).
// The one Transfer-Encoding it takes is a single "chunked" on an HTTP/1.1
// request without Content-Length, its body read by net/http's chunked reader
// (httputil's) and its trailer as net/http reads it (chunkedBody).
// Whatever it does not recognise as plain (absolute-form or "*" targets,
// escapes, obs-fold, bare LF, any other Transfer-Encoding, repeated Host or
// Content-Length, a Content-Length net/http would refuse, a head not yet
// wholly buffered, more than maxFastFields fields) it leaves unread for
// net/http's reader, so what is accepted and how it is framed stays
// net/http's. FuzzReadRequest holds the two to the same result.

// maxFastFields bounds the header fields the fast path takes.
const maxFastFields = 48

var crlfcrlf = []byte("\r\n\r\n")

// fieldSpan is one header field's place in the head, and its canonical name
// when the name in the head is not canonical.
type fieldSpan struct {
	k0, k1, v0, v1 int32
	name           string
}

// fastRequest is what a request read by parseRequest needs, in one
// allocation: the request, its URL, its header's values (when they are few)
// and its response.
type fastRequest struct {
	req  http.Request
	url  url.URL
	strs [4]string
	// hasHost says the head had a Host field: its value is req.Host, and
	// it is not in req.Header (the server deletes it there).
	hasHost bool
	resp    response
	// names are the client's spellings (with Options.WireNames; nil when
	// every name is canonical).
	names *namesCtx
}

// parseRequest parses the request at the start of br's buffer and consumes
// its head; nil (with nothing consumed) when the request is not plain or its
// head is not wholly buffered. The header's names and values are valid (the
// server's own checks need not look at them again). With names, the client's
// spellings of the header names are kept (fastRequest.names).
func parseRequest(br *bufio.Reader, names bool) *fastRequest {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		return nil
	}
	buf = buf[:end+4]

	// Request line: token SP origin-form SP HTTP/1.x CRLF.
	i := 0
	for i < len(buf) && tokenByte[buf[i]] {
		i++
	}
	if i == 0 || buf[i] != ' ' {
		return nil
	}
	mEnd := i
	i++
	t0 := i
	if buf[i] != '/' {
		return nil
	}
	for pathByte[buf[i]] {
		i++
	}
	pEnd := i
	if buf[i] == '?' {
		i++
		for queryByte[buf[i]] {
			i++
		}
	}
	tEnd := i
	if buf[i] != ' ' || len(buf)-i < len(" HTTP/1.1\r\n") {
		return nil
	}
	i++
	var minor int
	switch string(buf[i : i+10]) {
	case "HTTP/1.1\r\n":
		minor = 1
	case "HTTP/1.0\r\n":
		minor = 0
	default:
		return nil
	}
	i += 10

	// Header fields: token ":" OWS value OWS CRLF, with net/http's value bytes.
	var spans [maxFastFields]fieldSpan
	n := 0
	for buf[i] != '\r' || buf[i+1] != '\n' {
		if n == maxFastFields {
			return nil
		}
		f := &spans[n]
		f.k0 = int32(i)
		canonical := true
		upper := true
		for tokenByte[buf[i]] {
			c := buf[i]
			if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
				canonical = false
			}
			upper = c == '-'
			i++
		}
		if i == int(f.k0) || buf[i] != ':' {
			return nil
		}
		f.k1 = int32(i)
		i++
		for buf[i] == ' ' || buf[i] == '\t' {
			i++
		}
		f.v0 = int32(i)
		for valueByte[buf[i]] {
			i++
		}
		if buf[i] != '\r' || buf[i+1] != '\n' {
			return nil
		}
		f.v1 = int32(i)
		for f.v1 > f.v0 && (buf[f.v1-1] == ' ' || buf[f.v1-1] == '\t') {
			f.v1--
		}
		i += 2
		f.name = ""
		if !canonical {
			f.name = canonicalName(buf[f.k0:f.k1])
		}
		n++
	}
	if i+2 != len(buf) {
		return nil // not reached: the first CRLFCRLF ends the head
	}
	// A body framed by Transfer-Encoding is taken in its one plain form (one
	// field, "chunked", HTTP/1.1, no Content-Length: aws-lambda-go's POST of
	// every result to the Runtime API); any other is left to net/http's
	// reader before anything is allocated for it.
	chunked := false
	for j := range n {
		f := &spans[j]
		if f.k1-f.k0 != int32(len("Transfer-Encoding")) || f.name != "Transfer-Encoding" && (f.name != "" || string(buf[f.k0:f.k1]) != "Transfer-Encoding") {
			continue
		}
		if chunked || minor != 1 || string(buf[f.v0:f.v1]) != "chunked" {
			return nil
		}
		chunked = true
	}

	head := string(buf)
	fr := &fastRequest{}
	req := &fr.req
	req.Method = head[:mEnd]
	req.RequestURI = head[t0:tEnd]
	fr.url.Path = head[t0:pEnd]
	if pEnd < tEnd {
		fr.url.RawQuery = head[pEnd+1 : tEnd]
		fr.url.ForceQuery = fr.url.RawQuery == ""
	}
	req.URL = &fr.url
	if minor == 1 {
		req.Proto = "HTTP/1.1"
	} else {
		req.Proto = "HTTP/1.0"
	}
	req.ProtoMajor, req.ProtoMinor = 1, minor

	h := make(http.Header, n)
	strs := fr.strs[:]
	if n > len(strs) {
		strs = make([]string, n)
	}
	// The fields that readRequest and readTransfer look at are noted on the
	// way (a switch on the name, cheaper than looking each up afterwards).
	var hosts, cls int
	var cl string
	var pragma, connection bool
	for j := range n {
		f := &spans[j]
		k := f.name
		if k == "" {
			k = head[f.k0:f.k1]
		}
		v := head[f.v0:f.v1]
		switch k {
		case "Host":
			// Request.Host, not the header: the server deletes it there.
			hosts++
			req.Host = v
			continue
		case "Content-Length":
			cls++
			cl = v
		case "Transfer-Encoding":
			continue // chunked: net/http removes the field
		case "Pragma":
			pragma = true
		case "Connection":
			connection = true
		}
		if vv, ok := h[k]; ok {
			h[k] = append(vv, v)
		} else {
			vv, strs = strs[:1:1], strs[1:]
			vv[0] = v
			h[k] = vv
		}
	}
	req.Header = h

	// What readRequest and readTransfer add, for the plain cases.
	if hosts > 1 || cls > 1 || chunked && cls > 0 {
		return nil
	}
	var trailer http.Header
	if chunked {
		var ok bool
		if trailer, ok = trailerKeys(h); !ok {
			return nil
		}
	}
	fr.hasHost = hosts == 1
	if pragma {
		if hp := h["Pragma"]; hp[0] == "no-cache" {
			if _, ok := h["Cache-Control"]; !ok {
				h["Cache-Control"] = []string{"no-cache"}
			}
		}
	}
	var conn []string
	if connection {
		conn = h["Connection"]
	}
	if minor == 0 {
		req.Close = httpguts.HeaderValuesContainsToken(conn, "close") || !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	} else {
		req.Close = conn != nil && httpguts.HeaderValuesContainsToken(conn, "close")
	}
	req.Body = http.NoBody
	if chunked {
		req.TransferEncoding = []string{"chunked"}
		req.ContentLength = -1
		req.Trailer = trailer
		req.Body = &chunkedBody{src: httputil.NewChunkedReader(br), br: br, req: req}
	}
	if cls == 1 {
		cl, ok := parseLength(cl)
		if !ok {
			return nil
		}
		req.ContentLength = cl
		if cl > 0 {
			req.Body = &clBody{r: br, n: cl}
		}
	}
	if names {
		fr.names = fastNames(head, spans[:n], h)
	}
	_, _ = br.Discard(len(buf))
	return fr
}

// parseLength parses a Content-Length that net/http accepts as it is: 1 to 18
// digits (net/http also accepts up to 2^63-1; longer values fall back).
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// canonicalName returns the canonical form of the token k (textproto's),
// without allocating for common names.
func canonicalName(k []byte) string {
	var small [64]byte
	if len(k) > len(small) {
		return http.CanonicalHeaderKey(string(k))
	}
	b := canonicalInto(small[:len(k)], k)
	if v, ok := commonNames[string(b)]; ok {
		return v
	}
	return string(b)
}

// canonicalInto writes the canonical form of the token k into dst (of k's
// length) and returns dst.
func canonicalInto(dst, k []byte) []byte {
	upper := true
	for i, c := range k {
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
		upper = c == '-'
	}
	return dst
}

// commonNames are request header names worth not allocating for when a client
// sends them in lower case.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, v := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization",
		"Cache-Control", "Connection", "Content-Encoding", "Content-Length", "Content-Md5",
		"Content-Type", "Cookie", "Date", "Expect", "Forwarded", "From", "Host",
		"If-Match", "If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since",
		"Keep-Alive", "Max-Forwards", "Origin", "Pragma", "Proxy-Authorization", "Range",
		"Referer", "Sec-Websocket-Extensions", "Sec-Websocket-Key", "Sec-Websocket-Protocol",
		"Sec-Websocket-Version", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "User-Agent",
		"Via", "X-Amz-Content-Sha256", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Target",
		"X-Amz-User-Agent", "X-Amzn-Trace-Id", "X-Api-Key", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Real-Ip",
		"X-Request-Id", "X-Requested-With", "Traceparent", "Tracestate",
	} {
		m[v] = v
	}
	return m
}()

// Byte classes of the fast path. tokenByte is RFC 9110's tchar (net/http's
// method and header-name bytes); pathByte are the bytes url.ParseRequestURI
// keeps as they are in a path (no RawPath); queryByte the visible ASCII;
// valueByte textproto's field-value bytes without CR and LF (VCHAR, SP,
// HTAB, obs-text).
var tokenByte, pathByte, queryByte, valueByte = func() (t, p, q, v [256]bool) {
	for c := range 256 {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		t[c] = alnum || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
		p[c] = alnum || bytes.IndexByte([]byte("-._~$&+,/:;=@"), b) >= 0
		q[c] = 0x21 <= b && b <= 0x7e
		v[c] = b == '\t' || 0x20 <= b && b != 0x7f
	}
	return
}()

// clBody is a request body declared by a Content-Length: net/http's body over
// an io.LimitedReader, as its reader behaves (io.EOF with the last bytes,
// io.ErrUnexpectedEOF when the connection ends early, io.EOF after that).
type clBody struct {
	r      io.Reader
	n      int64 // bytes left
	sawEOF bool
}

// Read implements io.Reader.
func (b *clBody) Read(p []byte) (int, error) {
	if b.sawEOF || b.n <= 0 {
		b.sawEOF = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if err == io.EOF { //nolint:errorlint // io.Reader's sentinel, compared as net/http does
		b.sawEOF = true
		if b.n > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == nil && n > 0 && b.n == 0 {
		err = io.EOF
		b.sawEOF = true
	}
	return n, err
}

// Close implements io.Closer; the server reads what is left.
func (b *clBody) Close() error { return nil }

// trailerKeys is net/http's fixTrailer for a chunked request: the keys its
// Trailer fields declare (nil when none), the fields removed from h; false
// when a key is one net/http refuses (the request is then left to it, to
// answer).
func trailerKeys(h http.Header) (http.Header, bool) {
	vv, ok := h["Trailer"]
	if !ok {
		return nil, true
	}
	delete(h, "Trailer")
	var trailer http.Header
	for _, v := range vv {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f == "" {
				continue
			}
			switch k := http.CanonicalHeaderKey(f); k {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, false
			default:
				if trailer == nil {
					trailer = make(http.Header, 2)
				}
				trailer[k] = nil
			}
		}
	}
	return trailer, true
}

// chunkedBody is a request body in chunked transfer coding: net/http's body
// over its chunked reader, as its reader behaves (the trailer read at the
// chunks' end and merged into the request's Trailer; a bad trailer fails
// that read and every later one).
type chunkedBody struct {
	src    io.Reader // httputil's chunked reader (net/http's own)
	br     *bufio.Reader
	req    *http.Request // its Trailer takes the trailer; nil once read
	sawEOF bool
	closed bool
}

// The errors net/http's body reader gives for a trailer.
var (
	errTrailerEOF      = errors.New("http: unexpected EOF reading trailer")
	errTrailerTooLarge = errors.New("http: suspiciously long trailer after chunked body")
)

// Read implements io.Reader.
func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.sawEOF {
		return 0, io.EOF
	}
	n, err := b.src.Read(p)
	if err == io.EOF { //nolint:errorlint // io.Reader's sentinel, compared as net/http does
		b.sawEOF = true
		if b.req != nil {
			if e := b.readTrailer(); e != nil {
				err = e
				b.sawEOF = false
				b.closed = true
			}
			b.req = nil
		}
	}
	return n, err
}

// readTrailer is net/http's: an empty trailer is the common case; one that
// does not end within the reader's buffer is refused.
func (b *chunkedBody) readTrailer() error {
	buf, err := b.br.Peek(2)
	if bytes.Equal(buf, []byte("\r\n")) {
		_, _ = b.br.Discard(2)
		return nil
	}
	if len(buf) < 2 {
		return errTrailerEOF
	}
	if err != nil {
		return err
	}
	if !seeUpcomingDoubleCRLF(b.br) {
		return errTrailerTooLarge
	}
	hdr, err := textproto.NewReader(b.br).ReadMIMEHeader()
	if err != nil {
		if err == io.EOF { //nolint:errorlint // as net/http compares it
			return errTrailerEOF
		}
		return err
	}
	if b.req.Trailer == nil {
		b.req.Trailer = http.Header(hdr)
	} else {
		for k, vv := range hdr {
			b.req.Trailer[k] = vv
		}
	}
	return nil
}

// seeUpcomingDoubleCRLF reports whether an empty line comes within what r can
// buffer (net/http's bound on a trailer).
func seeUpcomingDoubleCRLF(r *bufio.Reader) bool {
	for peekSize := 4; ; peekSize++ {
		buf, err := r.Peek(peekSize)
		if bytes.HasSuffix(buf, crlfcrlf) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// Close implements io.Closer; the server reads what is left.
func (b *chunkedBody) Close() error { return nil }
