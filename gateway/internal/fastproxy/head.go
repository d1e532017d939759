package fastproxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
)

// readCommonHead reads the response head when it is the common kind and all of
// it is already buffered: HTTP/1.1, a final status with a body (200-599 but
// 204 and 304), one Content-Length, no Transfer-Encoding, Trailer or Pragma, no
// folded lines, and every field name a token and every value free of control
// characters; and not the answer to HEAD. It parses that head with three
// allocations (the head as one string, its values' slices and the non-canonical
// names aside), where http.ReadResponse takes about ten. Anything else returns
// false having consumed nothing, for http.ReadResponse to read; for what it
// accepts, the Response is the one http.ReadResponse would return (Status,
// StatusCode, Proto, Header, ContentLength, Close, a body of ContentLength
// bytes).
func (c *backendConn) readCommonHead() (*http.Response, bool) {
	if c.method == http.MethodHead {
		return nil, false
	}
	buf, _ := c.br.Peek(c.br.Buffered())
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		return nil, false
	}
	raw := buf[:end+2] // every line with its CRLF
	line, rest := cutCRLF(raw)
	// "HTTP/1.1 200" with an optional " reason".
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') || !validFieldValue(line[12:]) {
		return nil, false
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return nil, false
		}
		code = code*10 + int(d-'0')
	}
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil, false
	}
	nfields, length := 0, int64(-1)
	for r := rest; len(r) > 0; nfields++ {
		var l []byte
		l, r = cutCRLF(r)
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !validToken(l[:colon]) || !validFieldValue(l[colon+1:]) {
			return nil, false
		}
		switch {
		case equalFold(l[:colon], "Content-Length"):
			if length >= 0 {
				return nil, false
			}
			v := textproto.TrimBytes(l[colon+1:])
			if len(v) == 0 || len(v) > 18 {
				return nil, false
			}
			n := int64(0)
			for _, d := range v {
				if d < '0' || d > '9' {
					return nil, false
				}
				n = n*10 + int64(d-'0')
			}
			length = n
		case equalFold(l[:colon], "Transfer-Encoding"), equalFold(l[:colon], "Trailer"), equalFold(l[:colon], "Pragma"):
			return nil, false
		}
	}
	if length < 0 {
		return nil, false
	}

	head := string(raw) // one allocation for the status, names and values
	statusLine, fields := cutCRLFString(head)
	if c.hdr == nil {
		c.hdr = make(http.Header, nfields)
	} else {
		clear(c.hdr) // its value slices went to the client's header
	}
	values := make([]string, nfields)
	for i := 0; len(fields) > 0; i++ {
		var l string
		l, fields = cutCRLFString(fields)
		colon := indexByteString(l, ':')
		name, value := l[:colon], textproto.TrimString(l[colon+1:])
		if !isCanonical(name) {
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		if old, ok := c.hdr[name]; ok {
			c.hdr[name] = append(old, value)
			continue
		}
		values[i] = value
		c.hdr[name] = values[i : i+1 : i+1]
	}
	closing := hasToken(c.hdr["Connection"], "close")
	if closing {
		delete(c.hdr, "Connection") // as http.ReadResponse does
	}
	c.resp = http.Response{
		Status: statusLine[9:], StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: c.hdr, ContentLength: length, Close: closing,
	}
	c.body = fixedBody{br: c.br, n: length}
	c.resp.Body = &c.body
	_, _ = c.br.Discard(end + 4)
	return &c.resp, true
}

var crlfcrlf = []byte("\r\n\r\n")

// cutCRLF splits b at its first CRLF.
func cutCRLF(b []byte) (line, rest []byte) {
	i := bytes.Index(b, crlfcrlf[:2])
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i+2:]
}

func cutCRLFString(s string) (line, rest string) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\r' && s[i+1] == '\n' {
			return s[:i], s[i+2:]
		}
	}
	return s, ""
}

func indexByteString(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// validFieldValue reports whether b holds no control characters but tabs (and
// does not start a folded line, which a leading CR or LF would be).
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// equalFold reports whether b equals the ASCII string s but for case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// isCanonical reports whether a token field name is already in
// textproto.CanonicalMIMEHeaderKey's form: upper case at the start and after
// each hyphen, lower case elsewhere.
func isCanonical(s string) bool {
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// fixedBody is a response body of known length read from the connection's
// buffered reader, as http.ReadResponse's: a body cut short is
// io.ErrUnexpectedEOF.
type fixedBody struct {
	br interface {
		Read([]byte) (int, error)
	}
	n int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	if b.n > 0 && errors.Is(err, io.EOF) {
		return n, io.ErrUnexpectedEOF
	}
	if b.n == 0 && err == nil {
		return n, nil
	}
	return n, err
}

// Close implements io.Closer; what is left unread stays on the connection, which
// is then not reused.
func (b *fixedBody) Close() error { return nil }
