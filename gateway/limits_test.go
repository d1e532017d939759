package gateway

import (
	"context"
	"errors"
	"io"
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

// TestServerListenerLimits runs slow and oversized clients against the gateway's
// own Server, built with short listener limits: a client that stops halfway
// through its header and one whose body trickles are disconnected, an
// oversized header gets 431, and a well-behaved call still works.
func TestServerListenerLimits(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := apis.NewService(st, nil)
	ctx := context.Background()
	created, err := svc.Create(ctx, mockAPI())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, created.ID, apis.DeployInput{StageName: "s"}); err != nil {
		t.Fatal(err)
	}
	gw := New(Config{Listen: "127.0.0.1:0"}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{MaxHeaderBytes: 8 << 10, HeaderTimeout: 2 * time.Second, BodyTimeout: 2 * time.Second, IdleTimeout: time.Minute})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })

	closedBy := func(t *testing.T, send string) string {
		t.Helper()
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a safety net, not what the test waits for
		b, err := io.ReadAll(c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the gateway kept a slow client's connection open (read %q)", b)
		}
		return string(b)
	}
	path := "/" + created.ID + "/s/mock"
	t.Run("half a header", func(t *testing.T) {
		if got := closedBy(t, "GET "+path+" HTTP/1.1\r\nHost: x\r\nX-Slo"); strings.Contains(got, " 200 ") {
			t.Fatalf("served: %q", got)
		}
	})
	t.Run("a body that never comes", func(t *testing.T) {
		if got := closedBy(t, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"a\":"); strings.Contains(got, " 200 ") {
			t.Fatalf("served: %q", got)
		}
	})
	t.Run("oversized header", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
		req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("64 KB header: %d, want 431", res.StatusCode)
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
