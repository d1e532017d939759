package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/listener"
)

// TestOverrideHeaderControlCharacters: a client's value that a template
// copies into a response header ($context.responseOverride.header) with a NUL,
// a DEL or another control character goes out with each such character a
// space, as CR and LF already do, under the h1 engine: the head stays whole
// (it was cut at the NUL, and the client dropped the answer).
func TestOverrideHeaderControlCharacters(t *testing.T) {
	a := &apis.API{Name: "ctl", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/m", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{
				"application/json": `#set($context.responseOverride.header.X-Q = $input.params('q'))ok`}}}}},
	}}}
	c, stagePath := dialH1(t, a)
	br := bufio.NewReader(c)
	for q, want := range map[string]string{"a%00b": "a b", "a%7Fb": "a b", "a%1Bb%0D%0ASet-Cookie:%20x=1": "a b  Set-Cookie: x=1", "a%09b": "a\tb"} {
		if _, err := io.WriteString(c, "GET "+stagePath+"/m?q="+q+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("q=%s: %v", q, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" || resp.Header.Get("X-Q") != want || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("q=%s: %d %v %q; want 200, X-Q %q", q, resp.StatusCode, resp.Header, body, want)
		}
	}
}

// dialH1 deploys a to a gateway served by the h1 engine and returns a raw
// connection to it (closed with the test) and the stage's path.
func dialH1(t *testing.T, a *apis.API) (net.Conn, string) {
	t.Helper()
	svc, stagePath := benchCreate(t, a, nil)
	gw := New(Config{Listen: "127.0.0.1:0", Engine: EngineH1}, svc, nil, nil, nil)
	s := NewServer(gw, nil, listener.Limits{})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
	return c, stagePath
}
