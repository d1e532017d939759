package execlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/gateway/responses"
	"github.com/portico-dev/portico/internal/redact"
)

// deployed is a stage of a REST API with POST /pets and GET /pets/{id}, whose
// "*/*" method settings log at level (none when "").
func deployed(level string, trace bool) *pipeline.Deployed {
	st := &apis.Stage{APIID: "abcdefghij", Name: "dev"}
	if level != "" {
		st.MethodSettings = map[string]apis.MethodSetting{"*/*": {LoggingLevel: level, DataTraceEnabled: trace}}
	}
	dep := &apis.Deployment{API: apis.API{ID: "abcdefghij", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/pets", RouteKey: "POST /pets"},
		{Method: "GET", Path: "/pets/{id}", RouteKey: "GET /pets/{id}"},
	}}}}
	return &pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API}
}

// routeStub matches the deployment's route of the request's method, as the
// gateway's route stage does (Context.Route points into API.Routes).
type routeStub struct{}

func (routeStub) Name() string { return "route" }
func (routeStub) Order() int   { return pipeline.OrderRoute }
func (routeStub) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			for i := range d.API.Routes {
				if rt := &d.API.Routes[i]; rt.Method == r.Method {
					c.Route, c.ResourcePath, c.RouteKey = rt, rt.Path, rt.RouteKey
				}
			}
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// traceHeaders adds trace headers to the request, as the tracing stage does
// between the execution log's two stages.
type traceHeaders struct{}

func (traceHeaders) Name() string { return "tracing" }
func (traceHeaders) Order() int   { return pipeline.OrderObserve - 1 }
func (traceHeaders) Compile(*pipeline.Deployed) (pipeline.Middleware, error) {
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			r.Header.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=b7ad6b7169203331;Sampled=1")
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// run serves one POST request (with secrets in its headers) and returns the
// log records as JSON objects; no secret may reach them.
func run(t *testing.T, d *pipeline.Deployed, terminal pipeline.HandlerFunc) []map[string]any {
	t.Helper()
	req := httptest.NewRequest("POST", "/abcdefghij/dev/pets", strings.NewReader(`{"name":"rex"}`))
	req.Header.Set("Authorization", "Bearer sekrit-token")
	req.Header.Set("X-Api-Key", "sekrit-key")
	req.Header.Set("Cookie", "session=sekrit-cookie")
	req.Header.Set("X-Trace-Me", "visible")
	return serve(t, d, req, terminal)
}

// serve serves req through both execution-log stages, a route stage and
// responses, and returns the log records; "sekrit" may not reach them.
func serve(t *testing.T, d *pipeline.Deployed, req *http.Request, terminal pipeline.HandlerFunc, extra ...pipeline.Stage) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stages := append([]pipeline.Stage{New(log), NewRequestStage(log), responses.New(nil), routeStub{}}, extra...)
	h, err := pipeline.Chain(d, stages, terminal)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ServeRequest(httptest.NewRecorder(), req, &pipeline.Context{RequestID: "req-42", APIID: "abcdefghij", Stage: "dev"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "sekrit") {
		t.Errorf("a secret reached the log:\n%s", buf.String())
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func echo(w http.ResponseWriter, r *http.Request, _ *pipeline.Context) error {
	b, _ := io.ReadAll(r.Body) // the integration still gets the body the trace read
	w.Header().Set("Set-Cookie", "id=sekrit-set")
	_, err := w.Write(append([]byte("echo "), b...))
	return err
}

func fail(http.ResponseWriter, *http.Request, *pipeline.Context) error {
	return &pipeline.Error{Type: pipeline.Default5XX, Status: 502, Cause: io.ErrUnexpectedEOF}
}

func TestInfoWithDataTraceMasksSecrets(t *testing.T) {
	recs := run(t, deployed("INFO", true), echo)
	if len(recs) != 2 {
		t.Fatalf("records %v", recs)
	}
	req, done := recs[0], recs[1]
	if req["requestId"] != "req-42" || req["body"] != `{"name":"rex"}` {
		t.Errorf("request record %v", req)
	}
	hdr, _ := req["headers"].(map[string]any)
	if hdr["Authorization"] != "********" || hdr["X-Api-Key"] != "********" || hdr["Cookie"] != "********" || hdr["X-Trace-Me"] != "visible" {
		t.Errorf("request headers %v", hdr)
	}
	if done["requestId"] != "req-42" || done["status"] != float64(200) || done["responseBody"] != `echo {"name":"rex"}` {
		t.Errorf("completion record %v", done)
	}
	if rh, _ := done["responseHeaders"].(map[string]any); rh["Set-Cookie"] != "********" {
		t.Errorf("response headers %v", rh)
	}
}

func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		level   string
		h       pipeline.HandlerFunc
		records int
		last    string // level of the last record
	}{
		{"", echo, 0, ""},
		{"OFF", fail, 0, ""},
		{"ERROR", echo, 0, ""},
		{"ERROR", fail, 1, "ERROR"},
		{"INFO", echo, 2, "INFO"},
		{"info", fail, 2, "ERROR"},
	} {
		recs := run(t, deployed(tc.level, false), tc.h)
		if len(recs) != tc.records {
			t.Errorf("level %q: %d records, want %d: %v", tc.level, len(recs), tc.records, recs)
			continue
		}
		if tc.records > 0 {
			last := recs[len(recs)-1]
			if last["level"] != tc.last || last["requestId"] != "req-42" {
				t.Errorf("level %q: last record %v", tc.level, last)
			}
			if _, ok := last["headers"]; ok {
				t.Errorf("level %q without data trace logged headers", tc.level)
			}
		}
	}
}

// TestMethodSettingsOverrideStage: a method's own settings entry decides what
// its requests log, either way, as update-stage's
// /{resourcePath}/{METHOD}/logging/loglevel and /logging/dataTrace set it.
func TestMethodSettingsOverrideStage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]apis.MethodSetting
		records  int
		trace    bool // the method request has headers and a body
	}{
		{"stage traces, method off", map[string]apis.MethodSetting{
			"*/*": {LoggingLevel: "INFO", DataTraceEnabled: true}, "/pets/POST": {LoggingLevel: "OFF"}}, 0, false},
		{"stage traces, method INFO without trace", map[string]apis.MethodSetting{
			"*/*": {LoggingLevel: "INFO", DataTraceEnabled: true}, "/pets/POST": {LoggingLevel: "INFO"}}, 2, false},
		{"stage ERROR, method INFO", map[string]apis.MethodSetting{
			"*/*": {LoggingLevel: "ERROR"}, "/pets/POST": {LoggingLevel: "INFO"}}, 2, false},
		{"no stage entry, method traces", map[string]apis.MethodSetting{
			"/pets/POST": {LoggingLevel: "INFO", DataTraceEnabled: true}}, 2, true},
		{"another method's entry", map[string]apis.MethodSetting{
			"*/*": {LoggingLevel: "OFF"}, "/pets/{id}/GET": {LoggingLevel: "INFO", DataTraceEnabled: true}}, 0, false},
		{"entry without a level takes the stage's", map[string]apis.MethodSetting{
			"*/*": {LoggingLevel: "INFO"}, "/pets/POST": {CachingEnabled: true}}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deployed("", false)
			d.Stage.MethodSettings = tc.settings
			recs := run(t, d, echo)
			if len(recs) != tc.records {
				t.Fatalf("%d records, want %d: %v", len(recs), tc.records, recs)
			}
			if tc.records == 0 {
				return
			}
			req := recs[0]
			if req["msg"] != "execution: method request" || req["resource"] != "/pets" {
				t.Errorf("first record %v", req)
			}
			_, headers := req["headers"]
			_, body := req["body"]
			if headers != tc.trace || body != tc.trace {
				t.Errorf("method request %v: headers and body logged %v %v, want %v", req, headers, body, tc.trace)
			}
		})
	}
}

