// Package accesslog is the gateway's access-log stage: per stage
// (accessLogSettings), one line per request in the stage's format of $context
// variables (Parse; the console's CLF, JSON, XML and CSV presets), written to the
// stage's destination (stdout, a file, or syslog://host:port) asynchronously:
// each destination has a bounded queue and a writer goroutine, and a line that
// finds the queue full is dropped and counted rather than holding up the
// request. Lines that a failing destination cannot take are counted and logged.
// A file destination is reopened when its path no longer names the open file
// (rotated: renamed or removed), checked at most once per ReopenCheck; a
// destination no stage writes to any more is closed.
package accesslog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
)

// DefaultQueue is each destination's queue, in lines.
const DefaultQueue = 8192

// DefaultQueueBytes bounds each destination's queue in bytes, as well as in
// lines: 16 MiB, so that long lines (MaxLine each) behind a destination that
// blocks cannot fill the memory.
const DefaultQueueBytes = 16 << 20

// Options configure the stage; zero fields take defaults.
type Options struct {
	// Queue is each destination's queue, in lines (DefaultQueue).
	Queue int
	// QueueBytes bounds each destination's queue in bytes
	// (DefaultQueueBytes): a line that would pass it is dropped and counted.
	QueueBytes int
	// Stdout is where "stdout" writes (os.Stdout).
	Stdout io.Writer
	// Registerer, when set, gets portico_accesslog_dropped_total and
	// portico_accesslog_failed_total by destination.
	Registerer prometheus.Registerer
	// Now is the clock latencies are measured by (time.Now).
	Now func() time.Time
	// ReopenClock is the clock of the file writers' checks for a rotated
	// file (time.Now). It is not Now: the writers read it on their own
	// goroutines, which a test's clock that moves at each reading would not
	// expect.
	ReopenClock func() time.Time
	// Dirs are the directories file destinations may be in (Dirs.Check);
	// nil: any (tests). The server always sets them.
	Dirs *Dirs
}

// Stage is the access-log stage: a long-lived service holding one writer per
// destination. Safe for concurrent use.
type Stage struct {
	opts            Options
	log             *slog.Logger
	dropped, failed *prometheus.CounterVec

	mu    sync.Mutex
	sinks map[string]*sink // by destination (Target.String)
	// users maps each compiled stage side (userKey) to the destination it
	// writes to; a sink no user names is retired (sweep).
	users map[string]string
	// retiring are retired sinks, until they stopped.
	retiring []*sink

	ws wsLogs // WebSocket stages' access logs (websocket.go)

	// refused records the stage sides whose stored file destination Dirs
	// refuses, by destination, so that each is logged once.
	refused map[string]string
}

var _ pipeline.Stage = (*Stage)(nil)

// New returns the stage.
func New(opts Options, log *slog.Logger) (*Stage, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = DefaultQueueBytes
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReopenClock == nil {
		opts.ReopenClock = time.Now
	}
	s := &Stage{opts: opts, log: log, sinks: map[string]*sink{}, users: map[string]string{}, refused: map[string]string{},
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_accesslog_dropped_total",
			Help: "Access log lines dropped because the destination's queue was full."}, []string{"destination"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_accesslog_failed_total",
			Help: "Access log lines the destination could not take (unreachable, unwritable)."}, []string{"destination"}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.dropped, s.failed} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "accesslog" }

// Order implements pipeline.Stage.
func (*Stage) Order() int { return pipeline.OrderObserve }

// Validate checks a stage's access-log settings where they are written
// (the control planes, a template being deployed): the format (CheckFormat,
// for an API of protocol) and the destination's form. The admin API also
// checks the destination on the gateway's machine (CheckDestination).
func Validate(protocol string, s apis.AccessLogSettings) error {
	if _, err := CheckFormat(protocol, s.Format); err != nil {
		return err
	}
	_, err := ParseDestination(s.DestinationARN)
	return err
}

// CheckDestination checks a destination where it is set (the admin API):
// CheckDestination with the stage's Dirs.
func (s *Stage) CheckDestination(dest string) (Target, error) {
	return CheckDestination(dest, s.opts.Dirs)
}

// sinkFor returns the writer of t, starting it.
func (s *Stage) sinkFor(t Target) *sink {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sinkForLocked(t)
}

// attach returns the writer of t for the stage side user, recording the use
// (in one step, so that no sweep retires the writer in between).
func (s *Stage) attach(user string, t Target) *sink {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.sinkForLocked(t)
	s.users[user] = t.String()
	s.sweepLocked()
	return k
}

// sinkForLocked is sinkFor with s.mu held.
func (s *Stage) sinkForLocked(t Target) *sink {
	key := t.String()
	if k := s.sinks[key]; k != nil {
		return k
	}
	drop, fail := s.dropped.WithLabelValues(key), s.failed.WithLabelValues(key)
	k := newSink(t, s.opts.Dirs, s.opts.Queue, s.opts.QueueBytes, s.opts.Stdout, s.log, s.opts.ReopenClock, drop.Inc, fail.Inc, func() { s.forgetSeries(key) })
	s.sinks[key] = k
	return k
}

