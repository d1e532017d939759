// Package execlog is the gateway's execution-logging stage: per method of a
// REST API (its methodSettings entry "~1pets~1{id}/GET", else the stage's "*/*"
// entry) and per route of a WebSocket API (its routeSettings, else its
// defaultRouteSettings; route dispatches through LogWebSocket; HTTP APIs have
// no execution logs, as in API Gateway), loggingLevel OFF, ERROR or INFO and
// dataTraceEnabled say what the gateway did with a request goes to the server
// log with its request id: at INFO the method request and its completion, at
// ERROR only requests answered with an error; with data tracing on, the
// client's headers and body and the response's headers and body (the first
// 1 KB of each body, as API Gateway truncates them), with Authorization,
// x-api-key, security tokens, cookies and every header the API's authorizers
// and API key schemes read masked ("********"), and their values masked the
// same way wherever the logged bodies hold them (a function that returns its
// event), with those of the query parameters and stage variables the
// authorizers read and of secret query parameters (X-Amz-Signature, api_key:
// redact.SecretName), as are secret parameters ("api_key=...",
// redact.StringWith) and, in the response, the request's API key (admitted,
// or an authorizer's usageIdentifierKey: keyValues), and in the method
// request's path, headers and body the same key wherever they repeat it.
//
// Two pipeline stages share the work: Stage wraps the pipeline and logs the
// completion, RequestStage runs once the request's API key is known and logs
// the method request (Stage logs it instead for a request refused before).
package execlog

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/redact"
)

// Logging levels of a stage's method settings.
const (
	LevelOff   = "OFF"
	LevelError = "ERROR"
	LevelInfo  = "INFO"
)

// maxTrace bounds the bytes of a body written to the log.
const maxTrace = 1024

// maxKeep bounds the bytes of a response body kept for the log: beyond
// maxTrace, so that a secret the cut would split is still found and masked.
const maxKeep = maxTrace + 8<<10

// masked are the headers whose values never reach the log, whatever the API.
var masked = map[string]bool{
	"Authorization": true, "X-Api-Key": true, "Cookie": true, "Set-Cookie": true,
	"X-Amz-Security-Token": true, "Proxy-Authorization": true,
}

// logging is what one method logs.
type logging struct {
	// errors: requests answered with an error (ERROR and INFO); info: every
	// request (INFO); trace: headers and bodies (INFO with dataTraceEnabled).
	errors, info, trace bool
}

func loggingOf(level string, dataTrace bool) logging {
	switch strings.ToUpper(level) {
	case LevelInfo:
		return logging{errors: true, info: true, trace: dataTrace}
	case LevelError:
		return logging{errors: true}
	}
	return logging{}
}

// plan is what a stage deployment logs. Read-only once made.
type plan struct {
	// all is the "*/*" entry's: for requests that match no method, and for
	// the methods and routes without an entry of their own.
	all logging
	// methods holds the REST methods (WebSocket routes) that log otherwise
	// than all, keyed by the deployment's routes (the router matches
	// &API.Routes[i]).
	methods map[*apis.Route]logging
	// some says some request logs; someInfo, someTrace that some method logs
	// at INFO, with data tracing.
	some, someInfo, someTrace bool
	// secret are the headers masked (canonical names).
	secret map[string]bool
	// query are the query parameters the API's authorizers and API key
	// schemes read, whose values are masked wherever a body holds them (as
	// are those of the parameters redact.SecretName names); stageSecrets
	// the values of the stage variables its authorizers read.
	query        map[string]bool
	stageSecrets []string
}

// planOf resolves d's method settings, as throttling resolves them: a REST
// method's own entry ("~1pets~1{id}/GET") replaces "*/*" (API Gateway copies
// "*/*" into an entry when it makes one); an entry without a logging level
// takes "*/*"'s.
func planOf(d *pipeline.Deployed) *plan {
	st := d.Stage
	if d.API != nil && d.API.Protocol == apis.ProtocolHTTP {
		// API Gateway has no execution logs for HTTP APIs (their stages
		// refuse the settings; access logs are theirs).
		return &plan{}
	}
	all := st.MethodSettings[apis.MethodSettingsAll]
	p := &plan{all: loggingOf(all.LoggingLevel, all.DataTraceEnabled)}
	note := func(l logging) {
		p.some = p.some || l.errors
		p.someInfo = p.someInfo || l.info
		p.someTrace = p.someTrace || l.trace
	}
	note(p.all)
	if a := d.API; a != nil {
		for i := range a.Routes {
			r := &a.Routes[i]
			l, ok := ownLogging(st, a.Protocol, r, all.LoggingLevel)
			if !ok {
				continue
			}
			if l != p.all {
				if p.methods == nil {
					p.methods = map[*apis.Route]logging{}
				}
				p.methods[r] = l
				note(l)
			}
		}
	}
	p.secret, p.query, p.stageSecrets = secretsOf(d.API, d.Variables)
	return p
}

// ownLogging returns what route r logs by its own entry, and false when it has
// none: a REST method's method settings, a WebSocket route's routeSettings
// (under its route key). An entry without a logging level takes allLevel.
func ownLogging(st *apis.Stage, protocol string, r *apis.Route, allLevel string) (logging, bool) {
	var ms apis.MethodSetting
	var ok bool
	if protocol == apis.ProtocolREST || protocol == "" {
		ms, _, ok = st.OwnMethodSetting(r.Path, r.Method)
	} else {
		ms, ok = st.MethodSettings[r.RouteKey]
	}
	if !ok {
		return logging{}, false
	}
	level := ms.LoggingLevel
	if level == "" {
		level = allLevel
	}
	return loggingOf(level, ms.DataTraceEnabled), true
}

// of returns what the request of route r (nil when none matched) logs.
func (p *plan) of(r *apis.Route) logging {
	if l, ok := p.methods[r]; ok && r != nil {
		return l
	}
	return p.all
}

// secretsOf returns what a's security schemes read: headers (masked and
// the header API key schemes and identity sources of its authorizers: a
// TOKEN authorizer's token, a REQUEST or JWT authorizer's headers), query
// parameters (query API key schemes, querystring identity sources: a
// WebSocket $connect authorizer's token, which browsers cannot send in a
// header) and the values of the stage variables (vars) identity sources name.
func secretsOf(a *apis.API, vars map[string]string) (headers, query map[string]bool, stage []string) {
	headers, query = maps.Clone(masked), map[string]bool{}
	if a == nil {
		return headers, query, nil
	}
	for name, raw := range a.Authorizers {
		var scheme struct {
			Name string `json:"name"`
			In   string `json:"in"`
		}
		if json.Unmarshal(raw, &scheme) == nil && scheme.Name != "" {
			switch strings.ToLower(scheme.In) {
			case "header":
				headers[http.CanonicalHeaderKey(scheme.Name)] = true
			case "query":
				query[scheme.Name] = true
			}
		}
		au, err := apis.ParseAuthorizer(a.Protocol, name, raw)
		if err != nil || au == nil {
			continue
		}
		for _, src := range au.IdentitySource {
			if h, ok := strings.CutPrefix(src, "header."); ok {
				headers[http.CanonicalHeaderKey(h)] = true
			} else if q, ok := strings.CutPrefix(src, "querystring."); ok {
				query[q] = true
			} else if v, ok := strings.CutPrefix(src, "stageVariables."); ok && vars[v] != "" {
				stage = append(stage, vars[v])
			}
		}
	}
	return headers, query, stage
}

// queryValues returns the values of q's secret parameters (named in names,
// or by redact.SecretName) as a body may hold them: decoded, and as a query
// string encodes them.
func queryValues(q map[string][]string, names map[string]bool) []string {
	var out []string
	for k, vs := range q {
		if !names[k] && !redact.SecretName(k) {
			continue
		}
		for _, v := range vs {
			out = append(out, v)
			if e := url.QueryEscape(v); e != v {
				out = append(out, e)
			}
		}
	}
	return out
}

// requestSecrets are the values a request's trace masks in bodies: those of
// its secret headers h and secret query parameters q, and the stage's.
func (p *plan) requestSecrets(h http.Header, q map[string][]string) []string {
	out := append(secretValues(h, p.secret), queryValues(q, p.query)...)
	return append(out, p.stageSecrets...)
}

// keyValues are the API key values of a request, masked wherever its trace
// holds them: the key the API key stage admitted
// ($context.identity.apiKey) and the usageIdentifierKey an authorizer named
// (a key source AUTHORIZER's key, which no header or query parameter of the
// request carries).
func keyValues(id *pipeline.Identity, au *pipeline.Authorizer) []string {
	var out []string
	for _, v := range []string{id.APIKey, au.UsageIdentifierKey} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// lineKey is the request context key of a request's *methodLine.
type lineKey struct{}

// methodLine is the method request line of one request, shared by Stage and
// RequestStage: client holds the client's headers when Stage kept them
// before the tracing stage added its own (traceparent, X-Amzn-Trace-Id);
// written says RequestStage logged it.
type methodLine struct {
	client  http.Header
	written bool
}

// methodRequest returns the attributes of the method request line of r under
// l, with client the client's headers (nil: r's). The request's API key
// (keyValues, known by now) is masked wherever the path, the headers or the
// body repeat it, as are the values of its secret headers and parameters in
// the other headers and the body.
func (p *plan) methodRequest(l logging, r *http.Request, c *pipeline.Context, client http.Header) []any {
	keys := keyValues(&c.Identity, &c.Authorizer)
	path := r.URL.Path
	if len(keys) > 0 {
		path = redact.Values(path, keys, redact.HeaderMask)
	}
	attrs := []any{"requestId", c.RequestID, "api", c.APIID, "stage", c.Stage, "method", r.Method, "path", path,
		"resource", c.ResourcePath}
	if l.trace {
		h := client
		if h == nil {
			h = r.Header
		}
		secrets := append(p.requestSecrets(h, r.URL.Query()), keys...)
		attrs = append(attrs, "headers", maskHeaders(h, p.secret, secrets))
		body, _ := c.ReadBody(r) // r.Body reads the same bytes (or error) again
		if len(body) > 0 {
			attrs = append(attrs, "body", traceBody(body, len(body), secrets))
		}
	}
	return attrs
}

// Stage is the execution log's outer stage: it logs each request's
// completion. Safe for concurrent use.
type Stage struct {
	log *slog.Logger
	now func() time.Time
}

var _ pipeline.Stage = (*Stage)(nil)

// New returns the stage logging to log.
func New(log *slog.Logger) *Stage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stage{log: log, now: time.Now}
}

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "execlog" }

// Order implements pipeline.Stage: outside the tracing stage, which adds its
// trace headers to the request, so that the client's own can be kept.
func (*Stage) Order() int { return pipeline.OrderObserve - 2 }

// Compile implements pipeline.Stage: nothing to do unless some method of the
// stage logs.
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	p := planOf(d)
	if !p.some {
		return nil, nil
	}
	// The tracing stage writes its headers into the request: keep the
	// client's for the method request's trace.
	keepHeaders := p.someTrace && d.Stage.TracingEnabled
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			var client http.Header // the client's headers, for the trace
			var line *methodLine
			if p.someInfo {
				line = &methodLine{}
				if keepHeaders {
					client = r.Header.Clone()
					line.client = client
				}
				r = r.WithContext(context.WithValue(r.Context(), lineKey{}, line))
			}
			start := s.now()
			tw := &traceWriter{StatusWriter: pipeline.StatusWriter{ResponseWriter: w}, keep: p.someTrace}
			err := next.ServeRequest(tw, r, c)
			l := p.of(c.Route)
			if line != nil && !line.written && l.info && c.Route != nil {
				// Refused (throttled, unauthorized, a bad key) before
				// RequestStage: its method request first.
				s.log.InfoContext(r.Context(), "execution: method request", p.methodRequest(l, r, c, client)...)
			}
			status := tw.Status
			if c.Status != 0 {
				status = int(c.Status)
			}
			if status == 0 {
				status = http.StatusOK
			}
			if !l.errors || (!l.info && status < 400) {
				return err
			}
			attrs := []any{"requestId", c.RequestID, "api", c.APIID, "stage", c.Stage,
				"status", status, "latencyMs", c.Latency(start, func(t time.Time) time.Duration { return s.now().Sub(t) }).Milliseconds(),
				"resource", c.ResourcePath}
			if c.Integration.Ran {
				// Left out when no integration ran (a refusal, a cache hit),
				// as the access log's $context.integrationLatency is "-".
				attrs = append(attrs, "integrationLatencyMs", c.IntegrationLatency.Milliseconds())
			}
			keys := keyValues(&c.Identity, &c.Authorizer)
			if c.Error.ResponseType != "" {
				attrs = append(attrs, "errorType", string(c.Error.ResponseType), "error", c.Error.Message)
			}
			if l.trace {
				attrs = append(attrs, "responseHeaders", maskHeaders(tw.Header(), p.secret, keys))
				if len(tw.body) > 0 {
					if client == nil {
						client = r.Header
					}
					secrets := append(append(p.requestSecrets(client, r.URL.Query()), secretValues(tw.Header(), p.secret)...), keys...)
					attrs = append(attrs, "responseBody", traceBody(tw.body, tw.n, secrets))
				}
			}
			level := slog.LevelInfo
			switch {
			case c.ClientGone:
				level = slog.LevelDebug
			case status >= 500:
				level = slog.LevelError
			case status >= 400:
				level = slog.LevelWarn
			}
			s.log.Log(r.Context(), level, "execution: method completed", attrs...)
			return err
		})
	}, nil
}

// LogWebSocket implements the gateway's WebSocketLogger: a WebSocket route
// dispatch ($connect, a message, $disconnect) does not run the HTTP pipeline,
// and logs as its route's routeSettings say, else as the stage's
// defaultRouteSettings say: at INFO the route request (with data tracing, the
// message body and $connect's headers) and its completion, at ERROR only a
// dispatch that failed or that the integration answered with 4xx or 5xx.
func (s *Stage) LogWebSocket(d *pipeline.Deployed, route *apis.Route, ev *events.APIGatewayWebsocketProxyRequest, o *pipeline.WSOutcome) func(*connections.Response, error) {
	st := d.Stage
	all := st.MethodSettings[apis.MethodSettingsAll]
	l := loggingOf(all.LoggingLevel, all.DataTraceEnabled)
	if own, ok := ownLogging(st, apis.ProtocolWebSocket, route, all.LoggingLevel); ok {
		l = own
	}
	if !l.errors {
		return nil
	}
	var h http.Header // $connect's headers
	var secret map[string]bool
	var secrets []string
	if l.trace {
		h = http.Header{}
		for k, v := range ev.Headers {
			h.Set(k, v)
		}
		q := maps.Clone(ev.MultiValueQueryStringParameters)
		if q == nil {
			q = map[string][]string{}
		}
		for k, v := range ev.QueryStringParameters {
			q[k] = append(q[k], v)
		}
		var query map[string]bool
		var stage []string
		secret, query, stage = secretsOf(d.API, d.Variables)
		// ?token= is how browsers send a WebSocket token (they cannot set
		// a header): a credential whether an authorizer reads it or the
		// $connect function checks it itself.
		query["token"] = true
		secrets = append(append(secretValues(h, secret), queryValues(q, query)...), stage...)
	}
	rc := ev.RequestContext
	base := []any{"requestId", rc.RequestID, "api", rc.APIID, "stage", rc.Stage, "routeKey", route.RouteKey,
		"eventType", rc.EventType, "connectionId", rc.ConnectionID}
	if l.info {
		attrs := base
		if l.trace {
			if len(h) > 0 {
				attrs = append(attrs[:len(attrs):len(attrs)], "headers", maskHeaders(h, secret, secrets))
			}
			if ev.Body != "" {
				attrs = append(attrs[:len(attrs):len(attrs)], "body", traceBody([]byte(ev.Body), len(ev.Body), secrets))
			}
		}
		s.log.Info("execution: route request", attrs...)
	}
	start := s.now()
	return func(resp *connections.Response, err error) {
		status := http.StatusOK
		if resp != nil && resp.StatusCode != 0 {
			status = resp.StatusCode
		}
		if err != nil {
			status = http.StatusInternalServerError
		}
		if !l.info && status < 400 {
			return
		}
		attrs := append(base[:len(base):len(base)], "status", status, "latencyMs", s.now().Sub(start).Milliseconds())
		if o != nil {
			// The key $connect's authorizer named (known once it ran).
			secrets = append(secrets[:len(secrets):len(secrets)], keyValues(&pipeline.Identity{}, &o.Authorizer)...)
		}
		if err != nil {
			attrs = append(attrs, "error", scrubError(err.Error(), secrets))
		}
		if l.trace && resp != nil && len(resp.Body) > 0 {
			attrs = append(attrs, "responseBody", traceBody(resp.Body, len(resp.Body), secrets))
		}
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case status >= 400:
			level = slog.LevelWarn
		}
		s.log.Log(context.Background(), level, "execution: route completed", attrs...)
	}
}

// RequestStage is the execution log's inner stage: once the request's API key
// is known (after the authorizers and the API key stages), it logs the method
// request of methods that log at INFO, the key masked. Safe for concurrent
// use.
type RequestStage struct {
	log *slog.Logger
}

var _ pipeline.Stage = (*RequestStage)(nil)

// NewRequestStage returns the stage logging to log.
func NewRequestStage(log *slog.Logger) *RequestStage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RequestStage{log: log}
}

// Name implements pipeline.Stage.
func (*RequestStage) Name() string { return "execlog-request" }

// Order implements pipeline.Stage.
func (*RequestStage) Order() int { return pipeline.OrderKeyed }

// Compile implements pipeline.Stage: nothing to do unless some method of the
// stage logs at INFO.
func (s *RequestStage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	p := planOf(d)
	if !p.someInfo {
		return nil, nil
	}
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			l := p.of(c.Route)
			if !l.info {
				return next.ServeRequest(w, r, c)
			}
			var client http.Header
			if line, ok := r.Context().Value(lineKey{}).(*methodLine); ok {
				line.written, client = true, line.client
			}
			s.log.InfoContext(r.Context(), "execution: method request", p.methodRequest(l, r, c, client)...)
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// traceBody returns body b, the first bytes of total, as the log writes it:
// the secrets and secret parameters in it masked (scrub), then cut at
// maxTrace bytes and marked when that or the keeping of b dropped some.
func traceBody(b []byte, total int, secrets []string) string {
	s := scrub(string(b), secrets)
	if len(s) > maxTrace || total > len(b) {
		return s[:min(len(s), maxTrace)] + " [TRUNCATED]"
	}
	return s
}

// scrub returns s with secrets (secretValues) and the values of secret
// parameters (redact.StringWith) masked, as maskHeaders masks headers.
func scrub(s string, secrets []string) string {
	return redact.StringWith(redact.Values(s, secrets, redact.HeaderMask), redact.HeaderMask)
}

// urlMasks turns the masks of a backend URL an error quotes (redact.URL:
// "http://user:xxxxx@host/?key=xxxxx") into the execution log's.
var urlMasks = strings.NewReplacer(":"+redact.URLMask+"@", ":"+redact.HeaderMask+"@", "="+redact.URLMask, "="+redact.HeaderMask)

// scrubError is scrub for an error's message, whose backend URL's masks are
// written as the execution log's too.
func scrubError(msg string, secrets []string) string {
	return urlMasks.Replace(scrub(msg, secrets))
}

// secretValues returns the values of h's headers in secret as a body may
// repeat them: each value whole, and also the credentials of a value
// "scheme credentials" (Authorization: Bearer ...) and each cookie's value of
// a Cookie or Set-Cookie header.
func secretValues(h http.Header, secret map[string]bool) []string {
	var out []string
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if !secret[ck] {
			continue
		}
		for _, v := range vs {
			v = strings.TrimSpace(v)
			out = append(out, v)
			switch ck {
			case "Cookie", "Set-Cookie":
				for i, part := range strings.Split(v, ";") {
					if _, val, ok := strings.Cut(part, "="); ok && (i == 0 || ck == "Cookie") {
						out = append(out, strings.Trim(strings.TrimSpace(val), `"`))
					}
				}
			default:
				if _, cred, ok := strings.Cut(v, " "); ok {
					out = append(out, strings.TrimSpace(cred))
				}
			}
		}
	}
	return out
}

// maskHeaders returns h as a log group of one attribute per header, sorted
// by name, the values of the headers in secret (canonical names) masked, and
// the secrets values in the others (a response header mapped from
// $context.identity.apiKey); each value cut at maxTrace bytes and marked, as
// a body is. A header sent several times is a list of its values. Each
// value is an attribute of its own, which the handlers quote
// (headers.X-A="1 Authorization:x" in text, an object's member in JSON), so
// that no value can read as another header.
func maskHeaders(h http.Header, secret map[string]bool, values []string) slog.Value {
	attrs := make([]slog.Attr, 0, len(h))
	for k, vs := range h {
		if secret[http.CanonicalHeaderKey(k)] {
			attrs = append(attrs, slog.String(k, redact.HeaderMask))
			continue
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			if len(values) > 0 {
				v = redact.Values(v, values, redact.HeaderMask)
			}
			if len(v) > maxTrace {
				v = v[:maxTrace] + " [TRUNCATED]"
			}
			out[i] = v
		}
		if len(out) == 1 {
			attrs = append(attrs, slog.String(k, out[0]))
		} else {
			attrs = append(attrs, slog.Any(k, out))
		}
	}
	slices.SortFunc(attrs, func(a, b slog.Attr) int { return strings.Compare(a.Key, b.Key) })
	return slog.GroupValue(attrs...)
}

// traceWriter records the status (through pipeline.StatusWriter) and, when
// keep is set, the first maxKeep bytes of the body and its length n.
type traceWriter struct {
	pipeline.StatusWriter
	keep bool
	body []byte
	n    int
}

// Write implements http.ResponseWriter.
func (w *traceWriter) Write(b []byte) (int, error) {
	if w.keep {
		w.n += len(b)
		if len(w.body) < maxKeep {
			w.body = append(w.body, b[:min(len(b), maxKeep-len(w.body))]...)
		}
	}
	return w.StatusWriter.Write(b)
}

// Module provides the execution-logging stages to the pipeline.
var Module = fx.Module("execlog",
	fx.Provide(pipeline.AsStage(func(log *slog.Logger) *Stage { return New(log.With("component", "execution")) })),
	fx.Provide(pipeline.AsStage(func(log *slog.Logger) *RequestStage {
		return NewRequestStage(log.With("component", "execution"))
	})),
)
