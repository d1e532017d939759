package invoker

import (
	"errors"
	"os"
	"syscall"

	"github.com/portico-dev/portico/internal/rawio"
)

// canPark reports whether a next on v's connection can park in the poller.
func (v *peerVerdict) canPark() bool {
	if v.raw != nil {
		return true
	}
	sc, ok := v.conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	v.raw = raw
	v.wait = func(fd uintptr) bool {
		if v.parked.taken.Load() {
			return true
		}
		v.readable = rawio.PeekReadable(fd)
		return v.readable
	}
	return true
}

// park waits in the poller until nw is taken, the connection is readable
// (the runtime's next request once nw is answered; else its client has gone,
// or sent more than its request) or a read deadline passes (a poke). It
// reports whether the connection was readable with nw not taken, and whether
// a deadline woke it.
func (v *peerVerdict) park(nw *nextWait) (readable, deadline bool) {
	v.parked, v.readable = nw, false
	err := v.raw.Read(v.wait)
	v.parked = nil
	switch {
	case err == nil:
		return v.readable, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, true
	default:
		return true, false // a broken or closed connection: its client is gone
	}
}
