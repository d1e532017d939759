package invoker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
	"github.com/portico-dev/portico/runtimes"
)

// clientRuntime is a runtime whose sandboxes run nothing: the test plays the
// function's runtime client on the Runtime API endpoint the spec names.
type clientRuntime struct {
	runtimes.Runtime // the process runtime: name, host address, cleanup
	specs            chan runtimes.Spec
	started          chan *clientSandbox
}

func (r *clientRuntime) Start(_ context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	sb := &clientSandbox{stopped: make(chan struct{}), done: make(chan struct{})}
	r.specs <- spec
	r.started <- sb
	return sb, nil
}

// clientSandbox is a sandbox that exits when stopped, or, with holdExit, when
// the test says (exit).
type clientSandbox struct {
	stopOnce, exitOnce sync.Once
	stopped, done      chan struct{}
	holdExit           bool          // set before the sandbox is stopped
	holdStop           chan struct{} // when set (before the stop), Stop returns once it is closed
	err                error         // what Err says; set before it exits
}

func (s *clientSandbox) ID() string            { return "client" }
func (s *clientSandbox) Done() <-chan struct{} { return s.done }
func (s *clientSandbox) Err() error            { return s.err }
func (s *clientSandbox) Logs() io.Reader       { return strings.NewReader("") }
func (s *clientSandbox) exit()                 { s.exitOnce.Do(func() { close(s.done) }) }
func (s *clientSandbox) Stop(context.Context) error {
	s.stopOnce.Do(func() { close(s.stopped) })
	if s.holdStop != nil {
		<-s.holdStop
	}
	if !s.holdExit {
		s.exit()
	}
	return nil
}

// rapiClient is one Runtime API connection.
type rapiClient struct {
	net.Conn
	br *bufio.Reader
}

func dialRAPI(t *testing.T, addr string) *rapiClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// A bound on every read, so that a broken server fails the test instead of hanging it.
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rapiClient{Conn: c, br: bufio.NewReader(c)}
}

func (c *rapiClient) send(t *testing.T, method, path, body string) {
	t.Helper()
	req := method + " " + path + " HTTP/1.1\r\nHost: rapi\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
}

func (c *rapiClient) read(t *testing.T) (answer, string) {
	t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("reading a Runtime API answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header}, string(b)
}

// answer is a Runtime API answer's status and header.
type answer struct {
	StatusCode int
	Header     http.Header
}

// next polls for the next invocation and returns its id and payload.
func (c *rapiClient) next(t *testing.T) (string, string) {
	t.Helper()
	c.send(t, http.MethodGet, pathNext, "")
	resp, body := c.read(t)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("next: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), body
}

func (c *rapiClient) respond(t *testing.T, id, payload string) {
	t.Helper()
	c.send(t, http.MethodPost, pathInvPrefix+id+"/response", payload)
	if resp, body := c.read(t); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("response: %d %s", resp.StatusCode, body)
	}
}

// closedByServer reports whether the server closed c without an answer.
func (c *rapiClient) closedByServer(t *testing.T) bool {
	t.Helper()
	_, err := c.br.ReadByte()
	// A reset is a close too: the server may close the connection before it
	// has read a request the client sent last (a next sent as the sandbox
	// ended), and the kernel then answers that close with RST.
	return err == io.EOF || errors.Is(err, syscall.ECONNRESET)
}

// clientEnv is an invoker whose only sandbox is served by the test.
type clientEnv struct {
	*env
	cfg  *functions.Config
	sb   *sandbox
	rsb  *clientSandbox
	addr string
}

// newClientEnv starts the function's sandbox and serves its first invocation.
func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	return newClientEnvInit(t, nil)
}

// newClientEnvInit is newClientEnv that runs init, when set, during the
// sandbox's init: before the runtime's first next, with the endpoint's
// address (where extensions register).
func newClientEnvInit(t *testing.T, init func(addr string)) *clientEnv {
	t.Helper()
	return newClientEnvWith(t, nil, init)
}

