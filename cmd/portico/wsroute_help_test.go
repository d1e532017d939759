package main

import (
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
