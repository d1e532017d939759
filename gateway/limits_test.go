package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
)

// TestServerListenerLimits runs slow and oversized clients against the gateway's
// own Server, built with short listener limits: a client that stops halfway
// through its header and one whose body trickles are disconnected, an
// oversized header gets 431, and a well-behaved call still works.
func TestServerListenerLimits(t *testing.T) {
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	created := gwtest.Deploy(t, svc, mockAPI(), apis.DeployInput{StageName: "s"})
	gw := New(Config{Listen: "127.0.0.1:0"}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{MaxHeaderBytes: 8 << 10, HeaderTimeout: 2 * time.Second, BodyTimeout: 2 * time.Second, IdleTimeout: time.Minute})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })

	path := "/" + created.ID + "/s/mock"
	t.Run("half a header", func(t *testing.T) {
		if got := listenertest.SendAndWaitClosed(t, s.Addr(), "GET "+path+" HTTP/1.1\r\nHost: x\r\nX-Slo"); strings.Contains(got, " 200 ") {
			t.Fatalf("served: %q", got)
		}
	})
	t.Run("a body that never comes", func(t *testing.T) {
		if got := listenertest.SendAndWaitClosed(t, s.Addr(), "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"a\":"); strings.Contains(got, " 200 ") {
			t.Fatalf("served: %q", got)
		}
	})
	t.Run("oversized header", func(t *testing.T) {
		if got := listenertest.HeaderStatus(t, s.URL()+path, 64<<10); got != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("64 KB header: %d, want 431", got)
		}
	})
	t.Run("a normal call", func(t *testing.T) {
		res, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}