// newClientEnvWith is newClientEnvInit with the invoker's configuration
// changed by mod, when set.
func newClientEnvWith(t *testing.T, mod func(*Config), init func(addr string)) *clientEnv {
	t.Helper()
	e := newEnv(t, mod)
	rt := &clientRuntime{Runtime: e.inv.rt, specs: make(chan runtimes.Spec, 1), started: make(chan *clientSandbox, 1)}
	e.inv.rt = rt
	ce := &clientEnv{env: e, cfg: e.fns.add(&functions.Config{FunctionName: "client"})}
	first := ce.call(t, `{"n":0}`)
	ce.addr = (<-rt.specs).Env["AWS_LAMBDA_RUNTIME_API"]
	ce.rsb = <-rt.started
	if init != nil {
		init(ce.addr)
	}
	c := dialRAPI(t, ce.addr)
	id, payload := c.next(t)
	if payload != `{"n":0}` {
		t.Fatalf("first invocation: %s", payload)
	}
	c.respond(t, id, `"done-0"`)
	if res := <-first; string(res.Payload) != `"done-0"` {
		t.Fatalf("first call: %s", res.Payload)
	}
	_ = c.Close()
	// launch adds the sandbox to its pool after the runtime's Start returns,
	// which a loaded machine can put after the whole first call.
	p := e.inv.pool(ce.cfg)
	waitFor(t, "the sandbox in its pool", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for sb := range p.all {
			ce.sb = sb
		}
		return ce.sb != nil
	})
	return ce
}

// call invokes the function in the background; the result arrives on the channel.
func (ce *clientEnv) call(t *testing.T, payload string) <-chan *Result {
	t.Helper()
	ch := make(chan *Result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := ce.inv.Invoke(ctx, Request{Function: ce.cfg, Payload: []byte(payload)})
		if err != nil {
			t.Errorf("invoke %s: %v", payload, err)
		}
		ch <- res
	}()
	return ch
}

// waitingNext reports whether a next waits in the sandbox (its handler runs).
func (ce *clientEnv) waitingNext() bool {
	ce.sb.mu.Lock()
	defer ce.sb.mu.Unlock()
	return ce.sb.next != nil
}

// poll opens a connection and leaves a next waiting on it.
func (ce *clientEnv) poll(t *testing.T) *rapiClient {
	t.Helper()
	c := dialRAPI(t, ce.addr)
	c.send(t, http.MethodGet, pathNext, "")
	waitFor(t, "the next to wait", ce.waitingNext)
	return c
}

// awaitOK checks that the caller got the runtime's "ok".
func awaitOK(t *testing.T, res <-chan *Result) {
	t.Helper()
	if r := <-res; r == nil || string(r.Payload) != `"ok"` {
		t.Fatalf("caller got %+v", r)
	}
}

// serve answers one invocation on a new connection and checks the caller's result.
func (ce *clientEnv) serve(t *testing.T, res <-chan *Result, want string) {
	t.Helper()
	c := dialRAPI(t, ce.addr)
	id, payload := c.next(t)
	if payload != want {
		t.Fatalf("next delivered %s, want %s", payload, want)
	}
	c.respond(t, id, `"ok"`)
	awaitOK(t, res)
}

// callOn makes a call whose invocation the next waiting on c gets, and answers
// it "ok" on c.
func (ce *clientEnv) callOn(t *testing.T, c *rapiClient, payload string) {
	t.Helper()
	res := ce.call(t, payload)
	resp, body := c.read(t)
	if resp.StatusCode != http.StatusOK || body != payload {
		t.Fatalf("the next on its connection: %d, %.60s", resp.StatusCode, body)
	}
	c.respond(t, resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), `"ok"`)
	awaitOK(t, res)
}

// TestNextWhoseClientLeftEnds checks that a next that has waited long (two
// maintenance ticks) and whose client then goes away ends at once, with no
// answer (no goroutine is left waiting for the sandbox), and that the next call
// goes to the runtime's new connection.
func TestNextWhoseClientLeftEnds(t *testing.T) {
	ce := newClientEnv(t)
	c := ce.poll(t)
	// It has waited long: it watches its connection, parked in the poller
	// (or, waiting on the channels, with the watch maintenance gives it).
	ce.tick(t)
	ce.tick(t)
	waitFor(t, "the watch", func() bool {
		ce.sb.mu.Lock()
		defer ce.sb.mu.Unlock()
		return ce.sb.next != nil && (ce.sb.next.parked || ce.sb.next.watch != nil)
	})
	// Half-close: the server sees the client's end, and the client can still
	// see what the server does with the connection.
	if err := c.Conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if !c.closedByServer(t) {
		t.Fatal("the server answered a next whose client had gone")
	}
	waitFor(t, "the abandoned next to end", func() bool { return !ce.waitingNext() })
	ce.serve(t, ce.call(t, `{"n":1}`), `{"n":1}`)
}

