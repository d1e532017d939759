package gateway

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/wirenames"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// eventStrings are string values that exercise every escaping rule of
// encoding/json: quotes, backslashes, control characters (with and without a
// short escape), HTML characters, U+2028/U+2029, other non-ASCII text and
// invalid UTF-8.
var eventStrings = []string{
	"", "plain", `q"uote`, `back\slash`, "tab\there", "nl\ncr\r", "\b\f", "\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "line\u2028para\u2029", "héllo wörld ✓ 😀", "bad\xffutf8\xc3", "\xe2\x80",
	strings.Repeat("x", 300) + `"` + strings.Repeat("y", 300),
}

// eventCase is a request and its context as serveFunctionProxy hands them to
// the event appenders.
type eventCase struct {
	r          *http.Request
	rc         *reqCtx
	body       []byte
	vars       map[string]string
	binary     []string
	wire       wirenames.Names
	protocolV1 string
	h2         bool // an HTTP/2 request
}

// eventCases are requests covering what an event carries: methods, paths
// with escapes, stages ($default, custom domains), headers with several
// values and the client's spellings, the headers API Gateway adds or keeps,
// cookies, query strings (repeated keys, escapes, bad encodings, long ones),
// path parameters, stage variables, text, binary and invalid UTF-8 bodies,
// identities, authorizers of every kind and client certificates' absence
// over TLS.
func eventCases(t testing.TB) []eventCase {
	t.Helper()
	queries := []string{"", "q=1", "a=1&b=2&a=3", "name=J%C3%B6rg+x&empty=&flag", "&&x=1&&", "k%3D=v%26w",
		"bad=%zz", "semi=1;x=2", "%gg=1&ok=2", "z=1&y=2&x=3&z=4&y=5", strings.Repeat("p=1&", 40) + "q=2", "u=%F0%9F%98%80&i=%ff"}
	paths := []string{"/pets/7", "/", "/caf%C3%A9/a%20b", "/%E2%80%A8/%ff", "/a%2Fb"}
	bodies := [][]byte{nil, []byte(`{"a":"b \"q\" <x>"}`), []byte("plain text"), {0xff, 0x00, 0x10, 'x'}, []byte(strings.Repeat("é", 100))}
	var out []eventCase
	n := 0
	for _, s := range eventStrings {
		for _, query := range queries {
			n++
			path := paths[n%len(paths)]
			target := "http://example.com" + path
			if query != "" {
				target += "?" + query
			}
			body := bodies[n%len(bodies)]
			method := http.MethodGet
			if body != nil {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, target, bytes.NewReader(body))
			r.RemoteAddr = "10.1.2.3:5555"
			if n%7 == 0 {
				r.RemoteAddr = "[::1]:5555"
			}
			switch n % 4 {
			case 0:
				r.Host = "api.example.com:8443"
			case 1:
				r.Host = "[::1]:9000"
			case 2:
				r.Host = "h"
				r.TLS = &tls.ConnectionState{}
			}
			r.Header = http.Header{}
			r.Header.Set("User-Agent", s)
			r.Header["X-Multi"] = []string{"one", s, "three"}
			r.Header.Set("Accept", "*/*")
			r.Header.Set("X-Data-"+strconv.Itoa(n%3), s)
			switch n % 5 {
			case 0:
				r.Header.Set("Content-Type", "application/octet-stream")
			case 1:
				r.Header.Set("Content-Type", "application/json; charset=utf-8")
			case 2:
				r.Header.Set("Content-Type", "image/png")
			case 3:
				r.Header.Set("Content-Type", "bad type;;")
			}
			if n%3 == 0 {
				r.Header["X-Forwarded-For"] = []string{"1.1.1.1, 2.2.2.2", "3.3.3.3"}
				r.Header["X-Amzn-Trace-Id"] = []string{"Root=1-abc"}
				r.Header["Cookie"] = []string{"a=1; b=2", " c=" + s + " ;; "}
			}
			if n%6 == 1 {
				r.Header["X-Amzn-Trace-Id"] = []string{"", "second"}
				r.Header["X-Forwarded-Proto"] = []string{"ftp"}
				r.Header["Host"] = []string{"spoofed"}
			}
			c := &pipeline.Context{RequestID: "3b1c3d0e-1f2a-4b5c-8d9e-0123456789ab", ExtendedRequestID: "Xy1AbCdEfGhIjK=",
				RequestTime: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("x", 3600)).Add(time.Duration(n) * time.Second),
				APIID:       "a1b2c3d4e5", Stage: "dev", Protocol: apis.ProtocolREST, DomainName: "a1b2c3d4e5.execute-api.localhost",
				Path: path, Route: &apis.Route{Method: "GET", Path: "/pets/{id}", RouteKey: "GET /pets/{id}"}}
			c.Identity.SourceIP = "10.1.2.3"
			switch n % 6 {
			case 0:
				c.Stage = apis.RouteDefault
				c.Route = &apis.Route{Path: apis.RouteDefault, RouteKey: apis.RouteDefault}
			case 1:
				c.CustomDomain, c.StagePrefix, c.DomainName = true, "/base%20path", s
			case 2:
				c.Stage = "st" + strconv.Itoa(n)
				c.PathParameters = map[string]string{"id": s, "other": "x"}
			case 3:
				c.PathParameters = map[string]string{}
				c.Path = "/"
			}
			switch n % 5 {
			case 1:
				c.Authorizer = pipeline.Authorizer{Kind: "lambda", PrincipalID: "user-" + s,
					Context: map[string]any{"n": 1.5, "b": true, "s": s, "nested": map[string]any{"x": []any{1, "y"}}}}
			case 2:
				c.Authorizer = pipeline.Authorizer{Kind: "jwt", PrincipalID: "sub", Context: map[string]any{"sub": s, "n": 2.0}, Scopes: []string{"read"}}
			case 3:
				c.Authorizer = pipeline.Authorizer{Kind: "iam"}
				c.Identity = pipeline.Identity{SourceIP: "10.1.2.3", AccessKey: "AKIA", AccountID: "123456789012", Caller: s, User: "u", UserARN: "arn:" + s}
			case 4:
				c.Authorizer = pipeline.Authorizer{Kind: "lambda"}
			}
			ec := eventCase{r: r, rc: &reqCtx{Context: c}, body: body}
			if n%2 == 0 {
				ec.vars = map[string]string{"alias": "live", "v": s}
			} else if n%4 == 1 {
				ec.vars = map[string]string{}
			}
			if n%3 == 1 {
				ec.binary = []string{"image/*", "application/octet-stream"}
			}
			if n%4 == 3 {
				ec.wire = wirenames.Names{"user-agent", "x-MULTI", "x-forwarded-for", "accept"}
			}
			if n%8 == 5 {
				ec.protocolV1 = apis.ProtocolHTTP // an HTTP API with payload 1.0
			}
			if n%7 == 3 || n%7 == 5 {
				ec.h2 = true
			}
			out = append(out, ec)
		}
	}
	return out
}

