package connections

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
)

// errFrameTooLarge ends reading a connection that sent a data frame over the
// frame limit.
var errFrameTooLarge = errors.New("websocket frame over the size limit")

// hijackWrapper hands the websocket library a connection that enforces the frame
// limit, with a read buffer of our size (net/http's 4 KB buffers are then
// released once the handler returns).
type hijackWrapper struct {
	http.ResponseWriter
	maxFrame int
	bufSize  int
}

// Hijack implements http.Hijacker.
func (h *hijackWrapper) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	fc := &frameLimitConn{Conn: nc, max: int64(h.maxFrame)}
	if n := brw.Reader.Buffered(); n > 0 {
		pre, _ := brw.Peek(n)
		fc.pre = append([]byte(nil), pre...)
	}
	return fc, bufio.NewReadWriter(bufio.NewReaderSize(fc, h.bufSize), brw.Writer), nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (h *hijackWrapper) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// frameLimitConn follows the WebSocket frame headers in the bytes a client sends
// (RFC 6455 section 5.2) and fails reading once a data frame's payload is over
// max. It is read by one goroutine at a time; writes and deadlines pass through.
type frameLimitConn struct {
	net.Conn
	pre []byte // bytes read before the hijack
	max int64

	hdr    [14]byte
	hdrLen int   // header bytes collected
	skip   int64 // payload bytes left in the current frame
	failed error
}

// Read implements net.Conn.
func (f *frameLimitConn) Read(p []byte) (int, error) {
	if f.failed != nil {
		return 0, f.failed
	}
	var n int
	var err error
	if len(f.pre) > 0 {
		n = copy(p, f.pre)
		f.pre = f.pre[n:]
	} else {
		n, err = f.Conn.Read(p)
	}
	if ferr := f.scan(p[:n]); ferr != nil {
		// Pass on the frames before the bad one; fail the next read.
		f.failed = ferr
	}
	return n, err
}

// scan advances the frame parser over b.
func (f *frameLimitConn) scan(b []byte) error {
	for len(b) > 0 {
		if f.skip > 0 {
			if int64(len(b)) <= f.skip {
				f.skip -= int64(len(b))
				return nil
			}
			b = b[f.skip:]
			f.skip = 0
		}
		// Collect the header: 2 bytes, then the extended length and mask key.
		need := 2
		if f.hdrLen >= 2 {
			need = headerLen(f.hdr[0], f.hdr[1])
		}
		for f.hdrLen < need && len(b) > 0 {
			f.hdr[f.hdrLen] = b[0]
			f.hdrLen++
			b = b[1:]
			if f.hdrLen == 2 {
				need = headerLen(f.hdr[0], f.hdr[1])
			}
		}
		if f.hdrLen < need {
			return nil
		}
		length := int64(f.hdr[1] & 0x7f)
		switch length {
		case 126:
			length = int64(binary.BigEndian.Uint16(f.hdr[2:4]))
		case 127:
			length = int64(binary.BigEndian.Uint64(f.hdr[2:10]) & (1<<63 - 1))
		}
		opcode := f.hdr[0] & 0x0f
		f.hdrLen = 0
		if opcode <= 2 && length > f.max { // continuation, text, binary
			return errFrameTooLarge
		}
		f.skip = length
	}
	return nil
}

// headerLen is the full header length given its first two bytes.
func headerLen(b0, b1 byte) int {
	_ = b0
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
