package connections

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"
)

// TestReverifyClosesTheConnectionsVerifyRefuses opens connections with and
// without an Endpoint.Verify: Reverify closes, with its code and reason and
// the $disconnect route, those whose Verify now says no, and no other.
func TestReverifyClosesTheConnectionsVerifyRefuses(t *testing.T) {
	m := New(Config{}, nil)
	d := newFakeDispatcher(map[string]bool{RouteConnect: false, RouteDisconnect: false, RouteDefault: false})
	var trusted [2]atomic.Bool // by the query's ?n=
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep := Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host}
		switch n := r.URL.Query().Get("n"); n {
		case "0", "1":
			ep.Verify = func() bool { return trusted[n[0]-'0'].Load() }
		}
		m.ServeWebSocket(w, r, ep, d)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = m.Shutdown(t.Context()) })
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	trusted[0].Store(true)
	trusted[1].Store(true)
	dial := func(q string) (*websocket.Conn, string) {
		t.Helper()
		c, status, err := wsDial(websocket.DefaultDialer, url+q, nil)
		if err != nil {
			t.Fatalf("dial %s: %v (status %d)", q, err, status)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c, d.next(t, EventConnect).RequestContext.ConnectionID
	}
	c0, _ := dial("?n=0")
	_, id1 := dial("?n=1")
	_, idNone := dial("")
	if n := m.Reverify(websocket.ClosePolicyViolation, "untrusted"); n != 0 {
		t.Fatalf("Reverify closed %d connections that Verify admits", n)
	}
	trusted[0].Store(false)
	if n := m.Reverify(websocket.ClosePolicyViolation, "untrusted"); n != 1 {
		t.Fatalf("Reverify closed %d connections, want 1", n)
	}
	if ce := readClose(t, c0); ce.Code != websocket.ClosePolicyViolation || ce.Text != "untrusted" {
		t.Errorf("close frame %d %q, want 1008 untrusted", ce.Code, ce.Text)
	}
	ev := d.next(t, EventDisconnect)
	if ev.RequestContext.DisconnectStatusCode != websocket.ClosePolicyViolation || ev.RequestContext.DisconnectReason == nil || *ev.RequestContext.DisconnectReason != "untrusted" {
		t.Errorf("$disconnect %d %v", ev.RequestContext.DisconnectStatusCode, ev.RequestContext.DisconnectReason)
	}
	for _, id := range []string{id1, idNone} {
		if _, err := m.Get("", "", id); err != nil {
			t.Errorf("connection %s after Reverify: %v", id, err)
		}
	}
}

// TestUpgradeRefusedWhenVerifyChangedDuringConnect changes what Verify says
// while $connect runs, as a truststore change whose Reverify ran before the
// connection was registered: the upgrade is refused with 403 and $disconnect
// runs.
func TestUpgradeRefusedWhenVerifyChangedDuringConnect(t *testing.T) {
	m := New(Config{}, nil)
	d := newFakeDispatcher(map[string]bool{RouteConnect: false, RouteDisconnect: false})
	var trusted atomic.Bool
	trusted.Store(true)
	d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType == EventConnect {
			trusted.Store(false)
			m.Reverify(websocket.ClosePolicyViolation, "untrusted") // the connection is not registered yet
		}
		return &Response{StatusCode: 200}, nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host, Verify: trusted.Load}, d)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = m.Shutdown(t.Context()) })
	_, status, err := wsDial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(srv.URL, "http")+"/", nil)
	if err == nil || status != http.StatusForbidden {
		t.Fatalf("upgrade: status %d, %v; want 403", status, err)
	}
	connectID := d.next(t, EventConnect).RequestContext.ConnectionID
	if ev := d.next(t, EventDisconnect); ev.RequestContext.ConnectionID != connectID {
		t.Errorf("$disconnect of %q, want %q", ev.RequestContext.ConnectionID, connectID)
	}
	if n := m.Len(); n != 0 {
		t.Errorf("%d connections registered", n)
	}
}
