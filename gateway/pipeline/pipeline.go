// Package pipeline is the contract of the gateway's request pipeline: the request
// context every stage reads and writes (what API Gateway calls $context), the
// handler and middleware shapes, the stage interface and the error kinds that
// stages return.
//
// A request passes through an ordered list of stages between stage routing and
// the integration. Each stage is a small package under gateway/ that implements
// Stage: once per stage deployment (a stage pointing at a deployment, with its
// variables and settings) the gateway calls Compile, which parses what the stage
// needs (settings, templates, policies) and returns a Middleware, or nil when the
// stage has nothing to do for that deployment, which then costs nothing per
// request. The gateway composes the middlewares by Order, outermost first:
//
//	observe (metrics, logs) -> responses -> check -> cors -> route match -> throttle ->
//	API key and usage plan -> authorizers -> resource policy -> compression ->
//	validation -> cache -> integration
//
// A stage passes the request on (next.ServeRequest), answers it itself, or returns
// an error; errors travel outwards to the responses stage, the one place where an
// error becomes a status, headers and body. Adding a stage means a new package
// that joins the fx group "pipeline.stages" (AsStage) at an Order of its own.
package pipeline

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/redact"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// Positions in the pipeline, outermost first. A stage's Order says where it runs;
// leave gaps so that a new stage needs no renumbering.
const (
	// OrderObserve wraps everything: metrics, access logs, traces.
	OrderObserve = 100
	// OrderResponses turns errors into gateway responses (built in).
	OrderResponses = 150
	// OrderCORS answers preflights before routing (HTTP APIs).
	OrderCORS = 200
	// OrderCheck refuses requests no route takes: a declared body over the
	// limit, a bad escape in the query string, a path the gateway refuses
	// (PathRefused) (built in). It runs after CORS, so that its refusals
	// carry the CORS fields.
	OrderCheck = 210
	// OrderRoute matches the route (built in); later stages see Context.Route.
	OrderRoute = 250
	// OrderRouted observes the matched method before anything acts on it.
	OrderRouted = 260
	// OrderThrottle applies account, stage and method throttles.
	OrderThrottle = 300
	// OrderAuthorize runs authorizers (Lambda, JWT, IAM) and resource
	// policies.
	OrderAuthorize = 500
	// OrderAPIKey checks API keys sent in x-api-key and their usage plans
	// (throttle and quota): after the authorizers and resource policies, as
	// API Gateway verifies the usage plan once the request is authorized, so
	// that a request they refuse counts against no key's quota.
	OrderAPIKey = 540
	// OrderAPIKeyAuthorizer checks keys whose source is AUTHORIZER.
	OrderAPIKeyAuthorizer = 550
	// OrderKeyed observes the request once its API key is known (admitted,
	// or named by an authorizer): the execution log's method request, which
	// masks the key wherever the request repeats it.
	OrderKeyed = 560
	// OrderCompress decompresses request bodies (after signatures over them
	// were checked) and compresses responses (REST minimumCompressionSize).
	OrderCompress = 650
	// OrderValidate validates request parameters and bodies.
	OrderValidate = 700
	// OrderCache serves and stores cached responses.
	OrderCache = 800
)

// Handler serves one request at a stage. It writes a response or returns an error
// for the responses stage to write; it must not do both.
type Handler interface {
	ServeRequest(w http.ResponseWriter, r *http.Request, c *Context) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, c *Context) error

// ServeRequest calls f.
func (f HandlerFunc) ServeRequest(w http.ResponseWriter, r *http.Request, c *Context) error {
	return f(w, r, c)
}

// Middleware wraps the rest of the pipeline.
type Middleware func(next Handler) Handler

// Stage is one step of the pipeline, a long-lived service (it may hold state that
// outlives a compiled deployment, such as token buckets or a cache). Compile is
// called once per stage deployment, before it serves, and again whenever the
// stage's deployment, variables or settings change; it returns nil when the stage
// has nothing to do there. An error refuses the stage deployment: its requests
// answer 500 and the error is logged. Implementations are safe for concurrent use.
type Stage interface {
	// Name names the stage in logs ("throttle", "cache").
	Name() string
	// Order places the stage (the Order* constants).
	Order() int
	// Compile prepares the stage for one stage deployment.
	Compile(d *Deployed) (Middleware, error)
}

