// Package auth is the gateway's authorize stage (pipeline.OrderAuthorize): Lambda
// authorizers (TOKEN and REQUEST) on REST API methods. An authorizer is an
// ordinary Portico function, called through the same resolver and invoker as
// integrations, with API Gateway's authorizer event; its policy is evaluated
// against the request's method ARN, and its results are cached by identity
// source values for the authorizer's TTL.
//
// Declared access control that this package does not enforce (JWT and HTTP API
// authorizers, IAM authorization, resource policies) is refused when an API is
// created or imported (apis.API.Validate), never kept and ignored.
package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth/policy"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/iam"
	"github.com/portico-dev/portico/gateway/internal/restevent"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/redact"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/tracing"
	"github.com/portico-dev/portico/invoker"
)

// Resolver resolves the authorizer's function reference; aliases.Service
// satisfies it.
type Resolver interface {
	Resolve(ctx context.Context, ref functions.Ref) (*functions.Config, error)
}

// Invoker runs the authorizer; *invoker.Invoker satisfies it.
type Invoker interface {
	Invoke(ctx context.Context, req invoker.Request) (*invoker.Result, error)
}

// Timeout bounds one authorizer call (with the function's own timeout, whichever
// is shorter).
const Timeout = 10 * time.Second

// explicitDeny is API Gateway's answer to an authorizer's policy that denies,
// implicitDeny to one that allows nothing matching the request (such as a
// cached policy for another method), in {"message": ...}.
const (
	explicitDeny = "User is not authorized to access this resource with an explicit deny"
	implicitDeny = "User is not authorized to access this resource"
)

// Stage is the authorize stage. Its result cache outlives recompiles. Safe for
// concurrent use.
type Stage struct {
	resolver Resolver
	invoker  Invoker
	log      *slog.Logger
	now      func() time.Time
	cache    *resultCache

	// JWT authorizers' keys by issuer (jwt.go).
	httpClient atomic.Pointer[http.Client]
	jwksMu     sync.Mutex
	jwks       map[string]*keySource

	// principals are the IAM principals of AWS_IAM routes (iam.go), and the
	// signing keys derived from their secrets.
	principals  Principals
	signingKeys sigv4.KeyCache
	// signIns counts failed signatures per client address (SetSignIns).
	signIns      *signin.Limiter
	verifierOnce sync.Once
	sigv4        *sigv4.Verifier
}

// New returns the stage; resolver and inv call authorizer functions.
func New(resolver Resolver, inv Invoker, log *slog.Logger) *Stage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stage{resolver: resolver, invoker: inv, log: log, now: time.Now, cache: newResultCache(), jwks: map[string]*keySource{}}
	s.httpClient.Store(newJWKSClient(nil))
	return s
}

// SetJWKSTransport replaces the transport the issuers' discovery documents
// and key sets are fetched with (for tests: an httptest TLS server's
// client transport, which trusts its certificate). Only the transport: the
// fetches stay https-only, redirects included. Safe to call while serving.
func (s *Stage) SetJWKSTransport(rt http.RoundTripper) { s.httpClient.Store(newJWKSClient(rt)) }

// SetClock replaces the clock the result cache runs on (for tests).
func (s *Stage) SetClock(now func() time.Time) { s.now = now }

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "authorize" }

// Order implements pipeline.Stage.
func (s *Stage) Order() int { return pipeline.OrderAuthorize }

// compiled is one route's authorizer as deployed on a stage.
type compiled struct {
	au  *apis.Authorizer
	ref functions.Ref
	// scopes are the route's authorizationScopes (JWT).
	scopes []string
	// keyPrefix scopes cache keys to the deployment, the side of the stage,
	// the authorizer, the function it calls and the stage's variables
	// (cacheKeyPrefix).
	keyPrefix string
	// invokeARN is, on an AWS_IAM method whose integration calls its
	// function with the caller's credentials (apis.CallerCredentials), the
	// function ARN the caller must be allowed lambda:InvokeFunction on;
	// invokeErr says why it could not be named (a stage variable missing).
	invokeARN string
	invokeErr error
	// refErr says why a Lambda authorizer's URI names no function on this
	// stage (a stage variable missing or naming none); ref is then empty,
	// and calling it is an authorizer configuration error.
	refErr error
}

