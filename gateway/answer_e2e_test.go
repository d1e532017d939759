package gateway_test

import (
	"bufio"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/testkit"
)

// send writes reqs on the connection at once.
func (c *rawClient) send(reqs ...string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, strings.Join(reqs, "")); err != nil {
		c.t.Fatal(err)
	}
}

// readResponse reads one answer: its status, header and body, whether it
// closes the connection, and whether Content-Length framed its body.
func (c *rawClient) readResponse() (a answer, closes, framed bool) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	framed = resp.ContentLength == int64(len(body)) && len(resp.TransferEncoding) == 0
	return answer{resp.StatusCode, resp.Header, string(body)}, resp.Close, framed
}

// read reads one answer; its body must be framed by Content-Length.
func (c *rawClient) read() answer {
	c.t.Helper()
	a, _, framed := c.readResponse()
	if !framed {
		c.t.Fatalf("an answer not framed by Content-Length: %v", a.header)
	}
	return a
}

// TestFunctionAnsweredFromItsResult checks the gateway's answer path for
// AWS_PROXY integrations: a warm function's result is answered to the client by
// the goroutine that reads it, with every stage's part in the answer (CORS
// headers, the status and length in the access log, the integration's latency)
// and the access log line written even when the client then sends nothing;
// function errors, results that are not proxy responses, compressed answers,
// pipelined requests and Connection: close take the usual path and are
// answered as before.
func TestFunctionAnsweredFromItsResult(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	apiID, answered := answeredAPI(t, env, map[string]any{"name": "answered", "protocol": "HTTP",
		"corsConfiguration": map[string]any{"allowOrigins": []string{"https://app.example"}, "exposeHeaders": []string{"x-probe-version"}}}, nil)
	logFile := filepath.Join(t.TempDir(), "dev.log")
	admin(t, env.Client(), "PUT", "/portico/v1/apis/"+apiID+"/stages/dev/access-log", nil, map[string]string{"destinationArn": "file://" + logFile,
		"format": `$context.requestId $context.status $context.responseLength $context.integrationLatency $context.responseLatency`}, nil)
	req := func(query string, hdr ...string) string {
		return "GET /" + apiID + "/dev/probe" + query + " HTTP/1.1\r\nHost: gw\r\nOrigin: https://app.example\r\n" + strings.Join(hdr, "") + "\r\n"
	}
	probe := func(what string, a answer) {
		t.Helper()
		var ev struct {
			RouteKey string `json:"routeKey"`
		}
		if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil || ev.RouteKey != "GET /probe" {
			t.Fatalf("%s: %d %.200s", what, a.status, a.body)
		}
		if a.header.Get("Access-Control-Allow-Origin") != "https://app.example" || a.header.Get("Access-Control-Expose-Headers") != "x-probe-version" ||
			a.header.Get("X-Probe-Version") != "$LATEST" || a.header.Get("Apigw-Requestid") == "" || a.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: headers %v", what, a.header)
		}
	}

	// Warm it up, then calls on one connection until four were answered by
	// the result's goroutine (most are).
	get(t, "GET", env.GatewayURL+"/"+apiID+"/dev/probe", "")
	rc := dialRaw(t, env.GatewayURL)
	var ids []string
	lengths := map[string]int{}
	untilAnswered(t, answered, 4, func(i int) {
		rc.send(req(""))
		a := rc.read()
		probe("call "+strconv.Itoa(i), a)
		id := a.header.Get("Apigw-Requestid") // an HTTP API's $context.requestId
		ids, lengths[id] = append(ids, id), len(a.body)
	})

	// The client now sends nothing: the last call's handlers finish all the
	// same, and every call is in the access log with the answer's status and
	// length, its integration's latency within its own.
	// (The warm-up call may be logged or not: the stage's access log setting
	// reaches the gateway in the background, so wait for the calls' own lines.)
	lines := waitIDLines(t, logFile, ids)
	for _, id := range ids {
		var f []string
		for _, l := range lines {
			if strings.HasPrefix(l, id+" ") {
				f = strings.Fields(l)
			}
		}
		if len(f) != 5 || f[1] != "200" || f[2] != strconv.Itoa(lengths[id]) {
			t.Fatalf("access log line of %s: %q in\n%s", id, f, strings.Join(lines, "\n"))
		}
		integration, err1 := strconv.Atoi(f[3])
		total, err2 := strconv.Atoi(f[4])
		if err1 != nil || err2 != nil || integration > total {
			t.Fatalf("access log line of %s: integration latency %s over the response's %s", id, f[3], f[4])
		}
	}

	// A payload 2.0 result without a statusCode is a 200 with it as the body,
	// answered the same way.
	untilAnswered(t, answered, 1, func(int) {
		rc.send(req("?bad=1"))
		if a := rc.read(); a.status != 200 || a.body != `{"status":"not a proxy response"}` {
			t.Fatalf("?bad=1: %d %s", a.status, a.body)
		}
	})
	// What the answer path leaves to the request's own goroutine: a function
	// error, the first of two pipelined requests.
	before := answered.Load()
	rc.send(req("?fail=1"))
	if a := rc.read(); a.status != 502 || a.body != `{"message":"Internal Server Error"}` || a.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("?fail=1: %d %s %v", a.status, a.body, a.header)
	}
	if n := answered.Load() - before; n != 0 {
		t.Fatalf("a function error answered from the result's goroutine")
	}
	rc.send(req(""), req(""))
	probe("pipelined first", rc.read())
	probe("pipelined second", rc.read())
	if n := answered.Load() - before; n > 1 {
		t.Fatalf("%d answers from the result's goroutine for two pipelined requests", n)
	}
	rc.send(req("", "Connection: close\r\n"))
	probe("closing", rc.read())
	if _, err := rc.br.ReadByte(); err != io.EOF {
		t.Fatalf("the connection was not closed after Connection: close: %v", err)
	}
	rc2 := dialRaw(t, env.GatewayURL)
	rc2.send(req(""))
	probe("after", rc2.read())
}