// TestMasksAuthorizerAndAPIKeyHeaders: the headers the API's authorizers read
// (a TOKEN authorizer's, a REQUEST authorizer's header sources) and an API key
// scheme's header are masked like Authorization.
func TestMasksAuthorizerAndAPIKeyHeaders(t *testing.T) {
	d := deployed("INFO", true)
	d.API.Authorizers = map[string]json.RawMessage{
		"tok": json.RawMessage(`{"type":"apiKey","name":"X-My-Token","in":"header","x-amazon-apigateway-authtype":"custom",
			"x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:authz","identitySource":"method.request.header.X-My-Token"}}`),
		"req": json.RawMessage(`{"type":"apiKey","name":"Unused","in":"header","x-amazon-apigateway-authtype":"custom",
			"x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz",
			"identitySource":"method.request.header.x-tenant-secret, method.request.querystring.q"}}`),
		"key": json.RawMessage(`{"type":"apiKey","name":"X-Partner-Key","in":"header"}`),
	}
	req := httptest.NewRequest("POST", "/abcdefghij/dev/pets?q=1", strings.NewReader(`{}`))
	req.Header.Set("X-My-Token", "sekrit-token")
	req.Header.Set("X-Tenant-Secret", "sekrit-tenant")
	req.Header.Set("X-Partner-Key", "sekrit-partner")
	req.Header.Set("X-Trace-Me", "visible")
	recs := serve(t, d, req, echo)
	if len(recs) != 2 {
		t.Fatalf("records %v", recs)
	}
	hdr, _ := recs[0]["headers"].(map[string]any)
	for _, h := range []string{"X-My-Token", "X-Tenant-Secret", "X-Partner-Key"} {
		if hdr[h] != "********" {
			t.Errorf("%s logged as %v", h, hdr[h])
		}
	}
	if hdr["X-Trace-Me"] != "visible" {
		t.Errorf("request headers %v", hdr)
	}
}

