// Package throttle is the pipeline stage that applies the account-wide throttle
// and the stage and per-method throttles of a stage's method settings, as token
// buckets with golang.org/x/time/rate's semantics (rate = tokens added per
// second, burst = the bucket's size). A request over a limit answers 429
// TooManyRequestsException {"message":"Too Many Requests"} before any
// integration runs.
//
// Limits, most specific first: a method's own settings
// ("/{resourcePath}/{METHOD}" for REST APIs, a route key such as "GET /pets" or
// "$connect" for HTTP and WebSocket APIs), else the stage's default ("*/*"),
// each method with a bucket of its own; then the account. Usage plan throttles
// (per client) are the usage stage's.
//
// Buckets live in a Limiter keyed by api/stage/method, outside the compiled
// middleware, so that recompiling a stage keeps its counts; new settings take
// effect as new rates on the same buckets.
package throttle

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/fx"
	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// Config is the account-wide throttle. Zero fields take the defaults; a
// negative RateLimit turns the account throttle off. In YAML a field left out
// takes its default, and 0 is refused (see UnmarshalYAML).
type Config struct {
	// RateLimit is the account's steady rate in requests per second (10,000).
	RateLimit float64 `yaml:"rate-limit"`
	// BurstLimit is the account's bucket size (5,000).
	BurstLimit int `yaml:"burst-limit"`
}

// UnmarshalYAML reads a Config from portico.yaml, refusing what the zero
// value cannot say: a rate-limit or burst-limit written as 0 would otherwise
// silently take the default, where the user meant a limit of 0. A NaN or
// infinite rate, and keys other than rate-limit and burst-limit, are refused
// too.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: throttle: give a mapping with rate-limit and burst-limit", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "rate-limit":
			if err := v.Decode(&c.RateLimit); err != nil {
				return err
			}
			if math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) {
				return fmt.Errorf("line %d: throttle: rate-limit %s is not a number of requests per second", v.Line, v.Value)
			}
			if c.RateLimit == 0 {
				return fmt.Errorf("line %d: throttle: rate-limit 0 is not taken: leave it out for the default (%d requests per second), or give a negative rate-limit to turn the account throttle off", v.Line, DefaultRateLimit)
			}
		case "burst-limit":
			if err := v.Decode(&c.BurstLimit); err != nil {
				return err
			}
			if c.BurstLimit == 0 {
				return fmt.Errorf("line %d: throttle: burst-limit 0 is not taken (a bucket of 0 would throttle every request): leave it out for the default (%d), or give a negative rate-limit to turn the account throttle off", v.Line, DefaultBurstLimit)
			}
		default:
			return fmt.Errorf("line %d: throttle: field %s not found: use rate-limit and burst-limit", k.Line, k.Value)
		}
	}
	return nil
}

// Defaults, as AWS's account-level throttle per region.
const (
	DefaultRateLimit  = 10000
	DefaultBurstLimit = 5000
)

// WithDefaults returns c with zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.BurstLimit == 0 {
		c.BurstLimit = DefaultBurstLimit
	}
	return c
}

// DefaultSettingsKey is the method settings key of a stage's defaults.
const DefaultSettingsKey = "*/*"

// accountKey is the account bucket's key.
const accountKey = "account"

// Stage is the throttle stage. Safe for concurrent use.
type Stage struct {
	account Limit
	lim     Limiter
	accB    Bucket
	// clock is the clock SetClock set; nil: a request is throttled at its
	// own time (Context.RequestTime, read when the gateway received it),
	// which spares a clock reading per request.
	clock atomic.Pointer[func() time.Time]

	mu sync.Mutex
	// own holds, by api/stage, the method keys whose own method setting
	// throttled at the stage's last compile.
	own map[string]map[string]bool
}

var _ pipeline.Stage = (*Stage)(nil)

// New returns the throttle stage with the account limit of cfg, keeping its
// buckets in lim (nil: a new in-process Buckets).
func New(cfg Config, lim Limiter) *Stage {
	cfg = cfg.WithDefaults()
	if lim == nil {
		lim = NewBuckets()
	}
	return &Stage{account: Limit{Rate: cfg.RateLimit, Burst: cfg.BurstLimit}, lim: lim, accB: lim.Bucket(accountKey),
		own: map[string]map[string]bool{}}
}

// SetClock replaces the stage's clock (for tests, with a fake clock under
// which no bucket refills). Without it a request is throttled at its
// Context.RequestTime (time.Now when that is zero), a message at time.Now.
func (s *Stage) SetClock(now func() time.Time) { s.clock.Store(&now) }

