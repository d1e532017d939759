package apis

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/portico-dev/portico/internal/routeselect"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/internal/javaregex"
	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/internal/errdefs"
)

var (
	deploymentIDRe = regexp.MustCompile(`^[a-z0-9]{6,10}$`)
	varNameRe      = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	customRouteRe  = regexp.MustCompile(`^[^\s]{1,128}$`)
	mediaTypeRe    = regexp.MustCompile(`^[A-Za-z0-9*.+_-]+/[A-Za-z0-9*.+_-]+$`)
	statusCodeRe   = regexp.MustCompile(`^[1-5][0-9][0-9]$`)
	// finalStatusRe is a status the gateway answers with (an integration's or
	// a gateway response's): a final one, never an interim 1xx, which would go
	// out as an interim answer without the body.
	finalStatusRe = regexp.MustCompile(`^[2-5][0-9][0-9]$`)
	stageVarRefRe = regexp.MustCompile(`\$\{stageVariables\.([^}]*)\}`)
)

var methods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true,
	"HEAD": true, "OPTIONS": true, MethodAny: true,
}

// IsMethod reports whether m (upper case) is a method a REST or HTTP API
// route may have: GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS or ANY.
func IsMethod(m string) bool { return methods[m] }

// ValidAPIID reports whether s looks like an API id: 10 lowercase alphanumerics.
func ValidAPIID(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ValidStageName reports whether s is a valid stage name: [A-Za-z0-9_-]{1,128}.
// "$default" is valid for HTTP APIs only; see Stage validation.
func ValidStageName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ValidVariableName reports whether s is a valid stage variable name.
func ValidVariableName(s string) bool { return varNameRe.MatchString(s) }

func invalid(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalid)...)
}

// assignRouteIDs gives each route its id, derived from its route key
// (RouteID) so that it is the same across export and import. An HTTP or
// WebSocket route keeps the id it has when its key changes (update-route keeps
// a route's id in apigatewayv2), and a route whose derived id another route
// kept gets one derived from its key and a counter.
func (a *API) assignRouteIDs() {
	routes := a.Routes
	taken := map[string]bool{}
	kept := make([]bool, len(routes))
	if a.Protocol != ProtocolREST {
		for i := range routes {
			if id := routes[i].ID; id != "" && !taken[id] {
				taken[id], kept[i] = true, true
			}
		}
	}
	for i := range routes {
		if kept[i] {
			continue
		}
		id := RouteID(routes[i].RouteKey)
		for n := 1; taken[id]; n++ {
			id = RouteID(fmt.Sprintf("%s#%d", routes[i].RouteKey, n))
		}
		routes[i].ID, taken[id] = id, true
	}
}

// RouteID derives a route's id from its route key: 7 lowercase alphanumerics, stable
// across export and import.
func RouteID(routeKey string) string {
	sum := sha256.Sum256([]byte(routeKey))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 7)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}

// routeKey returns the route key of r for its protocol.
func (r *Route) routeKey(protocol string) string {
	if protocol == ProtocolWebSocket {
		return r.RouteKey
	}
	if r.Path == RouteDefault {
		return RouteDefault
	}
	return r.Method + " " + r.Path
}

// Normalize puts a definition in canonical form: route keys and ids derived, routes
// sorted, empty maps nil, raw JSON compacted with sorted keys. Two definitions that
// mean the same thing normalize to equal values.
func (a *API) Normalize() {
	d := &a.Definition
	d.resolveIntegrations()
	for i := range d.Routes {
		r := &d.Routes[i]
		if a.Protocol != ProtocolWebSocket {
			r.Method = strings.ToUpper(r.Method)
			if r.Path == RouteDefault || r.RouteKey == RouteDefault && r.Path == "" {
				r.Path, r.Method = RouteDefault, ""
			}
		}
		r.RouteKey = r.routeKey(a.Protocol)
		if len(r.Tags) == 0 {
			r.Tags = nil
		}
		if len(r.Security) == 0 {
			r.Security = nil
		}
		if len(r.Parameters) == 0 {
			r.Parameters = nil
		}
		if len(r.RequestModels) == 0 {
			r.RequestModels = nil
		}
		if len(r.Responses) == 0 {
			r.Responses = nil
		}
		for k, mr := range r.Responses {
			sort.Strings(mr.Headers)
			if len(mr.Headers) == 0 {
				mr.Headers = nil
			}
			mr.RequiredHeaders = slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(mr.RequiredHeaders))),
				func(h string) bool { return !slices.Contains(mr.Headers, h) })
			if len(mr.RequiredHeaders) == 0 {
				mr.RequiredHeaders = nil
			}
			if len(mr.Models) == 0 {
				mr.Models = nil
			}
			mr.Extensions = normRawMap(mr.Extensions)
			r.Responses[k] = mr
		}
		r.Extensions = normRawMap(r.Extensions)
		r.ResponsesExtensions = normRawMap(r.ResponsesExtensions)
		r.RequestBodyExtensions = normRawMap(r.RequestBodyExtensions)
		for i := range r.Parameters {
			r.Parameters[i].Extensions = normRawMap(r.Parameters[i].Extensions)
		}
		if r.APIKeyRequired && !r.namesScheme(d.Authorizers, isAPIKeyScheme) {
			// An API key requirement shows in OpenAPI as a security requirement
			// on an apiKey scheme: add the standard one so that exports keep it.
			if d.Authorizers == nil {
				d.Authorizers = map[string]json.RawMessage{}
			}
			if _, ok := d.Authorizers["api_key"]; !ok {
				d.Authorizers["api_key"] = json.RawMessage(`{"in":"header","name":"x-api-key","type":"apiKey"}`)
			}
			r.Security = append(r.Security, map[string][]string{"api_key": {}})
		}
		if in := r.Integration; in != nil {
			in.Type = strings.ToUpper(in.Type)
			in.HTTPMethod = strings.ToUpper(in.HTTPMethod)
			in.PassthroughBehavior = strings.ToUpper(in.PassthroughBehavior)
			if len(in.RequestParameters) == 0 {
				in.RequestParameters = nil
			}
			if len(in.RequestTemplates) == 0 {
				in.RequestTemplates = nil
			}
			for code, m := range in.ResponseParameters {
				if len(m) == 0 {
					delete(in.ResponseParameters, code)
				}
			}
			if len(in.ResponseParameters) == 0 {
				in.ResponseParameters = nil
			}
			if len(in.Responses) == 0 {
				in.Responses = nil
			}
			for k, ir := range in.Responses {
				if len(ir.ResponseTemplates) == 0 {
					ir.ResponseTemplates = nil
				}
				if len(ir.ResponseParameters) == 0 {
					ir.ResponseParameters = nil
				}
				ir.Extensions = normRawMap(ir.Extensions)
				in.Responses[k] = ir
			}
			if len(in.CacheKeyParameters) == 0 {
				in.CacheKeyParameters = nil
			}
			in.TLSConfig = normRaw(in.TLSConfig)
			in.Extensions = normRawMap(in.Extensions)
		}
	}
	a.assignRouteIDs()
	sort.SliceStable(d.Routes, func(i, j int) bool {
		ri, rj := d.Routes[i], d.Routes[j]
		if ri.Path != rj.Path {
			return ri.Path < rj.Path
		}
		if ri.Method != rj.Method {
			return ri.Method < rj.Method
		}
		return ri.RouteKey < rj.RouteKey
	})
	if d.Routes == nil {
		d.Routes = []Route{}
	}
	if len(d.BinaryMediaTypes) == 0 {
		d.BinaryMediaTypes = nil
	}
	if len(d.RequestValidators) == 0 {
		d.RequestValidators = nil
	}
	if a.Protocol == ProtocolHTTP {
		for name, raw := range d.Authorizers {
			d.Authorizers[name] = defaultPayloadFormatVersion(raw)
		}
	}
	d.Authorizers = normRawMap(d.Authorizers)
	d.Models = normRawMap(d.Models)
	d.normModelTexts()
	for name := range d.ModelDescriptions {
		if _, ok := d.Models[name]; !ok {
			delete(d.ModelDescriptions, name)
		}
	}
	if len(d.ModelDescriptions) == 0 {
		d.ModelDescriptions = nil
	}
	// A resource policy that does not parse is kept as written, so that
	// Validate refuses it: re-encoding it would keep the last value of a name
	// given twice and hide what is wrong with it.
	rawPolicy, keepPolicy := d.Extensions[ExtPolicy]
	if keepPolicy {
		_, err := parseResourcePolicy(rawPolicy)
		keepPolicy = err != nil
	}
	d.Extensions = normRawMap(d.Extensions)
	if keepPolicy {
		d.Extensions[ExtPolicy] = rawPolicy
	}
	d.InfoExtensions = normRawMap(d.InfoExtensions)
	d.ComponentsExtensions = normRawMap(d.ComponentsExtensions)
	d.PathsExtensions = normRawMap(d.PathsExtensions)
	for p, m := range d.PathItemExtensions {
		if d.PathItemExtensions[p] = normRawMap(m); d.PathItemExtensions[p] == nil {
			delete(d.PathItemExtensions, p)
		}
	}
	if len(d.PathItemExtensions) == 0 {
		d.PathItemExtensions = nil
	}
	if a.Protocol == ProtocolWebSocket && d.RouteSelectionExpression == "" {
		d.RouteSelectionExpression = "$request.body.action"
	}
	a.normalizeResources()
}

