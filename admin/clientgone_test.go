package admin

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/invoker"
)

// TestClientGoneIsNoServerError: an Invoke whose caller disconnected before
// its answer (the invoker gives up with the request's context.Canceled, or
// the answer's write fails with a broken pipe) is recorded as the client's
// leaving, 499 at debug level, not an ERROR "admin request failed" 500.
func TestClientGoneIsNoServerError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request) error
	}{
		{"invoke gave up", func(_ http.ResponseWriter, r *http.Request) error {
			return fmt.Errorf("invoke fn: %w", r.Context().Err())
		}},
		{"answer's write failed", func(w http.ResponseWriter, _ *http.Request) error {
			return writeInvokeResult(w, &invoker.Result{RequestID: "r", ExecutedVersion: "$LATEST",
				Payload: []byte(`"` + strings.Repeat("x", 8<<20) + `"`)}, false)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &testkit.LockedBuffer{}
			s := &Server{log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), mux: http.NewServeMux()}
			handled := make(chan struct{})
			s.Handle("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) error {
				defer close(handled)
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done() // the client has gone
				return tc.handle(w, r)
			})
			srv := httptest.NewServer(s.mux)
			defer srv.Close()
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte("POST /2015-03-31/functions/fn/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")); err != nil {
				t.Fatal(err)
			}
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close()
			select {
			case <-handled:
			case <-time.After(20 * time.Second):
				t.Fatal("the handler did not see its client go")
			}
			srv.Close() // waits for the handler's adapter
			log := logs.String()
			if strings.Contains(log, "level=ERROR") || !strings.Contains(log, "level=DEBUG") || !strings.Contains(log, "status=499") {
				t.Fatalf("want the client's leaving at debug, status=499, and no error; logged:\n%s", log)
			}
		})
	}
}