// Compile implements pipeline.Stage: the routes of a deployment whose security
// names a Lambda, JWT or IAM authorizer, and a REST API's resource policy. An
// authorizer URI that does not name a function once the stage's variables are
// substituted fails the routes it authorizes when they call it (see refErr).
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	if d.API.Protocol == apis.ProtocolWebSocket {
		return nil, nil // $connect is authorized by AuthorizeConnect
	}
	rp, err := resourcePolicy(d)
	if err != nil {
		return nil, err
	}
	routes := map[string]*compiled{}
	warned := map[string]bool{} // authorizers whose URI names no function, logged once per compile
	for i := range d.API.Routes {
		r := &d.API.Routes[i]
		au, err := d.API.RouteAuthorizer(r)
		if err != nil {
			return nil, err
		}
		if au == nil {
			continue
		}
		if au.Type == apis.AuthorizerJWT || au.Type == apis.AuthorizerIAM {
			a := &compiled{au: au, scopes: r.RouteScopes(au.Name)}
			if au.Type == apis.AuthorizerIAM && r.Integration != nil && r.Integration.Credentials == apis.CallerCredentials {
				a.invokeARN, a.invokeErr = callerInvokeARN(r.Integration.URI, d.Variables)
			}
			routes[r.RouteKey] = a
			continue
		}
		// A URI that names no function once the stage's variables are
		// substituted (a variable the stage lacks, or one whose value makes
		// no function reference) fails this authorizer's routes alone, as
		// a function that does not exist does: 500 {"message": null},
		// AuthorizerConfigurationException, when the function would be
		// called. The stage's other routes serve.
		uri, err := apis.SubstituteStageVariables(au.URI, d.Variables)
		var ref functions.Ref
		if err == nil {
			ref, err = apis.FunctionRef(uri)
		}
		if err != nil {
			if !warned[au.Name] {
				warned[au.Name] = true
				var apiID, stage string
				if d.Stage != nil {
					apiID, stage = d.Stage.APIID, d.Stage.Name
				}
				s.log.Warn("authorizer URI names no function on this stage: the routes it authorizes answer 500 (AuthorizerConfigurationException) "+
					"until the stage variable names a function (portico stage set-var); the stage's other routes serve",
					"api", apiID, "stage", stage, "canary", d.Canary, "authorizer", au.Name, "err", err)
			}
			routes[r.RouteKey] = &compiled{au: au, refErr: err}
			continue
		}
		routes[r.RouteKey] = &compiled{au: au, ref: ref, keyPrefix: cacheKeyPrefix(d, au, ref)}
	}
	if len(routes) == 0 && rp == nil {
		return nil, nil
	}
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			if c.Route == nil {
				return next.ServeRequest(w, r, c)
			}
			a := routes[c.Route.RouteKey]
			if a == nil && rp == nil {
				return next.ServeRequest(w, r, c)
			}
			var start time.Time
			if a != nil {
				start = s.now()
			}
			err := s.authorize(r, c, a, rp)
			if a != nil {
				setOutcome(c, err, s.now().Sub(start))
			}
			if err != nil {
				return err
			}
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// cacheKeyPrefix scopes an authorizer's cached results to what decided them:
// the API, stage and deployment, the canary or main side, the authorizer, the
// function its URI names once stage variables are substituted, and those
// variables (the function sees them in a REQUEST event). A canary whose
// override picks another function, or a stage variable changed by set-var
// (which takes effect at once), starts from an empty cache rather than
// answering with another function's results.
func cacheKeyPrefix(d *pipeline.Deployed, au *apis.Authorizer, ref functions.Ref) string {
	side := "main"
	if d.Canary {
		side = "canary"
	}
	names := slices.Sorted(maps.Keys(d.Variables))
	h := sha256.New()
	for _, k := range names {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(d.Variables[k]))
		h.Write([]byte{0})
	}
	return d.API.ID + "/" + d.Stage.Name + "/" + d.Deployment.ID + "/" + side + "/" + au.Name + "\x00" + ref.String() + "\x00" +
		hex.EncodeToString(h.Sum(nil)[:16]) + "\x00"
}

// FlushAuthorizers drops the Lambda authorizer answers cached for a stage
// (both sides of a canary, every deployment), as API Gateway's
// FlushStageAuthorizersCache does: the next request under each identity calls
// its authorizer again. A revoked token stops being admitted at once instead
// of at its cached answer's TTL.
func (s *Stage) FlushAuthorizers(apiID, stage string) {
	s.cache.dropPrefix(apiID + "/" + stage + "/")
}

// setOutcome records the route's authorizer's answer in c for the access log
// ($context.authorizer.status, .latency, .error): 200 when it admitted the
// request, else its refusal's status and reason.
func setOutcome(c *pipeline.Context, err error, took time.Duration) {
	c.Authorizer.SetOutcome(err, took)
}

// authorize decides one request: the IAM signature (AWS_IAM routes), the
// resource policy (an explicit deny refuses before any authorizer runs), then
// the route's authorizer, combined as AWS's tables for resource policies say:
// with no authorizer the resource policy must allow; with a Lambda authorizer
// its allow admits unless the resource policy denies; with IAM, an allow in
// either policy admits unless one denies.
func (s *Stage) authorize(r *http.Request, c *pipeline.Context, a *compiled, rp *policy.Policy) error {
	var arn string
	if rp != nil || a.au.Type != apis.AuthorizerJWT { // a is nil only when rp is not
		arn = MethodARN(c)
	}
	var caller *iam.Principal
	if a != nil && a.au.Type == apis.AuthorizerIAM {
		p, err := s.verifySigV4(r, c)
		if err != nil {
			return err
		}
		caller = p
		setIdentity(c, p)
	}
	rpd := policy.NoMatch
	if rp != nil {
		rpd = rp.Evaluate(policyRequest(r, c, caller, policy.ActionInvoke, arn))
		if rpd == policy.ExplicitDeny {
			return notAuthorized(caller, "execute-api:Invoke", arn, true, "the resource policy denies")
		}
	}
	switch {
	case a == nil:
		if rpd != policy.Allowed {
			return notAuthorized(nil, "execute-api:Invoke", arn, false, "the resource policy allows no anonymous caller")
		}
		return nil
	case a.au.Type == apis.AuthorizerIAM:
		if err := s.refusal(c, authorizeIAM(r, c, caller, rpd, arn)); err != nil {
			return err
		}
		return authorizeCallerInvoke(r, c, caller, a)
	case a.au.Type == apis.AuthorizerJWT:
		return s.verifyJWT(r, c, a.au, a.scopes)
	}
	in := input{c: c, arn: arn, header: headerOf(r), query: queryOf(r)}
	in.event = func(values []string) any { return httpEvent(r, c, a.au, values, in.arn) }
	res, err := s.decide(r.Context(), a, in, r.Header)
	if err != nil {
		return err
	}
	answered(c, res)
	return nil
}

// result is what an authorizer answered, as cached.
type result struct {
	principalID        string
	policy             *policy.Policy // nil for a simple response
	allowed            bool           // a simple response's isAuthorized
	context            map[string]any
	usageIdentifierKey string
	keyGen             uint64 // a JWT's: the generation of the issuer's keys that verified it
}

// MethodARN is arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path},
// with the path the router matched (pipeline.Context.MatchedPath: decoded, no
// trailing slash), never the client's spelling of it, so that a policy naming
// a path holds for every request that reaches it.
func MethodARN(c *pipeline.Context) string {
	return "arn:aws:execute-api:" + functions.Region + ":" + functions.AccountID + ":" + c.APIID + "/" + c.Stage + "/" +
		c.HTTPMethod + "/" + strings.TrimPrefix(c.MatchedPath(), "/")
}

