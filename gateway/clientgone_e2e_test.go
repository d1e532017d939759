package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"net/url"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
)

// TestClientGoneMidRequest: a client that goes away while the integration
// runs (an HTTP_PROXY backend that waits, a function that sleeps) under the
// default h1 engine is recorded 499 in the access log and counted in
// portico_api_client_gone_total, not in 4XXError or 5XXError, and the backend
// exchange is ended (the backend sees its request cancelled). Before, the
// request ran on and was logged 200.
func TestClientGoneMidRequest(t *testing.T) {
	started, ended := make(chan struct{}, 4), make(chan struct{}, 4)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done() // until the gateway ends the exchange
		ended <- struct{}{}
	}))
	defer backend.Close()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 30)
	dir := t.TempDir()
	for _, tc := range []struct{ protocol, route string }{{"REST", "/proxy"}, {"HTTP", "/proxy"}, {"REST", "/fn"}} {
		t.Run(tc.protocol+tc.route, func(t *testing.T) {
			var api struct{ ID string }
			admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "gone", "protocol": tc.protocol, "routes": []any{
				map[string]any{"method": "GET", "path": "/proxy", "integration": map[string]any{
					"type": "HTTP_PROXY", "httpMethod": "GET", "uri": backend.URL + "/wait", "payloadFormatVersion": "1.0"}},
				map[string]any{"method": "GET", "path": "/fn", "integration": map[string]any{
					"type": "AWS_PROXY", "httpMethod": "POST", "uri": "function:probe"}},
			}}, &api)
			admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
			logFile := filepath.Join(dir, tc.protocol+strings.TrimPrefix(tc.route, "/")+".log")
			admin(t, c, "PUT", "/portico/v1/apis/"+api.ID+"/stages/dev/access-log", nil, map[string]string{
				"format": "$context.requestId $context.status", "destinationArn": "file://" + logFile}, nil)

			ctx, cancel := context.WithCancel(context.Background())
			u := env.GatewayURL + "/" + api.ID + "/dev" + tc.route
			if tc.route == "/fn" {
				u += "?sleep=5000" // the probe sleeps 5 s, far longer than the client stays
			}
			req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			if tc.route == "/proxy" {
				<-started
			} else { // until the function runs
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
					a := get(t, "GET", env.AdminURL+"/metrics", "")
					if strings.Contains(a.body, `portico_lambda_concurrent_executions{function="probe"} 1`) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the function did not start")
					}
				}
			}
			cancel() // the client goes away (its connection closes)
			if err := <-done; err == nil {
				t.Fatal("the request was answered")
			}
			if tc.route == "/proxy" {
				select {
				case <-ended:
				case <-time.After(30 * time.Second): // a hang guard, not a timing
					t.Fatal("the backend exchange was not ended")
				}
			}
			var raw []byte
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if raw, _ = os.ReadFile(logFile); len(raw) > 0 {
					break
				}
			}
			if !strings.HasSuffix(string(raw), " 499\n") || strings.Count(string(raw), "\n") != 1 {
				t.Errorf("access log %q, want one line with 499", raw)
			}
			series := fmt.Sprintf(`{api_id=%q,api_name="gone",canary="false",method="",resource="",stage="dev"}`, api.ID)
			got := map[string]string{}
			for _, l := range scrapeSeries(t, env.AdminURL, api.ID) {
				if k, v, ok := strings.Cut(l, " "); ok {
					got[k] = v
				}
			}
			if got["portico_api_client_gone_total"+series] != "1" || got["portico_api_5xx_errors_total"+series] != "0" || got["portico_api_4xx_errors_total"+series] != "0" {
				t.Errorf("client gone %q, 5xx %q, 4xx %q; want 1, 0, 0", got["portico_api_client_gone_total"+series],
					got["portico_api_5xx_errors_total"+series], got["portico_api_4xx_errors_total"+series])
			}
		})
	}
}

// TestPipelinedRequestIsNotAClientGone: a client that pipelines its next
// request while the first one's integration runs, once its connection is
// watched, is still there: both are answered 200, and the first's backend
// exchange is not cancelled. Before, the pipelined bytes counted as the
// client going away: the first request was cancelled (499).
func TestPipelinedRequestIsNotAClientGone(t *testing.T) {
	watching := make(chan struct{}, 4)
	gateway.SetClientWatchHook(t, func() { watching <- struct{}{} })
	sent, cancelled := make(chan struct{}), make(chan struct{}, 4)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("n") == "1" {
			<-sent // the client pipelined its next request on a watched connection
			// A watch that takes those bytes for the client leaving cancels
			// at once; one that does not, never.
			select {
			case <-r.Context().Done():
				cancelled <- struct{}{}
				return
			case <-time.After(time.Second):
			}
		}
		fmt.Fprint(w, "ok"+r.URL.Query().Get("n"))
	}))
	defer backend.Close()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "pipe", "protocol": "REST", "routes": []any{
		map[string]any{"method": "GET", "path": "/proxy", "integration": map[string]any{
			"type": "HTTP_PROXY", "httpMethod": "GET", "uri": backend.URL + "/wait"}},
	}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)

	conn, u := dialGateway(t, env.GatewayURL)
	defer conn.Close()
	path := "/" + api.ID + "/dev/proxy"
	if _, err := fmt.Fprintf(conn, "GET %s?n=1 HTTP/1.1\r\nHost: %s\r\n\r\n", path, u.Host); err != nil {
		t.Fatal(err)
	}
	<-watching // the first request's client is watched
	if _, err := fmt.Fprintf(conn, "GET %s?n=2 HTTP/1.1\r\nHost: %s\r\n\r\n", path, u.Host); err != nil {
		t.Fatal(err)
	}
	close(sent)
	br := bufio.NewReader(conn)
	for i := 1; i <= 2; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != fmt.Sprintf("ok%d", i) {
			t.Fatalf("response %d: %d %q, want 200 ok%d", i, resp.StatusCode, body, i)
		}
	}
	select {
	case <-cancelled:
		t.Fatal("the first request's backend exchange was cancelled")
	default:
	}
}

