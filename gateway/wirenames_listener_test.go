package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
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
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/invoker"
)

// spellRequest is a raw request to the API of spellAPI (HOST and ID stand for
// the listener's address and the API's id) and the header names of its REST
// event, but for those the gateway adds.
type spellRequest struct {
	raw  string
	want []string
}

// spellRequests: a plain request (which h1's fast path parses), requests h1
// hands to net/http's reader (a chunked body with lower-case framing fields,
// bare-LF line ends, an escaped path) and a canonical one after them.
var spellRequests = []spellRequest{
	{"GET /ID/dev/echo/a?q=%41 HTTP/1.1\r\nHost: HOST\r\nx-api-key: k\r\nContent-type: a/b\r\nX-MiXeD: m\r\nx-rep: 1\r\nX-Rep: 2\r\n\r\n",
		[]string{"Content-type", "X-MiXeD", "x-api-key", "x-rep"}},
	{"POST /ID/dev/echo/a HTTP/1.1\r\nhost: HOST\r\nx-api-key: k\r\ntransfer-encoding: chunked\r\nAccept: */*\r\nuser-AGENT: u\r\n\r\n" +
		"5\r\nhello\r\n0\r\n\r\n", []string{"Accept", "user-AGENT", "x-api-key"}},
	{"GET /ID/dev/echo/a HTTP/1.1\nHost: HOST\nx-lf: 1\nX-Two: 2\n\n", []string{"X-Two", "x-lf"}},
	{"GET /ID/dev/echo/a%20b HTTP/1.1\r\nHost: HOST\r\nx-esc: 1\r\nX-ESC: 2\r\nContent-Length: 0\r\n\r\n", []string{"Content-Length", "x-esc"}},
	{"GET /ID/dev/echo/a HTTP/1.1\r\nHost: HOST\r\nX-Api-Key: k\r\nContent-Type: a/b\r\n\r\n", []string{"Content-Type", "X-Api-Key"}},
}

// spellAPI is a REST API whose /echo/{p} invokes a function (see echoEvent).
func spellAPI() *apis.API {
	return &apis.API{Name: "spell", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/echo/{p}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}},
	}}}
}

// echoEvent is a fake function that answers with the event it received.
func echoEvent(req invoker.Request) (*invoker.Result, error) {
	out, _ := json.Marshal(events.APIGatewayProxyResponse{StatusCode: 200, Body: string(req.Payload)})
	return &invoker.Result{Payload: out}, nil
}

// checkSpellings sends spellRequests over the connections dial returns, each
// alone on one connection and then all pipelined in one write, and checks the
// header names of their events; each event must also say X-Forwarded-Proto
// proto. Under an engine other than h1 the chunked request is left out.
func checkSpellings(t *testing.T, dial func() *spellConn, addr, id, proto, engine string) {
	t.Helper()
	reqs := spellRequests
	if engine != EngineH1 {
		// net/http's server refuses chunked requests (refuseStdFraming).
		reqs = slices.DeleteFunc(slices.Clone(reqs), func(r spellRequest) bool { return strings.Contains(r.raw, "transfer-encoding") })
	}
	raw := func(i int) string {
		return strings.NewReplacer("HOST", addr, "/ID/", "/"+id+"/").Replace(reqs[i].raw)
	}
	check := func(what string, i int, ev events.APIGatewayProxyRequest) {
		t.Helper()
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
		if got := ev.Headers["X-Forwarded-Proto"]; got != proto {
			t.Errorf("%s request %d: X-Forwarded-Proto %q, want %q", what, i+1, got, proto)
		}
	}
	one := dial()
	for i := range reqs {
		check("alone", i, one.exchange(t, raw(i), 1)[0])
	}
	var all strings.Builder
	for i := range reqs {
		all.WriteString(raw(i))
	}
	for i, ev := range dial().exchange(t, all.String(), len(reqs)) {
		check("pipelined", i, ev)
	}
}

// TestListenersKeepHeaderSpellings sends requests by hand through the real
// plain listener of each engine that keeps spellings (h1, which reads them from
// its own parse, and net/http with the wirenames recorder) and checks the
// header names of the REST (payload 1.0) events (checkSpellings).
func TestListenersKeepHeaderSpellings(t *testing.T) {
	for _, engine := range []string{EngineH1, EngineNetHTTP} {
		t.Run(strings.ReplaceAll(engine, "/", "-"), func(t *testing.T) {
			_, svc := gwtest.APIs(t)
			id := gwtest.Deploy(t, svc, spellAPI(), apis.DeployInput{StageName: "dev"}).ID
			inv := &fakeInvoker{handle: echoEvent}
			gw := New(Config{Listen: "127.0.0.1:0", Engine: engine}, svc, &fakeResolver{}, inv, nil)
			s := NewServer(gw, nil, listener.Limits{})
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Stop(context.Background()) })
			addr := strings.TrimPrefix(s.URL(), "http://")
			checkSpellings(t, func() *spellConn { return dialSpell(t, addr) }, addr, id, "http", engine)
		})
	}
}

// TestHTTPSKeepsHeaderSpellings sends the same requests over HTTP/1.1 through
// the real TLS listener, with a TLS client that offers http/1.1 by ALPN and
// with one that offers nothing, whatever the plain listener's engine: REST
// events spell the names as the client did, and still say https.
func TestHTTPSKeepsHeaderSpellings(t *testing.T) {
	for _, engine := range []string{EngineH1, EngineNetHTTP} {
		t.Run(strings.ReplaceAll(engine, "/", "-"), func(t *testing.T) {
			e := newTLSEnv(t, Config{Engine: engine}, edge.Config{})
			e.inv.handle = echoEvent
			id := e.deploy(spellAPI(), "dev")
			_, port, _ := net.SplitHostPort(e.srv.TLSAddr())
			for _, alpn := range [][]string{{"http/1.1"}, nil} {
				dial := func() *spellConn {
					c, err := tls.Dial("tcp", e.srv.TLSAddr(), &tls.Config{RootCAs: e.pool, ServerName: "localhost", NextProtos: alpn})
					if err != nil {
						t.Fatal(err)
					}
					if p := c.ConnectionState().NegotiatedProtocol; p == "h2" {
						t.Fatalf("ALPN %q negotiated %q", alpn, p)
					}
					return newSpellConn(t, c)
				}
				checkSpellings(t, dial, "localhost:"+port, id, "https", engine)
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
	return newSpellConn(t, c)
}

func newSpellConn(t *testing.T, c net.Conn) *spellConn {
	t.Helper()
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
