package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestTemplateContextWritesDoNotReachParameterMappings: what a request
// template writes into $context (but requestOverride) stays in the template:
// requestParameters from context.identity.sourceIp, context.requestId and
// context.authorizer.principalId read the request's own values, as
// stageVariables.X mappings read the stage's whatever the template sets
// (r-vtlval29 #6: the backend got X-Ip 6.6.6.6, X-Rid spoof-id, X-Pid admin).
// The template still sees its own writes, and $context.requestOverride still
// applies.
func TestTemplateContextWritesDoNotReachParameterMappings(t *testing.T) {
	var mu sync.Mutex
	var seen http.Header
	var seenBody string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, seenBody = r.Header.Clone(), string(b)
		mu.Unlock()
		w.WriteHeader(200)
	}))
	defer backend.Close()
	a := &apis.API{Name: "ctxw", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "POST", Path: "/sp",
		Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST", URI: backend.URL + "/sp",
			RequestParameters: map[string]string{
				"integration.request.header.X-Ip":  "context.identity.sourceIp",
				"integration.request.header.X-Rid": "context.requestId",
				"integration.request.header.X-Pid": "context.authorizer.principalId",
				"integration.request.header.X-Stv": "stageVariables.p",
			},
			RequestTemplates: map[string]string{"application/json": `#set($d = $context.identity.put("sourceIp", "6.6.6.6"))` +
				`#set($context.requestId = "spoof-id")#set($context.authorizer.principalId = "admin")#set($stageVariables.p = "changed")` +
				`#set($context.requestOverride.header.X-Ovr = "ovr")` +
				`$context.identity.sourceIp $context.requestId $context.authorizer.principalId $stageVariables.p`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}},
	}}}}
	e := newEnv(t)
	id := e.deploy(a, "dev", map[string]string{"p": "orig"})
	r := e.do("POST", "/"+id+"/dev/sp", strings.NewReader(`{}`), "Content-Type", "application/json")
	if r.status != 200 {
		t.Fatalf("%d %q", r.status, r.body)
	}
	mu.Lock()
	h, body := seen, seenBody
	mu.Unlock()
	if body != "6.6.6.6 spoof-id admin changed" {
		t.Errorf("the template rendered %q, want its own writes", body)
	}
	rid := r.header.Get("x-amzn-RequestId")
	for name, want := range map[string]string{"X-Ip": "127.0.0.1", "X-Rid": rid, "X-Pid": "", "X-Stv": "orig", "X-Ovr": "ovr"} {
		if got := h.Get(name); got != want {
			t.Errorf("the backend got %s %q, want %q", name, got, want)
		}
	}
}

// TestTemplateContextWritesDoNotReachResponseParameters: responseParameters
// from context.* read the request's own $context too, not what the request
// template wrote there: the client got X-Ip 6.6.6.6, X-Rid spoof-id and
// X-Stage prod from a template's writes (the same fix as for
// requestParameters).
func TestTemplateContextWritesDoNotReachResponseParameters(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(200)
	}))
	defer backend.Close()
	const tmpl = `#set($d = $context.identity.put("sourceIp", "6.6.6.6"))#set($context.requestId = "spoof-id")#set($context.stage = "prod")`
	params := map[string]string{
		"method.response.header.X-Ip":    "context.identity.sourceIp",
		"method.response.header.X-Rid":   "context.requestId",
		"method.response.header.X-Stage": "context.stage",
	}
	headers := []string{"X-Ip", "X-Rid", "X-Stage"}
	a := &apis.API{Name: "ctxr", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "POST", Path: "/mock",
		Responses: map[string]apis.MethodResponse{"200": {Headers: headers}},
		Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": tmpl + `{"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseParameters: params}}},
	}, {
		Method: "POST", Path: "/http",
		Responses: map[string]apis.MethodResponse{"200": {Headers: headers}},
		Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST", URI: backend.URL + "/http",
			RequestTemplates: map[string]string{"application/json": tmpl + `{}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseParameters: params}}},
	}}}}
	e := newEnv(t)
	id := e.deploy(a, "dev", nil)
	for _, path := range []string{"/mock", "/http"} {
		r := e.do("POST", "/"+id+"/dev"+path, strings.NewReader(`{}`), "Content-Type", "application/json")
		if r.status != 200 {
			t.Fatalf("%s: %d %q", path, r.status, r.body)
		}
		rid := r.header.Get("x-amzn-RequestId")
		for name, want := range map[string]string{"X-Ip": "127.0.0.1", "X-Rid": rid, "X-Stage": "dev"} {
			if got := r.header.Get(name); got != want {
				t.Errorf("%s: the client got %s %q, want %q", path, name, got, want)
			}
		}
	}
}