// goneClientConn returns the server's end of a loopback connection whose
// client has closed it, once the server's kernel has the FIN.
func goneClientConn(t *testing.T) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	_ = client.Close()
	waitFor(t, "the client's close to reach the server", func() bool { return (&h1.ConnPeek{}).Gone(server) })
	return server
}

// TestNextNeverWritesToAGoneClient checks that an invocation is not written to
// a connection whose client has already gone, but served on the runtime's next
// connection. The next runs with a connection whose client has closed (the
// kernel has its FIN) while a call waits for the sandbox: the call reaches the
// next either at once (then it is handed back) or while it watches its
// connection (then the watch ends it first).
func TestNextNeverWritesToAGoneClient(t *testing.T) {
	ce := newClientEnv(t)
	server := goneClientConn(t)

	res := ce.call(t, `{"n":1}`)
	p := ce.inv.pool(ce.cfg)
	waitFor(t, "the call to wait for the sandbox", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.waiters) == 1
	})
	r := httptest.NewRequest(http.MethodGet, pathNext, nil)
	rc := &peerVerdict{conn: server}
	r = r.WithContext(context.WithValue(r.Context(), peerKey{}, rc))
	w := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler { //nolint:errorlint // the value net/http compares
				t.Errorf("next for a gone client: panic %v, want http.ErrAbortHandler", p)
			}
		}()
		ce.sb.serveNext(w, r)
	}()
	if w.Body.Len() != 0 || w.Header().Get("Lambda-Runtime-Aws-Request-Id") != "" {
		t.Fatalf("the invocation was written for a gone client: %q", w.Body.String())
	}
	ce.serve(t, res, `{"n":1}`)
}

// TestNewerNextReplacesWaitingOne checks that a second next from the sandbox
// takes the place of one that waits: the first is answered 409, the second
// gets the call.
func TestNewerNextReplacesWaitingOne(t *testing.T) {
	ce := newClientEnv(t)
	old := ce.poll(t)
	c := dialRAPI(t, ce.addr)
	c.send(t, http.MethodGet, pathNext, "")
	if resp, body := old.read(t); resp.StatusCode != http.StatusConflict {
		t.Fatalf("replaced next: %d %s", resp.StatusCode, body)
	}
	ce.callOn(t, c, `{"n":2}`)
}

// TestNextEndsWhenSandboxStops checks that a waiting next is answered 410 when
// its sandbox stops, and that the endpoint closes once the sandbox has exited.
func TestNextEndsWhenSandboxStops(t *testing.T) {
	ce := newClientEnv(t)
	c := ce.poll(t)
	ce.rsb.holdExit = true
	ce.sb.stop()
	if resp, body := c.read(t); resp.StatusCode != http.StatusGone || !strings.Contains(body, "SandboxStopping") {
		t.Fatalf("next of a stopping sandbox: %d %s", resp.StatusCode, body)
	}
	waitFor(t, "the next to end", func() bool { return !ce.waitingNext() })
	<-ce.rsb.stopped
	ce.rsb.exit()
	if !c.closedByServer(t) {
		t.Fatal("the endpoint of an exited sandbox kept its connection")
	}
}

// TestNextWaitsUntilTheStopReturned: a next of a sandbox being stopped is
// not answered until the runtime's Stop has returned (its processes gone), so
// that a runtime never reads a 410 it would log as an error on a normal
// spin-down; Lambda never answers it. A next that comes while the stop runs
// waits too; once the stop returned it is answered 410.
func TestNextWaitsUntilTheStopReturned(t *testing.T) {
	ce := newClientEnv(t)
	first := ce.poll(t)
	ce.rsb.holdExit = true
	ce.rsb.holdStop = make(chan struct{})
	ce.sb.stop()
	<-ce.rsb.stopped // the stop is under way: SIGTERM sent, grace running
	// A next sent now (a runtime that polls again while being stopped)
	// replaces the first, which steps aside, and waits.
	c := ce.poll(t)
	if resp, _ := first.read(t); resp.StatusCode != http.StatusConflict {
		t.Fatalf("replaced next: %d", resp.StatusCode)
	}
	waitFor(t, "the next sent during the stop to park", ce.parkedNext)
	if !ce.waitingNext() {
		t.Fatal("a next was answered while the sandbox's stop ran")
	}
	close(ce.rsb.holdStop)
	if resp, body := c.read(t); resp.StatusCode != http.StatusGone || !strings.Contains(body, "SandboxStopping") {
		t.Fatalf("next once the stop returned: %d %s", resp.StatusCode, body)
	}
	ce.rsb.exit()
	if !c.closedByServer(t) {
		t.Fatal("the endpoint of an exited sandbox kept its connection")
	}
}

