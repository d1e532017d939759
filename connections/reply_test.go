package connections

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"
	"github.com/portico-dev/portico/internal/testkit"
)

// replyDispatcher is a ReplyDispatcher whose two-way answers are sent through
// the message's Reply by another goroutine, as the gateway's invoker does; the
// message's body says how.
type replyDispatcher struct {
	*fakeDispatcher
	waited chan bool // what Reply.Wait returned for "wait"
	sends  chan error
}

func (d *replyDispatcher) DispatchReply(_ context.Context, ev *events.APIGatewayWebsocketProxyRequest, r *Reply) (*Response, error) {
	body := ev.Body
	switch {
	case strings.HasPrefix(body, "async:"):
		go func() { d.sends <- r.Send([]byte("sent " + body)) }()
		if r.Wait() {
			d.waited <- true
		}
		return &Response{StatusCode: 200, Body: []byte("not to be sent: " + body)}, nil
	case strings.HasPrefix(body, "twice:"):
		d.sends <- r.Send([]byte("first " + body))
		d.sends <- r.Send([]byte("second " + body))
		return nil, nil
	case strings.HasPrefix(body, "big:"):
		big := []byte(strings.Repeat("x", 2000))
		d.sends <- r.Send(big)
		return &Response{StatusCode: 200, Body: big}, nil // the dispatcher's answer: over the limit
	case strings.HasPrefix(body, "empty:"):
		d.sends <- r.Send(nil)
		return &Response{StatusCode: 200, Body: []byte("not to be sent: " + body)}, nil
	case body == "wait":
		d.waited <- r.Wait()
		return nil, nil
	}
	return &Response{StatusCode: 200, Body: []byte("returned " + body)}, nil
}

// TestReplyDispatcher: messages of two-way routes go to DispatchReply, whose
// Reply sends the route's response once, from any goroutine, and ends the
// dispatcher's Wait; the connections package then sends nothing more. A body
// over MaxMessageBytes is refused and the Response's error frame goes out; a
// nil body sends nothing; Wait reports the connection's end. One-way routes
// still go to Dispatch.
func TestReplyDispatcher(t *testing.T) {
	d := &replyDispatcher{fakeDispatcher: newFakeDispatcher(map[string]bool{"$default": true, "oneway": false}),
		waited: make(chan bool, 4), sends: make(chan error, 8)}
	var logs testkit.LockedBuffer
	m := New(Config{MaxMessageBytes: 1024}, slog.New(slog.NewTextHandler(&logs, nil)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.ServeWebSocket(w, r, Endpoint{APIID: testAPI, Stage: testStage, DomainName: r.Host}, d)
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = m.Shutdown(ctx)
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/" + testAPI + "/" + testStage
	dial := func() *websocket.Conn {
		c, _, err := wsDial(websocket.DefaultDialer, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	c := dial()
	exchange := func(msg string) string {
		t.Helper()
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		return readText(t, c)
	}
	sent := func(want error) {
		t.Helper()
		select {
		case err := <-d.sends:
			if !errors.Is(err, want) && (want != nil || err != nil) {
				t.Fatalf("Send: %v, want %v", err, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no Send")
		}
	}

	if got := exchange("async:1"); got != "sent async:1" {
		t.Fatalf("async: %q", got)
	}
	sent(nil)
	if got := exchange("twice:2"); got != "first twice:2" {
		t.Fatalf("twice: %q", got)
	}
	sent(nil)
	if err := <-d.sends; err == nil {
		t.Fatal("a second Send sent")
	}
	if got := exchange("big:3"); !strings.HasPrefix(got, `{"message": "Internal server error", "connectionId":`) {
		t.Fatalf("big: %.100s", got)
	}
	sent(ErrReplyTooLarge)
	// The failure is logged as other route failures are, without the body.
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "route response over max-message-bytes") ||
		!strings.Contains(l, "bytes=2000") || !strings.Contains(l, "limit=1024") || strings.Contains(l, "xxxx") {
		t.Fatalf("log = %q, want a WARN of the oversized route response, without its body", l)
	}
	// Nothing for an empty reply, nothing for a one-way route: the next
	// frame is the next two-way message's.
	for _, msg := range []string{"empty:4", `{"action":"oneway"}`} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	sent(nil)
	if got := exchange("async:5"); got != "sent async:5" {
		t.Fatalf("after an empty reply and a one-way message: %q", got)
	}
	sent(nil)
	if ev := d.next(t, EventMessage); ev.Body != `{"action":"oneway"}` {
		t.Fatalf("Dispatch had %q, want the one-way message", ev.Body)
	}

	// Wait reports the connection's end.
	gone := dial()
	if err := gone.WriteMessage(websocket.TextMessage, []byte("wait")); err != nil {
		t.Fatal(err)
	}
	_ = gone.Close()
	select {
	case ended := <-d.waited:
		if !ended {
			t.Fatal("Wait returned false without a Send or Wake")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Wait did not return when the connection ended")
	}
}
