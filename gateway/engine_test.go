package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/listener"
)

// TestEnginesServeMOCK serves a MOCK route through each complete listener
// engine with a real client, over one keep-alive connection, and checks the
// default is one of them. (The apptest-based suites run on DefaultEngine.)
func TestEnginesServeMOCK(t *testing.T) {
	for _, engine := range []string{EngineNetHTTP, EngineH1} {
		t.Run(strings.ReplaceAll(engine, "/", "-"), func(t *testing.T) {
			svc, stagePath := benchCreate(t, mockAPI(), nil)
			gw := New(Config{Listen: "127.0.0.1:0", Engine: engine}, svc, nil, nil, nil)
			s := NewServer(gw, nil, listener.Limits{})
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Stop(context.Background()) }()
			tr := &http.Transport{MaxConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr}
			for range 3 {
				resp, err := cl.Get(s.URL() + stagePath + "/mock")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != `{"ok":true}` || resp.Header.Get("X-Amzn-Requestid") == "" || resp.ContentLength != int64(len(body)) {
					t.Fatalf("GET /mock = %d %q %v", resp.StatusCode, body, resp.Header)
				}
			}
			resp, err := cl.Get(s.URL() + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("healthz: %d", resp.StatusCode)
			}
		})
	}
	if DefaultEngine != EngineH1 && DefaultEngine != EngineNetHTTP {
		t.Errorf("DefaultEngine %q serves no WebSockets", DefaultEngine)
	}
	if err := CheckEngine(EngineH1); err != nil {
		t.Error(err)
	}
}
