package testkit

import "net"

// HeldConn holds what is written to it while Hold is set, and sends it in one
// write on Flush: a TLS client over it sends several records in one segment.
type HeldConn struct {
	net.Conn
	Hold bool
	buf  []byte
}

// Write implements net.Conn: held while Hold is set.
func (h *HeldConn) Write(p []byte) (int, error) {
	if h.Hold {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

// Flush stops holding and writes what was held, at once.
func (h *HeldConn) Flush() error {
	h.Hold = false
	_, err := h.Conn.Write(h.buf)
	h.buf = nil
	return err
}
