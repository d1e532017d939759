package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// headerOf returns the values of header name in an event's multiValueHeaders
// (matched case-insensitively), nil without it.
func headerOf(mv map[string][]string, name string) []string {
	for k, v := range mv {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// TestTracedStageFunctionEventHeaders is what the obs16 tester found: on a
// REST stage with tracing, the proxy event a function got carried a
// traceparent header the client never sent (and a client's own traceparent
// was replaced by the gateway's), as if the function were an HTTP backend.
// As in API Gateway, a Lambda integration's event carries the client's
// headers as sent plus X-Amzn-Trace-Id, naming the request's trace; the
// request templates of an AWS integration see the same.
func TestTracedStageFunctionEventHeaders(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "traced", "protocol": "REST",
		"routes": []any{
			map[string]any{"method": "GET", "path": "/p",
				"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "httpMethod": "POST"}},
			map[string]any{"method": "GET", "path": "/a",
				"integration": map[string]any{"type": "AWS", "uri": "function:probe", "httpMethod": "POST",
					"requestTemplates": map[string]string{"application/json": `{"tp": "$input.params('traceparent')", "xray": "$input.params('X-Amzn-Trace-Id')"}`}}},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"}}}, nil)
	base := env.GatewayURL + "/" + api.ID + "/dev"

	const clientTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name string
		hdr  []string
		want []string // the event's traceparent
	}{
		{"no traceparent", nil, nil},
		{"client traceparent", []string{"traceparent", clientTP}, []string{clientTP}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := get(t, "GET", base+"/p", "", tc.hdr...)
			var ev struct {
				Headers           map[string]string   `json:"headers"`
				MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			}
			if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil {
				t.Fatalf("GET /p: %d %s", a.status, a.body)
			}
			if got := headerOf(ev.MultiValueHeaders, "traceparent"); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("the event's traceparent is %q, want %q (the client's headers as sent)", got, tc.want)
			}
			for k := range ev.Headers {
				if strings.EqualFold(k, "traceparent") && tc.want == nil {
					t.Errorf("the event's headers hold %s: %q, which the client never sent", k, ev.Headers[k])
				}
			}
			xray := headerOf(ev.MultiValueHeaders, "X-Amzn-Trace-Id")
			answered := a.header.Get("X-Amzn-Trace-Id")
			if len(xray) != 1 || rootOf(xray[0]) == "" || rootOf(xray[0]) != rootOf(answered) {
				t.Errorf("the event's X-Amzn-Trace-Id is %q, want one naming the request's trace (answered %q)", xray, answered)
			}
			if tc.want != nil && rootOf(answered) != "1-4bf92f35-77b34da6a3ce929d0e0e4736" {
				t.Errorf("answered X-Amzn-Trace-Id %q, want the client's trace continued", answered)
			}
		})
	}

	t.Run("AWS integration templates", func(t *testing.T) {
		a := get(t, "GET", base+"/a", "")
		var out struct {
			Body string `json:"body"`
		}
		var ev struct{ TP, XRay string }
		if a.status != 200 || json.Unmarshal([]byte(a.body), &out) != nil || json.Unmarshal([]byte(out.Body), &ev) != nil {
			t.Fatalf("GET /a: %d %s", a.status, a.body)
		}
		if ev.TP != "" {
			t.Errorf("$input.params('traceparent') is %q, which the client never sent", ev.TP)
		}
		if rootOf(ev.XRay) == "" || rootOf(ev.XRay) != rootOf(a.header.Get("X-Amzn-Trace-Id")) {
			t.Errorf("$input.params('X-Amzn-Trace-Id') is %q, want the request's trace (answered %q)", ev.XRay, a.header.Get("X-Amzn-Trace-Id"))
		}
	})
}