// TestExtensionNextWhoseClientLeftEnds checks the extension API's long poll the
// same way: a client that goes away does not leave it waiting until shutdown.
func TestExtensionNextWhoseClientLeftEnds(t *testing.T) {
	var ids []string
	ce := newClientEnvInit(t, func(addr string) {
		c := dialRAPI(t, addr)
		for range 3 {
			ids = append(ids, c.register(t, `["SHUTDOWN"]`))
		}
	})
	for _, id := range ids {
		c := dialRAPI(t, ce.addr)
		c.extNext(t, id)
		if err := c.Conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if !c.closedByServer(t) {
			t.Fatal("the server answered an extension next whose client had gone")
		}
	}
	ce.serve(t, ce.call(t, `{"n":3}`), `{"n":3}`)
}

// parkedNext reports whether a next waits in the sandbox parked in the poller,
// where a caller answers it itself.
func (ce *clientEnv) parkedNext() bool {
	ce.sb.mu.Lock()
	defer ce.sb.mu.Unlock()
	return ce.sb.next != nil && ce.sb.next.parked
}

// TestAnsweredNextReplacedEndsQuietly checks that a next a caller answered
// (from its own goroutine, the next parked) and that a newer next then
// replaces, as when the runtime posts its result and polls again on another
// connection, ends without a second answer: its connection serves the next
// request it carries.
func TestAnsweredNextReplacedEndsQuietly(t *testing.T) {
	ce := newClientEnv(t)
	old := ce.poll(t)
	waitFor(t, "the next to park", ce.parkedNext)
	res := ce.call(t, `{"n":3}`)
	resp, body := old.read(t)
	if resp.StatusCode != http.StatusOK || body != `{"n":3}` {
		t.Fatalf("next: %d %s", resp.StatusCode, body)
	}
	c := dialRAPI(t, ce.addr)
	c.respond(t, resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), `"ok"`)
	awaitOK(t, res)
	c.send(t, http.MethodGet, pathNext, "")
	waitFor(t, "the newer next to park", ce.parkedNext)
	// The first answer on the old connection now is this request's, not a 409.
	old.send(t, http.MethodPost, pathInvPrefix+"no-such-id/response", `"x"`)
	if resp, body := old.read(t); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "InvalidRequestID") {
		t.Fatalf("old connection: %d %s", resp.StatusCode, body)
	}
	ce.callOn(t, c, `{"n":4}`)
}

// TestCallerNeverWritesToAGoneClient checks a caller that takes a parked next
// whose client has gone (the kernel has its FIN, the next has not yet seen it):
// nothing is written to it, and the invocation goes to the runtime's next poll,
// which is parked already.
func TestCallerNeverWritesToAGoneClient(t *testing.T) {
	ce := newClientEnv(t)
	c := ce.poll(t)
	waitFor(t, "the next to park", ce.parkedNext)
	p := ce.inv.pool(ce.cfg)
	if g := p.acquire(context.Background(), nil, waitLimit{until: ce.inv.clock.Now().Add(time.Minute)}); g.sb != ce.sb || g.err != nil {
		t.Fatalf("acquire: %+v", g)
	}

	server := goneClientConn(t)

	w := httptest.NewRecorder()
	gone := &nextWait{rc: &peerVerdict{conn: server}, w: w, written: make(chan struct{})}
	gone.taken.Store(true)
	inv := ce.inv.newInvocation(Request{Function: ce.cfg, Payload: []byte(`{"n":5}`)}, time.Time{})
	ce.sb.deliverTo(gone, inv)
	<-gone.written
	if !gone.gone || w.Body.Len() != 0 || w.Header().Get("Lambda-Runtime-Aws-Request-Id") != "" {
		t.Fatalf("the invocation was written for a gone client: gone %v, %q", gone.gone, w.Body.String())
	}
	resp, body := c.read(t)
	if resp.StatusCode != http.StatusOK || body != `{"n":5}` {
		t.Fatalf("parked next: %d %s", resp.StatusCode, body)
	}
	c.respond(t, resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), `"ok"`)
	<-inv.done
	if string(inv.out.payload) != `"ok"` {
		t.Fatalf("result: %s", inv.out.payload)
	}
}