// TestEventAppendersMatchBuilders: the appenders write byte for byte what
// encoding/json writes for the events the builders fill, and refuse what
// they refuse with the same error.
func TestEventAppendersMatchBuilders(t *testing.T) {
	for i, ec := range eventCases(t) {
		checkEventCase(t, i, ec)
	}
}

func checkEventCase(t *testing.T, i int, ec eventCase) {
	t.Helper()
	r := ec.r
	if ec.wire != nil {
		r = r.WithContext(wirenames.With(r.Context(), ec.wire))
	}
	if ec.h2 {
		r = r.Clone(r.Context())
		r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	}
	rc := *ec.rc
	c := *rc.Context
	rc.Context = &c
	if ec.protocolV1 != "" {
		c.Protocol = ec.protocolV1
	}
	ev1, err1 := buildV1(r, &rc, ec.body, ec.vars, ec.binary)
	got1, gerr1 := appendEventV1(nil, r, &rc, ec.body, ec.vars, ec.binary)
	compareEvent(t, "v1", i, r, asSentV1(ev1, c.Protocol), err1, got1, gerr1)

	c.Protocol = apis.ProtocolHTTP
	ev2, err2 := buildV2(r, &rc, ec.body, ec.vars)
	got2, gerr2 := appendEventV2(nil, r, &rc, ec.body, ec.vars)
	var v2 any = ev2
	if err2 == nil && ev2.RequestContext.Authentication == (events.APIGatewayV2HTTPRequestContextAuthentication{}) {
		v2 = withoutAuthentication{ev2} // as API Gateway leaves it out without a client certificate
	}
	compareEvent(t, "v2", i, r, v2, err2, got2, gerr2)
}

