package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/javaregex"
	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/routeselect"
)

// integrationPlan is a non-proxy integration compiled once per stage deployment:
// its request templates parsed, its integration responses with their selection
// patterns compiled and their response templates parsed.
type integrationPlan struct {
	selector *responseSelector
	// request are the request templates by content type.
	request map[string]*mapping.Template
	// responses are the response templates by selection key, then content type.
	responses map[string]map[string]*mapping.Template
	// firstResponse is, by selection key, the media type of the response
	// template used when the client's Accept names none of them and the
	// integration's default type has none: the first in sorted order.
	firstResponse map[string]string
	// binaryTypes are the API's binary media types, for contentHandling.
	binaryTypes []string
	// static holds the output of the templates that reference nothing (no $
	// and no #: plain text), rendered once here instead of per request. Shared
	// by every request: read only (capacity = length, so an append copies).
	static map[*mapping.Template][]byte
	// mockStatus is a plain-text request template's statusCode, for MOCK.
	mockStatus map[*mapping.Template]string
	// templateSel is a WebSocket integration's templateSelectionExpression
	// when it is not $default (wsRequestTemplate).
	templateSel *routeselect.Selector
	// bodyPaths are the compiled JSONPaths of the integration responses'
	// integration.response.body.JSONPATH parameters, by their source.
	bodyPaths map[string]*mapping.JSONPath
}

// compilePlan compiles in's templates and selection patterns. A template that does
// not parse is an error (the API's validation refuses such templates; a stored
// deployment from before that check answers 500).
func compilePlan(in *apis.Integration, binaryTypes []string) (*integrationPlan, error) {
	p := &integrationPlan{selector: compileResponses(in.Responses), request: map[string]*mapping.Template{},
		responses: map[string]map[string]*mapping.Template{}, firstResponse: map[string]string{}, binaryTypes: binaryTypes,
		static: map[*mapping.Template][]byte{}, mockStatus: map[*mapping.Template]string{}}
	if e := in.TemplateSelectionExpression; e != "" && e != apis.RouteDefault && e != `\$default` {
		sel, err := routeselect.Parse(e)
		if err != nil {
			return nil, fmt.Errorf("templateSelectionExpression: %w", err)
		}
		p.templateSel = sel
	}
	for ct, src := range in.RequestTemplates {
		t, err := mapping.Parse(ct, src)
		if err != nil {
			return nil, fmt.Errorf("request template: %w", err)
		}
		p.request[ct] = t
		p.addStatic(t, src)
		if out, ok := p.static[t]; ok {
			if st, ok, _ := mockStatus(out); ok {
				p.mockStatus[t] = st
			}
		}
	}
	for key, ir := range in.Responses {
		for _, src := range ir.ResponseParameters {
			if path, ok := strings.CutPrefix(src, "integration.response.body."); ok {
				if rel, ok := apis.BodyPath(path); ok {
					path = rel // without its "$."
				}
				if jp, err := mapping.CompileJSONPath("$." + path); err == nil {
					if p.bodyPaths == nil {
						p.bodyPaths = map[string]*mapping.JSONPath{}
					}
					p.bodyPaths[src] = jp
				}
			}
		}
		for ct, src := range ir.ResponseTemplates {
			t, err := mapping.Parse(ct, src)
			if err != nil {
				return nil, fmt.Errorf("integration response %q template: %w", key, err)
			}
			if p.responses[key] == nil {
				p.responses[key] = map[string]*mapping.Template{}
			}
			p.responses[key][ct] = t
			if first, ok := p.firstResponse[key]; !ok || ct < first {
				p.firstResponse[key] = ct
			}
			p.addStatic(t, src)
		}
	}
	foldMediaTypes(p.request)
	for _, ts := range p.responses {
		foldMediaTypes(ts)
	}
	return p, nil
}

// foldMediaTypes adds to ts, templates by media type, each key that has
// upper case letters again in lower case, unless that key is there already
// (the first in sorted order of keys folding to one): a request's media type
// and a client's Accept are matched in lower case, as media types are
// case-insensitive, so "Application/JSON" was a template never selected. The
// keys as written stay (a WebSocket route selects by them, exactly).
func foldMediaTypes(ts map[string]*mapping.Template) {
	for _, k := range slices.Sorted(maps.Keys(ts)) {
		if l := strings.ToLower(k); l != k {
			if _, ok := ts[l]; !ok {
				ts[l] = ts[k]
			}
		}
	}
}

