package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// TestTemplateMemoryBudget: mapping template renders of large bodies share
// one gateway-wide memory budget (Config.TemplateMemory). While the renders in
// flight hold it (here the test holds it itself, so nothing depends on
// timing), a request whose render needs a share is answered 429 "Too Many
// Requests" (TooManyRequestsException) once its short wait is over, on the
// request template and on the response template alike, and the log says
// which setting to raise; a small body is not counted; once the budget is
// free the same requests render, a body larger than the whole budget too.
func TestTemplateMemoryBudget(t *testing.T) {
	_, svc := gwtest.APIs(t)
	logs := &syncBuilder{}
	gw := New(Config{TemplateMemory: 1 << 20, TemplateMemoryWait: time.Millisecond}, svc, nil, nil, slog.New(slog.NewTextHandler(logs, nil)))
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	e := &env{t: t, svc: svc, gw: gw, srv: srv, logs: logs, inv: &fakeInvoker{}, res: &fakeResolver{}}
	big := `{"s": "` + strings.Repeat("x", 100<<10) + `"}` // 100 KB: 800 KB of the 1 MiB budget
	backend, _ := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, big)
	})
	id := e.deploy(&apis.API{Name: "mem", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "POST", Path: "/req", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `#set($n = $input.json('$').length()){"statusCode": 200}`},
			Responses:        map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": "ok"}}}}},
		{Method: "GET", Path: "/resp", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL,
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `$input.json('$').length()`}}}}},
	}}}, "dev", nil)
	post := func(body string) response {
		return e.do("POST", "/"+id+"/dev/req", strings.NewReader(body), "Content-Type", "application/json")
	}
	get := func() response { return e.do("GET", "/"+id+"/dev/resp", nil) }

	held, err := gw.tmpl.acquire(context.Background(), 1<<20) // the whole budget
	if err != nil || held != 1<<20 {
		t.Fatalf("holding the budget: %d %v", held, err)
	}
	for name, r := range map[string]response{"request template": post(big), "response template": get()} {
		if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too Many Requests") || r.header.Get("x-amzn-ErrorType") != "TooManyRequestsException" {
			t.Errorf("%s while the budget is held: %d %v %s; want 429 Too Many Requests", name, r.status, r.header, r.body)
		}
	}
	if r := post(`{"s": "small"}`); r.status != 200 || r.body != "ok" {
		t.Errorf("small body while the budget is held: %d %s", r.status, r.body)
	}
	if l := logs.String(); !strings.Contains(l, "gateway-template-memory") {
		t.Errorf("the log does not say what to raise:\n%s", l)
	}
	gw.tmpl.release(held)

	huge := `{"s": "` + strings.Repeat("y", 200<<10) + `"}` // 1.6 MB estimated: more than the budget, runs alone
	for name, r := range map[string]response{"request template": post(big), "larger than the budget": post(huge), "response template": get()} {
		if r.status != 200 {
			t.Errorf("%s with the budget free: %d %s", name, r.status, r.body)
		}
	}
	if got := gw.tmpl.sem.TryAcquire(1 << 20); !got {
		t.Error("a render did not give its share of the budget back")
	}
}