// withoutAuthentication marshals a payload 2.0 event without
// requestContext.authentication, which aws-lambda-go's struct always has.
type withoutAuthentication struct {
	ev *events.APIGatewayV2HTTPRequest
}

func (w withoutAuthentication) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(w.ev)
	empty := `,"authentication":{"clientCert":{"clientCertPem":"","issuerDN":"","serialNumber":"","subjectDN":"","validity":{"notAfter":"","notBefore":""}}}`
	return bytes.Replace(b, []byte(empty), nil, 1), err
}

func compareEvent(t *testing.T, kind string, i int, r *http.Request, ev any, err error, got []byte, gotErr error) {
	t.Helper()
	if err != nil || gotErr != nil {
		if err == nil || gotErr == nil || err.Error() != gotErr.Error() {
			t.Errorf("%s case %d (%s %s): builder error %v, appender error %v", kind, i, r.Method, r.URL, err, gotErr)
		}
		return
	}
	want, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s case %d (%s %s):\n got %s\nwant %s", kind, i, r.Method, r.URL, got, want)
	}
}

// FuzzEventStrings checks the string escaping against encoding/json, and the
// appenders against the builders with the string in every place a request
// can put it.
func FuzzEventStrings(f *testing.F) {
	for _, s := range eventStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
		if got := appendJSONString(nil, []byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString([]byte(%q)) = %s, want %s", s, got, want)
		}
		for cut := 0; cut <= len(s); cut++ {
			if got := appendJSONStrings(nil, s[:cut], s[cut:]); !bytes.Equal(got, want) {
				t.Fatalf("appendJSONStrings(%q, %q) = %s, want %s", s[:cut], s[cut:], got, want)
			}
		}
		r := httptest.NewRequest(http.MethodPost, "http://h/p?q="+url.QueryEscape(s)+"&"+url.QueryEscape(s)+"=1", strings.NewReader(s))
		r.Header = http.Header{"User-Agent": {s}, "X-S": {s, s}}
		if k := http.CanonicalHeaderKey(s); k != "" {
			r.Header[k] = []string{s}
		}
		c := &pipeline.Context{Stage: "dev", Protocol: apis.ProtocolREST, Path: "/" + s, DomainName: s,
			Route: &apis.Route{Path: "/{x}", RouteKey: "ANY /{x}"}, PathParameters: map[string]string{"x": s}}
		c.Identity.SourceIP = s
		checkEventCase(t, 0, eventCase{r: r, rc: &reqCtx{Context: c}, body: []byte(s), vars: map[string]string{s: s}})
	})
}

// TestRESTEventCarriesTheAdmittedAPIKey: a REST proxy event names the API key
// the request was admitted with in requestContext.identity (apiKey and
// apiKeyId), as $context.identity.apiKey does in templates.
func TestRESTEventCarriesTheAdmittedAPIKey(t *testing.T) {
	ec := eventCases(t)[0]
	rc := *ec.rc
	c := *rc.Context
	rc.Context = &c
	c.Protocol = apis.ProtocolREST
	c.Identity.APIKey, c.Identity.APIKeyID = "key-value-0123456789abcdef", "k1d"
	got, err := appendEventV1(nil, ec.r, &rc, ec.body, ec.vars, ec.binary)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(got, &ev); err != nil {
		t.Fatal(err)
	}
	if id := ev.RequestContext.Identity; id.APIKey != "key-value-0123456789abcdef" || id.APIKeyID != "k1d" {
		t.Errorf("identity %+v, want the admitted key's value and id", id)
	}
	checkEventCase(t, 0, eventCase{r: ec.r, rc: &rc, body: ec.body, vars: ec.vars, binary: ec.binary})
}
