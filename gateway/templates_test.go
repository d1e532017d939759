package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// eventTemplate builds a Lambda event from the query string, a header, the body
// and $context, as AWS's documentation examples do.
const eventTemplate = `#set($body = $input.path('$'))
{
  "petId": "$input.params('id')",
  "kind": "$input.params('kind')",
  "trace": "$util.escapeJavaScript($input.params().header.get('X-Trace'))",
  "name": $input.json('$.name'),
  "tags": [#foreach($t in $body.tags)"$t"#if($foreach.hasNext),#end#end],
  "stage": "$context.stage",
  "method": "$context.httpMethod",
  "resource": "$context.resourcePath",
  "env": "$stageVariables.env"
}`

func TestAWSIntegrationTemplates(t *testing.T) {
	e := newEnv(t)
	var event map[string]any
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		event = nil
		if err := json.Unmarshal(req.Payload, &event); err != nil {
			return nil, fmt.Errorf("event is not JSON: %s: %w", req.Payload, errdefs.ErrInvalid)
		}
		switch event["name"] {
		case "ghost":
			return &invoker.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"Not Found: no pet ghost","errorType":"Error"}`)}, nil
		case "":
			return &invoker.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"Bad Request: a pet needs a name","errorType":"Error"}`)}, nil
		case "boom":
			return &invoker.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"something else","errorType":"Error"}`)}, nil
		}
		return &invoker.Result{Payload: []byte(`{"id": 7, "name": "rex", "tags": ["a", "b"]}`)}, nil
	}
	errTemplate := `{"error": "$input.path('$.errorMessage')", "request": "$context.requestId"}`
	a := &apis.API{Name: "aws", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "POST", Path: "/pets/{id}", Integration: &apis.Integration{
			Type: apis.IntegrationAWS, URI: "function:hello", HTTPMethod: "POST",
			RequestTemplates: map[string]string{"application/json": eventTemplate},
			Responses: map[string]apis.IntegrationResponse{
				"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"pet": "$input.path('$.name')", "tagCount": $input.path('$.tags').size()}`},
					ResponseParameters: map[string]string{"method.response.header.X-Pet": "integration.response.body.name", "method.response.header.X-Static": "'yes'"}},
				"Not Found:.*":   {StatusCode: "404", ResponseTemplates: map[string]string{"application/json": errTemplate}},
				"Bad Request:.*": {StatusCode: "400", ResponseTemplates: map[string]string{"application/json": `{"bad": "$input.path('$.errorMessage')"}`}},
			},
		},
	}}}}
	id := e.deploy(a, "dev", map[string]string{"env": "test"})
	r := e.do("POST", "/"+id+"/dev/pets/7?kind=dog", strings.NewReader(`{"name": "rex", "tags": ["a", "b"]}`), "X-Trace", `t"1`)
	if r.status != 200 || r.body != `{"pet": "rex", "tagCount": 2}` || r.header.Get("X-Pet") != "rex" || r.header.Get("X-Static") != "yes" {
		t.Fatalf("success: %d %q %v", r.status, r.body, r.header)
	}
	want := map[string]any{"petId": "7", "kind": "dog", "trace": `t"1`, "name": "rex", "tags": []any{"a", "b"},
		"stage": "dev", "method": "POST", "resource": "/pets/{id}", "env": "test"}
	if fmt.Sprint(event) != fmt.Sprint(want) {
		t.Fatalf("event %v, want %v", event, want)
	}

	r = e.do("POST", "/"+id+"/dev/pets/9", strings.NewReader(`{"name": "ghost", "tags": []}`))
	if r.status != 404 || !strings.HasPrefix(r.body, `{"error": "Not Found: no pet ghost", "request": "`) ||
		!strings.Contains(r.body, r.header.Get("x-amzn-RequestId")) {
		t.Fatalf("404: %d %q", r.status, r.body)
	}
	r = e.do("POST", "/"+id+"/dev/pets/9", strings.NewReader(`{"name": "", "tags": []}`))
	if r.status != 400 || r.body != `{"bad": "Bad Request: a pet needs a name"}` {
		t.Fatalf("400: %d %q", r.status, r.body)
	}
	// An error no pattern matches takes the default response, with the
	// error document as $input, as API Gateway answers it (a Lambda error is a
	// 200 unless a response maps it); the template's size() of a missing path
	// renders as its text, as Velocity leaves a call on null.
	r = e.do("POST", "/"+id+"/dev/pets/9", strings.NewReader(`{"name": "boom", "tags": []}`))
	if r.status != 200 || r.body != `{"pet": "", "tagCount": $input.path('$.tags').size()}` {
		t.Fatalf("unmatched error: %d %q", r.status, r.body)
	}
	// A body that is not JSON where the template reads it as JSON is a 400.
	e.do("POST", "/"+id+"/dev/pets/9", strings.NewReader(`{not json`)).expectError(t, 400, "BadRequestException", "Could not parse request body into json")
}

