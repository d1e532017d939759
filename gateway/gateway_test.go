package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// fakeResolver knows functions by name; aliases map "name:alias" to a version.
type fakeResolver struct {
	mu      sync.Mutex
	timeout int // seconds, the function's own timeout
	aliases map[string]string
}

func (f *fakeResolver) Resolve(_ context.Context, ref functions.Ref) (*functions.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ref.Name == "missing" {
		return nil, fmt.Errorf("function %q: %w", ref.Name, errdefs.ErrNotFound)
	}
	v := ref.Qualifier
	if v == "" {
		v = functions.Latest
	}
	if to, ok := f.aliases[ref.String()]; ok {
		v = to
	} else if !ref.IsVersion() {
		return nil, fmt.Errorf("alias %q: %w", ref, errdefs.ErrNotFound)
	}
	t := f.timeout
	if t == 0 {
		t = 3
	}
	return &functions.Config{FunctionName: ref.Name, Version: v, Timeout: t}, nil
}

// fakeInvoker runs handle (or echoes a 200 naming the version) and records calls.
type fakeInvoker struct {
	mu     sync.Mutex
	calls  []invoker.Request
	handle func(req invoker.Request) (*invoker.Result, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, req invoker.Request) (*invoker.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	h := f.handle
	f.mu.Unlock()
	if h != nil {
		return h(req)
	}
	body, _ := json.Marshal(map[string]string{"version": req.Function.Version})
	out, _ := json.Marshal(events.APIGatewayProxyResponse{StatusCode: 200, Body: string(body), Headers: map[string]string{"Content-Type": "application/json"}})
	return &invoker.Result{Payload: out, ExecutedVersion: req.Function.Version}, nil
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeInvoker) last() invoker.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1]
}

type env struct {
	t    *testing.T
	svc  *apis.Service
	gw   *Gateway
	srv  *httptest.Server
	inv  *fakeInvoker
	res  *fakeResolver
	logs *syncBuilder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	_, svc := gwtest.APIs(t)
	e := &env{t: t, svc: svc, inv: &fakeInvoker{}, res: &fakeResolver{aliases: map[string]string{"hello:live": "1", "hello:beta": "2"}}}
	e.logs = &syncBuilder{}
	e.gw = New(Config{}, svc, e.res, e.inv, slog.New(slog.NewTextHandler(e.logs, nil)))
	e.srv = httptest.NewServer(e.gw)
	t.Cleanup(e.srv.Close)
	return e
}

// deploy creates api and deploys it to stage with vars; it returns the api id.
func (e *env) deploy(a *apis.API, stage string, vars map[string]string) string {
	e.t.Helper()
	ctx := context.Background()
	created, err := e.svc.Create(ctx, a)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.svc.Deploy(ctx, created.ID, apis.DeployInput{StageName: stage, Variables: vars}); err != nil {
		e.t.Fatal(err)
	}
	return created.ID
}

type response struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(method, path string, body io.Reader, hdr ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-amzn-RequestId") == "" {
		e.t.Errorf("%s %s: no x-amzn-RequestId", method, path)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (r response) expectError(t *testing.T, status int, typ, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if got := r.header.Get("x-amzn-ErrorType"); got != typ {
		t.Errorf("x-amzn-ErrorType %q, want %q", got, typ)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(r.body), &m); err != nil || m["message"] != message || len(m) != 1 {
		t.Errorf("body %s, want {\"message\": %q}", r.body, message)
	}
}

// syncBuilder is a strings.Builder safe for the logger's concurrent writes.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func helloAPI(protocol string) *apis.API {
	return &apis.API{Name: "hello", Protocol: protocol, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/hello", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:${stageVariables.alias}", HTTPMethod: "POST"}},
		{Method: "ANY", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:${stageVariables.alias}", HTTPMethod: "POST"}},
	}}}
}

