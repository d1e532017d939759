package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestQueryParameterLimitAlike: a query string of more than 10,000
// parameters (net/url's bound) is 400 {"message":"Bad Request"} on every
// integration, HTTP_PROXY included (which passed it on while function routes
// refused it); 10,000 are served.
func TestQueryParameterLimitAlike(t *testing.T) {
	backend, _ := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") })
	e := newEnv(t)
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{"statusCode": 200, "body": "ok"}`)}, nil
	}
	routes := map[string]*apis.Integration{
		"/http-proxy": {Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL},
		"/aws-proxy":  {Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"},
	}
	many := strings.Repeat("q=1&", 10000) // 10,001 parameters (the last empty)
	most := strings.TrimSuffix(many, "&") // 10,000
	for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		var rs []apis.Route
		for path, in := range routes {
			rs = append(rs, apis.Route{Method: "GET", Path: path, Integration: in})
		}
		id := e.deploy(&apis.API{Name: "q", Protocol: protocol, Definition: apis.Definition{Routes: rs}}, "dev", nil)
		for _, r := range rs {
			t.Run(protocol+r.Path, func(t *testing.T) {
				e.do("GET", "/"+id+"/dev"+r.Path+"?"+many, nil).expectError(t, 400, "BadRequestException", "Bad Request")
				if got := e.do("GET", "/"+id+"/dev"+r.Path+"?"+most, nil); got.status != 200 {
					t.Errorf("10,000 parameters: %d %s", got.status, got.body)
				}
			})
		}
	}
}
