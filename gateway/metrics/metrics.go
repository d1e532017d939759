// Package metrics is the gateway's metrics stage: it wraps the whole request
// pipeline (pipeline.OrderObserve) and counts requests, 4xx and 5xx answers,
// cache hits and misses, and observes latency and integration latency, named
// after API Gateway's CloudWatch metrics (Count, 4XXError, 5XXError, Latency,
// IntegrationLatency, CacheHitCount, CacheMissCount) and labelled by api_id,
// api_name, stage and canary; with a method's detailed metrics on
// (metricsEnabled in its methodSettings entry "~1pets~1{id}/GET", else in the
// stage's "*/*"; on HTTP and WebSocket APIs "*/*" alone) also by method and
// resource (the route's method and path template), else those two labels are
// empty. It also counts WebSocket $connect requests and messages, and reports
// live connections.
//
// Label children are resolved when a stage deployment compiles, so a request
// costs no label lookups or allocations.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/connset"
	"github.com/portico-dev/portico/internal/errdefs"
)

// Labels of the per-request metrics.
var requestLabels = []string{"api_id", "api_name", "stage", "canary", "method", "resource"}

// Labels of the WebSocket counters: route is the route key of a route with
// detailed metrics on, else empty.
var wsLabels = []string{"api_id", "api_name", "stage", "route"}

// latencyBuckets cover a tenth of a millisecond to the 29 s integration limit.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 29}

// Stage is the metrics pipeline stage. Safe for concurrent use.
type Stage struct {
	requests, errors4xx, errors5xx *prometheus.CounterVec
	clientGone                     *prometheus.CounterVec
	cacheHits, cacheMisses         *prometheus.CounterVec
	latency, integrationLatency    *prometheus.HistogramVec
	wsConnects, wsMessages         *prometheus.CounterVec
	now                            func() time.Time
	fakeClock                      bool // SetClock was called

	mu     sync.Mutex
	stages map[stageRef]string // stages compiled (with the API's name they go by), whose series Watch removes when they go
	// wsStages are the WebSocket stages compiled: portico_ws_connections
	// reads 0 for those without connections, until they go.
	wsStages map[stageRef]bool
}

// stageRef names one stage of one API.
type stageRef struct{ apiID, stage string }

var _ pipeline.Stage = (*Stage)(nil)

// New registers the gateway's metrics with reg.
func New(reg prometheus.Registerer) (*Stage, error) {
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	s := &Stage{
		requests:  counter("portico_api_requests_total", "Requests to stage URLs (API Gateway's Count).", requestLabels),
		errors4xx: counter("portico_api_4xx_errors_total", "Requests answered with a 4xx status (4XXError).", requestLabels),
		errors5xx: counter("portico_api_5xx_errors_total", "Requests answered with a 5xx status (5XXError).", requestLabels),
		clientGone: counter("portico_api_client_gone_total",
			"Requests whose client went away before they were answered (not counted as 4XXError or 5XXError).", requestLabels),
		cacheHits:   counter("portico_api_cache_hits_total", "Requests served from the stage's cache (CacheHitCount).", requestLabels),
		cacheMisses: counter("portico_api_cache_misses_total", "Cacheable requests the cache could not serve (CacheMissCount).", requestLabels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_api_latency_seconds",
			Help: "Time from receiving a request to answering it (Latency).", Buckets: latencyBuckets}, requestLabels),
		integrationLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_api_integration_latency_seconds",
			Help: "Time spent in the integration (IntegrationLatency).", Buckets: latencyBuckets}, requestLabels),
		wsConnects: counter("portico_ws_connect_count_total", "WebSocket $connect requests sent to the route's integration (ConnectCount): not those an authorizer or a throttle refused.", wsLabels),
		wsMessages: counter("portico_ws_messages_total", "WebSocket messages sent to routes (MessageCount).", wsLabels),
		now:        time.Now,
		stages:     map[stageRef]string{},
		wsStages:   map[stageRef]bool{},
	}
	for _, c := range []prometheus.Collector{s.requests, s.errors4xx, s.errors5xx, s.clientGone, s.cacheHits, s.cacheMisses,
		s.latency, s.integrationLatency, s.wsConnects, s.wsMessages} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetClock replaces the stage's clock (for tests).