// isAPIKeyScheme reports whether a security scheme is a plain API key (an apiKey
// scheme that is not a Lambda or Cognito authorizer).
func isAPIKeyScheme(raw json.RawMessage) bool {
	var s map[string]json.RawMessage
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	var typ string
	_ = json.Unmarshal(s["type"], &typ)
	return typ == "apiKey" && s["x-amazon-apigateway-authorizer"] == nil && s["x-amazon-apigateway-authtype"] == nil
}

// namesScheme reports whether one of r's security requirements names a scheme
// for which pred holds.
func (r *Route) namesScheme(schemes map[string]json.RawMessage, pred func(json.RawMessage) bool) bool {
	for _, req := range r.Security {
		for name := range req {
			if raw, ok := schemes[name]; ok && pred(raw) {
				return true
			}
		}
	}
	return false
}

func normRawMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	for k, v := range m {
		m[k] = normRaw(v)
	}
	return m
}

// storedDefaults gives a stored API (or a deployment's snapshot of one) what
// builds before c2b442e left out and this build writes explicitly: an HTTP
// API's Lambda authorizer without authorizerPayloadFormatVersion ran with
// 2.0, and reads back so, as one imported now is stored. It costs a scan of
// each HTTP API authorizer's JSON. A WebSocket API's binaryMediaTypes, which
// earlier builds stored and the gateway never applied to a WebSocket message
// (Validate now refuses them), are left out: the API loads and reads back as
// it is served, and a later change of it is not refused for them.
func storedDefaults(a *API) {
	if a.Protocol == ProtocolWebSocket {
		a.BinaryMediaTypes = nil
	}
	if a.Protocol != ProtocolHTTP {
		return
	}
	for name, raw := range a.Authorizers {
		if !bytes.Contains(raw, []byte(`"authorizerPayloadFormatVersion"`)) {
			a.Authorizers[name] = defaultPayloadFormatVersion(raw)
		}
	}
}

// defaultPayloadFormatVersion gives an HTTP API's Lambda (request) authorizer
// scheme without authorizerPayloadFormatVersion the version it runs with,
// "2.0", as API Gateway's import defaults it, so that get-authorizers and
// exports show what is enforced. Any other scheme is returned as it is.
func defaultPayloadFormatVersion(raw json.RawMessage) json.RawMessage {
	return editAuthorizer(raw, func(x map[string]any) bool {
		if typ, _ := x["type"].(string); !strings.EqualFold(typ, AuthorizerRequest) {
			return false
		}
		if v, ok := x["authorizerPayloadFormatVersion"]; ok && v != nil && v != "" {
			return false
		}
		x["authorizerPayloadFormatVersion"] = "2.0"
		return true
	})
}

// editAuthorizer returns the security scheme raw with its
// x-amazon-apigateway-authorizer as edit changes it, or raw as it is when
// it has none or edit reports no change. Numbers keep their text.
func editAuthorizer(raw json.RawMessage, edit func(x map[string]any) bool) json.RawMessage {
	var sch map[string]json.RawMessage
	if json.Unmarshal(raw, &sch) != nil {
		return raw
	}
	var x map[string]any
	dec := json.NewDecoder(bytes.NewReader(sch["x-amazon-apigateway-authorizer"]))
	dec.UseNumber()
	if dec.Decode(&x) != nil || x == nil || !edit(x) {
		return raw
	}
	b, err := json.Marshal(x)
	if err != nil {
		return raw
	}
	sch["x-amazon-apigateway-authorizer"] = b
	out, err := json.Marshal(sch)
	if err != nil {
		return raw
	}
	return out
}