func TestHTTPIntegrationJSONToXML(t *testing.T) {
	var got struct {
		body, query, header, path string
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.body, got.query, got.header, got.path = string(b), r.URL.RawQuery, r.Header.Get("X-Api-Client"), r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend-Version", "v3")
		if strings.Contains(string(b), "missing") {
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"message": "no such pet"}`)
			return
		}
		_, _ = io.WriteString(w, `{"pets": [{"id": 1, "name": "rex"}, {"id": 2, "name": "tom & jerry"}]}`)
	}))
	defer backend.Close()
	e := newEnv(t)
	xml := `<?xml version="1.0" encoding="UTF-8"?>
<pets>
#foreach($p in $input.path('$.pets'))
  <pet id="$p.id">$p.name.replace('&', '&amp;')</pet>
#end
</pets>`
	a := &apis.API{Name: "h", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/owners/{owner}/pets", Integration: &apis.Integration{
			Type: apis.IntegrationHTTP, HTTPMethod: "POST", URI: backend.URL + "/api/{who}/pets",
			RequestParameters: map[string]string{
				"integration.request.path.who":            "method.request.path.owner",
				"integration.request.querystring.limit":   "method.request.querystring.max",
				"integration.request.header.X-Api-Client": "'portico'",
				"integration.request.querystring.env":     "stageVariables.env",
				"integration.request.querystring.stage":   "context.stage",
			},
			RequestTemplates: map[string]string{"application/json": `{"owner": "$input.params('owner')", "filter": "$input.params('q')"}`},
			Responses: map[string]apis.IntegrationResponse{
				"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": xml},
					ResponseParameters: map[string]string{"method.response.header.Content-Type": "'application/xml'",
						"method.response.header.X-Version": "integration.response.header.X-Backend-Version"}},
				"404": {StatusCode: "404", ResponseTemplates: map[string]string{"application/json": `<error>$input.path('$.message')</error>`}},
			},
		},
	}}}}
	id := e.deploy(a, "dev", map[string]string{"env": "qa"})
	r := e.do("GET", "/"+id+"/dev/owners/ann/pets?max=5&q=dogs", nil)
	wantXML := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<pets>\n  <pet id=\"1\">rex</pet>\n  <pet id=\"2\">tom &amp; jerry</pet>\n</pets>"
	if r.status != 200 || r.body != wantXML || r.header.Get("Content-Type") != "application/xml" || r.header.Get("X-Version") != "v3" {
		t.Fatalf("xml: %d %q %v", r.status, r.body, r.header)
	}
	if got.body != `{"owner": "ann", "filter": "dogs"}` || got.path != "/api/ann/pets" || got.header != "portico" {
		t.Fatalf("backend saw %+v", got)
	}
	if got.query != "env=qa&limit=5&stage=dev" {
		t.Fatalf("backend query %q", got.query)
	}
	r = e.do("GET", "/"+id+"/dev/owners/missing/pets", nil)
	if r.status != 404 || r.body != `<error>no such pet</error>` {
		t.Fatalf("404: %d %q", r.status, r.body)
	}
}

func TestMockResponseOverride(t *testing.T) {
	e := newEnv(t)
	a := &apis.API{Name: "m", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/teapot", Integration: &apis.Integration{
			Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `#if($input.params('code') != "")
{"statusCode": $input.params('code')}
#else
{"statusCode": 200}
#end`},
			Responses: map[string]apis.IntegrationResponse{
				"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `#set($context.responseOverride.status = 444)
#set($context.responseOverride.header.X-Custom = "custom-$context.stage")
{"overridden": true}`}},
				"404": {StatusCode: "404", ResponseTemplates: map[string]string{"application/json": `{"missing": "$input.params('code')"}`}},
			},
		},
	}, {
		// An override applied twice is a 5XX, as API Gateway's guide says.
		Method: "GET", Path: "/twice", Integration: &apis.Integration{
			Type:             apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{
				"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `#set($context.responseOverride.status = 201)
#set($context.responseOverride.status = 202)
{}`}},
			},
		},
	}, {
		// A status override that is not a status is a 5XX too, not ignored.
		Method: "GET", Path: "/bad/{code}", Integration: &apis.Integration{
			Type:             apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{
				"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `#set($context.responseOverride.status = $input.params('code'))
{}`}},
			},
		},
	}}}}
	id := e.deploy(a, "dev", nil)
	e.do("GET", "/"+id+"/dev/twice", nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	for _, code := range []string{"abc", "99", "1000"} {
		e.do("GET", "/"+id+"/dev/bad/"+code, nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	}
	if logs := e.logs.String(); !strings.Contains(logs, `$context.responseOverride.status \"abc\" is not an HTTP status code`) {
		t.Errorf("the log does not say why:\n%s", logs)
	}
	if r := e.do("GET", "/"+id+"/dev/bad/418", nil); r.status != 418 {
		t.Errorf("a valid status from a parameter: %d %q", r.status, r.body)
	}
	r := e.do("GET", "/"+id+"/dev/teapot", nil)
	if r.status != 444 || r.body != `{"overridden": true}` || r.header.Get("X-Custom") != "custom-dev" {
		t.Fatalf("override: %d %q %v", r.status, r.body, r.header)
	}
	r = e.do("GET", "/"+id+"/dev/teapot?code=404", nil)
	if r.status != 404 || r.body != `{"missing": "404"}` {
		t.Fatalf("status from template: %d %q", r.status, r.body)
	}
}

// TestFunctionEventMustBeJSON: a non-proxy function integration whose event
// is not JSON (a template that renders invalid JSON, a text body passed
// through) answers 400 "Could not parse request body into json: ..." without
// invoking the function, as API Gateway does. The function used to be called
// with it.
func TestFunctionEventMustBeJSON(t *testing.T) {
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: req.Payload}, nil
	}
	fn := func(templates map[string]string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWS, URI: "function:hello", HTTPMethod: "POST", RequestTemplates: templates}
	}
	a := &apis.API{Name: "events", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/q", Integration: fn(map[string]string{"application/json": `{"q": "$util.escapeJavaScript($input.params('q'))"}`})},
		{Method: "POST", Path: "/raw", Integration: fn(nil)},
	}}}
	id := e.deploy(a, "dev", nil)
	// The reason says where and what, not the decoder's guess of what was
	// meant (r-vtlval29 #3: "invalid character 'o' in literal null
	// (expecting 'u')" for "not json").
	for _, tc := range []struct{ path, body, ct, why string }{
		{"/q?q=it%27s", `{}`, "application/json", `not JSON at byte 10: unexpected '\''`}, // {"q": "it\'s"}
		{"/raw", "hello", "text/plain", "not JSON at byte 0: unexpected 'h'"},
		{"/raw", "not json", "text/plain", "not JSON at byte 1: unexpected 'o'"},
		{"/raw", `{"a":1} {"x":1}`, "application/json", "not JSON at byte 8: unexpected data after the JSON value"},
		{"/raw", `{"a": 1`, "application/json", "not JSON at byte 7: unexpected end"},
	} {
		r := e.do("POST", "/"+id+"/dev"+tc.path, strings.NewReader(tc.body), "Content-Type", tc.ct)
		var m map[string]string
		if want := "Could not parse request body into json: " + tc.why; r.status != 400 || json.Unmarshal([]byte(r.body), &m) != nil || m["message"] != want {
			t.Errorf("POST %s %q: %d %q, want 400 %q", tc.path, tc.body, r.status, r.body, want)
		}
	}
	e.inv.mu.Lock()
	calls := len(e.inv.calls)
	e.inv.mu.Unlock()
	if calls != 0 {
		t.Errorf("the function was invoked %d times with an event that is not JSON", calls)
	}
	for path, want := range map[string]string{"/q?q=rex": `{"q": "rex"}`, "/raw": `{"a": 1}`} {
		if r := e.do("POST", "/"+id+"/dev"+path, strings.NewReader(`{"a": 1}`)); r.status != 200 || r.body != want {
			t.Errorf("POST %s: %d %q, want 200 %s", path, r.status, r.body, want)
		}
	}
}

