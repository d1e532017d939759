package gateway

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestProxyResultInvalidShapes: a function result with a 1xx statusCode (an
// interim answer a function cannot give: 101 without an upgrade, 100 then
// nothing), a null header value or an empty header name is not a valid
// response object: 502, on HTTP APIs (both payload versions) and REST alike,
// as a 0 or 600 status is.
func TestProxyResultInvalidShapes(t *testing.T) {
	e, result, httpID, restID := resultEnv(t)
	for _, payload := range []string{
		`{"statusCode":101,"body":"x"}`, `{"statusCode":100}`, `{"statusCode":"103","body":"x"}`, `{"statusCode":199}`,
		`{"statusCode":0}`, `{"statusCode":600}`,
		`{"statusCode":200,"headers":{"x":null},"body":"x"}`, `{"statusCode":200,"headers":{"":"v"},"body":"x"}`,
		`{"statusCode":200,"multiValueHeaders":{"x":[null]},"body":"x"}`, `{"statusCode":200,"multiValueHeaders":{"":["v"]},"body":"x"}`,
	} {
		*result = payload
		for _, path := range []string{"/" + httpID + "/dev/v2", "/" + httpID + "/dev/v1", "/" + restID + "/dev/v1"} {
			if strings.Contains(payload, "multiValueHeaders") && strings.HasSuffix(path, "v2") {
				continue // payload 2.0 has no multiValueHeaders: an unknown key is the body
			}
			if r := e.do("GET", path, nil); r.status != 502 {
				t.Errorf("%s on %s: %d %v %q, want 502", payload, path, r.status, r.header, r.body)
			}
		}
	}
	*result = `{"statusCode":200,"headers":{"x":"1"},"multiValueHeaders":{"y":["2","3"]},"body":"ok"}`
	if r := e.do("GET", "/"+restID+"/dev/v1", nil); r.status != 200 || r.body != "ok" || r.header.Get("x") != "1" {
		t.Errorf("a valid result: %d %v %q", r.status, r.header, r.body)
	}
}

// TestProxyResultHeaderControlCharacters: a function result whose header
// value (in headers, multiValueHeaders or payload 2.0 cookies) holds a control
// character other than a tab (NUL, DEL, CR, LF, ...) is malformed: 502
// {"message": "Internal server error"}, logged, on REST and HTTP APIs alike,
// never a head cut short at the bad byte.
func TestProxyResultHeaderControlCharacters(t *testing.T) {
	e, result, httpID, restID := resultEnv(t)
	for _, v := range []string{`a\u0000b`, `a\u007fb`, `a\u001bb`, `a\r\nSet-Cookie: evil=1`, `a\nb`} {
		for _, payload := range []string{
			`{"statusCode":200,"headers":{"X-A":"` + v + `"},"body":"x"}`,
			`{"statusCode":200,"multiValueHeaders":{"X-A":["ok","` + v + `"]},"body":"x"}`,
			`{"statusCode":200,"cookies":["a=` + v + `"],"body":"x"}`,
		} {
			*result = payload
			for _, path := range []string{"/" + httpID + "/dev/v2", "/" + httpID + "/dev/v1", "/" + restID + "/dev/v1"} {
				if strings.Contains(payload, "multiValueHeaders") && strings.HasSuffix(path, "v2") ||
					strings.Contains(payload, "cookies") && !strings.HasSuffix(path, "v2") {
					continue // payload 2.0 has no multiValueHeaders, 1.0 no cookies: an unknown key
				}
				before := strings.Count(e.logs.String(), "control character")
				r := e.do("GET", path, nil)
				if r.status != 502 || r.body != `{"message":"Internal Server Error"}` && r.body != `{"message": "Internal server error"}` {
					t.Errorf("%s on %s: %d %v %q, want 502", payload, path, r.status, r.header, r.body)
				}
				if logs := e.logs.String(); strings.Count(logs, "control character") == before {
					t.Errorf("%s on %s: the log does not say why:\n%s", payload, path, logs)
				}
			}
		}
	}
	*result = `{"statusCode":200,"headers":{"X-A":"a\tb"},"body":"ok"}`
	if r := e.do("GET", "/"+restID+"/dev/v1", nil); r.status != 200 || r.header.Get("X-A") != "a\tb" {
		t.Errorf("a tab: %d %v %q", r.status, r.header, r.body)
	}
}

// resultEnv is a gateway whose function returns *result as it is, behind an
// HTTP API (routes /v2 and /v1, of payload 2.0 and 1.0) and a REST API (/v1).
func resultEnv(t *testing.T) (e *env, result *string, httpID, restID string) {
	t.Helper()
	e = newEnv(t)
	result = new(string)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(*result)}, nil
	}
	fn := func(v string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello", PayloadFormatVersion: v}
	}
	httpID = e.deploy(&apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/v2", Integration: fn("2.0")}, {Method: "GET", Path: "/v1", Integration: fn("1.0")}}}}, "dev", nil)
	restID = e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/v1", Integration: fn("1.0")}}}}, "dev", nil)
	return e, result, httpID, restID
}

// TestProxyResultStatusMessages guards r-httpapi29's finding 5: a result's
// out-of-range statusCode is said as such, not as "not an integer status",
// with its value, and an interim 1xx as not a final answer.
func TestProxyResultStatusMessages(t *testing.T) {
	for raw, want := range map[string]string{
		`600`:   "has a statusCode outside 200..599 (600)",
		`9`:     "has a statusCode outside 200..599 (9)",
		`"999"`: "has a statusCode outside 200..599 (999)",
		`101`:   "has the interim statusCode 101, which is not a final answer (200..599)",
		`12.5`:  "has a statusCode that is not an integer (12.5)",
		`"x"`:   "has a statusCode that is not a number",
		`null`:  "has a statusCode of null, not an integer",
	} {
		_, err := decodeProxyFields(map[string]json.RawMessage{"statusCode": json.RawMessage(raw)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("statusCode %s: %v, want %q", raw, err, want)
		}
	}
}
