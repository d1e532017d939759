package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/listener"
)

// TestFastProxyTraceHeaderNamesTheRequest: the X-Amzn-Trace-Id an HTTP_PROXY
// backend gets from the fast path, for a client that sent none, has the
// request's own Root (its time and the first 24 hex digits of its
// x-amzn-RequestId, as a function's event has it), one per request: the
// value is written into the request's own room (reqCtxProxy), and
// concurrent requests each name theirs. A real client, the gateway on its
// own Server.
func TestFastProxyTraceHeaderNamesTheRequest(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // X-Request-Tag -> X-Amzn-Trace-Id
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("X-Request-Tag")] = r.Header.Get("X-Amzn-Trace-Id")
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	a, err := svc.Create(ctx, &apis.API{Name: "trace", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/t", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/t"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	gw := New(Config{}, svc, nil, nil, slog.New(slog.DiscardHandler))
	srv := NewServer(gw, nil, listener.Limits{})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	url := "http://" + srv.Addr() + "/" + a.ID + "/dev/t"

	const n = 16
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("X-Request-Tag", string(rune('a'+i)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			ids[i] = resp.Header.Get("X-Amzn-Requestid")
		})
	}
	wg.Wait()
	if gw.fast.Served() < n {
		t.Fatalf("the fast path served %d of %d requests", gw.fast.Served(), n)
	}
	for i, id := range ids {
		trace := seen[string(rune('a'+i))]
		root, ok := strings.CutPrefix(trace, "Root=1-")
		want := strings.ReplaceAll(id, "-", "")[:24]
		if !ok || len(root) != 8+1+24 || root[8] != '-' || root[9:] != want {
			t.Errorf("request %s: backend saw X-Amzn-Trace-Id %q, want Root=1-<time>-%s", id, trace, want)
		}
	}
}