func TestFunctionProxyStagesAndVariables(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(helloAPI(apis.ProtocolREST), "dev", map[string]string{"alias": "live"})
	if _, err := e.svc.CreateStage(context.Background(), id, apis.StageInput{Name: "prod", DeploymentID: mustStage(t, e.svc, id, "dev").DeploymentID, Variables: map[string]string{"alias": "beta"}}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/"+id+"/dev/hello", nil); r.status != 200 || !strings.Contains(r.body, `"version":"1"`) {
		t.Fatalf("dev: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/"+id+"/prod/hello", nil); r.status != 200 || !strings.Contains(r.body, `"version":"2"`) {
		t.Fatalf("prod: %d %s", r.status, r.body)
	}
	if got := e.inv.last().InvokedARN; got != functions.ARN("hello", "beta") {
		t.Errorf("invoked ARN %s", got)
	}
	// A variable change takes effect at once.
	if _, err := e.svc.UpdateStage(context.Background(), id, "dev", apis.StagePatch{SetVariables: map[string]string{"alias": "beta"}}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/"+id+"/dev/hello", nil); !strings.Contains(r.body, `"version":"2"`) {
		t.Fatalf("after set-var: %s", r.body)
	}
	// Host-based URL.
	req, _ := http.NewRequest("GET", e.srv.URL+"/prod/hello", nil)
	req.Host = id + ".execute-api.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"version":"2"`) {
		t.Fatalf("host-based: %d %s", resp.StatusCode, b)
	}
}