// Permissions is an optional ability of a Resolver: it keeps the functions'
// resource-based policies (see gateway.Permissions).
type Permissions interface {
	GatewayMayInvoke(ctx context.Context, name, qualifier string, from functions.CallSource) (bool, error)
}

// mayInvoke refuses to call an authorizer function whose resource policy does
// not allow API Gateway the call from this authorizer, as API Gateway does
// (500 AUTHORIZER_CONFIGURATION_ERROR).
func (s *Stage) mayInvoke(ctx context.Context, c *pipeline.Context, a *compiled) error {
	perms, ok := s.resolver.(Permissions)
	if !ok {
		return nil
	}
	arn := AuthorizerARN(c, a.au.Name)
	allowed, err := perms.GatewayMayInvoke(ctx, a.ref.Name, a.ref.Qualifier, functions.SourceList{arn})
	switch {
	case err != nil:
		return configError("authorizer %q: resource policy of %s: %v", a.au.Name, a.ref, err)
	case !allowed:
		return configError("authorizer %q: Invalid permissions on Lambda function: the resource policy of %s allows no lambda:InvokeFunction by %s from %s (add-permission --principal %s --source-arn naming this authorizer)",
			a.au.Name, functions.ARN(a.ref.Name, a.ref.Qualifier), functions.GatewayPrincipal, arn, functions.GatewayPrincipal)
	}
	return nil
}

// AuthorizerARN is the execute-api ARN API Gateway calls the authorizer name
// of c's API from: arn:aws:execute-api:{region}:{account}:{apiId}/authorizers/{id},
// with the id the control plane shows (API Gateway's for REST APIs, API
// Gateway v2's for HTTP and WebSocket APIs).
func AuthorizerARN(c *pipeline.Context, name string) string {
	id := apis.RouteID("authorizer:" + name)
	if c.Protocol == apis.ProtocolREST {
		id = apis.ResourceID(c.APIID, "authorizer:"+name)
	}
	return "arn:aws:execute-api:" + functions.Region + ":" + functions.AccountID + ":" + c.APIID + "/authorizers/" + id
}

// input is what an authorizer decision reads of a request.
type input struct {
	c   *pipeline.Context
	arn string
	// header and query return every value of a header (by its name in any
	// case) or query parameter, in the order the client sent them.
	header func(string) []string
	query  func(string) []string
	// event builds the authorizer's event from the identity values.
	event func(values []string) any
}

// headerOf reads r's headers as the integration's event carries them, Host
// and the X-Forwarded ones the gateway sets included (pipeline.HeaderValues).
func headerOf(r *http.Request) func(string) []string {
	return func(name string) []string { return pipeline.HeaderValues(r, name) }
}

func queryOf(r *http.Request) func(string) []string {
	var q url.Values
	return func(name string) []string {
		if q == nil {
			q = r.URL.Query()
		}
		return q[name]
	}
}

// decide answers whether the request may go on: the identity values, the cache
// or a call, then the policy (or simple response) for in.arn.
// A Lambda authorizer it invokes for a request with headers h runs under the
// trace the request's function would (restevent.InvokeTrace), so that one
// request is one trace; with h nil, under one of its own.
func (s *Stage) decide(ctx context.Context, a *compiled, in input, h http.Header) (res *result, err error) {
	cached := false
	if tracing.Traced(ctx) {
		var span trace.Span
		ctx, span = tracing.Start(ctx, "authorizer "+a.au.Name, trace.SpanKindInternal)
		defer func() {
			if span.IsRecording() {
				span.SetAttributes(attribute.String("portico.authorizer.name", a.au.Name),
					attribute.String("portico.authorizer.type", a.au.Type), attribute.Bool("portico.authorizer.cached", cached))
				if err != nil {
					span.SetStatus(codes.Error, redact.Error(err))
				}
			}
			span.End()
		}()
	}
	var prefix string
	if a.au.TTL > 0 {
		prefix = a.keyPrefix
	}
	values, key, err := identityValues(in, a.au, prefix)
	if err != nil {
		return nil, s.refusal(in.c, err)
	}
	if a.au.TTL > 0 {
		res = s.cache.get(key, s.now())
		cached = res != nil
	}
	if res == nil {
		var traceID string
		if h != nil {
			traceID = restevent.InvokeTrace(h, in.c.RequestTime, in.c.RequestID)
		}
		res, in.c.Authorizer.InvokeStatus, err = s.call(ctx, in.c, a, in.event(values), traceID)
		if err != nil {
			return nil, s.refusal(in.c, err)
		}
		if a.au.TTL > 0 {
			now := s.now()
			s.cache.put(key, res, now.Add(time.Duration(a.au.TTL)*time.Second), now)
		}
	}
	if res.policy == nil {
		if !res.allowed {
			answered(in.c, res)
			return nil, s.refusal(in.c, &pipeline.Error{Type: pipeline.AccessDenied, Cause: fmt.Errorf("authorizer %q: isAuthorized is false", a.au.Name)})
		}
		return res, nil
	}
	switch res.policy.Evaluate(policy.Request{Action: policy.ActionInvoke, Resource: in.arn}) {
	case policy.ExplicitDeny:
		answered(in.c, res)
		return nil, s.refusal(in.c, &pipeline.Error{Type: pipeline.AccessDenied, Message: explicitDeny, MessageKey: "Message",
			Cause: fmt.Errorf("authorizer %q: policy for %q denies %s", a.au.Name, res.principalID, in.arn)})
	case policy.NoMatch: // an implicit deny says so without "explicit"
		answered(in.c, res)
		return nil, s.refusal(in.c, &pipeline.Error{Type: pipeline.AccessDenied, Message: implicitDeny,
			Cause: fmt.Errorf("authorizer %q: policy for %q allows no %s", a.au.Name, res.principalID, in.arn)})
	}
	return res, nil
}