// TestCompressedFunctionAnswer checks that a REST API's compression, which
// holds the response until the handler returns, keeps function results on
// the request's goroutine when it compresses, and not when the client does not
// ask for it.
func TestCompressedFunctionAnswer(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	apiID, answered := answeredAPI(t, env, map[string]any{"name": "zipped", "protocol": "REST", "minimumCompressionSize": 0}, nil)
	req := "GET /" + apiID + "/dev/probe HTTP/1.1\r\nHost: gw\r\n"
	get(t, "GET", env.GatewayURL+"/"+apiID+"/dev/probe", "") // warm
	rc := dialRaw(t, env.GatewayURL)
	before := answered.Load()
	for range 3 {
		rc.send(req + "Accept-Encoding: gzip\r\n\r\n")
		a := rc.read()
		if a.status != 200 || a.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("gzip: %d %v", a.status, a.header)
		}
		zr, err := gzip.NewReader(strings.NewReader(a.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !strings.Contains(string(plain), `"resource":"/probe"`) {
			t.Fatalf("gzip body: %v %.200s", err, plain)
		}
	}
	if n := answered.Load() - before; n != 0 {
		t.Fatalf("%d compressed answers written from the result's goroutine", n)
	}
	untilAnswered(t, answered, 2, func(int) {
		rc.send(req + "\r\n")
		if a := rc.read(); a.status != 200 || a.header.Get("Content-Encoding") != "" || !strings.Contains(a.body, `"resource":"/probe"`) {
			t.Fatalf("plain: %d %v %.200s", a.status, a.header, a.body)
		}
	})
	// A payload 1.0 result that is not a proxy response is the request's
	// goroutine's to answer (502).
	before = answered.Load()
	rc.send("GET /" + apiID + "/dev/probe?bad=1 HTTP/1.1\r\nHost: gw\r\n\r\n")
	if a := rc.read(); a.status != 502 || a.body != `{"message": "Internal server error"}` || answered.Load() != before {
		t.Fatalf("?bad=1: %d %s, answered %d", a.status, a.body, answered.Load()-before)
	}
}

// TestTemplatedFunctionAnswered checks the answer path for a non-proxy AWS
// integration: the default integration response's template and header
// mapping rendered and written by the result's goroutine; a function error,
// selected by its message, is the request goroutine's to answer.
func TestTemplatedFunctionAnswered(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	apiID, answered := answeredAPI(t, env, map[string]any{"name": "templated", "protocol": "REST"}, map[string]any{
		"type": "AWS", "uri": "function:probe", "httpMethod": "POST",
		"requestTemplates": map[string]string{"application/json": `{"queryStringParameters": {"fail": "$input.params('fail')"}}`},
		"responses": map[string]any{
			"default": map[string]any{"statusCode": "200",
				"responseTemplates":  map[string]string{"application/json": `{"status": $input.path('$.statusCode'), "fail": "$input.path('$.body')"}`},
				"responseParameters": map[string]string{"method.response.header.X-Version": "integration.response.body.headers.X-Probe-Version"}},
			"probe failed.*": map[string]any{"statusCode": "400",
				"responseTemplates": map[string]string{"application/json": `{"failed": "$input.path('$.errorMessage')"}`}},
		}})
	req := func(query string) string {
		return "GET /" + apiID + "/dev/probe" + query + " HTTP/1.1\r\nHost: gw\r\n\r\n"
	}
	get(t, "GET", env.GatewayURL+"/"+apiID+"/dev/probe", "") // warm
	rc := dialRaw(t, env.GatewayURL)
	untilAnswered(t, answered, 4, func(i int) {
		rc.send(req(""))
		a := rc.read()
		if a.status != 200 || !strings.HasPrefix(a.body, `{"status": 200, "fail": "{`) || a.header.Get("X-Version") != "$LATEST" ||
			a.header.Get("Content-Type") != "application/json" {
			t.Fatalf("call %d: %d %v %.200s", i, a.status, a.header, a.body)
		}
	})
	before := answered.Load()
	rc.send(req("?fail=1"))
	if a := rc.read(); a.status != 400 || a.body != `{"failed": "probe failed on request"}` {
		t.Fatalf("?fail=1: %d %s", a.status, a.body)
	}
	if n := answered.Load() - before; n != 0 {
		t.Fatal("a function error answered from the result's goroutine")
	}
	untilAnswered(t, answered, 1, func(int) {
		rc.send(req(""))
		if a := rc.read(); a.status != 200 {
			t.Fatalf("after the error: %d %s", a.status, a.body)
		}
	})
}

// untilAnswered makes calls (each checks its own answer) until want of them
// were answered from their result's goroutine, and fails after maxCalls.
// Which calls are depends on scheduling (whether the runtime's next poll is
// parked before the client's next request reaches the invoker, which a loaded
// machine can turn either way), not on what is answered: so the test bounds
// the calls it takes rather than asserting that particular ones were, and a
// path that never answers from the result fails.
func untilAnswered(t *testing.T, answered *atomic.Int32, want int32, call func(i int)) {
	t.Helper()
	const maxCalls = 40
	before := answered.Load()
	for i := range maxCalls {
		call(i)
		if answered.Load()-before >= want {
			return
		}
	}
	t.Fatalf("%d of %d warm calls answered from their result's goroutine, want %d", answered.Load()-before, maxCalls, want)
}

// answeredAPI creates the probe function and an API (create is its create
// request's body) whose GET /probe invokes it through integration (nil:
// AWS_PROXY), deployed to stage dev. It returns the API's id and the count of its requests answered from
// their result's goroutine.
func answeredAPI(t *testing.T, env *apptest.Env, create, integration map[string]any) (string, *atomic.Int32) {
	t.Helper()
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, create, &api)
	base := "/portico/v1/apis/" + api.ID
	if integration == nil {
		integration = map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}
	}
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/probe", "integration": integration}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	answered := new(atomic.Int32)
	gateway.SetAnsweredHook(t, func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/"+api.ID+"/") {
			answered.Add(1)
		}
	})
	return api.ID, answered
}

