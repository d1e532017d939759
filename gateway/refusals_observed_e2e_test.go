package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// rawAnswer sends req as it is on a new connection to the gateway at base
// and reads the answer.
func rawAnswer(t *testing.T, base, req string) answer {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// TestRefusalsBeforeTheRouteAreObserved: a request whose declared
// Content-Length is over the 10 MB limit (413) and one with a bad
// %-escape in its query string (400), on REST and HTTP APIs, are counted in
// portico_api_requests_total and portico_api_4xx_errors_total and write one
// access-log line each, as every other request does (API Gateway's Count and
// 4XXError include them).
func TestRefusalsBeforeTheRouteAreObserved(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	dir := t.TempDir()
	for _, protocol := range []string{"REST", "HTTP"} {
		t.Run(protocol, func(t *testing.T) {
			var api struct{ ID string }
			admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "refusals", "protocol": protocol}, &api)
			base := "/portico/v1/apis/" + api.ID
			admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "ANY", "path": "/ok", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": "http://127.0.0.1:1/x", "payloadFormatVersion": "1.0"}}, nil)
			admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
			logFile := filepath.Join(dir, protocol+".log")
			admin(t, c, "PUT", base+"/stages/dev/access-log", nil, map[string]string{
				"format": "$context.requestId $context.status", "destinationArn": "file://" + logFile}, nil)

			host := "Host: x\r\n"
			large := rawAnswer(t, env.GatewayURL, "POST /"+api.ID+"/dev/ok HTTP/1.1\r\n"+host+"Connection: close\r\nContent-Length: 20000000\r\n\r\n")
			bad := rawAnswer(t, env.GatewayURL, "GET /"+api.ID+"/dev/ok?a=%zz HTTP/1.1\r\n"+host+"\r\n")
			if large.status != 413 || bad.status != 400 {
				t.Fatalf("answers %d %s, %d %s; want 413 and 400", large.status, large.body, bad.status, bad.body)
			}
			idOf := func(a answer) string {
				if protocol == "HTTP" {
					return a.header.Get("Apigw-Requestid")
				}
				return a.header.Get("X-Amzn-Requestid")
			}
			series := fmt.Sprintf(`{api_id=%q,api_name="refusals",canary="false",method="",resource="",stage="dev"}`, api.ID)
			got := map[string]string{}
			for _, l := range scrapeSeries(t, env.AdminURL, api.ID) {
				if k, v, ok := strings.Cut(l, " "); ok {
					got[k] = v
				}
			}
			for _, m := range []string{"portico_api_requests_total", "portico_api_4xx_errors_total", "portico_api_latency_seconds_count"} {
				if got[m+series] != "2" {
					t.Errorf("%s = %q, want 2", m, got[m+series])
				}
			}
			// Lines are written asynchronously: wait for both (the
			// deadline is a safety net).
			want := idOf(large) + " 413\n" + idOf(bad) + " 400\n"
			var raw []byte
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if raw, _ = os.ReadFile(logFile); len(raw) >= len(want) {
					break
				}
			}
			if string(raw) != want {
				t.Errorf("access log:\n%s\nwant:\n%s", raw, want)
			}
		})
	}
}
