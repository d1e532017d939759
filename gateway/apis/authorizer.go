package apis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/auth/policy"
)

// Authorizer types Portico enforces.
const (
	AuthorizerToken   = "TOKEN"
	AuthorizerRequest = "REQUEST"
	AuthorizerJWT     = "JWT"
	// AuthorizerIAM is IAM authorization (AWS_IAM): SigV4-signed requests
	// checked against IAM principals and their policies.
	AuthorizerIAM = "AWS_IAM"
)

// Extensions that declare access control.
const (
	// ExtPolicy is a REST API's resource policy.
	ExtPolicy = "x-amazon-apigateway-policy"
	// ExtAuth is an operation's x-amazon-apigateway-auth ({"type": "AWS_IAM"}
	// or "NONE").
	ExtAuth = "x-amazon-apigateway-auth"
)

// Authorizer result TTLs: the default, and the most an authorizer may ask.
const (
	DefaultAuthorizerTTL = 300
	MaxAuthorizerTTL     = 3600
)

// MaxIdentityValue bounds one identity source value (API Gateway's header
// values total at most 10,240 bytes).
const MaxIdentityValue = 10240

// Authorizer is a Lambda authorizer, as declared by an OpenAPI security scheme
// with x-amazon-apigateway-authtype "custom" and x-amazon-apigateway-authorizer.
type Authorizer struct {
	// Name is the security scheme's name.
	Name string
	// Type is TOKEN or REQUEST.
	Type string
	// URI names the function (any form FunctionRef accepts; it may hold
	// ${stageVariables.NAME}).
	URI string
	// IdentitySource lists the sources: method.request.header.X,
	// method.request.querystring.Y, stageVariables.Z, context.W.
	IdentitySource []string
	// ValidationExpression, for TOKEN, is a regular expression the token must
	// match (else 401 without calling the function).
	ValidationExpression *regexp.Regexp
	// TTL is the result cache's time to live in seconds (0 turns it off).
	TTL int
	// PayloadFormatVersion is "1.0" or "2.0" (HTTP APIs; REST and WebSocket
	// authorizers take 1.0 events).
	PayloadFormatVersion string
	// SimpleResponses says an HTTP API authorizer answers {"isAuthorized",
	// "context"} instead of a policy (payload 2.0 only).
	SimpleResponses bool
	// Issuer and Audience configure a JWT authorizer (jwtConfiguration); a
	// token's iss must equal Issuer exactly, a trailing slash included.
	Issuer   string
	Audience []string
}

// authorizerDoc is x-amazon-apigateway-authorizer.
type authorizerDoc struct {
	Type                         string          `json:"type"`
	AuthorizerURI                string          `json:"authorizerUri"`
	IdentitySource               string          `json:"identitySource"`
	IdentityValidationExpression string          `json:"identityValidationExpression"`
	AuthorizerResultTTLInSeconds *int            `json:"authorizerResultTtlInSeconds"`
	JWTConfiguration             json.RawMessage `json:"jwtConfiguration"`
	PayloadFormatVersion         string          `json:"authorizerPayloadFormatVersion"`
	EnableSimpleResponses        bool            `json:"enableSimpleResponses"`
	// AuthorizerCredentials (a role API Gateway would assume to invoke the
	// function) and ProviderARNs (Cognito) are read only to be refused.
	AuthorizerCredentials string   `json:"authorizerCredentials"`
	ProviderARNs          []string `json:"providerARNs"`
}

// TokenIdentitySource is the identity source of a token authorizer whose
// x-amazon-apigateway-authorizer names none, as API Gateway's import reads
// it: the header its security scheme names (in: header, name: X-My-Token),
// else Authorization.
func TokenIdentitySource(in, name string) string {
	if strings.EqualFold(in, "header") && strings.TrimSpace(name) != "" {
		return "method.request.header." + strings.TrimSpace(name)
	}
	return "method.request.header.Authorization"
}

// schemeDoc is the part of a security scheme that says what it is.
type schemeDoc struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	In         string          `json:"in"`
	AuthType   string          `json:"x-amazon-apigateway-authtype"`
	Authorizer json.RawMessage `json:"x-amazon-apigateway-authorizer"`
}

