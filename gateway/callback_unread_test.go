package gateway

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/internal/listener"
)

// TestCallbackNotFoundBeforeBodyAnswersAtOnce: the sandbox-facing endpoint's
// 404 for a path it does not serve, decided from the head, goes out at once
// and closes the connection when the request announces a body it has not
// sent, rather than after the listener waited for the body to drop it.
func TestCallbackNotFoundBeforeBodyAnswersAtOnce(t *testing.T) {
	e := newEnv(t)
	m := connections.New(connections.Config{AdminToken: "tok"}, nil)
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	gw := New(Config{Listen: "127.0.0.1:0", CallbackBind: "127.0.0.1:0"}, e.svc, e.res, e.inv, slog.New(slog.DiscardHandler))
	gw.EnableWebSockets(m)
	srv := NewServer(gw, nil, listener.Limits{BodyTimeout: time.Hour})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	conn, err := net.Dial("tcp", srv.cb.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A bound against a hang only: the answer comes at once, or after the body timeout.
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write([]byte("POST /2015-03-31/functions/x/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer with the body not sent: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !resp.Close {
		t.Errorf("%d (close %v), want 404 and the connection closed", resp.StatusCode, resp.Close)
	}
}
