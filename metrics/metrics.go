// Package metrics is Portico's Prometheus registry: the Go runtime and process
// collectors, the functions' metrics named after Lambda's (Lambda, an
// invoker.Observer), the handler that serves them at GET /metrics on the admin
// listener, and an optional listener of its own (Config.Listen). The gateway's
// metrics are a pipeline stage (gateway/metrics) registered here too.
//
// Label sets stay bounded: functions, versions, aliases, APIs and stages are
// configuration, never request ids or raw paths.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/ownaddr"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/store"
)

// NewRegistry returns a registry holding the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in Prometheus's text (or negotiated) format. Errors while
// gathering are logged and the metrics that could be gathered are served.
func Handler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	})
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: " + fmt.Sprint(v...)) }

// Provisioned lists provisioned concurrency configurations; *functions.Service
// provides it.
type Provisioned interface {
	ListProvisioned(ctx context.Context) ([]functions.ProvisionedConfig, error)
}

// lambdaLabels are the labels of the per-invocation metrics.
var lambdaLabels = []string{"function", "alias", "executed_version"}

// Lambda holds the functions' metrics and is the invoker's Observer. Safe for
// concurrent use.
type Lambda struct {
	invocations, errors, throttles *prometheus.CounterVec
	coldStarts                     *prometheus.CounterVec
	duration, initDuration         *prometheus.HistogramVec
	concurrent                     *prometheus.GaugeVec
	asyncEvents                    map[invoker.AsyncOutcome]*prometheus.CounterVec
}

var _ invoker.Observer = (*Lambda)(nil)

// durationBuckets cover a millisecond to Lambda's 900 s maximum.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900}

// NewLambda registers the functions' metrics with reg. prov, when not nil, is
// read at each scrape for portico_lambda_provisioned_concurrency_configured.
func NewLambda(reg prometheus.Registerer, prov Provisioned) (*Lambda, error) {
	l := &Lambda{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_invocations_total",
			Help: "Invocations that ran (Lambda's Invocations), by function, alias and executed version."}, lambdaLabels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_errors_total",
			Help: "Invocations that ended in a function error, timeout or crash (Lambda's Errors)."}, lambdaLabels),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_throttles_total",
			Help: "Calls refused at a concurrency limit (Lambda's Throttles)."}, lambdaLabels),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_cold_starts_total",
			Help: "Invocations that started a sandbox."}, lambdaLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_lambda_duration_seconds",
			Help: "Time a function's handler ran (Lambda's Duration).", Buckets: durationBuckets}, lambdaLabels),
		initDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_lambda_init_duration_seconds",
			Help: "Sandbox init time of cold starts (the REPORT line's Init Duration).", Buckets: durationBuckets}, lambdaLabels),
		concurrent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "portico_lambda_concurrent_executions",
			Help: "Invocations running now (Lambda's ConcurrentExecutions)."}, []string{"function"}),
		asyncEvents: map[invoker.AsyncOutcome]*prometheus.CounterVec{},
	}
	cs := []prometheus.Collector{l.invocations, l.errors, l.throttles, l.coldStarts, l.duration, l.initDuration, l.concurrent}
	for _, o := range []invoker.AsyncOutcome{invoker.AsyncQueued, invoker.AsyncRetried, invoker.AsyncDropped} {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_async_events_" + string(o) + "_total",
			Help: "Event (asynchronous) invocations " + string(o) + "."}, []string{"function"})
		l.asyncEvents[o] = v
		cs = append(cs, v)
	}
	if prov != nil {
		cs = append(cs, provisionedCollector{prov})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register lambda metrics: %w", err)
		}
	}
	return l, nil
}

// OnInvoke implements invoker.Observer.
func (l *Lambda) OnInvoke(i invoker.Invocation) {
	lv := []string{i.Function, i.Alias, i.Version}
	l.invocations.WithLabelValues(lv...).Inc()
	if i.Error {
		l.errors.WithLabelValues(lv...).Inc()
	}
	if i.Duration > 0 {
		l.duration.WithLabelValues(lv...).Observe(i.Duration.Seconds())
	}
	if i.ColdStart {
		l.coldStarts.WithLabelValues(lv...).Inc()
		if i.InitDuration > 0 {
			l.initDuration.WithLabelValues(lv...).Observe(i.InitDuration.Seconds())
		}
	}
}