func (s *Stage) SetClock(now func() time.Time) { s.now, s.fakeClock = now, true }

// since returns the time elapsed since t, a reading of s.now: with the real
// clock from the monotonic clock alone (time.Since, half a time.Now).
func (s *Stage) since(t time.Time) time.Duration {
	if s.fakeClock {
		return s.now().Sub(t)
	}
	return time.Since(t)
}

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "metrics" }

// Order implements pipeline.Stage.
func (*Stage) Order() int { return pipeline.OrderObserve }

// series are one label set's children.
type series struct {
	requests, errors4xx, errors5xx, clientGone, cacheHits, cacheMisses prometheus.Counter
	latency, integrationLatency                                        prometheus.Observer
}

func (s *Stage) series(lv ...string) *series {
	return &series{
		requests: s.requests.WithLabelValues(lv...), errors4xx: s.errors4xx.WithLabelValues(lv...),
		errors5xx: s.errors5xx.WithLabelValues(lv...), clientGone: s.clientGone.WithLabelValues(lv...), cacheHits: s.cacheHits.WithLabelValues(lv...),
		cacheMisses: s.cacheMisses.WithLabelValues(lv...), latency: s.latency.WithLabelValues(lv...),
		integrationLatency: s.integrationLatency.WithLabelValues(lv...),
	}
}

// Detailed reports whether a stage has detailed (per-method) metrics on for
// all its methods: its "*/*" method settings say so.
func Detailed(st *apis.Stage) bool {
	if st == nil {
		return false
	}
	ms, ok := st.MethodSettings[apis.MethodSettingsAll]
	return ok && ms.MetricsEnabled
}

// detailedRoute reports whether route r of API a has detailed metrics on in
// stage st: as its own entry says (a REST method's method settings, an HTTP or
// WebSocket route's routeSettings, under its route key), else as "*/*" (the
// defaultRouteSettings) says. An entry decides alone: API Gateway copies "*/*"
// into a REST method's entry when it makes one, and get-stage shows a route's
// detailedMetricsEnabled as its entry holds it.
func detailedRoute(st *apis.Stage, a *apis.API, r *apis.Route) bool {
	if a.Protocol == apis.ProtocolREST || a.Protocol == "" {
		ms, _, ok := st.EffectiveMethodSetting(r.Path, r.Method)
		return ok && ms.MetricsEnabled
	}
	if ms, ok := st.MethodSettings[r.RouteKey]; ok {
		return ms.MetricsEnabled
	}
	return Detailed(st)
}

// Compile implements pipeline.Stage: it resolves the label children of the
// stage deployment (and of each route, with detailed metrics on).
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	canary := "false"
	if d.Canary {
		canary = "true"
	}
	apiName := d.Name()
	ref := stageRef{d.Stage.APIID, d.Stage.Name}
	s.mu.Lock()
	old, known := s.stages[ref]
	s.stages[ref] = apiName
	if d.API != nil && d.API.Protocol == apis.ProtocolWebSocket {
		s.wsStages[ref] = true
	}
	s.mu.Unlock()
	if known && old != apiName {
		// The API was renamed and deployed: the stage's series under its
		// old name go, so that it is listed once, under its name.
		s.forgetName(ref, old)
	}
	base := s.series(d.Stage.APIID, apiName, d.Stage.Name, canary, "", "")
	var routes []apis.Route
	var perRoute []*series
	if d.API != nil {
		for i := range d.API.Routes {
			r := &d.API.Routes[i]
			if !detailedRoute(d.Stage, d.API, r) {
				continue
			}
			if perRoute == nil {
				routes = d.API.Routes
				perRoute = make([]*series, len(routes))
				for j := range perRoute {
					perRoute[j] = base
				}
			}
			resource := r.Path
			if resource == "" {
				resource = r.RouteKey
			}
			perRoute[i] = s.series(d.Stage.APIID, apiName, d.Stage.Name, canary, r.Method, resource)
		}
	}
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			// Latency counts from when the gateway received the request
			// (one clock reading less; the clock costs here).
			start := c.RequestTime
			if start.IsZero() {
				start = s.now()
			}
			sw := writerPool.Get().(*pipeline.StatusWriter)
			sw.ResponseWriter, sw.Status = w, 0
			err := next.ServeRequest(sw, r, c)
			status := sw.Status
			sw.ResponseWriter = nil
			writerPool.Put(sw)
			if c.Status != 0 {
				status = int(c.Status)
			}
			if status == 0 {
				status = http.StatusOK
			}
			m := base
			if perRoute != nil && c.Route != nil {
				if i := routeIndex(routes, c.Route); i >= 0 {
					m = perRoute[i]
				}
			}
			m.requests.Inc()
			switch {
			case c.ClientGone:
				m.clientGone.Inc()
			case status >= 500:
				m.errors5xx.Inc()
			case status >= 400:
				m.errors4xx.Inc()
			}
			if c.CacheHit {
				m.cacheHits.Inc()
			}
			if c.CacheMiss {
				m.cacheMisses.Inc()
			}
			if c.Integration.Ran && c.IntegrationLatency > 0 { // none for a refusal before the integration sent anything
				m.integrationLatency.Observe(c.IntegrationLatency.Seconds())
			}
			m.latency.Observe(c.Latency(start, s.since).Seconds())
			return err
		})
	}, nil
}