// addStatic keeps t's output when its source is plain text, which renders the
// same whatever the request.
func (p *integrationPlan) addStatic(t *mapping.Template, src string) {
	if strings.ContainsAny(src, "$#") {
		return
	}
	out, err := t.RenderString(context.Background(), &mapping.Vars{Context: mapping.NewContext()})
	if err == nil {
		b := []byte(out)
		p.static[t] = b[:len(b):len(b)]
	}
}

// render renders t, a template of p, with lv's variables (built only if t reads
// them). A plain-text template's output is shared: read only.
func (p *integrationPlan) render(ctx context.Context, t *mapping.Template, lv *lazyVars) ([]byte, error) {
	if out, ok := p.static[t]; ok {
		return out, nil
	}
	budget := lv.rc.entry.budget
	w, err := budget.acquire(ctx, len(lv.body))
	if err != nil {
		return nil, err
	}
	out, err := t.RenderString(ctx, lv.get())
	budget.release(w)
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// lazyVars are a request's template variables, built at the first template that
// reads them: a route whose templates are plain text never builds them, and
// $context is built only when a template or parameter mapping reads it.
type lazyVars struct {
	r    *http.Request
	rc   *reqCtx
	body []byte
	v    *mapping.Vars // &vars once built
	vars mapping.Vars
}

func (l *lazyVars) get() *mapping.Vars {
	if l.v == nil {
		l.v = &l.vars
		fillTemplateVars(l.v, l.r, l.rc, l.body)
		l.v.HeadersBuilder = l
	}
	return l.v
}

// BuildHeaders implements mapping.HeadersBuilder: the request's headers, built
// when a template first reads one.
func (l *lazyVars) BuildHeaders() map[string]string { return templateHeaders(l.r, l.rc) }

// plan returns in's compiled plan (compiled now for an integration outside the
// deployment's routes).
func (e *stageEntry) plan(in *apis.Integration) (*integrationPlan, error) {
	if p := e.plans[in]; p != nil {
		return p, nil
	}
	p, err := compilePlan(in, e.dep.API.BinaryMediaTypes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", err.Error(), errConfig)
	}
	return p, nil
}

// requestContentType is the request's media type, application/json when none is
// sent (as API Gateway selects templates).
func requestContentType(r *http.Request) string {
	v := r.Header["Content-Type"]
	if len(v) == 0 || v[0] == "" {
		return "application/json"
	}
	if mt, ok := plainMediaType(v[0]); ok {
		return mt
	}
	if mt, _, err := mime.ParseMediaType(v[0]); err == nil {
		return mt
	}
	return "application/json"
}

// plainMediaType returns what mime.ParseMediaType returns for a media type
// without parameters ("application/json", "text/plain"), without its
// allocations; ok is false for anything else (parameters, spaces inside, other
// characters), which ParseMediaType then reads.
func plainMediaType(v string) (string, bool) {
	slash := -1
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '+' || c == '_':
		case c == '/' && slash < 0 && i > 0 && i < len(v)-1:
			slash = i
		default:
			return "", false
		}
	}
	if slash < 0 {
		return "", false
	}
	return strings.ToLower(v), true
}

// requestTemplate picks the request template for r by content type and applies
// the passthrough behavior: nil and no error means pass the body through;
// WHEN_NO_TEMPLATES with templates defined and NEVER give 415 when none matches.
func (p *integrationPlan) requestTemplate(in *apis.Integration, r *http.Request) (*mapping.Template, error) {
	ct := requestContentType(r)
	if t, ok := p.request[ct]; ok {
		return t, nil
	}
	switch in.PassthroughBehavior {
	case "NEVER":
		return nil, pipeline.Errorf(pipeline.UnsupportedMediaType, "no request template for %q and passthroughBehavior NEVER", ct)
	case "WHEN_NO_TEMPLATES":
		if len(p.request) > 0 {
			return nil, pipeline.Errorf(pipeline.UnsupportedMediaType, "no request template for %q and passthroughBehavior WHEN_NO_TEMPLATES", ct)
		}
	}
	return nil, nil
}