// ParseAuthorizer reads the security scheme name as a Lambda authorizer. It
// returns nil and no error for a plain API key scheme, and an error for anything
// Portico does not enforce (a scheme that is declared but not enforced would let
// every request through).
func ParseAuthorizer(protocol, name string, raw json.RawMessage) (*Authorizer, error) {
	var s schemeDoc
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, invalid("%v", JSONValueError(fmt.Sprintf("security scheme %q", name), raw, err))
	}
	if s.Authorizer == nil {
		switch {
		case strings.EqualFold(s.AuthType, "awsSigv4"):
			return &Authorizer{Name: name, Type: AuthorizerIAM}, nil
		case s.AuthType != "":
			return nil, invalid("security scheme %q: x-amazon-apigateway-authtype %q without x-amazon-apigateway-authorizer is not supported", name, truncate(s.AuthType, 50))
		case s.Type == "apiKey":
			return nil, nil
		}
		if protocol == ProtocolHTTP {
			// HTTP APIs drop API keys: the way out is the JWT authorizer.
			return nil, invalid("security scheme %q of type %q is not enforced: for bearer tokens (JWT) add x-amazon-apigateway-authorizer {type: jwt, identitySource, jwtConfiguration {issuer, audience}} to an oauth2 scheme, or {type: request, ...} for a Lambda authorizer; HTTP APIs have no API keys", name, truncate(s.Type, 50))
		}
		return nil, invalid("security scheme %q of type %q is not supported: Portico enforces API keys (type apiKey) and Lambda authorizers (x-amazon-apigateway-authorizer)", name, truncate(s.Type, 50))
	}
	var d authorizerDoc
	dec := json.NewDecoder(bytes.NewReader(s.Authorizer))
	dec.DisallowUnknownFields() // a misspelt field would be declared and not applied
	if err := dec.Decode(&d); err != nil {
		return nil, invalid("security scheme %q: %v", name, JSONValueError("x-amazon-apigateway-authorizer", s.Authorizer, err))
	}
	typ := strings.ToUpper(d.Type)
	if d.AuthorizerCredentials != "" {
		return nil, invalid("security scheme %q: authorizerCredentials %q is not supported: Portico invokes authorizer functions without assuming an IAM role, so the role could not limit which function runs; remove authorizerCredentials", name, truncate(d.AuthorizerCredentials, 200))
	}
	if typ == "" {
		return nil, invalid("security scheme %q: x-amazon-apigateway-authorizer needs a type: token or request (a Lambda authorizer), or jwt", name)
	}
	if at := strings.ToLower(s.AuthType); (strings.HasPrefix(at, "aws") || at == "cognito_user_pools") &&
		(typ == AuthorizerJWT || typ == AuthorizerToken || typ == AuthorizerRequest) {
		// The scheme asks for IAM (API Gateway reserves every aws* term) or
		// Cognito on top of the authorizer; enforcing the authorizer alone
		// would drop the declared check without a word.
		return nil, invalid("security scheme %q: x-amazon-apigateway-authtype %q next to a %s x-amazon-apigateway-authorizer asks for two checks, "+
			"and API Gateway takes one authorizer per method: declare IAM in its own scheme (x-amazon-apigateway-authtype: awsSigv4, no authorizer) "+
			"and pick one scheme per operation, or set x-amazon-apigateway-authtype to custom", name, truncate(s.AuthType, 50), strings.ToLower(typ))
	}
	if typ == AuthorizerJWT {
		a, err := parseJWTAuthorizer(protocol, name, d)
		if err == nil {
			// Read so that validateAuth can refuse it: a JWT authorizer never applies it.
			a.ValidationExpression, err = validationExpression(name, d)
		}
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	if typ != AuthorizerToken && typ != AuthorizerRequest {
		return nil, invalid("security scheme %q: %s authorizers are not supported yet; Portico refuses them rather than let requests through unchecked (supported: token and request Lambda authorizers)", name, truncate(strings.ToLower(d.Type), 50))
	}
	if typ == AuthorizerToken && protocol != ProtocolREST {
		return nil, invalid("security scheme %q: token authorizers are for REST APIs; use a request authorizer", name)
	}
	a := &Authorizer{Name: name, Type: typ, URI: d.AuthorizerURI, TTL: DefaultAuthorizerTTL, PayloadFormatVersion: "1.0"}
	if protocol != ProtocolHTTP && (d.EnableSimpleResponses || (d.PayloadFormatVersion != "" && d.PayloadFormatVersion != "1.0")) {
		// REST and WebSocket authorizers always answer an IAM policy on the
		// 1.0 payload; these fields would be declared and not applied.
		return nil, invalid("security scheme %q: enableSimpleResponses and authorizerPayloadFormatVersion 2.0 are for HTTP API authorizers; a %s API's authorizer answers an IAM policy (remove them)", name, protocol)
	}
	if protocol == ProtocolHTTP {
		a.PayloadFormatVersion = d.PayloadFormatVersion
		if a.PayloadFormatVersion == "" {
			a.PayloadFormatVersion = "2.0"
		}
		if a.PayloadFormatVersion != "1.0" && a.PayloadFormatVersion != "2.0" {
			return nil, invalid("security scheme %q: authorizerPayloadFormatVersion %q must be 1.0 or 2.0", name, truncate(d.PayloadFormatVersion, 20))
		}
		a.SimpleResponses = d.EnableSimpleResponses
		if a.SimpleResponses && a.PayloadFormatVersion != "2.0" {
			return nil, invalid("security scheme %q: enableSimpleResponses needs authorizerPayloadFormatVersion 2.0", name)
		}
	}
	if d.AuthorizerResultTTLInSeconds != nil {
		a.TTL = *d.AuthorizerResultTTLInSeconds
		if a.TTL < 0 || a.TTL > MaxAuthorizerTTL {
			return nil, invalid("security scheme %q: authorizerResultTtlInSeconds %d must be 0..%d", name, a.TTL, MaxAuthorizerTTL)
		}
	}
	if _, err := FunctionRef(placeholderVars(a.URI)); err != nil {
		return nil, invalid("security scheme %q: authorizerUri: %v", name, err)
	}
	src := d.IdentitySource
	if src == "" && typ == AuthorizerToken {
		src = TokenIdentitySource(s.In, s.Name)
	}
	for _, p := range strings.Split(src, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		norm, ok := normIdentitySource(protocol, p)
		if !ok {
			return nil, invalid("security scheme %q: identity source %q must be one of %s", name, truncate(p, 100), identityForms[protocol])
		}
		if v, ok := strings.CutPrefix(norm, "context."); ok && !slices.Contains(IdentityContextVariables, v) {
			// Accepted, it would refuse every request 401 uncalled.
			return nil, invalid("security scheme %q: identity source %q names a $context variable Portico does not resolve for authorizers; "+
				"it resolves $context.%s", name, truncate(p, 100), strings.Join(IdentityContextVariables, ", $context."))
		}
		a.IdentitySource = append(a.IdentitySource, norm)
	}
	if typ == AuthorizerToken && (len(a.IdentitySource) != 1 || !strings.HasPrefix(a.IdentitySource[0], "header.")) {
		return nil, invalid("security scheme %q: a token authorizer takes one identity source, method.request.header.NAME", name)
	}
	if typ == AuthorizerRequest && len(a.IdentitySource) == 0 && protocol != ProtocolWebSocket && a.TTL > 0 &&
		d.AuthorizerResultTTLInSeconds != nil {
		// As API Gateway: caching needs an identity source to key results by.
		return nil, invalid("security scheme %q: authorizerResultTtlInSeconds %d turns caching on, which needs an identity source to key results by: "+
			"set identitySource (%s), or authorizerResultTtlInSeconds 0", name, a.TTL, identityForms[protocol])
	}
	if (typ == AuthorizerRequest && len(a.IdentitySource) == 0) || protocol == ProtocolWebSocket {
		// Nothing to key a cache by; and API Gateway runs a WebSocket API's
		// authorizer on every $connect (its result TTL is for HTTP APIs only;
		// validateAuth refuses one declared on a WebSocket API).
		a.TTL = 0
	}
	var err error
	if a.ValidationExpression, err = validationExpression(name, d); err != nil {
		return nil, err
	}
	return a, nil
}