// routeIndex returns the index of r in routes, or -1: r points into the
// deployment's routes (the router matches &routes[i]), so its offset from the
// first gives the index without a search; the comparison confirms it.
func routeIndex(routes []apis.Route, r *apis.Route) int {
	if len(routes) == 0 {
		return -1
	}
	off := uintptr(unsafe.Pointer(r)) - uintptr(unsafe.Pointer(&routes[0])) //nolint:gosec // index arithmetic only; the result is checked against &routes[i]
	i := int(off / unsafe.Sizeof(routes[0]))
	if i >= 0 && i < len(routes) && off%unsafe.Sizeof(routes[0]) == 0 && &routes[i] == r {
		return i
	}
	return -1
}

// ObserveWebSocket counts a WebSocket route dispatch: a $connect request
// (eventType CONNECT) or a message (MESSAGE) to route (labelled with its
// route key when the route has detailed metrics on). The gateway calls it for
// stages that have it.
func (s *Stage) ObserveWebSocket(d *pipeline.Deployed, route *apis.Route, eventType string) {
	var v *prometheus.CounterVec
	switch eventType {
	case connections.EventConnect:
		v = s.wsConnects
	case connections.EventMessage:
		v = s.wsMessages
	default:
		return
	}
	name := d.Name()
	key := ""
	if route != nil && d.API != nil && detailedRoute(d.Stage, d.API, route) {
		key = route.RouteKey
	}
	v.WithLabelValues(d.Stage.APIID, name, d.Stage.Name, key).Inc()
}

// Watch removes the series of stages that are deleted (alone or with their
// API) as soon as svc reports the change: a scrape stops showing them, and
// the registry does not grow with every stage ever deployed.
func (s *Stage) Watch(svc *apis.Service) {
	svc.Subscribe(func(apiID string) {
		s.mu.Lock()
		var names []string
		for k := range s.stages {
			if k.apiID == apiID {
				names = append(names, k.stage)
			}
		}
		s.mu.Unlock()
		for _, name := range names {
			if _, err := svc.GetStage(context.Background(), apiID, name); errors.Is(err, errdefs.ErrNotFound) {
				s.forget(apiID, name)
			}
		}
	})
}

// forget removes every series of one stage.
func (s *Stage) forget(apiID, stage string) {
	s.mu.Lock()
	delete(s.stages, stageRef{apiID, stage})
	delete(s.wsStages, stageRef{apiID, stage})
	s.mu.Unlock()
	s.deleteSeries(prometheus.Labels{"api_id": apiID, "stage": stage})
}

// forgetName removes the series of one stage under an API name it no longer
// goes by.
func (s *Stage) forgetName(ref stageRef, name string) {
	s.deleteSeries(prometheus.Labels{"api_id": ref.apiID, "stage": ref.stage, "api_name": name})
}

// deleteSeries removes the series of every metric that match has.
func (s *Stage) deleteSeries(match prometheus.Labels) {
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{s.requests, s.errors4xx, s.errors5xx,
		s.clientGone, s.cacheHits, s.cacheMisses, s.latency, s.integrationLatency, s.wsConnects, s.wsMessages} {
		v.DeletePartialMatch(match)
	}
}

