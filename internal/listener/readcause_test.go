package listener

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
)

// A body a surface could not read is answered with its cause, not the
// socket addresses of the error that says it.
func TestReadCauseNamesNoAddress(t *testing.T) {
	err := &net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9001},
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}, Err: os.ErrDeadlineExceeded}
	if got := ReadCause(err); strings.Contains(got, "127.0.0.1") || !strings.Contains(got, "timeout") {
		t.Errorf("ReadCause(%v) = %q", err, got)
	}
	if got := ReadCause(errors.New("unexpected EOF")); got != "unexpected EOF" {
		t.Errorf("ReadCause(unexpected EOF) = %q", got)
	}
}
