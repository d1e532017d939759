package admin

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/console"
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

// TestRefusalPagesForNavigations: a refusal that a browser navigated to at a
// console address (the console of a tokenless admin API opened by host name,
// another page's sign-out post, a link to the console's API) is a small HTML
// page with the same message and a link to the console; an API client (no
// Accept: text/html) and the console's own fetch calls still get JSON.
func TestRefusalPagesForNavigations(t *testing.T) {
	t.Parallel()
	navigate := map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html,*/*;q=0.8"}
	for _, tc := range []struct {
		name, token, method, host, path string
		hdr                             map[string]string
		page                            bool
		want                            []string
	}{
		{"tokenless by host name (plain HTTP: Accept only)", "", "GET", "devbox:9090", "/console/",
			map[string]string{"Accept": "text/html,application/xhtml+xml"}, true,
			[]string{"has no token", `href="http://127.0.0.1:9090/console/"`}},
		{"tokenless by host name, curl", "", "GET", "devbox:9090", "/console/", nil, false, []string{"has no token"}},
		{"sign-out posted by a page that hides its origin", "tok", "POST", "192.0.2.2:9090", "/console/logout",
			map[string]string{"Origin": "null", "Accept": "text/html"}, true,
			[]string{"another origin", `href="/console/"`}},
		{"a link to the console's API", "tok", "GET", "127.0.0.1:9090", "/console/api/2015-03-31/functions", navigate, true,
			[]string{"the console&#39;s API", `href="/console/"`}},
		{"the console's API fetched without its header", "tok", "GET", "127.0.0.1:9090", "/console/api/2015-03-31/functions",
			map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Accept": "text/html"}, false,
			[]string{"X-Portico-Console: 1"}},
		{"an API route, not the console", "", "GET", "devbox:9090", "/2015-03-31/functions", navigate, false, []string{"has no token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, _ := testServer(t, &logs)
			s.cfg.Token = tc.token
			s.registerConsole(console.Handler())
			req := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, nil)
			req.Host = tc.host
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			ct := rec.Header().Get("Content-Type")
			if rec.Code != http.StatusForbidden || strings.HasPrefix(ct, "text/html") != tc.page {
				t.Fatalf("%s %s: %d %s %s; want 403 and a page: %v", tc.method, tc.path, rec.Code, ct, rec.Body, tc.page)
			}
			for _, w := range tc.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("the answer lacks %q: %s", w, rec.Body)
				}
			}
			if !tc.page && rec.Header().Get("x-amzn-ErrorType") != "AccessDeniedException" {
				t.Errorf("an API client's refusal: x-amzn-ErrorType %q, %s", rec.Header().Get("x-amzn-ErrorType"), rec.Body)
			}
		})
	}
}