func mustStage(t *testing.T, svc *apis.Service, id, name string) *apis.Stage {
	t.Helper()
	st, err := svc.GetStage(context.Background(), id, name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestMissingStageVariableIs500AndLogged(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(helloAPI(apis.ProtocolREST), "dev", nil)
	e.do("GET", "/"+id+"/dev/hello", nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	if !strings.Contains(e.logs.String(), "alias") || !strings.Contains(e.logs.String(), "level=ERROR") {
		t.Fatalf("operator log lacks the missing variable: %s", e.logs.String())
	}
	if len(e.inv.calls) != 0 {
		t.Fatalf("invoked despite the missing variable")
	}
}

// TestMissingFunctionNamesTheStageVariable: a stage variable that names a
// function or alias that does not exist answers AWS's 500, and the server log
// says which function and which stage variable.
func TestMissingFunctionNamesTheStageVariable(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(helloAPI(apis.ProtocolREST), "dev", map[string]string{"alias": "nope"})
	e.do("GET", "/"+id+"/dev/hello", nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	logs := e.logs.String()
	for _, want := range []string{"level=ERROR", "resolve hello:nope", `with stage variable alias=\"nope\" of stage dev`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the server log lacks %q:\n%s", want, logs)
		}
	}
}

func TestGatewayErrors(t *testing.T) {
	e := newEnv(t)
	rest := e.deploy(helloAPI(apis.ProtocolREST), "dev", map[string]string{"alias": "live"})
	httpAPI := &apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/pets/{id}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}},
	}}}
	httpID := e.deploy(httpAPI, "dev", nil)

	cases := []struct {
		name         string
		handle       func(req invoker.Request) (*invoker.Result, error)
		method, path string
		body         io.Reader
		status       int
		typ, message string
	}{
		{name: "REST unknown route", method: "POST", path: "/" + rest + "/dev/", status: 403, typ: "MissingAuthenticationTokenException", message: "Missing Authentication Token"},
		{name: "REST unknown stage", method: "GET", path: "/" + rest + "/nostage/hello", status: 403, typ: "MissingAuthenticationTokenException", message: "Missing Authentication Token"},
		{name: "HTTP unknown route", method: "GET", path: "/" + httpID + "/dev/cats", status: 404, typ: "NotFoundException", message: "Not Found"},
		{name: "HTTP unknown stage", method: "GET", path: "/" + httpID + "/prod/pets/1", status: 404, typ: "NotFoundException", message: "Not Found"},
		{name: "unknown api", method: "GET", path: "/abcdefghij/dev/hello", status: 404, typ: "NotFoundException", message: "Not Found"},
		{name: "function error", method: "GET", path: "/" + rest + "/dev/hello", status: 502, typ: "InternalServerErrorException", message: "Internal server error",
			handle: func(invoker.Request) (*invoker.Result, error) {
				return &invoker.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`)}, nil
			}},
		{name: "malformed result", method: "GET", path: "/" + rest + "/dev/hello", status: 502, typ: "InternalServerErrorException", message: "Internal server error",
			handle: func(invoker.Request) (*invoker.Result, error) {
				return &invoker.Result{Payload: []byte(`{"status": 200}`)}, nil
			}},
		{name: "string status", method: "GET", path: "/" + rest + "/dev/hello", status: 502, typ: "InternalServerErrorException", message: "Internal server error",
			handle: func(invoker.Request) (*invoker.Result, error) {
				return &invoker.Result{Payload: []byte(`{"statusCode": "x"}`)}, nil
			}},
		{name: "non-string header", method: "GET", path: "/" + rest + "/dev/hello", status: 502, typ: "InternalServerErrorException", message: "Internal server error",
			handle: func(invoker.Request) (*invoker.Result, error) {
				return &invoker.Result{Payload: []byte(`{"statusCode": 200, "headers": {"a": 1}}`)}, nil
			}},
		{name: "not json", method: "GET", path: "/" + rest + "/dev/hello", status: 502, typ: "InternalServerErrorException", message: "Internal server error",
			handle: func(invoker.Request) (*invoker.Result, error) { return &invoker.Result{Payload: []byte(`hello`)}, nil }},
		{name: "integration timeout", method: "GET", path: "/" + rest + "/dev/hello", status: 504, typ: "IntegrationTimeoutException", message: "Endpoint request timed out",
			handle: func(invoker.Request) (*invoker.Result, error) {
				return &invoker.Result{FunctionError: "Unhandled", TimedOut: true, CallerTimeout: true, Payload: []byte(`{"errorMessage":"timed out"}`)}, nil
			}},
		{name: "integration timeout while queued", method: "GET", path: "/" + rest + "/dev/hello", status: 504, typ: "IntegrationTimeoutException", message: "Endpoint request timed out",
			handle: func(invoker.Request) (*invoker.Result, error) {
				return nil, errdefs.New(errdefs.ErrTimeout, "ServiceException", "the caller's timeout (29s) passed while the call waited for a sandbox")
			}},
		{name: "function's own timeout", method: "GET", path: "/" + rest + "/dev/hello", status: 502, typ: "InternalServerErrorException", message: "Internal server error",
			handle: func(invoker.Request) (*invoker.Result, error) {
				return &invoker.Result{FunctionError: "Unhandled", TimedOut: true, Payload: []byte(`{"errorMessage":"Task timed out after 3.00 seconds"}`)}, nil
			}},
		{name: "throttled", method: "GET", path: "/" + rest + "/dev/hello", status: 429, typ: "TooManyRequestsException", message: "Too Many Requests",
			handle: func(invoker.Request) (*invoker.Result, error) {
				return nil, fmt.Errorf("limit: %w", errdefs.ErrThrottled)
			}},
		{name: "too large", method: "POST", path: "/" + rest + "/dev/upload", body: strings.NewReader(strings.Repeat("x", DefaultMaxBodyBytes+1)), status: 413, typ: "RequestTooLargeException", message: "Request Too Long"},
		{name: "bad query encoding", method: "GET", path: "/" + rest + "/dev/hello?a=%zz", status: 400, typ: "BadRequestException", message: "Bad Request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.inv.mu.Lock()
			e.inv.handle = tc.handle
			e.inv.mu.Unlock()
			e.do(tc.method, tc.path, tc.body).expectError(t, tc.status, tc.typ, tc.message)
		})
	}
}

// TestDeadlineIsTheIntegrationTimeout checks that the invoker is given the
// integration timeout, which bounds the whole call, the wait for a sandbox
// included, even where the function's own timeout is shorter: that one bounds
// the function's run (a function error, 502), not the call (504).
func TestDeadlineIsTheIntegrationTimeout(t *testing.T) {
	e := newEnv(t)
	a := helloAPI(apis.ProtocolREST)
	a.Routes[0].Integration.TimeoutInMillis = 1500
	id := e.deploy(a, "dev", map[string]string{"alias": "live"})
	e.do("GET", "/"+id+"/dev/hello", nil)
	if got := e.inv.last().Timeout; got != 1500*time.Millisecond {
		t.Fatalf("timeout %s, want 1.5s", got)
	}
	e.res.mu.Lock()
	e.res.timeout = 1
	e.res.mu.Unlock()
	e.do("GET", "/"+id+"/dev/hello", nil)
	if got := e.inv.last().Timeout; got != 1500*time.Millisecond {
		t.Fatalf("timeout %s with a function timeout of 1s, want the integration's 1.5s", got)
	}
}

func TestProxyResponseShapes(t *testing.T) {
	e := newEnv(t)
	restID := e.deploy(helloAPI(apis.ProtocolREST), "dev", map[string]string{"alias": "live"})
	httpID := e.deploy(helloAPI(apis.ProtocolHTTP), "dev", map[string]string{"alias": "live"})
	set := func(payload string) {
		e.inv.mu.Lock()
		e.inv.handle = func(invoker.Request) (*invoker.Result, error) { return &invoker.Result{Payload: []byte(payload)}, nil }
		e.inv.mu.Unlock()
	}
	set(`{"statusCode": 201, "headers": {"X-One": "a", "X-Two": "b"}, "multiValueHeaders": {"X-Two": ["c", "d"]}, "body": "aGk=", "isBase64Encoded": true}`)
	r := e.do("GET", "/"+restID+"/dev/hello", nil)
	// A REST API without binary media types answers the base64 text.
	if r.status != 201 || r.body != "aGk=" || r.header.Get("X-One") != "a" || strings.Join(r.header.Values("X-Two"), ",") != "c,d" {
		t.Fatalf("v1: %d %q %v", r.status, r.body, r.header)
	}
	set(`{"hello": "world"}`)
	r = e.do("GET", "/"+httpID+"/dev/hello", nil)
	if r.status != 200 || r.body != `{"hello": "world"}` || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("v2 inferred: %d %q %v", r.status, r.body, r.header)
	}
	set(`"just a string"`)
	if r = e.do("GET", "/"+httpID+"/dev/hello", nil); r.status != 200 || r.body != `"just a string"` {
		t.Fatalf("v2 string: %d %q", r.status, r.body)
	}
	set(`{"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"], "body": "ok"}`)
	r = e.do("GET", "/"+httpID+"/dev/hello", nil)
	if got := r.header.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=1; Path=/" {
		t.Fatalf("cookies: %v", got)
	}
	set(`{"hello": "world"}`) // a 1.0 result without statusCode is malformed
	e.do("GET", "/"+restID+"/dev/hello", nil).expectError(t, 502, "InternalServerErrorException", "Internal server error")
}

func TestMockIntegration(t *testing.T) {
	e := newEnv(t)
	a := &apis.API{Name: "m", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/mock", Integration: &apis.Integration{
			Type:             apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 202}`},
			Responses: map[string]apis.IntegrationResponse{
				"2\\d{2}": {StatusCode: "202", ResponseTemplates: map[string]string{"application/json": `{"mocked": true}`},
					ResponseParameters: map[string]string{"method.response.header.X-Mock": "'yes'"}},
				"default": {StatusCode: "500"},
			},
		},
	}}}}
	id := e.deploy(a, "dev", nil)
	r := e.do("GET", "/"+id+"/dev/mock", nil)
	if r.status != 202 || r.body != `{"mocked": true}` || r.header.Get("X-Mock") != "yes" {
		t.Fatalf("mock: %d %q %v", r.status, r.body, r.header)
	}
}

