package gateway

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// mockWithResponse is a MOCK route at path whose default response renders
// tmpl.
func mockWithResponse(method, path, tmpl string) apis.Route {
	return apis.Route{Method: method, Path: path, Integration: &apis.Integration{Type: apis.IntegrationMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
		Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{
			"application/json": tmpl}}}}}
}

// TestTemplateRangeExtremesAnswer500: a range value whose bounds come from
// the request and are int64's extremes is a 500 with the reason in the log,
// as any range over the engine's budget; MinInt64..MaxInt64 appended without
// end (gigabytes, after the client left) and 0..MinInt64 panicked, leaving
// the client without an answer.
func TestTemplateRangeExtremesAnswer500(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "rng", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		mockWithResponse("POST", "/rz", `#set($r = [0..$input.params('n')])$r.size()`),
		mockWithResponse("POST", "/rz2", `#set($r = [$input.params('a')..$input.params('b')])$r.size()`),
	}}}, "dev", nil)
	for _, p := range []string{"/rz?n=-9223372036854775808", "/rz2?a=-9223372036854775808&b=9223372036854775807", "/rz2?a=9223372036854775807&b=-1"} {
		r := e.do("POST", "/"+id+"/dev"+p, strings.NewReader(`{}`), "Content-Type", "application/json")
		if r.status != http.StatusInternalServerError || !strings.Contains(r.body, "Internal server error") {
			t.Errorf("%s: %d %s; want 500", p, r.status, r.body)
		}
	}
	if logs := e.logs.b.String(); !strings.Contains(logs, "too large") {
		t.Errorf("the reason is not logged:\n%s", logs)
	}
	if r := e.do("POST", "/"+id+"/dev/rz?n=3", strings.NewReader(`{}`), "Content-Type", "application/json"); r.status != 200 || r.body != "4" {
		t.Errorf("a small range: %d %q", r.status, r.body)
	}
}

// TestTemplateHeaderBlockBounded: the headers a template sets (with the
// parameter mappings) are held to API Gateway's 10,240 bytes of header
// values in total, and an overridden query string and path to as much: past
// it the request is a 500 with the reason in the log and nothing sent. A
// two-byte request used to make a 30 MiB response header block.
func TestTemplateHeaderBlockBounded(t *testing.T) {
	var calls atomic.Int64
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	// n headers of 1,000 bytes: 10 fit with their names, 11 do not.
	headers := func(where string) string {
		return `#set($x = "x")#foreach($i in [1..10])#set($x = "$x$x")#end#set($x = $x.substring(0, 1000))` +
			`#foreach($i in [1..$input.params('n')])#set($context.` + where + `["X-R$i"] = $x)#end#set($d = 0)`
	}
	route := func(path, tmpl string) apis.Route {
		return apis.Route{Method: "POST", Path: path, Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST",
			URI: backend.URL + path, RequestTemplates: map[string]string{"application/json": tmpl + "{}"}}}
	}
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "hb", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		mockWithResponse("POST", "/rhdr", headers("responseOverride.header")+"ok"),
		route("/qhdr", headers("requestOverride.header")),
		route("/qs", headers("requestOverride.querystring")),
		route("/pth", headers("requestOverride.path")),
	}}}, "dev", nil)
	for _, p := range []string{"/rhdr", "/qhdr", "/qs", "/pth"} {
		r := e.do("POST", "/"+id+"/dev"+p+"?n=10", strings.NewReader(`{}`), "Content-Type", "application/json")
		if r.status != 200 {
			t.Errorf("%s, 10 KB: %d %s; want 200", p, r.status, r.body)
		}
		before := calls.Load()
		r = e.do("POST", "/"+id+"/dev"+p+"?n=11", strings.NewReader(`{}`), "Content-Type", "application/json")
		if r.status != http.StatusInternalServerError || calls.Load() != before || r.header.Get("X-R1") != "" {
			t.Errorf("%s, 11 KB: %d %s, backend called %d times; want 500 and none", p, r.status, r.body, calls.Load()-before)
		}
	}
	if s := seen(); s.path != "/pth" {
		t.Errorf("the last request the backend saw was for %s; want /pth's 10 KB one", s.path)
	}
	logs := e.logs.b.String()
	for _, want := range []string{"method response headers set by responseParameters and $context.responseOverride.header take 11", "integration request headers set by requestParameters and $context.requestOverride.header take 11", "query string and path parameters"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q:\n%s", want, logs)
		}
	}
}

