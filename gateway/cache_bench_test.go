package gateway

import (
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/cache"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// BenchmarkCacheHit compares a function route answered from the stage cache
// ("function-hit") with the same route calling its (fake, in-process) function
// every time ("function-miss") and with a MOCK integration ("mock"), at 32
// concurrent clients. The aim: a hit at least as fast as MOCK.
func BenchmarkCacheHit(b *testing.B) {
	fn := &apis.API{Name: "bench", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/hello", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:live", HTTPMethod: "POST"}},
	}}}
	for _, tc := range []struct {
		name   string
		api    *apis.API
		path   string
		cached bool
	}{{"mock", mockAPI(), "/mock", false}, {"function-miss", fn, "/hello", false}, {"function-hit", fn, "/hello", true}} {
		b.Run(tc.name, func(b *testing.B) {
			_, svc := gwtest.APIs(b)
			created := gwtest.Deploy(b, svc, tc.api, apis.DeployInput{StageName: "bench", CacheClusterEnabled: &tc.cached})
			inv := &fakeInvoker{}
			gw := New(Config{}, svc, &fakeResolver{aliases: map[string]string{"hello:live": "1"}}, inv, nil)
			gw.Use(cache.New(cache.Config{}, nil))
			srv := httptest.NewServer(gw)
			b.Cleanup(srv.Close)
			u := srv.URL + "/" + created.ID + "/bench" + tc.path
			c := BenchClient()
			resp, err := c.Get(u) // warms the cache
			if err != nil {
				b.Fatal(err)
			}
			_ = resp.Body.Close()
			b.ReportAllocs()
			Load(b, c, u, benchConcurrency, "")
			inv.mu.Lock()
			calls := len(inv.calls)
			inv.mu.Unlock()
			if tc.cached && calls != 1 {
				b.Fatalf("the function ran %d times behind a warm cache", calls)
			}
		})
	}
}