// TestMockStatusCodeNotAStatus: a MOCK request template whose statusCode is not
// a status is the API's configuration error, a 500, as API Gateway answers it
// ("statusCode should be an integer which defined in request template"), and
// so is a template that renders no statusCode or no JSON; a MOCK without a
// request template answers its default response.
func TestMockStatusCodeNotAStatus(t *testing.T) {
	e := newEnv(t)
	route := func(path, tmpl string) apis.Route {
		return apis.Route{Method: "POST", Path: path, Integration: &apis.Integration{
			Type: apis.IntegrationMock, RequestTemplates: map[string]string{"application/json": tmpl},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `ok`}}},
		}}
	}
	a := &apis.API{Name: "m", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		route("/static", `{"statusCode": "two hundred"}`),
		route("/dynamic", `{"statusCode": $input.json('$.s')}`),
		route("/none", `{}`),
		route("/other", `{"foo": 1}`),
		route("/nojson", `statusCode: 200`),
		{Method: "POST", Path: "/untemplated", Integration: &apis.Integration{Type: apis.IntegrationMock,
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `ok`}}}}},
	}}}
	id := e.deploy(a, "dev", nil)
	e.do("POST", "/"+id+"/dev/static", nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	e.do("POST", "/"+id+"/dev/dynamic", strings.NewReader(`{"s": true}`)).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	e.do("POST", "/"+id+"/dev/dynamic", strings.NewReader(`{"s": 99999}`)).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	if r := e.do("POST", "/"+id+"/dev/dynamic", strings.NewReader(`{"s": 200}`)); r.status != 200 || r.body != "ok" {
		t.Errorf("statusCode 200 = %d %q", r.status, r.body)
	}
	for _, p := range []string{"/none", "/other", "/nojson"} {
		e.do("POST", "/"+id+"/dev"+p, nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
	}
	if !strings.Contains(e.logs.String(), "Execution failed due to configuration error: statusCode should be an integer which defined in request template") {
		t.Errorf("API Gateway's reason is not in the log:\n%s", e.logs.String())
	}
	if r := e.do("POST", "/"+id+"/dev/untemplated", nil); r.status != 200 || r.body != "ok" {
		t.Errorf("no request template = %d %q", r.status, r.body)
	}
}

func TestHTTPProxyThroughStageVariable(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend-Path", r.URL.Path)
		w.Header().Set("X-Backend-Query", r.URL.RawQuery)
		w.Header().Set("X-Backend-XFF", r.Header.Get("X-Forwarded-For"))
		w.WriteHeader(207)
		b, _ := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s", r.Method, b)
	}))
	defer backend.Close()
	e := newEnv(t)
	a := &apis.API{Name: "p", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/pets/{id}/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "ANY",
			URI: "${stageVariables.backend}/v1/pets/{id}/{proxy}"}},
	}}}
	id := e.deploy(a, "dev", map[string]string{"backend": backend.URL})
	r := e.do("PUT", "/"+id+"/dev/pets/7/toys/ball?x=1&y=2", strings.NewReader("body!"))
	if r.status != 207 || r.body != "PUT body!" {
		t.Fatalf("proxy: %d %q", r.status, r.body)
	}
	if r.header.Get("X-Backend-Path") != "/v1/pets/7/toys/ball" || r.header.Get("X-Backend-Query") != "x=1&y=2" || r.header.Get("X-Backend-XFF") == "" {
		t.Fatalf("backend saw %v", r.header)
	}
	// An unreachable backend is a 500; a slow one past the timeout a 504.
	if _, err := e.svc.UpdateStage(context.Background(), id, "dev", apis.StagePatch{SetVariables: map[string]string{"backend": "http://127.0.0.1:1"}}); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/"+id+"/dev/pets/7/x", nil).expectError(t, 500, "InternalServerErrorException", "Internal server error")
}