// answered records in c the principal and context a Lambda authorizer
// answered with ($context.authorizer.principalId and .NAME), as authorize
// does for an admitted request. Decide calls it on a Deny (explicit or
// implicit) and on isAuthorized false too: API Gateway's gateway responses
// (ACCESS_DENIED, DEFAULT_4XX) render them, which is how an authorizer gives
// a custom 403 message.
func answered(c *pipeline.Context, res *result) {
	c.Authorizer = pipeline.Authorizer{Kind: "lambda", PrincipalID: res.principalID, Context: res.context,
		UsageIdentifierKey: res.usageIdentifierKey, InvokeStatus: c.Authorizer.InvokeStatus}
}

// refusal adapts an authorizer error to the protocol: HTTP APIs answer 403
// {"message":"Forbidden"} and 500 {"message":"Internal Server Error"}.
func (s *Stage) refusal(c *pipeline.Context, err error) error {
	if err == nil {
		return nil
	}
	pe, ok := pipeline.AsError(err)
	if !ok || c.Protocol != apis.ProtocolHTTP {
		return err
	}
	out := *pe
	switch pe.Type {
	case pipeline.AccessDenied:
		out.Message, out.MessageKey = "Forbidden", ""
	case pipeline.AuthorizerConfigurationError:
		out.Message, out.Compact = "Internal Server Error", true
	}
	return &out
}

// identityValues reads the authorizer's identity sources; a missing or empty
// one (or a token that fails the validation expression) is 401 without a call.
//
// A header or query parameter sent more than once is the one value the
// authorizer's event and the integration's event both carry: on REST and
// WebSocket APIs the last (their headers and queryStringParameters maps), on
// HTTP APIs the values joined with commas. So the authorizer judges the value
// the function is given, never another one sent beside it.
//
// With keyPrefix set, key is the result cache's key: keyPrefix and every
// value of every source, each source's count and each value's length written
// before it, so that an answer cached for a repeated source (whose
// multiValueHeaders the authorizer may have read) answers only for the same
// values in the same order, and no two lists of values (NULs, commas and all)
// share a key.
func identityValues(in input, au *apis.Authorizer, keyPrefix string) (values []string, key string, err error) {
	values = make([]string, 0, len(au.IdentitySource))
	var buf [128]byte
	b := buf[:0]
	if keyPrefix != "" {
		b = append(b, keyPrefix...)
	}
	for _, src := range au.IdentitySource {
		kind, name, _ := strings.Cut(src, ".")
		var v string
		var all []string
		switch kind {
		case "header":
			all = in.header(name)
		case "querystring":
			all = in.query(name)
		case "stageVariables":
			v = in.c.StageVariables[name]
		case "context":
			v = contextValue(in.c, name)
		}
		switch {
		case len(all) == 1:
			v = all[0]
		case len(all) > 1 && in.c.Protocol == apis.ProtocolHTTP:
			v = strings.Join(all, ",")
		case len(all) > 1:
			v = all[len(all)-1]
		}
		if v == "" {
			return nil, "", pipeline.Errorf(pipeline.Unauthorized, "authorizer %q: identity source %s is missing", au.Name, src)
		}
		if len(v) > apis.MaxIdentityValue {
			return nil, "", pipeline.Errorf(pipeline.Unauthorized, "authorizer %q: identity source %s is %d bytes, over %d", au.Name, src, len(v), apis.MaxIdentityValue)
		}
		values = append(values, v)
		if keyPrefix != "" {
			if all == nil {
				all = values[len(values)-1:]
			}
			b = strconv.AppendInt(b, int64(len(all)), 10)
			b = append(b, '#')
			for _, a := range all {
				b = strconv.AppendInt(b, int64(len(a)), 10)
				b = append(b, ':')
				b = append(b, a...)
			}
		}
	}
	if au.Type == apis.AuthorizerToken && au.ValidationExpression != nil && !au.ValidationExpression.MatchString(values[0]) {
		return nil, "", pipeline.Errorf(pipeline.Unauthorized, "authorizer %q: token does not match identityValidationExpression", au.Name)
	}
	if keyPrefix != "" {
		key = string(b)
	}
	return values, key, nil
}

// contextValue resolves an identity source's $context.NAME, each of
// apis.IdentityContextVariables.
func contextValue(c *pipeline.Context, name string) string {
	switch name {
	case "routeKey":
		return c.RouteKey
	case "stage":
		return c.Stage
	case "apiId":
		return c.APIID
	case "httpMethod":
		return c.HTTPMethod
	case "resourcePath":
		return c.ResourcePath
	case "requestId":
		return c.APIRequestID()
	case "identity.sourceIp":
		return c.Identity.SourceIP
	case "identity.userAgent":
		return c.Identity.UserAgent
	}
	return ""
}

// configError is a 500 AuthorizerConfigurationException whose reason goes to
// the log only.
func configError(format string, args ...any) error {
	return pipeline.Errorf(pipeline.AuthorizerConfigurationError, format, args...)
}

