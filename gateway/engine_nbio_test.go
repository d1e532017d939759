package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
	"golang.org/x/sync/errgroup"

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

// TestNbioEngineConcurrentClients serves many connections at once through the
// nbio engine, new ones and kept-alive ones, so that -race watches its
// accept, poller and close paths side by side (TestNbioEngineServesHTTP's
// first request is the one that shows the hand-off of engine_nbio_race.go).
func TestNbioEngineConcurrentClients(t *testing.T) {
	svc, stagePath := benchCreate(t, mockAPI(), nil)
	gw := New(Config{Listen: "127.0.0.1:0", Engine: EngineNbio}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(context.Background()) }()
	var g errgroup.Group
	for i := range 8 {
		g.Go(func() error {
			tr := &http.Transport{DisableKeepAlives: i%2 == 0}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			for range 10 {
				resp, err := c.Get(s.URL() + stagePath + "/mock")
				if err != nil {
					return err
				}
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					return err
				}
				if resp.StatusCode != 200 || string(body) != `{"ok":true}` {
					return fmt.Errorf("GET /mock = %d %q", resp.StatusCode, body)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}