// normRaw re-encodes JSON with sorted object keys and no insignificant space.
func normRaw(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// MaxCompressionSize bounds minimumCompressionSize (10 MB), as API Gateway does.
const MaxCompressionSize = 10485760

// Validate checks a whole API: identity, definition, routes and integrations. It
// returns every problem found, joined, each wrapping errdefs.ErrInvalid.
func (a *API) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if a.ID != "" && !ValidAPIID(a.ID) {
		add(invalid("api id %q must be 10 lowercase alphanumerics", truncate(a.ID, 50)))
	}
	if strings.TrimSpace(a.Name) == "" {
		add(invalid("api name is empty"))
	} else if len(a.Name) > MaxName {
		add(invalid("api name is longer than %d characters", MaxName))
	}
	if len(a.Description) > MaxDescription {
		add(invalid("api description is longer than %d characters", MaxDescription))
	}
	switch a.Protocol {
	case ProtocolREST, ProtocolHTTP, ProtocolWebSocket:
	default:
		add(invalid("protocol %q must be REST, HTTP or WEBSOCKET", truncate(a.Protocol, 50)))
		return errors.Join(errs...)
	}
	d := &a.Definition
	if a.Protocol == ProtocolWebSocket {
		if d.RouteSelectionExpression == "" {
			add(invalid("routeSelectionExpression is required for WebSocket APIs (e.g. %s)", routeselect.Default))
		} else if _, err := routeselect.Parse(d.RouteSelectionExpression); err != nil {
			// The same parser the gateway routes messages with: an expression
			// that does not parse is refused here, not discovered per message.
			add(invalid("routeSelectionExpression %q: %v", truncate(d.RouteSelectionExpression, 100), err))
		}
	} else if d.RouteSelectionExpression != "" {
		add(invalid("routeSelectionExpression is for WEBSOCKET APIs only"))
	}
	if n := d.MinimumCompressionSize; n != nil {
		switch {
		case a.Protocol != ProtocolREST:
			add(invalid("minimumCompressionSize is for REST APIs only; %s APIs do not compress payloads", a.Protocol))
		case *n < 0 || *n > MaxCompressionSize:
			add(invalid("minimumCompressionSize %d must be between 0 and %d", *n, MaxCompressionSize))
		}
	}
	if a.Protocol == ProtocolWebSocket && len(d.BinaryMediaTypes) > 0 {
		// apigatewayv2 has no such field, and the gateway does not apply
		// them to WebSocket messages (storedDefaults drops stored ones).
		add(invalid("binaryMediaTypes are for REST APIs; a WebSocket API does not apply them; remove them"))
	}
	if a.Protocol == ProtocolHTTP {
		// REST API settings, which an HTTP API would store and not apply as
		// declared (binary media types would steer a payload 1.0 event's
		// isBase64Encoded, which an HTTP API decides by the body alone): the
		// apigatewayv2 API has no such fields, and an import ignores the
		// extensions with a warning.
		if len(d.BinaryMediaTypes) > 0 {
			add(invalid("binaryMediaTypes are for REST APIs; an HTTP API base64-encodes a body that is not text; remove them"))
		}
		if d.APIKeySource != "" {
			add(invalid("apiKeySource is for REST and WebSocket APIs; HTTP APIs have no API keys; remove it"))
		}
	}
	for _, mt := range d.BinaryMediaTypes {
		if !mediaTypeRe.MatchString(mt) {
			add(invalid("binary media type %q must look like type/subtype (wildcards allowed)", truncate(mt, 100)))
		}
	}
	switch d.APIKeySource {
	case "", "HEADER", "AUTHORIZER":
	default:
		add(invalid("api key source %q must be HEADER or AUTHORIZER", truncate(d.APIKeySource, 50)))
	}
	if d.RequestValidator != "" {
		if _, ok := d.RequestValidators[d.RequestValidator]; !ok {
			add(invalid("request validator %q is not defined in x-amazon-apigateway-request-validators", d.RequestValidator))
		}
	}
	errs = append(errs, a.validateAuth()...)
	errs = append(errs, a.validateIntegrations()...)
	if d.CORS != nil {
		add(d.CORS.validate(a.Protocol))
	}
	if len(d.Models) > MaxModels {
		// Checked here, not where deployments' models are compiled: a
		// stage an older build deployed with more keeps serving.
		add(invalid("api has %d models; at most %d are allowed per API", len(d.Models), MaxModels))
	} else if _, err := CompileModels(a.ID, d.Models); err != nil {
		add(err)
	}
	for _, typ := range slices.Sorted(maps.Keys(d.GatewayResponses)) {
		add(validateGatewayResponse(typ, d.GatewayResponses[typ]))
	}
	if len(d.Routes) > MaxRoutes {
		add(invalid("api has %d routes; at most %d are allowed", len(d.Routes), MaxRoutes))
	}
	seen := map[string]bool{}
	tree := newClashTree()
	// REST APIs allow one variable path part per parent, as API Gateway's
	// resources do; HTTP APIs one {param} and one {proxy+}.
	tree.oneVariable = a.Protocol == ProtocolREST
	for i := range d.Routes {
		r := &d.Routes[i]
		key := r.routeKey(a.Protocol)
		if err := a.validateRoute(r); err != nil {
			add(err)
			continue
		}
		if seen[key] {
			add(invalid("route %q is defined twice", key))
			continue
		}
		seen[key] = true
		if a.Protocol != ProtocolWebSocket && r.Path != RouteDefault {
			segs, _ := ParseTemplate(r.Path)
			add(tree.add(r.Path, segs))
		}
	}
	errs = append(errs, a.validateResources(tree)...)
	return errors.Join(errs...)
}