// call invokes the authorizer function with ev and reads its answer.
func (s *Stage) call(ctx context.Context, c *pipeline.Context, a *compiled, ev any, traceID string) (*result, int16, error) {
	if a.refErr != nil {
		return nil, 0, configError("authorizer %q: the authorizer URI names no function on this stage: %v", a.au.Name, a.refErr)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, 0, configError("authorizer %q: event: %v", a.au.Name, err)
	}
	if s.resolver == nil || s.invoker == nil {
		return nil, 0, configError("authorizer %q: no function runtime configured", a.au.Name)
	}
	if err := s.mayInvoke(ctx, c, a); err != nil {
		return nil, 0, err
	}
	fn, err := s.resolver.Resolve(ctx, a.ref)
	if err != nil {
		return nil, 0, configError("authorizer %q: function %s: %v", a.au.Name, a.ref, err)
	}
	timeout := Timeout
	if ft := time.Duration(fn.Timeout) * time.Second; ft > 0 && ft < timeout {
		timeout = ft
	}
	res, err := s.invoker.Invoke(ctx, invoker.Request{Function: fn, Payload: payload, Timeout: timeout,
		InvokedARN: functions.ARN(a.ref.Name, a.ref.Qualifier), TraceID: traceID})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, 0, err
		}
		// The Invoke call's own status, as an integration's
		// $context.integrationStatus.
		status := int16(http.StatusInternalServerError)
		switch {
		case errors.Is(err, errdefs.ErrThrottled):
			status = http.StatusTooManyRequests
		case errors.Is(err, errdefs.ErrTooLarge):
			status = http.StatusRequestEntityTooLarge
		}
		return nil, status, configError("authorizer %q: invoke %s: %v", a.au.Name, a.ref, err)
	}
	const ran = http.StatusOK // the function ran, whatever it answered
	if res.TimedOut {
		return nil, ran, configError("authorizer %q: %s timed out after %s", a.au.Name, a.ref, timeout)
	}
	if res.FunctionError != "" {
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(res.Payload, &fe) == nil && fe.ErrorMessage == "Unauthorized" {
			return nil, ran, pipeline.Errorf(pipeline.Unauthorized, "authorizer %q: the function answered Unauthorized", a.au.Name)
		}
		// The error document's values (an errorMessage may quote a token
		// or a key) stay out of the cause, which the log writes.
		return nil, ran, configError("authorizer %q: function error: an error answer, %s", a.au.Name, redact.Shape(res.Payload))
	}
	var out *result
	if a.au.SimpleResponses {
		out, err = parseSimpleResponse(res.Payload)
	} else {
		out, err = parseResponse(res.Payload)
	}
	if err != nil {
		return nil, ran, configError("authorizer %q: %v", a.au.Name, err)
	}
	return out, ran, nil
}

// parseSimpleResponse reads an HTTP API simple response {"isAuthorized", "context"}.
func parseSimpleResponse(payload []byte) (*result, error) {
	var doc struct {
		IsAuthorized *bool                      `json:"isAuthorized"`
		Context      map[string]json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(payload, &doc); err != nil {
		return nil, notAnswer("a simple authorizer response", payload, err)
	}
	if err := checkAnswer(payload, "isAuthorized", "context"); err != nil {
		return nil, err
	}
	if doc.IsAuthorized == nil {
		return nil, fmt.Errorf("the answer lacks isAuthorized; it is %s", redact.Shape(payload))
	}
	ctx, err := contextValues(doc.Context)
	if err != nil {
		return nil, err
	}
	return &result{allowed: *doc.IsAuthorized, context: ctx}, nil
}

// hasNull reports whether the JSON object payload has field name, null.
func hasNull(payload []byte, name string) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(payload, &top) != nil {
		return false
	}
	v, ok := top[name]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// jsonKind names the JSON a Go type decodes: a function author knows "a JSON
// object", not map[string]json.RawMessage.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "JSON value"
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "JSON object"
	case reflect.Slice, reflect.Array:
		return "JSON array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	}
	return "JSON value"
}

// notAnswer is the error for an authorizer's answer that does not decode as
// what: it names a field of the wrong type, or the kind of JSON the answer is,
// and never the answer's values (a usageIdentifierKey is an API key, a
// context may hold a user's claims), which the log would show.
func notAnswer(what string, payload []byte, err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		return fmt.Errorf("the answer is not %s: its %s is a JSON %s, not a %s", what, te.Field, te.Value, jsonKind(te.Type))
	}
	return fmt.Errorf("the answer is not %s, an object: it is %s", what, redact.Shape(payload))
}

// checkAnswer reads an answer that decoded into its struct as strictly as the
// policy in it: encoding/json matches names in any letter case and keeps the
// last of a name given twice, so {"policyDocument": DENY, "PolicyDocument":
// ALLOW} would be an Allow. A name given twice (at the top or in the
// context), or one of fields spelt in another letter case, is an authorizer
// failure. Other names are ignored, as before.
func checkAnswer(payload []byte, fields ...string) error {
	top, err := policy.CheckFields(payload, "the answer", fields...)
	if err != nil {
		return err
	}
	if c := top["context"]; c != nil && !bytes.Equal(bytes.TrimSpace(c), []byte("null")) {
		_, err = policy.CheckFields(c, "the answer's context")
	}
	return err
}

func contextValues(raw map[string]json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(raw))
	for k, r := range raw {
		// A number keeps its text (json.Number): an id of 20 digits sent
		// as a number reaches the integration whole, not through a float64.
		d := json.NewDecoder(bytes.NewReader(r))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("context %q: %w", k, err)
		}
		switch v.(type) {
		case string, json.Number, bool:
			out[k] = v
		default:
			return nil, fmt.Errorf("context %q must be a string, number or boolean", k)
		}
	}
	return out, nil
}

