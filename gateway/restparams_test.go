package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestRESTMappingSourcesApplied: the mapping sources API Gateway documents
// for REST APIs reach the backend and the client: on the request side
// method.request.body, method.request.body.JSONPATH (with or without its
// "$.", as WebSocket APIs' route.request.body takes it) and the multi-value
// header and query string (on a non-proxy HTTP integration and on an
// HTTP_PROXY one), on the response side stageVariables.NAME, context.NAME,
// integration.response.multivalueheader.NAME and a body JSONPath with an
// index. They were accepted and silently left out.
func TestRESTMappingSourcesApplied(t *testing.T) {
	var mu sync.Mutex
	var seen http.Header
	var seenQuery string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen, seenQuery = r.Header.Clone(), r.URL.RawQuery
		mu.Unlock()
		w.Header().Add("X-Back", "p")
		w.Header().Add("X-Back", "q")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"a": {"b": [1, {"c": 2}]}, "who": "backend"}`)
	}))
	defer backend.Close()
	requestParams := map[string]string{
		"integration.request.header.X-Body":  "method.request.body",
		"integration.request.header.X-Name":  "method.request.body.pet.name",
		"integration.request.header.X-First": "method.request.body.tags[0]",
		"integration.request.header.X-Root":  "method.request.body.$.pet.name",
		"integration.request.header.X-Multi": "method.request.multivalueheader.X-In",
		"integration.request.querystring.m":  "method.request.multivaluequerystring.q",
	}
	a := &apis.API{Name: "sources", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "POST", Path: "/items",
		Responses: map[string]apis.MethodResponse{"200": {Headers: []string{"X-Stage", "X-Ctx", "X-Vals", "X-Deep", "X-Who", "X-Who-Root"}}},
		Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST", URI: backend.URL + "/items",
			RequestParameters: requestParams,
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseParameters: map[string]string{
				"method.response.header.X-Stage":    "stageVariables.env",
				"method.response.header.X-Ctx":      "context.stage",
				"method.response.header.X-Vals":     "integration.response.multivalueheader.X-Back",
				"method.response.header.X-Deep":     "integration.response.body.a.b[1]",
				"method.response.header.X-Who":      "integration.response.body.who",
				"method.response.header.X-Who-Root": "integration.response.body.$.who",
			}}}},
	}, {
		Method: "POST", Path: "/proxy",
		Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST", URI: backend.URL + "/proxy",
			RequestParameters: requestParams},
	}}}}
	e := newEnv(t)
	id := e.deploy(a, "dev", map[string]string{"env": "qa"})
	const body = `{"pet": {"name": "rex"}, "tags": ["x", "y"]}`
	check := func(path string) {
		t.Helper()
		mu.Lock()
		h, q := seen, seenQuery
		mu.Unlock()
		for name, want := range map[string]string{"X-Body": body, "X-Name": "rex", "X-Root": "rex", "X-First": "x", "X-Multi": "1,2"} {
			if got := strings.Join(h.Values(name), ","); got != want {
				t.Errorf("%s: the backend saw %s %q, want %q", path, name, got, want)
			}
		}
		if !strings.Contains(q, "m=a%2Cb") {
			t.Errorf("%s: the backend's query %q, want m=a,b", path, q)
		}
	}
	r := e.do("POST", "/"+id+"/dev/items?q=a&q=b", strings.NewReader(body), "X-In", "1", "X-In", "2", "Content-Type", "application/json")
	if r.status != 200 {
		t.Fatalf("POST /items: %d %q", r.status, r.body)
	}
	check("/items")
	for name, want := range map[string]string{"X-Stage": "qa", "X-Ctx": "dev", "X-Vals": "p,q", "X-Deep": `{"c":2}`, "X-Who": "backend", "X-Who-Root": "backend"} {
		if got := r.header.Get(name); got != want {
			t.Errorf("method response header %s = %q, want %q", name, got, want)
		}
	}
	r = e.do("POST", "/"+id+"/dev/proxy?q=a&q=b", strings.NewReader(body), "X-In", "1", "X-In", "2", "Content-Type", "application/json")
	if r.status != 200 {
		t.Fatalf("POST /proxy: %d %q", r.status, r.body)
	}
	check("/proxy")
}

// TestIntegrationResponseWithoutMethodResponse: an integration response
// selected for a status its method has no method response for answers 500
// {"message": "Internal server error"} with API Gateway's reason in the log
// ("Output mapping refers to an invalid method response: 418"), on MOCK,
// HTTP and AWS integrations alike; it used to answer the status as it was.
// With the method response declared the status is answered.
func TestIntegrationResponseWithoutMethodResponse(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	defer backend.Close()
	e := newEnv(t)
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"teapot: short and stout"}`)}, nil
	}
	teapot := map[string]apis.IntegrationResponse{"418|teapot.*": {StatusCode: "418"}, "default": {StatusCode: "200"}}
	route := func(path string, in *apis.Integration, declared ...string) apis.Route {
		in.Responses = teapot
		mr := map[string]apis.MethodResponse{}
		for _, code := range declared {
			mr[code] = apis.MethodResponse{}
		}
		return apis.Route{Method: "GET", Path: path, Responses: mr, Integration: in}
	}
	mock := func() *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 418}`}}
	}
	http := func() *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL}
	}
	fn := func() *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWS, HTTPMethod: "POST", URI: "function:hello"}
	}
	a := &apis.API{Name: "teapot", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		route("/mock", mock(), "200"), route("/http", http(), "200"), route("/aws", fn(), "200"),
		route("/mock-ok", mock(), "200", "418"), route("/http-ok", http(), "418"), route("/aws-ok", fn(), "418"),
	}}}
	id := e.deploy(a, "dev", nil)
	for _, path := range []string{"/mock", "/http", "/aws"} {
		e.do("GET", "/"+id+"/dev"+path, nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "Output mapping refers to an invalid method response: 418") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
	for _, path := range []string{"/mock-ok", "/http-ok", "/aws-ok"} {
		if r := e.do("GET", "/"+id+"/dev"+path, nil); r.status != 418 {
			t.Errorf("GET %s with a method response 418 = %d %q", path, r.status, r.body)
		}
	}
}

// TestNoOutputMapping: an integration whose integration responses neither
// match what came back nor include a default answers 500 {"message": "Internal
// server error"} and logs why, as API Gateway does ("No match for output
// mapping and no default output mapping specified"). Portico used to make up
// a 200 (or the MOCK's statusCode) response. So does a MOCK without
// integration responses on a method that declares method responses (built
// through the AWS control plane, it answered an empty 200). An HTTP or AWS
// integration without integration responses at all still answers with what
// came back.
func TestNoOutputMapping(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error": "not found"}`)
	}))
	defer backend.Close()
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		if strings.Contains(string(req.Payload), "fail") {
			return &invoker.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
		}
		return &invoker.Result{Payload: []byte(`{"ok": true}`)}, nil
	}
	only := func(pattern, status string) map[string]apis.IntegrationResponse {
		return map[string]apis.IntegrationResponse{pattern: {StatusCode: status}}
	}
	methods := map[string]apis.MethodResponse{"200": {}, "500": {}}
	route := func(path string, in *apis.Integration) apis.Route {
		return apis.Route{Method: "POST", Path: path, Responses: methods, Integration: in}
	}
	mock := func(status string, responses map[string]apis.IntegrationResponse) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationMock, Responses: responses,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": ` + status + `}`}}
	}
	fn := func(responses map[string]apis.IntegrationResponse) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWS, HTTPMethod: "POST", URI: "function:hello", Responses: responses}
	}
	a := &apis.API{Name: "nomatch", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		route("/http", &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL, Responses: only(`2\d\d`, "200")}),
		route("/aws", fn(only("ok.*", "200"))),
		route("/aws-errors-only", fn(only("boom", "500"))),
		route("/mock-500", mock("500", only("200", "200"))),
		route("/mock-200", mock("200", only("500", "500"))),
		route("/mock-none", mock("200", nil)),
		route("/http-none", &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL}),
		route("/aws-none", fn(nil)),
	}}}
	id := e.deploy(a, "dev", nil)
	for _, tc := range []struct{ path, body string }{
		{"/http", `{}`}, {"/aws", `{"fail": true}`}, {"/aws-errors-only", `{}`}, {"/mock-500", `{}`}, {"/mock-200", `{}`},
		{"/mock-none", `{}`},
	} {
		r := e.do("POST", "/"+id+"/dev"+tc.path, strings.NewReader(tc.body))
		if r.status != 500 || r.body != `{"message": "Internal server error"}` {
			t.Errorf("POST %s: %d %q, want 500 Internal server error", tc.path, r.status, r.body)
		}
	}
	if logs := e.logs.String(); !strings.Contains(logs, "No match for output mapping and no default output mapping specified") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
	for path, want := range map[string]int{"/http-none": 404, "/aws-none": 200} {
		if r := e.do("POST", "/"+id+"/dev"+path, strings.NewReader(`{"fail": true}`)); r.status != want || r.body == `{"message": "Internal server error"}` {
			t.Errorf("POST %s without integration responses: %d %q, want %d", path, r.status, r.body, want)
		}
	}
}