func (a *API) validateRoute(r *Route) error {
	key := r.routeKey(a.Protocol)
	var errs []error
	switch a.Protocol {
	case ProtocolWebSocket:
		switch {
		case r.RouteKey == RouteConnect, r.RouteKey == RouteDisconnect, r.RouteKey == RouteDefault:
		case strings.HasPrefix(r.RouteKey, "$"):
			errs = append(errs, invalid("route key %q: only $connect, $disconnect and $default may start with $", truncate(r.RouteKey, 100)))
		case !customRouteRe.MatchString(r.RouteKey):
			errs = append(errs, invalid("route key %q must be 1..128 characters without spaces", truncate(r.RouteKey, 140)))
		}
		if r.Method != "" || r.Path != "" {
			errs = append(errs, invalid("route %q: WEBSOCKET routes have a route key, not a method and path", key))
		}
		switch r.RouteResponseSelectionExpression {
		case "", RouteDefault:
		default:
			errs = append(errs, invalid("route %q: routeResponseSelectionExpression must be empty or $default", key))
		}
		if r.APIKeyRequired && r.RouteKey != RouteConnect {
			// The key stage checks keys on the handshake only.
			errs = append(errs, invalid("route %q: WebSocket APIs check API keys on $connect only; apiKeyRequired belongs on $connect", key))
		}
	default:
		if r.Path == RouteDefault {
			if a.Protocol != ProtocolHTTP {
				errs = append(errs, invalid("route $default is for HTTP APIs only"))
			}
		} else if a.Protocol == ProtocolHTTP && r.Path == "/"+RouteDefault {
			// An HTTP API's OpenAPI form (export, and the import that reads
			// it back) writes the $default route as the path /$default: a
			// route of that path would be merged into it.
			errs = append(errs, invalid("route %q: the path /%s is where OpenAPI documents put the $default route, so this route would be taken for it on export and import; use the route key $default for the catch-all route, or another path", truncate(key, 200), RouteDefault))
		} else {
			if !methods[r.Method] {
				errs = append(errs, invalid("route %q: method %q must be one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, ANY", truncate(key, 200), truncate(r.Method, 20)))
			}
			if _, err := ParseTemplate(r.Path); err != nil {
				errs = append(errs, fmt.Errorf("route %q: %w", truncate(key, 200), err))
			} else if err := CheckNewPath(r.Path); err != nil {
				errs = append(errs, fmt.Errorf("route %q: %w", truncate(key, 200), err))
			}
		}
		if r.RouteResponseSelectionExpression != "" {
			errs = append(errs, invalid("route %q: routeResponseSelectionExpression is for WEBSOCKET APIs only", key))
		}
	}
	if r.RequestValidator != "" {
		if _, ok := a.RequestValidators[r.RequestValidator]; !ok {
			errs = append(errs, invalid("route %q: request validator %q is not defined", key, r.RequestValidator))
		}
	}
	for _, p := range r.Parameters {
		switch p.In {
		case "path", "query", "header":
		default:
			errs = append(errs, invalid("route %q: parameter %q: in must be path, query or header", key, p.Name))
		}
		if p.Name == "" {
			errs = append(errs, invalid("route %q: a parameter has no name", key))
		}
	}
	if a.Protocol == ProtocolWebSocket {
		errs = append(errs, r.validateWSRouteParameters()...) // wsparams.go
	}
	for code := range r.Responses {
		if code != "default" && !statusCodeRe.MatchString(code) {
			errs = append(errs, invalid("route %q: response %q is not a status code (100 to 599, or default)", key, truncate(code, 20)))
		}
	}
	if r.Integration != nil {
		// A copy of an integration resource is checked as the resource
		// (validateIntegrations), whose errors are not said twice.
		if _, shared := a.Integrations[r.IntegrationID]; !shared || r.IntegrationID == "" {
			if err := r.Integration.Validate(a.Protocol); err != nil {
				errs = append(errs, fmt.Errorf("route %q: %w", truncate(key, 200), err))
			}
		}
		if a.Protocol == ProtocolWebSocket {
			errs = append(errs, r.validateWSRouteMappings()...)
		}
		if a.Protocol == ProtocolREST {
			if err := r.validateCacheKeys(); err != nil {
				errs = append(errs, fmt.Errorf("route %q: %w", truncate(key, 200), err))
			}
		}
		if a.Protocol == ProtocolHTTP {
			if err := r.checkURIPlaceholders(key); err != nil {
				errs = append(errs, err)
			}
		}
		if r.Integration.Credentials == CallerCredentials {
			// Without a signed caller there are no credentials to invoke with.
			if au, err := a.RouteAuthorizer(r); err == nil && (au == nil || au.Type != AuthorizerIAM) {
				errs = append(errs, invalid("route %q: integration credentials %s (the caller's credentials) need AWS_IAM authorization on the method", truncate(key, 200), CallerCredentials))
			}
		}
	}
	return errors.Join(errs...)
}

