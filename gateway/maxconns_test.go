package gateway

import (
	"syscall"
	"testing"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
)

// TestPublicListenersShareAConnectionBound: the plain and TLS listeners'
// servers share one bound (Config.MaxConns), by default below the file
// descriptor limit with room to spare for the admin API and the rest.
func TestPublicListenersShareAConnectionBound(t *testing.T) {
	_, svc := gwtest.APIs(t)
	s := NewServer(New(Config{MaxConns: 7, MaxConnsPerIP: 3}, svc, nil, nil, nil), nil, listener.Limits{})
	if o := s.h1Options(); o.Conns == nil || o.Conns.Max() != 7 || o.MaxConnsPerIP != 3 {
		t.Fatalf("h1 options: %+v", o)
	}
	if off := NewServer(New(Config{MaxConns: -1}, svc, nil, nil, nil), nil, listener.Limits{}); off.h1Options().Conns != nil {
		t.Fatal("MaxConns -1 still bounds")
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		t.Skip("no file descriptor limit to compare with")
	}
	if d := DefaultMaxConns(); d <= 0 || uint64(d) >= rl.Cur || rl.Cur-uint64(d) < min(1024, rl.Cur/2) {
		t.Fatalf("default bound %d with RLIMIT_NOFILE %d: want one below it with a reserve", d, rl.Cur)
	}
}
