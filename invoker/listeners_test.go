package invoker

import (
	"sync"
	"testing"

	"github.com/portico-dev/portico/functions"
)

// recordedListeners is a ListenerRegistry that keeps what is added.
type recordedListeners struct {
	mu sync.Mutex
	m  map[string]string // addr -> name
}

func (r *recordedListeners) Add(name, addr string) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[addr] = name
	return func() {
		r.mu.Lock()
		delete(r.m, addr)
		r.mu.Unlock()
	}
}

func (r *recordedListeners) snapshot() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for k, v := range r.m {
		out[k] = v
	}
	return out
}

// TestRuntimeAPIEndpointsRecorded: each sandbox's Runtime API endpoint is in
// the invoker's ListenerRegistry while it listens (so that the gateway refuses
// it as an integration target), and out of it once the sandbox is gone.
func TestRuntimeAPIEndpointsRecorded(t *testing.T) {
	e := newEnv(t, nil)
	reg := &recordedListeners{m: map[string]string{}}
	e.inv.SetListeners(reg)
	cfg := e.fns.add(&functions.Config{FunctionName: "echo"})
	invoke(t, e, cfg, `{"echo":1}`)
	got := reg.snapshot()
	if len(got) != 1 {
		t.Fatalf("recorded %v, want the one sandbox's Runtime API", got)
	}
	for addr, name := range got {
		if name != "Runtime API" || addr == "" {
			t.Fatalf("recorded %q as %q", addr, name)
		}
	}
	e.stop()
	if got := reg.snapshot(); len(got) != 0 {
		t.Fatalf("after stop, still recorded: %v", got)
	}
}