// validationExpression compiles d's identityValidationExpression, anchored at
// both ends as API Gateway matches it; nil when there is none.
func validationExpression(name string, d authorizerDoc) (*regexp.Regexp, error) {
	if d.IdentityValidationExpression == "" {
		return nil, nil
	}
	// The pattern alone first, so that an error quotes what the user wrote,
	// not the anchored wrapper.
	if _, err := regexp.Compile(d.IdentityValidationExpression); err != nil {
		return nil, invalid("security scheme %q: identityValidationExpression: %v", name, err)
	}
	re, err := regexp.Compile("^(?:" + d.IdentityValidationExpression + ")$")
	if err != nil {
		return nil, invalid("security scheme %q: identityValidationExpression: %v", name, err)
	}
	return re, nil
}

// IdentityContextVariables are the $context variables an authorizer's identity
// source may name (context.NAME): those the gateway knows before its
// authorizers run (gateway/auth's contextValue resolves each). Any other is
// refused when saved.
var IdentityContextVariables = []string{"apiId", "httpMethod", "identity.sourceIp", "identity.userAgent", "requestId", "resourcePath", "routeKey", "stage"}

// identityForms says which identity sources each protocol takes.
var identityForms = map[string]string{
	ProtocolREST:      "method.request.header.NAME, method.request.querystring.NAME, stageVariables.NAME, context.NAME",
	ProtocolHTTP:      "$request.header.NAME, $request.querystring.NAME, $stageVariables.NAME, $context.NAME",
	ProtocolWebSocket: "route.request.header.NAME, route.request.querystring.NAME, stageVariables.NAME, context.NAME",
}

