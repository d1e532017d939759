// nbio v1.6.8 itself races: its accept goroutine writes a connection's remote
// address while the poller already reads it (nbhttp/engine.go:340 against
// processor.go:230), which the race detector reports on the first request. The
// engine is an experiment behind a flag (docs/performance.md); its test runs
// without -race.

//go:build !race

package gateway

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/listener"
)

// TestNbioEngineServesHTTP serves a MOCK route through the nbio listener engine
// with a real client, and checks that it refuses WebSocket upgrades with a clear
// error rather than half-serving them.
func TestNbioEngineServesHTTP(t *testing.T) {
	svc, stagePath := benchCreate(t, mockAPI(), nil)
	gw := New(Config{Listen: "127.0.0.1:0", Engine: EngineNbio}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(context.Background()) }()
	for range 3 { // keep-alive: the same connection serves several requests
		resp, err := http.Get(s.URL() + stagePath + "/mock")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != `{"ok":true}` || resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("GET /mock = %d %q %v", resp.StatusCode, body, resp.Header)
		}
	}
	ws := "ws" + s.URL()[len("http"):] + stagePath
	c, resp, err := websocket.DefaultDialer.Dial(ws, nil)
	var refusal []byte
	if resp != nil {
		refusal, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	if err == nil {
		_ = c.Close()
		t.Fatal("the nbio engine upgraded a WebSocket")
	}
	if resp == nil || resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// It names both engines that serve them (h1, the default, does too).
	if want := `{"message":"WebSocket APIs need the h1 (default) or net/http listener engine"}`; string(refusal) != want {
		t.Errorf("refusal %s, want %s", refusal, want)
	}
	if err := CheckEngine("fasthttp"); err == nil {
		t.Error("CheckEngine accepted an unknown engine")
	}
}
