package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/gateway/throttle"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/store"
)

// KeyStage is the pipeline stage that enforces API keys and usage plans on the
// methods that require a key. Two instances run, both after the authorizers
// and resource policies (a request they refuse is not counted): one at
// OrderAPIKey for APIs whose key source is HEADER (x-api-key), one at
// OrderAPIKeyAuthorizer for APIs whose key source is AUTHORIZER (the
// authorizer's usageIdentifierKey). Safe for concurrent use.
type KeyStage struct {
	svc    *Service
	source string
}

var _ pipeline.Stage = (*KeyStage)(nil)

// NewKeyStage returns the stage for keys sent in the x-api-key header.
func NewKeyStage(svc *Service) *KeyStage { return &KeyStage{svc: svc, source: SourceHeader} }

// NewAuthorizerKeyStage returns the stage for keys named by an authorizer's
// usageIdentifierKey.
func NewAuthorizerKeyStage(svc *Service) *KeyStage {
	return &KeyStage{svc: svc, source: SourceAuthorizer}
}

// Name implements pipeline.Stage.
func (s *KeyStage) Name() string {
	if s.source == SourceAuthorizer {
		return "apikey-authorizer"
	}
	return "apikey"
}

// Order implements pipeline.Stage.
func (s *KeyStage) Order() int {
	if s.source == SourceAuthorizer {
		return pipeline.OrderAPIKeyAuthorizer
	}
	return pipeline.OrderAPIKey
}