func TestHTTPProxyTimeout(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer backend.Close()
	defer close(release)
	e := newEnv(t)
	a := &apis.API{Name: "p", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/slow", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL + "/slow", TimeoutInMillis: 50}},
	}}}
	id := e.deploy(a, "dev", nil)
	e.do("GET", "/"+id+"/dev/slow", nil).expectError(t, 504, "IntegrationTimeoutException", "Endpoint request timed out")
}

// lateTransport answers each request once its context has ended, as Go's
// transport may: it hands over a response that raced the request's
// cancellation (one the cancellation drew from a TLS backend, say).
type lateTransport struct{}

func (lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Length": {"0"}}, Body: http.NoBody, Request: r}, nil
}

// An answer that comes after the integration timeout is a 504, on the
// reverse proxy's path, the buffered HTTP integration's, and a WebSocket
// route's HTTP integration.
func TestLateAnswerIsATimeout(t *testing.T) {
	e := newEnv(t)
	e.gw.fast = nil // the reverse proxy's path
	e.gw.transport.RegisterProtocol("http", lateTransport{})
	a := &apis.API{Name: "late", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/proxy", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://late.test/p", TimeoutInMillis: 50}},
		{Method: "GET", Path: "/http", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: "http://late.test/h", TimeoutInMillis: 50,
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}}},
	}}}
	id := e.deploy(a, "dev", nil)
	for _, path := range []string{"/proxy", "/http"} {
		e.do("GET", "/"+id+"/dev"+path, nil).expectError(t, 504, "IntegrationTimeoutException", "Endpoint request timed out")
	}
	rc := &reqCtx{Context: &pipeline.Context{}}
	ev := &events.APIGatewayWebsocketProxyRequest{}
	if _, err := e.gw.wsHTTP(context.Background(), rc, &apis.Integration{Type: apis.IntegrationHTTP, URI: "http://late.test/ws", TimeoutInMillis: 50}, ev); !errors.Is(err, errTimeout) {
		t.Errorf("a WebSocket route's late answer: %v, want a timeout", err)
	}
}