// TestLargeInvocationReachesParkedNext checks that an invocation too large for
// the caller to write itself (directMax) reaches a parked next through its
// goroutine, which the caller wakes.
func TestLargeInvocationReachesParkedNext(t *testing.T) {
	ce := newClientEnv(t)
	c := ce.poll(t)
	waitFor(t, "the next to park", ce.parkedNext)
	payload := `"` + strings.Repeat("x", 2*directMax) + `"`
	ce.callOn(t, c, payload)
}

// TestResponseLimitIsLambdas checks the response limit at its edge as Lambda
// draws it (6 MiB + 100 bytes, where requests stop at 6 MiB), and the words of
// its refusal: 413 to the runtime, Function.ResponseSizeTooLarge to the caller.
func TestResponseLimitIsLambdas(t *testing.T) {
	ce := newClientEnv(t)
	const limit = 6<<20 + 100
	jsonOf := func(n int) string { return `"` + strings.Repeat("x", n-2) + `"` } // n bytes

	res := ce.call(t, `{"n":1}`)
	c := dialRAPI(t, ce.addr)
	id, _ := c.next(t)
	c.respond(t, id, jsonOf(limit))
	if r := <-res; r == nil || r.FunctionError != "" || len(r.Payload) != limit {
		t.Fatalf("a response of %d bytes: %+v", limit, r)
	}

	res = ce.call(t, `{"n":2}`)
	id, _ = c.next(t)
	c.send(t, http.MethodPost, pathInvPrefix+id+"/response", jsonOf(limit+1))
	resp, body := c.read(t)
	if want := `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`; resp.StatusCode != http.StatusRequestEntityTooLarge || strings.TrimSpace(body) != want {
		t.Errorf("the runtime got %d %s, want 413 %s", resp.StatusCode, body, want)
	}
	r := <-res
	if want := `{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`; r == nil || r.FunctionError != "Unhandled" || string(r.Payload) != want {
		t.Fatalf("a response of %d bytes: %+v, want %s", limit+1, r, want)
	}
	// The sandbox serves on.
	res = ce.call(t, `{"n":3}`)
	id, payload := c.next(t)
	if payload != `{"n":3}` {
		t.Fatalf("after the refusal: %s", payload)
	}
	c.respond(t, id, `"done-3"`)
	if r := <-res; string(r.Payload) != `"done-3"` || r.ColdStart {
		t.Fatalf("after the refusal: %s (cold %v), want the same sandbox's answer", r.Payload, r.ColdStart)
	}
}

// TestRuntimeAPIRoutesOnThePathAsSent checks that the Runtime API routes on
// the path as the runtime sent it: an escaped slash or letter does not make
// another route of it (404, as for /RESPONSE or a trailing slash), and the
// invocation stays the runtime's to answer.
func TestRuntimeAPIRoutesOnThePathAsSent(t *testing.T) {
	ce := newClientEnv(t)
	res := ce.call(t, `{"n":1}`)
	c := dialRAPI(t, ce.addr)
	id, _ := c.next(t)
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, pathInvPrefix + id + "%2Fresponse"},
		{http.MethodPost, pathInvPrefix + id + "%2Ferror"},
		{http.MethodPost, pathInvPrefix + id + "/r%65sponse"},
		{http.MethodPost, "/2018-06-01/runtime/init%2Ferror"},
		{http.MethodGet, "/2018-06-01/runtime/invocation/%6Eext"},
		{http.MethodPost, "/2020-01-01/extension/r%65gister"},
	} {
		c.send(t, r.method, r.path, "5")
		if resp, body := c.read(t); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d %s, want 404", r.method, r.path, resp.StatusCode, body)
		}
	}
	c.respond(t, id, `"ok"`)
	awaitOK(t, res)
}

