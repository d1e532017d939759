package connections

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/clock"
)

// heldServer is a clocked server with one connection, whose message
// dispatches wait until release is called, with one message in flight per
// connection at most.
func heldServer(t *testing.T, cfg Config) (ts *testServer, k *clockedConn, release func()) {
	t.Helper()
	cfg.MaxInFlight = 1
	ts, fc := clockedServer(t, cfg)
	held := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release) // before the server's shutdown waits for the dispatches
	ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType == EventMessage {
			<-held
		}
		return &Response{StatusCode: 200, Body: []byte(ev.Body)}, nil
	}
	ws := dialClocked(t, ts, fc)
	c, err := ts.m.get(testAPI, testStage, ts.waitConns(t, 1)[0].ConnectionID)
	if err != nil {
		t.Fatal(err)
	}
	return ts, &clockedConn{fc: fc, ws: ws, c: c}, release
}

// clockedConn is a client connection, its server side and their fake clock.
type clockedConn struct {
	fc *clock.Fake
	ws *websocket.Conn
	c  *Conn
}

// readAll reads the client's messages (answering pings, as a reading
// gorilla client does) into a channel until the connection ends.
func readAll(ws *websocket.Conn) <-chan string {
	msgs := make(chan string, 16)
	go func() {
		defer close(msgs)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			msgs <- string(b)
		}
	}()
	return msgs
}

// TestBackpressureIsNotTheClientsFault: while the server holds a connection's
// reads back (max-in-flight reached) its pongs and messages wait unread; the
// keepalive must not close it as "no pong", and none of its replies is lost.
func TestBackpressureIsNotTheClientsFault(t *testing.T) {
	t.Run("keepalive while reads are held", func(t *testing.T) {
		_, k, release := heldServer(t, Config{PingInterval: time.Minute, IdleTimeout: time.Hour})
		msgs := readAll(k.ws)
		for _, m := range []string{`{"action":"echo","n":1}`, `{"action":"echo","n":2}`} {
			if err := k.ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		waitUntil(t, "the reader to wait for a slot", k.c.parked.Load)
		k.fc.Advance(time.Minute) // the first ping: its pong waits unread
		waitUntil(t, "the next ping's timer", func() bool { return k.fc.PendingAt(k.fc.Now().Add(time.Minute)) == 1 || k.c.isClosed() })
		k.fc.Advance(time.Minute) // the old code closed here: "Keepalive timeout: no pong"
		waitUntil(t, "the keepalive to ping again or close", func() bool {
			return k.fc.PendingAt(k.fc.Now().Add(time.Minute)) == 1 || k.c.isClosed()
		})
		if k.c.isClosed() {
			t.Fatalf("a client whose reads the server held back was closed (%d %q)", k.c.closeCode, k.c.closeReason)
		}
		release()
		for _, want := range []string{`{"action":"echo","n":1}`, `{"action":"echo","n":2}`} {
			if got := <-msgs; got != want {
				t.Fatalf("reply %q, want %q", got, want)
			}
		}
	})
	t.Run("idle while a message is in flight", func(t *testing.T) {
		ts, k, release := heldServer(t, Config{PingInterval: time.Hour, IdleTimeout: 5 * time.Minute})
		msgs := readAll(k.ws)
		if err := k.ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo"}`)); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the message in flight", func() bool { return len(k.c.inflight) == 1 })
		k.fc.Advance(5 * time.Minute) // the old code closed here: "Idle timeout"
		waitUntil(t, "the limits timer to move on or close", func() bool {
			return k.fc.PendingAt(k.fc.Now().Add(5*time.Minute)) == 1 || k.c.isClosed()
		})
		if k.c.isClosed() {
			t.Fatalf("a connection with a message in flight was closed (%d %q)", k.c.closeCode, k.c.closeReason)
		}
		release()
		if got := <-msgs; got != `{"action":"echo"}` {
			t.Fatalf("reply %q", got)
		}
		waitUntil(t, "the slot freed", func() bool { return len(k.c.inflight) == 0 })
		// Idle counts from the end of the dispatch: the timer set before closes it.
		k.fc.Advance(5 * time.Minute)
		if d := ts.d.next(t, EventDisconnect); *d.RequestContext.DisconnectReason != "Idle timeout" {
			t.Fatalf("$disconnect = %+v", d.RequestContext)
		}
	})
}
