package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
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

// v1Events are REST events covering every field's encodings: nil, empty and
// filled collections, optional identity fields, authorizer, client certificate.
func v1Events() []*events.APIGatewayProxyRequest {
	var out []*events.APIGatewayProxyRequest
	for i, s := range eventStrings {
		ev := &events.APIGatewayProxyRequest{Resource: "/pets/{id}", Path: "/pets/" + s, HTTPMethod: "GET", Body: s, IsBase64Encoded: i%2 == 1}
		ev.RequestContext = events.APIGatewayProxyRequestContext{AccountID: "000000000000", ResourceID: "abc123", Stage: "dev",
			DomainName: s, DomainPrefix: "x", RequestID: "id", ExtendedRequestID: "ext", Protocol: "HTTP/1.1",
			Identity:     events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1", UserAgent: s},
			ResourcePath: "/pets/{id}", Path: "/dev/pets/1", HTTPMethod: "GET", RequestTime: "01/Jan/2026:00:00:00 +0000",
			RequestTimeEpoch: 1767225600000 + int64(i), APIID: "a1b2c3d4e5"}
		switch i % 4 {
		case 0: // every collection nil
		case 1:
			ev.Headers = map[string]string{}
			ev.MultiValueHeaders = map[string][]string{}
			ev.QueryStringParameters = map[string]string{}
			ev.MultiValueQueryStringParameters = map[string][]string{}
			ev.PathParameters = map[string]string{}
			ev.StageVariables = map[string]string{}
			ev.RequestContext.Authorizer = map[string]any{}
		default:
			ev.Headers = map[string]string{"Host": "h", "X-Z": s, "a-lower": "1", s: "key is data"}
			ev.MultiValueHeaders = map[string][]string{"Host": {"h"}, "X-Z": {s, "two"}, "empty": {}, "nil": nil}
			ev.QueryStringParameters = map[string]string{"q": s, "k": ""}
			ev.MultiValueQueryStringParameters = map[string][]string{"q": {s, s}}
			ev.PathParameters = map[string]string{"id": s}
			ev.StageVariables = map[string]string{"alias": "live", "z": s}
			ev.RequestContext.OperationName = "op" + s
			ev.RequestContext.Authorizer = map[string]any{"principalId": s, "n": 1.5, "b": true, "nested": map[string]any{"x": []any{1, "y"}}}
			ev.RequestContext.Identity = events.APIGatewayRequestIdentity{CognitoIdentityPoolID: "p", AccountID: "a", CognitoIdentityID: "c",
				Caller: s, APIKey: "k", APIKeyID: "kid", AccessKey: "ak", SourceIP: "10.0.0.1", CognitoAuthenticationType: "t",
				CognitoAuthenticationProvider: "pr", UserArn: "arn", UserAgent: "ua", User: "u",
				ClientCert: &events.APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCert{ClientCertPem: s, SubjectDN: "CN=x", IssuerDN: "CN=y",
					SerialNumber: "01:02", Validity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCertValidity{NotBefore: "a", NotAfter: "b"}}}
		}
		out = append(out, ev)
	}
	return out
}

func v2Events() []*events.APIGatewayV2HTTPRequest {
	var out []*events.APIGatewayV2HTTPRequest
	for i, s := range eventStrings {
		ev := &events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /pets/{id}", RawPath: "/dev/pets/" + s, RawQueryString: s,
			Headers: map[string]string{"host": "h", "x": s}, Body: s, IsBase64Encoded: i%2 == 0}
		ev.RequestContext = events.APIGatewayV2HTTPRequestContext{RouteKey: "GET /pets/{id}", AccountID: "000000000000", Stage: "$default",
			RequestID: "rid", APIID: "a1b2c3d4e5", DomainName: s, DomainPrefix: "d", Time: "01/Jan/2026:00:00:00 +0000", TimeEpoch: int64(i),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/pets/" + s, Protocol: "HTTP/1.1", SourceIP: "::1", UserAgent: s}}
		switch i % 4 {
		case 0:
			ev.Headers = nil
		case 1:
			ev.Cookies = []string{}
			ev.QueryStringParameters = map[string]string{}
			ev.PathParameters = map[string]string{}
			ev.StageVariables = map[string]string{}
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{}}
		case 2:
			ev.Cookies = []string{"a=1", s}
			ev.QueryStringParameters = map[string]string{"q": s}
			ev.PathParameters = map[string]string{"id": s}
			ev.StageVariables = map[string]string{"v": s}
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": s}, Scopes: []string{"read"}}}
			ev.RequestContext.Authentication = events.APIGatewayV2HTTPRequestContextAuthentication{ClientCert: events.APIGatewayV2HTTPRequestContextAuthenticationClientCert{
				ClientCertPem: s, SubjectDN: "CN=x", Validity: events.APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity{NotAfter: "n"}}}
		case 3:
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{AccessKey: "ak", UserARN: s}}
		}
		out = append(out, ev)
	}
	return out
}

// TestEventEncodingMatchesEncodingJSON: the appending encoders write exactly
// what json.Marshal writes for the same event.
func TestEventEncodingMatchesEncodingJSON(t *testing.T) {
	for i, ev := range v1Events() {
		checkSameJSON(t, "v1", i, ev, func() ([]byte, error) { return marshalV1(ev) })
	}
	for i, ev := range v2Events() {
		checkSameJSON(t, "v2", i, ev, func() ([]byte, error) { return marshalV2(ev) })
	}
}

func checkSameJSON(t *testing.T, kind string, i int, ev any, enc func() ([]byte, error)) {
	t.Helper()
	want, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := enc()
	if err != nil {
		t.Fatalf("%s event %d: %v", kind, i, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s event %d:\n got %s\nwant %s", kind, i, got, want)
	}
}

// FuzzEventStrings checks the string escaping against encoding/json.
func FuzzEventStrings(f *testing.F) {
	for _, s := range eventStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
		ev := &events.APIGatewayProxyRequest{Path: s, Headers: map[string]string{s: s, "a": s}, Body: s}
		checkSameJSON(t, "v1", 0, ev, func() ([]byte, error) { return marshalV1(ev) })
	})
}