func TestHTTPIntegrationPassThrough(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(404)
		_, _ = fmt.Fprintf(w, "%s got %s", r.Method, b)
	}))
	defer backend.Close()
	e := newEnv(t)
	a := &apis.API{Name: "p", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/x", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "PUT", URI: backend.URL + "/y",
			Responses: map[string]apis.IntegrationResponse{"4\\d{2}": {StatusCode: "400"}, "default": {StatusCode: "200"}}}},
	}}}
	id := e.deploy(a, "dev", nil)
	r := e.do("POST", "/"+id+"/dev/x", strings.NewReader("data"))
	if r.status != 400 || r.body != "PUT got data" || r.header.Get("Content-Type") != "text/plain" {
		t.Fatalf("http: %d %q %v", r.status, r.body, r.header)
	}
}

func TestRedeployAndRollback(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := &apis.API{Name: "m", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/v", Integration: mockBody(`one`)},
	}}}
	id := e.deploy(a, "dev", nil)
	if r := e.do("GET", "/"+id+"/dev/v", nil); r.body != "one" {
		t.Fatalf("first: %q", r.body)
	}
	if _, err := e.svc.Modify(ctx, id, func(a *apis.API) error { a.Routes[0].Integration = mockBody("two"); return nil }); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/"+id+"/dev/v", nil); r.body != "one" {
		t.Fatalf("undeployed change served: %q", r.body)
	}
	if _, _, err := e.svc.Deploy(ctx, id, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/"+id+"/dev/v", nil); r.body != "two" {
		t.Fatalf("redeploy: %q", r.body)
	}
	if _, err := e.svc.Rollback(ctx, id, "dev", ""); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/"+id+"/dev/v", nil); r.body != "one" {
		t.Fatalf("rollback: %q", r.body)
	}
}

func mockBody(body string) *apis.Integration {
	return &apis.Integration{Type: apis.IntegrationMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
		Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": body}}}}
}

func TestDefaultStageOfHTTPAPI(t *testing.T) {
	e := newEnv(t)
	a := &apis.API{Name: "d", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Path: apis.RouteDefault, Integration: mockBody("default route")},
	}}}
	id := e.deploy(a, apis.RouteDefault, nil)
	if r := e.do("GET", "/"+id+"/any/path", nil); r.status != 200 || r.body != "default route" {
		t.Fatalf("$default: %d %q", r.status, r.body)
	}
}

func TestHTTPProxyBodyLimit(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer backend.Close()
	e := newEnv(t)
	a := &apis.API{Name: "p", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/up", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL + "/up"}},
	}}}
	id := e.deploy(a, "dev", nil)
	// A chunked body (no Content-Length) over the limit is cut off at 10 MB.
	pr, pw := io.Pipe()
	go func() {
		chunk := []byte(strings.Repeat("x", 1<<20))
		for i := 0; i < 11; i++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	e.do("POST", "/"+id+"/dev/up", pr).expectError(t, 413, "RequestTooLargeException", "Request Too Long")
}
