package gateway

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/fastproxy"
	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// paramMapping is an HTTP API integration's parameter mapping, compiled once
// per stage deployment: the request's operations (overwrites, then appends,
// then removes) and the response's by status code. Values are read from the
// client's request (or the integration's response) as it arrived, never from
// what an earlier operation changed.
type paramMapping struct {
	request   []apis.ParameterMapping
	responses map[int][]apis.ParameterMapping
	// broken is why a stored mapping does not compile (validation refuses
	// such mappings; a deployment from before that answers 500).
	broken error
}

// paramMapping returns in's compiled HTTP API mapping, nil when it has none.
func (e *stageEntry) paramMapping(in *apis.Integration) (*paramMapping, error) {
	m := e.paramMaps[in]
	if m != nil && m.broken != nil {
		return nil, fmt.Errorf("parameter mapping: %s: %w", m.broken.Error(), errConfig)
	}
	return m, nil
}

// sourceREST is a REST API requestParameters source ('literal',
// method.request.*, stageVariables.*, context.*), resolved by
// pipeline.Context.ParamValue.
const sourceREST = "rest"

// compileRESTProxyMapping compiles a REST API HTTP_PROXY integration's header
// and query string requestParameters as overwrites of the client's values (its
// path parameters are substituted in the URI). Mapping Content-Length or
// Transfer-Encoding is an error: API Gateway answers such requests 500.
func compileRESTProxyMapping(in *apis.Integration) (*paramMapping, error) {
	m := &paramMapping{}
	for dst, src := range in.RequestParameters {
		op := apis.ParameterMapping{Action: apis.MapOverwrite, Value: []apis.MappingPart{{Source: sourceREST, Name: src}}}
		switch {
		case strings.HasPrefix(dst, "integration.request.header."):
			op.Target, op.Name = apis.MapHeader, dst[len("integration.request.header."):]
			if n := strings.ToLower(op.Name); n == "content-length" || n == "transfer-encoding" {
				return nil, fmt.Errorf("requestParameters map %s, which API Gateway refuses to set", op.Name)
			}
		case strings.HasPrefix(dst, "integration.request.querystring."):
			op.Target, op.Name = apis.MapQueryString, dst[len("integration.request.querystring."):]
		default:
			continue
		}
		m.request = append(m.request, op)
	}
	if len(m.request) == 0 {
		return nil, nil
	}
	sortOps(m.request)
	return m, nil
}