// TestOverrideHeaderCaseVariantsDeterministic: header names a template (or
// a mapping) spells in two cases are one header, and the answer is the same
// every time (a template setting one twice, in any spelling, fails the
// render: overrides are final; for two mappings, the target that sorts last
// wins; an override wins over a mapping); it was Go's map order, a
// different answer from one request to the next.
func TestOverrideHeaderCaseVariantsDeterministic(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "cv", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		mockWithResponse("POST", "/rcase", `#set($context.responseOverride.header.X-A = "1")#set($context.responseOverride.header.x-a = "2")#set($context.responseOverride.header.Content-Type = "text/a")#set($context.responseOverride.header.content-type = "text/b")ok`),
		{Method: "POST", Path: "/ovr", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST", URI: backend.URL + "/ovr",
			RequestParameters: map[string]string{"integration.request.header.x-m": "'low'", "integration.request.header.X-M": "'up'", "integration.request.header.x-o": "'mapped'"},
			RequestTemplates:  map[string]string{"application/json": `#set($context.requestOverride.header.x-a = "2")#set($context.requestOverride.header.X-O = "override"){}`}}},
		{Method: "POST", Path: "/rp", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
				ResponseParameters: map[string]string{"method.response.header.x-p": "'low'", "method.response.header.X-P": "'up'"}}}}},
	}}}, "dev", nil)
	for range 20 {
		r := e.do("POST", "/"+id+"/dev/rcase", strings.NewReader(`{}`), "Content-Type", "application/json")
		if r.status != 500 || r.header.Get("X-A") != "" {
			t.Fatalf("/rcase: %d %v; want 500: X-A and x-a are one header overridden twice", r.status, r.header)
		}
		r = e.do("POST", "/"+id+"/dev/ovr", strings.NewReader(`{}`), "Content-Type", "application/json")
		s := seen()
		if r.status != 200 || s.header.Get("X-A") != "2" || s.header.Get("X-M") != "low" || s.header.Get("X-O") != "override" {
			t.Fatalf("/ovr: %d; backend saw %v; want X-A: 2, X-M: low (x-m sorts after X-M), X-O: override", r.status, s.header)
		}
		r = e.do("POST", "/"+id+"/dev/rp", strings.NewReader(`{}`), "Content-Type", "application/json")
		if r.status != 200 || r.header.Get("X-P") != "low" {
			t.Fatalf("/rp: %d %v; want X-P: low", r.status, r.header)
		}
	}
}

// TestResponseOverrideInvalidHeaderNameLogged: a name a template gives
// $context.responseOverride.header that is no header name is not sent (no
// header injection) and, now, the log says so.
func TestResponseOverrideInvalidHeaderNameLogged(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "inv", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		mockWithResponse("GET", "/rn", `#set($context.responseOverride.header[$input.params('n')] = "v")#set($context.responseOverride.header.X-Kept = "k")x`),
	}}}, "dev", nil)
	for _, n := range []string{"X%20A", "X-A:%201%0d%0aSet-Cookie:%20evil=1", "X:Y", ""} {
		r := e.do("GET", "/"+id+"/dev/rn?n="+n, nil)
		if r.status != 200 || r.body != "x" || r.header.Get("X-Kept") != "k" || r.header.Get("Set-Cookie") != "" {
			t.Errorf("n=%s: %d %q %v", n, r.status, r.body, r.header)
		}
	}
	if logs := e.logs.b.String(); !strings.Contains(logs, "their names are not header names") || !strings.Contains(logs, `X A`) || !strings.Contains(logs, `X:Y`) {
		t.Errorf("the dropped names are not logged:\n%s", logs)
	}
}

// TestTemplateKeysMatchedInLowerCase: a REST template keyed by a media type
// in upper case ("Application/JSON") is selected by a request's (or an
// Accept's) media type, as media types are case-insensitive; it was never
// selected (415 under NEVER). An exact lower-case key still wins.
func TestTemplateKeysMatchedInLowerCase(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "ck", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/ck", Integration: &apis.Integration{Type: apis.IntegrationMock, PassthroughBehavior: "NEVER",
			RequestTemplates: map[string]string{"Application/JSON": `{"statusCode": 200}`, "Text/Plain": `{"statusCode": 201}`, "text/plain": `{"statusCode": 202}`},
			Responses: map[string]apis.IntegrationResponse{
				"default": {StatusCode: "200", ResponseTemplates: map[string]string{"Application/XML": "<x/>", "application/json": "{}"}},
				"201":     {StatusCode: "201"}, "202": {StatusCode: "202"}}}},
	}}}, "dev", nil)
	for _, c := range []struct {
		ct, accept string
		status     int
		body       string
	}{
		{"application/json", "", 200, "{}"},
		{"Application/JSON", "application/xml", 200, "<x/>"},
		{"application/json; charset=UTF-8", "APPLICATION/XML", 200, "<x/>"},
		{"text/plain", "", 202, ""},
	} {
		r := e.do("POST", "/"+id+"/dev/ck", strings.NewReader(`{}`), "Content-Type", c.ct, "Accept", c.accept)
		if r.status != c.status || (c.body != "" && r.body != c.body) {
			t.Errorf("%s, Accept %q: %d %q; want %d %q", c.ct, c.accept, r.status, r.body, c.status, c.body)
		}
	}
}
