package gateway

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// fixtureDir is aws-lambda-go's events/testdata, found through the module cache.
func fixtureDir(t testing.TB) string {
	t.Helper()
	// The fixtures ship inside the aws-lambda-go module this build depends on;
	// go list names its directory (downloading it if needed).
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("locating the aws-lambda-go module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "events", "testdata")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("aws-lambda-go's event fixtures are missing: %v", err)
	}
	return dir
}

// dynamicKeys are objects whose keys are data (header names, parameters), not
// fields: only their values' types are compared.
var dynamicKeys = map[string]bool{
	"headers": true, "multiValueHeaders": true, "queryStringParameters": true,
	"multiValueQueryStringParameters": true, "pathParameters": true, "stageVariables": true,
}

// onlyWhenAuthenticated are fixture fields that API Gateway fills only for callers
// with IAM or Cognito credentials, client certificates or an authorizer; an
// anonymous request does not carry them.
var onlyWhenAuthenticated = map[string]bool{
	"requestContext.identity.cognitoIdentityPoolId":         true,
	"requestContext.identity.accountId":                     true,
	"requestContext.identity.cognitoIdentityId":             true,
	"requestContext.identity.caller":                        true,
	"requestContext.identity.apiKey":                        true,
	"requestContext.identity.apiKeyId":                      true,
	"requestContext.identity.accessKey":                     true,
	"requestContext.identity.cognitoAuthenticationType":     true,
	"requestContext.identity.cognitoAuthenticationProvider": true,
	"requestContext.identity.userArn":                       true,
	"requestContext.identity.user":                          true,
	"requestContext.identity.clientCert":                    true,
	"requestContext.authentication":                         true,
	"requestContext.authorizer":                             true,
	// Payload 2.0 leaves these out when the request has none (aws-lambda-go
	// marks them omitempty); the fixtures show them for requests that had them.
	"body":                  true,
	"cookies":               true,
	"queryStringParameters": true,
	"pathParameters":        true,
	"stageVariables":        true,
}

var (
	requestTimeRe = regexp.MustCompile(`^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$`)
	uuidRe        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	extendedIDRe  = regexp.MustCompile(`^[A-Za-z0-9+/=_-]{12,20}$`)
	apiIDRe       = regexp.MustCompile(`^[a-z0-9]{10}$`)
	resourceIDRe  = regexp.MustCompile(`^[a-z0-9]{6}$`)
	accountIDRe   = regexp.MustCompile(`^\d{12}$`)
)

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "bool"
	}
	return "?"
}

func decodeJSON(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode: %v: %s", err, raw)
	}
	return m
}

// compareShape walks got against want: every key of got is a key of want with the
// same JSON type (null allowed for an absent collection); every key of want is in
// got unless API Gateway fills it only for authenticated callers.
func compareShape(t testing.TB, path string, got, want map[string]any) {
	t.Helper()
	for k, gv := range got {
		p := strings.TrimPrefix(path+"."+k, ".")
		if gv == nil && want[k] == nil {
			continue
		}
		wv, ok := want[k]
		if !ok {
			t.Errorf("event field %s is not in the fixture", p)
			continue
		}
		gt, wt := jsonType(gv), jsonType(wv)
		if gt != wt && gt != "null" {
			t.Errorf("event field %s is %s, the fixture has %s", p, gt, wt)
			continue
		}
		if dynamicKeys[k] && gt == "object" {
			for hk, hv := range gv.(map[string]any) {
				var sample any
				for _, s := range wv.(map[string]any) {
					sample = s
					break
				}
				if jsonType(hv) != jsonType(sample) {
					t.Errorf("event field %s.%s is %s, the fixture's values are %s", p, hk, jsonType(hv), jsonType(sample))
				}
			}
			continue
		}
		if gt == "object" {
			compareShape(t, p, gv.(map[string]any), wv.(map[string]any))
		}
	}
	for k := range want {
		p := strings.TrimPrefix(path+"."+k, ".")
		if _, ok := got[k]; !ok && !onlyWhenAuthenticated[p] {
			t.Errorf("fixture field %s is missing from the event", p)
		}
	}
}

