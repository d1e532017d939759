package admin

import (
	"bufio"
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
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/store"
)

// TestAdminConnectionBound: the admin API holds at most Config.MaxConns
// connections at once (ops29: a client holding connections to it, which
// needs no token, used up the descriptors and the gateway stopped
// answering). At the bound a new client takes the place of an idle
// keep-alive connection, as at the gateway's; with none to close, it is
// closed unanswered and the refusal is logged.
func TestAdminConnectionBound(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var logs testkit.LockedBuffer
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0", MaxConns: 4},
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })

	// get sends a request on c and reads its answer, keeping c open.
	get := func(c net.Conn) (int, error) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a hang's bound, not a timing
		if _, err := io.WriteString(c, "GET /restapis HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// At the bound with idle keep-alive connections: a new client takes the
	// place of one of them, which is closed, and is served.
	var held []net.Conn
	for range 4 {
		c := dial()
		if code, err := get(c); err != nil || code != http.StatusOK {
			t.Fatalf("a connection within the bound: %d %v", code, err)
		}
		held = append(held, c) // idle keep-alive now
	}
	if code, err := get(dial()); err != nil || code != http.StatusOK {
		t.Fatalf("a new client at a bound of idle keep-alive connections: %d %v, want it served", code, err)
	}
	closed := 0
	for _, c := range held {
		_ = c.SetDeadline(time.Now().Add(time.Second)) // an open one times out: not a timing assertion
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			closed++
		}
	}
	if closed != 1 {
		t.Fatalf("%d idle keep-alive connections closed for the new client, want 1", closed)
	}
	// At the bound with connections that are all busy or new (none has
	// served a request yet): one past it is closed unanswered.
	for _, c := range held {
		_ = c.Close()
	}
	for range 4 {
		c := dial()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, "GET /restapis HTTP/1.1\r\n"); err != nil { // a head begun, not ended
			t.Fatal(err)
		}
	}
	past := dial()
	_ = past.SetDeadline(time.Now().Add(30 * time.Second))
	if n, err := past.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection past a bound of busy connections: read %d bytes, %v; want it closed unanswered", n, err)
	}
	if !strings.Contains(logs.String(), "connection refused: the admin API holds as many connections as it may") {
		t.Errorf("no refusal logged:\n%s", logs.String())
	}
}
