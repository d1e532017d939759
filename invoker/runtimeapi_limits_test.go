package invoker

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
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
// peer check refuses is answered 403 and closed, not kept alive.
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
	c.send(t, http.MethodGet, pathNext, "")
	if resp, body := c.read(t); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("next from a refused peer: %d %s, want 403", resp.StatusCode, body)
	}
	closedByServer(t, "a refused peer's connection after its 403", c)
}
