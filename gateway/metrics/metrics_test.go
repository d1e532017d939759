package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/gateway/responses"
	"github.com/portico-dev/portico/internal/connset"
)

// fakeClock advances by step at each reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

func deployed(detailed, canary bool) *pipeline.Deployed {
	st := &apis.Stage{APIID: "abcdefghij", Name: "dev"}
	if detailed {
		st.MethodSettings = map[string]apis.MethodSetting{"*/*": {MetricsEnabled: true}}
	}
	dep := &apis.Deployment{ID: "d1", API: apis.API{ID: "abcdefghij", Name: "pets", Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/pets", RouteKey: "GET /pets"},
		{Method: "ANY", Path: "/{proxy+}", RouteKey: "ANY /{proxy+}"},
	}}}}
	return &pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API, Canary: canary}
}

// serve runs one request through metrics -> responses -> terminal.
func serve(t *testing.T, s *Stage, d *pipeline.Deployed, terminal pipeline.HandlerFunc, mod func(*pipeline.Context)) int {
	t.Helper()
	h, err := pipeline.Chain(d, []pipeline.Stage{s, responses.New(nil)}, terminal)
	if err != nil {
		t.Fatal(err)
	}
	c := &pipeline.Context{}
	if mod != nil {
		mod(c)
	}
	rec := httptest.NewRecorder()
	if err := h.ServeRequest(rec, httptest.NewRequest("GET", "/pets", nil), c); err != nil {
		t.Fatal(err)
	}
	return rec.Code
}

func TestStageCountsByStatusCacheAndLatency(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(0, 0), step: 30 * time.Millisecond}
	s.SetClock(clock.now)
	d := deployed(false, false)
	ok := func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
		c.Integration.Ran, c.IntegrationLatency = true, 20*time.Millisecond
		w.WriteHeader(201)
		return nil
	}
	implicit := func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
		_, err := w.Write([]byte("hi")) // no WriteHeader: 200
		c.CacheHit = true
		return err
	}
	missing := func(http.ResponseWriter, *http.Request, *pipeline.Context) error {
		return pipeline.Errorf(pipeline.MissingAuthenticationToken, "no route")
	}
	bad := func(http.ResponseWriter, *http.Request, *pipeline.Context) error {
		return &pipeline.Error{Type: pipeline.Default5XX, Status: 502}
	}
	// Refused while its integration request was built (r-obs28 finding
	// 4): time passed, but no integration ran, so no sample.
	notSent := func(_ http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
		c.IntegrationLatency = 3 * time.Millisecond
		return &pipeline.Error{Type: pipeline.Default4XX, Status: 400}
	}
	gone := func(_ http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
		c.Status, c.ClientGone = pipeline.StatusClientClosedRequest, true // as the responses stage records it
		return nil
	}
	// An API's own 499 (a gateway response, an integration response, a
	// backend's status), answered: a 4XXError, not a client gone (r-vtlval29
	// finding 1).
	answered499 := func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
		w.WriteHeader(499)
		return nil
	}
	for i, tc := range []struct {
		h    pipeline.HandlerFunc
		want int
	}{{ok, 201}, {ok, 201}, {implicit, 200}, {missing, 403}, {bad, 502}, {bad, 502}, {bad, 502}, {gone, 200}, {notSent, 400}, {answered499, 499}} {
		if got := serve(t, s, d, tc.h, nil); got != tc.want {
			t.Fatalf("request %d answered %d, want %d", i, got, tc.want)
		}
	}
	serve(t, s, d, ok, func(c *pipeline.Context) { c.CacheMiss = true })

	lv := []string{"abcdefghij", "pets", "dev", "false", "", ""}
	for name, want := range map[string]float64{
		"requests": 11, "4xx": 3, "5xx": 3, "gone": 1, "hits": 1, "misses": 1,
	} {
		v := map[string]*prometheus.CounterVec{"requests": s.requests, "4xx": s.errors4xx, "5xx": s.errors5xx, "gone": s.clientGone,
			"hits": s.cacheHits, "misses": s.cacheMisses}[name]
		if got := testutil.ToFloat64(v.WithLabelValues(lv...)); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Every request's latency is one clock step (start and end readings);
	// integration latency was set on three of them.
	const want = `
# HELP portico_api_integration_latency_seconds Time spent in the integration (IntegrationLatency).
# TYPE portico_api_integration_latency_seconds histogram
portico_api_integration_latency_seconds_bucket{api_id="abcdefghij",api_name="pets",canary="false",method="",resource="",stage="dev",le="0.001"} 0
portico_api_integration_latency_seconds_bucket{api_id="abcdefghij",api_name="pets",canary="false",method="",resource="",stage="dev",le="0.01"} 0
portico_api_integration_latency_seconds_bucket{api_id="abcdefghij",api_name="pets",canary="false",method="",resource="",stage="dev",le="0.025"} 3
`
	out, err := testutil.CollectAndFormat(s.integrationLatency, expfmt.TypeTextPlain, "portico_api_integration_latency_seconds")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if !strings.Contains(string(out), line) {
			t.Errorf("integration latency lacks %q:\n%s", line, out)
		}
	}
	if n := testutil.CollectAndCount(s.latency); n != 1 {
		t.Errorf("latency series %d, want 1", n)
	}
	hist, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range hist {
		if mf.GetName() == "portico_api_latency_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 11 || h.GetSampleSum() < 11*0.0299 || h.GetSampleSum() > 11*0.0301 {
				t.Errorf("latency count %d sum %v, want 11 and 0.33", h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
}

func TestStageDetailedMetricsAndCanaryLabels(t *testing.T) {
	s, err := New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	d := deployed(true, true)
	for i := range 3 {
		route := &d.API.Routes[i%2]
		serve(t, s, d, func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
			c.Route = route
			w.WriteHeader(200)
			return nil
		}, nil)
	}
	// A route that is not the deployment's (a copy) counts under the stage only.
	stray := d.API.Routes[0]
	serve(t, s, d, func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
		c.Route = &stray
		return nil
	}, nil)
	for _, tc := range []struct {
		method, resource string
		want             float64
	}{{"GET", "/pets", 2}, {"ANY", "/{proxy+}", 1}, {"", "", 1}} {
		if got := testutil.ToFloat64(s.requests.WithLabelValues("abcdefghij", "pets", "dev", "true", tc.method, tc.resource)); got != tc.want {
			t.Errorf("%s %s: %v requests, want %v", tc.method, tc.resource, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(s.requests); n != 3 {
		t.Errorf("%d request series, want 3", n)
	}
}

// TestMethodSettingsOverrideDetailedMetrics: a REST method's own settings
// entry decides its detailed metrics, either way: off for GET /pets while "*/*"
// has them on (its requests count under the stage, method and resource empty),
// on for ANY /{proxy+} while "*/*" has them off.
func TestMethodSettingsOverrideDetailedMetrics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]apis.MethodSetting
		want     map[[2]string]float64 // method, resource -> requests
	}{
		{"method off", map[string]apis.MethodSetting{"*/*": {MetricsEnabled: true}, "/pets/GET": {MetricsEnabled: false}},
			map[[2]string]float64{{"", ""}: 2, {"ANY", "/{proxy+}"}: 1}},
		{"method on", map[string]apis.MethodSetting{"*/*": {MetricsEnabled: false}, "/{proxy+}/ANY": {MetricsEnabled: true}},
			map[[2]string]float64{{"", ""}: 2, {"ANY", "/{proxy+}"}: 1}},
		{"stage off, entry without metrics", map[string]apis.MethodSetting{"/pets/GET": {LoggingLevel: "INFO"}},
			map[[2]string]float64{{"", ""}: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			d := deployed(false, false)
			d.Stage.MethodSettings = tc.settings
			for _, i := range []int{0, 0, 1} {
				route := &d.API.Routes[i]
				serve(t, s, d, func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
					c.Route = route
					return nil
				}, nil)
			}
			for k, want := range tc.want {
				if got := testutil.ToFloat64(s.requests.WithLabelValues("abcdefghij", "pets", "dev", "false", k[0], k[1])); got != want {
					t.Errorf("%q %q: %v requests, want %v", k[0], k[1], got, want)
				}
			}
			if n := testutil.CollectAndCount(s.requests); n != len(tc.want) {
				t.Errorf("%d request series, want %d", n, len(tc.want))
			}
		})
	}
}

