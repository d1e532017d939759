package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/listener"
)

// TestInvalidHostPortIsBadRequest: a Host whose port is not a number
// ("api.test:abc", "api.test:1:2") is 400 {"message":"Bad Request"} in the
// gateway's shape under every engine (RFC 9112 3.2; r-tls26 #5), where it was
// routed by its host name (or 404); valid ports, an empty one and IPv6
// literals are served.
func TestInvalidHostPortIsBadRequest(t *testing.T) {
	svc, stagePath := benchCreate(t, mockAPI(), nil)
	for _, engine := range []string{EngineNetHTTP, EngineH1, EngineNbio} {
		gw := New(Config{Listen: "127.0.0.1:0", Engine: engine}, svc, nil, nil, nil)
		s := NewServer(gw, nil, listener.Limits{})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop(context.Background()) })
		addr := strings.TrimPrefix(s.URL(), "http://")
		for host, want := range map[string]int{
			"api.test:abc":     400,
			"api.test:31080:1": 400,
			"api.test:8x":      400,
			"[::1]x":           400,
			"[::1]:a":          400,
			"api.test":         200,
			"api.test:8080":    200,
			"api.test:":        200,
			"[::1]:80":         200,
			"[::1]":            200,
		} {
			for _, path := range []string{stagePath + "/mock", "/healthz"} {
				answers := rawAnswers(t, addr, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
				if len(answers) != 1 {
					t.Fatalf("%s %s %s: %d answers", engine, host, path, len(answers))
				}
				a := answers[0]
				if a.StatusCode != want {
					t.Errorf("%s Host %s %s: %d %s, want %d", engine, host, path, a.StatusCode, a.body, want)
					continue
				}
				if want == 400 && (strings.TrimSpace(a.body) != `{"message":"Bad Request"}` || a.Header.Get("X-Amzn-Requestid") == "") {
					t.Errorf("%s Host %s: %v %s, want the gateway's Bad Request", engine, host, a.Header, a.body)
				}
			}
		}
	}
}