// OnThrottle implements invoker.Observer.
func (l *Lambda) OnThrottle(function, version, alias string) {
	l.throttles.WithLabelValues(function, alias, version).Inc()
}

// OnConcurrency implements invoker.Observer.
func (l *Lambda) OnConcurrency(function string, delta int) {
	l.concurrent.WithLabelValues(function).Add(float64(delta))
}

// OnAsync implements invoker.Observer.
func (l *Lambda) OnAsync(function string, what invoker.AsyncOutcome) {
	if v := l.asyncEvents[what]; v != nil {
		v.WithLabelValues(function).Inc()
	}
}

// Forget removes the series of function name, once it is deleted: every
// series of it when version is "" (the function), else those of that
// published version. The concurrency gauge of a function stays while
// invocations of it still run, so that their end does not leave it negative.
func (l *Lambda) Forget(name, version string) {
	match := prometheus.Labels{"function": name}
	if version != "" {
		match["executed_version"] = version
	}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{l.invocations, l.errors, l.throttles,
		l.coldStarts, l.duration, l.initDuration} {
		v.DeletePartialMatch(match)
	}
	if version != "" {
		return
	}
	for _, v := range l.asyncEvents {
		v.DeleteLabelValues(name)
	}
	if g, err := l.concurrent.GetMetricWithLabelValues(name); err == nil {
		var m dto.Metric
		if g.Write(&m) == nil && m.GetGauge().GetValue() == 0 {
			l.concurrent.DeleteLabelValues(name)
		}
	}
}

// ForgetAlias removes the series labelled with alias of function name, once
// the alias is deleted: the version's own series (alias "") and other
// aliases' stay. An invocation through the alias still running then may
// record one series again when it ends.
func (l *Lambda) ForgetAlias(name, alias string) {
	if alias == "" {
		return
	}
	match := prometheus.Labels{"function": name, "alias": alias}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{l.invocations, l.errors, l.throttles,
		l.coldStarts, l.duration, l.initDuration} {
		v.DeletePartialMatch(match)
	}
}

// forgetDeleted has l forget each function, version or alias fns deletes,
// once the delete committed.
func (l *Lambda) forgetDeleted(fns *functions.Service) {
	fns.OnDropQualifier(l.ForgetAlias)
	fns.OnDelete(func(name, version string) store.Step {
		return func(tx *store.Tx) error {
			tx.OnCommit(func() { l.Forget(name, version) })
			return nil
		}
	})
}

// provisionedCollector reports the provisioned concurrency configured per
// function and qualifier, read from the store at each scrape.
type provisionedCollector struct{ prov Provisioned }

var provisionedDesc = prometheus.NewDesc("portico_lambda_provisioned_concurrency_configured",
	"Provisioned concurrent executions configured, by function and qualifier (alias or version).",
	[]string{"function", "qualifier"}, nil)

func (provisionedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- provisionedDesc }

func (p provisionedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := p.prov.ListProvisioned(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(provisionedDesc, err)
		return
	}
	for _, c := range list {
		ch <- prometheus.MustNewConstMetric(provisionedDesc, prometheus.GaugeValue, float64(c.Requested), c.FunctionName, c.Qualifier)
	}
}

// Config configures the optional metrics listener.
type Config struct {
	// Listen, when set, serves GET /metrics (without authentication) on an
	// address of its own, for scrapers that cannot hold the admin token.
	Listen string
	// Limits are the listener's header size and header, body and idle
	// timeouts, as on the admin and gateway listeners (zero fields:
	// listener.DefaultLimits).
	Limits listener.Limits
	// MaxConnsPerIP bounds the connections one client address holds open
	// (h1.Options.MaxConnsPerIP). Zero: DefaultMaxConnsPerIP; negative: no
	// bound.
	MaxConnsPerIP int
}

// DefaultMaxConnsPerIP is Config.MaxConnsPerIP's default: a scraper needs one
// or two connections, and a client that opens more without end costs no more
// than these file descriptors.
const DefaultMaxConnsPerIP = 16

// Server is the optional metrics listener. Safe for concurrent use.
type Server struct {
	cfg Config
	h   http.Handler
	log *slog.Logger
	srv *h1.Server
	ln  net.Listener
}

