package connections

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/connset"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestHandshakePastPerIPBoundIsRefused: a WebSocket counts under its peer
// address against Endpoint.PerIP (gateway-max-conns-per-ip) from its
// handshake until it closes; a handshake from an address already past the
// bound is refused with 429 before $connect, logged once, and counts
// nothing. (Upgraded connections left the per-address count when they were
// hijacked, so one client could hold any number of them.)
func TestHandshakePastPerIPBoundIsRefused(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	m := New(Config{AdminToken: testToken}, slog.New(slog.NewTextHandler(logs, nil)))
	d := newFakeDispatcher(nil)
	p := connset.NewPerIP(1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host, PerIP: p}, d)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = m.Shutdown(t.Context()) })
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/" + testAPI + "/" + testStage
	local := netip.MustParseAddr("127.0.0.1")

	// Two connections of this address are counted elsewhere: past the bound
	// of one by more than the upgrading connection's own count.
	for range 2 {
		p.AdmitUpgrade(local)
		p.UpgradeDone(local)
	}
	for range 2 {
		c, status, err := wsDial(websocket.DefaultDialer, url, nil)
		if err == nil {
			_ = c.Close()
			t.Fatal("a handshake from an address past its bound was taken")
		}
		if status != http.StatusTooManyRequests {
			t.Fatalf("handshake past the per-address bound: status %d (%v), want 429", status, err)
		}
	}
	if got := p.Open(local); got != 2 {
		t.Fatalf("%d counted after the refusals, want the 2 held elsewhere", got)
	}
	if n := strings.Count(logs.String(), "gateway-max-conns-per-ip"); n != 1 {
		t.Fatalf("%d log lines about the refused handshakes, want 1\n%s", n, logs.String())
	}

	p.Release(local)
	p.Release(local)
	c, status, err := wsDial(websocket.DefaultDialer, url, nil)
	if err != nil {
		t.Fatalf("a handshake under the bound: %v (status %d)", err, status)
	}
	if got := p.Open(local); got != 1 {
		t.Fatalf("%d counted with one WebSocket open, want 1", got)
	}
	_ = c.Close()
	waitUntil(t, "the closed WebSocket's count given back", func() bool { return p.Open(local) == 0 })
}
