package invoker

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
)

// repairRuntime is a runtime whose host address went away (192.0.2.1, which
// no host has) until RepairNetwork brings it back (127.0.0.1), or fails to.
type repairRuntime struct {
	runtimes.Runtime
	addr    *atomic.Pointer[string]
	repairs *atomic.Int32
	fail    bool
}

func (r repairRuntime) HostAddr() string { return *r.addr.Load() }

func (r repairRuntime) RepairNetwork(context.Context) error {
	r.repairs.Add(1)
	if r.fail {
		return &runtimes.NetworkGoneError{Network: "the Docker network portico", HostAddr: r.HostAddr(), Err: errors.New("gateway 172.31.250.1 now")}
	}
	ok := "127.0.0.1"
	r.addr.Store(&ok)
	return nil
}

// TestNetworkRepairedAtSandboxStart: a sandbox start that cannot bind its
// Runtime API endpoint because the host lost the network's address has the
// runtime set the network up again and binds once more; when that fails, the
// caller is told what happened and what to do (r-rt29 #4).
func TestNetworkRepairedAtSandboxStart(t *testing.T) {
	for _, fail := range []bool{false, true} {
		gone := "192.0.2.1"
		addr := &atomic.Pointer[string]{}
		addr.Store(&gone)
		repairs := &atomic.Int32{}
		e := newEnvWrapped(t, t.TempDir(), nil, func(r runtimes.Runtime) runtimes.Runtime {
			return repairRuntime{Runtime: r, addr: addr, repairs: repairs, fail: fail}
		})
		fn := e.fns.add(&functions.Config{FunctionName: "net"})
		if !fail {
			invoke(t, e, fn, `{}`)
			if n := repairs.Load(); n != 1 {
				t.Errorf("%d repairs, want 1", n)
			}
			continue
		}
		_, err := e.inv.Invoke(context.Background(), Request{Function: fn, Payload: []byte(`{}`)})
		var ng *runtimes.NetworkGoneError
		if !errors.As(err, &ng) || !strings.Contains(ng.ClientMessage(), "Restart Portico") {
			t.Fatalf("invoke with the network gone for good: %v; want a NetworkGoneError", err)
		}
	}
}
