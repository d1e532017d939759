package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/invoker"
)

// TestListenersKeepHeaderSpellings sends requests by hand through the real
// plain listener of each engine that keeps spellings (h1, which reads them from
// its own parse, and net/http with the wirenames recorder) and checks the
// header names of the REST (payload 1.0) events: a plain request (which h1's
// fast path parses), requests h1 hands to net/http's reader (a chunked body
// with lower-case framing fields, bare-LF line ends, an escaped path) and a
// canonical one after them, each alone on one connection and then all
// pipelined in one write.
func TestListenersKeepHeaderSpellings(t *testing.T) {
	reqs := []struct {
		raw  string
		want []string // the event's header names, but for those the gateway adds
	}{
		{"GET /ID/dev/echo/a?q=%41 HTTP/1.1\r\nHost: HOST\r\nx-api-key: k\r\nContent-type: a/b\r\nX-MiXeD: m\r\nx-rep: 1\r\nX-Rep: 2\r\n\r\n",
			[]string{"Content-type", "X-MiXeD", "x-api-key", "x-rep"}},
		{"POST /ID/dev/echo/a HTTP/1.1\r\nhost: HOST\r\nx-api-key: k\r\ntransfer-encoding: chunked\r\nAccept: */*\r\nuser-AGENT: u\r\n\r\n" +
			"5\r\nhello\r\n0\r\n\r\n", []string{"Accept", "user-AGENT", "x-api-key"}},
		{"GET /ID/dev/echo/a HTTP/1.1\nHost: HOST\nx-lf: 1\nX-Two: 2\n\n", []string{"X-Two", "x-lf"}},
		{"GET /ID/dev/echo/a%20b HTTP/1.1\r\nHost: HOST\r\nx-esc: 1\r\nX-ESC: 2\r\nContent-Length: 0\r\n\r\n", []string{"Content-Length", "x-esc"}},
		{"GET /ID/dev/echo/a HTTP/1.1\r\nHost: HOST\r\nX-Api-Key: k\r\nContent-Type: a/b\r\n\r\n", []string{"Content-Type", "X-Api-Key"}},
	}
	for _, engine := range []string{EngineH1, EngineNetHTTP} {
		t.Run(strings.ReplaceAll(engine, "/", "-"), func(t *testing.T) {
			_, svc := gwtest.APIs(t)
			id := gwtest.Deploy(t, svc, &apis.API{Name: "spell", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "ANY", Path: "/echo/{p}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}},
			}}}, apis.DeployInput{StageName: "dev"}).ID
			inv := &fakeInvoker{handle: func(req invoker.Request) (*invoker.Result, error) {
				out, _ := json.Marshal(events.APIGatewayProxyResponse{StatusCode: 200, Body: string(req.Payload)})
				return &invoker.Result{Payload: out}, nil
			}}
			gw := New(Config{Listen: "127.0.0.1:0", Engine: engine}, svc, &fakeResolver{}, inv, nil)
			s := NewServer(gw, nil, listener.Limits{})
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Stop(context.Background()) })
			addr := strings.TrimPrefix(s.URL(), "http://")
			raw := func(i int) string {
				return strings.NewReplacer("HOST", addr, "/ID/", "/"+id+"/").Replace(reqs[i].raw)
			}
			check := func(what string, i int, ev events.APIGatewayProxyRequest) {
				var got []string
				for k := range ev.MultiValueHeaders {
					if !gatewayAdded[k] {
						got = append(got, k)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, reqs[i].want) {
					t.Errorf("%s request %d: header names %q, want %q", what, i+1, got, reqs[i].want)
				}
				for k := range ev.Headers {
					if !gatewayAdded[k] && !slices.Contains(reqs[i].want, k) {
						t.Errorf("%s request %d: headers has %q", what, i+1, k)
					}
				}
			}
			one := dialSpell(t, addr)
			for i := range reqs {
				check("alone", i, one.exchange(t, raw(i), 1)[0])
			}
			var all strings.Builder
			for i := range reqs {
				all.WriteString(raw(i))
			}
			for i, ev := range dialSpell(t, addr).exchange(t, all.String(), len(reqs)) {
				check("pipelined", i, ev)
			}
		})
	}
}

// gatewayAdded are the headers the gateway adds to events.
var gatewayAdded = map[string]bool{"Host": true, "X-Forwarded-For": true, "X-Forwarded-Port": true, "X-Forwarded-Proto": true, "X-Amzn-Trace-Id": true}

type spellConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialSpell(t *testing.T, addr string) *spellConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute)) // a safety net, not a timing
	return &spellConn{c: c, br: bufio.NewReader(c)}
}

// exchange writes raw and reads n answers, each a REST event.
func (sc *spellConn) exchange(t *testing.T, raw string, n int) []events.APIGatewayProxyRequest {
	t.Helper()
	if _, err := io.WriteString(sc.c, raw); err != nil {
		t.Fatal(err)
	}
	out := make([]events.APIGatewayProxyRequest, n)
	for i := range out {
		resp, err := http.ReadResponse(sc.br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("answer %d: %d %s %v", i+1, resp.StatusCode, body, err)
		}
		if err := json.Unmarshal(body, &out[i]); err != nil {
			t.Fatalf("answer %d: %v: %s", i+1, err, body)
		}
	}
	return out
}
