package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// TestBackendStatusOutOfRange: an HTTP_PROXY backend's status outside
// 100..599 (RFC 9110 §15: every valid status code is in that range) is a
// backend error, 500 {"message":"Internal Server Error"} on an HTTP API, as a
// function's result with such a statusCode is malformed; it was relayed as
// is. On the fast path (a common head, and a chunked one it reads through
// http.ReadResponse), the ReverseProxy path and the buffered path (mappings).
func TestBackendStatusOutOfRange(t *testing.T) {
	ln := listenRaw(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			code := strings.TrimPrefix(req.URL.Path, "/")
			code, chunked := strings.CutSuffix(code, "c")
			if chunked {
				_, err = fmt.Fprintf(c, "HTTP/1.1 %s Odd\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", code)
			} else {
				_, err = fmt.Fprintf(c, "HTTP/1.1 %s Odd\r\nContent-Length: 1\r\n\r\nx", code)
			}
			if err != nil {
				return
			}
		}
	})
	backend := "http://" + ln.Addr().String()
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	a, err := svc.Create(ctx, &apis.API{Name: "status", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/p/{code}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend + "/{code}"}},
		{Method: "GET", Path: "/m/{code}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend + "/{code}",
			RequestParameters: map[string]string{"overwrite:header.x-m": "1"}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	fast, stock := New(Config{}, svc, nil, nil, log), New(Config{}, svc, nil, nil, log)
	stock.fast = nil
	for _, gw := range []struct {
		name string
		g    *Gateway
	}{{"fast", fast}, {"stock", stock}} {
		srv := httptest.NewServer(gw.g)
		t.Cleanup(srv.Close)
		for _, path := range []string{"/p/600", "/p/600c", "/p/999", "/m/600", "/p/599", "/m/599c"} {
			t.Run(gw.name+path, func(t *testing.T) {
				resp, err := srv.Client().Get(srv.URL + "/" + a.ID + "/dev" + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if strings.Contains(path, "/599") {
					if resp.StatusCode != 599 || string(body) != "x" {
						t.Fatalf("%d %q; want the backend's 599 \"x\"", resp.StatusCode, body)
					}
					return
				}
				if resp.StatusCode != http.StatusInternalServerError || string(body) != `{"message":"Internal Server Error"}` {
					t.Fatalf("%d %q; want 500 {\"message\":\"Internal Server Error\"}", resp.StatusCode, body)
				}
				// The log says the status once (r-httpapi29 finding 5: "the
				// malformed status 600 status code 600").
				code := strings.TrimSuffix(path[3:], "c")
				if logs := buf.String(); !strings.Contains(logs, "backend answered status "+code+", outside 100..599") || strings.Contains(logs, "status code") {
					t.Errorf("the log does not say the status once:\n%s", logs)
				}
			})
		}
	}
}