// normIdentitySource turns a protocol's identity source into one form:
// header.NAME, querystring.NAME, stageVariables.NAME or context.NAME.
func normIdentitySource(protocol, p string) (string, bool) {
	var prefixes [][2]string
	switch protocol {
	case ProtocolREST:
		prefixes = [][2]string{{"method.request.header.", "header."}, {"method.request.querystring.", "querystring."}, {"stageVariables.", "stageVariables."}, {"context.", "context."}}
	case ProtocolHTTP:
		prefixes = [][2]string{{"$request.header.", "header."}, {"$request.querystring.", "querystring."}, {"$stageVariables.", "stageVariables."}, {"$context.", "context."}}
	case ProtocolWebSocket:
		prefixes = [][2]string{{"route.request.header.", "header."}, {"route.request.querystring.", "querystring."}, {"stageVariables.", "stageVariables."}, {"context.", "context."}}
	}
	for _, pr := range prefixes {
		if rest, ok := strings.CutPrefix(p, pr[0]); ok && rest != "" {
			return pr[1] + rest, true
		}
	}
	return "", false
}

// iamAuthorizer is the authorizer of routes whose x-amazon-apigateway-auth says
// AWS_IAM.
var iamAuthorizer = &Authorizer{Name: ExtAuth, Type: AuthorizerIAM}

// routeAuthExt reads a route's x-amazon-apigateway-auth: AWS_IAM, NONE or "".
func routeAuthExt(r *Route) (string, error) {
	raw, ok := r.Extensions[ExtAuth]
	if !ok {
		return "", nil
	}
	var d struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return "", invalid("route %q: %s must be {\"type\": \"AWS_IAM\"} or {\"type\": \"NONE\"}", r.RouteKey, ExtAuth)
	}
	switch t := strings.ToUpper(d.Type); t {
	case AuthorizerIAM, "NONE":
		return t, nil
	}
	return "", invalid("route %q: %s type %q must be AWS_IAM or NONE", r.RouteKey, ExtAuth, truncate(d.Type, 30))
}

// IAMByExtension reports whether r's x-amazon-apigateway-auth makes it an
// AWS_IAM route (the gateway then checks SigV4 whatever its security says).
func (r *Route) IAMByExtension() bool {
	t, err := routeAuthExt(r)
	return err == nil && t == AuthorizerIAM
}

// RouteAuthorizer returns the authorizer a route's security (or its
// x-amazon-apigateway-auth) names: a Lambda, JWT or IAM (Type AuthorizerIAM)
// authorizer, or nil. A route that names more than one (see oneAuthorizer:
// a definition stored before they were refused) is an error, so that its
// deployment refuses every request rather than enforce one of them.
func (a *API) RouteAuthorizer(r *Route) (*Authorizer, error) {
	if err := a.oneAuthorizer(r); err != nil {
		return nil, err
	}
	if t, err := routeAuthExt(r); err != nil || t == AuthorizerIAM {
		if err != nil {
			return nil, err
		}
		return iamAuthorizer, nil
	}
	for _, req := range r.Security {
		for name := range req {
			raw, ok := a.Authorizers[name]
			if !ok {
				continue
			}
			au, err := ParseAuthorizer(a.Protocol, name, raw)
			if err != nil {
				return nil, err
			}
			if au != nil {
				return au, nil
			}
		}
	}
	return nil, nil
}

// ResourcePolicy parses the API's resource policy (x-amazon-apigateway-policy,
// a policy document as JSON or as a JSON string holding one); nil when it has
// none.
func (a *API) ResourcePolicy() (*policy.Policy, error) {
	raw, ok := a.Extensions[ExtPolicy]
	if !ok {
		return nil, nil
	}
	return parseResourcePolicy(raw)
}

// parseResourcePolicy parses a resource policy extension's value.
func parseResourcePolicy(raw json.RawMessage) (*policy.Policy, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	p, err := policy.Parse(raw, policy.Resource)
	if err != nil {
		return nil, invalid("%s: %v", ExtPolicy, err)
	}
	return p, nil
}