// TestLogsTheClientsHeaders: with tracing on, the method request's headers
// are the client's, without the trace headers the tracing stage adds.
func TestLogsTheClientsHeaders(t *testing.T) {
	d := deployed("INFO", true)
	d.Stage.TracingEnabled = true
	req := httptest.NewRequest("POST", "/abcdefghij/dev/pets", strings.NewReader(`{}`))
	req.Header.Set("X-Trace-Me", "visible")
	req.Header.Set("User-Agent", strings.Repeat("U", 50_000)) // obs20: cut as a body is
	var seen http.Header
	recs := serve(t, d, req, func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
		seen = r.Header
		return echo(w, r, c)
	}, traceHeaders{})
	if len(recs) != 2 {
		t.Fatalf("records %v", recs)
	}
	hdr, _ := recs[0]["headers"].(map[string]any)
	if hdr["X-Trace-Me"] != "visible" || hdr["Traceparent"] != nil || hdr["X-Amzn-Trace-Id"] != nil {
		t.Errorf("request headers %v, want the client's alone", hdr)
	}
	if ua, _ := hdr["User-Agent"].(string); ua != strings.Repeat("U", 1024)+" [TRUNCATED]" {
		t.Errorf("a 50 KB header is logged as %d bytes, want cut at 1 KB and marked", len(ua))
	}
	if seen.Get("Traceparent") == "" {
		t.Error("the integration did not get the trace headers")
	}
}

// records decodes the JSON log lines in buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(buf)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestWebSocketRouteSettingsDecideLogging: a WebSocket route dispatch logs as
// its route's routeSettings say, else as the stage's defaultRouteSettings
// ("*/*") say; INFO with data tracing logs the message body, ERROR only a
// failed dispatch.
func TestWebSocketRouteSettingsDecideLogging(t *testing.T) {
	var buf bytes.Buffer
	s := New(slog.New(slog.NewJSONHandler(&buf, nil)))
	st := &apis.Stage{APIID: "abcdefghij", Name: "dev", MethodSettings: map[string]apis.MethodSetting{
		"*/*":         {LoggingLevel: "ERROR"},
		"sendmessage": {LoggingLevel: "INFO", DataTraceEnabled: true},
		"quiet":       {LoggingLevel: "OFF"},
	}}
	dep := &apis.Deployment{API: apis.API{ID: "abcdefghij", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{Routes: []apis.Route{
		{RouteKey: "sendmessage"}, {RouteKey: "quiet"}, {RouteKey: "$default"},
	}}}}
	d := &pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API}
	ev := func(key string) *events.APIGatewayWebsocketProxyRequest {
		return &events.APIGatewayWebsocketProxyRequest{Body: `{"action":"` + key + `","text":"hi"}`,
			RequestContext: events.APIGatewayWebsocketProxyRequestContext{RouteKey: key, EventType: "MESSAGE", ConnectionID: "c1", RequestID: "r1", APIID: "abcdefghij", Stage: "dev"}}
	}

	done := s.LogWebSocket(d, &dep.API.Routes[0], ev("sendmessage"), &pipeline.WSOutcome{})
	if done == nil {
		t.Fatal("sendmessage at INFO: nothing to log")
	}
	done(&connections.Response{StatusCode: 200, Body: []byte("ok")}, nil)
	got := records(t, &buf)
	if len(got) != 2 || got[0]["msg"] != "execution: route request" || got[1]["msg"] != "execution: route completed" ||
		got[0]["body"] != `{"action":"sendmessage","text":"hi"}` || got[1]["responseBody"] != "ok" || got[0]["routeKey"] != "sendmessage" {
		t.Fatalf("sendmessage at INFO with data tracing logged %v", got)
	}

	if done := s.LogWebSocket(d, &dep.API.Routes[1], ev("quiet"), &pipeline.WSOutcome{}); done != nil {
		t.Fatal("a route at OFF under a stage at ERROR logs")
	}
	done = s.LogWebSocket(d, &dep.API.Routes[2], ev("$default"), &pipeline.WSOutcome{})
	if done == nil {
		t.Fatal("$default under the stage's ERROR: nothing to log")
	}
	done(&connections.Response{StatusCode: 200}, nil)
	if got := records(t, &buf); len(got) != 0 {
		t.Fatalf("a dispatch that succeeded at ERROR logged %v", got)
	}
	done = s.LogWebSocket(d, &dep.API.Routes[2], ev("$default"), &pipeline.WSOutcome{})
	done(nil, errors.New("integration failed"))
	if got := records(t, &buf); len(got) != 1 || got[0]["level"] != "ERROR" || got[0]["error"] != "integration failed" || got[0]["body"] != nil {
		t.Fatalf("a failed dispatch at ERROR logged %v", got)
	}
}