// fillTemplateVars fills v with what one request exposes to its templates:
// $input from the body and the method request's parameters, $context (built
// from the pipeline's context when a template first reads it) and
// $stageVariables. The headers are left to v's HeadersBuilder (templateHeaders).
func fillTemplateVars(v *mapping.Vars, r *http.Request, rc *reqCtx, body []byte) {
	query := r.URL.Query()
	q := make(map[string]string, len(query))
	for k, vs := range query {
		if len(vs) > 0 {
			q[k] = vs[len(vs)-1] // the last, as the proxy event's queryStringParameters
		}
	}
	*v = mapping.Vars{Body: body, PathParams: rc.PathParameters, QueryParams: q,
		ContextBuilder: rc, StageVariables: rc.StageVariables}
}

// templateHeaders returns the headers a REST API's templates see in
// $input.params(): the headers of its proxy events (eventHeaders), the ones
// API Gateway adds (Host, X-Forwarded-For/Port/Proto, X-Amzn-Trace-Id)
// included, named as the events name them (the client's spelling, API
// Gateway's for the added ones; $input.params('name') matches them
// case-insensitively), a repeated header as its last value (the event's
// headers).
func templateHeaders(r *http.Request, rc *reqCtx) map[string]string {
	var buf [16]eventHeader
	hs := eventHeaders(buf[:0], r, rc, headerSpelling(r, rc))
	h := make(map[string]string, len(hs))
	for i := range hs {
		h[hs[i].Name] = hs[i].Last() // the last, as the proxy event's headers
	}
	return h
}

// BuildContext fills $context from the pipeline's context (the request's
// templates call it when they first read $context).
func (rc *reqCtx) BuildContext() *mapping.Map {
	m := rc.MappingContext()
	m.Set("resourceId", resourceID(rc, rc.ResourcePath))
	return m
}

// renderRequest renders a request template, mapping its failures to what the
// caller sees: a body that is not JSON where the template reads it as JSON is 400
// (API Gateway's "Could not parse request body into json"), a bound reached or
// any other failure is 500 with the reason in the log.
func renderRequest(ctx context.Context, p *integrationPlan, t *mapping.Template, lv *lazyVars) ([]byte, error) {
	out, err := p.render(ctx, t, lv)
	if err == nil {
		return out, nil
	}
	if errors.Is(err, mapping.ErrBodyNotJSON) {
		return nil, &pipeline.Error{Type: pipeline.BadRequestBody, Message: "Could not parse request body into json", Cause: err}
	}
	if e, ok := err.(*pipeline.Error); ok { //nolint:errorlint // the budget's own error, unwrapped
		return nil, e // the template memory budget's 429
	}
	return nil, renderFailure(err)
}

// renderFailure is a template failure as an API configuration error (500).
func renderFailure(err error) error {
	return pipeline.Wrap(pipeline.APIConfigurationError, fmt.Errorf("mapping template: %w", err))
}

// requestParams resolves in's requestParameters for the integration request:
// integration.request.{header,querystring,path}.X from method.request.{header,
// querystring,path}.Y, 'literal', stageVariables.Z or context.V. The template's
// $context.requestOverride values are applied on top by the caller.
type integrationParams struct {
	header, query, path map[string]string
	// spans says which path values are the route's greedy parameter's
	// (method.request.path.proxy for /{proxy+}), which keep their "/".
	spans map[string]bool
	// err is a header value made of the API's own values (a stage
	// variable, the authorizer's context) that cannot be sent: the API's
	// configuration error, which apply returns (unsendableMapped).
	err error
}

