package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/listener"
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

func headerStatus(t *testing.T, addr string, size int) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/restapis", nil)
	req.Header.Set("X-Big", strings.Repeat("a", size))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// TestAdminListenerLimits checks that the admin API refuses a 1 MB header as
// the gateway does, is never looser than the gateway even when configured so,
// and disconnects a client that stops halfway through its header.
func TestAdminListenerLimits(t *testing.T) {
	if got := headerStatus(t, startAdmin(t, listener.Limits{}, listener.Limits{}), 1<<20); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("1 MB header with the default limits: %d, want 431", got)
	}
	loose := listener.Limits{MaxHeaderBytes: 4 << 20, HeaderTimeout: time.Hour}
	strict := listener.Limits{MaxHeaderBytes: 8 << 10, HeaderTimeout: 2 * time.Second}
	addr := startAdmin(t, loose, strict)
	if got := headerStatus(t, addr, 64<<10); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KB header, admin configured looser than a gateway of 8 KB: %d, want 431", got)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /restapis HTTP/1.1\r\nHost: x\r\nAuthoriz")
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a safety net, not what the test waits for
	if b, err := io.ReadAll(c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a half header held the admin connection open (the gateway's header timeout applies): %q", b)
	}
}