// now is the time a request received at t (zero: not known) is throttled at.
// Requests' times reach a bucket out of order (each is read before the
// request waits for its turn on a core); buckets do not go back in time
// (see bucket.Allow).
func (s *Stage) now(t time.Time) time.Time {
	if clock := s.clock.Load(); clock != nil {
		return (*clock)()
	}
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "throttle" }

// Order implements pipeline.Stage.
func (*Stage) Order() int { return pipeline.OrderThrottle }

// MethodKey returns the key of a route in a stage's method settings and in usage
// plans: "/{resourcePath}/{METHOD}" for REST APIs ("/pets/{id}/GET"), the route
// key for HTTP and WebSocket APIs ("GET /pets", "$connect").
func MethodKey(protocol string, r *apis.Route) string {
	if protocol == apis.ProtocolREST || protocol == "" {
		return r.Path + "/" + r.Method
	}
	return r.RouteKey
}

// SettingLimit returns the throttle of a method setting as set, a value that
// is not set being negative, and false when it sets neither value (an entry
// made for other settings). See Inherit for what a value not set takes.
func SettingLimit(ms apis.MethodSetting) (Limit, bool) {
	if ms.ThrottlingRateLimit == nil && ms.ThrottlingBurstLimit == nil {
		return Limit{}, false
	}
	l := Limit{Rate: -1, Burst: -1}
	if r := ms.ThrottlingRateLimit; r != nil {
		l.Rate = *r
	}
	if b := ms.ThrottlingBurstLimit; b != nil {
		l.Burst = *b
	}
	return l, true
}

// Inherit returns l with each value it does not set (a negative one) taken
// from parent. As on API Gateway, where a new method-settings entry takes
// the values it does not set from "*/*", whose own default is the account's
// (get-stage reads 10000/5000 there), a value not set is inherited and never
// means "admit nothing": a method whose rate alone is set keeps the bucket
// size of the level above. 0 set explicitly is a limit (see Limit).
func (l Limit) Inherit(parent Limit) Limit {
	if l.Rate < 0 {
		l.Rate = parent.Rate
	}
	if l.Burst < 0 {
		l.Burst = parent.Burst
	}
	return l
}

// stageLimit returns the stage throttle of the method under key: see
// stageLimitOf.
func (s *Stage) stageLimit(settings map[string]apis.MethodSetting, key string) (Limit, bool) {
	ms, ok := settings[key]
	return s.stageLimitOf(settings, ms, ok)
}

// stageLimitOf returns the stage throttle of a method whose own entry is ms
// (when own): the values it sets, the others from the stage default ("*/*"),
// the rest from the account; false when neither sets a throttle (the
// account's bucket alone applies).
func (s *Stage) stageLimitOf(settings map[string]apis.MethodSetting, ms apis.MethodSetting, own bool) (Limit, bool) {
	l, ok := Limit{Rate: -1, Burst: -1}, false
	if own {
		l, ok = SettingLimit(ms)
		if !ok {
			l = Limit{Rate: -1, Burst: -1}
		}
	}
	if all, found := settings[DefaultSettingsKey]; found {
		if dl, set := SettingLimit(all); set {
			l, ok = l.Inherit(dl), true
		}
	}
	if !ok {
		return Limit{}, false
	}
	return l.Inherit(s.account), true
}

// routeLimit is the stage limit of route r of an API of protocol: a REST
// method's own entry is found under any spelling of its key
// (apis.Stage.OwnMethodSetting), another route's under its route key.
func (s *Stage) routeLimit(st *apis.Stage, protocol string, r *apis.Route) (Limit, bool) {
	if protocol == apis.ProtocolREST || protocol == "" {
		ms, _, own := st.OwnMethodSetting(r.Path, r.Method)
		return s.stageLimitOf(st.MethodSettings, ms, own)
	}
	return s.stageLimit(st.MethodSettings, r.RouteKey)
}

// methodBucket is one method's bucket and limit in a compiled stage.
type methodBucket struct {
	b Bucket
	l Limit
}