// TestRouteSettingsDecideDetailedMetrics: on HTTP and WebSocket APIs a
// route's routeSettings (its entry under its route key) decide its detailed
// metrics, else the defaultRouteSettings ("*/*") do.
func TestRouteSettingsDecideDetailedMetrics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]apis.MethodSetting
		want     map[[2]string]float64 // method, resource -> requests
	}{
		{"route on", map[string]apis.MethodSetting{"*/*": {MetricsEnabled: false}, "ANY /{proxy+}": {MetricsEnabled: true}},
			map[[2]string]float64{{"", ""}: 2, {"ANY", "/{proxy+}"}: 1}},
		{"route off", map[string]apis.MethodSetting{"*/*": {MetricsEnabled: true}, "GET /pets": {MetricsEnabled: false}},
			map[[2]string]float64{{"", ""}: 2, {"ANY", "/{proxy+}"}: 1}},
		{"default on", map[string]apis.MethodSetting{"*/*": {MetricsEnabled: true}},
			map[[2]string]float64{{"", ""}: 0, {"GET", "/pets"}: 2, {"ANY", "/{proxy+}"}: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			d := deployed(false, false)
			d.API.Protocol = apis.ProtocolHTTP
			d.Stage.MethodSettings = tc.settings
			for _, i := range []int{0, 0, 1} {
				route := &d.API.Routes[i]
				serve(t, s, d, func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
					c.Route = route
					return nil
				}, nil)
			}
			for k, want := range tc.want {
				if got := testutil.ToFloat64(s.requests.WithLabelValues("abcdefghij", "pets", "dev", "false", k[0], k[1])); got != want {
					t.Errorf("%q %q: %v requests, want %v", k[0], k[1], got, want)
				}
			}
			if n := testutil.CollectAndCount(s.requests); n != len(tc.want) {
				t.Errorf("%d request series, want %d", n, len(tc.want))
			}
		})
	}

	// WebSocket: messages to a route with detailed metrics carry its key.
	s, err := New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	d := deployed(false, false)
	d.API.Protocol = apis.ProtocolWebSocket
	d.API.Routes = []apis.Route{{RouteKey: "$connect"}, {RouteKey: "sendmessage"}}
	d.Stage.MethodSettings = map[string]apis.MethodSetting{"sendmessage": {MetricsEnabled: true}}
	s.ObserveWebSocket(d, &d.API.Routes[0], connections.EventConnect)
	s.ObserveWebSocket(d, &d.API.Routes[1], connections.EventMessage)
	if got := testutil.ToFloat64(s.wsConnects.WithLabelValues("abcdefghij", "pets", "dev", "")); got != 1 {
		t.Errorf("connects without detailed metrics: %v", got)
	}
	if got := testutil.ToFloat64(s.wsMessages.WithLabelValues("abcdefghij", "pets", "dev", "sendmessage")); got != 1 {
		t.Errorf("messages to sendmessage: %v", got)
	}
}

