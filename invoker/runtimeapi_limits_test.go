package invoker

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
)

// closedByServer fails unless the server closes c: the read ends in EOF or a
// reset, not at the test's own deadline.
func closedByServer(t *testing.T, what string, c *rapiClient) {
	t.Helper()
	_, err := io.Copy(io.Discard, c.br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: the connection was still open at the test's deadline, want it closed by the server", what)
	}
}

// TestRuntimeAPIBodyTimeout checks that a request body that does not arrive
// within the Runtime API's body timeout (made short here) is cut off and its
// connection closed.
func TestRuntimeAPIBodyTimeout(t *testing.T) {
	old := runtimeAPIBodyTimeout
	runtimeAPIBodyTimeout = 100 * time.Millisecond
	t.Cleanup(func() { runtimeAPIBodyTimeout = old })
	ce := newClientEnv(t)
	res := ce.call(t, `{"n":1}`)
	c := dialRAPI(t, ce.addr)
	id, _ := c.next(t)
	// Ten bytes announced, none sent.
	if _, err := io.WriteString(c, "POST "+pathInvPrefix+id+"/response HTTP/1.1\r\nHost: rapi\r\nContent-Length: 10\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	closedByServer(t, "a result whose body never came", c)
	// The invocation is still the sandbox's to answer, on a new connection.
	c = dialRAPI(t, ce.addr)
	c.respond(t, id, `"late"`)
	if r := <-res; r == nil || string(r.Payload) != `"late"` {
		t.Fatalf("result after the cut-off body: %+v", r)
	}
}

// refusingRuntime is clientRuntime whose sandboxes' peer check refuses every
// connection (runtimes.PeerVerifier): no peer is the sandbox.
type refusingRuntime struct{ *clientRuntime }

func (r refusingRuntime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	sb, err := r.clientRuntime.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return refusingSandbox{sb}, nil
}

type refusingSandbox struct{ runtimes.Sandbox }

func (refusingSandbox) OwnsConn(net.Addr) bool { return false }

var _ runtimes.PeerVerifier = refusingSandbox{}

// TestRuntimeAPIPeerRefusedIsClosed checks that a connection from a peer the
// peer check refuses is closed as it is accepted, unanswered.
func TestRuntimeAPIPeerRefusedIsClosed(t *testing.T) {
	e := newEnv(t, nil)
	rt := &clientRuntime{Runtime: e.inv.rt, specs: make(chan runtimes.Spec, 1), started: make(chan *clientSandbox, 1)}
	e.inv.rt = refusingRuntime{rt}
	cfg := e.fns.add(&functions.Config{FunctionName: "client"})
	// A call to start the sandbox; it never gets a result (no peer may answer).
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.inv.Invoke(ctx, Request{Function: cfg, Payload: []byte(`{"n":0}`)})
	}()
	t.Cleanup(func() { cancel(); <-done })
	addr := (<-rt.specs).Env["AWS_LAMBDA_RUNTIME_API"]
	<-rt.started
	c := dialRAPI(t, addr)
	closedByServer(t, "a refused peer's connection", c)
}

// specRuntime is the process runtime that tells the test each spec it starts
// a sandbox with.
type specRuntime struct {
	runtimes.Runtime
	specs chan runtimes.Spec
}

func (r specRuntime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	r.specs <- spec
	return r.Runtime.Start(ctx, spec)
}

// TestRuntimeAPIForeignConnsDoNotCount checks that connections to a process
// sandbox's Runtime API from another process (here the test's own, as another
// sandbox on the host's loopback would be) are closed at accept and do not
// count against the per-address bound: the sandbox, which connects from the
// same address, still reaches its endpoint while they are held.
func TestRuntimeAPIForeignConnsDoNotCount(t *testing.T) {
	e := newEnv(t, nil)
	rt := specRuntime{Runtime: e.inv.rt, specs: make(chan runtimes.Spec, 1)}
	e.inv.rt = rt
	gate := filepath.Join(t.TempDir(), "gate")
	cfg := e.fns.add(&functions.Config{FunctionName: "held", Environment: map[string]string{"INIT_WAIT_FILE": gate}})
	res := make(chan *Result, 1)
	go func() {
		r, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"echo":"mine"}`)})
		if err != nil {
			t.Error(err)
		}
		res <- r
	}()
	addr := (<-rt.specs).Env["AWS_LAMBDA_RUNTIME_API"]
	// More connections than one address may hold, all idle, before the
	// sandbox's runtime makes its first.
	held := make([]*rapiClient, runtimeAPIMaxConns+16)
	for i := range held {
		held[i] = dialRAPI(t, addr)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r == nil || r.FunctionError != "" || !strings.Contains(string(r.Payload), `"mine"`) {
		t.Fatalf("the sandbox's call while another process holds connections: %+v %s", r, resultPayload(r))
	}
	for i, c := range held {
		closedByServer(t, "a connection from another process (#"+strconv.Itoa(i)+")", c)
	}
}

func resultPayload(r *Result) string {
	if r == nil {
		return ""
	}
	return string(r.Payload)
}