// forgetSeries removes destination key's series once its writer stopped,
// unless a stage writes to it again (a new sink of key shares them): the
// registry keeps no series of destinations no stage uses.
func (s *Stage) forgetSeries(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sinks[key] == nil {
		s.dropped.DeleteLabelValues(key)
		s.failed.DeleteLabelValues(key)
	}
}

// userKey names one compiled side of a stage (its canary compiles apart).
func userKey(d *pipeline.Deployed) string {
	k := d.Stage.APIID + "/" + d.Stage.Name
	if d.Canary {
		k += "#canary"
	}
	return k
}

// detach records that the stage side user writes no access log and retires
// the sinks no stage side uses any more.
func (s *Stage) detach(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, user)
	s.sweepLocked()
}

// sweepLocked retires the sinks that no stage side uses; s.mu is held.
func (s *Stage) sweepLocked() {
	used := make(map[string]bool, len(s.users))
	for _, dest := range s.users {
		used[dest] = true
	}
	for key, k := range s.sinks {
		if !used[key] {
			delete(s.sinks, key)
			k.retire()
			s.retiring = append(s.retiring, k)
		}
	}
	s.retiring = slices.DeleteFunc(s.retiring, func(k *sink) bool {
		select {
		case <-k.done:
			return true
		default:
			return false
		}
	})
}

// Watch forgets the access logs of stages that are deleted, lose their
// settings or change their destination as soon as svc reports the change,
// and closes the destinations no stage writes to any more; a stage whose
// settings changed takes its new destination when it next compiles.
func (s *Stage) Watch(svc *apis.Service) {
	svc.Subscribe(func(apiID string) {
		s.mu.Lock()
		users := maps.Clone(s.users)
		s.mu.Unlock()
		for user, dest := range users {
			name, ok := strings.CutPrefix(user, apiID+"/")
			if !ok {
				continue
			}
			name, canary := strings.CutSuffix(name, "#canary")
			st, err := svc.GetStage(context.Background(), apiID, name)
			if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
				continue
			}
			now := ""
			if err == nil && st.AccessLogSettings != nil && (!canary || st.CanarySettings != nil) {
				if t, err := ParseDestination(st.AccessLogSettings.DestinationARN); err == nil {
					now = t.String()
				}
			}
			if now != dest {
				if !canary {
					s.ws.m.Delete(wsKey{apiID, name})
				}
				s.mu.Lock()
				if s.users[user] == dest {
					delete(s.users, user)
				}
				s.mu.Unlock()
			}
		}
		s.mu.Lock()
		s.sweepLocked()
		s.mu.Unlock()
	})
}

// liveSink returns a sink of t held for one line: k unless it stopped (its
// stage changed destination while the request ran), else t's current one.
func (s *Stage) liveSink(k *sink, t Target) (*sink, bool) {
	if k.acquire() {
		return k, false
	}
	for {
		if k = s.sinkFor(t); k.acquire() {
			return k, true
		}
	}
}

// Dropped and Failed return the lines dropped (queue full) and failed
// (destination error) for a destination so far.
func (s *Stage) Dropped(dest string) (dropped, failed int64) {
	t, err := ParseDestination(dest)
	if err != nil {
		return 0, 0
	}
	s.mu.Lock()
	k := s.sinks[t.String()]
	s.mu.Unlock()
	if k == nil {
		return 0, 0
	}
	return k.dropped.Load(), k.failed.Load()
}

// Compile implements pipeline.Stage: nothing to do for a stage without access
// log settings. Settings that do not parse (the admin API refuses them, so
// only a store edited by hand has them) turn the log off, logged, rather than
// the stage.
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	set := d.Stage.AccessLogSettings
	if set == nil || set.Format == "" || set.DestinationARN == "" {
		s.setWebSocket(d, nil, nil, Target{})
		s.detach(userKey(d))
		return nil, nil
	}
	f, err := Parse(set.Format)
	if err == nil {
		var t Target
		if t, err = ParseDestination(set.DestinationARN); err == nil {
			if t.Kind == kindFile && s.opts.Dirs != nil {
				if derr := s.opts.Dirs.Check(t.Path); derr != nil {
					return s.refuse(d, t, derr), nil
				}
			}
			k := s.attach(userKey(d), t)
			s.setWebSocket(d, f, k, t)
			return s.middleware(f, k, t), nil
		}
	}
	s.setWebSocket(d, nil, nil, Target{})
	s.detach(userKey(d))
	s.log.Error("stage access log settings are unusable: no access log", "api", d.Stage.APIID, "stage", d.Stage.Name, "err", err)
	return nil, nil
}