// parseResponse reads an APIGatewayCustomAuthorizerResponse: principalId, a
// policy document that parses, and a context of strings, numbers and booleans.
func parseResponse(payload []byte) (*result, error) {
	var doc struct {
		PrincipalID        *string                    `json:"principalId"`
		PolicyDocument     json.RawMessage            `json:"policyDocument"`
		Context            map[string]json.RawMessage `json:"context"`
		UsageIdentifierKey string                     `json:"usageIdentifierKey"`
	}
	if err := json.Unmarshal(payload, &doc); err != nil {
		return nil, notAnswer("an authorizer response", payload, err)
	}
	if err := checkAnswer(payload, "principalId", "policyDocument", "context", "usageIdentifierKey"); err != nil {
		return nil, err
	}
	var lacks []string
	switch {
	case doc.PrincipalID != nil && *doc.PrincipalID == "":
		// Not an identity: the integration could not tell it from a
		// route no authorizer ran on.
		return nil, errors.New("its principalId is an empty string: name the principal the policy is for")
	case doc.PrincipalID == nil && hasNull(payload, "principalId"):
		return nil, errors.New("its principalId is null, not a string")
	case doc.PrincipalID == nil:
		lacks = append(lacks, "principalId")
	}
	if doc.PolicyDocument == nil {
		lacks = append(lacks, "policyDocument")
	}
	if len(lacks) > 0 {
		return nil, fmt.Errorf("the answer lacks %s; it is %s", strings.Join(lacks, " and "), redact.Shape(payload))
	}
	pol, err := policy.Parse(doc.PolicyDocument, policy.Authorizer)
	if err != nil {
		return nil, err
	}
	ctx, err := contextValues(doc.Context)
	if err != nil {
		return nil, err
	}
	return &result{principalID: *doc.PrincipalID, policy: pol, context: ctx, usageIdentifierKey: doc.UsageIdentifierKey}, nil
}

// httpEvent builds the authorizer's event for a REST or HTTP API request.
func httpEvent(r *http.Request, c *pipeline.Context, au *apis.Authorizer, values []string, arn string) any {
	switch {
	case au.Type == apis.AuthorizerToken:
		return events.APIGatewayCustomAuthorizerRequest{Type: apis.AuthorizerToken, AuthorizationToken: values[0], MethodArn: arn}
	case au.PayloadFormatVersion == "2.0":
		return authorizerEventV2{requestEventV2(r, c, values, arn)}
	}
	ev := requestEvent(r, c, arn)
	if c.Protocol == apis.ProtocolHTTP {
		ev.Version = "1.0"
		ev.IdentitySource = strings.Join(values, ",")
		ev.AuthorizationToken = ev.IdentitySource
	}
	return ev
}

// authorizerEventV2 is an HTTP API authorizer's payload 2.0 event as API
// Gateway sends it: requestContext.authentication only with a client
// certificate (aws-lambda-go's struct always has it).
type authorizerEventV2 struct {
	events.APIGatewayV2CustomAuthorizerV2Request
}

func (e authorizerEventV2) MarshalJSON() ([]byte, error) {
	type plain events.APIGatewayV2CustomAuthorizerV2Request // without this method
	type context struct {
		events.APIGatewayV2HTTPRequestContext
		Authentication *events.APIGatewayV2HTTPRequestContextAuthentication `json:"authentication,omitempty"`
	}
	out := struct {
		plain
		// Left out when absent, as in the integration's 2.0 event.
		Cookies               []string          `json:"cookies,omitempty"`
		QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
		PathParameters        map[string]string `json:"pathParameters,omitempty"`
		StageVariables        map[string]string `json:"stageVariables,omitempty"`
		RequestContext        context           `json:"requestContext"`
	}{plain: plain(e.APIGatewayV2CustomAuthorizerV2Request), RequestContext: context{APIGatewayV2HTTPRequestContext: e.RequestContext},
		Cookies: e.Cookies, QueryStringParameters: e.QueryStringParameters, PathParameters: e.PathParameters, StageVariables: e.StageVariables}
	if a := e.RequestContext.Authentication; a != (events.APIGatewayV2HTTPRequestContextAuthentication{}) {
		out.RequestContext.Authentication = &a
	}
	return json.Marshal(out)
}

// requestEventV2 builds an HTTP API authorizer's payload 2.0 event.
func requestEventV2(r *http.Request, c *pipeline.Context, values []string, arn string) events.APIGatewayV2CustomAuthorizerV2Request {
	ev := events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: apis.AuthorizerRequest, RouteArn: arn, IdentitySource: values, RouteKey: c.RouteKey,
		RawPath: decodedPath(c.StagePath()), RawQueryString: r.URL.RawQuery, PathParameters: c.PathParameters, StageVariables: c.StageVariables,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: c.RouteKey, AccountID: functions.AccountID, Stage: c.Stage, RequestID: c.APIRequestID(), APIID: c.APIID,
			DomainName: c.DomainName, DomainPrefix: c.DomainPrefix, Time: c.RequestTime.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: c.RequestTime.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: c.HTTPMethod, Path: decodedPath(c.StagePath()),
				Protocol: r.Proto, SourceIP: sourceIP(r, c), UserAgent: r.UserAgent()},
		},
	}
	if cc := edge.ClientCertOf(r.TLS); cc != nil {
		ev.RequestContext.Authentication.ClientCert = events.APIGatewayV2HTTPRequestContextAuthenticationClientCert{
			ClientCertPem: cc.PEM, SubjectDN: cc.SubjectDN, IssuerDN: cc.IssuerDN, SerialNumber: cc.SerialNumber,
			Validity: events.APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity{NotBefore: cc.NotBefore, NotAfter: cc.NotAfter},
		}
	}
	// The headers the integration's event has (restevent.Headers: the
	// client's, and Host, X-Forwarded-* and X-Amzn-Trace-Id as API Gateway
	// adds them), lower case, values joined with commas, the cookies apart.
	var buf [16]restevent.Header
	hs := restevent.Headers(buf[:0], r, c.RequestTime, c.RequestID, restevent.LowerName)
	ev.Headers = make(map[string]string, len(hs))
	for i := range hs {
		if hs[i].Name != "cookie" {
			ev.Headers[hs[i].Name] = strings.Join(hs[i].Values(), ",")
		}
	}
	for _, ck := range r.Cookies() {
		ev.Cookies = append(ev.Cookies, ck.Name+"="+ck.Value)
	}
	if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	return ev
}