// Deployed is one stage deployment as the pipeline compiles it: a stage, the
// deployment it serves and the variables requests see. Canary requests have their
// own Deployed (the canary's deployment, the stage's variables with the canary's
// overrides) with Canary set. Read-only after the gateway builds it.
type Deployed struct {
	Stage      *apis.Stage
	Deployment *apis.Deployment
	// API is the deployment's snapshot of the API (&Deployment.API).
	API *apis.API
	// Variables are the stage variables requests see.
	Variables map[string]string
	// Canary is true for the canary side of a stage.
	Canary bool
	// APIName is the API's name that the stage goes by in metrics: its
	// deployment's, on the canary side too, whose deployment may be older
	// (from before a rename). Empty: API.Name.
	APIName string
	// BodyLimit is the most bytes of request body the gateway takes (0:
	// none known): a body a stage decodes (Content-Encoding) is held to it
	// too, decoded.
	BodyLimit int64
}

// Name returns the API's name that the stage goes by (APIName, else the
// deployment's snapshot's).
func (d *Deployed) Name() string {
	if d.APIName != "" || d.API == nil {
		return d.APIName
	}
	return d.API.Name
}

// Chain composes stages around terminal for d, outermost first by Order (ties by
// Name). Stages whose Compile returns nil are left out.
func Chain(d *Deployed, stages []Stage, terminal Handler) (Handler, error) {
	sorted := slices.Clone(stages)
	slices.SortStableFunc(sorted, func(a, b Stage) int {
		if a.Order() != b.Order() {
			return a.Order() - b.Order()
		}
		switch {
		case a.Name() < b.Name():
			return -1
		case a.Name() > b.Name():
			return 1
		}
		return 0
	})
	h := terminal
	for i := len(sorted) - 1; i >= 0; i-- {
		mw, err := sorted[i].Compile(d)
		if err != nil {
			return nil, fmt.Errorf("pipeline stage %s: %w", sorted[i].Name(), err)
		}
		if mw != nil {
			h = mw(h)
		}
	}
	return h, nil
}

// Context is one request's context: what API Gateway exposes as $context, plus
// what stages hand each other. One goroutine owns it at a time.
type Context struct {
	// RequestID is the request's UUID, its x-amzn-RequestId header;
	// ExtendedRequestID the short id (x-amz-apigw-id on REST APIs,
	// apigw-requestid on HTTP APIs). APIRequestID says which one is the API's
	// $context.requestId.
	RequestID         string
	ExtendedRequestID string
	// RequestTime is when the gateway received the request: a time.Now
	// reading, whose monotonic reading stages that time the request measure
	// from and whose location may be Local; format it in UTC.
	RequestTime time.Time
	APIID       string
	Stage       string
	// Protocol is apis.ProtocolREST, ProtocolHTTP or ProtocolWebSocket.
	Protocol     string
	DeploymentID string
	DomainName   string
	DomainPrefix string
	HTTPMethod   string
	// HTTPProtocol is the request's protocol as net/http names it ("HTTP/1.1",
	// "HTTP/2.0"): $context.protocol.
	HTTPProtocol string
	// Path is the request path relative to the stage, escaped and with dot
	// segments resolved, starting with "/".
	Path string
	// StagePrefix is the path up to and including the stage ("/abc/dev", "/dev"
	// on host-based URLs, "" for the $default stage); on a custom domain name,
	// the base path of its mapping ("" or "/v2").
	StagePrefix string
	// Route is the matched route (nil before the route stage); ResourcePath is its
	// path template and PathParameters its parameters.
	Route          *apis.Route
	RouteKey       string
	ResourcePath   string
	PathParameters map[string]string
	// StageVariables are the variables this request sees (canary overrides
	// applied).
	StageVariables map[string]string
	// Deployed is the stage deployment serving the request.
	Deployed *Deployed

	Identity   Identity
	Authorizer Authorizer
	// Error describes the error being answered (for gateway responses and logs).
	Error ErrorInfo
	// Status is the status the pipeline answered with, set by the responses stage
	// for errors and by stages that record responses.
	Status int32
	// ClientGone says the client went away before the request was answered:
	// nothing was written, and Status holds StatusClientClosedRequest for the
	// logs. The flag, not the status, is what marks it: a configuration may
	// answer 499 itself (a gateway response, an integration response, a
	// backend's status), and that answer is sent and counted as any 4xx. It
	// shares Status's word, so that Context stays in its allocation size
	// class (gateway.TestRequestSizeClass).
	ClientGone bool
	// IntegrationLatency is the time spent in the integration.
	IntegrationLatency time.Duration
	// AnsweredAt, when set, is when the response was complete: another
	// goroutine wrote it (through PassThrough writers) while the request's
	// own waited, and the handlers return after that, by up to a few
	// milliseconds. Stages that time the request measure to it
	// (Context.Latency). Zero when the response was complete on return.
	AnsweredAt time.Time
	// Integration is what the integration answered (set by the gateway).
	Integration Integration

	// The booleans are together, so that no padding comes between them:
	// every request allocates a Context, and it stays in its allocation
	// size class (gateway.TestRequestSizeClass).

	// IsCanaryRequest says the request was drawn to the stage's canary.
	IsCanaryRequest bool
	// CustomDomain says the request came through a custom domain name;
	// AtBasePath that it named its mapping's base path alone ("/v2", no slash
	// after it): its path is the base path as the client sent it.
	CustomDomain, AtBasePath bool
	// CacheHit and CacheMiss are set by the cache stage.
	CacheHit, CacheMiss bool
	// PathRefused says the stage-relative path does not normalize (a ";",
	// an encoded slash, a dot segment above the stage): Path is the path as
	// sent, and the check stage refuses it (400) inside the stages that
	// observe and answer the request.
	PathRefused bool
	// ResponseEncoded says the response body is content-coded already: a
	// non-proxy HTTP integration's backend answered with a Content-Encoding
	// (set by the gateway, and by the cache stage when it serves such an
	// answer). The compression stage leaves it as it is, as API Gateway skips
	// compression when the integration response has a Content-Encoding.
	ResponseEncoded bool

	// bodyRead sits with the flags above: the Context, within the gateway's
	// per-request struct, stays in the 768-byte size class
	// (gateway.TestRequestSizeClass).
	bodyRead bool
	body     []byte
	bodyErr  error
	// streamed is one more than the length of a body that went on as it
	// came, unread by the pipeline (SetStreamedLength); 0: none.
	streamed int64
}