func TestPassthroughBehavior(t *testing.T) {
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, string(b))
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	e := newEnv(t)
	route := func(path, behavior string, templates map[string]string) apis.Route {
		return apis.Route{Method: "POST", Path: path, Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST",
			URI: backend.URL, PassthroughBehavior: behavior, RequestTemplates: templates}}
	}
	json := map[string]string{"application/json": `{"templated": true}`}
	a := &apis.API{Name: "p", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		route("/match", "WHEN_NO_MATCH", json),
		route("/templates", "WHEN_NO_TEMPLATES", json),
		route("/notemplates", "WHEN_NO_TEMPLATES", nil),
		route("/never", "NEVER", json),
		route("/nevernone", "NEVER", nil),
	}}}
	id := e.deploy(a, "dev", nil)
	cases := []struct {
		path, ct string
		status   int
		backend  string
	}{
		{"/match", "text/plain", 200, "raw"},
		{"/match", "", 200, `{"templated": true}`}, // no Content-Type counts as application/json
		{"/templates", "text/plain", 415, ""},
		{"/templates", "application/json; charset=utf-8", 200, `{"templated": true}`},
		{"/notemplates", "text/plain", 200, "raw"},
		{"/never", "text/plain", 415, ""},
		{"/never", "application/json", 200, `{"templated": true}`},
		{"/nevernone", "application/json", 415, ""},
	}
	for _, c := range cases {
		seen = nil
		hdr := []string{}
		if c.ct != "" {
			hdr = []string{"Content-Type", c.ct}
		}
		r := e.do("POST", "/"+id+"/dev"+c.path, strings.NewReader("raw"), hdr...)
		if c.status == 415 {
			r.expectError(t, 415, "UnsupportedMediaTypeException", "Unsupported Media Type")
			if len(seen) != 0 {
				t.Fatalf("%s %s: backend called on a 415", c.path, c.ct)
			}
			continue
		}
		if r.status != c.status || len(seen) != 1 || seen[0] != c.backend {
			t.Fatalf("%s %q: %d, backend saw %q", c.path, c.ct, r.status, seen)
		}
	}
}

