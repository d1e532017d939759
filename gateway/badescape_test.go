package gateway

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestBadQueryEscapeRefused: a query string with a bad percent-encoding
// (%zz, a lone %) is 400 {"message":"Bad Request"} with the request id on
// every integration type of REST and HTTP APIs, as AWS_PROXY answered it;
// MOCK, HTTP and templated routes used to drop the parameter and HTTP_PROXY
// to pass it on.
func TestBadQueryEscapeRefused(t *testing.T) {
	backend, _ := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") })
	e := newEnv(t)
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{"statusCode": 200, "body": "ok"}`)}, nil
	}
	ok := map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}
	tmpl := map[string]string{"application/json": `{"q": "$input.params('a')"}`}
	routes := map[string]*apis.Integration{
		"/mock":       {Type: apis.IntegrationMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}, Responses: ok},
		"/http":       {Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL, Responses: ok},
		"/http-proxy": {Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL},
		"/aws":        {Type: apis.IntegrationAWS, HTTPMethod: "POST", URI: "function:hello", RequestTemplates: tmpl, Responses: ok},
		"/aws-proxy":  {Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"},
	}
	for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		var rs []apis.Route
		for path, in := range routes {
			if protocol == apis.ProtocolHTTP && (in.Type == apis.IntegrationMock || in.Type == apis.IntegrationHTTP || in.Type == apis.IntegrationAWS) {
				continue // REST only
			}
			rs = append(rs, apis.Route{Method: "GET", Path: path, Integration: in})
		}
		id := e.deploy(&apis.API{Name: "esc", Protocol: protocol, Definition: apis.Definition{Routes: rs}}, "dev", nil)
		for _, r := range rs {
			for _, q := range []string{"?a=%zz", "?a=%", "?b=1&a=x%2"} {
				t.Run(protocol+r.Path+q, func(t *testing.T) {
					e.do("GET", "/"+id+"/dev"+r.Path+q, nil).expectError(t, 400, "BadRequestException", "Bad Request")
				})
			}
			if got := e.do("GET", "/"+id+"/dev"+r.Path+"?a=%41%2f", nil); got.status != 200 {
				t.Errorf("%s %s with good escapes: %d %s", protocol, r.Path, got.status, got.body)
			}
		}
	}
}

// TestBadPathEscapeRefused: a path with a bad percent-encoding, which the
// request parser refuses, is 400 {"message":"Bad Request"} with the request id
// under the h1 engine (it was a bare text/plain 400 without one); the
// connection closes after it.
func TestBadPathEscapeRefused(t *testing.T) {
	c, stagePath := dialH1(t, mockAPI())
	if _, err := io.WriteString(c, "GET "+stagePath+"/mock/%zz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	r := response{resp.StatusCode, resp.Header, string(body)}
	r.expectError(t, 400, "BadRequestException", "Bad Request")
	if resp.Header.Get("x-amzn-RequestId") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !resp.Close {
		t.Errorf("headers %v (close %v)", resp.Header, resp.Close)
	}
}