// TestHTTPAPIsHaveNoExecutionLogs: API Gateway has no execution logs for HTTP
// APIs; settings an older Portico stored for one log nothing.
func TestHTTPAPIsHaveNoExecutionLogs(t *testing.T) {
	d := deployed("INFO", true)
	d.API.Protocol = apis.ProtocolHTTP
	if p := planOf(d); p.some {
		t.Fatal("an HTTP API's stage logs executions")
	}
}

// echoEvent answers with the request's headers and body in a JSON document,
// as a function that returns its event does.
func echoEvent(w http.ResponseWriter, r *http.Request, _ *pipeline.Context) error {
	b, _ := io.ReadAll(r.Body)
	hs := map[string]string{}
	for k := range r.Header {
		hs[k] = r.Header.Get(k)
	}
	out, _ := json.Marshal(map[string]any{"headers": hs, "body": string(b)})
	w.Header().Set("Set-Cookie", "id=sekrit-set-cookie")
	_, err := w.Write(append(out, `,"cookie":"id=sekrit-set-cookie"`...))
	return err
}

// TestBodiesEchoingSecretsAreMasked: the values of the request's masked
// headers are masked in the logged bodies too (a function echoing its event,
// a client sending its token in the body as well), with the headers' mask,
// and so are secret parameters ("api_key=..."); the rest of each body is
// logged as it was.
func TestBodiesEchoingSecretsAreMasked(t *testing.T) {
	body := `{"token":"Bearer sekrit-jwt.aa\"bb","raw":"sekrit-jwt.aa\"bb","key":"sekrit-key-1","q":"?api_key=sekrit-param&x=1","n":"rex"}`
	req := httptest.NewRequest("POST", "/abcdefghij/dev/pets", strings.NewReader(body))
	req.Header.Set("Authorization", `Bearer sekrit-jwt.aa"bb`)
	req.Header.Set("X-Api-Key", "sekrit-key-1")
	req.Header.Set("Cookie", "session=sekrit-cookie-2; theme=dark")
	req.Header.Set("X-Amz-Security-Token", "sekrit-sts-3")
	req.Header.Set("X-Trace-Me", "visible")
	recs := serve(t, deployed("INFO", true), req, echoEvent)
	if len(recs) != 2 {
		t.Fatalf("records %v", recs)
	}
	wantReq := `{"token":"********","raw":"********","key":"********","q":"?api_key=********&x=1","n":"rex"}`
	if got := recs[0]["body"]; got != wantReq {
		t.Errorf("request body\n got %v\nwant %s", got, wantReq)
	}
	resp, _ := recs[1]["responseBody"].(string)
	for _, want := range []string{`"Authorization":"********"`, `"X-Api-Key":"********"`, `"X-Amz-Security-Token":"********"`,
		`"Cookie":"********"`, `"X-Trace-Me":"visible"`, `"cookie":"********"`, `\"n\":\"rex\"`} {
		if !strings.Contains(resp, want) {
			t.Errorf("response body lacks %s:\n%s", want, resp)
		}
	}
	for _, rec := range recs {
		for k, v := range rec {
			if s, ok := v.(string); ok && (strings.Contains(s, "REDACTED") || strings.Contains(s, "xxxxx")) {
				t.Errorf("%s masked in another style: %s", k, s)
			}
		}
	}
}

// TestSecretAcrossTheCutIsMasked: a secret the 1 KB cut splits is masked
// before the cut, so no prefix of it is logged.
func TestSecretAcrossTheCutIsMasked(t *testing.T) {
	req := httptest.NewRequest("POST", "/abcdefghij/dev/pets", strings.NewReader(strings.Repeat("a", maxTrace-6)+"sekrit-key-9 and more"))
	req.Header.Set("X-Api-Key", "sekrit-key-9")
	recs := serve(t, deployed("INFO", true), req, echo)
	want := strings.Repeat("a", maxTrace-6) + "******"
	for _, k := range []string{"body", "responseBody"} {
		rec := recs[0]
		if k == "responseBody" {
			rec = recs[1]
		}
		got, _ := rec[k].(string)
		if k == "responseBody" {
			got = strings.TrimPrefix(got, "echo ")
			want = strings.Repeat("a", maxTrace-6) + "*"
		}
		if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "* [TRUNCATED]") || strings.Contains(got, "sek") {
			t.Errorf("%s %q", k, got)
		}
	}
}

// TestWebSocketConnectBodiesMasked: $connect's masked header values are masked
// in its logged body, response body and error as well.
func TestWebSocketConnectBodiesMasked(t *testing.T) {
	var buf bytes.Buffer
	s := New(slog.New(slog.NewJSONHandler(&buf, nil)))
	d, dep := wsConnectDeployed()
	ev := &events.APIGatewayWebsocketProxyRequest{Headers: map[string]string{"Authorization": "Bearer sekrit-ws-1"}, Body: "tok=sekrit-ws-1",
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{RouteKey: "$connect", EventType: "CONNECT", ConnectionID: "c1", RequestID: "r1"}}
	done := s.LogWebSocket(d, &dep.API.Routes[0], ev, &pipeline.WSOutcome{})
	done(&connections.Response{StatusCode: 500, Body: []byte(`{"auth":"Bearer sekrit-ws-1"}`)}, errors.New("backend http://u:xxxxx@h/?k=xxxxx said sekrit-ws-1 api_key=sekrit-2"))
	got := records(t, &buf)
	if len(got) != 2 || got[0]["body"] != "tok=********" || got[1]["responseBody"] != `{"auth":"********"}` || got[1]["error"] != "backend http://u:********@h/?k=******** said ******** api_key=********" {
		t.Fatalf("logged %v", got)
	}
}

// TestIntegrationLatencyOnlyWhenOneRan is what the obs9 tester found: a
// refusal where no integration ran logged integrationLatencyMs=0, where the
// access log writes "-". The field is left out then.
func TestIntegrationLatencyOnlyWhenOneRan(t *testing.T) {
	ran := func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
		c.Integration.Ran = true
		return echo(w, r, c)
	}
	refused := func(http.ResponseWriter, *http.Request, *pipeline.Context) error {
		return &pipeline.Error{Type: pipeline.MissingAuthenticationToken, Status: 403, Message: "Missing Authentication Token"}
	}
	for _, tc := range []struct {
		name string
		h    pipeline.HandlerFunc
		want bool
	}{{"ran", ran, true}, {"refused", refused, false}} {
		recs := run(t, deployed("INFO", false), tc.h)
		if len(recs) == 0 {
			t.Fatalf("%s: no records", tc.name)
		}
		if _, ok := recs[len(recs)-1]["integrationLatencyMs"]; ok != tc.want {
			t.Errorf("%s: completion record %v: integrationLatencyMs present %v, want %v", tc.name, recs[len(recs)-1], ok, tc.want)
		}
	}
}

// echoQuery answers the request's query parameters as a Lambda proxy event
// holds them (multiValueQueryStringParameters) and its raw query string.
func echoQuery(w http.ResponseWriter, r *http.Request, _ *pipeline.Context) error {
	out, _ := json.Marshal(map[string]any{"multiValueQueryStringParameters": r.URL.Query(), "rawQueryString": r.URL.RawQuery})
	_, err := w.Write(out)
	return err
}

// TestQuerySecretsEchoedAreMasked: the values of the query parameters an
// authorizer or API key scheme reads, of SigV4 query authentication and
// api_key, and of a stage variable an authorizer reads are masked in the
// logged bodies like secret headers' values (obs11): a function echoing its
// event wrote them in its JSON, where only "name=value" was masked.
func TestQuerySecretsEchoedAreMasked(t *testing.T) {
	d := deployed("INFO", true)
	d.Variables = map[string]string{"authSecret": "sekrit-stagevar-5"}
	d.API.Authorizers = map[string]json.RawMessage{
		"req": json.RawMessage(`{"type":"apiKey","name":"Unused","in":"header","x-amazon-apigateway-authtype":"custom",
			"x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz",
			"identitySource":"method.request.querystring.token, stageVariables.authSecret"}}`),
		"key": json.RawMessage(`{"type":"apiKey","name":"partner","in":"query"}`),
	}
	req := httptest.NewRequest("POST", "/abcdefghij/dev/pets?token=sekrit-qtok-1&X-Amz-Signature=sekrit-sig-2&api_key=sekrit-ak-3&partner=sekrit+p%2F4&n=rex"+
		"&access_token=sekrit-at-6&client_secret=sekrit-cs-7&id_token=sekrit-it-8&refresh_token=sekrit-rt-9&password=sekrit-pw-10", // obs26: OAuth 2.0's too
		strings.NewReader(`{"again":"sekrit-qtok-1","s":"sekrit-stagevar-5"}`))
	recs := serve(t, d, req, echoQuery)
	if len(recs) != 2 {
		t.Fatalf("records %v", recs)
	}
	body, _ := recs[0]["body"].(string)
	resp, _ := recs[1]["responseBody"].(string)
	if body != `{"again":"********","s":"********"}` {
		t.Errorf("request body %s", body)
	}
	for _, s := range []string{body, resp} {
		if strings.Contains(s, "sekrit") {
			t.Errorf("a secret logged: %s", s)
		}
	}
	if !strings.Contains(resp, `"n":["rex"]`) || !strings.Contains(resp, `"token":["********"]`) || !strings.Contains(resp, "partner=********") {
		t.Errorf("response body %s", resp)
	}
}

// TestWebSocketConnectQuerySecretsMasked: a $connect authorizer's
// querystring identity source (the usual way to send a WebSocket token, which
// browsers cannot put in a header) and X-Amz-Signature are masked in the
// logged response body and error (obs11).
func TestWebSocketConnectQuerySecretsMasked(t *testing.T) {
	var buf bytes.Buffer
	s := New(slog.New(slog.NewJSONHandler(&buf, nil)))
	st := &apis.Stage{APIID: "abcdefghij", Name: "dev", MethodSettings: map[string]apis.MethodSetting{"*/*": {LoggingLevel: "INFO", DataTraceEnabled: true}}}
	dep := &apis.Deployment{API: apis.API{ID: "abcdefghij", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{Routes: []apis.Route{{RouteKey: "$connect"}}}}}
	dep.API.Authorizers = map[string]json.RawMessage{"ws": json.RawMessage(`{"type":"apiKey","name":"Unused","in":"header","x-amazon-apigateway-authtype":"custom",
			"x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz","identitySource":"route.request.querystring.token"}}`)}
	d := &pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API}
	q := map[string][]string{"token": {"WSQTOKSECRET_1"}, "X-Amz-Signature": {"WSSIGSECRET_2"}, "n": {"rex"}}
	ev := &events.APIGatewayWebsocketProxyRequest{MultiValueQueryStringParameters: q,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{RouteKey: "$connect", EventType: "CONNECT", ConnectionID: "c1", RequestID: "r1"}}
	if au, err := apis.ParseAuthorizer(apis.ProtocolWebSocket, "ws", dep.API.Authorizers["ws"]); err != nil || au == nil || au.IdentitySource[0] != "querystring.token" {
		t.Fatalf("authorizer %+v, %v", au, err)
	}
	done := s.LogWebSocket(d, &dep.API.Routes[0], ev, &pipeline.WSOutcome{})
	echoed, _ := json.Marshal(map[string]any{"multiValueQueryStringParameters": q})
	done(&connections.Response{StatusCode: 500, Body: echoed}, errors.New("authorizer said WSQTOKSECRET_1"))
	out := buf.String()
	if strings.Contains(out, "SECRET_") || !strings.Contains(out, `rex`) {
		t.Fatalf("logged %s", out)
	}
}

// authorizerKey sets the request's key as an authorizer with key source
// AUTHORIZER and the API key stage do: the authorizer's usageIdentifierKey,
// admitted as $context.identity.apiKey. No header of the request carries it.
type authorizerKey struct{}

func (authorizerKey) Name() string { return "authorize" }
func (authorizerKey) Order() int   { return pipeline.OrderAuthorize }
func (authorizerKey) Compile(*pipeline.Deployed) (pipeline.Middleware, error) {
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			c.Authorizer.UsageIdentifierKey = "sekrit-usage-key-0123456789"
			c.Identity.APIKey = c.Authorizer.UsageIdentifierKey
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// TestAuthorizerKeyMasked is keys18's finding 1: with key source AUTHORIZER,
// the admitted key ($context.identity.apiKey, the authorizer's
// usageIdentifierKey) was logged in clear in a response body that echoed it
// (a mapping template, a function returning its event). It is masked in the
// response's body and headers, as header keys are.
func TestAuthorizerKeyMasked(t *testing.T) {
	keyed := func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
		w.Header().Set("X-Key", "k="+c.Identity.APIKey)
		_, err := w.Write([]byte(`{"identity":{"apiKey":"` + c.Identity.APIKey + `"},"n":"rex"}`))
		return err
	}
	req := httptest.NewRequest("GET", "/abcdefghij/dev/pets/1", nil)
	recs := serve(t, deployed("INFO", true), req, keyed, authorizerKey{})
	if len(recs) != 2 || recs[1]["responseBody"] != `{"identity":{"apiKey":"********"},"n":"rex"}` {
		t.Fatalf("logged %v", recs)
	}
	if h, _ := recs[1]["responseHeaders"].(map[string]any); h["X-Key"] != "k=********" {
		t.Errorf("response headers %v", h)
	}
}

// TestWebSocketAuthorizerKeyMasked: the usageIdentifierKey $connect's
// authorizer named is masked in the route's logged response and error.
func TestWebSocketAuthorizerKeyMasked(t *testing.T) {
	var buf bytes.Buffer
	s := New(slog.New(slog.NewJSONHandler(&buf, nil)))
	d, dep := wsConnectDeployed()
	ev := &events.APIGatewayWebsocketProxyRequest{RequestContext: events.APIGatewayWebsocketProxyRequestContext{RouteKey: "$connect", EventType: "CONNECT", ConnectionID: "c1", RequestID: "r1"}}
	var o pipeline.WSOutcome
	done := s.LogWebSocket(d, &dep.API.Routes[0], ev, &o)
	o.Authorizer.UsageIdentifierKey = "sekrit-ws-usage-key-0123" // the authorizer runs after LogWebSocket
	done(&connections.Response{StatusCode: 500, Body: []byte(`{"key":"sekrit-ws-usage-key-0123"}`)}, errors.New("said sekrit-ws-usage-key-0123"))
	if out := buf.String(); strings.Contains(out, "sekrit") || !strings.Contains(out, `{\"key\":\"********\"}`) {
		t.Fatalf("logged %s", out)
	}
}

// wsConnectDeployed is a stage of a WebSocket API with a $connect route whose
// "*/*" settings log at INFO with data tracing.
func wsConnectDeployed() (*pipeline.Deployed, *apis.Deployment) {
	st := &apis.Stage{APIID: "abcdefghij", Name: "dev", MethodSettings: map[string]apis.MethodSetting{"*/*": {LoggingLevel: "INFO", DataTraceEnabled: true}}}
	dep := &apis.Deployment{API: apis.API{ID: "abcdefghij", Protocol: apis.ProtocolWebSocket, Definition: apis.Definition{Routes: []apis.Route{{RouteKey: "$connect"}}}}}
	return &pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API}, dep
}

// headerKey admits the x-api-key header's value as the request's key, as the
// API key stage does for key source HEADER; with refuse set it refuses the
// request after naming the key (an authorizer's usageIdentifierKey the key
// stage does not know), before the method request stage.
type headerKey struct{ refuse bool }

func (headerKey) Name() string { return "apikey" }
func (headerKey) Order() int   { return pipeline.OrderAPIKey }
func (k headerKey) Compile(*pipeline.Deployed) (pipeline.Middleware, error) {
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			if k.refuse {
				c.Authorizer.UsageIdentifierKey = "sekrit-refused-key-0123456789"
				return pipeline.Errorf(pipeline.InvalidAPIKey, "the API key is not a known key")
			}
			c.Identity.APIKey = r.Header.Get("X-Api-Key")
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// TestMethodRequestMasksTheAPIKey is keys22's finding 2: the method request
// line was written before the authorizer and the API key stage ran, so a key
// source AUTHORIZER's key was logged in clear wherever the request repeated
// it (a header, the body), and a header repeating an x-api-key was logged in
// clear too. The line is now written once the key is known (or, for a
// request refused before, at its completion), the key masked in its path,
// headers and body.
func TestMethodRequestMasksTheAPIKey(t *testing.T) {
	request := func(key string) *http.Request {
		req := httptest.NewRequest("POST", "/abcdefghij/dev/pets", strings.NewReader(`{"k":"`+key+`"}`))
		req.Header.Set("X-Echo", "key "+key)
		return req
	}
	check := func(t *testing.T, recs []map[string]any, status float64) {
		t.Helper()
		if len(recs) != 2 || recs[0]["msg"] != "execution: method request" || recs[1]["status"] != status {
			t.Fatalf("logged %v", recs)
		}
		if h, _ := recs[0]["headers"].(map[string]any); h["X-Echo"] != "key ********" {
			t.Errorf("request headers %v", h)
		}
		if recs[0]["body"] != `{"k":"********"}` {
			t.Errorf("request body %v", recs[0]["body"])
		}
	}
	t.Run("key source AUTHORIZER", func(t *testing.T) {
		check(t, serve(t, deployed("INFO", true), request("sekrit-usage-key-0123456789"), echo, authorizerKey{}), 200)
	})
	t.Run("key source HEADER", func(t *testing.T) {
		req := request("sekrit-header-key-0123456789")
		req.Header.Set("X-Api-Key", "sekrit-header-key-0123456789")
		check(t, serve(t, deployed("INFO", true), req, echo, headerKey{}), 200)
	})
	t.Run("a key refused before the method request stage", func(t *testing.T) {
		check(t, serve(t, deployed("INFO", true), request("sekrit-refused-key-0123456789"), echo, headerKey{refuse: true}), 403)
	})
}

// echoGoEvent answers a Lambda proxy event as a Go function built with
// aws-lambda-go does: encoding/json, which writes '&' as \u0026, with the
// request's body quoted in it.
func echoGoEvent(w http.ResponseWriter, r *http.Request, _ *pipeline.Context) error {
	b, _ := io.ReadAll(r.Body)
	out, _ := json.Marshal(map[string]any{"event": map[string]any{"body": string(b), "httpMethod": r.Method}})
	_, err := w.Write(out)
	return err
}

// TestEchoedEscapedSecretsAreMasked is r-obs28's finding 1: a form body's
// secret parameter after an '&' (which the function's JSON writes \u0026)
// and a JSON body's secret member (quoted in the event's "body" string) were
// masked in the method request's body and logged in clear in the response
// body that echoed them.
func TestEchoedEscapedSecretsAreMasked(t *testing.T) {
	for _, tc := range []struct{ body, wantReq, wantResp string }{
		{`a=1&client_secret=sekrit-amp-22`, `a=1&client_secret=********`, `a=1\u0026client_secret=********`},
		{`{"client_secret":"sekrit-json-24","n":"rex"}`, `{"client_secret":"********","n":"rex"}`, `{\"client_secret\":\"********\",\"n\":\"rex\"}`},
		{`{"access\u005ftoken":"sekrit-esc-1","accessToken":"sekrit-camel-2"}`, `{"access\u005ftoken":"********","accessToken":"********"}`,
			`{\"access\\u005ftoken\":\"********\",\"accessToken\":\"********\"}`},
		{`x=1&client%5Fsecret=sekrit-pct-3`, `x=1&client%5Fsecret=********`, `x=1\u0026client%5Fsecret=********`},
	} {
		req := httptest.NewRequest("POST", "/abcdefghij/dev/pets", strings.NewReader(tc.body))
		recs := serve(t, deployed("INFO", true), req, echoGoEvent)
		if len(recs) != 2 {
			t.Fatalf("records %v", recs)
		}
		if got := recs[0]["body"]; got != tc.wantReq {
			t.Errorf("request body\n got %v\nwant %s", got, tc.wantReq)
		}
		if got, _ := recs[1]["responseBody"].(string); !strings.Contains(got, tc.wantResp) {
			t.Errorf("response body\n got %s\nwant it to hold %s", got, tc.wantResp)
		}
	}
}

// TestWebSocketEchoedSecretsAreMasked: a message's secret member is masked in
// the route's response body that quotes the message (r-obs28 finding 1), and
// $connect's ?token= is masked in the echoed event when no authorizer reads
// it (the $connect function checks it).
func TestWebSocketEchoedSecretsAreMasked(t *testing.T) {
	var buf bytes.Buffer
	s := New(slog.New(slog.NewJSONHandler(&buf, nil)))
	d, dep := wsConnectDeployed()
	msg := `{"action":"x","password":"sekrit-ws-pass-66"}`
	ev := &events.APIGatewayWebsocketProxyRequest{Body: msg,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{RouteKey: "$default", EventType: "MESSAGE", ConnectionID: "c1", RequestID: "r1"}}
	echoed, _ := json.Marshal(map[string]any{"body": msg})
	s.LogWebSocket(d, &dep.API.Routes[0], ev, nil)(&connections.Response{StatusCode: 200, Body: echoed}, nil)

	q := map[string]string{"token": "sekrit-qtok-88", "n": "rex"}
	ev = &events.APIGatewayWebsocketProxyRequest{QueryStringParameters: q,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{RouteKey: "$connect", EventType: "CONNECT", ConnectionID: "c1", RequestID: "r2"}}
	echoed, _ = json.Marshal(map[string]any{"queryStringParameters": q})
	s.LogWebSocket(d, &dep.API.Routes[0], ev, &pipeline.WSOutcome{})(&connections.Response{StatusCode: 200, Body: echoed}, nil)

	if out := buf.String(); strings.Contains(out, "sekrit") {
		t.Errorf("a secret logged: %s", out)
	}
	got := records(t, &buf)
	if len(got) != 4 || got[1]["responseBody"] != `{"body":"{\"action\":\"x\",\"password\":\"********\"}"}` ||
		got[3]["responseBody"] != `{"queryStringParameters":{"n":"rex","token":"********"}}` {
		t.Errorf("logged %v", got)
	}
}

// TestHeadersCannotFakeOtherHeaders is r-obs28's finding 6: headers were
// written as Go's map[K:V K:V], so that a value "1 Authorization:Bearer x]"
// read as further headers (an unmasked Authorization), and two values
// joined with "," read as one. Each header is an attribute of its own, its
// value quoted by the text handler; several values are a list.
func TestHeadersCannotFakeOtherHeaders(t *testing.T) {
	var buf bytes.Buffer
	log := redact.Logger(slog.New(slog.NewTextHandler(&buf, nil))) // as the server logs
	d := deployed("INFO", true)
	h, err := pipeline.Chain(d, []pipeline.Stage{New(log), NewRequestStage(log), responses.New(nil), routeStub{}}, pipeline.HandlerFunc(echo))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/abcdefghij/dev/pets", strings.NewReader("x"))
	req.Header.Set("X-A", "1 Authorization:Bearer FORGED] status=200")
	req.Header.Add("X-B", "one")
	req.Header.Add("X-B", "two")
	req.Header.Set("Authorization", "Bearer sekrit")
	if err := h.ServeRequest(httptest.NewRecorder(), req, &pipeline.Context{RequestID: "req-42", APIID: "abcdefghij", Stage: "dev"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`headers.Authorization=********`, `headers.X-A="1 Authorization:Bearer FORGED] status=200"`,
		`headers.X-B="[one two]"`, `responseHeaders.Set-Cookie=********`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "map[") || strings.Contains(out, "sekrit") {
		t.Errorf("log:\n%s", out)
	}
}