func TestTemplateLimitIs500(t *testing.T) {
	e := newEnv(t)
	a := &apis.API{Name: "l", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/big", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{
				"application/json": `#foreach($i in [1..5000])x#end`}}}},
	}}}}
	id := e.deploy(a, "dev", nil)
	e.do("GET", "/"+id+"/dev/big", nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	if !strings.Contains(e.logs.String(), "limit") {
		t.Fatalf("no reason in the log: %s", e.logs.String())
	}
}

func TestBadTemplatesRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := map[string]*apis.Integration{
		"line 2, column": {Type: apis.IntegrationMock, RequestTemplates: map[string]string{"application/json": "{\n#if($a)\n"}},
		"response template": {Type: apis.IntegrationMock, Responses: map[string]apis.IntegrationResponse{
			"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": "#foreach($x in)#end"}}}},
		"not a regular expression": {Type: apis.IntegrationMock, Responses: map[string]apis.IntegrationResponse{
			"Not Found(": {StatusCode: "404"}}},
	}
	for want, in := range cases {
		a := &apis.API{Name: "bad", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: in}}}}
		_, err := e.svc.Create(ctx, a)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

// TestRequestTemplateFailureOnAFormBody: a request template that fails for
// a reason other than reading a body that is not JSON as JSON is a 500, even
// when the body is not JSON; reading it as JSON is the 400.
func TestRequestTemplateFailureOnAFormBody(t *testing.T) {
	e := newEnv(t)
	a := &apis.API{Name: "f", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "POST", Path: "/form", Integration: &apis.Integration{
			Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{
				"application/x-www-form-urlencoded": `{"statusCode": 200, "v": "$util.urlDecode($input.body)"}`,
				"application/json":                  `{"statusCode": 200, "v": "$input.path('$.a')"}`,
			},
			Responses: map[string]apis.IntegrationResponse{
				"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"ok": true}`}},
			},
		},
	}}}}
	id := e.deploy(a, "dev", nil)
	form := "application/x-www-form-urlencoded"
	if r := e.do("POST", "/"+id+"/dev/form", strings.NewReader("a=%41"), "Content-Type", form); r.status != 200 {
		t.Fatalf("form: %d %q", r.status, r.body)
	}
	e.do("POST", "/"+id+"/dev/form", strings.NewReader("a=%zz"), "Content-Type", form).
		expectError(t, 500, "InternalServerErrorException", "Internal server error")
	e.do("POST", "/"+id+"/dev/form", strings.NewReader("a=1"), "Content-Type", "application/json").
		expectError(t, 400, "BadRequestException", "Could not parse request body into json")
}

