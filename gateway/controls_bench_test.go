package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/throttle"
	"github.com/portico-dev/portico/gateway/usage"
)

// keyTransport adds an x-api-key header to every request.
type keyTransport struct {
	key  string
	base http.RoundTripper
}

func (t keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("x-api-key", t.key)
	return t.base.RoundTrip(r)
}

// BenchmarkMOCKControls measures MOCK throughput through the gateway with no
// traffic controls ("bare") and with all of them on ("controls": the method
// requires an API key, the key's usage plan has a throttle, a per-method
// throttle and a quota, the stage has a method throttle and the account
// throttle is on), every limit high enough never to refuse: the difference is
// what the controls cost per request.
func BenchmarkMOCKControls(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		base := benchGateway(b, mockAPI(), nil)
		c := BenchClient() // the same header as below, which no stage reads here
		c.Transport = keyTransport{key: "k0123456789012345678901234567890123456789", base: c.Transport}
		Load(b, c, base+"/mock", benchConcurrency, "")
	})
	b.Run("controls", func(b *testing.B) {
		ctx := context.Background()
		st, svc := gwtest.APIs(b)
		a := mockAPI()
		a.Routes[0].APIKeyRequired = true
		created := gwtest.Deploy(b, svc, a, apis.DeployInput{StageName: "bench"})
		const high = 1e9
		if _, err := svc.SetMethodSettings(ctx, created.ID, "bench", map[string]apis.MethodSetting{
			"*/*":       {ThrottlingRateLimit: new(float64(high)), ThrottlingBurstLimit: new(int(high))},
			"/mock/GET": {ThrottlingRateLimit: new(float64(high)), ThrottlingBurstLimit: new(int(high))},
		}); err != nil {
			b.Fatal(err)
		}
		us, err := usage.NewService(st, usage.Options{Stages: svc})
		if err != nil {
			b.Fatal(err)
		}
		enabled := true
		k, err := us.CreateKey(ctx, usage.KeyInput{Name: "bench", Enabled: &enabled})
		if err != nil {
			b.Fatal(err)
		}
		p, err := us.CreatePlan(ctx, usage.Plan{Name: "bench",
			Throttle: &usage.Throttle{RateLimit: high, BurstLimit: high},
			Quota:    &usage.Quota{Limit: 1<<31 - 1, Period: usage.PeriodMonth},
			APIStages: []usage.APIStage{{APIID: created.ID, Stage: "bench",
				Throttle: map[string]usage.Throttle{"/mock/GET": {RateLimit: high, BurstLimit: high}}}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := us.AddPlanKey(ctx, p.ID, k.ID); err != nil {
			b.Fatal(err)
		}
		gw := New(Config{Listen: "127.0.0.1:0"}, svc, nil, nil, nil)
		gw.Use(throttle.New(throttle.Config{RateLimit: high, BurstLimit: high}, nil), usage.NewKeyStage(us), usage.NewAuthorizerKeyStage(us))
		srv := httptest.NewServer(gw)
		b.Cleanup(srv.Close)
		c := BenchClient()
		c.Transport = keyTransport{key: k.Value, base: c.Transport}
		Load(b, c, srv.URL+"/"+created.ID+"/bench/mock", benchConcurrency, "")
	})
}
