package connections

import (
	"testing"

	"github.com/gorilla/websocket"
)

// TestPollerInNetworkPoller: on Linux the poller's epoll descriptor is
// watched by the Go runtime's network poller (no thread blocked in
// epoll_wait), and messages arrive through it.
func TestPollerInNetworkPoller(t *testing.T) {
	ts := newTestServer(t, Config{}, map[string]bool{"$default": true})
	c := ts.dial(t, "")
	if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, c); got != "hello" {
		t.Fatalf("echo %q", got)
	}
	p, err := sharedPoller()
	if err != nil {
		t.Fatal(err)
	}
	if !p.polled {
		t.Fatal("the poller waits in epoll_wait, not in the network poller")
	}
}