// waitIDLines waits until path holds a line starting with each of ids and
// returns its lines: waitLines for lines whose count is not known.
func waitIDLines(t *testing.T, path string, ids []string) []string {
	t.Helper()
	var lines []string
	for i := 0; i < 2000; i++ {
		raw, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		missing := 0
		for _, id := range ids {
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, id+" ") }) {
				missing++
			}
		}
		if missing == 0 {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s lacks a line of some of %v:\n%s", path, ids, strings.Join(lines, "\n"))
	return nil
}

// TestFunctionAnsweredOverHTTPS checks the answer path on the TLS listener:
// HTTP/1.1 requests over TLS are answered by the result's goroutine as over
// plain HTTP, with the event saying https; two requests whose records arrive
// together (crypto/tls holds the second: h1's TestNewParkRefusesWhatTLSHolds
// holds the Park to refusing the first) are both answered; HTTP/2 requests
// are served by internal/h2 and answered by their own goroutine.
func TestFunctionAnsweredOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	pool := apptest.DevCA(t, dir)
	var gw *gateway.Server
	env := apptest.Start(t, apptest.Options{DataDir: dir, Populate: []any{&gw}, Settings: func(s *app.Settings) {
		s.TLSListen = "127.0.0.1:0"
	}})
	apiID, answered := answeredAPI(t, env, map[string]any{"name": "answered-tls", "protocol": "HTTP"}, nil)
	_, port, _ := net.SplitHostPort(gw.TLSAddr())
	req := "GET /" + apiID + "/dev/probe HTTP/1.1\r\nHost: localhost\r\n\r\n"
	probe := func(what string, a answer) {
		t.Helper()
		var ev struct {
			RouteKey string            `json:"routeKey"`
			Headers  map[string]string `json:"headers"`
		}
		if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil || ev.RouteKey != "GET /probe" || ev.Headers["x-forwarded-proto"] != "https" {
			t.Fatalf("%s: %d %.300s", what, a.status, a.body)
		}
	}
	dial := func(protos ...string) (*rawClient, *testkit.HeldConn) {
		t.Helper()
		raw, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = raw.Close() })
		_ = raw.SetDeadline(time.Now().Add(2 * time.Minute)) // a guard against a hang
		hc := &testkit.HeldConn{Conn: raw}
		tc := tls.Client(hc, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: protos})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		return &rawClient{t: t, conn: tc, br: bufio.NewReader(tc), host: "localhost:" + port}, hc
	}

	if rc, _ := dial("h2", "http/1.1"); rc.conn.(*tls.Conn).ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatal("ALPN did not choose h2 when offered") // browsers offer both
	}
	rc, hc := dial("http/1.1")
	rc.send(req) // warm, and maybe cold
	probe("first", rc.read())
	untilAnswered(t, answered, 4, func(i int) {
		rc.send(req)
		probe("call "+strconv.Itoa(i), rc.read())
	})
	// Two requests, a record each, in one segment.
	hc.Hold = true
	rc.send(req)
	rc.send(req)
	if err := hc.Flush(); err != nil {
		t.Fatal(err)
	}
	probe("held first", rc.read())
	probe("held second", rc.read())

	// HTTP/2: internal/h2, the request's goroutine.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	before := answered.Load()
	for i := range 3 {
		resp, err := client.Get("https://localhost:" + port + "/" + apiID + "/dev/probe")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("h2 call %d went as %s", i, resp.Proto)
		}
		probe("h2 call "+strconv.Itoa(i), answer{resp.StatusCode, resp.Header, string(body)})
	}
	if n := answered.Load() - before; n != 0 {
		t.Fatalf("%d HTTP/2 answers from the result's goroutine", n)
	}
}
