package connections

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/errdefs"
)

// TestDisconnectRetries checks that $disconnect, best effort, is tried again
// with backoff when its invocation fails for a reason that passes (throttled,
// no sandbox to run it), within DisconnectTimeout on the manager's clock, and
// only once when it fails otherwise. A throttled $disconnect was dropped
// (200 clients closing at once lost some).
func TestDisconnectRetries(t *testing.T) {
	throttled := &errdefs.Kinded{Kind: errdefs.ErrThrottled, Type: "TooManyRequestsException", Message: "Rate Exceeded."}
	unavailable := errdefs.New(errdefs.ErrUnavailable, "ServiceException", "no sandbox")
	cases := []struct {
		name  string
		fails []error // the errors of the first attempts; then it succeeds
		want  int     // attempts
	}{
		{"throttled then runs", []error{throttled, throttled, throttled}, 4},
		{"no sandbox then runs", []error{unavailable}, 2},
		{"a function error is not retried", []error{errors.New("function error"), throttled}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, fc := clockedServer(t, Config{PingInterval: time.Hour, IdleTimeout: time.Hour})
			var attempts atomic.Int64
			ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
				if ev.RequestContext.EventType != EventDisconnect {
					return &Response{StatusCode: 200}, nil
				}
				n := attempts.Add(1)
				if int(n) <= len(c.fails) {
					return nil, c.fails[n-1]
				}
				return &Response{StatusCode: 200}, nil
			}
			ws := dialClocked(t, ts, fc)
			_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "bye"))
			ts.d.next(t, EventDisconnect)
			for i := 1; i < c.want; i++ {
				// The backoff's timer is the only one left (the connection's
				// stopped with it).
				waitUntil(t, "the backoff timer", func() bool { return fc.Pending() == 1 })
				fc.Advance(maxDisconnectBackoff)
				ts.d.next(t, EventDisconnect)
			}
			<-disconnectsEnded(t, ts) // the server's shutdown waits for them
			if n := attempts.Load(); n != int64(c.want) {
				t.Fatalf("%d attempts, want %d", n, c.want)
			}
		})
	}
	t.Run("gives up at the deadline", func(t *testing.T) {
		ts, fc := clockedServer(t, Config{PingInterval: time.Hour, IdleTimeout: time.Hour, DisconnectTimeout: 10 * time.Second})
		var attempts atomic.Int64
		ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
			if ev.RequestContext.EventType == EventDisconnect {
				attempts.Add(1)
				return nil, throttled
			}
			return &Response{StatusCode: 200}, nil
		}
		ws := dialClocked(t, ts, fc)
		_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "bye"))
		ts.d.next(t, EventDisconnect)
		start := fc.Now()
		ended := disconnectsEnded(t, ts)
		for done := false; !done; {
			select {
			case <-ended:
				done = true
			default:
				if fc.Now().Sub(start) > time.Minute {
					t.Fatalf("still retrying a minute on the clock later (deadline 10 s), %d attempts", attempts.Load())
				}
				if fc.Pending() == 1 {
					fc.Advance(maxDisconnectBackoff)
				}
				runtime.Gosched()
			}
		}
		if n := attempts.Load(); n < 3 || fc.Now().Sub(start) > 10*time.Second+maxDisconnectBackoff {
			t.Fatalf("%d attempts over %v of the clock", n, fc.Now().Sub(start))
		}
	})
}

// disconnectsEnded shuts the test server's manager down, which waits for the
// connections' $disconnect calls, and is closed when that is done.
func disconnectsEnded(t *testing.T, ts *testServer) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ts.m.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	return done
}