// requestAuthorizerEvent is the REQUEST authorizer's event (payload 1.0):
// aws-lambda-go's APIGatewayCustomAuthorizerRequestTypeRequest, which decodes
// it, with identity.clientCert null when the connection has no client
// certificate (aws-lambda-go's struct would write an object of empty strings).
type requestAuthorizerEvent struct {
	// Version, IdentitySource and AuthorizationToken are an HTTP API's
	// (payload 1.0): "1.0", and the identity values joined with commas in
	// both; a REST event has none of them.
	Version                         string                   `json:"version,omitempty"`
	Type                            string                   `json:"type"`
	MethodArn                       string                   `json:"methodArn"`
	IdentitySource                  string                   `json:"identitySource,omitempty"`
	AuthorizationToken              string                   `json:"authorizationToken,omitempty"`
	Resource                        string                   `json:"resource"`
	Path                            string                   `json:"path"`
	HTTPMethod                      string                   `json:"httpMethod"`
	Headers                         map[string]string        `json:"headers"`
	MultiValueHeaders               map[string][]string      `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string        `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string      `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string        `json:"pathParameters"`
	StageVariables                  map[string]string        `json:"stageVariables"`
	RequestContext                  requestAuthorizerContext `json:"requestContext"`
}

// requestAuthorizerContext is aws-lambda-go's
// APIGatewayCustomAuthorizerRequestTypeRequestContext with the fields API
// Gateway also sends (those of the function's proxy event but authorizer), and
// the proxy event's identity (restevent.Identity).
type requestAuthorizerContext struct {
	Path              string             `json:"path"`
	AccountID         string             `json:"accountId"`
	ResourceID        string             `json:"resourceId"`
	Stage             string             `json:"stage"`
	DomainName        string             `json:"domainName"`
	DomainPrefix      string             `json:"domainPrefix"`
	RequestID         string             `json:"requestId"`
	ExtendedRequestID string             `json:"extendedRequestId"`
	Protocol          string             `json:"protocol"`
	Identity          restevent.Identity `json:"identity"`
	ResourcePath      string             `json:"resourcePath"`
	HTTPMethod        string             `json:"httpMethod"`
	RequestTime       string             `json:"requestTime"`
	RequestTimeEpoch  int64              `json:"requestTimeEpoch"`
	APIID             string             `json:"apiId"`
}

// resourceID is the request's $context.resourceId, as the integration's event
// has it: the id of its resource in the deployed API (an HTTP API's $default
// route counts as /{proxy+}).
func resourceID(c *pipeline.Context) string {
	path := c.ResourcePath
	if path == apis.RouteDefault {
		path = "/{proxy+}"
	}
	if c.Deployed != nil && c.Deployed.API != nil {
		return c.Deployed.API.ResourceIDOf(path)
	}
	return apis.ResourceID(c.APIID, path)
}

// requestEvent builds the REQUEST authorizer's event (payload 1.0) with what
// the function's proxy event carries: its paths (path without the stage but,
// through a custom domain on REST APIs, with the base path; requestContext.path
// with the stage; as the client sent them on REST APIs, decoded on HTTP APIs),
// its headers (restevent.Headers: the client's spelling on REST APIs, and the
// headers API Gateway adds), its requestContext but authorizer, and its
// identity.
func requestEvent(r *http.Request, c *pipeline.Context, arn string) requestAuthorizerEvent {
	rest := c.Protocol == apis.ProtocolREST
	path, stagePath, params := c.Path, c.StagePath(), c.PathParametersAsSent()
	switch {
	case !rest:
		path, stagePath, params = decodedPath(path), decodedPath(stagePath), c.PathParameters
	case c.CustomDomain:
		path = stagePath
	}
	id := restevent.IdentityOf(r, &c.Identity)
	id.SourceIP = sourceIP(r, c)
	ev := requestAuthorizerEvent{
		Type: apis.AuthorizerRequest, MethodArn: arn, Resource: c.ResourcePath, Path: path,
		HTTPMethod: c.HTTPMethod, PathParameters: params, StageVariables: c.StageVariables,
		RequestContext: requestAuthorizerContext{
			Path: stagePath, AccountID: functions.AccountID, ResourceID: resourceID(c), Stage: c.Stage,
			DomainName: c.DomainName, DomainPrefix: c.DomainPrefix, RequestID: c.APIRequestID(), ExtendedRequestID: c.ExtendedRequestID,
			Protocol: r.Proto, Identity: id, ResourcePath: c.ResourcePath, HTTPMethod: c.HTTPMethod,
			RequestTime: c.RequestTime.UTC().Format(requestTimeLayout), RequestTimeEpoch: c.RequestTime.UnixMilli(), APIID: c.APIID,
		},
	}
	var buf [16]restevent.Header
	hs := restevent.Headers(buf[:0], r, c.RequestTime, c.RequestID, restevent.Spelling(r, rest))
	ev.Headers, ev.MultiValueHeaders = make(map[string]string, len(hs)), make(map[string][]string, len(hs))
	for i := range hs {
		ev.Headers[hs[i].Name] = hs[i].Last()
		ev.MultiValueHeaders[hs[i].Name] = hs[i].Values()
	}
	if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(q) > 0 {
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters = map[string]string{}, map[string][]string(q)
		for k, v := range q {
			ev.QueryStringParameters[k] = v[len(v)-1]
		}
	}
	return ev
}

// requestTimeLayout is API Gateway's requestTime format: "15/May/2020:06:01:09 +0000".
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// decodedPath is an escaped path decoded, as HTTP APIs send paths (itself
// when it does not decode).
func decodedPath(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		return d
	}
	return p
}

func sourceIP(r *http.Request, c *pipeline.Context) string {
	if c.Identity.SourceIP != "" {
		return c.Identity.SourceIP
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return netaddr.Unmapped(host)
}

var _ pipeline.Stage = (*Stage)(nil)

// Params are the stage's fx dependencies.
type Params struct {
	fx.In

	Resolver Resolver
	Invoker  Invoker
	Log      *slog.Logger
	// Principals are the IAM principals of AWS_IAM routes (the app provides
	// *iam.Service); without them AWS_IAM routes refuse every request.
	Principals Principals `optional:"true"`
}

// NewFromParams builds the stage for fx.
func NewFromParams(p Params) *Stage {
	s := New(p.Resolver, p.Invoker, p.Log.With("component", "auth"))
	if p.Principals != nil {
		s.SetPrincipals(p.Principals)
	}
	return s
}

// Module provides *Stage and joins it to the gateway's pipeline. It needs a
// Resolver and an Invoker (the app provides aliases.Service and
// *invoker.Invoker as them).
var Module = fx.Module("auth",
	fx.Provide(
		NewFromParams,
		pipeline.AsStage(func(s *Stage) *Stage { return s }),
	),
)

// connectAuthorizerEvent is a WebSocket API's REQUEST authorizer event, as API
// Gateway sends it: the headers and query string of the upgrade, and the
// connection's requestContext (routeKey "$connect", eventType "CONNECT",
// connectionId, connectedAt, domainName, messageDirection, identity, ...),
// which differs from a REST API's. aws-lambda-go's
// APIGatewayCustomAuthorizerRequestTypeRequest decodes it, without the
// connection's fields.
type connectAuthorizerEvent struct {
	Type                            string                                        `json:"type"`
	MethodArn                       string                                        `json:"methodArn"`
	Headers                         map[string]string                             `json:"headers"`
	MultiValueHeaders               map[string][]string                           `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string                             `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string                           `json:"multiValueQueryStringParameters"`
	StageVariables                  map[string]string                             `json:"stageVariables"`
	RequestContext                  events.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
}

// AuthorizeConnect runs the Lambda authorizer that a WebSocket API's $connect
// route names, for the upgrade whose $connect event is ev (headers and query
// string as the client sent them). It returns what every later event of the
// connection carries as requestContext.authorizer (principalId and the
// authorizer's context), nil when the route names no authorizer, or a
// pipeline.Error (401, 403, 500) that refuses the handshake. It records in
// outcome.InvokeStatus the status of the Lambda authorizer's Invoke call
// ($context.authorizer.integrationStatus), 0 when no function was called, as
// the authorize stage records it for REST and HTTP requests, and in
// outcome.UsageIdentifierKey the API key the authorizer named.
func (s *Stage) AuthorizeConnect(ctx context.Context, d *pipeline.Deployed, route *apis.Route, ev *events.APIGatewayWebsocketProxyRequest, outcome *pipeline.Authorizer) (map[string]any, error) {
	au, err := d.API.RouteAuthorizer(route)
	if err != nil || au == nil {
		return nil, err
	}
	if au.Type == apis.AuthorizerIAM {
		return nil, s.authorizeConnectIAM(ctx, route, ev)
	}
	uri, err := apis.SubstituteStageVariables(au.URI, d.Variables)
	if err != nil {
		return nil, configError("authorizer %q: %v", au.Name, err)
	}
	ref, err := apis.FunctionRef(uri)
	if err != nil {
		return nil, configError("authorizer %q: %v", au.Name, err)
	}
	a := &compiled{au: au, ref: ref}
	if au.TTL > 0 { // never on $connect (refused when saved), but keyed as anywhere else
		a.keyPrefix = cacheKeyPrefix(d, au, ref)
	}
	// Every value of each header, as the event's multiValueHeaders has them
	// (its headers hold the last of each).
	headers := make(map[string][]string, len(ev.Headers))
	for k, v := range ev.Headers {
		headers[strings.ToLower(k)] = []string{v}
	}
	for k, vs := range ev.MultiValueHeaders {
		if len(vs) > 0 && vs[len(vs)-1] == ev.Headers[k] {
			headers[strings.ToLower(k)] = vs
		}
	}
	query := func(name string) []string {
		if vs := ev.MultiValueQueryStringParameters[name]; len(vs) > 0 && vs[len(vs)-1] == ev.QueryStringParameters[name] {
			return vs
		}
		if v, ok := ev.QueryStringParameters[name]; ok {
			return []string{v}
		}
		return nil
	}
	rc := ev.RequestContext
	// The time of the event: the Lambda authorizer runs in the trace the
	// $connect's function does (restevent.InvokeTrace of the request id and
	// this time, as the gateway's invokeTrace of a WebSocket event).
	c := &pipeline.Context{APIID: rc.APIID, Stage: rc.Stage, RequestID: rc.RequestID, Protocol: apis.ProtocolWebSocket,
		RouteKey: route.RouteKey, StageVariables: d.Variables, HTTPMethod: "GET", RequestTime: time.UnixMilli(rc.RequestTimeEpoch),
		Identity: pipeline.Identity{SourceIP: rc.Identity.SourceIP, UserAgent: rc.Identity.UserAgent}}
	arn := "arn:aws:execute-api:" + functions.Region + ":" + functions.AccountID + ":" + rc.APIID + "/" + rc.Stage + "/" + route.RouteKey
	in := input{c: c, arn: arn,
		header: func(name string) []string { return headers[strings.ToLower(name)] },
		query:  query,
		event: func([]string) any {
			return connectAuthorizerEvent{
				Type: apis.AuthorizerRequest, MethodArn: arn, Headers: ev.Headers, MultiValueHeaders: ev.MultiValueHeaders,
				QueryStringParameters: ev.QueryStringParameters, MultiValueQueryStringParameters: ev.MultiValueQueryStringParameters,
				StageVariables: d.Variables, RequestContext: rc,
			}
		}}
	res, err := s.decide(ctx, a, in, http.Header{})
	outcome.InvokeStatus = c.Authorizer.InvokeStatus
	if err != nil {
		return nil, err
	}
	// The API key it names, for an API whose key source is the authorizer
	// (the $connect's key check); not part of the connection's context.
	outcome.UsageIdentifierKey = res.usageIdentifierKey
	out := make(map[string]any, len(res.context)+1)
	for k, v := range res.context {
		out[k] = v
	}
	out["principalId"] = res.principalID
	return out, nil
}