// Validate checks an integration for an API of the given protocol.
func (in *Integration) Validate(protocol string) error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	// irName names an integration response in a message as its API's
	// control plane does: a WebSocket API's by its integrationResponseKey
	// ("$default", "/re/"), a REST API's by its pattern.
	irName := func(pattern string) string {
		if protocol == ProtocolWebSocket {
			return strconv.Quote(truncate(WSIntegrationResponseKey(pattern), 100))
		}
		return strconv.Quote(truncate(pattern, 100))
	}
	maxTimeout := MaxTimeoutMillis
	if protocol == ProtocolHTTP {
		maxTimeout = MaxTimeoutMillisHTTP
	}
	if in.TimeoutInMillis != 0 && (in.TimeoutInMillis < MinTimeoutMillis || in.TimeoutInMillis > maxTimeout) {
		add(invalid("timeoutInMillis %d must be between %d and %d", in.TimeoutInMillis, MinTimeoutMillis, maxTimeout))
	}
	if in.HTTPMethod != "" && !methods[in.HTTPMethod] {
		add(invalid("integration httpMethod %q is not an HTTP method", truncate(in.HTTPMethod, 20)))
	}
	switch in.Type {
	case IntegrationMock:
	case IntegrationHTTP, IntegrationHTTPProxy:
		if err := validateHTTPURI(in.URI); err != nil {
			add(err)
		}
	case IntegrationAWSProxy:
		if _, err := FunctionRef(placeholderVars(in.URI)); err != nil {
			add(err)
		}
	case IntegrationAWS:
		switch {
		case in.URI == "":
			add(invalid("integration of type AWS needs a uri"))
		case !NamesFunction(in.URI):
			// Declared but not served, so refused: the gateway calls
			// functions, not DynamoDB, SQS or another service's API.
			add(invalid("integration uri %q: AWS service integrations other than Lambda are not supported: only Lambda ARNs are supported (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations, a function ARN or function:NAME)", truncate(in.URI, 200)))
		}
	default:
		add(invalid("integration type %q must be one of MOCK, HTTP, HTTP_PROXY, AWS, AWS_PROXY", truncate(in.Type, 50)))
	}
	switch in.PayloadFormatVersion {
	case "", "1.0":
	case "2.0":
		if protocol != ProtocolHTTP {
			add(invalid("payloadFormatVersion 2.0 is for HTTP APIs only"))
		} else if in.Type != IntegrationAWSProxy {
			add(invalid("payloadFormatVersion 2.0 is for AWS_PROXY (Lambda) integrations only; an integration of type %s takes 1.0", in.Type))
		}
	default:
		add(invalid("payloadFormatVersion %q must be 1.0 or 2.0", truncate(in.PayloadFormatVersion, 20)))
	}
	switch protocol {
	case ProtocolHTTP:
		errs = append(errs, in.validateHTTPMappings()...)
	default:
		if len(in.ResponseParameters) > 0 {
			add(invalid("responseParameters by status code are for HTTP APIs (REST APIs map responses in their integration responses)"))
		}
		if protocol == ProtocolREST {
			errs = append(errs, in.validateRESTMappings()...)
			// Declared but not applied, so refused: Portico calls the
			// function itself, synchronously; there is no Lambda request
			// whose headers (X-Amz-Invocation-Type, ...) a mapping could set.
			if in.Type == IntegrationAWS && len(in.RequestParameters) > 0 {
				add(invalid("requestParameters are not applied on AWS (Lambda) integrations: Portico invokes the function synchronously with the request template's output, so headers such as X-Amz-Invocation-Type cannot be mapped; remove them (pass request values to the function through the request template)"))
			}
		}
	}
	switch in.PassthroughBehavior {
	case "", "WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER":
	default:
		add(invalid("passthroughBehavior %q must be WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER", truncate(in.PassthroughBehavior, 50)))
	}
	switch in.ContentHandling {
	case "":
	case ContentHandlingToText, ContentHandlingToBinary:
		// What the gateway enforces: both on MOCK, HTTP and AWS integrations of
		// REST APIs; on AWS_PROXY only CONVERT_TO_TEXT, which is what its event
		// does to a binary body (base64 with isBase64Encoded). Elsewhere the
		// setting would be declared and not applied, so it is refused.
		switch {
		case protocol == ProtocolHTTP:
			add(invalid("ContentHandlingStrategy is supported only for WebSocket APIs: an HTTP API passes bodies through as they are (binary ones base64-encoded in the event of an AWS_PROXY integration); remove it"))
		case protocol == ProtocolWebSocket:
			add(invalid("contentHandlingStrategy is not supported on WebSocket integrations yet: Portico passes a message to the integration as the client sent it and would not convert it; remove it (convert the payload in the backend)"))
		case in.Type == IntegrationHTTPProxy:
			add(invalid("contentHandling is not supported on HTTP_PROXY integrations (the body passes through unchanged)"))
		case in.Type == IntegrationAWSProxy && in.ContentHandling != ContentHandlingToText:
			add(invalid("contentHandling %s is not supported on AWS_PROXY integrations (the event is JSON text; binary bodies are base64-encoded, as CONVERT_TO_TEXT does)", in.ContentHandling))
		}
	default:
		add(invalid("contentHandling %q must be CONVERT_TO_BINARY or CONVERT_TO_TEXT", truncate(in.ContentHandling, 50)))
	}
	if protocol == ProtocolWebSocket && (in.Type == IntegrationAWS || in.Type == IntegrationAWSProxy) && in.HTTPMethod != "" && in.HTTPMethod != "POST" {
		// Declared but not applied, so refused: a function is invoked
		// with POST, whatever the integration says.
		add(invalid("integrationMethod %s is not supported on an %s (Lambda) integration: Lambda functions are invoked with POST; use POST", truncate(in.HTTPMethod, 20), in.Type))
	}
	if protocol == ProtocolWebSocket && (in.Type == IntegrationAWSProxy || in.Type == IntegrationHTTPProxy) {
		// Declared but not applied, so refused (as contentHandling above):
		// a MOCK, an HTTP and an AWS integration render their templates on
		// a WebSocket route (ws_mock.go, ws_function.go); to the proxies a
		// message goes as the client sent it, and a two-way route sends
		// their answer as it is.
		if len(in.RequestTemplates) > 0 {
			add(invalid("requestTemplates are applied on WebSocket MOCK, HTTP and AWS integrations only (to a %s integration a message goes as the client sent it); remove them", in.Type))
		}
		// What selects and guards templates, where there are none: a
		// \$default expression and the passthrough behaviours that pass a
		// message without templates through are what a proxy does.
		if e := in.TemplateSelectionExpression; e != "" && e != RouteDefault && e != `\$default` {
			add(invalid("templateSelectionExpression %q is applied on WebSocket MOCK, HTTP and AWS integrations only (a %s integration has no request templates to select: a message goes as the client sent it); remove it", truncate(e, 100), in.Type))
		}
		if in.PassthroughBehavior == "NEVER" {
			add(invalid("passthroughBehavior NEVER is applied on WebSocket MOCK, HTTP and AWS integrations only (a %s integration passes every message through, having no request templates); remove it", in.Type))
		}
		for _, pattern := range slices.Sorted(maps.Keys(in.Responses)) {
			if len(in.Responses[pattern].ResponseTemplates) > 0 {
				add(invalid("integration response %s: responseTemplates are applied on WebSocket MOCK, HTTP and AWS integrations only (a two-way route sends a %s integration's answer as it is); remove them", irName(pattern), in.Type))
			}
		}
	}
	if protocol == ProtocolWebSocket {
		errs = append(errs, in.validateWSMappings()...) // wsparams.go
		if e := in.TemplateSelectionExpression; e != "" && e != RouteDefault && e != `\$default` {
			if _, err := routeselect.Parse(e); err != nil {
				add(invalid("templateSelectionExpression %q: use \\$default or $request.body.<member>[.<member>...] (or ${...} variables among static text), which selects the request template keyed as its value", truncate(e, 100)))
			}
		}
	}
	for _, pattern := range slices.Sorted(maps.Keys(in.Responses)) {
		ir := in.Responses[pattern]
		if protocol != ProtocolWebSocket {
			if ir.TemplateSelectionExpression != "" {
				add(invalid("integration response %s: templateSelectionExpression is supported only for WebSocket APIs (a REST API selects response templates by content type)", irName(pattern)))
			}
			continue
		}
		if ir.ContentHandling != "" {
			add(invalid("integration response %s: contentHandlingStrategy is not supported on WebSocket integration responses yet: Portico sends the answer as it is and would not convert it; remove it", irName(pattern)))
		}
		if len(ir.ResponseParameters) > 0 {
			// Declared but not applied, so refused: the answer of a
			// two-way route is a message, which has no headers.
			add(invalid("integration response %s: responseParameters are not applied on WebSocket integration responses (a route's answer is a message, without headers); remove them", irName(pattern)))
		}
		if _, _, ok := WSResponseTemplateSelection(ir.TemplateSelectionExpression); !ok {
			add(invalid("integration response %s: templateSelectionExpression %q is not supported: %s", irName(pattern), truncate(ir.TemplateSelectionExpression, 100), wsResponseSelections))
		}
	}
	for _, ct := range slices.Sorted(maps.Keys(in.RequestTemplates)) {
		if err := checkTemplate(ct, in.RequestTemplates[ct]); err != nil {
			add(invalid("request template %v", templateError(err)))
		}
	}
	if _, def := in.Responses["default"]; def {
		if _, empty := in.Responses[""]; empty {
			add(invalid(`integration responses "default" and "" both name the default response (an empty selectionPattern is the default); keep one`))
		}
	}
	for _, pattern := range slices.Sorted(maps.Keys(in.Responses)) {
		resp := in.Responses[pattern]
		if pattern != "default" {
			if _, err := javaregex.CompileWhole(pattern); err != nil {
				reason := err.Error()
				if se, ok := errors.AsType[*javaregex.SyntaxError](err); ok {
					reason = se.Reason
				}
				add(invalid("integration response pattern %q is not a regular expression: %s", truncate(pattern, 100), reason))
			}
		}
		for _, ct := range slices.Sorted(maps.Keys(resp.ResponseTemplates)) {
			if err := checkTemplate(ct, resp.ResponseTemplates[ct]); err != nil {
				add(invalid("integration response %s: response template %v", irName(pattern), templateError(err)))
			}
		}
		switch resp.ContentHandling {
		case "", ContentHandlingToText, ContentHandlingToBinary:
		default:
			add(invalid("integration response %s: contentHandling %q must be CONVERT_TO_BINARY or CONVERT_TO_TEXT", irName(pattern), truncate(resp.ContentHandling, 50)))
		}
		if !finalStatusRe.MatchString(resp.StatusCode) {
			add(invalid("integration response %s: statusCode %q must be an HTTP status code from 200 to 599", irName(pattern), truncate(resp.StatusCode, 20)))
		}
	}
	// Declared but not enforceable, so refused (the same words on every path:
	// import, both control planes and SAM deploy): a role API Gateway would
	// assume restricts what the integration may call, and Portico assumes no
	// role; a VPC link reaches a private network Portico has no link to.
	switch {
	case in.Credentials == "":
	case in.Credentials == CallerCredentials && protocol == ProtocolREST && (in.Type == IntegrationAWSProxy || in.Type == IntegrationAWS):
		// The caller's own credentials: the auth stage checks that the
		// caller may lambda:InvokeFunction (validateRoute requires AWS_IAM).
	default:
		add(invalid("credentials %q is not supported: Portico calls integrations without assuming an IAM role, so the role could not limit what the integration calls; remove credentials (REST APIs accept %s, the caller's credentials, on AWS_IAM methods that call a function)", truncate(in.Credentials, 200), CallerCredentials))
	}
	if len(in.TLSConfig) > 0 {
		add(in.validateTLSConfig())
	}
	switch in.ConnectionType {
	case "", ConnectionInternet:
		if in.ConnectionID != "" {
			add(invalid("connectionId is only for connectionType VPC_LINK, which is not supported"))
		}
	case ConnectionVPCLink:
		add(invalid("connectionType VPC_LINK is not supported: Portico has no VPC links; integrate the backend's own address with connectionType INTERNET"))
	default:
		add(invalid("connectionType %q must be INTERNET or VPC_LINK", truncate(in.ConnectionType, 50)))
	}
	for _, m := range stageVarRefRe.FindAllStringSubmatch(in.URI, -1) {
		if !varNameRe.MatchString(m[1]) {
			add(invalid("uri refers to stage variable %q, which is not a valid name", truncate(m[1], 80)))
		}
	}
	return errors.Join(errs...)
}