// resolveRequestParams resolves in's requestParameters for r. Header names
// are canonical (http.CanonicalHeaderKey), as they are sent: of two mappings
// that name one header in different cases, the one whose target sorts last
// wins, whatever the order of the map. A context.X source reads the
// request's own $context, not the request template's copy: what a template
// writes there (but $context.requestOverride, which the caller applies) stays
// in the template, as its $stageVariables writes do, so that a template
// cannot forge context.identity.sourceIp or context.authorizer.principalId for
// the backend.
func resolveRequestParams(in *apis.Integration, r *http.Request, rc *reqCtx) integrationParams {
	p := integrationParams{header: map[string]string{}, query: map[string]string{}, path: map[string]string{}, spans: map[string]bool{}}
	spans := routeSpans(rc)
	var ctx *mapping.Map             // $context, built when a source reads it
	var headerFrom map[string]string // by header, the target that set it, once two collide
	for dst, src := range in.RequestParameters {
		if ctx == nil && strings.HasPrefix(src, "context.") {
			ctx = rc.BuildContext()
		}
		v, ok := rc.ParamValue(src, r, ctx)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(dst, "integration.request.header."):
			name := http.CanonicalHeaderKey(dst[len("integration.request.header."):])
			if i := controlChar(v); i >= 0 && !strings.HasPrefix(src, "method.request.") && p.err == nil {
				p.err = unsendableMapped(name, v[i])
			}
			if _, dup := p.header[name]; dup {
				if headerFrom == nil {
					headerFrom = sameHeaderTargets(in.RequestParameters)
				}
				if headerFrom[name] != dst {
					continue // another spelling's target sorts last
				}
			}
			p.header[name] = v
		case strings.HasPrefix(dst, "integration.request.querystring."):
			p.query[dst[len("integration.request.querystring."):]] = v
		case strings.HasPrefix(dst, "integration.request.path."):
			name := dst[len("integration.request.path."):]
			p.path[name] = v
			p.spans[name] = spans.from(src)
		}
	}
	return p
}

// sameHeaderTargets is, by canonical header name, the integration.request.header
// target of params that sorts last among those naming that header.
func sameHeaderTargets(params map[string]string) map[string]string {
	last := map[string]string{}
	for dst := range params {
		if name, ok := strings.CutPrefix(dst, "integration.request.header."); ok {
			name = http.CanonicalHeaderKey(name)
			if dst > last[name] {
				last[name] = dst
			}
		}
	}
	return last
}

// maxMappedBytes bounds what requestParameters and a template's overrides
// set, in all: the integration request's header names and values, and
// (apart) its query string and path parameters; and the method response's
// headers that responseParameters and $context.responseOverride.header set.
// API Gateway holds header values to 10,240 bytes in total (REFERENCE.md,
// REST API quotas); past it the render is the API's configuration error
// (500, the reason in the log), not a multi-megabyte header block that
// clients and backends refuse (a template can build one from a tiny request).
const maxMappedBytes = 10240

// mappedSize is the bytes of m's names and values.
func mappedSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// apply merges the template's $context.requestOverride values over p. A
// header value with a control character (CR, LF, NUL, ...) cannot be sent:
// the template made it, so it is the API's configuration error (500), not
// the client's bad request (sendableHeader's 400 for mapped client values).
// So is a header block, or a query string and path parameters, larger than
// maxMappedBytes. An override replaces a mapping of the same header
// whatever the case of its name (the template's own spellings of one name
// are one override: mapping.Vars.RequestOverride).
func (p *integrationParams) apply(vars *mapping.Vars) error {
	if p.err != nil {
		return p.err
	}
	h, q, path := vars.RequestOverride()
	for k, v := range h {
		if i := controlChar(v); i >= 0 {
			return notSentError{fmt.Errorf("mapping template: $context.requestOverride.header.%s has control character %#x, which no header value may hold (fix the template, e.g. strip CR and LF from what it copies): %w", k, v[i], errConfig)}
		}
		p.header[http.CanonicalHeaderKey(k)] = v
	}
	for k, v := range q {
		p.query[k] = v
	}
	for k, v := range path {
		p.path[k] = v
		p.spans[k] = false // an override is one segment
	}
	if n := mappedSize(p.header); n > maxMappedBytes {
		return fmt.Errorf("integration request headers set by requestParameters and $context.requestOverride.header take %d bytes, over API Gateway's %d for header values in total (%d headers): %w", n, maxMappedBytes, len(p.header), errConfig)
	}
	if n := mappedSize(p.query) + mappedSize(p.path); n > maxMappedBytes {
		return fmt.Errorf("integration request query string and path parameters set by requestParameters and $context.requestOverride take %d bytes, over %d: %w", n, maxMappedBytes, errConfig)
	}
	return nil
}

// encodeQuery appends p's query string parameters to raw (mergeQuery).
func (p *integrationParams) encodeQuery(raw string) string {
	if len(p.query) == 0 {
		return raw
	}
	set := make(url.Values, len(p.query))
	for k, v := range p.query {
		set[k] = []string{v}
	}
	return mergeQuery(raw, set)
}