// mergeInto adds src's fields to dst, recursively.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		if _, ok := dst[k]; !ok || dst[k] == nil {
			dst[k] = v
		}
	}
}

func str(m map[string]any, path string) string {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[k]
	}
	s, _ := v.(string)
	if n, ok := v.(json.Number); ok {
		s = n.String()
	}
	return s
}

// AssertEventShape checks an event a function received against aws-lambda-go's
// fixture: kind "v1" compares with apigw-request.json, "v2" with every
// apigw-v2-request-*.json. Formats are checked field by field too. It is exported
// (in tests only) for the end-to-end tests of package gateway_test.
func AssertEventShape(t testing.TB, kind string, raw []byte) {
	t.Helper()
	dir := fixtureDir(t)
	got := decodeJSON(t, raw)
	var fixtures []string
	if kind == "v1" {
		fixtures = []string{filepath.Join(dir, "apigw-request.json")}
	} else {
		fixtures, _ = filepath.Glob(filepath.Join(dir, "apigw-v2-request-*.json"))
	}
	if len(fixtures) == 0 {
		t.Fatalf("no fixtures for %s", kind)
	}
	// The reference is the union of the fixtures' fields (each v2 fixture shows a
	// different authorizer; only some carry cookies and parameters).
	want := map[string]any{}
	for _, f := range fixtures {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mergeInto(want, decodeJSON(t, raw))
	}
	if kind == "v1" {
		// API Gateway sends isBase64Encoded in every payload 1.0 event
		// (REFERENCE.md, and its developer guide's example); the fixture
		// leaves it out.
		want["isBase64Encoded"] = false
		if _, ok := got["version"]; ok {
			// HTTP APIs' payload 1.0 events name their version (the
			// developer guide's example); REST events do not. Their
			// requestContext.authorizer without an authorizer is the
			// guide's {"claims": null, "scopes": null}.
			want["version"] = "1.0"
			if rc, ok := want["requestContext"].(map[string]any); ok {
				rc["authorizer"] = map[string]any{"claims": nil, "scopes": nil}
			}
		}
	}
	compareShape(t, "", got, want)
	// The event decodes into aws-lambda-go's own type without loss.
	if kind == "v1" {
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("not an APIGatewayProxyRequest: %v", err)
		}
	} else {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("not an APIGatewayV2HTTPRequest: %v", err)
		}
	}
	checks := map[string]*regexp.Regexp{}
	if kind == "v1" {
		checks["requestContext.requestTime"] = requestTimeRe
		checks["requestContext.requestId"] = uuidRe
		if _, ok := got["version"]; ok {
			// An HTTP API's requestId is its short apigw-requestid one
			// (the developer guide's 1.0 example has "id="), as in its
			// 2.0 events.
			checks["requestContext.requestId"] = extendedIDRe
		}
		checks["requestContext.extendedRequestId"] = extendedIDRe
		checks["requestContext.apiId"] = apiIDRe
		checks["requestContext.resourceId"] = resourceIDRe
		checks["requestContext.accountId"] = accountIDRe
		checks["requestContext.requestTimeEpoch"] = regexp.MustCompile(`^\d{13}$`)
		checks["requestContext.protocol"] = regexp.MustCompile(`^HTTP/\d(\.\d)?$`)
		checks["httpMethod"] = regexp.MustCompile(`^[A-Z]+$`)
		if str(got, "requestContext.path") == "" || !strings.HasPrefix(str(got, "path"), "/") {
			t.Errorf("path %q / requestContext.path %q", str(got, "path"), str(got, "requestContext.path"))
		}
		if ip := net.ParseIP(str(got, "requestContext.identity.sourceIp")); ip == nil {
			t.Errorf("sourceIp %q is not an IP", str(got, "requestContext.identity.sourceIp"))
		}
	} else {
		checks["version"] = regexp.MustCompile(`^2\.0$`)
		checks["requestContext.time"] = requestTimeRe
		checks["requestContext.requestId"] = extendedIDRe
		checks["requestContext.apiId"] = apiIDRe
		checks["requestContext.accountId"] = accountIDRe
		checks["requestContext.timeEpoch"] = regexp.MustCompile(`^\d{13}$`)
		checks["requestContext.http.protocol"] = regexp.MustCompile(`^HTTP/\d(\.\d)?$`)
		checks["requestContext.http.method"] = regexp.MustCompile(`^[A-Z]+$`)
		checks["rawPath"] = regexp.MustCompile(`^/`)
		if str(got, "routeKey") != str(got, "requestContext.routeKey") {
			t.Errorf("routeKey %q vs requestContext.routeKey %q", str(got, "routeKey"), str(got, "requestContext.routeKey"))
		}
		if ip := net.ParseIP(str(got, "requestContext.http.sourceIp")); ip == nil {
			t.Errorf("sourceIp %q is not an IP", str(got, "requestContext.http.sourceIp"))
		}
		for k := range got["headers"].(map[string]any) {
			if k != strings.ToLower(k) {
				t.Errorf("v2 header %q is not lower-case", k)
			}
		}
	}
	for path, re := range checks {
		if v := str(got, path); !re.MatchString(v) {
			t.Errorf("%s = %q does not match %s", path, v, re)
		}
	}
}

