package gateway_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// rootOf returns the Root of an X-Amzn-Trace-Id value.
func rootOf(h string) string {
	for f := range strings.SplitSeq(h, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(f), "Root="); ok {
			return v
		}
	}
	return ""
}

// TestUntracedStageInvokesUnderTheEventsTrace: on a stage without tracing,
// the X-Amzn-Trace-Id API Gateway adds to a function's event names the trace
// the function runs under (_X_AMZN_TRACE_ID, from Lambda-Runtime-Trace-Id),
// on REST and HTTP APIs; the invocation got a trace of its own.
func TestUntracedStageInvokesUnderTheEventsTrace(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	for _, tc := range []struct{ protocol, version string }{{"REST", ""}, {"HTTP", "2.0"}, {"HTTP", "1.0"}} {
		t.Run(tc.protocol+tc.version, func(t *testing.T) {
			in := map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "httpMethod": "POST"}
			if tc.version != "" {
				in["payloadFormatVersion"] = tc.version
			}
			var api struct{ ID string }
			admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "untraced", "protocol": tc.protocol,
				"routes": []any{map[string]any{"method": "GET", "path": "/p", "integration": in}}}, &api)
			admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
			a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/p", "")
			var ev struct {
				Headers map[string]string `json:"headers"`
			}
			if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil {
				t.Fatalf("GET /p: %d %s", a.status, a.body)
			}
			var evTrace string
			for k, v := range ev.Headers {
				if strings.EqualFold(k, "X-Amzn-Trace-Id") {
					evTrace = v
				}
			}
			fnTrace := a.header.Get("X-Probe-Trace")
			if rootOf(evTrace) == "" || rootOf(evTrace) != rootOf(fnTrace) {
				t.Errorf("event's X-Amzn-Trace-Id %q, function's _X_AMZN_TRACE_ID %q: want one Root", evTrace, fnTrace)
			}
		})
	}
}

// TestUntracedStageClientTraceHeader is what the obs4 tester found: on a
// stage without tracing, the function ran under the client's first
// X-Amzn-Trace-Id line as it was sent, never checked (a "garbage" header
// reached the runtime as Lambda-Runtime-Trace-Id, and so _X_AMZN_TRACE_ID),
// while the event's headers name the last line. As the Invoke API does, a
// valid header is continued in its canonical form, the line the event's
// headers name; one of another shape is dropped and the function runs under
// a trace of its own.
func TestUntracedStageClientTraceHeader(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	const (
		first = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
		last  = "Root=1-5759e988-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=bbbbbbbbbbbbbbbb;Sampled=0"
	)
	shape := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01]$`)
	for _, tc := range []struct{ protocol, version string }{{"REST", ""}, {"HTTP", "2.0"}} {
		t.Run(tc.protocol+tc.version, func(t *testing.T) {
			in := map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "httpMethod": "POST"}
			if tc.version != "" {
				in["payloadFormatVersion"] = tc.version
			}
			var api struct{ ID string }
			admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "untraced", "protocol": tc.protocol,
				"routes": []any{map[string]any{"method": "GET", "path": "/p", "integration": in}}}, &api)
			admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
			u := env.GatewayURL + "/" + api.ID + "/dev/p"

			a := get(t, "GET", u, "", "X-Amzn-Trace-Id", first, "X-Amzn-Trace-Id", last)
			if got := a.header.Get("X-Probe-Trace"); got != last {
				t.Errorf("two trace headers: the function ran under %q, want the last (the event's) %q", got, last)
			}

			a = get(t, "GET", u, "", "X-Amzn-Trace-Id", "garbage")
			if got := a.header.Get("X-Probe-Trace"); !shape.MatchString(got) {
				t.Errorf("X-Amzn-Trace-Id: garbage: the function ran under %q, want a trace of its own", got)
			}

			a = get(t, "GET", u, "", "X-Amzn-Trace-Id", " Root=1-5759e988-bd862e3fe1be46a994272793; Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0")
			if got := a.header.Get("X-Probe-Trace"); got != first {
				t.Errorf("a trace header with Lineage: the function ran under %q, want %q", got, first)
			}
		})
	}
}

// TestTracedStageContinuesTheLastTraceHeader is what the obs9 tester found:
// of two X-Amzn-Trace-Id lines a traced REST stage continued the first (for
// the function, backends and the answer), an untraced one the last, the one
// the event's headers name, so that turning tracing on moved a request to
// another trace. Both continue the last.
func TestTracedStageContinuesTheLastTraceHeader(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	const (
		first = "Root=1-11111111-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
		last  = "Root=1-22222222-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	)
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "traced", "protocol": "REST",
		"routes": []any{map[string]any{"method": "GET", "path": "/p",
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "httpMethod": "POST"}}}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "plain"}, nil)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"}}}, nil)
	for _, stage := range []string{"plain", "dev"} {
		a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/"+stage+"/p", "", "X-Amzn-Trace-Id", first, "X-Amzn-Trace-Id", last)
		if a.status != 200 {
			t.Fatalf("%s: %d %s", stage, a.status, a.body)
		}
		if got := rootOf(a.header.Get("X-Probe-Trace")); got != rootOf(last) {
			t.Errorf("stage %s: the function ran under Root %q, want the last line's %q", stage, got, rootOf(last))
		}
		if stage == "dev" {
			if got := rootOf(a.header.Get("X-Amzn-Trace-Id")); got != rootOf(last) {
				t.Errorf("stage %s: answered X-Amzn-Trace-Id with Root %q, want the last line's %q", stage, got, rootOf(last))
			}
		}
	}
}