// TestClientGoneDuringRenderWithBody: a client that sends a body and goes
// away while a MOCK integration's request template renders (a render that
// runs to the step budget) ends the render: its connection is watched once
// the body has been read, whatever the integration, so the request is
// recorded 499 rather than rendered to its end. Before, only requests
// without a body (and function events) were watched: the render ran on for
// its whole budget (or minutes, for costly writes) after the client left.
func TestClientGoneDuringRenderWithBody(t *testing.T) {
	gateway.SetClientWatchAfter(t, 0)
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "render", "protocol": "REST", "routes": []any{
		map[string]any{"method": "POST", "path": "/slow", "integration": map[string]any{"type": "MOCK",
			"requestTemplates": map[string]string{"application/json": `#set($b = $input.body)` +
				`#foreach($i in [1..1000])#foreach($j in [1..1000])#foreach($k in [1..1000])#set($x = $k)#end#end#end{"statusCode": 200}`}}},
	}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile := filepath.Join(t.TempDir(), "access.log")
	admin(t, c, "PUT", "/portico/v1/apis/"+api.ID+"/stages/dev/access-log", nil, map[string]string{
		"format": "$context.requestId $context.status", "destinationArn": "file://" + logFile}, nil)

	conn, u := dialGateway(t, env.GatewayURL)
	// The client leaves as soon as its connection is watched.
	gateway.SetClientWatchHook(t, func() { conn.Close() })
	body := `{"a": 1}`
	if _, err := fmt.Fprintf(conn, "POST /%s/dev/slow HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		api.ID, u.Host, len(body), body); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
		resp.Body.Close()
		t.Fatalf("the request was answered %d: its client was never watched", resp.StatusCode)
	}
	var raw []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if raw, _ = os.ReadFile(logFile); len(raw) > 0 {
			break
		}
	}
	if !strings.HasSuffix(string(raw), " 499\n") {
		t.Errorf("access log %q, want the request recorded 499", raw)
	}
}

// dialGateway opens a raw connection to the gateway at gatewayURL.
func dialGateway(t *testing.T, gatewayURL string) (net.Conn, *url.URL) {
	t.Helper()
	u, err := url.Parse(gatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	return conn, u
}

// TestAnswered499IsNotAClientGone: 499 is only the status recorded for a
// client that went away; an API may answer 499 itself. A gateway response set
// to 499 is sent with its template (before, the connection was dropped with
// nothing written and nothing logged), and an HTTP_PROXY backend's 499 reaches
// the client; both are counted in 4XXError, not in client gone (r-vtlval29
// finding 1). TestClientGoneMidRequest keeps the real client-gone path.
func TestAnswered499IsNotAClientGone(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(499)
		fmt.Fprint(w, "backend 499")
	}))
	defer backend.Close()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "own499", "protocol": "REST",
		"gatewayResponses": map[string]any{"DEFAULT_4XX": map[string]any{"statusCode": "499",
			"responseTemplates": map[string]string{"application/json": `{"type":"$context.error.responseType"}`}}},
		"routes": []any{
			map[string]any{"method": "GET", "path": "/proxy", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "GET", "uri": backend.URL + "/s"}},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)

	base := env.GatewayURL + "/" + api.ID + "/dev"
	for _, tc := range []struct{ path, body string }{
		{"/nothere", `{"type":"MISSING_AUTHENTICATION_TOKEN"}`},
		{"/proxy", "backend 499"},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatalf("%s: %v (the 499 was not sent)", tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 499 || string(body) != tc.body {
			t.Errorf("%s: %d %q, want 499 %q", tc.path, resp.StatusCode, body, tc.body)
		}
	}
	series := fmt.Sprintf(`{api_id=%q,api_name="own499",canary="false",method="",resource="",stage="dev"}`, api.ID)
	got := map[string]string{}
	for _, l := range scrapeSeries(t, env.AdminURL, api.ID) {
		if k, v, ok := strings.Cut(l, " "); ok {
			got[k] = v
		}
	}
	if got["portico_api_4xx_errors_total"+series] != "2" || got["portico_api_client_gone_total"+series] != "0" {
		t.Errorf("4xx %q, client gone %q; want 2, 0", got["portico_api_4xx_errors_total"+series], got["portico_api_client_gone_total"+series])
	}
}
