package main

import (
	"strings"
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
