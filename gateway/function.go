package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/javaregex"
	"github.com/portico-dev/portico/gateway/internal/restevent"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/invoker"
)

// proxyEventLimit is the largest synchronous event a function takes (the
// invoker's MaxPayload, Lambda's 6 MB), which an AWS_PROXY event's body alone
// cannot exceed.
var proxyEventLimit = int64(invoker.DefaultConfig().MaxPayload)

// readBody reads the whole request body within the size limit. Its errors
// are notSent: the integration has sent nothing yet.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, notSentError{fmt.Errorf("body over %d bytes: %w", mbe.Limit, errTooLarge)}
		}
		return nil, notSentError{fmt.Errorf("read request body: %w: %w", err, errBadRequest)}
	}
	return body, nil
}

// invoke resolves the integration's function (stage variables substituted) and
// runs it with the deadline min(integration timeout, function timeout). With
// ans, a warm result may be answered to the client by ans (Result.Answered).
func (g *Gateway) invoke(r *http.Request, rc *reqCtx, in *apis.Integration, payload []byte, ans invoker.Answerer) (*invoker.Result, error) {
	target := rc.entry.functionTarget(rc.Route, in)
	if target.err != nil {
		return nil, target.err
	}
	ref := target.ref
	if g.resolver == nil || g.invoker == nil {
		return nil, fmt.Errorf("no function runtime configured: %w", errConfig)
	}
	ctx := r.Context()
	// A call with the caller's own credentials is the caller's, whose
	// policies the auth stage checked; any other is API Gateway's.
	if in.Credentials != apis.CallerCredentials {
		if err := g.mayInvoke(ctx, rc.Context, ref); err != nil {
			return nil, err
		}
	}
	fn, err := g.resolver.Resolve(ctx, ref)
	if err != nil {
		// An unknown function or alias is the API's configuration error (500),
		// whatever kind the resolver gave it. The log says where the name came
		// from when stage variables made it.
		return nil, fmt.Errorf("resolve %s: %s%s: %w", ref, err.Error(), stageVariableSource(in.URI, rc.entry.deployed.Variables, rc.Stage), errConfig)
	}
	// The integration timeout bounds the whole call, the wait for a sandbox
	// included; the function's own timeout bounds its run (a 502 function
	// error, where this one is a 504).
	timeout := in.TimeoutFor(rc.Protocol)
	res, err := g.invoker.Invoke(ctx, invoker.Request{
		Function:   fn,
		Payload:    payload,
		Timeout:    timeout,
		InvokedARN: target.arn,
		TraceID:    invokeTrace(r, rc),
		Answer:     ans,
	})
	if err != nil {
		// The Lambda Invoke call's own status ($context.integrationStatus).
		switch {
		case errors.Is(err, errdefs.ErrThrottled):
			rc.Integration.EndpointStatus = http.StatusTooManyRequests
		case errors.Is(err, errdefs.ErrTooLarge):
			rc.Integration.EndpointStatus = http.StatusRequestEntityTooLarge
		case errors.Is(err, errdefs.ErrTimeout):
		case errors.Is(err, errdefs.ErrUnavailable):
			rc.Integration.EndpointStatus = http.StatusServiceUnavailable
		default:
			rc.Integration.EndpointStatus = http.StatusInternalServerError
		}
		switch {
		case errors.Is(err, errdefs.ErrTooLarge):
			// The client's request may be within every limit: the event
			// (its template's output) is what is over the function's
			// payload limit, which the API's owner needs to know.
			// requestId is the API's own (apigw-requestid on HTTP APIs), the
			// id the client sees and the other log lines carry.
			g.log.Warn("function event over the function's payload limit: answered 413 Request Too Long", "requestId", rc.APIRequestID(),
				"api", rc.APIID, "stage", rc.Stage, "route", rc.RouteKey, "function", ref, "eventBytes", len(payload), "err", err)
			return nil, fmt.Errorf("invoke %s: %w", ref, err)
		case errors.Is(err, errdefs.ErrThrottled):
			return nil, fmt.Errorf("invoke %s: %w", ref, err)
		case errors.Is(err, errdefs.ErrTimeout):
			return nil, fmt.Errorf("invoke %s: %s: %w", ref, err.Error(), errTimeout)
		case errors.Is(err, invoker.ErrCodeMissing):
			// Portico's store cannot serve the function's code for now
			// (its data directory was moved, say): a retryable 503, as the
			// usage stage answers a quota it cannot count then, not the
			// integration's failure. (A container daemon that does not
			// answer stays the integration's failure, API Gateway's 500.)
			return nil, &pipeline.Error{Type: pipeline.Default5XX, Status: http.StatusServiceUnavailable, Message: "Service Unavailable",
				Cause: fmt.Errorf("invoke %s: %w", ref, err)}
		default:
			return nil, fmt.Errorf("invoke %s: %s: %w", ref, err.Error(), errIntegration)
		}
	}
	rc.Integration.RequestID = res.RequestID
	if res.TimedOut && res.CallerTimeout {
		return nil, fmt.Errorf("invoke %s: integration timeout %s: %w", ref, timeout, errTimeout)
	}
	rc.Integration.EndpointStatus = http.StatusOK
	if rc.Integration.Status == 0 { // else set by a proxy response answered already
		rc.Integration.Status = http.StatusOK
	}
	if res.FunctionError != "" {
		return res, fmt.Errorf("function %s (version %s) failed: %s: %w", ref, res.ExecutedVersion, truncateBytes(res.Payload, 500), errFunction)
	}
	return res, nil
}

