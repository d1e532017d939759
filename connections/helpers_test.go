package connections

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/wstest"

	"github.com/portico-dev/portico/internal/routeselect"
)

const (
	testAPI   = "abcdefghij"
	testStage = "dev"
	testToken = "admin-secret"
)

// fakeDispatcher is a hand-written Dispatcher: routes by key, a handler per call,
// and every event it got.
type fakeDispatcher struct {
	mu     sync.Mutex
	routes *Routes
	handle func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error)
	events chan *events.APIGatewayWebsocketProxyRequest
}

func newFakeDispatcher(keys map[string]bool) *fakeDispatcher {
	sel, _ := routeselect.Parse("")
	return &fakeDispatcher{
		routes: &Routes{Selector: sel, Keys: keys, StageVariables: map[string]string{"v": "1"}},
		events: make(chan *events.APIGatewayWebsocketProxyRequest, 1000),
	}
}

func (f *fakeDispatcher) Routes(ctx context.Context, apiID, stage string) (*Routes, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.routes, nil
}

func (f *fakeDispatcher) Dispatch(ctx context.Context, ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
	f.events <- ev
	f.mu.Lock()
	h := f.handle
	f.mu.Unlock()
	if h != nil {
		return h(ev)
	}
	return &Response{StatusCode: 200, Body: []byte(ev.Body)}, nil
}

// next returns the next event of the given type, skipping others.
func (f *fakeDispatcher) next(t *testing.T, eventType string) *events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-f.events:
			if ev.RequestContext.EventType == eventType {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", eventType)
			return nil
		}
	}
}

type testServer struct {
	m   *Manager
	d   *fakeDispatcher
	srv *httptest.Server
	ws  string // ws://host/api/stage
	url string // http://host/api/stage
}

func newTestServer(t *testing.T, cfg Config, keys map[string]bool) *testServer {
	t.Helper()
	return newTestServerLog(t, cfg, keys, nil)
}

// newTestServerLog is newTestServer with the manager logging to log.
func newTestServerLog(t *testing.T, cfg Config, keys map[string]bool, log *slog.Logger) *testServer {
	t.Helper()
	if cfg.AdminToken == "" {
		cfg.AdminToken = testToken
	}
	ts := &testServer{m: New(cfg, log), d: newFakeDispatcher(keys)}
	ts.m.SetIntegrations(fakeIntegrations{testAPI + "/" + testStage + "/chat": true, testAPI + "/" + testStage + "/bench": true})
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if len(parts) == 4 && parts[2] == "@connections" {
			ts.m.ServeManagement(w, r, parts[0], parts[1], parts[3])
			return
		}
		if len(parts) == 3 && parts[1] == "@connections" { // a URL that names no API
			ts.m.ServeManagement(w, r, "", parts[0], parts[2])
			return
		}
		if len(parts) < 2 || parts[0] != testAPI || parts[1] != testStage {
			http.NotFound(w, r)
			return
		}
		ts.m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host, RequestID: "req-1", ExtendedRequestID: "ext-1"}, ts.d)
	}))
	ts.url = ts.srv.URL + "/" + testAPI + "/" + testStage
	ts.ws = "ws" + strings.TrimPrefix(ts.url, "http")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = ts.m.Shutdown(ctx)
		ts.srv.Close()
	})
	return ts
}

func (ts *testServer) dial(t *testing.T, query string) *websocket.Conn {
	t.Helper()
	c, status, err := wsDial(websocket.DefaultDialer, ts.ws+query, http.Header{"User-Agent": {"test-agent"}})
	if err != nil {
		t.Fatalf("dial: %v (status %d)", err, status)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// connID returns the id of the connection that just connected (from its $connect
// event when the stage has one, else from the registry's newest).
func (ts *testServer) waitConns(t *testing.T, n int) []Info {
	t.Helper()
	var l []Info
	waitUntil(t, fmt.Sprintf("%d connections", n), func() bool {
		l = ts.m.List(testAPI, testStage)
		return len(l) == n
	})
	return l
}

var (
	readText  = wstest.ReadText
	readClose = wstest.ReadClose
	wsDial    = wstest.Dial
)

// fakeIntegrations says which functions ("api/stage/function") routes integrate.
type fakeIntegrations map[string]bool

func (f fakeIntegrations) Integrates(_ context.Context, apiID, stage, function string) (bool, error) {
	return f[apiID+"/"+stage+"/"+function], nil
}