// Identity is $context.identity.
type Identity struct {
	SourceIP  string
	UserAgent string
	// APIKey is the key the request presented (never log it); APIKeyID its id
	// once the key stage has found it.
	APIKey   string
	APIKeyID string
	// IAM callers (SigV4).
	AccessKey string
	Caller    string
	User      string
	UserARN   string
	AccountID string
	// TLS is the state of the request's TLS connection, nil over plain HTTP:
	// ClientCert describes its verified client certificate.
	TLS *tls.ConnectionState

	// clientCert is ClientCert's answer once worked out (noClientCert for
	// none), nil before.
	clientCert *edge.ClientCert
}

// noClientCert is Identity.clientCert for a connection without a client
// certificate, once looked at.
var noClientCert = new(edge.ClientCert)

// ClientCert is $context.identity.clientCert: the client certificate of a
// mutual TLS connection, nil without one. It is worked out once, on first
// use.
func (id *Identity) ClientCert() *edge.ClientCert {
	if id.clientCert == nil {
		id.clientCert = edge.ClientCertOf(id.TLS)
		if id.clientCert == nil {
			id.clientCert = noClientCert
		}
	}
	if id.clientCert == noClientCert {
		return nil
	}
	return id.clientCert
}

// Authorizer is $context.authorizer: what an authorizer returned.
type Authorizer struct {
	// Kind says which authorizer answered: "lambda", "jwt" or "iam" ("" when
	// none ran).
	Kind        string
	PrincipalID string
	// Context holds the authorizer's context values (string, number, bool) or a
	// JWT's claims.
	Context map[string]any
	// Scopes are a JWT's scopes.
	Scopes []string
	// UsageIdentifierKey is the API key an authorizer names for usage plans.
	UsageIdentifierKey string
	// Status, LatencyMS and Error are $context.authorizer.status, .latency
	// and .error: the authorizer's answer (200 when it admitted the request,
	// else the status of its refusal), the time it took in milliseconds, and
	// its refusal's reason. Status is 0 when no authorizer ran.
	// InvokeStatus is the status of a Lambda authorizer's Invoke call
	// ($context.authorizer.integrationStatus: 200 when the function ran,
	// whatever it answered; 429 throttled, 413, 500), 0 when no function was
	// called (a cached answer, a refusal without a call). The three numbers
	// share one word, so that Context stays in its allocation size class
	// (gateway.TestRequestSizeClass).
	Status       int16
	InvokeStatus int16
	LatencyMS    int32
	Error        string
}

// SetOutcome records the authorizer's answer for the access log
// ($context.authorizer.status, .latency, .error): 200 when err is nil (it
// admitted the request), else its refusal's status (500 for an error that
// is no *Error) and reason, the innermost cause without the response types
// of the refusals that wrap it; took is how long it took.
func (a *Authorizer) SetOutcome(err error, took time.Duration) {
	a.LatencyMS = int32(min(took.Milliseconds(), math.MaxInt32))
	if err == nil {
		a.Status = http.StatusOK
		return
	}
	a.Status = http.StatusInternalServerError
	var pe *Error
	if errors.As(err, &pe) {
		status := pe.Status
		if status == 0 {
			status = pe.Type.Default().Status
		}
		a.Status = int16(status) //nolint:gosec // G115: an HTTP status
	}
	for errors.As(err, &pe) && pe.Cause != nil {
		err = pe.Cause
	}
	a.Error = ErrorText(err)
}

// SetConnection sets the principal and context of a WebSocket connection's
// $connect authorizer from the event's requestContext.authorizer (az: the
// authorizer's context with its principalId, as the gateway keeps it on the
// connection; nil when none ran), which its $connect and its later messages
// carry: $context.authorizer.principalId and .NAME in their templates and
// access log lines, as API Gateway has them. It leaves the rest of a as it is.
func (a *Authorizer) SetConnection(az any) {
	m, ok := az.(map[string]any)
	if !ok || len(m) == 0 {
		return
	}
	a.PrincipalID, _ = m["principalId"].(string)
	a.Context = m
}

// WSOutcome is what the loggers of a WebSocket route dispatch learn of it
// besides its answer: the gateway fills it in as the dispatch goes, and they
// read it once it ended. Dispatches do not run the pipeline, so this stands
// for the parts of a Context that the pipeline's stages would have set.
type WSOutcome struct {
	// Authorizer is the $connect authorizer's answer (Status 0 when none ran).
	Authorizer Authorizer
	// IntegrationRan says the route's integration was called (false for a
	// $connect its authorizer or a throttle refused).
	IntegrationRan bool
	// Error is the refusal the gateway answered, when it refused.
	Error ErrorInfo
}

// Integration is $context.integration: what the route's integration answered,
// for the access log. Zero when no integration ran.
//
// The statuses are int16 (HTTP statuses fit) so that Context, which every
// request allocates, stays in its allocation size class
// (gateway.TestRequestSizeClass).
type Integration struct {
	// Ran says the integration was called.
	Ran bool
	// HTTP says it is an HTTP backend's (HTTP, HTTP_PROXY), whose status
	// $context.integrationStatus is.
	HTTP bool
	// Status is $context.integration.status: for a function, the status its
	// proxy response named (200 for a non-proxy call); 0 when the
	// integration itself does not say (HTTP and mock integrations: the access
	// log then writes the status answered).
	Status int16
	// EndpointStatus is $context.integrationStatus and
	// .integration.integrationStatus: for a function, the status of the
	// Lambda Invoke call itself (200 when it ran, whatever the function
	// returned; 429 when throttled; 413 for a payload too large; 500 when it
	// could not be run); for an HTTP backend whose answer is buffered (HTTP,
	// a mapped HTTP_PROXY) the backend's status; 0 otherwise (a streamed
	// HTTP_PROXY answer: the access log writes the status answered, which
	// is the backend's).
	EndpointStatus int16
	// Error is $context.integrationErrorMessage and .integration.error: why
	// the integration failed, "" when it did not.
	Error string
	// RequestID is $context.awsEndpointRequestId and .integration.requestId:
	// the function invocation's request id.
	RequestID string
}

// StringifyContextValue is an authorizer's context value as API Gateway passes
// it to REST and WebSocket events and renders it in $context.authorizer:
// numbers and booleans as strings ("3", "1.5", "true"; a json.Number as its
// text, every digit kept); other values as they are.
func StringifyContextValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return v
}

// ErrorInfo is $context.error.
type ErrorInfo struct {
	Message               string
	ResponseType          ResponseType
	ValidationErrorString string
}

// APIRequestID is $context.requestId as API Gateway gives it for the request's
// API: on HTTP APIs the apigw-requestid value (ExtendedRequestID), the id their
// events carry, so that logs and events correlate; elsewhere RequestID.
func (c *Context) APIRequestID() string {
	if c.Protocol == apis.ProtocolHTTP {
		return c.ExtendedRequestID
	}
	return c.RequestID
}

