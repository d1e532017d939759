package gateway

import (
	"bufio"
	"net"
)

// recordTypeHandshake is the first byte of a TLS connection: the record type of
// the ClientHello (RFC 8446, section 5.1). No HTTP/1.x request starts with it.
const recordTypeHandshake = 0x16

// sniffTLS waits (within c's read deadline) for c's first byte and reports
// whether it starts a TLS handshake. It consumes nothing: the connection it
// returns is c itself where the socket can be peeked at (MSG_PEEK), else c
// behind a reader that gives the byte back.
func sniffTLS(c net.Conn) (net.Conn, bool, error) {
	if b, ok, err := peekFirst(c); ok {
		return c, b == recordTypeHandshake, err
	}
	br := bufio.NewReaderSize(c, 16)
	p, err := br.Peek(1)
	if err != nil {
		return c, false, err
	}
	return &peekedConn{Conn: c, r: br}, p[0] == recordTypeHandshake, nil
}

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }
