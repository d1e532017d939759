package gateway

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/validate"
	"github.com/portico-dev/portico/invoker"
)

// TestJavaSelectionPatterns: selection patterns are Java regular expressions,
// as API Gateway reads them: one RE2 lacks (a lookahead) compiles and selects,
// one that backtracks without end answers 500 with the reason in the log, and
// one that is no regular expression is refused naming the pattern as written.
func TestJavaSelectionPatterns(t *testing.T) {
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var in struct{ Msg string }
		_ = json.Unmarshal(req.Payload, &in)
		return &invoker.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"` + in.Msg + `","errorType":"Error"}`)}, nil
	}
	fn := func(responses map[string]apis.IntegrationResponse) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWS, URI: "function:hello", HTTPMethod: "POST", Responses: responses}
	}
	a := &apis.API{Name: "javare", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/select", Integration: fn(map[string]apis.IntegrationResponse{
			"default":              {StatusCode: "200"},
			"^(?!Internal).+":      {StatusCode: "400", ResponseTemplates: map[string]string{"application/json": `{"client": "$input.path('$.errorMessage')"}`}},
			"Internal.*":           {StatusCode: "500", ResponseTemplates: map[string]string{"application/json": `{"server": true}`}},
			"(?=a)(a+)+b":          {StatusCode: "418"},
			"Internal \\p{Digit}+": {StatusCode: "409"},
		})},
	}}}
	id := e.deploy(a, "dev", nil)
	for msg, want := range map[string]string{
		"Bad input":      `400 {"client": "Bad input"}`,
		"Internal error": `500 {"server": true}`,
		"Internal 3":     `409 {"errorMessage":"Internal 3","errorType":"Error"}`,
	} {
		r := e.do("POST", "/"+id+"/dev/select", strings.NewReader(`{"msg": "`+msg+`"}`))
		if got := itoa(r.status) + " " + r.body; got != want {
			t.Errorf("%q: %s, want %s", msg, got, want)
		}
	}
	// Catastrophic backtracking is cut short: a 500, the reason in the log.
	r := e.do("POST", "/"+id+"/dev/select", strings.NewReader(`{"msg": "`+strings.Repeat("a", 40)+`c"}`))
	r.expectError(t, 500, "InternalServerErrorException", "Internal server error")
	if logs := e.logs.String(); !strings.Contains(logs, "match took too long") || !strings.Contains(logs, "(?=a)(a+)+b") || strings.Contains(logs, "aaaaaaaa") {
		t.Errorf("log: %s", logs)
	}

	// Not a regular expression: refused, naming the pattern as written.
	b := &apis.API{Name: "badre", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/x", Integration: fn(map[string]apis.IntegrationResponse{"[": {StatusCode: "400"}})},
	}}}
	_, err := e.svc.Create(t.Context(), b)
	if err == nil || !strings.Contains(err.Error(), `integration response pattern "[" is not a regular expression: `) ||
		strings.Contains(err.Error(), "(?:") || strings.Contains(err.Error(), ")$") {
		t.Errorf("create with pattern %q: %v", "[", err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestJavaModelPatterns: a model's pattern and patternProperties are Java
// regular expressions: a lookahead and a POSIX class compile and validate,
// and a match that backtracks without end fails the validation.
func TestJavaModelPatterns(t *testing.T) {
	e := newEnv(t)
	e.gw.Use(validate.New(slog.New(slog.NewTextHandler(e.logs, nil))))
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) { return &invoker.Result{Payload: req.Payload}, nil }
	a := &apis.API{Name: "models", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		Models: map[string]json.RawMessage{"Account": json.RawMessage(`{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
			"properties": {"password": {"type": "string", "pattern": "^(?=.*[A-Z]).{8,}$"}, "slow": {"type": "string", "pattern": "^(?=a)(a+)+b$"}},
			"patternProperties": {"^x-\\p{Alpha}+$": {"type": "integer"}},
			"additionalProperties": false}`)},
		RequestValidators: map[string]apis.RequestValidator{"body": {ValidateRequestBody: true}},
		RequestValidator:  "body",
		Routes: []apis.Route{{Method: "POST", Path: "/accounts", Integration: &apis.Integration{Type: apis.IntegrationAWS, URI: "function:hello"},
			RequestModels: map[string]string{"application/json": "Account"}}},
	}}
	id := e.deploy(a, "dev", nil)
	for body, status := range map[string]int{
		`{"password": "abcdefgH", "x-count": 3}`:             200,
		`{"password": "abcdefgh"}`:                           400,
		`{"x-count": "three"}`:                               400,
		`{"x-1": 3}`:                                         400, // not \p{Alpha}: an additional property
		`{"slow": "` + strings.Repeat("a", 40) + `c"}`:       400,
		`{"slow": "aab", "password": "Abcdefgh", "x-ok": 1}`: 200,
	} {
		if r := e.do("POST", "/"+id+"/dev/accounts", strings.NewReader(body)); r.status != status {
			t.Errorf("%s: %d %s, want %d", body, r.status, r.body, status)
		}
	}
	if logs := e.logs.String(); strings.Count(logs, "level=WARN") != 1 || !strings.Contains(logs, "a model pattern took too long to match") ||
		strings.Contains(logs, "aaaaaaaa") {
		t.Errorf("the refused slow match is not logged once: %s", logs)
	}
}
