package connections

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// hijackWrapper hands the websocket library the hijacked connection (unwrapped
// from wrappers that have an UpgradedConn method) with a minimal read buffer (the library only writes through it: frames are read by
// frameReader) and keeps the bytes the client sent behind its upgrade request.
type hijackWrapper struct {
	http.ResponseWriter
	nc  net.Conn
	pre []byte // bytes net/http had read past the request
	// hijacked, when set, runs right after the server let go of the
	// connection (and gave back its counts).
	hijacked func()
}

// Hijack implements http.Hijacker.
func (h *hijackWrapper) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if h.hijacked != nil {
		h.hijacked()
	}
	if n := brw.Reader.Buffered(); n > 0 {
		pre, _ := brw.Peek(n)
		h.pre = append([]byte(nil), pre...)
	}
	// A wrapper that only observed the request (the gateway's header
	// recorder) hands over the connection it wraps.
	for {
		u, ok := nc.(interface{ UpgradedConn() net.Conn })
		if !ok {
			break
		}
		nc = u.UpgradedConn()
	}
	h.nc = nc
	return nc, bufio.NewReadWriter(bufio.NewReaderSize(nc, 16), brw.Writer), nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (h *hijackWrapper) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// readEnd is why reading a connection ended: the close code and reason
// $disconnect reports, and the close frame payload to send the client (nil:
// none). drain is set when the client may still be writing (a frame the
// server refused): what it goes on sending is read and discarded until its
// close frame, so that closing the socket does not reset the connection.
type readEnd struct {
	code   int
	reason string
	reply  []byte
	drain  *drainer
}

// refused ends reading at a frame the server refuses (p starts with it) while
// the client may still be writing it: the close frame says code and reason,
// and the rest of the frame and what follows it are drained.
func refused(code int, reason string, p []byte) *readEnd {
	d := &drainer{}
	d.feed(p)
	return &readEnd{code: code, reason: reason, reply: websocket.FormatCloseMessage(code, reason), drain: d}
}

// drainer follows the frames a client sends after the server's close frame
// without keeping them: it skips each frame's payload and notes the client's
// close frame (RFC 6455 5.5.1), whose payload it does not read. It holds at most
// a frame header; it is made only when a connection closes.
type drainer struct {
	skip   uint64   // payload bytes of the current frame still to discard
	hdr    [14]byte // the next frame's header so far
	n      int
	closed bool // the client's close frame came
	blind  bool // the client's framing is lost: everything is discarded
}

// feed discards p and reports whether the client's close frame has come.
func (d *drainer) feed(p []byte) bool {
	if d.blind {
		return false
	}
	for len(p) > 0 && !d.closed {
		if d.skip > 0 {
			k := uint64(len(p))
			if k > d.skip {
				k = d.skip
			}
			d.skip -= k
			p = p[k:]
			continue
		}
		if d.n < 2 {
			k := copy(d.hdr[d.n:2], p)
			d.n += k
			p = p[k:]
			if d.n < 2 {
				continue
			}
		}
		if hl := headerLen(d.hdr[0], d.hdr[1]); d.n < hl {
			k := copy(d.hdr[d.n:hl], p)
			d.n += k
			p = p[k:]
			if d.n < hl {
				continue
			}
		}
		if int(d.hdr[0]&0x0f) == websocket.CloseMessage {
			d.closed = true
			break
		}
		switch n := uint64(d.hdr[1] & 0x7f); n {
		case 126:
			d.skip = uint64(binary.BigEndian.Uint16(d.hdr[2:4]))
		case 127:
			d.skip = binary.BigEndian.Uint64(d.hdr[2:10])
		default:
			d.skip = n
		}
		d.n = 0
	}
	return d.closed
}

func (e *readEnd) Error() string { return "websocket: " + strconv.Itoa(e.code) + " " + e.reason }

// binaryRefused is the reason of the close that answers a binary frame.
const binaryRefused = "Binary frames are not supported"

// protocolError ends a connection that broke RFC 6455 with 1002.
func protocolError(msg string) *readEnd {
	return &readEnd{code: websocket.CloseProtocolError, reason: msg, reply: websocket.FormatCloseMessage(websocket.CloseProtocolError, msg),
		drain: &drainer{blind: true}}
}

// closingProtocolError is protocolError for a client's bad close frame: the
// client writes nothing after it, so nothing is drained.
func closingProtocolError(msg string) *readEnd {
	e := protocolError(msg)
	e.drain = nil
	return e
}

// frameHandler receives what a frameReader parses.
type frameHandler interface {
	// message gets one whole data message; data is the handler's to keep.
	message(typ int, data []byte)
	// ping and pong get a control frame's payload, valid during the call only.
	ping(data []byte)
	pong(data []byte)
}

// frameReader parses the frames a client sends (RFC 6455 section 5), fed with
// bytes in whatever chunks they arrive. It holds only an incomplete frame's
// bytes and an incomplete message's fragments: an idle connection's reader holds
// no buffer. It enforces the frame and message limits and the protocol's rules
// (masked client frames, no extensions, final control frames of at most 125
// bytes, well-formed close frames). A connection is fed by one goroutine at a
// time.
type frameReader struct {
	maxFrame, maxMessage int

	partial []byte // an incomplete frame
	msg     []byte // the fragments of a message so far
	msgType int    // its type; 0 when no fragmented message is in progress
}