// Compile implements pipeline.Stage: nothing to do unless a route of the
// deployment requires a key and the API's key source is this stage's. An
// unknown key source refuses the deployment rather than serve unchecked.
func (s *KeyStage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	required := map[*apis.Route]string{}
	for i := range d.API.Routes {
		r := &d.API.Routes[i]
		if !r.APIKeyRequired {
			continue
		}
		if d.API.Protocol == apis.ProtocolWebSocket && r.RouteKey != apis.RouteConnect {
			return nil, fmt.Errorf("route %q requires an API key: WebSocket APIs check keys on $connect only", r.RouteKey)
		}
		required[r] = throttle.MethodKey(d.API.Protocol, r)
	}
	if len(required) == 0 {
		return nil, nil
	}
	src := keySource(d.API)
	if src != SourceHeader && src != SourceAuthorizer {
		return nil, fmt.Errorf("apiKeySource %q: use HEADER or AUTHORIZER", src)
	}
	if src != s.source || d.API.Protocol == apis.ProtocolWebSocket { // WebSocket: CheckMessage
		return nil, nil
	}
	apiID, stage := d.Stage.APIID, d.Stage.Name
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			method, ok := required[c.Route]
			if !ok {
				return next.ServeRequest(w, r, c)
			}
			var value string
			if s.source == SourceHeader {
				// A repeated x-api-key is checked on its last value, the
				// one the integration sees (the proxy event's headers,
				// $input.params), never on another sent beside it.
				if vs := r.Header.Values(HeaderName); len(vs) > 0 {
					value = vs[len(vs)-1]
				}
			} else {
				value = c.Authorizer.UsageIdentifierKey
			}
			if err := s.svc.admit(c, value, apiID, stage, method); err != nil {
				return err
			}
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

func keySource(a *apis.API) string {
	if a.APIKeySource == "" {
		return SourceHeader
	}
	return a.APIKeySource
}

// CheckMessage checks the API key of a WebSocket $connect whose route requires
// one (the gateway's MessageChecker): the x-api-key header of the upgrade
// request (c.Identity.APIKey) or the authorizer's usageIdentifierKey.
func (s *KeyStage) CheckMessage(c *pipeline.Context) error {
	if c.Route == nil || !c.Route.APIKeyRequired || c.Deployed == nil || keySource(c.Deployed.API) != s.source {
		return nil
	}
	value := c.Identity.APIKey
	if s.source == SourceAuthorizer {
		value = c.Authorizer.UsageIdentifierKey
	}
	return s.svc.admit(c, value, c.Deployed.Stage.APIID, c.Deployed.Stage.Name, c.Route.RouteKey)
}

// admit checks the key value (never logged) for a method of an API stage,
// then the plan's throttles and quota for it, and sets the request's identity.
func (s *Service) admit(c *pipeline.Context, value, apiID, stage, method string) error {
	if value == "" {
		return pipeline.Errorf(pipeline.InvalidAPIKey, "%s %s requires an API key and the request has none", apiID, method)
	}
	ix := s.index.Load()
	k := ix.lookup(value)
	if k == nil {
		return pipeline.Errorf(pipeline.InvalidAPIKey, "%s %s: the API key is not a known key", apiID, method)
	}
	if !k.Enabled {
		return pipeline.Errorf(pipeline.InvalidAPIKey, "%s %s: API key %s is disabled", apiID, method, k.ID)
	}
	kp := ix.plans[planRef{k.ID, apiID, stage}]
	if kp == nil {
		return pipeline.Errorf(pipeline.InvalidAPIKey, "%s %s: API key %s is in no usage plan of stage %s", apiID, method, k.ID, stage)
	}
	c.Identity.APIKey, c.Identity.APIKeyID = value, k.ID
	now := s.now()
	if m, ok := kp.methods[method]; ok && !m.b.Allow(now, m.l) {
		return pipeline.Errorf(pipeline.Throttled, "usage plan %s, key %s, %s: over %g requests per second (burst %d)", kp.plan.ID, k.ID, method, m.l.Rate, m.l.Burst)
	}
	if kp.bucket != nil && !kp.bucket.Allow(now, kp.limit) {
		return pipeline.Errorf(pipeline.Throttled, "usage plan %s, key %s: over %g requests per second (burst %d)", kp.plan.ID, k.ID, kp.limit.Rate, kp.limit.Burst)
	}
	ok, err := kp.counter.Take(now, kp.plan.Quota)
	if err != nil {
		err = fmt.Errorf("usage plan %s, key %s: quota count: %w", kp.plan.ID, k.ID, err)
		if errors.Is(err, errdefs.ErrUnavailable) {
			// The store takes no write for now (its data directory was
			// moved, say): past its last durable reservation the key cannot
			// be counted, and a retry may find the store back.
			return &pipeline.Error{Type: pipeline.Default5XX, Status: http.StatusServiceUnavailable, Message: "Service Unavailable", Cause: err}
		}
		return err
	}
	if !ok {
		return pipeline.Errorf(pipeline.QuotaExceeded, "usage plan %s, key %s: quota of %d per %s used up", kp.plan.ID, k.ID, kp.plan.Quota.Limit, kp.plan.Quota.Period)
	}
	return nil
}

// FlushInterval is how often quota counts are written through to the store.
const FlushInterval = time.Second

// Params are the module's dependencies.
type Params struct {
	fx.In

	Store *store.Store
	APIs  *apis.Service
	Log   *slog.Logger
	// Limiter and Counters replace the in-process buckets and counters.
	Limiter  throttle.Limiter `optional:"true"`
	Counters Counters         `optional:"true"`
	// Throttle is the account throttle, whose rate and burst a plan throttle
	// that does not set them inherits.
	Throttle throttle.Config `optional:"true"`
}

// Module provides the usage service (*Service) and its two key stages, and
// writes quota counts through every FlushInterval and at stop. The hook is
// appended when the service is made, before the hooks of the servers whose
// stages count (the gateway's), so that the last write comes after those
// servers stopped: the counts of the requests a server finishes while it shuts
// down are written too.
var Module = fx.Module("usage",
	fx.Provide(
		func(lc fx.Lifecycle, p Params) (*Service, error) {
			s, err := NewService(p.Store, Options{Stages: p.APIs, Limiter: p.Limiter, Counters: p.Counters,
				AccountBurst: p.Throttle.WithDefaults().BurstLimit, AccountRate: p.Throttle.WithDefaults().RateLimit, Log: p.Log.With("component", "usage")})
			if err == nil {
				lc.Append(shutdown.Loop(func(ctx context.Context) { s.counts.Run(ctx, FlushInterval) }))
			}
			return s, err
		},
		pipeline.AsStage(NewKeyStage),
		pipeline.AsStage(NewAuthorizerKeyStage),
	),
	// The store runs this package's migrations when it opens.
	fx.Provide(fx.Annotate(func() store.Migration { return MigrateZeroBurst }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`))),
	fx.Provide(fx.Annotate(func() store.Migration { return MigrateReservedCounts }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`))),
	fx.Provide(fx.Annotate(func() store.Migration { return MigrateCountEpochs }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`))),
	fx.Provide(fx.Annotate(func() store.Migration { return MigrateTags }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`))),
)