// sendProbe makes a request that fills every field an anonymous request can.
func sendProbe(e *env, path string) {
	e.t.Helper()
	e.do("POST", path+"?name=me&name=you&q=1", strings.NewReader(`{"a": 1}`),
		"Content-Type", "application/json", "User-Agent", "probe/1.0", "X-Multi", "a", "X-Multi", "b", "Cookie", "c1=v1; c2=v2")
}

func TestEventsMatchAWSLambdaGoFixtures(t *testing.T) {
	for _, tc := range []struct {
		protocol, kind, payload string
	}{
		{apis.ProtocolREST, "v1", ""},
		{apis.ProtocolHTTP, "v2", ""},
		{apis.ProtocolHTTP, "v1", "1.0"},
	} {
		t.Run(tc.protocol+"-"+tc.kind, func(t *testing.T) {
			e := newEnv(t)
			a := &apis.API{Name: "probe", Protocol: tc.protocol, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "ANY", Path: "/items/{id}/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:probe", PayloadFormatVersion: tc.payload}},
			}}}
			id := e.deploy(a, "dev", map[string]string{"stageVariableName": "stageVariableValue"})
			sendProbe(e, "/"+id+"/dev/items/42/hello/world")
			payload := e.inv.last().Payload
			AssertEventShape(t, tc.kind, payload)
			ev := decodeJSON(t, payload)
			if tc.kind == "v1" {
				var v1 events.APIGatewayProxyRequest
				_ = json.Unmarshal(payload, &v1)
				if (ev["version"] == "1.0") != (tc.protocol == apis.ProtocolHTTP) {
					t.Errorf("version %v in a %s API's payload 1.0 event", ev["version"], tc.protocol)
				}
				// No authorizer: null on REST APIs, {"claims": null, "scopes": null}
				// on HTTP APIs (the developer guide's payload 1.0 example).
				au, _ := json.Marshal(ev["requestContext"].(map[string]any)["authorizer"])
				if want := map[string]string{apis.ProtocolREST: `null`, apis.ProtocolHTTP: `{"claims":null,"scopes":null}`}[tc.protocol]; string(au) != want {
					t.Errorf("%s API's payload 1.0 authorizer without an authorizer: %s, want %s", tc.protocol, au, want)
				}
				// Identity fields absent on the request are null, as in the
				// fixture and AWS's examples, not left out.
				ident, _ := ev["requestContext"].(map[string]any)["identity"].(map[string]any)
				for _, k := range []string{"cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "apiKey", "apiKeyId",
					"accessKey", "principalOrgId", "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "user", "clientCert"} {
					if v, ok := ident[k]; !ok || v != nil {
						t.Errorf("identity.%s = %v (present %v), want null", k, v, ok)
					}
				}
				if v1.Resource != "/items/{id}/{proxy+}" || v1.Path != "/items/42/hello/world" || v1.PathParameters["proxy"] != "hello/world" ||
					v1.PathParameters["id"] != "42" || v1.QueryStringParameters["name"] != "you" || len(v1.MultiValueQueryStringParameters["name"]) != 2 ||
					len(v1.MultiValueHeaders["X-Multi"]) != 2 || v1.Body != `{"a": 1}` || v1.StageVariables["stageVariableName"] != "stageVariableValue" ||
					v1.RequestContext.Path != "/dev/items/42/hello/world" || v1.RequestContext.Stage != "dev" || v1.RequestContext.APIID != id {
					t.Errorf("v1 event: %s", payload)
				}
			} else {
				var v2 events.APIGatewayV2HTTPRequest
				_ = json.Unmarshal(payload, &v2)
				if v2.RouteKey != "ANY /items/{id}/{proxy+}" || v2.RawPath != "/dev/items/42/hello/world" || v2.RawQueryString != "name=me&name=you&q=1" ||
					v2.QueryStringParameters["name"] != "me,you" || v2.Headers["x-multi"] != "a,b" || len(v2.Cookies) != 2 ||
					v2.PathParameters["proxy"] != "hello/world" || v2.Body != `{"a": 1}` || v2.IsBase64Encoded {
					t.Errorf("v2 event: %s", payload)
				}
				if _, ok := ev["cookies"]; !ok {
					t.Errorf("no cookies")
				}
				// Without a client certificate API Gateway sends no
				// authentication; a handler testing for the key would
				// take an empty one for a certificate.
				if au, ok := ev["requestContext"].(map[string]any)["authentication"]; ok {
					t.Errorf("requestContext.authentication without a client certificate: %v", au)
				}
			}
		})
	}
}