// Compile implements pipeline.Stage.
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	s.dropRemoved(d.Stage, d.API.Protocol)
	methods := map[*apis.Route]methodBucket{}
	// A changed limit applies from the time of the change, not from the
	// method's next request (see Retuner): the stage's last update when it
	// says, as the gateway compiles a changed stage at its first request
	// after the change, else now.
	at := s.now(time.Time{})
	if u := d.Stage.UpdatedAt; !u.IsZero() && u.Before(at) {
		at = u
	}
	for i := range d.API.Routes {
		r := &d.API.Routes[i]
		key := MethodKey(d.API.Protocol, r)
		if l, ok := s.routeLimit(d.Stage, d.API.Protocol, r); ok && !l.Unlimited() {
			b := s.lim.Bucket(bucketKey(d.Stage.APIID, d.Stage.Name, key))
			SetLimit(b, at, l)
			methods[r] = methodBucket{b, l}
		}
	}
	if len(methods) == 0 && s.account.Unlimited() {
		return nil, nil
	}
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			now := s.now(c.RequestTime)
			if m, ok := lookup(methods, c.Route); ok && !m.b.Allow(now, m.l) {
				return pipeline.Errorf(pipeline.Throttled, "stage %s %s: over %g requests per second (burst %d)", c.Stage, c.RouteKey, m.l.Rate, m.l.Burst)
			}
			if !s.accB.Allow(now, s.account) {
				return pipeline.Errorf(pipeline.Throttled, "account: over %g requests per second (burst %d)", s.account.Rate, s.account.Burst)
			}
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// CheckMessage applies the stage and account throttles to one WebSocket route
// invocation ($connect, a message, $disconnect), which does not run the HTTP
// pipeline: c names the stage deployment (Deployed) and the route (RouteKey).
func (s *Stage) CheckMessage(c *pipeline.Context) error {
	now := s.now(time.Time{})
	if d := c.Deployed; d != nil {
		if l, ok := s.stageLimit(d.Stage.MethodSettings, c.RouteKey); ok &&
			!s.lim.Bucket(bucketKey(d.Stage.APIID, d.Stage.Name, c.RouteKey)).Allow(now, l) {
			return pipeline.Errorf(pipeline.Throttled, "stage %s route %s: over %g requests per second (burst %d)", c.Stage, c.RouteKey, l.Rate, l.Burst)
		}
	}
	if !s.accB.Allow(now, s.account) {
		return pipeline.Errorf(pipeline.Throttled, "account: over %g requests per second (burst %d)", s.account.Rate, s.account.Burst)
	}
	return nil
}

// lookup is methods[r], skipping the hash when no method has a throttle (most
// stages: only the account throttle applies).
func lookup(methods map[*apis.Route]methodBucket, r *apis.Route) (methodBucket, bool) {
	if len(methods) == 0 {
		return methodBucket{}, false
	}
	m, ok := methods[r]
	return m, ok
}

func bucketKey(apiID, stage, method string) string { return apiID + "/" + stage + "/" + method }

// Dropper is a Limiter that can forget a bucket. Buckets is one.
type Dropper interface {
	// Drop forgets the bucket under key: the next Bucket(key) is a new, full one.
	Drop(key string)
}

// dropRemoved forgets the buckets of methods whose own throttle setting the
// stage had at its last compile and has no more, so that a removed limit
// leaves no drained bucket behind: the method starts afresh under the stage
// default (or unthrottled). Changed limits keep their buckets (new rates on the
// same counts).
func (s *Stage) dropRemoved(st *apis.Stage, protocol string) {
	now := map[string]bool{}
	for key, ms := range st.MethodSettings {
		if _, ok := SettingLimit(ms); ok && key != DefaultSettingsKey {
			if protocol == apis.ProtocolREST || protocol == "" {
				// Buckets are named by MethodKey ("/pets/GET"), whatever
				// the spelling of the settings key ("~1pets/GET").
				if p, m, err := apis.ResolveMethodSettingsKey(key); err == nil {
					key = p + "/" + m
				}
			}
			now[key] = true
		}
	}
	id := st.APIID + "/" + st.Name
	s.mu.Lock()
	before := s.own[id]
	if len(now) > 0 {
		s.own[id] = now
	} else {
		delete(s.own, id)
	}
	s.mu.Unlock()
	d, ok := s.lim.(Dropper)
	if !ok {
		return
	}
	for key := range before {
		if !now[key] {
			d.Drop(bucketKey(st.APIID, st.Name, key))
		}
	}
}

// Params are the stage's dependencies under fx.
type Params struct {
	fx.In

	Config Config `optional:"true"`
	// Limiter replaces the in-process buckets (a shared store, later).
	Limiter Limiter `optional:"true"`
}

// Module provides the throttle stage (*Stage, and as a pipeline stage).
var Module = fx.Module("throttle",
	fx.Provide(
		func(p Params) *Stage { return New(p.Config, p.Limiter) },
		pipeline.AsStage(func(s *Stage) *Stage { return s }),
	),
)
