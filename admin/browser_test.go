package admin

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBrowserRequests: a change that a page of another origin makes a browser
// send (a simple request: no preflight) is refused before it reaches its route,
// with a token or without; without a token, a request naming a host that is
// not loopback (DNS rebinding) is refused too. Clients that are not browsers,
// and the console's own same-origin requests, pass.
func TestBrowserRequests(t *testing.T) {
	t.Parallel()
	const invoke = "/2015-03-31/functions/f/invocations"
	for _, tc := range []struct {
		name   string
		token  string
		method string
		host   string
		hdr    map[string]string
		want   int
	}{
		{"cli, no token", "", "POST", "127.0.0.1:9090", nil, 200},
		{"cli, localhost", "", "POST", "localhost:9090", nil, 200},
		{"cli, ipv6", "", "POST", "[::1]:9090", nil, 200},
		{"cli, token, any name", "tok", "POST", "admin.internal:9090", nil, 200},
		{"console, same origin", "", "POST", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:9090"}, 200},
		{"address bar", "", "POST", "127.0.0.1:9090", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"cross-site page", "", "POST", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example", "Content-Type": "text/plain"}, 403},
		{"same-site page (the gateway's port)", "", "POST", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:8080"}, 403},
		{"cross-origin, Origin only", "", "POST", "127.0.0.1:9090", map[string]string{"Origin": "https://evil.example"}, 403},
		{"console off loopback over HTTP (Origin, no Sec-Fetch-Site)", "tok", "POST", "192.0.2.2:9090", map[string]string{"Origin": "http://192.0.2.2:9090"}, 200},
		{"Origin null, no Sec-Fetch-Site (a no-referrer or sandboxed page)", "tok", "POST", "192.0.2.2:9090", map[string]string{"Origin": "null"}, 403},
		{"Origin null, no token", "", "POST", "127.0.0.1:9090", map[string]string{"Origin": "null"}, 403},
		{"cross-origin with a token", "tok", "POST", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"cross-origin GET", "", "GET", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"}, 403},
		{"same-site GET (the gateway's port)", "", "GET", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors", "Origin": "http://127.0.0.1:8080"}, 403},
		{"cross-origin GET with a token", "tok", "GET", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"}, 403},
		{"cross-origin navigation to an API route", "", "GET", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 403},
		{"cross-origin GET, Origin only", "", "GET", "127.0.0.1:9090", map[string]string{"Origin": "https://evil.example"}, 403},
		{"same-origin GET, Origin only (off loopback over HTTP)", "tok", "GET", "192.0.2.2:9090", map[string]string{"Origin": "http://192.0.2.2:9090"}, 200},
		{"console's GET", "", "GET", "127.0.0.1:9090", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}, 200},
		{"GET from the address bar", "", "GET", "127.0.0.1:9090",
			map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 200},
		{"rebound name, no token", "", "POST", "evil.example:9090", map[string]string{"Sec-Fetch-Site": "same-origin"}, 403},
		{"rebound name, no token, GET", "", "GET", "evil.example:9090", nil, 403},
		{"rebound name with a token", "tok", "GET", "evil.example:9090", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, _ := testServer(t, &logs)
			s.cfg.Token = tc.token
			ran := false
			s.Handle("GET "+invoke, func(w http.ResponseWriter, _ *http.Request) error { ran = true; return nil })
			req := httptest.NewRequest(tc.method, "http://"+tc.host+invoke, strings.NewReader("{}"))
			req.Host = tc.host
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("%s %s (Host %s, %v): %d %s, want %d", tc.method, invoke, tc.host, tc.hdr, rec.Code, rec.Body, tc.want)
			}
			if tc.want == 403 {
				if ran || !strings.Contains(rec.Body.String(), "AccessDenied") && rec.Header().Get("x-amzn-ErrorType") != "AccessDeniedException" {
					t.Errorf("refused request: ran %v, %s %s", ran, rec.Header().Get("x-amzn-ErrorType"), rec.Body)
				}
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
		})
	}
}