func TestBinaryBodiesAreBase64(t *testing.T) {
	e := newEnv(t)
	a := helloAPI(apis.ProtocolREST)
	a.BinaryMediaTypes = []string{"image/*"}
	id := e.deploy(a, "dev", map[string]string{"alias": "live"})
	e.do("POST", "/"+id+"/dev/upload", strings.NewReader("\x89PNG"), "Content-Type", "image/png")
	var ev events.APIGatewayProxyRequest
	_ = json.Unmarshal(e.inv.last().Payload, &ev)
	if !ev.IsBase64Encoded || ev.Body != "iVBORw==" {
		t.Fatalf("binary body: %v %q", ev.IsBase64Encoded, ev.Body)
	}
	e.do("POST", "/"+id+"/dev/upload", strings.NewReader("text"), "Content-Type", "text/plain")
	var text events.APIGatewayProxyRequest
	_ = json.Unmarshal(e.inv.last().Payload, &text)
	if text.IsBase64Encoded || text.Body != "text" {
		t.Fatalf("text body: %v %q", text.IsBase64Encoded, text.Body)
	}
}

var _ = invoker.Request{}

// TestHTTPAPIBodiesBase64AsAWS: a payload 2.0 event carries a body as text
// only for text/*, application/json, application/xml,
// application/javascript and the +json and +xml types (valid UTF-8); any
// other type, a form (a Slack slash command's
// application/x-www-form-urlencoded) and a body without a Content-Type are
// base64, as API Gateway's HTTP APIs send them.
func TestHTTPAPIBodiesBase64AsAWS(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(helloAPI(apis.ProtocolHTTP), "dev", map[string]string{"alias": "live"})
	for ct, b64 := range map[string]bool{
		"text/plain": false, "text/csv; charset=utf-8": false, "application/json": false, "Application/JSON; charset=utf-8": false,
		"application/xml": false, "application/javascript": false, "application/vnd.api+json": false, "application/atom+xml": false,
		"application/x-www-form-urlencoded": true, "": true, "application/octet-stream": true, "multipart/form-data; boundary=x": true,
		"application/yaml": true, "application/graphql": true, "application/x-ndjson": true, "not a type": true,
	} {
		hdr := []string{"Content-Type", ct}
		if ct == "" {
			hdr = nil
		}
		e.do("POST", "/"+id+"/dev/upload", strings.NewReader("token=abc&text=hi"), hdr...)
		var ev events.APIGatewayV2HTTPRequest
		_ = json.Unmarshal(e.inv.last().Payload, &ev)
		want := "token=abc&text=hi"
		if b64 {
			want = "dG9rZW49YWJjJnRleHQ9aGk="
		}
		if ev.IsBase64Encoded != b64 || ev.Body != want {
			t.Errorf("Content-Type %q: isBase64Encoded %v body %q, want %v %q", ct, ev.IsBase64Encoded, ev.Body, b64, want)
		}
	}
}