// Permissions is an optional ability of a Resolver: it keeps the functions'
// resource-based policies (aliases.Service does, through functions.Service).
// The gateway, and its authorizers, then call a function or qualifier that has
// a policy only when a statement of it allows API Gateway the call.
type Permissions interface {
	GatewayMayInvoke(ctx context.Context, name, qualifier string, from functions.CallSource) (bool, error)
}

// mayInvoke refuses a call of ref that ref's resource policy does not allow,
// as API Gateway's "Invalid permissions on Lambda function" (500
// API_CONFIGURATION_ERROR).
func (g *Gateway) mayInvoke(ctx context.Context, c *pipeline.Context, ref functions.Ref) error {
	perms, ok := g.resolver.(Permissions)
	if !ok {
		return nil
	}
	allowed, err := perms.GatewayMayInvoke(ctx, ref.Name, ref.Qualifier, (*callSource)(c))
	switch {
	case err != nil:
		return fmt.Errorf("resource policy of %s: %s: %w", ref, err.Error(), errConfig)
	case !allowed:
		return fmt.Errorf("execution failed due to configuration error: Invalid permissions on Lambda function: the resource policy of %s allows no lambda:InvokeFunction by %s from %s (add-permission --principal %s --source-arn naming this API): %w",
			functions.ARN(ref.Name, ref.Qualifier), functions.GatewayPrincipal, SourceARNs(c)[0], functions.GatewayPrincipal, errConfig)
	}
	return nil
}

// callSource is a request as a functions.CallSource.
type callSource pipeline.Context

func (c *callSource) SourceARNs() []string { return SourceARNs((*pipeline.Context)(c)) }