func TestRouteIndex(t *testing.T) {
	routes := make([]apis.Route, 5)
	for i := range routes {
		if got := routeIndex(routes, &routes[i]); got != i {
			t.Errorf("routeIndex(&routes[%d]) = %d", i, got)
		}
	}
	other := make([]apis.Route, 1)
	if got := routeIndex(routes, &other[0]); got != -1 {
		t.Errorf("a route of another slice gave %d", got)
	}
	if got := routeIndex(nil, &other[0]); got != -1 {
		t.Errorf("no routes gave %d", got)
	}
}

func TestWebSocketCountersAndConnectionsGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	d := deployed(false, false)
	r := &d.API.Routes[0]
	s.ObserveWebSocket(d, r, connections.EventConnect)
	s.ObserveWebSocket(d, r, connections.EventMessage)
	s.ObserveWebSocket(d, r, connections.EventMessage)
	s.ObserveWebSocket(d, r, "DISCONNECT")
	if got := testutil.ToFloat64(s.wsConnects.WithLabelValues("abcdefghij", "pets", "dev", "")); got != 1 {
		t.Errorf("connects %v", got)
	}
	if got := testutil.ToFloat64(s.wsMessages.WithLabelValues("abcdefghij", "pets", "dev", "")); got != 2 {
		t.Errorf("messages %v", got)
	}
	conns := fakeConns{{APIID: "a", Stage: "dev"}, {APIID: "a", Stage: "dev"}, {APIID: "b", Stage: "prod"}}
	c := NewConnectionsCollector(conns)
	const want = `
# HELP portico_ws_connections Live WebSocket connections, by api_id and stage.
# TYPE portico_ws_connections gauge
portico_ws_connections{api_id="a",stage="dev"} 2
portico_ws_connections{api_id="b",stage="prod"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

type fakeConns []connections.Info

func TestListenersCollector(t *testing.T) {
	c := NewListenersCollector(fakeListeners{
		{Listener: "http", Addr: "127.0.0.1:8080", Open: 12, Dormant: 10},
		{Listener: "https", Addr: "127.0.0.1:8443", Open: 3, Dormant: 0},
	})
	const want = `
# HELP portico_gateway_connections HTTP connections the gateway's listeners hold, by listener (http, https, callback) and state: awake, or dormant (idle without a goroutine or buffers).
# TYPE portico_gateway_connections gauge
portico_gateway_connections{listener="http",state="awake"} 2
portico_gateway_connections{listener="http",state="dormant"} 10
portico_gateway_connections{listener="https",state="awake"} 3
portico_gateway_connections{listener="https",state="dormant"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

type fakeListeners []connset.ListenerConns

func (f fakeListeners) Connections() []connset.ListenerConns { return f }

func (f fakeConns) List(string, string) []connections.Info { return f }

// BenchmarkStageOverhead is what the metrics middleware adds to one request
// around a handler that does nothing (its whole per-request cost).
func BenchmarkStageOverhead(b *testing.B) {
	s, err := New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	for _, detailed := range []bool{false, true} {
		name := "stage"
		if detailed {
			name = "detailed"
		}
		b.Run(name, func(b *testing.B) {
			d := deployed(detailed, false)
			mw, err := s.Compile(d)
			if err != nil {
				b.Fatal(err)
			}
			route := &d.API.Routes[1]
			h := mw(pipeline.HandlerFunc(func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
				c.Route = route
				w.WriteHeader(200)
				return nil
			}))
			w, r := httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)
			c := &pipeline.Context{}
			b.ReportAllocs()
			for b.Loop() {
				_ = h.ServeRequest(w, r, c)
			}
		})
	}
}
