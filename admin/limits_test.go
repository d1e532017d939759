package admin

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/listener/listenertest"
	"github.com/portico-dev/portico/store"
)

// startAdmin starts the admin server on a loopback port with the given limits.
func startAdmin(t *testing.T, own, gateway listener.Limits) string {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0", Limits: own, GatewayLimits: gateway},
		Log: slog.New(slog.DiscardHandler), Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s.Addr()
}

// TestAdminListenerLimits checks that the admin API refuses a 1 MB header as
// the gateway does, is never looser than the gateway even when configured so,
// and disconnects a client that stops halfway through its header.
func TestAdminListenerLimits(t *testing.T) {
	t.Parallel()
	// In Lambda's error shape, with a request id, as the admin API's 413
	// and 408 are.
	status, h, body := listenertest.HeaderAnswer(t, "http://"+startAdmin(t, listener.Limits{}, listener.Limits{})+"/restapis", 1<<20)
	if status != http.StatusRequestHeaderFieldsTooLarge || h.Get("X-Amzn-Errortype") != "RequestHeaderFieldsTooLargeException" ||
		h.Get("X-Amzn-Requestid") == "" || h.Get("Content-Type") != "application/json" ||
		body != `{"Type":"User","message":"Request Header Fields Too Large"}`+"\n" {
		t.Fatalf("1 MB header with the default limits: %d %v %q, want 431 in Lambda's error shape", status, h, body)
	}
	loose := listener.Limits{MaxHeaderBytes: 4 << 20, HeaderTimeout: time.Hour}
	strict := listener.Limits{MaxHeaderBytes: 8 << 10, HeaderTimeout: 2 * time.Second}
	addr := startAdmin(t, loose, strict)
	if got := listenertest.HeaderStatus(t, "http://"+addr+"/restapis", 64<<10); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KB header, admin configured looser than a gateway of 8 KB: %d, want 431", got)
	}
	// A half header: the gateway's header timeout applies.
	listenertest.SendAndWaitClosed(t, addr, "GET /restapis HTTP/1.1\r\nHost: x\r\nAuthoriz")
}

// TestAdminRefusesDoublyFramedRequests checks that the admin listener (served
// by internal/h1, as the gateway's) refuses a request with both
// Transfer-Encoding and Content-Length with 400 and closes the connection, so
// a request hidden in its body is never served.
func TestAdminRefusesDoublyFramedRequests(t *testing.T) {
	t.Parallel()
	addr := startAdmin(t, listener.Limits{}, listener.Limits{})
	got := listenertest.SendAndWaitClosed(t, addr, "POST /restapis HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
		"GET /restapis HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 400 ") || strings.Count(got, "HTTP/1.1 ") != 1 {
		t.Fatalf("answered %q, want one 400 and the connection closed", got)
	}
}
