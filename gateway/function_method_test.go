package gateway

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestFunctionIntegrationMethodMustBePost: a REST API's AWS_PROXY or AWS
// integration whose integration method is not POST answers 500 without
// calling the function, as API Gateway does; POST, or no method, calls it.
// HTTP APIs name no integration method for functions and are not refused.
func TestFunctionIntegrationMethodMustBePost(t *testing.T) {
	for _, tc := range []struct {
		protocol, typ, method string
		refused               bool
	}{
		{apis.ProtocolREST, apis.IntegrationAWSProxy, "GET", true},
		{apis.ProtocolREST, apis.IntegrationAWS, "PUT", true},
		{apis.ProtocolREST, apis.IntegrationAWSProxy, "POST", false},
		{apis.ProtocolREST, apis.IntegrationAWSProxy, "", false},
		{apis.ProtocolHTTP, apis.IntegrationAWSProxy, "GET", false},
	} {
		t.Run(tc.protocol+"-"+tc.typ+"-"+tc.method, func(t *testing.T) {
			e := newEnv(t)
			a := &apis.API{Name: "m", Protocol: tc.protocol, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "GET", Path: "/fn", Integration: &apis.Integration{Type: tc.typ, URI: "function:probe", HTTPMethod: tc.method}},
			}}}
			id := e.deploy(a, "dev", nil)
			resp := e.do("GET", "/"+id+"/dev/fn", nil)
			e.inv.mu.Lock()
			calls := len(e.inv.calls)
			e.inv.mu.Unlock()
			if tc.refused {
				if resp.status != 500 || resp.body != `{"message": "Internal server error"}` || calls != 0 {
					t.Fatalf("got %d %s after %d calls, want 500 Internal server error and no call", resp.status, resp.body, calls)
				}
				if !strings.Contains(e.logs.String(), "Lambda functions are invoked with POST") {
					t.Errorf("the log does not say why:\n%s", e.logs.String())
				}
				return
			}
			if resp.status != 200 || calls != 1 {
				t.Fatalf("got %d %s after %d calls, want the function's 200", resp.status, resp.body, calls)
			}
		})
	}
}
