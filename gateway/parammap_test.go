package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// seenRequest is what a backend received.
type seenRequest struct {
	path, query string
	header      http.Header
}

func newSeenBackend(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, func() seenRequest) {
	var mu sync.Mutex
	var last seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seenRequest{path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone()}
		mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func TestHTTPAPIParameterMappingProxy(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Server", "backend-7")
		w.Header().Set("X-Internal", "secret")
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"code": "gone"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok": true}`)
	})
	e := newEnv(t)
	a := &apis.API{Name: "m", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "POST", Path: "/items/{id}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "POST", URI: backend.URL + "/ignored",
			RequestParameters: map[string]string{
				"overwrite:header.X-User":    "$request.querystring.user",
				"append:header.X-Tag":        "static",
				"remove:header.X-Secret":     "''",
				"overwrite:header.X-Route":   "id=${request.path.id} stage=${context.stage} env=${stageVariables.env}",
				"overwrite:querystring.page": "$request.body.paging.page",
				"remove:querystring.debug":   "''",
				"append:querystring.user":    "${request.header.X-Extra}",
				"overwrite:path":             "/v2${request.path}",
				"overwrite:header.X-Absent":  "$request.header.X-Nobody-Sent-This",
			},
			ResponseParameters: map[string]map[string]string{
				"200": {"overwrite:header.X-Backend": "$response.header.X-Server", "append:header.X-Stage": "$context.stage",
					"remove:header.X-Internal": "''"},
				"404": {"overwrite:statuscode": "410", "overwrite:header.X-Code": "$response.body.code"},
			},
		},
	}}}}
	id := e.deploy(a, "dev", map[string]string{"env": "test"})
	r := e.do("POST", "/"+id+"/dev/items/42?user=ann&debug=1", strings.NewReader(`{"paging": {"page": 3}}`),
		"X-Tag", "client", "X-Secret", "s3cret", "X-Extra", "bob", "Content-Type", "application/json")
	if r.status != 200 || r.body != `{"ok": true}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := seen()
	if got.path != "/v2/items/42" {
		t.Errorf("path %q, want /v2/items/42 (overwrite:path)", got.path)
	}
	if got.query != "page=3&user=ann&user=bob" {
		t.Errorf("query %q", got.query)
	}
	for name, want := range map[string]string{"X-User": "ann", "X-Tag": "client,static", "X-Secret": "", "X-Route": "id=42 stage=dev env=test", "X-Absent": ""} {
		if g := strings.Join(got.header.Values(name), ","); g != want {
			t.Errorf("backend header %s = %q, want %q", name, g, want)
		}
	}
	if r.header.Get("X-Backend") != "backend-7" || r.header.Get("X-Stage") != "dev" || r.header.Get("X-Internal") != "" || r.header.Get("X-Server") != "backend-7" {
		t.Errorf("response headers %v", r.header)
	}
	// A 404 becomes 410 with a header from the body.
	r = e.do("POST", "/"+id+"/dev/items/missing", strings.NewReader(`{}`))
	if r.status != 410 || r.header.Get("X-Code") != "gone" || r.header.Get("X-Internal") != "secret" {
		t.Fatalf("404 mapping: %d %v", r.status, r.header)
	}
}

func TestHTTPAPIParameterMappingFunction(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var event events.APIGatewayV2HTTPRequest
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		event = events.APIGatewayV2HTTPRequest{}
		_ = json.Unmarshal(req.Payload, &event)
		return &invoker.Result{Payload: []byte(`{"statusCode": 201, "headers": {"x-fn": "v1"}, "body": "made"}`)}, nil
	}
	a := &apis.API{Name: "f", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "POST", Path: "/things", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", PayloadFormatVersion: "2.0",
			RequestParameters: map[string]string{"overwrite:header.x-tenant": "$stageVariables.tenant", "overwrite:querystring.mode": "mapped",
				"overwrite:header.x-request": "$context.requestId"},
			ResponseParameters: map[string]map[string]string{"201": {"overwrite:statuscode": "202", "overwrite:header.x-fn-copy": "$response.header.x-fn"}},
		},
	}}}}
	id := e.deploy(a, "dev", map[string]string{"tenant": "acme"})
	r := e.do("POST", "/"+id+"/dev/things?mode=client", strings.NewReader(`{}`), "X-Tenant", "evil")
	if r.status != 202 || r.body != "made" || r.header.Get("X-Fn-Copy") != "v1" {
		t.Fatalf("%d %q %v", r.status, r.body, r.header)
	}
	mu.Lock()
	defer mu.Unlock()
	if event.Headers["x-tenant"] != "acme" || event.QueryStringParameters["mode"] != "mapped" {
		t.Errorf("event headers %v query %v", event.Headers, event.QueryStringParameters)
	}
	// An HTTP API's $context.requestId is its apigw-requestid, the event's.
	if id := event.RequestContext.RequestID; id == "" || event.Headers["x-request"] != id || r.header.Get("Apigw-Requestid") != id {
		t.Errorf("$context.requestId mapped as %q; the event's requestId is %q, apigw-requestid %q", event.Headers["x-request"], id, r.header.Get("Apigw-Requestid"))
	}
}

func TestRESTHTTPProxyRequestParameters(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	e := newEnv(t)
	a := &apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/p/{id}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/q/{id}",
			RequestParameters: map[string]string{
				"integration.request.path.id":             "method.request.path.id",
				"integration.request.header.X-Api":        "'fixed'",
				"integration.request.header.X-From-Query": "method.request.querystring.from",
				"integration.request.querystring.stage":   "context.stage",
			},
		},
	}}}}
	id := e.deploy(a, "dev", nil)
	if r := e.do("GET", "/"+id+"/dev/p/9?from=cli", nil, "X-Api", "client-value"); r.status != 200 || r.body != "ok" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := seen()
	if got.path != "/q/9" || got.header.Get("X-Api") != "fixed" || got.header.Get("X-From-Query") != "cli" || got.query != "from=cli&stage=dev" {
		t.Fatalf("backend saw %+v", got)
	}
}

func TestParameterMappingRefused(t *testing.T) {
	svc := newEnv(t).svc
	for name, c := range map[string]struct {
		protocol string
		in       apis.Integration
	}{
		"reserved header":      {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", RequestParameters: map[string]string{"overwrite:header.Authorization": "x"}}},
		"unknown action":       {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", RequestParameters: map[string]string{"replace:header.X": "x"}}},
		"unknown source":       {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", RequestParameters: map[string]string{"overwrite:header.X": "$method.request.header.y"}}},
		"REST style on HTTP":   {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", RequestParameters: map[string]string{"integration.request.header.X": "'x'"}}},
		"path of a function":   {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", RequestParameters: map[string]string{"overwrite:path": "/x"}}},
		"bad status key":       {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", ResponseParameters: map[string]map[string]string{"2xx": {"overwrite:statuscode": "200"}}}},
		"bad status value":     {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", ResponseParameters: map[string]map[string]string{"200": {"overwrite:statuscode": "ok"}}}},
		"request ref in reply": {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", ResponseParameters: map[string]map[string]string{"200": {"overwrite:header.X": "$request.header.y"}}}},
		"bad JSON path":        {apis.ProtocolHTTP, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", RequestParameters: map[string]string{"overwrite:header.X": "$request.body.a[?("}}},
		"responses on REST":    {apis.ProtocolREST, apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", ResponseParameters: map[string]map[string]string{"200": {"overwrite:statuscode": "201"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			in := c.in
			_, err := svc.Create(context.Background(), &apis.API{Name: "x", Protocol: c.protocol, Definition: apis.Definition{
				Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: &in}}}})
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestHTTPAPIParameterMappingUnbraced: a reference written without braces
// after text is evaluated, running to the end of the value as in API
// Gateway's selection expressions (AWS's own answers overwrite the path with
// "/$request.path.proxy"); one that would run into more text is refused when
// saved, with the braced form to write, never sent literally.
func TestHTTPAPIParameterMappingUnbraced(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	e := newEnv(t)
	a := &apis.API{Name: "u", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/v1/{p}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL,
			RequestParameters: map[string]string{
				"overwrite:path":              "/$request.path.p",
				"overwrite:header.X-Mix":      "pre-$request.header.x-src",
				"overwrite:header.X-Stage":    "stage=$context.stage",
				"overwrite:header.X-Env":      "env:$stageVariables.env",
				"overwrite:querystring.q":     "${request.path.p}-$request.querystring.a",
				"overwrite:header.X-Price":    "costs $5",
				"overwrite:header.X-Body-Ref": "b=$request.body.k",
			},
		},
	}}}}
	id := e.deploy(a, "dev", map[string]string{"env": "test"})
	r := e.do("GET", "/"+id+"/dev/v1/abc?a=z", strings.NewReader(`{"k": "kv"}`), "x-src", "S", "Content-Type", "application/json")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := seen()
	if got.path != "/abc" || got.query != "a=z&q=abc-z" {
		t.Errorf("path %q query %q, want /abc and a=z&q=abc-z", got.path, got.query)
	}
	for name, want := range map[string]string{"X-Mix": "pre-S", "X-Stage": "stage=dev", "X-Env": "env:test", "X-Price": "costs $5", "X-Body-Ref": "b=kv"} {
		if g := got.header.Get(name); g != want {
			t.Errorf("backend header %s = %q, want %q", name, g, want)
		}
	}

	for value, hint := range map[string]string{
		"/$request.path.p/rest":                 "/${request.path.p}/rest",
		"$request.header.a-$request.header.b":   "${request.header.a-}$request.header.b",
		"/x/$request.path.p?y=1":                "/x/${request.path.p}?y=1",
		"$request.path/more":                    "${request.path}/more",
		"a $stageVariables.v b":                 "a ${stageVariables.v} b",
		"$request.body.a/b":                     "${request.body.a}/b",
		"/$request.path.p/${request.path.rest}": "/${request.path.p}/${request.path.rest}",
	} {
		in := apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example", RequestParameters: map[string]string{"overwrite:header.X": value}}
		_, err := e.svc.Create(context.Background(), &apis.API{Name: "x", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{
			Routes: []apis.Route{{Method: "GET", Path: "/x", Integration: &in}}}})
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "without braces") || !strings.Contains(err.Error(), hint) {
			t.Errorf("value %q: err = %v, want ErrInvalid naming %q", value, err, hint)
		}
	}
}

// TestMappedProxyConnectionNamedHeaders: an HTTP_PROXY integration with
// parameter mappings drops the headers a Connection header names, both ways, as
// one without mappings does (RFC 9110 7.6.1).
func TestMappedProxyConnectionNamedHeaders(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Secret")
		w.Header().Set("X-Secret", "s")
		w.Header().Set("X-Kept", "k")
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnv(t)
	for _, c := range []struct {
		protocol string
		params   map[string]string
	}{
		{apis.ProtocolREST, map[string]string{"integration.request.header.X-Api": "'fixed'"}},
		{apis.ProtocolHTTP, map[string]string{"overwrite:header.X-Api": "fixed"}},
	} {
		t.Run(c.protocol, func(t *testing.T) {
			a := &apis.API{Name: "hop", Protocol: c.protocol, Definition: apis.Definition{Routes: []apis.Route{{
				Method: "GET", Path: "/hp/{id}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET",
					URI: backend.URL + "/q", RequestParameters: c.params}}}}}
			id := e.deploy(a, "dev", nil)
			r := e.do("GET", "/"+id+"/dev/hp/a", nil, "Connection", "X-Hop", "X-Hop", "secret", "X-Other", "o")
			if r.status != 200 || r.body != "ok" {
				t.Fatalf("%d %s", r.status, r.body)
			}
			got := seen()
			if got.header.Get("X-Hop") != "" || got.header.Get("X-Api") != "fixed" || got.header.Get("X-Other") != "o" {
				t.Errorf("backend saw %v", got.header)
			}
			if r.header.Get("X-Secret") != "" || r.header.Get("X-Kept") != "k" {
				t.Errorf("client got %v", r.header)
			}
		})
	}
}
