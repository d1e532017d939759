package connections

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/routeselect"
	"github.com/portico-dev/portico/internal/wsload"
)

// TestWSLoadClient is not a test: it is the client process of
// TestWebSocketHold20k (internal/wsload).
func TestWSLoadClient(t *testing.T) {
	if !wsload.ServeClient() {
		t.Skip("the client process of TestWebSocketHold20k")
	}
}

// TestWebSocketHold20k holds 20,000 WebSocket connections open on one Manager
// (PORTICO_WS_HOLD sets another count), checks that every one of them still
// answers a message on its two-way route, twice, and closes them all with a
// clean close handshake, after which the Manager holds none. The clients run in
// a child process, a program built without the race detector
// (wsload.Build); each side needs an open-file limit above the count.
func TestWebSocketHold20k(t *testing.T) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("PORTICO_WS_HOLD")); err == nil && v > 0 {
		n = v
	}
	if testing.Short() {
		t.Skip("holds 20,000 connections")
	}
	const spare = 48 // the test binary's own descriptors: listener, pipes, poller, std streams
	if hard := wsload.HardNoFile(); os.Getenv("PORTICO_WS_HOLD") == "" && hard > spare && uint64(n)+spare > hard {
		// A machine whose hard limit is exactly 20,000 (this one's, and no
		// process may raise it) holds all it can rather than skip.
		n = int(hard - spare)
		t.Logf("the hard open-file limit is %d: holding %d connections", hard, n)
	}
	if err := wsload.RaiseNoFile(uint64(n) + spare); err != nil {
		t.Skipf("cannot hold %d connections in this process: %v (set PORTICO_WS_HOLD to a smaller count)", n, err)
	}
	// The clients run in a program of their own, built without the race
	// detector: the Manager is under test, and a -race client process spent
	// more CPU opening its connections than the Manager did accepting them.
	start := wsload.Start
	switch bin, err := wsload.Build(t.TempDir()); {
	case err == nil:
		start = func(tb testing.TB, _, url string, n int) (*wsload.Clients, error) {
			return wsload.StartProgram(tb, bin, url, n)
		}
	case errors.Is(err, exec.ErrNotFound):
		t.Logf("the test binary is the client process: %v", err)
	default:
		t.Fatal(err)
	}
	holdAndClose(t, n, start)
}

// TestWebSocketHoldEpoll is TestWebSocketHold20k with 200 connections and the
// client's epoll reader mode (wsload.StartEpoll, which BenchmarkBroadcast10k
// uses): its messages, answers and close handshakes must be those of the
// default client.
func TestWebSocketHoldEpoll(t *testing.T) {
	const n = 200
	if err := wsload.RaiseNoFile(n + 48); err != nil {
		t.Skip(err)
	}
	holdAndClose(t, n, wsload.StartEpoll)
}

// holdAndClose opens n connections to a Manager from a client process that
// start runs, has each answer a message twice and closes them all.
func holdAndClose(t *testing.T, n int, start func(testing.TB, string, string, int) (*wsload.Clients, error)) {
	sel, _ := routeselect.Parse("")
	d := staticDispatcher{routes: &Routes{Selector: sel, Keys: map[string]bool{"$default": true}}, echo: true}
	// Keepalive pings are out of the picture: the client reads only when asked.
	m := New(Config{PingInterval: time.Hour, IdleTimeout: time.Hour}, nil)
	m.SetIntegrations(fakeIntegrations{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host}, d)
	}))
	defer srv.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = m.Shutdown(ctx)
	}()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/" + testAPI + "/" + testStage

	c, err := start(t, "TestWSLoadClient", url, n)
	if err != nil {
		t.Fatal(err)
	}
	// The client counts a connection open at its handshake response; the
	// manager may register it a moment later.
	if got := waitLen(m, n); got != n {
		t.Fatalf("the manager holds %d connections, want %d", got, n)
	}
	for round := range 2 {
		answered, err := c.Ping()
		if err != nil {
			t.Fatal(err)
		}
		if answered != n {
			t.Fatalf("round %d: %d of %d connections answered", round, answered, n)
		}
	}
	clean, err := c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if clean != n {
		t.Errorf("%d of %d connections closed cleanly", clean, n)
	}
	// Every close handshake completed before the client counted it; the
	// manager drops each connection as its read loop ends.
	if got := waitLen(m, 0); got != 0 {
		t.Errorf("the manager still holds %d connections after they all closed", got)
	}
}

// waitLen waits, up to a minute, for m to hold want connections, and returns how
// many it holds.
func waitLen(m *Manager, want int) int {
	deadline := time.Now().Add(time.Minute)
	for m.Len() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return m.Len()
}
