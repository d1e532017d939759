package gateway

import (
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"time"
)

// refuseHTTP2Preface answers HTTP/2's connection preface ("PRI * HTTP/2.0")
// read as an HTTP/1.1 request: a client speaking HTTP/2 with prior knowledge
// on the plain listener (h2c), or over a TLS connection that negotiated no
// ALPN protocol. Neither is served. The client speaks HTTP/2, so it is told
// in HTTP/2: the server's SETTINGS, then GOAWAY with HTTP_1_1_REQUIRED (RFC
// 9113 section 7; curl, for one, retries over HTTP/1.1) and the reason as
// its debug data, and the connection closes. A server that cannot hand the
// connection over answers 505 with the reason.
func refuseHTTP2Preface(w http.ResponseWriter, r *http.Request) {
	msg := "HTTP/2 without TLS (h2c, prior knowledge) is not served: use HTTP/1.1, or HTTPS, where ALPN negotiates h2"
	if r.TLS != nil {
		msg = "HTTP/2 is served only when the TLS handshake negotiates it (ALPN h2); this connection negotiated HTTP/1.1"
	}
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			go goAwayHTTP11Required(c, msg)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusHTTPVersionNotSupported)
	_, _ = w.Write([]byte(`{"message":"` + msg + `"}`))
}

// Bounds of goAwayHTTP11Required's lingering close: what the client sends
// after the preface is read and dropped, up to these, so that closing with
// unread input does not reset the connection before the client reads the
// GOAWAY.
const (
	goAwayLingerTime  = 2 * time.Second
	goAwayLingerBytes = 64 << 10
)

// goAwayHTTP11Required writes an empty SETTINGS frame (the server's preface)
// and GOAWAY(HTTP_1_1_REQUIRED, last stream 0, debug data msg) to c, and
// closes it after a lingering close.
func goAwayHTTP11Required(c net.Conn, msg string) {
	defer func() { _ = c.Close() }()
	const (
		frameSettings    = 0x4
		frameGoAway      = 0x7
		errHTTP11Require = 0xd
	)
	b := make([]byte, 0, 9+9+8+len(msg))
	b = append(b, 0, 0, 0, frameSettings, 0, 0, 0, 0, 0)
	n := 8 + len(msg)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), frameGoAway, 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, 0) // last stream: none was processed
	b = binary.BigEndian.AppendUint32(b, errHTTP11Require)
	b = append(b, msg...)
	_ = c.SetDeadline(time.Now().Add(goAwayLingerTime))
	if _, err := c.Write(b); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, goAwayLingerBytes))
}