// refuse turns off the access log of a stage whose stored file destination
// is outside the allowed directories (set by an older build, which did not
// check them): the stage serves, its lines are dropped and counted as dropped
// for the destination, and the first compile logs it as an error.
func (s *Stage) refuse(d *pipeline.Deployed, t Target, err error) pipeline.Middleware {
	s.setWebSocket(d, nil, nil, Target{})
	user := userKey(d)
	s.detach(user)
	s.mu.Lock()
	logged := s.refused[user] == t.String()
	s.refused[user] = t.String()
	s.mu.Unlock()
	if !logged {
		s.log.Error("stage access log destination is outside the allowed directories: its lines are dropped; "+
			"set the stage's destinationArn to a file in an allowed directory, or add the directory with "+DirsSetting,
			"api", d.Stage.APIID, "stage", d.Stage.Name, "destination", t.String(), "err", err)
	}
	dropped := s.dropped.WithLabelValues(t.String())
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			dropped.Inc()
			return next.ServeRequest(w, r, c)
		})
	}
}

func (s *Stage) middleware(f *Format, k *sink, t Target) pipeline.Middleware {
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			// Latency counts from when the gateway received the request
			// (one clock reading less; the clock costs here).
			start := c.RequestTime
			if start.IsZero() {
				start = s.opts.Now()
			}
			cw := writerPool.Get().(*countingWriter)
			cw.ResponseWriter, cw.status, cw.n = w, 0, 0
			err := next.ServeRequest(cw, r, c)
			rec := Record{C: c, Status: cw.status, ResponseLength: cw.n, Protocol: r.Proto, Path: r.URL.Path, RequestLength: r.ContentLength}
			if f.traceID {
				rec.TraceID = traceRoot(w.Header().Get("X-Amzn-Trace-Id"))
			}
			cw.ResponseWriter = nil
			writerPool.Put(cw)
			if c.Status != 0 {
				rec.Status = int(c.Status)
			}
			if rec.Status == 0 {
				rec.Status = http.StatusOK
			}
			rec.Latency = c.Latency(start, func(t time.Time) time.Duration { return s.opts.Now().Sub(t) })
			line := bufPool.Get().(*[]byte)
			*line = append(f.Append(*line, &rec), '\n')
			held, fallback := s.liveSink(k, t)
			held.put(line)
			held.release()
			if fallback {
				// A line of a request that outlived its destination's
				// sink: its new sink stops again unless a stage uses it.
				s.mu.Lock()
				s.sweepLocked()
				s.mu.Unlock()
			}
			return err
		})
	}
}

// traceRoot returns the Root of an X-Amzn-Trace-Id header, "" without one.
func traceRoot(h string) string {
	for f := range strings.SplitSeq(h, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(f), "Root="); ok {
			return v
		}
	}
	return ""
}

// CloseTimeout bounds how long Close waits for the writers, as the trace
// flush on stop is bounded.
const CloseTimeout = 5 * time.Second

// Close stops the writers after they wrote what is queued, waiting for them
// for at most CloseTimeout (and ctx): a destination that blocks (a hung NFS
// file) costs its unwritten lines, counted as failed and logged, not the
// stop.
func (s *Stage) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, CloseTimeout)
	defer cancel()
	s.mu.Lock()
	sinks := make([]*sink, 0, len(s.sinks)+len(s.retiring))
	for _, k := range s.sinks {
		sinks = append(sinks, k)
	}
	sinks = append(sinks, s.retiring...)
	s.mu.Unlock()
	for _, k := range sinks {
		k.once.Do(func() { close(k.stop) }) // all at once: they write in parallel
	}
	for _, k := range sinks {
		if lost := k.close(ctx); lost > 0 {
			s.log.Warn("access log destination did not take its lines by the end of the stop (it blocks): they are dropped",
				"destination", k.target.String(), "linesDropped", lost)
		}
	}
	return nil
}

// countingWriter records the status and counts the body bytes.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

var writerPool = sync.Pool{New: func() any { return new(countingWriter) }}

// WriteHeader implements http.ResponseWriter.
func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (w *countingWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer (for http.ResponseController).
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// PassesThrough implements pipeline.PassThrough.
func (w *countingWriter) PassesThrough() http.ResponseWriter { return w.ResponseWriter }

// ModuleParams are the stage's fx dependencies.
type ModuleParams struct {
	fx.In

	Log        *slog.Logger
	Registerer prometheus.Registerer `optional:"true"`
	// Dirs are where file destinations may be (Options.Dirs); required.
	Dirs *Dirs
	// APIs, when provided, report stage changes (Watch).
	APIs *apis.Service `optional:"true"`
}

// Module provides the access-log stage to the pipeline and closes its writers
// on stop. The hook is appended when the stage is made, before the hooks of
// the servers that take it (the gateway's), so that the writers close after
// the servers stopped: the lines of the requests a server finishes while it
// shuts down are written too.
var Module = fx.Module("accesslog",
	fx.Provide(
		func(lc fx.Lifecycle, p ModuleParams) (*Stage, error) {
			s, err := New(Options{Registerer: p.Registerer, Dirs: p.Dirs}, p.Log.With("component", "accesslog"))
			if err == nil {
				lc.Append(fx.Hook{OnStop: s.Close})
				if p.APIs != nil {
					s.Watch(p.APIs)
				}
			}
			return s, err
		},
		pipeline.AsStage(func(s *Stage) *Stage { return s }),
	),
)
