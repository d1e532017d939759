package gateway_test

import (
	"slices"
	"testing"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// TestSourceARNs pins the execute-api ARNs a function's resource policy is
// matched against, per kind of route, and the authorizers'.
func TestSourceARNs(t *testing.T) {
	const base = "arn:aws:execute-api:us-east-1:000000000000:abc123/"
	for _, c := range []struct {
		name string
		c    pipeline.Context
		want []string
	}{
		{"REST method", pipeline.Context{APIID: "abc123", Stage: "prod", HTTPMethod: "GET", Path: "/pets/42",
			Route: &apis.Route{Method: "GET", Path: "/pets/{id}", RouteKey: "GET /pets/{id}"}},
			[]string{base + "prod/GET/pets/{id}", base + "prod/GET/pets/42"}},
		{"ANY on the root", pipeline.Context{APIID: "abc123", Stage: "prod", HTTPMethod: "POST", Path: "/",
			Route: &apis.Route{Method: "ANY", Path: "/", RouteKey: "ANY /"}},
			[]string{base + "prod/POST/", base + "prod/ANY/"}},
		{"HTTP $default", pipeline.Context{APIID: "abc123", Stage: "$default", HTTPMethod: "GET", Path: "/x", RouteKey: "$default",
			Route: &apis.Route{Path: "$default", RouteKey: "$default"}},
			[]string{base + "$default/$default"}},
		{"WebSocket route", pipeline.Context{APIID: "abc123", Stage: "prod", RouteKey: "sendmessage",
			Route: &apis.Route{RouteKey: "sendmessage"}},
			[]string{base + "prod/sendmessage"}},
	} {
		if got := gateway.SourceARNs(&c.c); !slices.Equal(got, c.want) {
			t.Errorf("%s: SourceARNs = %q, want %q", c.name, got, c.want)
		}
	}
	rest := pipeline.Context{APIID: "abc123", Protocol: apis.ProtocolREST}
	http := pipeline.Context{APIID: "abc123", Protocol: apis.ProtocolHTTP}
	if a, b := auth.AuthorizerARN(&rest, "tok"), auth.AuthorizerARN(&http, "tok"); a == b ||
		a != base+"authorizers/"+apis.ResourceID("abc123", "authorizer:tok") || b != base+"authorizers/"+apis.RouteID("authorizer:tok") {
		t.Errorf("AuthorizerARN = %s (REST), %s (HTTP)", a, b)
	}
}
