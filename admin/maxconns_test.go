package admin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

// TestAdminConnectionBound: the admin API holds at most Config.MaxConns
// connections at once (ops29: a client holding connections to it, which
// needs no token, used up the descriptors and the gateway stopped
// answering). One past the bound is closed unanswered, the refusal is logged,
// the idle keep-alive connections are closed to make room, and the client
// that connects again is served.
func TestAdminConnectionBound(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var logs logBuffer
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
	var held []net.Conn
	for range 4 {
		c := dial()
		if code, err := get(c); err != nil || code != http.StatusOK {
			t.Fatalf("a connection within the bound: %d %v", code, err)
		}
		held = append(held, c) // idle keep-alive now
	}
	past := dial()
	_ = past.SetDeadline(time.Now().Add(30 * time.Second))
	if n, err := past.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the connection past the bound: read %d bytes, %v; want it closed unanswered", n, err)
	}
	// The idle keep-alive connections were closed to make room.
	for i, c := range held {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset")) {
			t.Fatalf("idle keep-alive connection %d after the refusal: read %d, %v; want it closed", i, n, err)
		}
	}
	if code, err := get(dial()); err != nil || code != http.StatusOK {
		t.Fatalf("a client connecting again: %d %v, want it served", code, err)
	}
	if !strings.Contains(logs.String(), "connection refused: the admin API holds as many connections as it may") {
		t.Errorf("no refusal logged:\n%s", logs.String())
	}
}

// logBuffer is an io.Writer safe for the server's concurrent log writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