// NewServer returns a server of h as cfg says (cfg.Listen is its address).
func NewServer(cfg Config, h http.Handler, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, h: h, log: log}
}

// Start binds the listener and serves in the background, with internal/h1
// under the listener's limits, as the admin and gateway listeners are served:
// a client that is slow to send a header or a body, or idles on a keep-alive
// connection, is cut off, and one address holds at most MaxConnsPerIP
// connections.
func (s *Server) Start(context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	l := s.cfg.Limits.WithDefaults()
	maxConns := s.cfg.MaxConnsPerIP
	switch {
	case maxConns == 0:
		maxConns = DefaultMaxConnsPerIP
	case maxConns < 0:
		maxConns = 0
	}
	// The scrape route reads no body: a request that comes with one (a
	// wrong method, most likely) is answered at once and its connection
	// closed, rather than after the server waited for the body to discard.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
		}
		serveScrape(w, r, s.h)
	})
	s.srv = h1.New(l.Handler(h), h1.Options{
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ReadHeaderTimeout: l.HeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxConnsPerIP:     maxConns,
		Refuse:            listener.Refuse,
		Log:               s.log,
	})
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "err", err)
		}
	}()
	s.log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}

// serveScrape serves GET (and HEAD) /metrics with h. Anything else is
// answered in plain text, as a scraper reads the listener's answers, each
// saying what the listener serves: 404 for another path, 405 with Allow for
// another method (ServeMux's answers were a bare "404 page not found" and
// "Method Not Allowed").
func serveScrape(w http.ResponseWriter, r *http.Request, h http.Handler) {
	switch {
	case r.URL.Path != "/metrics":
		http.Error(w, fmt.Sprintf("404 not found: %s is not served here; this listener serves Prometheus's metrics at GET /metrics only", r.URL.Path), http.StatusNotFound)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, fmt.Sprintf("405 method not allowed: /metrics does not take %s; scrape it with GET", r.Method), http.StatusMethodNotAllowed)
	default:
		h.ServeHTTP(w, r)
	}
}

// Addr returns the bound address, after Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Stop shuts the server down: scrapes in flight may finish within
// shutdown.Graceful(ctx), then their connections are closed, leaving the hooks
// after this one the rest of ctx.
func (s *Server) Stop(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	if err := shutdown.Stop(ctx, s.srv); err != nil {
		s.log.Warn("shutdown: scrapes still running when the shutdown timeout ended were cut off", "err", err)
	}
	return nil
}

// HandlerResult names the metrics handler for the admin server.
type HandlerResult struct {
	fx.Out
	Handler http.Handler `name:"metrics"`
}

// Module provides the registry (*prometheus.Registry and prometheus.Registerer),
// the functions' metrics as the invoker's Observer, the handler named "metrics"
// (for the admin listener), and runs the metrics listener when Config.Listen is
// set.
var Module = fx.Module("metrics",
	fx.Provide(
		NewRegistry,
		func(reg *prometheus.Registry) prometheus.Registerer { return reg },
		func(reg *prometheus.Registry, log *slog.Logger) HandlerResult {
			return HandlerResult{Handler: Handler(reg, log.With("component", "metrics"))}
		},
		fx.Annotate(func(reg prometheus.Registerer, fns *functions.Service) (*Lambda, error) {
			l, err := NewLambda(reg, fns)
			if err != nil {
				return nil, err
			}
			l.forgetDeleted(fns)
			return l, nil
		}, fx.As(new(invoker.Observer))),
	),
	fx.Invoke(fx.Annotate(func(lc fx.Lifecycle, cfg Config, h http.Handler, log *slog.Logger, own *ownaddr.Set) {
		if cfg.Listen == "" {
			return
		}
		s := NewServer(cfg, h, log.With("component", "metrics"))
		lc.Append(fx.Hook{OnStart: func(ctx context.Context) error {
			if err := s.Start(ctx); err != nil {
				return err
			}
			// No integration may reach the endpoint (gateway.OwnListeners).
			_ = own.Add("metrics endpoint", s.Addr())
			return nil
		}, OnStop: s.Stop})
	}, fx.ParamTags(``, `optional:"true"`, `name:"metrics"`, ``, `optional:"true"`))),
)