// TestSecondOversizedResultRefusedForState checks that a result posted for an
// invocation that has one already is refused for that (400
// InvalidStateTransition), whatever its size: the first result stands.
func TestSecondOversizedResultRefusedForState(t *testing.T) {
	ce := newClientEnv(t)
	const limit = 6<<20 + 100
	res := ce.call(t, `{"n":1}`)
	c := dialRAPI(t, ce.addr)
	id, _ := c.next(t)
	c.respond(t, id, "1")
	big := `"` + strings.Repeat("x", limit) + `"`
	for i := 0; i < 2; i++ {
		c.send(t, http.MethodPost, pathInvPrefix+id+"/response", big)
		resp, body := c.read(t)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"InvalidStateTransition"`) {
			t.Errorf("an oversized second result: %d %.200s, want 400 InvalidStateTransition", resp.StatusCode, body)
		}
	}
	if r := <-res; r == nil || string(r.Payload) != "1" || r.FunctionError != "" {
		t.Fatalf("caller got %+v, want the first result", r)
	}
	// The sandbox serves on.
	res = ce.call(t, `{"n":2}`)
	id, payload := c.next(t)
	if payload != `{"n":2}` {
		t.Fatalf("next after the refusals: %s", payload)
	}
	c.respond(t, id, `"ok"`)
	awaitOK(t, res)
}

// TestRuntimeAPIBoundsConnections checks that code in a sandbox cannot open
// connections to its Runtime API endpoint without end (each costs Portico a
// file descriptor, and a process that runs out of them stops accepting on
// every listener): past runtimeAPIMaxConns from one address a connection is
// closed unanswered, while the ones held go on serving the runtime.
func TestRuntimeAPIBoundsConnections(t *testing.T) {
	ce := newClientEnv(t)
	waitFor(t, "the first invocation's connection to close", func() bool { return ce.sb.srv.Open() == 0 })
	held := make([]*rapiClient, runtimeAPIMaxConns)
	for i := range held {
		held[i] = dialRAPI(t, ce.addr)
		held[i].send(t, http.MethodGet, "/2018-06-01/nothing", "")
		if resp, body := held[i].read(t); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("connection %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	// The server closes the connection at once: the client reads its end, or
	// a reset when the request reached a socket already closed.
	extra := dialRAPI(t, ce.addr)
	_, _ = io.WriteString(extra, "GET "+pathNext+" HTTP/1.1\r\nHost: rapi\r\n\r\n")
	if _, err := extra.br.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection %d from the same address was served; want it closed", runtimeAPIMaxConns+1)
	}
	res := ce.call(t, `{"n":1}`)
	id, payload := held[0].next(t)
	if payload != `{"n":1}` {
		t.Fatalf("invocation on a held connection: %s", payload)
	}
	held[0].respond(t, id, `"done-1"`)
	if r := <-res; string(r.Payload) != `"done-1"` {
		t.Fatalf("call: %s", r.Payload)
	}
}

// TestNextBeforeResultKeepsTheInvocation checks a runtime that calls next
// before posting its result: as in Lambda, the invocation is still its to
// answer (no other is dispatched to the sandbox meanwhile), and once it has
// answered, the waiting next takes the following invocation.
func TestNextBeforeResultKeepsTheInvocation(t *testing.T) {
	ce := newClientEnv(t)
	first := ce.call(t, `{"n":1}`)
	c1 := dialRAPI(t, ce.addr)
	id, payload := c1.next(t)
	if payload != `{"n":1}` {
		t.Fatalf("first invocation: %s", payload)
	}
	c2 := ce.poll(t) // next, with the first invocation unanswered
	c1.respond(t, id, `"done-1"`)
	if r := <-first; string(r.Payload) != `"done-1"` {
		t.Fatalf("first call: %s", r.Payload)
	}
	second := ce.call(t, `{"n":2}`)
	resp, body := c2.read(t)
	if resp.StatusCode != http.StatusOK || body != `{"n":2}` {
		t.Fatalf("the early next: %d %s, want the second invocation", resp.StatusCode, body)
	}
	c2.respond(t, resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), `"done-2"`)
	if r := <-second; string(r.Payload) != `"done-2"` || r.ColdStart {
		t.Fatalf("second call: %s (cold %v), want the same sandbox's answer", r.Payload, r.ColdStart)
	}
}

// register registers an extension for events with the Extensions API and
// returns its identifier.
func (c *rapiClient) register(t *testing.T, events string) string {
	t.Helper()
	c.send(t, http.MethodPost, pathExtReg, `{"events":`+events+`}`)
	resp, body := c.read(t)
	id := resp.Header.Get("Lambda-Extension-Identifier")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("register %s: %d %s", events, resp.StatusCode, body)
	}
	return id
}

// extNext sends an extension's event/next.
func (c *rapiClient) extNext(t *testing.T, id string) {
	t.Helper()
	req := "GET " + pathExtNext + " HTTP/1.1\r\nHost: rapi\r\nLambda-Extension-Identifier: " + id + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
}

// extEvent reads an extension's event.
func (c *rapiClient) extEvent(t *testing.T) map[string]any {
	t.Helper()
	resp, body := c.read(t)
	var ev map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &ev) != nil {
		t.Fatalf("event/next: %d %s", resp.StatusCode, body)
	}
	return ev
}

// TestExtensionEvents checks that the Extensions API honours the events an
// extension registered for: INVOKE events reach those registered for INVOKE,
// SHUTDOWN those registered for SHUTDOWN, and the next of an extension
// registered for neither (aws-lambda-go's WithEnableSIGTERM) waits until the
// sandbox has exited, unanswered.
func TestExtensionEvents(t *testing.T) {
	var both, none, shut *rapiClient
	var bothID, noneID, shutID string
	ce := newClientEnvInit(t, func(addr string) {
		both, none, shut = dialRAPI(t, addr), dialRAPI(t, addr), dialRAPI(t, addr)
		bothID, noneID, shutID = both.register(t, `["INVOKE","SHUTDOWN"]`), none.register(t, `[]`), shut.register(t, `["SHUTDOWN"]`)
	})
	// The first invocation's INVOKE waited for the extension.
	both.extNext(t, bothID)
	if ev := both.extEvent(t); ev["eventType"] != "INVOKE" {
		t.Fatalf("the INVOKE extension's first event: %v, want the first invocation's INVOKE", ev)
	}
	both.extNext(t, bothID)
	none.extNext(t, noneID)
	shut.extNext(t, shutID)

	res := ce.call(t, `{"n":1}`)
	rt := dialRAPI(t, ce.addr)
	id, _ := rt.next(t)
	ev := both.extEvent(t)
	if ev["eventType"] != "INVOKE" || ev["requestId"] != id || ev["invokedFunctionArn"] == "" || ev["deadlineMs"] == nil {
		t.Fatalf("the INVOKE extension's event: %v, want INVOKE of %s", ev, id)
	}
	rt.respond(t, id, `"ok"`)
	awaitOK(t, res)
	both.extNext(t, bothID)

	ce.rsb.holdExit = true
	ce.sb.stop()
	for what, c := range map[string]*rapiClient{"INVOKE and SHUTDOWN": both, "SHUTDOWN": shut} {
		if ev := c.extEvent(t); ev["eventType"] != "SHUTDOWN" {
			t.Errorf("the %s extension's event at stop: %v, want SHUTDOWN", what, ev)
		}
	}
	<-ce.rsb.stopped
	ce.rsb.exit()
	if !none.closedByServer(t) {
		t.Fatal("the next of an extension registered for no events was answered; want it to wait until the sandbox ended")
	}
}

// TestExtensionAPIRefusals checks the Extensions API's refusals: an unknown
// event in a registration, a registration once init is over (Lambda takes
// them during init only: 403 Extension.RegistrationClosed), a next without an
// identifier or with an unknown one.
func TestExtensionAPIRefusals(t *testing.T) {
	ce := newClientEnv(t)
	c := dialRAPI(t, ce.addr)
	c.send(t, http.MethodPost, pathExtReg, `{"events":["INVOKE","BOGUS"]}`)
	if resp, body := c.read(t); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("register for an unknown event: %d %s, want 400", resp.StatusCode, body)
	}
	c.send(t, http.MethodPost, pathExtReg, `{"events":["INVOKE"]}`)
	if resp, body := c.read(t); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"Extension.RegistrationClosed"`) ||
		resp.Header.Get("Lambda-Extension-Identifier") != "" {
		t.Errorf("register after init: %d %s, want 403 Extension.RegistrationClosed", resp.StatusCode, body)
	}
	// Nor during an invocation.
	res := ce.call(t, `{"n":1}`)
	rt := dialRAPI(t, ce.addr)
	id, _ := rt.next(t)
	c.send(t, http.MethodPost, pathExtReg, `{"events":[]}`)
	if resp, body := c.read(t); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"Extension.RegistrationClosed"`) {
		t.Errorf("register during an invocation: %d %s, want 403 Extension.RegistrationClosed", resp.StatusCode, body)
	}
	rt.respond(t, id, `"ok"`)
	awaitOK(t, res)
	c.send(t, http.MethodGet, pathExtNext, "")
	if resp, body := c.read(t); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Extension.MissingExtensionIdentifier") {
		t.Errorf("next without an identifier: %d %s, want 403", resp.StatusCode, body)
	}
	c.extNext(t, "not-registered")
	if resp, body := c.read(t); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Extension.UnknownExtensionIdentifier") {
		t.Errorf("next with an unknown identifier: %d %s, want 403", resp.StatusCode, body)
	}
}

// TestNextDuringInvocationKeepsItAnswerable checks what docs/invoker.md says
// of a runtime that asks for next while its invocation is in flight: the
// invocation stays answerable and its result reaches the caller; of two nexts
// then waiting, the older is answered 409.
func TestNextDuringInvocationKeepsItAnswerable(t *testing.T) {
	ce := newClientEnv(t)
	res := ce.call(t, `{"n":1}`)
	c := dialRAPI(t, ce.addr)
	id, _ := c.next(t)
	older := dialRAPI(t, ce.addr)
	older.send(t, http.MethodGet, pathNext, "")
	waitFor(t, "the next to wait", ce.waitingNext)
	newer := dialRAPI(t, ce.addr)
	newer.send(t, http.MethodGet, pathNext, "")
	if resp, body := older.read(t); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "InvalidStateTransition") {
		t.Fatalf("the older next: %d %s, want 409 InvalidStateTransition", resp.StatusCode, body)
	}
	c.respond(t, id, `"late but kept"`)
	if r := <-res; r == nil || string(r.Payload) != `"late but kept"` {
		t.Fatalf("the call: %+v", r)
	}
}

// TestRuntimeAPIRefusalsInLambdasShape: the Runtime API endpoint answers a
// header over its limit 431, a request line alone over it 414 and a malformed
// head (differing Content-Length values) 400 in the
// Runtime API's error shape, {"errorType", "errorMessage"} as its other
// errors are, not in the server's plain text.
func TestRuntimeAPIRefusalsInLambdasShape(t *testing.T) {
	ce := newClientEnv(t)
	const over = http.DefaultMaxHeaderBytes + 10<<10
	for _, tc := range []struct {
		name   string
		answer func() (int, http.Header, string)
		status int
		typ    string
	}{
		{"431", func() (int, http.Header, string) {
			return listenertest.HeaderAnswer(t, "http://"+ce.addr+"/2018-06-01/runtime/invocation/next", over)
		}, http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLarge"},
		{"414", func() (int, http.Header, string) { return listenertest.LineAnswer(t, ce.addr, over) },
			http.StatusRequestURITooLong, "RequestURITooLong"},
		{"400", func() (int, http.Header, string) {
			return listenertest.RawAnswer(t, ce.addr, "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx")
		}, http.StatusBadRequest, "BadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := tc.answer()
			var doc map[string]string
			if status != tc.status || h.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &doc) != nil ||
				len(doc) != 2 || doc["errorType"] != tc.typ || doc["errorMessage"] != http.StatusText(tc.status) {
				t.Errorf("%d %q %v, want %d {\"errorType\": %q, \"errorMessage\": %q}", status, body, h, tc.status, tc.typ, http.StatusText(tc.status))
			}
		})
	}
}

// TestRuntimeAPITakesMaxHeaderBytes: a sandbox's Runtime API endpoint refuses
// a header block over the gateway listener's max-header-bytes (Config.Listener)
// with 431 in its error shape, at the default (64 KB) and at a configured
// limit, as docs/operations.md says; it used to take h1's default, 1 MB, per
// connection, whatever the setting. A header under the limit still reaches
// the API.
func TestRuntimeAPITakesMaxHeaderBytes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
	}{{"default", 0}, {"configured", 16 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			ce := newClientEnvWith(t, func(c *Config) { c.Listener.MaxHeaderBytes = tc.limit }, nil)
			limit := listener.Limits{MaxHeaderBytes: tc.limit}.WithDefaults().MaxHeaderBytes
			url := "http://" + ce.addr + "/2018-06-01/runtime/nosuch"
			if status, _, body := listenertest.HeaderAnswer(t, url, limit+4<<10); status != http.StatusRequestHeaderFieldsTooLarge ||
				!strings.Contains(body, `"RequestHeaderFieldsTooLarge"`) {
				t.Errorf("a header %d bytes over %d: %d %q, want 431 RequestHeaderFieldsTooLarge", 4<<10, limit, status, body)
			}
			if status, _, body := listenertest.HeaderAnswer(t, url, limit/2); status == http.StatusRequestHeaderFieldsTooLarge || status >= 500 {
				t.Errorf("a header under %d: %d %q", limit, status, body)
			}
		})
	}
}