var writerPool = sync.Pool{New: func() any { return new(pipeline.StatusWriter) }}

// Connections lists live WebSocket connections; *connections.Manager provides it.
type Connections interface {
	List(apiID, stage string) []connections.Info
}

// connectionsCollector reports live WebSocket connections per API and stage,
// counted at each scrape; stages, when set, lists the stages that read 0
// without connections.
type connectionsCollector struct {
	conns  Connections
	stages func() []stageRef
}

var connectionsDesc = prometheus.NewDesc("portico_ws_connections",
	"Live WebSocket connections, by api_id and stage.", []string{"api_id", "stage"}, nil)

// NewConnectionsCollector returns a collector of portico_ws_connections.
func NewConnectionsCollector(conns Connections) prometheus.Collector {
	return connectionsCollector{conns: conns}
}

// ConnectionsCollector returns a collector of portico_ws_connections that
// reads 0 for the WebSocket stages s compiled that have no connection (the
// series stays while the stage exists, and goes with it).
func (s *Stage) ConnectionsCollector(conns Connections) prometheus.Collector {
	return connectionsCollector{conns: conns, stages: s.webSocketStages}
}

// webSocketStages lists the WebSocket stages compiled and not forgotten.
func (s *Stage) webSocketStages() []stageRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]stageRef, 0, len(s.wsStages))
	for k := range s.wsStages {
		out = append(out, k)
	}
	return out
}

func (connectionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- connectionsDesc }

func (c connectionsCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct{ api, stage string }
	n := map[key]int{}
	if c.stages != nil {
		for _, k := range c.stages() {
			n[key{k.apiID, k.stage}] = 0
		}
	}
	for _, in := range c.conns.List("", "") {
		n[key{in.APIID, in.Stage}]++
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.GaugeValue, float64(v), k.api, k.stage)
	}
}

// Listeners reports the HTTP connections of the gateway's listeners;
// *gateway.Server provides it (the app provides it as Listeners: this package
// cannot name the gateway's, whose tests use it).
type Listeners interface {
	Connections() []connset.ListenerConns
}

// listenersCollector reports the gateway's HTTP connections per listener,
// awake and dormant, counted at each scrape.
type listenersCollector struct{ ls Listeners }

var listenerConnsDesc = prometheus.NewDesc("portico_gateway_connections",
	"HTTP connections the gateway's listeners hold, by listener (http, https, callback) and state: awake, or dormant (idle without a goroutine or buffers).",
	[]string{"listener", "state"}, nil)

// NewListenersCollector returns a collector of portico_gateway_connections.
func NewListenersCollector(ls Listeners) prometheus.Collector { return listenersCollector{ls} }

func (listenersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- listenerConnsDesc }

func (c listenersCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.ls.Connections() {
		ch <- prometheus.MustNewConstMetric(listenerConnsDesc, prometheus.GaugeValue, float64(l.Open-l.Dormant), l.Listener, "awake")
		ch <- prometheus.MustNewConstMetric(listenerConnsDesc, prometheus.GaugeValue, float64(l.Dormant), l.Listener, "dormant")
	}
}

// ModuleParams are the stage's fx dependencies.
type ModuleParams struct {
	fx.In

	Registerer  prometheus.Registerer
	Connections *connections.Manager `optional:"true"`
	APIs        *apis.Service        `optional:"true"`
}

// Module provides the metrics stage to the pipeline and registers the
// WebSocket and listener connection gauges.
var Module = fx.Module("gateway-metrics",
	fx.Provide(pipeline.AsStage(func(p ModuleParams) (*Stage, error) {
		s, err := New(p.Registerer)
		if err != nil {
			return nil, err
		}
		if p.APIs != nil {
			s.Watch(p.APIs)
		}
		if p.Connections != nil {
			if err := p.Registerer.Register(s.ConnectionsCollector(p.Connections)); err != nil {
				return nil, err
			}
		}
		return s, nil
	})),
	// The gateway's server is built from the pipeline, this stage included:
	// its collector is registered once both exist.
	fx.Invoke(fx.Annotate(func(reg prometheus.Registerer, ls Listeners) error {
		if ls == nil {
			return nil
		}
		return reg.Register(NewListenersCollector(ls))
	}, fx.ParamTags(``, `optional:"true"`))),
)
