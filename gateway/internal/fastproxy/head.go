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
// folded lines, every field name a token and every value free of control
// characters, and a Connection field (if any) that lists only close and
// keep-alive; and not the answer to HEAD. Its fields go straight into dst, the
// client's header (under their renamed names when the request asked for
// renames: parse found them once per head), without the hop-by-hop ones: what http.ReadResponse,
// RemoveHopByHop and copyHeaderInto would leave there. The returned Response
// has the Status, StatusCode, Proto, ContentLength, Close and a body of
// ContentLength bytes that http.ReadResponse would give it, and no Header.
// Anything else returns false having consumed nothing and left dst alone, for
// http.ReadResponse to read.
//
// A head equal byte for byte to the connection's last common head (a backend
// that answers alike within the second of its Date) is not parsed again: its
// fields are the last one's, and the only allocation is the slice of values
// that goes to dst (none when the request gave room for them: ServeExtra's
// values). A new head costs one more, the head as one string (and
// one per non-canonical field name).
func (c *backendConn) readCommonHead(dst http.Header) (*http.Response, bool) {
	if c.method == http.MethodHead {
		return nil, false
	}
	buf, _ := c.br.Peek(c.br.Buffered())
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		return nil, false
	}
	raw := buf[:end+2] // every line with its CRLF
	if c.head.raw == "" || string(raw) != c.head.raw {
		var rename func(string) string
		if c.fp != nil { // nil in tests of the head alone
			rename = c.fp.rename
		}
		if !c.head.parse(raw, rename) {
			return nil, false
		}
	}
	h := &c.head
	if n := len(h.fields); n > 0 {
		values := c.values[:0:cap(c.values)]
		if n <= cap(values) {
			values = values[:n]
		} else {
			values = make([]string, n)
		}
		c.values = nil // the client's header has it now
		for i, f := range h.fields {
			name := f.name
			if c.rename {
				name = f.renamed
			}
			if old, ok := dst[name]; ok {
				dst[name] = append(old, f.value)
				continue
			}
			values[i] = f.value
			dst[name] = values[i : i+1 : i+1]
		}
	}
	c.resp = http.Response{
		Status: h.status, StatusCode: h.code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		ContentLength: h.length, Close: h.closing,
	}
	c.body = fixedBody{br: c.br, n: h.length}
	c.resp.Body = &c.body
	_, _ = c.br.Discard(end + 4)
	return &c.resp, true
}

// commonHead is a common response head (see readCommonHead), parsed.
type commonHead struct {
	raw     string // the head from the status line to the last field's CRLF; "" none
	status  string // "200 OK"
	code    int
	length  int64
	closing bool // Connection: close
	stream  bool // the backend's Content-Type is text/event-stream
	fields  []headField
}

// headField is one field of a common head bound for the client: its name in
// canonical form and its value trimmed, both within raw (or the name
// canonicalized apart), and the name it goes under to a request that asks
// for the Proxy's renames (SetRename; name itself when none applies).
type headField struct{ name, value, renamed string }

// parse parses raw (a head's lines, each with its CRLF) into h when it is the
// common kind, each field's renamed name from rename (nil: none); false
// leaves h as it was.
func (h *commonHead) parse(raw []byte, rename func(string) string) bool {
	line, rest := cutCRLF(raw)
	// "HTTP/1.1 200" with an optional " reason".
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') || !validFieldValue(line[12:]) {
		return false
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return false
		}
		code = code*10 + int(d-'0')
	}
	if code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified {
		return false
	}
	nfields, length := 0, int64(-1)
	for r := rest; len(r) > 0; nfields++ {
		var l []byte
		l, r = cutCRLF(r)
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !validToken(l[:colon]) || !validFieldValue(l[colon+1:]) {
			return false
		}
		switch {
		case equalFold(l[:colon], "Content-Length"):
			if length >= 0 {
				return false
			}
			v := textproto.TrimBytes(l[colon+1:])
			if len(v) == 0 || len(v) > 18 {
				return false
			}
			n := int64(0)
			for _, d := range v {
				if d < '0' || d > '9' {
					return false
				}
				n = n*10 + int64(d-'0')
			}
			length = n
		case equalFold(l[:colon], "Transfer-Encoding"), equalFold(l[:colon], "Trailer"), equalFold(l[:colon], "Pragma"):
			return false
		case equalFold(l[:colon], "Connection"):
			// Other names listed are removed from the client's header
			// (RemoveHopByHop) unless close is listed too: the general path.
			for t := range bytes.SplitSeq(l[colon+1:], []byte(",")) {
				if t = textproto.TrimBytes(t); len(t) > 0 && !equalFold(t, "close") && !equalFold(t, "keep-alive") {
					return false
				}
			}
		}
	}
	if length < 0 {
		return false
	}

	head := string(raw) // one allocation for the status, names and values
	statusLine, fields := cutCRLFString(head)
	*h = commonHead{raw: head, status: statusLine[9:], code: code, length: length, fields: h.fields[:0]}
	if cap(h.fields) < nfields {
		h.fields = make([]headField, 0, nfields)
	}
	ct, seenCT := "", false
	for len(fields) > 0 {
		var l string
		l, fields = cutCRLFString(fields)
		colon := indexByteString(l, ':')
		name, value := l[:colon], textproto.TrimString(l[colon+1:])
		if !isCanonical(name) {
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		switch name {
		case "Connection":
			h.closing = h.closing || hasToken([]string{value}, "close")
			continue
		case "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Upgrade":
			continue // hop-by-hop (Trailer and Transfer-Encoding are not common)
		case "Content-Type":
			if !seenCT {
				ct, seenCT = value, true
			}
		}
		renamed := name
		if rename != nil {
			if to := rename(name); to != "" {
				renamed = to
			}
		}
		h.fields = append(h.fields, headField{name, value, renamed})
	}
	h.stream = seenCT && isEventStream([]string{ct})
	return true
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