// TestRESTProxyPathMappedFromAnySource: a REST HTTP_PROXY integration's
// integration.request.path.X takes any source (a 'literal', a header, a body
// JSONPath, a stage variable), not only method.request.path.Y, and a body
// read for it still reaches the backend. Other sources used to leave {X} in
// the backend's URL.
func TestRESTProxyPathMappedFromAnySource(t *testing.T) {
	var mu sync.Mutex
	var gotPath, gotBody string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotPath, gotBody = r.URL.Path, string(b)
		mu.Unlock()
	}))
	defer backend.Close()
	a := &apis.API{Name: "paths", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "POST", Path: "/things/{id}",
		Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST", URI: backend.URL + "/{tenant}/{env}/{who}/{kind}/{thing}",
			RequestParameters: map[string]string{
				"integration.request.path.tenant": "'acme'",
				"integration.request.path.env":    "stageVariables.env",
				"integration.request.path.who":    "method.request.header.X-Who",
				"integration.request.path.kind":   "method.request.body.kind",
				"integration.request.path.thing":  "method.request.path.id",
			}},
	}}}}
	e := newEnv(t)
	id := e.deploy(a, "dev", map[string]string{"env": "qa"})
	const body = `{"kind": "widget"}`
	if r := e.do("POST", "/"+id+"/dev/things/7", strings.NewReader(body), "X-Who", "ann"); r.status != 200 {
		t.Fatalf("POST /things/7: %d %q", r.status, r.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if gotPath != "/acme/qa/ann/widget/7" || gotBody != body {
		t.Errorf("the backend saw path %q body %q, want /acme/qa/ann/widget/7 and the body", gotPath, gotBody)
	}
}

// TestRepeatedParametersLastValue: a parameter sent twice reads as its last
// value everywhere a REST API reads one value, as the proxy event's
// queryStringParameters and headers have it: $input.params('q'),
// $input.params().querystring and .header, method.request.querystring.q and
// method.request.header.X-H; the multivalue forms keep every value.
func TestRepeatedParametersLastValue(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") })
	e := newEnv(t)
	tmpl := `$input.params('q') $input.params().querystring.get('q') $input.params('X-H') $input.params().header.get('X-H')`
	a := &apis.API{Name: "rep", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
				ResponseTemplates: map[string]string{"application/json": tmpl}}}},
	}, {
		Method: "GET", Path: "/http", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL,
			RequestParameters: map[string]string{
				"integration.request.querystring.one": "method.request.querystring.q",
				"integration.request.header.X-One":    "method.request.header.X-H",
				"integration.request.header.X-All":    "method.request.multivalueheader.X-H",
			},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}},
	}}}}
	id := e.deploy(a, "dev", nil)
	if r := e.do("GET", "/"+id+"/dev/mock?q=1&q=2", nil, "X-H", "a", "X-H", "b"); r.status != 200 || r.body != "2 2 b b" {
		t.Errorf("templates: %d %q, want \"2 2 b b\"", r.status, r.body)
	}
	if r := e.do("GET", "/"+id+"/dev/http?q=1&q=2", nil, "X-H", "a", "X-H", "b"); r.status != 200 {
		t.Fatalf("http: %d %s", r.status, r.body)
	}
	got := seen()
	if !strings.Contains(got.query, "one=2") || got.header.Get("X-One") != "b" || got.header.Get("X-All") != "a,b" {
		t.Errorf("the backend saw query %q, X-One %q, X-All %q; want one=2, b, a,b", got.query, got.header.Get("X-One"), got.header.Get("X-All"))
	}
}