// compileParamMapping compiles in's HTTP API mappings; nil when it has none.
func compileParamMapping(in *apis.Integration) (*paramMapping, error) {
	if len(in.RequestParameters) == 0 && len(in.ResponseParameters) == 0 {
		return nil, nil
	}
	m := &paramMapping{}
	for k, v := range in.RequestParameters {
		op, err := apis.ParseParameterMapping(k, v, false)
		if err != nil {
			return nil, err
		}
		m.request = append(m.request, op)
	}
	sortOps(m.request)
	for code, params := range in.ResponseParameters {
		n, err := strconv.Atoi(code)
		if err != nil {
			return nil, fmt.Errorf("responseParameters key %q is not a status code", code)
		}
		var ops []apis.ParameterMapping
		for k, v := range params {
			op, err := apis.ParseParameterMapping(k, v, true)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
		sortOps(ops)
		if m.responses == nil {
			m.responses = map[int][]apis.ParameterMapping{}
		}
		m.responses[n] = ops
	}
	return m, nil
}

var actionOrder = map[string]int{apis.MapOverwrite: 0, apis.MapAppend: 1, apis.MapRemove: 2}

// sortOps orders operations overwrite, append, remove, then by target and name,
// so that a mapping applies the same way every time.
func sortOps(ops []apis.ParameterMapping) {
	sort.Slice(ops, func(i, j int) bool {
		a, b := ops[i], ops[j]
		if actionOrder[a.Action] != actionOrder[b.Action] {
			return actionOrder[a.Action] < actionOrder[b.Action]
		}
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Name < b.Name
	})
}

// maxMappedBody is how much of a body a JSON path in a mapping reads, as API
// Gateway truncates it (a larger body selects nothing).
const maxMappedBody = 100 << 10

// mapSources is what one request's mapping values read.
type mapSources struct {
	r    *http.Request
	rc   *reqCtx
	body []byte
	ctx  *mapping.Map // $context, built on first use
	// respHeader and respBody are the integration's response, for response
	// mappings.
	respHeader http.Header
	respBody   []byte
}

// value evaluates a mapping value; ok is false when a reference in it names
// nothing present, and the operation is then skipped.
func (s *mapSources) value(parts []apis.MappingPart) (string, bool) {
	if len(parts) == 1 && parts[0].Source == "" {
		return parts[0].Literal, true
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Source == "" {
			b.WriteString(p.Literal)
			continue
		}
		v, ok := s.ref(p)
		if !ok {
			return "", false
		}
		b.WriteString(v)
	}
	return b.String(), true
}

// opValue is an operation's value ("" for a remove); ok is false when the
// operation is to be skipped.
func (s *mapSources) opValue(op apis.ParameterMapping) (string, bool) {
	if op.Action == apis.MapRemove {
		return "", true
	}
	return s.value(op.Value)
}

func (s *mapSources) ref(p apis.MappingPart) (string, bool) {
	switch p.Source {
	case apis.SourceRequestHeader:
		vs := pipeline.HeaderValues(s.r, p.Name)
		return strings.Join(vs, ","), len(vs) > 0
	case apis.SourceRequestQuery:
		vs := s.r.URL.Query()[p.Name]
		return strings.Join(vs, ","), len(vs) > 0
	case apis.SourceRequestPath:
		if p.Name == "" {
			return s.rc.Path, true
		}
		v, ok := s.rc.PathParameters[p.Name]
		return v, ok
	case apis.SourceRequestBody:
		return selectBody(s.body, p.Path)
	case apis.SourceResponseHeader:
		vs := s.respHeader.Values(p.Name)
		return strings.Join(vs, ","), len(vs) > 0
	case apis.SourceResponseBody:
		return selectBody(s.respBody, p.Path)
	case apis.SourceStageVariables:
		v, ok := s.rc.StageVariables[p.Name]
		return v, ok
	case sourceREST:
		if s.ctx == nil && strings.HasPrefix(p.Name, "context.") {
			s.ctx = s.rc.BuildContext()
		}
		return s.rc.ParamValue(p.Name, s.r, s.ctx)
	case apis.SourceContext:
		if claim, ok := jwtClaimName(p.Name); ok {
			// The verified token's claim, as the event carries it; absent
			// when the route's authorizer is not a JWT one.
			if s.rc.Authorizer.Kind != "jwt" {
				return "", false
			}
			v, ok := s.rc.Authorizer.Context[claim]
			if !ok || v == nil {
				return "", false
			}
			return claimText(v), true
		}
		if p.Name == "authorizer.principalId" && s.rc.Authorizer.PrincipalID == "" {
			// No principal (no authorizer, or a Lambda authorizer's simple
			// response, which has none): absent, as a context key or claim
			// the authorizer did not set is, where $context renders "".
			return "", false
		}
		if s.ctx == nil {
			s.ctx = s.rc.BuildContext()
		}
		v, ok := s.ctx.GetPath(p.Name)
		if !ok || v == nil {
			return "", false
		}
		return fmt.Sprint(v), true
	}
	return "", false
}

// jwtClaimName is the claim a context variable authorizer.claims.NAME or
// authorizer.jwt.claims.NAME names.
func jwtClaimName(name string) (string, bool) {
	if claim, ok := strings.CutPrefix(name, "authorizer.claims."); ok {
		return claim, true
	}
	return strings.CutPrefix(name, "authorizer.jwt.claims.")
}

// pathValue evaluates an overwrite:path value as an escaped path. Static text
// and most references are escaped keeping their "/" (escapeGreedy), as the
// path they always stood for; $request.path is the client's escaped path, and
// $request.path.NAME keeps the segments the router matched: the route's
// greedy parameter its client-sent segments (escapeSegments), a one-segment
// parameter escaped whole. An encoded "/" the router took for part of a
// segment never becomes a separator on the way to the backend.
func (s *mapSources) pathValue(parts []apis.MappingPart) (string, bool) {
	var b strings.Builder
	for _, p := range parts {
		if p.Source == "" {
			b.WriteString(escapeGreedy(p.Literal))
			continue
		}
		v, ok := s.ref(p)
		if !ok {
			return "", false
		}
		switch {
		case p.Source == apis.SourceRequestPath && p.Name == "":
			b.WriteString(v)
		case p.Source == apis.SourceRequestPath:
			if spans := routeSpans(s.rc); spans.greedy == p.Name {
				b.WriteString(escapeSegments(spans.raw, v))
			} else {
				b.WriteString(url.PathEscape(v))
			}
		default:
			b.WriteString(escapeGreedy(v))
		}
	}
	return b.String(), true
}

// setEscapedPath sets u's path to the escaped path p, keeping each segment's
// escapes (an encoded "/" stays %2F). A path with a dot segment, which the
// backend could resolve out of the path the mapping names, is errBadRequest,
// as the client's own path is (normalizePath).
func setEscapedPath(u *url.URL, p string) error {
	segs := strings.Split(p, "/")
	dec := make([]string, len(segs))
	for i, seg := range segs {
		dec[i] = unescape(seg)
		if hasDotSegment(dec[i]) {
			return notSentError{fmt.Errorf("overwrite:path %q has a dot segment: %w", p, errBadRequest)}
		}
		segs[i] = url.PathEscape(dec[i])
	}
	u.Path, u.RawPath = strings.Join(dec, "/"), strings.Join(segs, "/")
	return nil
}

func selectBody(body []byte, path *mapping.JSONPath) (string, bool) {
	if path == nil {
		return string(body), true
	}
	if len(body) > maxMappedBody {
		return "", false
	}
	return mapping.SelectJSON(body, path)
}

// mappedQuery returns the values in query of the parameters the request
// operations map (none for a parameter they removed), for mergeQuery.
func (m *paramMapping) mappedQuery(query url.Values) url.Values {
	set := url.Values{}
	for _, op := range m.request {
		if op.Target == apis.MapQueryString {
			set[op.Name] = query[op.Name]
		}
	}
	return set
}

// applyRequest applies the request operations to the integration request's
// header, query and escaped path (pathValue; path may be nil where there is
// none to overwrite). A header value with a control character (CR, LF, NUL,
// ...) made from the API's own values (a stage variable, the authorizer's
// context, a literal) is the API's configuration error (500), as a
// template's override is; one the client's values made is left for the
// sending side to refuse as the client's bad request (sendableHeader).
func (m *paramMapping) applyRequest(s *mapSources, header http.Header, query url.Values, path *string) error {
	for _, op := range m.request {
		v, ok := s.opValue(op)
		if !ok {
			// An overwrite whose value names nothing present (a claim the
			// token lacks, a header the client did not send) leaves no
			// value: the client's own never passes for the mapped one.
			if op.Action == apis.MapOverwrite {
				switch op.Target {
				case apis.MapHeader:
					header.Del(op.Name)
				case apis.MapQueryString:
					query.Del(op.Name)
				}
			}
			continue
		}
		switch op.Target {
		case apis.MapHeader:
			if i := controlChar(v); i >= 0 && !clientMade(op.Value) {
				return unsendableMapped(op.Name, v[i])
			}
			applyValues(http.Header(header), http.CanonicalHeaderKey(op.Name), op.Action, v)
		case apis.MapQueryString:
			applyValues(query, op.Name, op.Action, v)
		case apis.MapPath:
			if path != nil {
				if v, ok = s.pathValue(op.Value); !ok {
					continue
				}
				if !strings.HasPrefix(v, "/") {
					v = "/" + v
				}
				*path = v
			}
		}
	}
	return nil
}

// clientMade reports whether a mapped value reads any of the client's
// request (its headers, query string, path or body): a control character in
// it may be the client's. One made only of the API's own values (literals,
// stage variables, $context, the authorizer's context) is not.
func clientMade(parts []apis.MappingPart) bool {
	for _, p := range parts {
		switch p.Source {
		case "", apis.SourceStageVariables, apis.SourceContext:
		case sourceREST:
			if !strings.HasPrefix(p.Name, "method.request.") {
				continue
			}
			return true
		default:
			return true
		}
	}
	return false
}

// unsendableMapped is the configuration error of a header mapping whose
// value, made of the API's own values, holds control character c.
func unsendableMapped(name string, c byte) error {
	return notSentError{fmt.Errorf("integration request header %s is mapped from a stage variable, $context or the authorizer's context to a value with control character %#x, which no header value may hold (the authorizer or the configuration made it, not the client): %w", name, c, errConfig)}
}

// applyResponse applies the operations for status to header and returns the
// status to answer with. A status code mapped from the response that is not a
// final status (200 to 599: an interim 1xx would go out as one, without its
// body) is errConfig, 500, as API Gateway fails a mapping it cannot apply.
func (m *paramMapping) applyResponse(s *mapSources, status int, header http.Header) (int, error) {
	for _, op := range m.responses[status] {
		v, ok := s.opValue(op)
		if !ok {
			continue
		}
		switch op.Target {
		case apis.MapHeader:
			applyValues(header, http.CanonicalHeaderKey(op.Name), op.Action, v)
		case apis.MapStatusCode:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 200 || n > 599 {
				return 0, fmt.Errorf("response parameter mapping overwrite:statuscode for %d: %.20q is not a status code from 200 to 599: %w", status, v, errConfig)
			}
			status = n
		}
	}
	return status, nil
}

// mapsQuery reports whether a request operation changes the query string.
func (m *paramMapping) mapsQuery() bool {
	for _, op := range m.request {
		if op.Target == apis.MapQueryString {
			return true
		}
	}
	return false
}

func applyValues(m map[string][]string, name, action, v string) {
	switch action {
	case apis.MapOverwrite:
		m[name] = []string{v}
	case apis.MapAppend:
		m[name] = append(m[name], v)
	case apis.MapRemove:
		delete(m, name)
	}
}

// serveMappedProxy runs an HTTP API's HTTP_PROXY integration that has
// parameter mappings: the request and the response are buffered (within the
// body limit) so that the mappings can read and change them.
func (g *Gateway) serveMappedProxy(w http.ResponseWriter, r *http.Request, rc *reqCtx, in *apis.Integration, m *paramMapping) error {
	hop, err := nextHop(r.Header)
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	rc.SetBody(body) // what a REST API's method.request.body reads
	u, err := integrationURL(r, rc, in, r.URL.RawQuery)
	if err != nil {
		return err
	}
	header := forwardedHeaders(r, rc)
	delete(header, "Host")
	// As the streamed paths send it: the client's Host, never its own field.
	if delete(header, "X-Forwarded-Host"); r.Host != "" {
		header["X-Forwarded-Host"] = []string{r.Host}
	}
	// With the names the client's Connection lists, as the unmapped proxy
	// does, but for the forwarding fields just set, which are the gateway's.
	fastproxy.RemoveRequestHopByHop(header)
	src := &mapSources{r: r, rc: rc, body: body}
	query := u.Query()
	path := u.EscapedPath()
	if err := m.applyRequest(src, header, query, &path); err != nil {
		return err
	}
	header[hopHeader] = []string{hop} // after the mappings, which cannot reset it
	if m.mapsQuery() {
		u.RawQuery = mergeQuery(u.RawQuery, m.mappedQuery(query))
	}
	if path != u.EscapedPath() {
		if err := setEscapedPath(u, path); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), in.TimeoutFor(rc.Protocol))
	defer cancel()
	//nolint:gosec // G704: the backend is the API's integration URI; request values fill only its path parameters (escaped) and query, as API Gateway's mappings do
	req, err := http.NewRequestWithContext(ctx, integrationMethod(in, r), u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("backend request: %s: %w", err.Error(), errConfig)
	}
	req.Header = header
	resp, err := g.roundTrip(ctx, req, u)
	if err != nil {
		return err
	}
	rc.Integration.EndpointStatus = int16(resp.status) // the backend's, before a statuscode mapping
	respBody := resp.body
	out := resp.header.Clone()
	fastproxy.RemoveHopByHop(out)
	if rc.Protocol == apis.ProtocolREST {
		remapBackendHeaders(out)
	}
	src.respHeader, src.respBody = resp.header, respBody
	status, err := m.applyResponse(src, resp.status, out)
	if err != nil {
		return err
	}
	wh := w.Header()
	for k, vs := range out {
		wh[k] = vs
	}
	wh.Set("Content-Length", strconv.Itoa(len(respBody)))
	w.WriteHeader(status)
	_, _ = w.Write(respBody) //nolint:gosec // G705: a proxy answers with its backend's body, as HTTP_PROXY does
	return nil
}