// TestResponseTemplateByAccept: the response template is the one for the first
// media type of the client's Accept that has one; without a match (no Accept,
// */*, a type without a template) it is application/json's, else the first by
// media type; the Content-Type is the selected template's media type.
func TestResponseTemplateByAccept(t *testing.T) {
	e := newEnv(t)
	mock := func(path string, templates map[string]string) apis.Route {
		return apis.Route{Method: "GET", Path: path, Integration: &apis.Integration{
			Type:             apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: templates}},
		}}
	}
	a := &apis.API{Name: "accept", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		mock("/all", map[string]string{"application/json": `{"t":"json"}`, "application/xml": "<t>xml</t>", "text/html": "<p>html</p>"}),
		mock("/nojson", map[string]string{"application/xml": "<t>xml</t>", "text/html": "<p>html $context.stage</p>"}),
		{Method: "GET", Path: "/fn", Integration: &apis.Integration{
			Type: apis.IntegrationAWS, URI: "function:hello", HTTPMethod: "POST",
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{
				"application/json": `{"name": "$input.path('$.name')"}`, "application/xml": "<name>$input.path('$.name')</name>"}}},
		}},
	}}}
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{"name": "rex"}`)}, nil
	}
	id := e.deploy(a, "dev", nil)
	for _, c := range []struct{ path, accept, body, ct string }{
		{"/all", "application/xml", "<t>xml</t>", "application/xml"},
		{"/all", "text/html", "<p>html</p>", "text/html"},
		{"/all", "text/html;q=0.9, application/xml", "<p>html</p>", "text/html"},
		{"/all", "image/png, Application/XML; charset=utf-8", "<t>xml</t>", "application/xml"},
		{"/all", "application/json", `{"t":"json"}`, "application/json"},
		{"/all", "*/*", `{"t":"json"}`, "application/json"},
		{"/all", "", `{"t":"json"}`, "application/json"},
		{"/all", "image/png", `{"t":"json"}`, "application/json"},
		{"/nojson", "text/html", "<p>html dev</p>", "text/html"},
		{"/nojson", "application/json", "<t>xml</t>", "application/xml"},
		{"/nojson", "", "<t>xml</t>", "application/xml"},
		{"/fn", "application/xml", "<name>rex</name>", "application/xml"},
		{"/fn", "", `{"name": "rex"}`, "application/json"},
	} {
		var hdr []string
		if c.accept != "" {
			hdr = []string{"Accept", c.accept}
		}
		r := e.do("GET", "/"+id+"/dev"+c.path, nil, hdr...)
		if r.status != 200 || r.body != c.body || r.header.Get("Content-Type") != c.ct {
			t.Errorf("%s Accept %q: %d %q %q, want %q %q", c.path, c.accept, r.status, r.body, r.header.Get("Content-Type"), c.body, c.ct)
		}
	}
}

// TestTemplatesSeeTheGatewaysHeaders: a mapping template sees the headers a
// REST proxy event carries, the ones API Gateway adds (Host,
// X-Forwarded-For/Port/Proto, X-Amzn-Trace-Id) included, with the same names
// and values, in $input.params().header and $input.params(name).
func TestTemplatesSeeTheGatewaysHeaders(t *testing.T) {
	e := newEnv(t)
	var proxied events.APIGatewayProxyRequest
	var mapped struct {
		Header map[string]string `json:"header"`
		Params []string          `json:"params"`
	}
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		if bytes.Contains(req.Payload, []byte(`"httpMethod"`)) {
			proxied = events.APIGatewayProxyRequest{}
			if err := json.Unmarshal(req.Payload, &proxied); err != nil {
				return nil, err
			}
			return &invoker.Result{Payload: []byte(`{"statusCode": 200}`)}, nil
		}
		mapped.Header, mapped.Params = nil, nil
		if err := json.Unmarshal(req.Payload, &mapped); err != nil {
			return nil, fmt.Errorf("event %s: %w", req.Payload, err)
		}
		return &invoker.Result{Payload: []byte(`{}`)}, nil
	}
	tmpl := `{"header": {#foreach($k in $input.params().header.keySet())"$util.escapeJavaScript($k)": "$util.escapeJavaScript($input.params().header.get($k))"#if($foreach.hasNext),#end#end},
 "params": ["$input.params('Host')", "$input.params('x-forwarded-for')", "$input.params('X-Forwarded-Port')", "$input.params('X-FORWARDED-PROTO')", "$input.params('X-Amzn-Trace-Id')"]}`
	a := &apis.API{Name: "hdrs", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/proxy", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}},
		{Method: "GET", Path: "/mapped", Integration: &apis.Integration{Type: apis.IntegrationAWS, URI: "function:hello", HTTPMethod: "POST",
			RequestTemplates: map[string]string{"application/json": tmpl},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}}},
	}}}
	id := e.deploy(a, "dev", nil)
	hdr := []string{"X-Client", "c", "X-Forwarded-For", "203.0.113.9", "X-Amzn-Trace-Id", "Root=1-5f84c7a9-0123456789abcdef01234567"}
	if r := e.do("GET", "/"+id+"/dev/proxy", nil, hdr...); r.status != 200 {
		t.Fatalf("proxy: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/"+id+"/dev/mapped", nil, hdr...); r.status != 200 {
		t.Fatalf("mapped: %d %s", r.status, r.body)
	}
	if fmt.Sprint(mapped.Header) != fmt.Sprint(proxied.Headers) {
		t.Errorf("the template's headers:\n%v\nthe proxy event's:\n%v", mapped.Header, proxied.Headers)
	}
	host := strings.TrimPrefix(e.srv.URL, "http://")
	_, port, _ := strings.Cut(host, ":")
	want := []string{host, "203.0.113.9, 127.0.0.1", port, "http", "Root=1-5f84c7a9-0123456789abcdef01234567"}
	if fmt.Sprint(mapped.Params) != fmt.Sprint(want) {
		t.Errorf("$input.params(name): %q, want %q", mapped.Params, want)
	}
	// Without the client's, the gateway's own trace id.
	if r := e.do("GET", "/"+id+"/dev/mapped", nil); r.status != 200 {
		t.Fatalf("mapped: %d %s", r.status, r.body)
	}
	if tr := mapped.Header["X-Amzn-Trace-Id"]; !strings.HasPrefix(tr, "Root=1-") || mapped.Params[4] != tr || mapped.Header["X-Forwarded-For"] != "127.0.0.1" {
		t.Errorf("without the client's X-Amzn-Trace-Id and X-Forwarded-For: %v %q", mapped.Header, mapped.Params)
	}
}