// mergeQuery returns the raw query string raw with the parameters set names
// replaced: raw's other parameters (the integration URI's and, on HTTP_PROXY,
// the client's) stay as they were written, in their order; set's follow,
// sorted by name, each value encoded; a name set to no values is removed. So a
// query mapping changes only what it maps, where url.Values.Encode would
// re-sort and re-spell the rest ("flag" as "flag=").
func mergeQuery(raw string, set url.Values) string {
	var b strings.Builder
	for rest := raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		if kv == "" {
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if _, mapped := set[k]; mapped {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range set[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// integrationResult is what the integration answered, for the method response.
type integrationResult struct {
	// key is the selected integration response's selection key.
	key    string
	ir     apis.IntegrationResponse
	body   []byte
	header http.Header // the backend's response headers (HTTP)
	// contentType is the default content type of the response.
	contentType string
	// binary says body is binary (an HTTP backend's binary media type).
	binary bool
	// accept is the client's Accept header.
	accept string
}

// writeMethodResponse writes the method response of a non-proxy integration: the
// selected integration response's status, its responseParameters headers
// (literals, integration.response.header.X, integration.response.body[.path]),
// the body rendered by its response template for the content type (or the
// integration's body when it has none), and any $context.responseOverride the
// templates set. ireq is the request prepareRequest made (its plan and variables).
func (g *Gateway) writeMethodResponse(ctx context.Context, w http.ResponseWriter, ireq *integrationRequest, res integrationResult) error {
	m, err := renderMethodResponse(ctx, ireq, res)
	if err != nil {
		return err
	}
	g.logDropped(ireq, &m)
	m.write(w, ireq)
	return nil
}

// logDropped says which headers m's $context.responseOverride.header set
// that were not sent, if any.
func (g *Gateway) logDropped(ireq *integrationRequest, m *methodResponse) {
	if len(m.invalid) > 0 {
		rc := ireq.lv.rc
		g.log.Warn("method response headers a template override set were not sent: their names are not header names (RFC 9110 tokens: no spaces, colons or control characters, not empty); fix the names the template gives $context.responseOverride.header",
			"api", rc.APIID, "stage", rc.Stage, "resource", rc.ResourcePath, "names", m.invalid)
	}
	if len(m.dropped) > 0 {
		rc := ireq.lv.rc
		g.log.Warn("method response headers a template override set were not sent: the gateway sets them itself (they frame the response or speak for the connection or the request); remove them from $context.responseOverride.header",
			"api", rc.APIID, "stage", rc.Stage, "resource", rc.ResourcePath, "headers", m.dropped)
	}
}

// methodResponse is a non-proxy integration's method response, rendered.
type methodResponse struct {
	status int
	header http.Header // set by responseParameters and overrides; nil when none
	body   []byte
	ct     string // the Content-Type when header sets none
	// dropped are the headers $context.responseOverride.header set that
	// may not be sent (apis.IsUnmappableResponseHeader), for the log.
	dropped []string
	// invalid are the names $context.responseOverride.header set that are
	// no header names (a space, a colon, CR or LF, nothing), quoted, for
	// the log.
	invalid []string
}

// renderMethodResponse renders what writeMethodResponse writes; an error
// (a template that fails, a body that is not base64) comes before anything is
// written.
func renderMethodResponse(ctx context.Context, ireq *integrationRequest, res integrationResult) (methodResponse, error) {
	p, lv := ireq.plan, ireq.lv
	if err := checkMethodResponse(lv.rc, res); err != nil {
		return methodResponse{}, err
	}
	status, ok := apis.ValidateStatus(res.ir.StatusCode)
	if !ok {
		status = http.StatusOK
	} else if status < 200 {
		// Stored before saving refused it: an interim answer has no body.
		return methodResponse{}, fmt.Errorf("integration response %q: statusCode %s is not a final status: %w", res.key, res.ir.StatusCode, errConfig)
	}
	var header http.Header
	if len(res.ir.ResponseParameters) > 0 {
		header = http.Header{}
	}
	var headerFrom map[string]string // by header, the parameter that sets it, once two collide
	for k, v := range res.ir.ResponseParameters {
		name, found := strings.CutPrefix(k, "method.response.header.")
		if !found {
			continue
		}
		// Refused when saved; an integration stored before that was is
		// applied without it.
		if apis.IsUnmappableResponseHeader(name) {
			continue
		}
		if hv, ok := ireq.responseParam(v, &res); ok {
			name = http.CanonicalHeaderKey(name)
			if _, dup := header[name]; dup {
				// Two spellings of one header: the parameter that sorts
				// last wins, not the order of the map.
				if headerFrom == nil {
					headerFrom = sameResponseHeaders(res.ir.ResponseParameters)
				}
				if headerFrom[name] != k {
					continue
				}
			}
			header.Set(name, hv)
		}
	}
	body := res.body
	t, ct := p.responseTemplate(res.key, res.accept, res.contentType)
	// contentHandling: a binary payload becomes base64 text for CONVERT_TO_TEXT
	// or, without one, for a client that accepts text; only text is templated;
	// text becomes binary for CONVERT_TO_BINARY or, without one, for a client
	// that accepts binary.
	binary, acceptBinary := res.binary, isBinaryAccept(res.accept, p.binaryTypes)
	if binary && (res.ir.ContentHandling == contentToText || (res.ir.ContentHandling == "" && !acceptBinary)) {
		body, binary = base64Encode(body), false
	}
	if binary {
		t = nil
	}
	if out, ok := p.static[t]; ok {
		body = out
	} else if t != nil {
		vars := lv.get()
		rv := &mapping.Vars{Body: body, PathParams: vars.PathParams, QueryParams: vars.QueryParams,
			Headers: vars.Headers, HeadersBuilder: vars.HeadersBuilder, Context: vars.Context, ContextBuilder: vars.ContextBuilder,
			StageVariables: vars.StageVariables}
		budget := lv.rc.entry.budget
		w, err := budget.acquire(ctx, len(body))
		if err != nil {
			return methodResponse{}, err
		}
		out, err := t.RenderString(ctx, rv)
		budget.release(w)
		if err != nil {
			return methodResponse{}, renderFailure(err)
		}
		// Built by the response template, when the request's did not.
		vars.Context, vars.Headers, vars.HeadersBuilder = rv.Context, rv.Headers, rv.HeadersBuilder
		body = []byte(out)
	}
	if !binary && (res.ir.ContentHandling == contentToBinary || (res.ir.ContentHandling == "" && acceptBinary)) {
		var err error
		if body, err = base64Decode(body, "integration response"); err != nil {
			return methodResponse{}, err
		}
	}
	var dropped, invalid []string
	if lv.v != nil { // no template read the variables: none set an override
		s, hs := lv.v.ResponseOverride()
		if s >= 200 && s <= 599 {
			status = s
		}
		for k, v := range hs {
			if !httpguts.ValidHeaderFieldName(k) {
				invalid = append(invalid, strconv.Quote(k))
				continue
			}
			if apis.IsUnmappableResponseHeader(k) {
				dropped = append(dropped, k)
				continue
			}
			if header == nil {
				header = http.Header{}
			}
			header.Set(k, v)
		}
	}
	slices.Sort(dropped)
	slices.Sort(invalid)
	if n := headerSize(header); n > maxMappedBytes {
		return methodResponse{}, pipeline.Errorf(pipeline.APIConfigurationError,
			"method response headers set by responseParameters and $context.responseOverride.header take %d bytes, over API Gateway's %d for header values in total (%d headers)", n, maxMappedBytes, len(header))
	}
	return methodResponse{status: status, header: header, body: body, ct: ct, dropped: dropped, invalid: invalid}, nil
}

// sameResponseHeaders is, by canonical header name, the
// method.response.header parameter of params that sorts last among those
// naming that header.
func sameResponseHeaders(params map[string]string) map[string]string {
	last := map[string]string{}
	for k := range params {
		if name, ok := strings.CutPrefix(k, "method.response.header."); ok {
			name = http.CanonicalHeaderKey(name)
			if k > last[name] {
				last[name] = k
			}
		}
	}
	return last
}

// headerSize is the bytes of h's names and values.
func headerSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

// responseTemplate selects the response template of the integration response
// key as API Gateway does, by the client's Accept header: the first media type
// in it (parameters and q-values ignored, in the order sent) that has a
// template. When none has one (no Accept, */*, a type without a template) it is
// the template for def, the integration's own media type (application/json for
// functions and MOCK, the backend's media type for HTTP), else the first
// template by media type in sorted order. ct is the selected template's media
// type, the method response's Content-Type; with no templates, t is nil and ct
// is def. It allocates nothing.
func (p *integrationPlan) responseTemplate(key, accept, def string) (t *mapping.Template, ct string) {
	templates := p.responses[key]
	if len(templates) == 0 {
		return nil, def
	}
	for rest := accept; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		mt, _, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if t, ok := templates[mt]; ok {
			return t, mt
		}
	}
	if t, ok := templates[def]; ok {
		return t, def
	}
	ct = p.firstResponse[key]
	return templates[ct], ct
}

// checkMethodResponse refuses, as API Gateway does when the request comes
// (it takes such an integration response when it is put), a selected
// integration response of a REST API whose status code has no method
// response: a 500 whose log says "Output mapping refers to an invalid method
// response". An integration without integration responses, which answers
// with what came back, and a method that declares no method response at all
// (Portico's own API format and definitions from before this check need
// none; the AWS control plane and OpenAPI documents declare them) are left
// alone.
func checkMethodResponse(rc *reqCtx, res integrationResult) error {
	if res.key == "" || rc.Protocol != apis.ProtocolREST || rc.Route == nil || len(rc.Route.Responses) == 0 {
		return nil
	}
	if _, ok := rc.Route.Responses[res.ir.StatusCode]; ok {
		return nil
	}
	if _, ok := rc.Route.Responses["default"]; ok { // an OpenAPI document's default response
		return nil
	}
	return pipeline.Errorf(pipeline.APIConfigurationError,
		"Execution failed due to configuration error: Output mapping refers to an invalid method response: %s (add a method response for status %s, or map the integration response to a status that has one)",
		res.ir.StatusCode, res.ir.StatusCode)
}

// write writes m as the response to ireq.
func (m *methodResponse) write(w http.ResponseWriter, ireq *integrationRequest) {
	h := w.Header()
	for k, vs := range m.header {
		h[k] = vs
	}
	hv := ireq.hv[:] // the values of the two headers below, kept in the request
	if ctv := h["Content-Type"]; len(ctv) == 0 || ctv[0] == "" {
		hv[0] = m.ct
		h["Content-Type"] = hv[0:1:1]
	}
	hv[1] = strconv.Itoa(len(m.body))
	h["Content-Length"] = hv[1:2:2]
	w.WriteHeader(m.status)
	_, _ = w.Write(m.body) //nolint:gosec // G705: the method response the API defines (template or integration body), as API Gateway sends it
}

// responseParam resolves an integration response parameter's source: a
// 'literal', integration.response.header|multivalueheader.NAME (a repeated
// header's values joined with commas), integration.response.body,
// integration.response.body.JSONPATH (a string as it is, anything else as its
// JSON), stageVariables.NAME or context.NAME. ok is false when it names
// nothing present.
func (ireq *integrationRequest) responseParam(src string, res *integrationResult) (string, bool) {
	if name, ok := strings.CutPrefix(src, "integration.response.header."); ok {
		hv := res.header.Values(name)
		return strings.Join(hv, ","), len(hv) > 0
	}
	if name, ok := strings.CutPrefix(src, "integration.response.multivalueheader."); ok {
		hv := res.header.Values(name)
		return strings.Join(hv, ","), len(hv) > 0
	}
	if src == "integration.response.body" {
		return string(res.body), true
	}
	if path, ok := strings.CutPrefix(src, "integration.response.body."); ok {
		jp := ireq.plan.bodyPaths[src]
		if jp == nil { // an integration compiled before its path was valid
			var err error
			if rel, ok := apis.BodyPath(path); ok {
				path = rel // without its "$."
			}
			if jp, err = mapping.CompileJSONPath("$." + path); err != nil {
				return "", false
			}
		}
		return mapping.SelectJSON(res.body, jp)
	}
	// A context.X source reads the request's own $context, not the request
	// template's copy: what a template writes there stays in the template,
	// as for requestParameters (resolveRequestParams).
	if ireq.ctx == nil && strings.HasPrefix(src, "context.") {
		ireq.ctx = ireq.lv.rc.BuildContext()
	}
	return ireq.lv.rc.ParamValue(src, nil, ireq.ctx)
}

// compileSelectionPattern compiles an integration response's selectionPattern,
// a Java regular expression matched against the whole string, as API Gateway
// matches it.
func compileSelectionPattern(pattern string) (*javaregex.Regexp, error) {
	return javaregex.CompileWhole(pattern)
}