// TestEventPathsAsAPIGatewaySendsThem: a REST event carries the path, the
// stage path and the path parameters as the client sent them (escaped), and
// null for no body with isBase64Encoded false; an HTTP API's events (payload
// 1.0 and 2.0) carry them decoded, as API Gateway sends them.
func TestEventPathsAsAPIGatewaySendsThem(t *testing.T) {
	for _, tc := range []struct {
		protocol, payload string
		path, stagePath   string
		id, proxy         string
	}{
		{apis.ProtocolREST, "", "/items/a%20b/c%3Bd/e", "/dev/items/a%20b/c%3Bd/e", "a%20b", "c%3Bd/e"},
		{apis.ProtocolHTTP, "1.0", "/items/a b/c;d/e", "/dev/items/a b/c;d/e", "a b", "c;d/e"},
		{apis.ProtocolHTTP, "", "", "/dev/items/a b/c;d/e", "a b", "c;d/e"},
	} {
		t.Run(tc.protocol+"-"+tc.payload, func(t *testing.T) {
			e := newEnv(t)
			a := &apis.API{Name: "paths", Protocol: tc.protocol, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "ANY", Path: "/items/{id}/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:probe", PayloadFormatVersion: tc.payload}},
			}}}
			id := e.deploy(a, "dev", nil)
			e.do("GET", "/"+id+"/dev/items/a%20b/c%3Bd/e", nil)
			payload := e.inv.last().Payload
			ev := decodeJSON(t, payload)
			if tc.path == "" { // payload 2.0
				var v2 events.APIGatewayV2HTTPRequest
				_ = json.Unmarshal(payload, &v2)
				if v2.RawPath != tc.stagePath || v2.RequestContext.HTTP.Path != tc.stagePath || v2.PathParameters["id"] != tc.id || v2.PathParameters["proxy"] != tc.proxy {
					t.Errorf("v2 event: %s", payload)
				}
				return
			}
			var v1 events.APIGatewayProxyRequest
			_ = json.Unmarshal(payload, &v1)
			if v1.Path != tc.path || v1.RequestContext.Path != tc.stagePath || v1.PathParameters["id"] != tc.id || v1.PathParameters["proxy"] != tc.proxy {
				t.Errorf("v1 event: path %q, requestContext.path %q, pathParameters %v; want %q, %q, %q and %q",
					v1.Path, v1.RequestContext.Path, v1.PathParameters, tc.path, tc.stagePath, tc.id, tc.proxy)
			}
			if body, ok := ev["body"]; !ok || body != nil {
				t.Errorf("body of a GET: %v (present %v), want null", body, ok)
			}
			if b64, ok := ev["isBase64Encoded"]; !ok || b64 != false {
				t.Errorf("isBase64Encoded: %v (present %v), want false", b64, ok)
			}
		})
	}
}