// feed parses p (which it may unmask in place) and calls h for each complete
// frame. A *readEnd error ends the connection: a close frame arrived, or the
// client broke a rule or a limit.
func (r *frameReader) feed(p []byte, h frameHandler) error {
	if len(r.partial) > 0 {
		r.partial = append(r.partial, p...)
		p = r.partial
	}
	for len(p) > 0 {
		n, err := r.frame(p, h)
		if err != nil {
			r.partial, r.msg = nil, nil
			return err
		}
		if n == 0 {
			break
		}
		p = p[n:]
	}
	switch {
	case len(p) == 0:
		r.partial = nil
	case len(r.partial) > 0: // p is the tail of partial
		r.partial = r.partial[:copy(r.partial, p)]
	default:
		r.partial = append([]byte(nil), p...)
	}
	return nil
}

// frame parses the frame at the start of p and returns its length, or 0 when p
// does not hold all of it yet.
func (r *frameReader) frame(p []byte, h frameHandler) (int, error) {
	if len(p) < 2 {
		return 0, nil
	}
	b0, b1 := p[0], p[1]
	fin, op := b0&0x80 != 0, int(b0&0x0f)
	if b0&0x70 != 0 {
		return 0, protocolError("unexpected reserved bits 0x" + strconv.FormatUint(uint64(b0&0x70), 16))
	}
	if b1&0x80 == 0 {
		return 0, protocolError("incorrect mask flag")
	}
	switch op {
	case websocket.TextMessage, websocket.BinaryMessage, 0:
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
		if !fin {
			return 0, protocolError("control frame not final")
		}
		if b1&0x7f > 125 {
			return 0, protocolError("control frame length > 125")
		}
	default:
		return 0, protocolError("unknown opcode " + strconv.Itoa(op))
	}
	hl := headerLen(b0, b1)
	if len(p) < hl {
		return 0, nil
	}
	length := uint64(b1 & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(p[2:4]))
	case 127:
		length = binary.BigEndian.Uint64(p[2:10])
		if length>>63 != 0 {
			return 0, protocolError("invalid frame length")
		}
	}
	if op <= websocket.BinaryMessage {
		if length > uint64(r.maxFrame) {
			return 0, refused(websocket.CloseMessageTooBig, "Frame over "+strconv.Itoa(r.maxFrame)+" bytes", p)
		}
		if op == 0 && r.msgType == 0 {
			return 0, protocolError("continuation after final message frame")
		}
		if op != 0 && r.msgType != 0 {
			return 0, protocolError("message start before final message frame")
		}
		if uint64(len(r.msg))+length > uint64(r.maxMessage) {
			return 0, refused(websocket.CloseMessageTooBig, "Message over "+strconv.Itoa(r.maxMessage)+" bytes", p)
		}
		// API Gateway does not take binary frames from clients: it closes
		// the connection with 1003 (text carries binary as base64).
		if op == websocket.BinaryMessage {
			return 0, refused(websocket.CloseUnsupportedData, binaryRefused, p)
		}
	}
	n := hl + int(length)
	if len(p) < n {
		return 0, nil
	}
	payload := p[hl:n]
	key := p[hl-4 : hl]
	for i := range payload {
		payload[i] ^= key[i&3]
	}
	switch op {
	case websocket.PingMessage:
		h.ping(payload)
	case websocket.PongMessage:
		h.pong(payload)
	case websocket.CloseMessage:
		return 0, closeFrame(payload)
	default:
		if fin && r.msgType == 0 {
			h.message(op, append([]byte(nil), payload...))
			break
		}
		if op != 0 {
			r.msgType = op
		}
		r.msg = append(r.msg, payload...)
		if fin {
			typ, msg := r.msgType, r.msg
			r.msgType, r.msg = 0, nil
			h.message(typ, msg)
		}
	}
	return n, nil
}

// closeFrame is how a client's close frame ends reading: with its code and
// reason, echoing the code (RFC 6455 section 5.5.1).
func closeFrame(payload []byte) *readEnd {
	if len(payload) == 0 {
		return &readEnd{code: websocket.CloseNoStatusReceived, reply: websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")}
	}
	// The client sent its close frame: there is nothing to drain.
	if len(payload) < 2 {
		return closingProtocolError("invalid close frame")
	}
	code := int(binary.BigEndian.Uint16(payload))
	if !validReceivedCloseCode(code) {
		return closingProtocolError("bad close code " + strconv.Itoa(code))
	}
	text := payload[2:]
	if !utf8.Valid(text) {
		return &readEnd{code: websocket.CloseInvalidFramePayloadData, reason: "invalid utf8 payload in close frame",
			reply: websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, "")}
	}
	return &readEnd{code: code, reason: string(text), reply: websocket.FormatCloseMessage(code, "")}
}

// validReceivedCloseCode reports whether a client may send code (RFC 6455
// section 7.4 and the IANA registry).
func validReceivedCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return code >= 3000 && code <= 4999
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