// validateTLSConfig checks tlsConfig: Portico always verifies an HTTPS
// backend's certificate against the uri's host name, so only
// insecureSkipVerification false is accepted; skipping the check, or
// serverNameToVerify (for private integrations), would be declared and not
// applied.
func (in *Integration) validateTLSConfig() error {
	var tc struct {
		InsecureSkipVerification bool   `json:"insecureSkipVerification"`
		ServerNameToVerify       string `json:"serverNameToVerify"`
	}
	dec := json.NewDecoder(bytes.NewReader(in.TLSConfig))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return invalid("%v", JSONValueError("tlsConfig", in.TLSConfig, err))
	}
	if tc.InsecureSkipVerification {
		return invalid("tlsConfig: insecureSkipVerification true is not supported: Portico always verifies the backend's certificate; give the backend one the server trusts")
	}
	if tc.ServerNameToVerify != "" {
		return invalid("tlsConfig: serverNameToVerify is for private integrations (VPC links), which are not supported; Portico verifies the uri's host name")
	}
	return nil
}

func validateHTTPURI(raw string) error {
	if raw == "" {
		return invalid("an HTTP integration needs a uri")
	}
	shape := raw
	if loc := stageVarRefRe.FindStringIndex(shape); loc != nil && loc[0] == 0 {
		// The variable holds the scheme and host: only the rest can be checked now.
		shape = "http://x" + shape[loc[1]:]
	}
	u, err := url.Parse(placeholderVars(shape))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("integration uri %q must be an absolute http or https URL", truncate(raw, 200))
	}
	return nil
}

// checkURIPlaceholders refuses an HTTP API route whose HTTP_PROXY integration
// URI has a {name} (or {name+}) that names no path parameter of the route:
// the gateway substitutes only the route's own parameters, so the backend
// would get the placeholder's text (/%7Bproxy%7D). An integration shared by
// several routes is checked against each of them.
func (r *Route) checkURIPlaceholders(key string) error {
	in := r.Integration
	if in == nil || in.Type != IntegrationHTTPProxy || !strings.Contains(in.URI, "{") {
		return nil
	}
	have := map[string]bool{}
	if r.Path != RouteDefault {
		segs, err := ParseTemplate(r.Path)
		if err != nil {
			return nil // said by validateRoute
		}
		for _, sg := range segs {
			if sg.Kind != SegLiteral {
				have[sg.Value] = true
			}
		}
	}
	var missing []string
	rest := placeholderVars(in.URI)
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		name := strings.TrimSuffix(rest[i+1:i+j], "+")
		if !have[name] && !slices.Contains(missing, "{"+name+"}") {
			missing = append(missing, "{"+name+"}")
		}
		rest = rest[i+j+1:]
	}
	if len(missing) == 0 {
		return nil
	}
	params := "it has no path parameters"
	if len(have) > 0 {
		params = "its path parameters are " + strings.Join(slices.Sorted(maps.Keys(have)), ", ")
	}
	return invalid("route %q: integration uri %q names %s, but route %q has no such path parameter (%s), so the backend would get the text %s; give the route the parameter (e.g. ANY /{proxy+} for {proxy}) or use an integration whose uri does not name it",
		truncate(key, 200), truncate(in.URI, 200), strings.Join(missing, ", "), truncate(key, 200), params, missing[0])
}