// validateAuth refuses what would declare access control Portico does not
// enforce, and authorizers that do not parse.
func (a *API) validateAuth() []error {
	var errs []error
	for name, raw := range a.Authorizers {
		au, err := ParseAuthorizer(a.Protocol, name, raw)
		if err != nil {
			errs = append(errs, err)
		} else if au != nil && au.ValidationExpression != nil && (a.Protocol != ProtocolREST || au.Type != AuthorizerToken) {
			// Only a REST TOKEN authorizer applies it (as in API Gateway,
			// which ignores it on the others); elsewhere it would be a check
			// declared and not made. Refused when saved: an API an older
			// build stored with one keeps serving, ignoring it.
			errs = append(errs, invalid("security scheme %q: identityValidationExpression is applied by a REST API's TOKEN authorizers only; "+
				"this %s API's %s authorizer would ignore it: remove it, or check the identity in the authorizer function",
				name, a.Protocol, au.Type))
		} else if au != nil && au.Type == AuthorizerJWT && !strings.HasPrefix(au.Issuer, "https://") {
			// Refused when saved: the gateway fetches the issuer's keys over
			// https only, so an API an older build stored with an http
			// issuer loads, and its tokens are refused (401) until the
			// issuer is changed.
			errs = append(errs, invalid("security scheme %q: jwtConfiguration.issuer %q is not an https URL: the issuer's keys are fetched from it, "+
				"and keys fetched over plain http could be replaced by anyone on the path; use the issuer's https:// URL, as API Gateway requires",
				name, truncate(au.Issuer, 100)))
		}
	}
	// Scopes are checked against a JWT's claims only; on any other scheme they
	// would be declared and not applied.
	for i := range a.Routes {
		r := &a.Routes[i]
		for _, req := range r.Security {
			for _, name := range slices.Sorted(maps.Keys(req)) {
				if len(req[name]) == 0 {
					continue
				}
				raw, ok := a.Authorizers[name]
				if !ok {
					continue
				}
				if au, err := ParseAuthorizer(a.Protocol, name, raw); err == nil && (au == nil || au.Type != AuthorizerJWT) {
					errs = append(errs, invalid("route %q: authorization scopes %q on security scheme %q are not checked: Portico checks scopes for JWT authorizers only; remove them", r.RouteKey, truncate(strings.Join(req[name], " "), 200), name))
				}
			}
		}
	}
	for i := range a.Routes {
		if err := a.oneAuthorizer(&a.Routes[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if a.Protocol == ProtocolWebSocket {
		for _, name := range slices.Sorted(maps.Keys(a.Authorizers)) {
			var s schemeDoc
			var d struct {
				TTL *int `json:"authorizerResultTtlInSeconds"`
			}
			if json.Unmarshal(a.Authorizers[name], &s) == nil && s.Authorizer != nil &&
				json.Unmarshal(s.Authorizer, &d) == nil && d.TTL != nil && *d.TTL != 0 {
				errs = append(errs, invalid("security scheme %q: authorizerResultTtlInSeconds is supported only for HTTP API authorizers: a WebSocket API's authorizer runs on every $connect, its result is not cached (remove it)", name))
			}
		}
		for i := range a.Routes {
			r := &a.Routes[i]
			if au, err := a.RouteAuthorizer(r); err == nil && au != nil && r.RouteKey != "$connect" {
				errs = append(errs, invalid("route %q: WebSocket authorizers run on $connect only", r.RouteKey))
			}
		}
	}
	if _, ok := a.Extensions[ExtPolicy]; ok {
		if a.Protocol != ProtocolREST {
			errs = append(errs, invalid("resource policies (%s) are for REST APIs", ExtPolicy))
		} else if _, err := a.ResourcePolicy(); err != nil {
			errs = append(errs, err)
		}
	}
	if _, ok := a.Extensions[ExtAuth]; ok {
		errs = append(errs, invalid("%s belongs on operations (routes), not on the API; or declare a security scheme with x-amazon-apigateway-authtype awsSigv4", ExtAuth))
	}
	for i := range a.Routes {
		r := &a.Routes[i]
		if _, err := routeAuthExt(r); err != nil {
			errs = append(errs, err)
		}
		if _, ok := r.Extensions[ExtPolicy]; ok {
			errs = append(errs, invalid("route %q: %s belongs on the API, not on an operation", r.RouteKey, ExtPolicy))
		}
	}
	return errs
}

// oneAuthorizer refuses a route whose security would need more than one
// authorizer, which RouteAuthorizer cannot return and API Gateway cannot
// express (a method has one authorizationType and one authorizerId): two in
// one requirement (AND), different ones in alternative requirements (OR), an
// empty requirement ({}, no authorization) beside one, or one beside
// x-amazon-apigateway-auth AWS_IAM. Enforcing only one of them would let
// through requests the others refuse. API key schemes are not authorizers:
// a key is required beside the authorizer wherever it is named.
func (a *API) oneAuthorizer(r *Route) error {
	const why = "API Gateway takes one authorizer per method, and Portico would enforce only one of them"
	var names []string // distinct, across requirements
	empty := false
	for _, req := range r.Security {
		if len(req) == 0 {
			empty = true
			continue
		}
		var here []string
		for _, name := range slices.Sorted(maps.Keys(req)) {
			raw, ok := a.Authorizers[name]
			if !ok {
				continue
			}
			if au, err := ParseAuthorizer(a.Protocol, name, raw); err == nil && au != nil {
				here = append(here, name)
			}
		}
		if len(here) > 1 {
			return invalid("route %q: security requirement names %d authorizers (%s), all required: %s; keep one", r.RouteKey, len(here), strings.Join(here, ", "), why)
		}
		if len(here) == 1 && !slices.Contains(names, here[0]) {
			names = append(names, here[0])
		}
	}
	slices.Sort(names)
	switch {
	case len(names) > 1:
		return invalid("route %q: security offers alternative authorizers (%s): %s; keep one", r.RouteKey, strings.Join(names, ", "), why)
	case len(names) == 1 && empty:
		return invalid("route %q: an empty security requirement ({}) beside authorizer %s would make it optional: %s, and none cannot be an alternative to it; remove {} or the authorizer", r.RouteKey, names[0], why)
	}
	if t, err := routeAuthExt(r); err == nil && t == AuthorizerIAM && len(names) == 1 {
		return invalid("route %q: x-amazon-apigateway-auth AWS_IAM and authorizer %s: %s; keep one", r.RouteKey, names[0], why)
	}
	return nil
}

// parseJWTAuthorizer reads a JWT authorizer (HTTP APIs only).
func parseJWTAuthorizer(protocol, name string, d authorizerDoc) (*Authorizer, error) {
	if protocol != ProtocolHTTP {
		return nil, invalid("security scheme %q: JWT authorizers are for HTTP APIs", name)
	}
	var cfg struct {
		Issuer   string   `json:"issuer"`
		Audience []string `json:"audience"`
	}
	if len(d.JWTConfiguration) == 0 || json.Unmarshal(d.JWTConfiguration, &cfg) != nil {
		return nil, invalid("security scheme %q: jwtConfiguration must be {\"issuer\": URL, \"audience\": [...]}", name)
	}
	if !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		// http:// is read (an older build stored it) and refused when saved
		// (validateAuth).
		return nil, invalid("security scheme %q: jwtConfiguration.issuer %q must be an https URL", name, truncate(cfg.Issuer, 100))
	}
	if len(cfg.Audience) == 0 {
		return nil, invalid("security scheme %q: jwtConfiguration.audience must list at least one audience", name)
	}
	// The issuer is kept as written: a token's iss must equal it, trailing
	// slash and all (Auth0's issuers end in one).
	a := &Authorizer{Name: name, Type: AuthorizerJWT, Issuer: cfg.Issuer, Audience: cfg.Audience}
	src := d.IdentitySource
	if src == "" {
		src = "$request.header.Authorization"
	}
	if err := CheckJWTIdentitySource(src); err != nil {
		return nil, invalid("security scheme %q: %v", name, err)
	}
	norm, _ := normIdentitySource(protocol, strings.TrimSpace(src))
	a.IdentitySource = []string{norm}
	return a, nil
}

// CheckJWTIdentitySource refuses a JWT authorizer's identitySource unless it
// is one $request.header.NAME or $request.querystring.NAME, the only
// selections API Gateway takes for JWT: a $context or $stageVariables value is
// never a token the client sent.
func CheckJWTIdentitySource(src string) error {
	norm, ok := normIdentitySource(ProtocolHTTP, strings.TrimSpace(src))
	if !ok || strings.Contains(src, ",") ||
		!strings.HasPrefix(norm, "header.") && !strings.HasPrefix(norm, "querystring.") {
		return fmt.Errorf("identitySource %q: a JWT authorizer takes one identity source, $request.header.NAME or $request.querystring.NAME (the token's place in the request)", truncate(src, 100))
	}
	return nil
}

// RouteScopes returns the authorization scopes a route's security gives the
// named authorizer.
func (r *Route) RouteScopes(name string) []string {
	for _, req := range r.Security {
		if s, ok := req[name]; ok {
			return s
		}
	}
	return nil
}

// AuthorizerURIWarnings says, for each Lambda authorizer whose URI names a
// stage variable, when it names no function on a stage with vars: a variable
// the stage lacks, or a value that makes no function reference. The gateway
// serves such a stage; the routes of that authorizer answer 500
// AuthorizerConfigurationException. Sorted by authorizer name.
func (a *API) AuthorizerURIWarnings(vars map[string]string) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(a.Authorizers)) {
		au, err := ParseAuthorizer(a.Protocol, name, a.Authorizers[name])
		if err != nil || au == nil || !strings.Contains(au.URI, "${stageVariables.") {
			continue
		}
		uri, err := SubstituteStageVariables(au.URI, vars)
		if err == nil {
			_, err = FunctionRef(uri)
		}
		if err != nil {
			out = append(out, fmt.Sprintf("authorizer %s names no function on this stage (%v): the routes it authorizes answer 500 "+
				"(AuthorizerConfigurationException) until a stage variable names one (portico stage set-var)", name, err))
		}
	}
	return out
}
