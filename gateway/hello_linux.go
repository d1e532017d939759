//go:build linux

package gateway

import (
	"errors"
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxRecordSize is the largest TLS record a client may send, its 5-byte
// header included (RFC 8446, section 5.2: 2^14 bytes and 256 of expansion).
const maxRecordSize = 5 + 1<<14 + 256

// waitFirstRecord waits, within c's read deadline, until c's socket holds the
// client's first TLS record whole (its ClientHello), or a first byte that
// starts no handshake record, and returns that byte. It consumes nothing
// (recv(2) with MSG_PEEK and SIOCINQ, through the network poller); ok is
// false when c has no socket to look at.
func waitFirstRecord(c net.Conn) (first byte, ok bool, err error) {
	rc := socketOf(c)
	if rc == nil {
		return 0, false, nil
	}
	var done bool
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		done, first, perr = peekFirstRecord(fd)
		return done
	})
	if err == nil {
		err = perr
	}
	return first, true, err
}

// firstRecordArrived reports, without waiting, whether c's socket holds the
// client's first TLS record whole (or a first byte that starts none): whether
// a handshake not looked at yet is past waiting for its client. It does not
// wait for c's reader either (RawConn.Control, not Read).
func firstRecordArrived(c net.Conn) bool {
	rc := socketOf(c)
	if rc == nil {
		return false
	}
	var done bool
	var perr error
	if err := rc.Control(func(fd uintptr) { done, _, perr = peekFirstRecord(fd) }); err != nil {
		return false
	}
	return done && perr == nil
}

func socketOf(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// peekFirstRecord looks at the socket fd: done when it holds the first record
// whole, a first byte that starts no handshake record (first), or an error
// (io.EOF: the client closed without a byte).
func peekFirstRecord(fd uintptr) (done bool, first byte, err error) {
	var hdr [5]byte
	n, _, err := syscall.Recvfrom(int(fd), hdr[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT) //nolint:gosec // G115: a socket descriptor fits an int
	switch {
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		return false, 0, nil
	case err != nil:
		return true, 0, err
	case n == 0:
		return true, 0, io.EOF
	case hdr[0] != recordTypeHandshake:
		return true, hdr[0], nil
	case n < len(hdr):
		return false, hdr[0], nil
	}
	size := len(hdr) + (int(hdr[3])<<8 | int(hdr[4]))
	if size > maxRecordSize {
		return true, hdr[0], nil // crypto/tls refuses it at once
	}
	queued, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ) //nolint:gosec // G115: a socket descriptor fits an int
	if err != nil {
		return true, hdr[0], err
	}
	return queued >= size, hdr[0], nil
}