// placeholderVars replaces each ${stageVariables.X} with "x" so that a URI's shape
// can be checked before the variables are known.
func placeholderVars(s string) string {
	return stageVarRefRe.ReplaceAllString(s, "x")
}

// ErrMissingStageVariable is wrapped by SubstituteStageVariables when a URI names a
// variable the stage does not define.
var ErrMissingStageVariable = errors.New("missing stage variable")

// SubstituteStageVariables replaces every ${stageVariables.NAME} in s. A reference
// to a variable that vars does not hold is an error wrapping
// ErrMissingStageVariable, never an empty string.
func SubstituteStageVariables(s string, vars map[string]string) (string, error) {
	if !strings.Contains(s, "${stageVariables.") {
		return s, nil
	}
	var missing []string
	out := stageVarRefRe.ReplaceAllStringFunc(s, func(m string) string {
		name := m[len("${stageVariables.") : len(m)-1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%q refers to stage variable(s) %s that the stage does not define: %w", s, strings.Join(missing, ", "), ErrMissingStageVariable)
	}
	return out, nil
}

// FunctionRef extracts the function name (NAME, NAME:QUALIFIER or a function ARN)
// from an AWS_PROXY integration URI in any of the three accepted forms:
//
//	arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
//	arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations
//	function:NAME[:QUALIFIER]
func FunctionRef(uri string) (functions.Ref, error) {
	s := uri
	switch {
	case strings.HasPrefix(s, "function:"):
		s = strings.TrimPrefix(s, "function:")
	case strings.HasPrefix(s, "arn:aws:apigateway:"):
		const marker = ":lambda:path/2015-03-31/functions/"
		i := strings.Index(s, marker)
		if i < 0 || !strings.HasSuffix(s, "/invocations") {
			return functions.Ref{}, invalid("integration uri %q is not a Lambda invocation ARN (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations)", truncate(uri, 200))
		}
		s = strings.TrimSuffix(s[i+len(marker):], "/invocations")
		if p, err := url.PathUnescape(s); err == nil {
			s = p
		}
	case strings.HasPrefix(s, "arn:"):
	default:
		return functions.Ref{}, invalid("integration uri %q must be function:NAME[:QUALIFIER], a Lambda function ARN or a Lambda invocation ARN", truncate(uri, 200))
	}
	ref, err := functions.ParseRef(s)
	if err != nil {
		return functions.Ref{}, fmt.Errorf("integration uri %q: %w", truncate(uri, 200), err)
	}
	return ref, nil
}

// NamesFunction reports whether uri names a Lambda function in a form
// FunctionRef accepts, stage variable references standing for any value:
// whether an AWS integration of that uri calls a function.
func NamesFunction(uri string) bool {
	_, err := FunctionRef(placeholderVars(uri))
	return err == nil
}

// ValidateVariables checks stage variables against API Gateway's limits.
func ValidateVariables(vars map[string]string) error {
	var errs []error
	if len(vars) > MaxStageVariables {
		errs = append(errs, invalid("a stage has at most %d variables, got %d", MaxStageVariables, len(vars)))
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !varNameRe.MatchString(k) {
			errs = append(errs, invalid("stage variable name %q must match [A-Za-z0-9_]{1,64}", truncate(k, 80)))
		}
		if n := len([]rune(vars[k])); n > MaxStageVarValue {
			errs = append(errs, invalid("stage variable %q is %d characters; at most %d are allowed", k, n, MaxStageVarValue))
		}
	}
	return errors.Join(errs...)
}

// varValueChars are the characters API Gateway allows in a stage variable's
// value: [A-Za-z0-9-._~:/?#&=,].
const varValueChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#&=,"

// ValidateVariableValues checks stage variable values being written (set), as
// API Gateway does: one or more of [A-Za-z0-9-._~:/?#&=,] (a
// BadRequestException otherwise), so an empty value (or a JSON null, which
// decodes to one) is refused. It is for new writes only: values already
// stored, which earlier versions took empty or with any character, load and
// serve as they are, and a change that keeps them is not refused for them.
func ValidateVariableValues(set map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(set)) {
		v := set[k]
		if v == "" {
			errs = append(errs, invalid("stage variable %q has an empty (or null) value; a stage variable value needs at least one character (letters, digits and -._~:/?#&=,): give one, or leave the variable out to have none", truncate(k, 80)))
			continue
		}
		if i := strings.IndexFunc(v, func(r rune) bool { return !strings.ContainsRune(varValueChars, r) }); i >= 0 {
			r, _ := utf8.DecodeRuneInString(v[i:])
			errs = append(errs, invalid("stage variable %q: its value holds %q; a stage variable value may hold only letters, digits and -._~:/?#&=,", truncate(k, 80), r))
		}
	}
	return errors.Join(errs...)
}

// clashTree finds routes whose paths cannot coexist: two different parameter names
// (or greedy names) at the same position under the same parent, as API Gateway
// refuses ("only one variable path part is allowed among siblings"). With
// oneVariable (REST APIs), a {param} and a {proxy+} cannot be siblings either.
type clashTree struct {
	children    map[string]*clashTree
	param       string
	greedy      string
	origin      map[string]string // param/greedy name -> path that declared it
	oneVariable bool
}

func newClashTree() *clashTree {
	return &clashTree{children: map[string]*clashTree{}, origin: map[string]string{}}
}

func (t *clashTree) child(key string) *clashTree {
	c := t.children[key]
	if c == nil {
		c = newClashTree()
		c.oneVariable = t.oneVariable
		t.children[key] = c
	}
	return c
}

func (t *clashTree) add(path string, segs []Segment) error {
	n := t
	for _, s := range segs {
		switch s.Kind {
		case SegLiteral:
			n = n.child("l:" + s.Value)
		case SegParam, SegGreedy:
			slot, prefix, other, otherPrefix := &n.param, "p:", n.greedy, "g:"
			part, otherPart := "{"+s.Value+"}", "{"+n.greedy+"+}"
			if s.Kind == SegGreedy {
				slot, prefix, other, otherPrefix = &n.greedy, "g:", n.param, "p:"
				part, otherPart = "{"+s.Value+"+}", "{"+n.param+"}"
			}
			if n.oneVariable && other != "" {
				return invalid("route path %q clashes with %q: %s and %s are siblings; a sibling (%s) of this resource already has a variable path part -- only one is allowed", path, n.origin[otherPrefix+other], part, otherPart, otherPart)
			}
			if *slot != "" && *slot != s.Value {
				return invalid("route path %q clashes with %q: {%s} and {%s} at the same position; only one parameter name is allowed there", path, n.origin[prefix+*slot], *slot, s.Value)
			}
			if *slot == "" {
				*slot = s.Value
				n.origin[prefix+s.Value] = path
			}
			n = n.child(prefix + s.Value)
		}
	}
	return nil
}

// ValidateStatus reports whether s is an HTTP status code from 100 to 599.
func ValidateStatus(s string) (int, bool) {
	// statusCodeRe, without the regexp machinery (this runs per request).
	if len(s) != 3 || s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0'), true
}

// templateError describes a template that does not parse, with its line and column.
// checkTemplate parses a template being saved, and refuses one that calls
// $input.json or $input.path with a literal JSONPath that does not compile,
// which could only fail its requests.
func checkTemplate(ct, src string) error {
	t, err := mapping.Parse(ct, src)
	if err != nil {
		return err
	}
	return t.CheckPaths()
}

func templateError(err error) string {
	var se *mapping.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%q does not parse: line %d, column %d: %s", se.Template, se.Line, se.Column, se.Msg)
	}
	return err.Error()
}

