package apis

import (
	"strings"
	"testing"
)

// TestIntegrationURIWarnings: an integration URI naming a stage variable the
// stage lacks, or (for a function) one whose value names no function, is
// warned of with its routes; a literal URI, a defined variable and an HTTP
// URI whose value is any text are not.
func TestIntegrationURIWarnings(t *testing.T) {
	a := &API{Protocol: ProtocolREST, Definition: Definition{Routes: []Route{
		{Method: "GET", Path: "/fn", Integration: &Integration{Type: IntegrationAWSProxy, URI: "function:${stageVariables.fn}"}},
		{Method: "POST", Path: "/fn", Integration: &Integration{Type: IntegrationAWSProxy, URI: "function:${stageVariables.fn}"}},
		{Method: "GET", Path: "/alias", Integration: &Integration{Type: IntegrationAWS, URI: "function:hello:${stageVariables.alias}"}},
		{Method: "GET", Path: "/http", Integration: &Integration{Type: IntegrationHTTPProxy, URI: "http://${stageVariables.host}/p"}},
		{Method: "GET", Path: "/literal", Integration: &Integration{Type: IntegrationAWSProxy, URI: "function:hello"}},
		{Method: "GET", Path: "/mock", Integration: &Integration{Type: IntegrationMock}},
	}}}
	for _, tc := range []struct {
		name string
		vars map[string]string
		want []string // substrings, one warning each, in order
	}{
		{"none defined", nil, []string{`"function:${stageVariables.fn}"`, `"function:hello:${stageVariables.alias}"`, `"http://${stageVariables.host}/p"`}},
		{"all defined", map[string]string{"fn": "hello", "alias": "live", "host": "example.com"}, nil},
		{"a value that names no function", map[string]string{"fn": "../x", "alias": "live", "host": "any thing"}, []string{`"function:${stageVariables.fn}"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := a.IntegrationURIWarnings(tc.vars)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) || !strings.Contains(got[i], "answer 500") {
					t.Errorf("warning %d = %q, want it to name %s", i, got[i], w)
				}
			}
			if tc.name == "none defined" && !strings.Contains(got[0], "route(s) GET /fn, POST /fn") {
				t.Errorf("warning %q does not name both routes", got[0])
			}
		})
	}
}