// ReadBody reads the request body once, within the limit http.MaxBytesReader set
// on it, and returns the same bytes to every later caller. A body over the limit
// is a RequestTooLarge error; a failed read a BadRequestBody error. r.Body is
// put back as a reader of the same bytes (or the same error): the integration,
// which reads r.Body, gets what a stage that looked at the body saw.
func (c *Context) ReadBody(r *http.Request) ([]byte, error) {
	if c.bodyRead {
		return c.body, c.bodyErr
	}
	c.bodyRead = true
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	c.body, c.bodyErr = io.ReadAll(r.Body)
	if c.bodyErr != nil {
		var mbe *http.MaxBytesError
		if errors.As(c.bodyErr, &mbe) {
			c.bodyErr = Errorf(RequestTooLarge, "body over %d bytes", mbe.Limit)
		} else {
			c.bodyErr = Errorf(BadRequestBody, "read request body: %w", c.bodyErr)
		}
		c.body = nil
	}
	r.Body = Replay(c.body, c.bodyErr)
	return c.body, c.bodyErr
}

// Replay is a request body that reads b, then ends with err (io.EOF when nil):
// a body read once and handed on.
func Replay(b []byte, err error) io.ReadCloser {
	return io.NopCloser(&replay{b: b, err: err})
}

type replay struct {
	b   []byte
	err error
}

func (r *replay) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// Latency is the time from start to the response's end: to AnsweredAt when it
// is set, or since(start) (the caller's clock) when not.
func (c *Context) Latency(start time.Time, since func(time.Time) time.Duration) time.Duration {
	if !c.AnsweredAt.IsZero() {
		return c.AnsweredAt.Sub(start)
	}
	return since(start)
}

// BodyLength is the length of the request body read so far through
// ReadBody or SetBody, and whether it was read; for a body the pipeline did
// not read but streamed on (SetStreamedLength), what streamed.
func (c *Context) BodyLength() (int, bool) {
	if !c.bodyRead && c.streamed > 0 {
		return int(c.streamed - 1), true
	}
	return len(c.body), c.bodyRead && c.bodyErr == nil
}

// SetStreamedLength records the length of a request body that an
// integration streamed on as it came without the pipeline reading it (an
// HTTP_PROXY route's body of unknown length): what BodyLength reports
// when the body was not read.
func (c *Context) SetStreamedLength(n int64) { c.streamed = n + 1 }

// BodyUntouched reports whether nothing of the request body was read nor
// streamed on yet: an answer now is a refusal decided from the head.
func (c *Context) BodyUntouched() bool { return !c.bodyRead && c.streamed == 0 }

// SetBody replaces what ReadBody returns (for stages that rewrite the body).
func (c *Context) SetBody(b []byte) { c.body, c.bodyRead, c.bodyErr = b, true, nil }

// requestKey keys the request a context was derived from (WithRequest).
type requestKey struct{}

// WithRequest returns ctx carrying r, for code that is handed only a context
// but must check what the client sent (a WebSocket upgrade's SigV4 signature,
// checked when $connect is dispatched).
func WithRequest(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request WithRequest put in ctx, or nil.
func RequestFrom(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	return r
}

// AsStage annotates a constructor of a Stage so that it joins the gateway's
// pipeline: fx.Provide(pipeline.AsStage(throttle.New)).
func AsStage(constructor any) any {
	return fx.Annotate(constructor, fx.As(new(Stage)), fx.ResultTags(`group:"pipeline.stages"`))
}

// Module is the pipeline contract: it provides nothing itself; stage packages
// join the "pipeline.stages" group with AsStage.
var Module = fx.Module("pipeline")

// ErrorText is err's message as $context.authorizer.error and
// $context.integration.error carry it: redacted, without the characters that
// would break a quoted field of a JSON access-log format (a double quote, a
// backslash; control characters become spaces), so that
// "error":"$context.authorizer.error" stays valid JSON on every line. "" for
// nil.
func ErrorText(err error) string {
	s := redact.Error(err)
	if !strings.ContainsFunc(s, func(r rune) bool { return r == '"' || r == '\\' || r < ' ' || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '"':
		case r == '\\':
			b.WriteByte('/')
		case r < ' ' || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
