package listener

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// bound is a safety net for reads that the server is expected to end by closing
// the connection.
const bound = listenertest.Bound

// short are limits small enough that slow clients hit them at once.
var short = Limits{MaxHeaderBytes: 4096, HeaderTimeout: 100 * time.Millisecond, BodyTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond}

// patient are short's limits but for the header, which a client has seconds
// to send: a test whose request must be served before the limit it tests (the
// idle or body timeout) is not cut off when it stalls between its dial and
// its write on a loaded machine (CI runs packages side by side; such stalls
// pass 100 ms).
var patient = Limits{MaxHeaderBytes: short.MaxHeaderBytes, HeaderTimeout: 5 * time.Second, BodyTimeout: short.BodyTimeout, IdleTimeout: short.IdleTimeout}

// serve starts a server for h with l on a loopback port and returns its address.
func serve(t *testing.T, l Limits, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := l.Server(h)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

var (
	dial       = listenertest.Dial
	waitClosed = listenertest.WaitClosed
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusRequestTimeout)
		return
	}
	_, _ = io.WriteString(w, "ok")
})

// TestHalfAHeaderIsCutOff: a client that sends part of its header and stops is
// disconnected.
func TestHalfAHeaderIsCutOff(t *testing.T) {
	c := dial(t, serve(t, short, ok))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	if got := waitClosed(t, c); strings.Contains(got, " 200 ") {
		t.Fatalf("a half header was served: %q", got)
	}
}

// TestTricklingBodyIsCutOff: a client that sends its body a byte at a time, too
// slowly to finish, is cut off; the handler sees a read error, not a body.
func TestTricklingBodyIsCutOff(t *testing.T) {
	c := dial(t, serve(t, short, ok))
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a byte now and then, for as long as the server reads
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	got := waitClosed(t, c)
	if strings.Contains(got, " 200 ") {
		t.Fatalf("a trickled body was accepted: %q", got)
	}
}

// TestLargeHeaderRefused: a header block over MaxHeaderBytes gets 431.
func TestLargeHeaderRefused(t *testing.T) {
	// Time enough to send the header on a loaded machine: the size decides.
	addr := serve(t, Limits{MaxHeaderBytes: 4096}, ok)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("1 MB header: %d, want 431", res.StatusCode)
	}
}

// TestIdleConnectionClosed: a keep-alive connection that sends no next request
// is closed.
func TestIdleConnectionClosed(t *testing.T) {
	c := dial(t, serve(t, patient, ok))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if status := readResponse(t, br); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	_ = c.SetReadDeadline(time.Now().Add(bound))
	if _, err := br.ReadByte(); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("an idle keep-alive connection was kept open")
	}
}

// TestSlowHandlerOutlivesBodyTimeout: once the body has arrived, the handler may
// take longer than BodyTimeout (an integration's 29 s) without its request
// being cancelled. The handler waits until a slow client on another connection
// has been cut off, which shows that BodyTimeout has passed.
func TestSlowHandlerOutlivesBodyTimeout(t *testing.T) {
	slowCutOff := make(chan struct{})
	ctxErrs := make(chan error, 1)
	addr := serve(t, patient, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/probe" {
			ok(w, r)
			return
		}
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		<-slowCutOff
		ctxErrs <- r.Context().Err()
		_, _ = io.WriteString(w, "done")
	}))
	type answer struct {
		status int
		body   string
	}
	done := make(chan answer, 1)
	go func() {
		res, err := http.Post("http://"+addr+"/work", "text/plain", strings.NewReader("payload")) //nolint:bodyclose // the receiver of done closes it
		if err != nil {
			t.Error(err)
			done <- answer{}
			return
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		done <- answer{res.StatusCode, string(b)}
	}()
	probe := dial(t, addr)
	_, _ = io.WriteString(probe, "POST /probe HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nx")
	waitClosed(t, probe)
	close(slowCutOff)
	a := <-done
	if a.status == 0 {
		t.FailNow() // the request failed (said above): no handler sends on ctxErrs
	}
	if ctxErr := <-ctxErrs; a.status != http.StatusOK || a.body != "done" || ctxErr != nil {
		t.Fatalf("slow handler: %d %q, context %v", a.status, a.body, ctxErr)
	}
}

// TestHijackedConnectionIsNotTimedOut: a connection the handler hijacks (a
// WebSocket) outlives the header, body and idle timeouts. It is still answered
// after a plain keep-alive connection opened after it was closed as idle.
func TestHijackedConnectionIsNotTimedOut(t *testing.T) {
	addr := serve(t, patient, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" {
			ok(w, r)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		for { // echo lines
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = brw.WriteString(line)
			_ = brw.Flush()
		}
	}))
	ws := dial(t, addr)
	_, _ = io.WriteString(ws, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(ws)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	_ = res.Body.Close() // a 101 has no body; the connection stays ours
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", res.StatusCode)
	}
	// A plain connection, opened later, left idle: closed by the server.
	idle := dial(t, addr)
	_, _ = io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	waitIdleClose(t, idle)
	// The hijacked one, idle for longer, still answers.
	_, _ = io.WriteString(ws, "still here\n")
	_ = ws.SetReadDeadline(time.Now().Add(bound))
	if line, err := br.ReadString('\n'); err != nil || line != "still here\n" {
		t.Fatalf("the hijacked connection was cut off: %q %v", line, err)
	}
}

func waitIdleClose(t *testing.T, c net.Conn) {
	t.Helper()
	br := bufio.NewReader(c)
	readResponse(t, br)
	_ = c.SetReadDeadline(time.Now().Add(bound))
	if _, err := br.ReadByte(); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("an idle keep-alive connection was kept open")
	}
}

// TestTightenAndValidate covers the admin API's rule (no looser than the
// gateway) and bad limits.
func TestTightenAndValidate(t *testing.T) {
	gw := Limits{MaxHeaderBytes: 16 << 10, HeaderTimeout: 5 * time.Second}
	admin := Limits{MaxHeaderBytes: 1 << 20, BodyTimeout: 10 * time.Minute, IdleTimeout: time.Second}
	got := admin.Tighten(gw)
	want := Limits{MaxHeaderBytes: 16 << 10, HeaderTimeout: 5 * time.Second, BodyTimeout: DefaultLimits().BodyTimeout, IdleTimeout: time.Second}
	if got != want {
		t.Fatalf("tightened %+v, want %+v", got, want)
	}
	for name, l := range map[string]Limits{
		"negative timeout": {BodyTimeout: -time.Second},
		"tiny header":      {MaxHeaderBytes: 10},
		"negative header":  {MaxHeaderBytes: -1},
	} {
		if l.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (Limits{}).Validate(); err != nil {
		t.Errorf("zero limits (the defaults): %v", err)
	}
}

// readResponse reads one response from br, drains its body and returns its
// status code.
func readResponse(t *testing.T, br *bufio.Reader) int {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res.StatusCode
}
