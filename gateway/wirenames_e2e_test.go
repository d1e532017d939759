package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// rawClient writes requests by hand on one keep-alive TCP connection.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	host string
}

func dialRaw(t *testing.T, gatewayURL string) *rawClient {
	t.Helper()
	host := strings.TrimPrefix(gatewayURL, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	// A safety net against a hung test, not a timing assertion.
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	return &rawClient{t: t, conn: conn, br: bufio.NewReader(conn), host: host}
}

// do sends raw (with "HOST" replaced by the gateway's address) and returns the
// status and body of the answer.
func (c *rawClient) do(raw string) (int, []byte) {
	c.t.Helper()
	c.send(strings.ReplaceAll(raw, "HOST", c.host))
	a, closes, _ := c.readResponse()
	if closes {
		c.t.Fatalf("the gateway closes the connection: %d %s", a.status, a.body)
	}
	return a.status, []byte(a.body)
}

// TestEventsKeepTheClientsHeaderSpelling sends requests by hand on one
// connection and checks that REST (payload 1.0) events carry header names as the
// client spelled them, while HTTP API (2.0) events lower-case them.
func TestEventsKeepTheClientsHeaderSpelling(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)

	var rest, httpAPI struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "spelling", "protocol": "REST", "routes": []map[string]any{
		{"method": "ANY", "path": "/echo", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}},
	}}, &rest)
	admin(t, c, "POST", "/portico/v1/apis/"+rest.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "spelling-http", "protocol": "HTTP", "routes": []map[string]any{
		{"method": "ANY", "path": "/echo", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}},
	}}, &httpAPI)
	admin(t, c, "POST", "/portico/v1/apis/"+httpAPI.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)

	// A chunked body that looks like a request with headers of its own.
	smuggled := "GET /x HTTP/1.1\r\nX-Smuggled: 1\r\nx-api-key: evil\r\n\r\n"
	body := fmt.Sprintf("%x;ext=1\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled)
	first := "POST /" + rest.ID + "/dev/echo HTTP/1.1\r\nHost: HOST\r\nx-api-key: k\r\nContent-type: text/plain\r\n" +
		"X-MiXeD: m\r\nx-rep: 1\r\nX-Rep: 2\r\ntransfer-encoding: chunked\r\n\r\n" + body
	second := "GET /" + rest.ID + "/dev/echo?n=2 HTTP/1.1\r\nhost: HOST\r\nX-MiXeD: m2\r\nx-api-key: k2\r\nContent-type: a/b\r\n" +
		"x-rep: 3\r\nx-REP: 4\r\nuser-agent: raw\r\n\r\n"

	rc := dialRaw(t, env.GatewayURL)
	for i, tc := range []struct {
		raw       string
		headers   map[string]string
		multi     map[string][]string
		body      string
		userAgent string
	}{
		{first, map[string]string{"x-api-key": "k", "Content-type": "text/plain", "X-MiXeD": "m", "x-rep": "2"},
			map[string][]string{"x-rep": {"1", "2"}, "x-api-key": {"k"}}, smuggled, ""},
		{second, map[string]string{"x-api-key": "k2", "Content-type": "a/b", "X-MiXeD": "m2", "x-rep": "4", "user-agent": "raw"},
			map[string][]string{"x-rep": {"3", "4"}}, "", "raw"},
	} {
		status, out := rc.do(tc.raw)
		if status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, status, out)
		}
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(out, &ev); err != nil {
			t.Fatalf("request %d: %v: %s", i+1, err, out)
		}
		for k, v := range tc.headers {
			if ev.Headers[k] != v {
				t.Errorf("request %d: headers[%q] = %q, want %q (headers %v)", i+1, k, ev.Headers[k], v, ev.Headers)
			}
		}
		for k, v := range tc.multi {
			if !slices.Equal(ev.MultiValueHeaders[k], v) {
				t.Errorf("request %d: multiValueHeaders[%q] = %q, want %q", i+1, k, ev.MultiValueHeaders[k], v)
			}
		}
		for _, canonical := range []string{"X-Api-Key", "Content-Type", "X-Mixed", "X-Rep", "X-Smuggled", "Transfer-Encoding"} {
			if _, ok := ev.MultiValueHeaders[canonical]; ok {
				t.Errorf("request %d: multiValueHeaders has %q", i+1, canonical)
			}
		}
		// The headers the gateway adds keep API Gateway's spelling.
		for _, added := range []string{"Host", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Amzn-Trace-Id"} {
			if ev.Headers[added] == "" || len(ev.MultiValueHeaders[added]) == 0 {
				t.Errorf("request %d: no %s in %v", i+1, added, ev.Headers)
			}
		}
		if ev.Body != tc.body || ev.RequestContext.Identity.UserAgent != tc.userAgent {
			t.Errorf("request %d: body %q, user agent %q", i+1, ev.Body, ev.RequestContext.Identity.UserAgent)
		}
	}

	// An HTTP API on the same connection still lower-cases every name.
	status, out := rc.do("GET /" + httpAPI.ID + "/dev/echo HTTP/1.1\r\nHost: HOST\r\nX-MiXeD: m\r\nx-api-key: k\r\nContent-Type: a/b\r\n\r\n")
	if status != http.StatusOK {
		t.Fatalf("HTTP API: %d %s", status, out)
	}
	var v2 events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(out, &v2); err != nil {
		t.Fatalf("HTTP API: %v: %s", err, out)
	}
	if v2.Headers["x-mixed"] != "m" || v2.Headers["x-api-key"] != "k" || v2.Headers["content-type"] != "a/b" {
		t.Errorf("HTTP API headers: %v", v2.Headers)
	}
	for k := range v2.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("HTTP API header %q is not lower-case", k)
		}
	}
}

// TestTemplatesKeepTheClientsHeaderSpelling: a REST API's mapping templates
// see header names as the client spelled them in $input.params().header, as
// the events do, while $input.params(name) still matches any case. They saw
// net/http's canonical names ("X-Api-Version"), so .get('x-api-version')
// found nothing.
func TestTemplatesKeepTheClientsHeaderSpelling(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var rest struct {
		ID string `json:"id"`
	}
	tmpl := `$input.params().header.get('x-api-version')|$!input.params().header.get('X-Api-Version')|$input.params('X-API-VERSION')|$input.params().header.get('X-MiXeD')`
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "tmpl-spelling", "protocol": "REST", "routes": []map[string]any{
		{"method": "GET", "path": "/echo", "integration": map[string]any{"type": "MOCK",
			"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
			"responses": map[string]any{"default": map[string]any{"statusCode": "200",
				"responseTemplates": map[string]string{"application/json": tmpl}}}}},
	}}, &rest)
	admin(t, c, "POST", "/portico/v1/apis/"+rest.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	rc := dialRaw(t, env.GatewayURL)
	status, out := rc.do("GET /" + rest.ID + "/dev/echo HTTP/1.1\r\nHost: HOST\r\nx-api-version: 2\r\nX-MiXeD: m\r\n\r\n")
	if status != http.StatusOK || string(out) != "2||2|m" {
		t.Errorf("template: %d %q, want 2||2|m", status, out)
	}
}