// validateGatewayResponse checks one gateway response: a known type, a status,
// header mappings the gateway can resolve and templates that parse.
func validateGatewayResponse(typ string, gr GatewayResponse) error {
	var errs []error
	if !slices.Contains(GatewayResponseTypes, typ) {
		errs = append(errs, invalid("gateway response type %q is not one of API Gateway's response types", truncate(typ, 60)))
	}
	if gr.StatusCode != "" && !finalStatusRe.MatchString(gr.StatusCode) {
		errs = append(errs, invalid("gateway response %s: statusCode %q must be an HTTP status code from 200 to 599", typ, truncate(gr.StatusCode, 20)))
	}
	for _, k := range slices.Sorted(maps.Keys(gr.ResponseParameters)) {
		v := gr.ResponseParameters[k]
		if !strings.HasPrefix(k, "gatewayresponse.header.") || len(k) == len("gatewayresponse.header.") {
			errs = append(errs, invalid("gateway response %s: parameter %q must be gatewayresponse.header.NAME", typ, truncate(k, 100)))
		} else if name := k[len("gatewayresponse.header."):]; !httpguts.ValidHeaderFieldName(name) {
			errs = append(errs, invalid("gateway response %s: parameter %q: %q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~; no spaces, colons or control characters such as CR and LF)", typ, truncate(k, 100), truncate(name, 60)))
		}
		if !validGatewayParamSource(v) {
			errs = append(errs, invalid("gateway response %s: parameter %q: %q must be a 'literal', method.request.header|querystring|path.NAME, stageVariables.NAME or context.NAME", typ, truncate(k, 100), truncate(v, 100)))
		}
	}
	for _, ct := range slices.Sorted(maps.Keys(gr.ResponseTemplates)) {
		if err := checkTemplate(ct, gr.ResponseTemplates[ct]); err != nil {
			errs = append(errs, invalid("gateway response %s: template %v", typ, templateError(err)))
		}
	}
	return errors.Join(errs...)
}

func validGatewayParamSource(v string) bool {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return true
	}
	for _, p := range []string{"method.request.header.", "method.request.querystring.", "method.request.multivaluequerystring.",
		"method.request.path.", "stageVariables.", "context."} {
		if strings.HasPrefix(v, p) && len(v) > len(p) {
			return true
		}
	}
	return false
}

// IsSchemeWildcardOrigin reports whether the lower-case CORS origin o is
// https://* or http://*, which API Gateway takes for any origin that begins
// with https:// or http://. These and * are its only wildcard origins.
func IsSchemeWildcardOrigin(o string) bool {
	return o == "https://*" || o == "http://*"
}

// plainOrigin reports whether u, a parsed origin with a scheme and a host,
// holds nothing else a browser's Origin cannot: no user information, query
// or fragment, and a port, if any, in 1..65535.
func plainOrigin(u *url.URL) bool {
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Hostname() == "" {
		return false
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		return err == nil && n >= 1 && n <= 65535
	}
	return !strings.HasSuffix(u.Host, ":")
}

// validate checks a CORS configuration (HTTP APIs only).
func (c *CORSConfiguration) validate(protocol string) error {
	var errs []error
	if protocol != ProtocolHTTP {
		errs = append(errs, invalid("corsConfiguration is for HTTP APIs; REST APIs answer preflights with an OPTIONS method"))
	}
	for _, o := range c.AllowOrigins {
		// *, https://* and http://* match every host: with credentials any
		// site could read a signed-in user's answers.
		if o == "*" || IsSchemeWildcardOrigin(strings.ToLower(o)) {
			if c.AllowCredentials {
				errs = append(errs, invalid("corsConfiguration: allowCredentials cannot be used with the origin %s", o))
			}
			continue
		}
		if strings.Contains(o, "*") {
			errs = append(errs, invalid("corsConfiguration: origin %q: the wildcard origins are * (any origin), https://* and http://* "+
				"(any origin that begins with https:// or http://); list other origins one by one as scheme://host[:port]", truncate(o, 100)))
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") || !plainOrigin(u) {
			errs = append(errs, invalid("corsConfiguration: origin %q must be *, https://*, http://* or scheme://host[:port]", truncate(o, 100)))
		}
	}
	for _, m := range c.AllowMethods {
		if m != "*" && !methods[strings.ToUpper(m)] {
			errs = append(errs, invalid("corsConfiguration: method %q is not an HTTP method", truncate(m, 20)))
		}
	}
	if c.MaxAge != nil && (*c.MaxAge < -1 || *c.MaxAge > 86400) {
		errs = append(errs, invalid("corsConfiguration: maxAge %d must be between -1 and 86400", *c.MaxAge))
	}
	return errors.Join(errs...)
}
