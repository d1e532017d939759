package connections

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"
)

// TestShutdownLetsMessagesInFlightFinish: a stop lets the messages in flight
// finish before it closes their connections: the reply of a two-way route
// reaches its client, and so does what the route posts to another
// connection, before the close frame (1001 "Server shutting down"). A message
// that arrives once the stop began is not routed: its client gets the error
// frame "Service Unavailable" (the 503 a new handshake gets then), before the
// close, where it had no answer at all.
func TestShutdownLetsMessagesInFlightFinish(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	a := ts.dial(t, "")
	aID := ts.waitConns(t, 1)[0].ConnectionID
	b := ts.dial(t, "")
	var bID string
	for _, c := range ts.waitConns(t, 2) {
		if c.ConnectionID != aID {
			bID = c.ConnectionID
		}
	}
	started := make(chan string, 10)
	release := make(chan struct{})
	ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType != EventMessage {
			return &Response{StatusCode: 200}, nil
		}
		started <- ev.Body
		<-release
		if err := ts.m.Send(testAPI, testStage, bID, []byte("broadcast")); err != nil {
			return nil, err
		}
		return &Response{StatusCode: 200, Body: []byte("reply")}, nil
	}
	if err := a.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo","n":1}`)); err != nil {
		t.Fatal(err)
	}
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- ts.m.Shutdown(context.Background()) }()
	waitUntil(t, "the stop to begin", ts.m.draining.Load)
	// Not routed: the stop began.
	if err := a.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo","n":2}`)); err != nil {
		t.Fatal(err)
	}
	// Its error frame comes while the first message is still in flight.
	if got := readText(t, a); !strings.HasPrefix(got, `{"message": "Service Unavailable", "connectionId":`) || !strings.Contains(got, `"requestId":`) {
		t.Fatalf("a got %q, want the error frame of its message sent after the stop began", got)
	}
	close(release)
	if got := readText(t, a); got != "reply" {
		t.Fatalf("a got %q, want the reply of its message in flight", got)
	}
	if got := readText(t, b); got != "broadcast" {
		t.Fatalf("b got %q, want what the route in flight posted to it", got)
	}
	for name, c := range map[string]*websocket.Conn{"a": a, "b": b} {
		if ce := readClose(t, c); ce.Code != websocket.CloseGoingAway || ce.Text != "Server shutting down" {
			t.Errorf("%s: close %v, want 1001 Server shutting down", name, ce)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case body := <-started:
		t.Fatalf("a message sent after the stop began was routed: %s", body)
	default:
	}
}

// TestShutdownCutsMessagesOffAtItsDeadline: messages in flight past the
// stop's graceful part do not hold the connections open.
func TestShutdownCutsMessagesOffAtItsDeadline(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	a := ts.dial(t, "")
	ts.waitConns(t, 1)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType == EventMessage {
			started <- struct{}{}
			<-release
		}
		return &Response{StatusCode: 200}, nil
	}
	if err := a.WriteMessage(websocket.TextMessage, []byte(`{"action":"echo"}`)); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the graceful part is over
	_ = ts.m.Shutdown(ctx)
	if ce := readClose(t, a); ce.Code != websocket.CloseGoingAway {
		t.Errorf("close %v, want 1001", ce)
	}
}

// TestBeginStopRefusesConnectInProgress: a $connect still running when a
// stop begins (BeginStop, the first stop hook, before the listeners' graceful
// stop lets the request finish) is refused with the 503 a new handshake gets,
// and its $disconnect runs (1001), where the client got a 101 and then the
// close at once.
func TestBeginStopRefusesConnectInProgress(t *testing.T) {
	ts := newTestServer(t, Config{}, chatKeys())
	release := make(chan struct{})
	ts.d.handle = func(ev *events.APIGatewayWebsocketProxyRequest) (*Response, error) {
		if ev.RequestContext.EventType == EventConnect {
			<-release
		}
		return &Response{StatusCode: 200}, nil
	}
	type dialed struct {
		status int
		err    error
	}
	done := make(chan dialed, 1)
	go func() {
		ws, status, err := wsDial(websocket.DefaultDialer, ts.ws, nil)
		if err == nil {
			_ = ws.Close()
		}
		done <- dialed{status, err}
	}()
	ts.d.next(t, EventConnect)
	if err := ts.m.BeginStop(t.Context()); err != nil {
		t.Fatal(err)
	}
	close(release)
	if got := <-done; got.err == nil || got.status != 503 {
		t.Fatalf("$connect in progress when the stop began: status %d, err %v; want 503", got.status, got.err)
	}
	if d := ts.d.next(t, EventDisconnect); d.RequestContext.DisconnectStatusCode != websocket.CloseGoingAway {
		t.Fatalf("$disconnect code = %d, want 1001", d.RequestContext.DisconnectStatusCode)
	}
	ts.m.mu.RLock()
	n := len(ts.m.conns)
	ts.m.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d connections registered", n)
	}
}
