package invoker

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
)

// A body the Runtime API could not read is answered with its cause, not the
// socket addresses of the error that says it.
func TestBodyReadCauseNamesNoAddress(t *testing.T) {
	err := &net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9001},
		Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}, Err: os.ErrDeadlineExceeded}
	if got := bodyReadCause(err); strings.Contains(got, "127.0.0.1") || !strings.Contains(got, "timeout") {
		t.Errorf("bodyReadCause(%v) = %q", err, got)
	}
	if got := bodyReadCause(errors.New("unexpected EOF")); got != "unexpected EOF" {
		t.Errorf("bodyReadCause(unexpected EOF) = %q", got)
	}
}
