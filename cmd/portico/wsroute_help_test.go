package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWSRouteSetHelpNamesOtherIntegrations: `portico ws route set` makes
// AWS_PROXY (function) routes only; its help says so and where the other
// integration types (MOCK, HTTP, HTTP_PROXY, AWS) are made, so that no one
// looks for a flag that is not there. It said nothing of them.
func TestWSRouteSetHelpNamesOtherIntegrations(t *testing.T) {
	out := run(t, "ws", "route", "set", "--help")
	for _, want := range []string{"AWS_PROXY", "MOCK", "HTTP_PROXY", "apigatewayv2", "SAM", "/portico/v1/apis"} {
		if !strings.Contains(out, want) {
			t.Errorf("ws route set --help does not name %s:\n%s", want, out)
		}
	}
}

// TestWSRouteSetRefusesRouteResponseOnConnectAndDisconnect: `portico ws route
// set` with --route-response on $connect or $disconnect said "two-way (route
// response)" and stored it, though no reply is ever sent there ($connect's
// result only decides the handshake, $disconnect has no client left). It is
// refused before the admin API is called, saying why and what to do instead;
// other keys still reach the admin API.
func TestWSRouteSetRefusesRouteResponseOnConnectAndDisconnect(t *testing.T) {
	var calls atomic.Int32
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		http.Error(w, `{"message":"not here"}`, http.StatusNotFound)
	}))
	defer admin.Close()
	for key, want := range map[string]string{"$connect": "@connections", "$disconnect": "drop --route-response"} {
		out, err := runErr("--endpoint", admin.URL, "ws", "route", "set", "abc123", key, "--function", "echo", "--route-response")
		if err == nil {
			t.Fatalf("ws route set %s --route-response succeeded:\n%s", key, out)
		}
		if msg := err.Error(); !strings.Contains(msg, "--route-response does nothing on "+key) || !strings.Contains(msg, want) {
			t.Errorf("ws route set %s --route-response: %q, want it to say it does nothing there and %q", key, msg, want)
		}
		if strings.Contains(out, "two-way") {
			t.Errorf("ws route set %s --route-response printed two-way:\n%s", key, out)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the refused commands made %d admin API calls, want none", n)
	}
	if _, err := runErr("--endpoint", admin.URL, "ws", "route", "set", "abc123", "$default", "--function", "echo", "--route-response"); err == nil || calls.Load() == 0 {
		t.Errorf("ws route set $default --route-response: %v after %d admin API calls, want it to reach the admin API (which answers 404 here)", err, calls.Load())
	}
}

// TestWSRouteSetWarnsOfMissingFunction: `portico ws route set KEY --function
// NAME` with no function NAME still sets the route (API Gateway accepts such an
// integration too) but warns, naming the function and the fix; it said nothing,
// and every message then got the "Internal server error" frame.
func TestWSRouteSetWarnsOfMissingFunction(t *testing.T) {
	var posted atomic.Bool
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/apis/abc123"):
			_, _ = io.WriteString(w, `{"id":"abc123","protocol":"WEBSOCKET","routes":[]}`)
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/routes"):
			_, _ = io.WriteString(w, `{"items":[]}`)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/routes"):
			posted.Store(true)
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":"r1","routeKey":"ok"}`)
		case strings.Contains(r.URL.Path, "/functions/nosuchfn"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"Type":"User","message":"Function not found: nosuchfn"}`)
		default:
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
		}
	}))
	defer admin.Close()
	out, err := runErr("--endpoint", admin.URL, "ws", "route", "set", "abc123", "ok", "--function", "nosuchfn")
	if err != nil || !posted.Load() {
		t.Fatalf("ws route set ok --function nosuchfn: %v (route posted: %v), want the route set\n%s", err, posted.Load(), out)
	}
	if !strings.Contains(out, "warning: no function nosuchfn yet") || !strings.Contains(out, "portico fn create nosuchfn") {
		t.Errorf("ws route set with a missing function did not warn of it:\n%s", out)
	}
}