// SourceARNs are the execute-api ARNs a function's resource policy may name
// (as AWS:SourceArn) for the request c: API/STAGE/METHOD/PATH for REST and
// HTTP API routes, with the request's method and the route's (ANY), and the
// route's path template and the request's path as the router matched it
// (pipeline.Context.MatchedPath); API/STAGE/ROUTE_KEY for an
// HTTP API's $default route and for WebSocket routes. The first is the one an
// error names.
func SourceARNs(c *pipeline.Context) []string {
	base := "arn:aws:execute-api:" + functions.Region + ":" + functions.AccountID + ":" + c.APIID + "/" + c.Stage + "/"
	if c.Route == nil || c.Route.Method == "" {
		key := c.RouteKey
		if c.Route != nil && key == "" {
			key = c.Route.RouteKey
		}
		return []string{base + key}
	}
	methods := []string{c.HTTPMethod}
	if c.Route.Method != c.HTTPMethod {
		methods = append(methods, c.Route.Method)
	}
	paths := []string{strings.TrimPrefix(c.Route.Path, "/")}
	if p := strings.TrimPrefix(c.MatchedPath(), "/"); p != paths[0] {
		paths = append(paths, p)
	}
	out := make([]string, 0, len(methods)*len(paths))
	for _, m := range methods {
		for _, p := range paths {
			out = append(out, base+m+"/"+p)
		}
	}
	return out
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// serveFunctionProxy runs an AWS_PROXY integration: the request becomes a payload
// 1.0 or 2.0 event and the function's result must be a valid proxy response.
func (g *Gateway) serveFunctionProxy(w http.ResponseWriter, r *http.Request, rc *reqCtx, in *apis.Integration) error {
	if r.ContentLength > proxyEventLimit {
		// The event holds the whole body (base64 makes it larger still): a
		// body declared over the limit can never fit, and is refused before
		// any of it is read (no "100 Continue" to a client that waits for one).
		// Logged as the event the invoker refuses is: the request may be
		// within the gateway's 10 MB, and the API's owner has only the log.
		g.log.Warn("function event over the function's payload limit: answered 413 Request Too Long", "requestId", rc.APIRequestID(),
			"api", rc.APIID, "stage", rc.Stage, "route", rc.RouteKey, "contentLength", r.ContentLength, "limit", proxyEventLimit)
		return notSentError{fmt.Errorf("content-length %d: over the %d-byte function event: %w", r.ContentLength, proxyEventLimit, errTooLarge)}
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	// What $context.dataProcessed counts of a body sent without a
	// Content-Length (chunked); no copy, no allocation.
	rc.SetBody(body)
	m, err := rc.entry.paramMapping(in)
	if err != nil {
		return err
	}
	var src *mapSources
	if m != nil {
		// The event carries the mapped headers and query string.
		src = &mapSources{r: r, rc: rc, body: body}
		mapped := r.Clone(r.Context())
		query := mapped.URL.Query()
		if err := m.applyRequest(src, mapped.Header, query, nil); err != nil {
			return err
		}
		if m.mapsQuery() {
			mapped.URL.RawQuery = mergeQuery(mapped.URL.RawQuery, m.mappedQuery(query))
		}
		r = mapped
	}
	v2 := rc.Protocol == apis.ProtocolHTTP && in.PayloadFormatVersion != "1.0"
	var payload []byte
	if v2 {
		payload, err = encodeEvent(func(b []byte) ([]byte, error) {
			return appendEventV2(b, r, rc, body, rc.StageVariables)
		})
	} else {
		payload, err = encodeEvent(func(b []byte) ([]byte, error) {
			return appendEventV1(b, r, rc, body, rc.StageVariables, rc.entry.dep.API.BinaryMediaTypes)
		})
	}
	if err != nil {
		return err
	}
	a := rc.answer()
	a.m, a.src, a.v2 = m, src, v2
	var ans invoker.Answerer
	if a.arm(g, w, r, rc, in) {
		ans = a
	}
	res, err := g.invoke(r, rc, in, payload, ans)
	if err != nil {
		return err
	}
	if res.Answered {
		return nil
	}
	resp, err := a.response(res)
	if err != nil {
		return err
	}
	resp.write(w, rc.Protocol == apis.ProtocolREST)
	return nil
}

// answerWithin bounds the wait of a request answered by another goroutine
// (functionAnswer) for its client's next request: its handlers return (its
// access log line, its metrics) by then.
const answerWithin = 10 * time.Millisecond

// functionAnswer is a function integration's client as the invoker sees it
// (invoker.Answerer): a warm function's result is turned into the client's
// answer, and written through the pipeline's writers, by the goroutine that
// reads it from the sandbox, while the request's own goroutine waits parked
// on the client's connection (h1.Park) and is not woken by it. Used when
// every stage's writer passes through (pipeline.PassThrough) to h1's.
type functionAnswer struct {
	h1.Park
	g     *Gateway
	w     http.ResponseWriter // the pipeline's writer
	inner http.ResponseWriter // h1's, under w
	r     *http.Request
	rc    *reqCtx
	in    *apis.Integration
	// AWS_PROXY: the parameter mapping (nil when none) and its sources, and
	// the payload version.
	m   *paramMapping
	src *mapSources
	v2  bool
	// AWS (non-proxy): the integration request, whose plan has the
	// integration responses and their templates.
	ireq *integrationRequest
}

// arm sets a up for an invocation and reports whether the request can be
// answered by it: every writer over h1's passes through, and h1 gives a Park.
func (a *functionAnswer) arm(g *Gateway, w http.ResponseWriter, r *http.Request, rc *reqCtx, in *apis.Integration) bool {
	a.g, a.w, a.r, a.rc, a.in = g, w, r, rc, in
	inner, ok := pipeline.Innermost(w)
	if ok && a.Init(inner) {
		a.inner = inner
		return true
	}
	return false
}

// Answer implements invoker.Answerer. A function error, or a result that does
// not make a response (not a valid proxy response; a response template that
// fails), is left to the request's goroutine, which turns it into the
// gateway's answer as before.
func (a *functionAnswer) Answer(res *invoker.Result) bool {
	if res.FunctionError != "" {
		return false
	}
	hook := answeredHook.Load()
	if a.ireq != nil {
		key, ir, ok, err := a.ireq.plan.selector.selectResponse("", true)
		if !ok || err != nil {
			return false
		}
		mr, err := renderMethodResponse(a.r.Context(), a.ireq, integrationResult{key: key, ir: ir, body: res.Payload,
			contentType: "application/json", accept: a.r.Header.Get("Accept")})
		if err != nil {
			return false
		}
		if hook != nil {
			(*hook)(a.r)
		}
		a.g.logDropped(a.ireq, &mr)
		mr.write(a.w, a.ireq)
	} else {
		resp, err := a.response(res)
		if err != nil {
			return false
		}
		if hook != nil {
			(*hook)(a.r)
		}
		resp.write(a.w, a.rc.Protocol == apis.ProtocolREST)
	}
	if f, ok := a.inner.(http.Flusher); ok {
		f.Flush()
	}
	rc := a.rc
	end := a.g.since(rc.integrationBase)
	rc.IntegrationLatency, rc.AnsweredAt = end-rc.integrationBegin, rc.integrationBase.Add(end)
	a.AnsweredWithin(answerWithin)
	return true
}

// answeredHook, when set (by tests), sees each request a functionAnswer answers,
// before its client can have the answer.
var answeredHook atomic.Pointer[func(*http.Request)]

// response turns a function's result into the client's response: a valid
// proxy response (payload 1.0 or 2.0), binary sent as the client accepts it,
// the response's parameter mapping applied.
func (a *functionAnswer) response(res *invoker.Result) (*proxyResponse, error) {
	var resp *proxyResponse
	var err error
	if a.v2 {
		resp, err = parseProxyResponseV2(res.Payload)
	} else {
		resp, err = parseProxyResponseV1(res.Payload)
	}
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", a.in.URI, err)
	}
	rc := a.rc
	rc.Integration.Status = int16(resp.status) //nolint:gosec // G115: an HTTP status (200-599, checked when parsed)
	if resp.base64 != nil && rc.Protocol == apis.ProtocolREST &&
		!isBinaryAccept(a.r.Header.Get("Accept"), rc.entry.dep.API.BinaryMediaTypes) {
		// REST APIs send binary only to a client whose first Accept type is one
		// of the API's binary media types; any other gets the base64 text.
		resp.body = resp.base64
	}
	if a.m != nil {
		h := resp.headerMap()
		a.src.respHeader, a.src.respBody = h, resp.body
		if resp.status, err = a.m.applyResponse(a.src, resp.status, h); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// proxyResponse is a validated proxy result.
type proxyResponse struct {
	status int
	// header is the generic decoder's headers, or nil when fields are the
	// scanner's (names canonical, each once).
	header  http.Header
	fields  []headerField
	cookies []string
	body    []byte
	// base64 is the body as the function sent it when it was isBase64Encoded
	// (body is then the decoded bytes).
	base64 []byte
	// fieldBuf and valBuf hold the usual few fields, and the values write
	// hands the response's header, in the response's allocation.
	fieldBuf [usualFields]headerField
	valBuf   [usualFields + 2]string
}

// usualFields is how many header fields a proxy result usually has at most.
const usualFields = 4

// headerField is a response header the scanner read.
type headerField struct{ name, value string }

// headerMap returns the result's headers as an http.Header, which the
// response's mapping may change.
func (p *proxyResponse) headerMap() http.Header {
	if p.header == nil {
		p.header = make(http.Header, len(p.fields))
		for _, f := range p.fields {
			p.header[f.name] = []string{f.value}
		}
		p.fields = nil
	}
	return p.header
}

// write sends the response; rest says the API is a REST API (remappedHeader).
func (p *proxyResponse) write(w http.ResponseWriter, rest bool) {
	h := w.Header()
	for k, vs := range p.header {
		k = http.CanonicalHeaderKey(k)
		if to := remappedHeader(k, rest); to != "" {
			k = to
		}
		h[k] = vs
	}
	// One slice holds the values of the scanned fields and of the two fields
	// set below.
	vals := p.valBuf[:]
	if n := len(p.fields) + 2; n > len(vals) {
		vals = make([]string, n)
	}
	for i, f := range p.fields {
		vals[i] = f.value
		name := f.name
		if to := remappedHeader(name, rest); to != "" {
			name = to
		}
		h[name] = vals[i : i+1 : i+1]
	}
	vals = vals[len(p.fields):]
	for _, c := range p.cookies {
		h.Add("Set-Cookie", c)
	}
	if ct := h["Content-Type"]; len(ct) == 0 || ct[0] == "" {
		vals[0] = "application/json"
		h["Content-Type"] = vals[0:1:1]
	}
	vals[1] = strconv.Itoa(len(p.body))
	h["Content-Length"] = vals[1:2:2]
	delete(h, "Transfer-Encoding")
	w.WriteHeader(p.status)
	_, _ = w.Write(p.body) //nolint:gosec // G705: the function's proxy response body, as API Gateway sends it
}

// remappedHeader returns the name under which a proxy result's header of
// canonical name goes to the client when the result may not set it, as API
// Gateway remaps such headers to x-amzn-Remapped-<name>: the gateway's own
// (its request ids, x-amzn-ErrorType), those that speak for the server or
// the connection (Date, Server, Connection and the other hop-by-hop headers,
// which net/http would otherwise act on), and on REST APIs Authorization and
// WWW-Authenticate. It returns "" for any other header, which the result sets
// as it likes. A switch on the name: no allocation on the usual path.
func remappedHeader(name string, rest bool) string {
	switch name {
	case "X-Amzn-Requestid":
		return "X-Amzn-Remapped-X-Amzn-Requestid"
	case "X-Amz-Apigw-Id":
		return "X-Amzn-Remapped-X-Amz-Apigw-Id"
	case "Apigw-Requestid":
		return "X-Amzn-Remapped-Apigw-Requestid"
	case "X-Amzn-Errortype":
		return "X-Amzn-Remapped-X-Amzn-Errortype"
	case "Date":
		return "X-Amzn-Remapped-Date"
	case "Server":
		return "X-Amzn-Remapped-Server"
	case "Connection":
		return "X-Amzn-Remapped-Connection"
	case "Keep-Alive":
		return "X-Amzn-Remapped-Keep-Alive"
	case "Proxy-Connection":
		return "X-Amzn-Remapped-Proxy-Connection"
	case "Te":
		return "X-Amzn-Remapped-Te"
	case "Trailer":
		return "X-Amzn-Remapped-Trailer"
	case "Upgrade":
		return "X-Amzn-Remapped-Upgrade"
	case "Authorization":
		if rest {
			return "X-Amzn-Remapped-Authorization"
		}
	case "Www-Authenticate":
		if rest {
			return "X-Amzn-Remapped-Www-Authenticate"
		}
	}
	return ""
}

var proxyKeysV1 = map[string]bool{"statusCode": true, "headers": true, "multiValueHeaders": true, "body": true, "isBase64Encoded": true}

// parseProxyResponseV1 validates a payload 1.0 result: {statusCode, headers,
// multiValueHeaders, body, isBase64Encoded} and nothing else; statusCode an
// integer (none is 200, as API Gateway has it); header values strings.
// Anything else is errBadResult.
func parseProxyResponseV1(payload []byte) (*proxyResponse, error) {
	if resp, ok := scanProxyResponse(payload, true); ok {
		return resp, nil
	}
	return decodeProxyResponseV1(payload)
}

// decodeProxyResponseV1 is parseProxyResponseV1 through generic maps: every
// result scanProxyResponse leaves to it, errors included.
func decodeProxyResponseV1(payload []byte) (*proxyResponse, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil {
		return nil, fmt.Errorf("result is not a JSON object: %w", errBadResult)
	}
	for k := range m {
		if !proxyKeysV1[k] {
			return nil, fmt.Errorf("result has unexpected field %q: %w", k, errBadResult)
		}
	}
	return decodeProxyFields(m)
}

// parseProxyResponseV2 validates a payload 2.0 result. Valid JSON without a
// statusCode is a 200 with the JSON as an application/json body, as API Gateway
// infers it.
func parseProxyResponseV2(payload []byte) (*proxyResponse, error) {
	if resp, ok := scanProxyResponse(payload, false); ok {
		return resp, nil
	}
	return decodeProxyResponseV2(payload)
}

// decodeProxyResponseV2 is parseProxyResponseV2 through generic maps.
func decodeProxyResponseV2(payload []byte) (*proxyResponse, error) {
	if !json.Valid(payload) {
		return nil, fmt.Errorf("result is not JSON: %w", errBadResult)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil || m["statusCode"] == nil {
		// A string result is sent as its JSON text, as API Gateway does.
		return &proxyResponse{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: bytes.TrimSpace(payload)}, nil
	}
	return decodeProxyFields(m)
}

// validResultStatus says whether a proxy result's statusCode is one to answer
// with: 200..599. A 1xx is an interim response (101 would switch protocols
// with no Upgrade, 100 or 103 would be followed by a 200 the function never
// chose), so a function's 1xx is a malformed result, as 0 and 600 are.
func validResultStatus(code int) bool { return code >= 200 && code <= 599 }

func decodeProxyFields(m map[string]json.RawMessage) (*proxyResponse, error) {
	bad := func(why string) (*proxyResponse, error) {
		return nil, fmt.Errorf("result %s: %w", why, errBadResult)
	}
	code := http.StatusOK // payload 1.0 without a statusCode (2.0 sends that result as the body)
	if raw, ok := m["statusCode"]; ok {
		var status json.Number // a number, or a string holding one
		if err := json.Unmarshal(raw, &status); err != nil {
			return bad("has a statusCode that is not a number")
		}
		var err error
		code, err = strconv.Atoi(status.String())
		switch {
		case status == "":
			return bad("has a statusCode of null, not an integer")
		case err != nil:
			return bad(fmt.Sprintf("has a statusCode that is not an integer (%s)", truncateBytes([]byte(status.String()), 20)))
		case code >= 100 && code <= 199:
			return bad(fmt.Sprintf("has the interim statusCode %d, which is not a final answer (200..599)", code))
		case !validResultStatus(code):
			return bad(fmt.Sprintf("has a statusCode outside 200..599 (%d)", code))
		}
	}
	resp := &proxyResponse{status: code, header: http.Header{}}
	if raw, ok := m["headers"]; ok && !isNull(raw) {
		var hs map[string]*string
		if err := json.Unmarshal(raw, &hs); err != nil {
			return bad("has headers that are not an object of strings")
		}
		// Sorted, so that names differing only in case resolve the same way
		// every time (the last in byte order wins).
		for _, k := range slices.Sorted(maps.Keys(hs)) {
			if hs[k] == nil || !httpguts.ValidHeaderFieldName(k) {
				return bad("has headers that are not an object of strings named by header names")
			}
			if i := controlChar(*hs[k]); i >= 0 {
				return bad(fmt.Sprintf("has header %s whose value holds control character %#x", k, (*hs[k])[i]))
			}
			resp.header[http.CanonicalHeaderKey(k)] = []string{*hs[k]}
		}
	}
	if raw, ok := m["multiValueHeaders"]; ok && !isNull(raw) {
		var hs map[string][]*string
		if err := json.Unmarshal(raw, &hs); err != nil {
			return bad("has multiValueHeaders that are not an object of string lists")
		}
		for _, k := range slices.Sorted(maps.Keys(hs)) {
			if !httpguts.ValidHeaderFieldName(k) {
				return bad("has multiValueHeaders not named by header names")
			}
			vs := make([]string, len(hs[k]))
			for i, v := range hs[k] {
				if v == nil {
					return bad("has multiValueHeaders that are not an object of string lists")
				}
				if i := controlChar(*v); i >= 0 {
					return bad(fmt.Sprintf("has multiValueHeaders %s with a value holding control character %#x", k, (*v)[i]))
				}
				vs[i] = *v
			}
			resp.header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	if raw, ok := m["cookies"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &resp.cookies); err != nil {
			return bad("has cookies that are not a list of strings")
		}
		for _, c := range resp.cookies {
			if i := controlChar(c); i >= 0 {
				return bad(fmt.Sprintf("has a cookie holding control character %#x", c[i]))
			}
		}
	}
	b64 := false
	if raw, ok := m["isBase64Encoded"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &b64); err != nil {
			return bad("has an isBase64Encoded that is not a boolean")
		}
	}
	if raw, ok := m["body"]; ok && !isNull(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return bad("has a body that is not a string")
		}
		if b64 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return bad("is marked isBase64Encoded but its body is not base64")
			}
			resp.body, resp.base64 = b, []byte(s)
		} else {
			resp.body = []byte(s)
		}
	}
	return resp, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// serveFunction runs a non-proxy AWS integration whose URI is a Lambda invocation
// ARN: the request template for the content type (or the body, as the passthrough
// behavior allows) is the event; a function error selects an integration response
// by matching its errorMessage (none matching: the default one, as for a result);
// the response template renders with the result (or error document) as $input.
func (g *Gateway) serveFunction(w http.ResponseWriter, r *http.Request, rc *reqCtx, in *apis.Integration) error {
	req, err := prepareRequest(r, rc, in)
	if err != nil {
		return err
	}
	p, payload := req.plan, req.payload
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	} else if err := checkEventJSON(payload); err != nil {
		return err
	}
	a := rc.answer()
	a.ireq = req
	var ans invoker.Answerer
	if a.arm(g, w, r, rc, in) {
		ans = a
	}
	res, err := g.invoke(r, rc, in, payload, ans)
	if err == nil && res.Answered {
		return nil
	}
	if err != nil {
		if !errors.Is(err, errFunction) || res == nil {
			return err
		}
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(res.Payload, &fe)
		// No pattern matching the errorMessage: the default response, with
		// the error document as $input (a Lambda error is a 200 unless a
		// response maps it), as API Gateway answers it.
		key, ir, ok, err := p.selector.selectResponse(fe.ErrorMessage, true)
		if err != nil {
			return err
		}
		if !ok {
			return noOutputMapping(fe.ErrorMessage)
		}
		return g.writeMethodResponse(r.Context(), w, req, integrationResult{key: key, ir: ir, body: res.Payload, contentType: "application/json", accept: r.Header.Get("Accept")})
	}
	key, ir, ok, err := p.selector.selectResponse("", true)
	if err != nil {
		return err
	}
	if !ok {
		return noOutputMapping("")
	}
	return g.writeMethodResponse(r.Context(), w, req, integrationResult{key: key, ir: ir, body: res.Payload, contentType: "application/json", accept: r.Header.Get("Accept")})
}

// checkEventJSON refuses an event for a non-proxy function integration that is
// not JSON (a template that renders invalid JSON, a text body passed through),
// as API Gateway does before it invokes: 400 "Could not parse request body into
// json: ..." (BAD_REQUEST_BODY). Lambda's Invoke API refuses such a payload too
// (admin's InvalidRequestContentException); the function is not invoked.
func checkEventJSON(payload []byte) error {
	if json.Valid(payload) {
		return nil
	}
	// Where and what ("not JSON at byte 1: unexpected 'o'"), not the
	// decoder's guess of what was meant.
	why := "not JSON " + pipeline.NotJSON(payload)
	return &pipeline.Error{Type: pipeline.BadRequestBody, Message: "Could not parse request body into json: " + why,
		Cause: fmt.Errorf("function event: %s: %w", why, errEventNotJSON)}
}

// errEventNotJSON is the cause of checkEventJSON's refusal.
var errEventNotJSON = errors.New("the event is not JSON")

// responseSelector is an integration's responses with their selection patterns
// compiled once per compiled stage (stageEntry.compile), not per request.
type responseSelector struct {
	responses map[string]apis.IntegrationResponse
	// patterns are in the order of their text; "default" and patterns that do
	// not compile are left out (they never match; validation refuses them).
	patterns []selectionPattern
	// now is the clock the selection's backtracking matches are charged by
	// (selectionBudget); time.Now but in tests.
	now func() time.Time
}

// selectionBudget bounds the time one selection (all the patterns of an
// integration's responses tried for one answer) spends in backtracking
// matches: javaregex.MatchTimeout bounds each match, and a pattern starts
// only while some of the budget is left, so that a selection takes about
// twice it at most, however many patterns there are.
const selectionBudget = javaregex.MatchTimeout

type selectionPattern struct {
	key string
	re  *javaregex.Regexp
}

// compileResponses compiles the selection patterns of responses.
func compileResponses(responses map[string]apis.IntegrationResponse) *responseSelector {
	sel := &responseSelector{responses: responses, now: time.Now}
	for _, pattern := range sortedKeys(responses) {
		if pattern == "default" {
			continue
		}
		if re, err := compileSelectionPattern(pattern); err == nil {
			sel.patterns = append(sel.patterns, selectionPattern{key: pattern, re: re})
		}
	}
	return sel
}

// selectResponse picks the integration response whose pattern matches selector
// (the backend status, or a function's errorMessage) and returns its key. With
// useDefault the "default" response stands in when no pattern matches, and an
// integration without integration responses at all takes a 200 (Portico's own
// API format needs none); ok is false when there are integration responses but
// none matches and none is the default, which the caller answers with
// noOutputMapping. The error is that of a pattern only the backtracking engine
// runs whose match took too long (javaregex.ErrTimeout), or of the pattern
// that was to run once the selection's backtracking matches had used
// selectionBudget: the API's configuration error, a 500.
func (sel *responseSelector) selectResponse(selector string, useDefault bool) (string, apis.IntegrationResponse, bool, error) {
	if selector != "" {
		left := selectionBudget
		for _, p := range sel.patterns {
			var matched bool
			var err error
			switch {
			case !p.re.Backtracks():
				matched, err = p.re.MatchString(selector)
			case left <= 0:
				err = fmt.Errorf("pattern %q: the selection's backtracking matches used their budget of %v: %w", p.key, selectionBudget, javaregex.ErrTimeout)
			default:
				start := sel.now()
				matched, err = p.re.MatchString(selector)
				left -= sel.now().Sub(start)
			}
			if err != nil {
				return "", apis.IntegrationResponse{}, false, pipeline.Wrap(pipeline.APIConfigurationError,
					fmt.Errorf("integration response selectionPattern: %w", err))
			}
			if matched {
				return p.key, sel.responses[p.key], true, nil
			}
		}
	}
	if !useDefault {
		return "", apis.IntegrationResponse{}, false, nil
	}
	if d, ok := sel.responses["default"]; ok {
		return "default", d, true, nil
	}
	if len(sel.responses) > 0 {
		return "", apis.IntegrationResponse{}, false, nil
	}
	return "", apis.IntegrationResponse{StatusCode: "200"}, true, nil
}

// noOutputMapping is the API configuration error (500) of an integration whose
// integration responses neither match what came back (selector: the backend's
// status, a function's errorMessage, a MOCK's statusCode) nor include a
// default, in API Gateway's words.
func noOutputMapping(selector string) error {
	return pipeline.Errorf(pipeline.APIConfigurationError,
		"Execution failed due to configuration error: No match for output mapping and no default output mapping specified (%q matches no selectionPattern; add a default integration response or a pattern that matches)",
		selector)
}

// stageVariableSource says which stage variables an integration URI took its
// function from: `; integration uri "function:hello:${stageVariables.alias}"
// with stage variable alias="nope" of stage dev`, or "" for a literal URI.
func stageVariableSource(uri string, vars map[string]string, stage string) string {
	if !strings.Contains(uri, "${stageVariables.") {
		return ""
	}
	var used []string
	for rest := uri; ; {
		i := strings.Index(rest, "${stageVariables.")
		if i < 0 {
			break
		}
		rest = rest[i+len("${stageVariables."):]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			break
		}
		name := rest[:j]
		used = append(used, fmt.Sprintf("%s=%q", name, vars[name]))
		rest = rest[j+1:]
	}
	return fmt.Sprintf("; integration uri %q with stage variable %s of stage %s", uri, strings.Join(used, ", "), stage)
}

// invokeTrace is the trace a function runs under (restevent.InvokeTrace): the
// request's last X-Amzn-Trace-Id (the client's, or the traced stage's span)
// when it is a valid one, in canonical form, else the Root the event's
// X-Amzn-Trace-Id names (restevent.TraceID), so that the event and the
// function's _X_AMZN_TRACE_ID name one trace, as in API Gateway.
func invokeTrace(r *http.Request, rc *reqCtx) string {
	return restevent.InvokeTrace(r.Header, rc.RequestTime, rc.RequestID)
}
