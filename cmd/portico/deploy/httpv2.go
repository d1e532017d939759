package deploy

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
)

// HTTP APIs written as AWS::ApiGatewayV2 resources (ProtocolType HTTP), as
// templates ported from CloudFormation have them. They take the WebSocket
// resources' path: the builder reads the same resource types into an API of
// routes (API.Routes, API.Authorizers), which the deploy checks against the
// gateway's model (wsModel) and sends whole (CreateAPI, ReplaceAPI); what
// differs is read here. Every property Portico does not apply is refused,
// naming the resource and the property: an authorizer or a scope left off
// would open a route.

// V2HTTP is what the AWS::ApiGatewayV2::Api of an HTTP API sets beyond its
// name, routes and authorizers. It is part of the API's definition
// fingerprint.
type V2HTTP struct {
	Description string                  `json:"description,omitempty"`
	CORS        *apis.CORSConfiguration `json:"cors,omitempty"`
	// DisableExecuteAPIEndpoint turns the API's default endpoint off.
	DisableExecuteAPIEndpoint bool              `json:"disableExecuteApiEndpoint,omitempty"`
	Tags                      map[string]string `json:"tags,omitempty"`
	// was is the tags the deploy before set (Resource.Tags): a redeploy
	// takes off only those of them that Tags drops, so that a tag added by
	// hand stays, as CloudFormation manages only the tags of the template.
	// Not part of the fingerprint.
	was map[string]string
}

// routed reports whether a is an API of routes (WebSocket, or HTTP of
// AWS::ApiGatewayV2 resources) rather than of an OpenAPI document.
func (a *API) routed() bool { return a.Protocol == apis.ProtocolWebSocket || a.V2 != nil }

// model sets v's settings and each route's method and path (from its key) on
// m, the model of an HTTP API of AWS::ApiGatewayV2 resources; nothing for
// other APIs (v nil).
func (v *V2HTTP) model(m *apis.API) {
	if v == nil {
		return
	}
	m.Description, m.CORS = v.Description, v.CORS
	if v.DisableExecuteAPIEndpoint {
		m.Extensions = map[string]json.RawMessage{extEndpointConfig: json.RawMessage(`{"disableExecuteApiEndpoint":true}`)}
	}
	for i := range m.Routes {
		rt := &m.Routes[i]
		if rt.RouteKey == apis.RouteDefault {
			rt.Path = apis.RouteDefault
			continue
		}
		method, path, _ := strings.Cut(rt.RouteKey, " ")
		rt.Method, rt.Path = strings.ToUpper(method), path
	}
}

// httpV2Props are the properties of each AWS::ApiGatewayV2 type that an HTTP
// API's resources may have; any other is refused (httpV2Refusals says why
// for those CloudFormation has).
var httpV2Props = map[string]map[string]bool{
	TypeV2API: set("Name", "ProtocolType", "Description", "CorsConfiguration", "DisableExecuteApiEndpoint", "Tags",
		"RouteSelectionExpression", "Target", "RouteKey"),
	TypeV2Route: set("ApiId", "RouteKey", "Target", "AuthorizationType", "AuthorizerId", "AuthorizationScopes", "OperationName"),
	TypeV2Integration: set("ApiId", "IntegrationType", "IntegrationUri", "IntegrationMethod", "PayloadFormatVersion", "RequestParameters",
		"ResponseParameters", "TimeoutInMillis", "Description", "ConnectionType"),
	TypeV2Authorizer: set("ApiId", "AuthorizerType", "Name", "AuthorizerUri", "IdentitySource", "JwtConfiguration",
		"AuthorizerPayloadFormatVersion", "EnableSimpleResponses", "AuthorizerResultTtlInSeconds"),
	TypeV2Stage: set("ApiId", "StageName", "Description", "StageVariables", "AutoDeploy", "DeploymentId",
		"DefaultRouteSettings", "RouteSettings", "AccessLogSettings"),
}

// httpV2Refusals say why a property CloudFormation has is refused on an HTTP
// API's resource.
var httpV2Refusals = map[string]string{ //nolint:gosec // G101: property names and why they are refused, no credentials
	"ApiKeySelectionExpression":        "API keys are WebSocket APIs'",
	"ApiKeyRequired":                   "HTTP APIs have no API keys",
	"BasePath":                         "it is for importing an OpenAPI Body; use AWS::Serverless::HttpApi with DefinitionBody",
	"Body":                             "an OpenAPI definition with AWS::ApiGatewayV2 resources is refused (API Gateway refuses the mix too); use AWS::Serverless::HttpApi with DefinitionBody",
	"BodyS3Location":                   "an OpenAPI definition with AWS::ApiGatewayV2 resources is refused; use AWS::Serverless::HttpApi with DefinitionUri",
	"FailOnWarnings":                   "it is for importing an OpenAPI Body, which Portico refuses here",
	"DisableSchemaValidation":          "it is WebSocket APIs'",
	"Version":                          "Portico keeps no version of an API of resources",
	"IpAddressType":                    "Portico serves the API on the addresses it listens on",
	"RequestParameters":                "route request parameters are WebSocket APIs'; an HTTP API maps parameters on its integration",
	"RequestModels":                    "models are WebSocket APIs'",
	"ModelSelectionExpression":         "models are WebSocket APIs'",
	"RouteResponseSelectionExpression": "route responses are WebSocket APIs'",
	"CredentialsArn":                   "integration credentials are not supported: Portico calls integrations without assuming an IAM role, so the role could not limit what the integration calls",
	"ConnectionId":                     "VPC links are not supported",
	"ContentHandlingStrategy":          "it is WebSocket APIs'",
	"IntegrationSubtype":               "AWS service integrations (integration subtypes) are not supported",
	"TlsConfig":                        "it configures private (VPC link) integrations, which Portico does not have",
	"RequestTemplates":                 "mapping templates are WebSocket APIs'",
	"TemplateSelectionExpression":      "mapping templates are WebSocket APIs'",
	"PassthroughBehavior":              "mapping templates are WebSocket APIs'",
	"AuthorizerCredentialsArn":         "Portico invokes authorizers without assuming an IAM role, so the role could not limit anything",
	"IdentityValidationExpression":     "it is REST APIs' TOKEN authorizers'; nothing would check it",
	"AccessPolicyId":                   "Portico has no access policies on stages",
	"ClientCertificateId":              "Portico has no client certificates",
	"Tags":                             "Portico keeps no tags on stages",
}

// isHTTPV2 reports whether ApiId of props names an AWS::ApiGatewayV2::Api of
// the template with ProtocolType HTTP.
func (b *builder) isHTTPV2(props map[string]any) bool {
	r, ok := b.t.Resources[v2Ref(props["ApiId"], "ApiId")]
	return ok && r.Type == TypeV2API && strings.EqualFold(stringOf(r.Properties["ProtocolType"]), apis.ProtocolHTTP)
}

// stringOf is v if it is a string, else "".
func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// httpV2Check refuses each property of resource id (of type typ, of an HTTP
// API) that Portico does not apply; false when one is refused.
func (b *builder) httpV2Check(id, typ string, props map[string]any) bool {
	ok := true
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if httpV2Props[typ][k] {
			continue
		}
		ok = false
		why := httpV2Refusals[k]
		if why == "" {
			why = "Portico does not apply it"
		}
		b.fail("%s (%s): property %s is refused on an HTTP API: %s", id, typ, k, why)
	}
	return ok
}

// v2HTTPAPI reads an AWS::ApiGatewayV2::Api of protocol HTTP, with its quick
// create (Target) when it has one.
func (b *builder) v2HTTPAPI(id string, props map[string]any) {
	where := id + " (" + TypeV2API + ")"
	if !b.httpV2Check(id, TypeV2API, props) {
		return
	}
	a := &API{LogicalID: id, Protocol: apis.ProtocolHTTP, Name: b.t.stack + "-" + id, V2: &V2HTTP{}}
	if n := b.str(where, props, "Name"); n != "" {
		a.Name = n
	}
	a.V2.Description = b.str(where, props, "Description")
	if s := b.str(where, props, "RouteSelectionExpression"); s != "" && s != "${request.method} ${request.path}" && s != "$request.method $request.path" {
		b.fail("%s: RouteSelectionExpression %q is refused: an HTTP API's is ${request.method} ${request.path}", where, s)
		return
	}
	if v, set := b.boolean(where, props, "DisableExecuteApiEndpoint"); set {
		a.V2.DisableExecuteAPIEndpoint = v
	}
	if _, set := props["Tags"]; set {
		tags, ok := b.stringMap(where, props, "Tags")
		if !ok {
			return
		}
		a.V2.Tags = tags
	}
	if c, set := props["CorsConfiguration"]; set {
		doc := map[string]any{}
		b.httpCORS(where, c, doc)
		raw, err := json.Marshal(doc["x-amazon-apigateway-cors"])
		if err == nil && doc["x-amazon-apigateway-cors"] != nil {
			var cors apis.CORSConfiguration
			if err := json.Unmarshal(raw, &cors); err != nil {
				b.fail("%s: CorsConfiguration: %v", where, err)
				return
			}
			a.V2.CORS = &cors
		}
	}
	if !b.quickCreate(where, a, props) {
		return
	}
	b.d.APIs[id] = a
}

// quickCreate reads an HTTP API's quick create (Target, RouteKey): a route
// (RouteKey, $default by default) to an AWS_PROXY integration (payload 2.0)
// of the function Target names, or an HTTP_PROXY one (ANY) of a URL, on an
// auto-deploying $default stage, as API Gateway makes them.
func (b *builder) quickCreate(where string, a *API, props map[string]any) bool {
	target := b.str(where, props, "Target")
	key := b.str(where, props, "RouteKey")
	if target == "" {
		if key != "" {
			b.fail("%s: RouteKey is quick create's: it needs Target", where)
			return false
		}
		return true
	}
	if tokenPattern.MatchString(target) {
		b.fail("%s: Target %q names something Portico cannot resolve; use !GetAtt Function.Arn or an http(s):// URL", where, target)
		return false
	}
	if key == "" {
		key = apis.RouteDefault
	}
	r := WSRoute{Key: key, URI: target, Type: apis.IntegrationAWSProxy, Method: http.MethodPost, PayloadFormat: "2.0"}
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		r.Type, r.Method, r.PayloadFormat = apis.IntegrationHTTPProxy, apis.MethodAny, "1.0"
	}
	a.Routes = append(a.Routes, r)
	// Quick create's $default stage deploys automatically.
	a.Stage, a.AutoDeploy = apis.RouteDefault, true
	return true
}

// httpV2API returns the HTTP API of AWS::ApiGatewayV2 resources that ApiId of
// resource id (of type typ) names, after checking its properties; nil when
// it fails the build.
func (b *builder) httpV2API(id, typ string, props map[string]any) (string, *API) {
	if typ == TypeV2IntegrationResponse || typ == TypeV2RouteResponse {
		b.fail("%s (%s): HTTP APIs have no %s resources; they are WebSocket APIs'", id, typ, strings.TrimPrefix(typ, "AWS::ApiGatewayV2::"))
		return "", nil
	}
	if !b.httpV2Check(id, typ, props) {
		return "", nil
	}
	api := v2Ref(props["ApiId"], "ApiId")
	a := b.d.APIs[api]
	if a == nil {
		return "", nil // its Api failed the build
	}
	return api, a
}

// httpV2Route reads an HTTP API's AWS::ApiGatewayV2::Route into r.
func (b *builder) httpV2Route(id, api string, props map[string]any, r *WSRoute) bool {
	where := id + " (" + TypeV2Route + ")"
	if r.Key != apis.RouteDefault {
		method, path, ok := strings.Cut(r.Key, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") || strings.Contains(path, " ") {
			b.fail("%s: RouteKey %q must be $default or METHOD /path (GET /pets/{id}, ANY /{proxy+})", where, r.Key)
			return false
		}
		r.Key = strings.ToUpper(method) + " " + path
	}
	at := strings.ToUpper(b.str(where, props, "AuthorizationType"))
	_, hasAuthorizer := props["AuthorizerId"]
	scopes, ok := b.scopes(where, props)
	if !ok {
		return false
	}
	if hasAuthorizer && at != wsCustom && at != apis.AuthorizerJWT {
		b.fail("%s: AuthorizerId needs AuthorizationType CUSTOM or JWT, not %q", where, at)
		return false
	}
	if len(scopes) > 0 && at != apis.AuthorizerJWT {
		b.fail("%s: AuthorizationScopes need AuthorizationType JWT, not %q (API Gateway checks scopes for JWT authorizers only)", where, at)
		return false
	}
	a := b.d.APIs[api]
	switch at {
	case "", "NONE":
		return true
	case apis.AuthorizerIAM:
		if a.Authorizers == nil {
			a.Authorizers = map[string]json.RawMessage{}
		}
		a.Authorizers[wsIAMScheme] = json.RawMessage(wsIAMSchemeDoc)
		r.Authorization = at
		return true
	case wsCustom, apis.AuthorizerJWT:
	default:
		b.fail("%s: AuthorizationType %s is refused: an HTTP API route takes NONE, AWS_IAM, CUSTOM or JWT", where, at)
		return false
	}
	au, found := b.wsAuthorizers[v2Ref(props["AuthorizerId"], "AuthorizerId")]
	if !found || au.api != api {
		b.fail("%s: AuthorizationType %s needs AuthorizerId: !Ref to an AWS::ApiGatewayV2::Authorizer of API %s", where, at, api)
		return false
	}
	if kind := authorizerKind(a.Authorizers[au.name]); kind != at {
		b.fail("%s: AuthorizationType %s names authorizer %s, which is %s", where, at, au.name, kind)
		return false
	}
	r.Authorization, r.Authorizer, r.Scopes = at, au.name, scopes
	return true
}

// scopes reads a route's AuthorizationScopes: a list of strings.
func (b *builder) scopes(where string, props map[string]any) ([]string, bool) {
	v, set := props["AuthorizationScopes"]
	if !set {
		return nil, true
	}
	list, ok := v.([]any)
	var out []string
	for _, x := range list {
		s, isStr := x.(string)
		if !isStr || s == "" {
			ok = false
			break
		}
		out = append(out, s)
	}
	if !ok {
		b.fail("%s: AuthorizationScopes must be a list of scope names, not %s", where, shape(v))
		return nil, false
	}
	return out, true
}

// authorizerKind is JWT or CUSTOM: what a route's AuthorizationType names a
// scheme of the API as.
func authorizerKind(raw json.RawMessage) string {
	var sch struct {
		Authorizer struct{ Type string } `json:"x-amazon-apigateway-authorizer"`
	}
	_ = json.Unmarshal(raw, &sch)
	if strings.EqualFold(sch.Authorizer.Type, "jwt") {
		return apis.AuthorizerJWT
	}
	return wsCustom
}

// httpV2Integration reads the integration integID (of an HTTP API) that a
// route targets into r: AWS_PROXY or HTTP_PROXY, with the HTTP API's
// parameter mapping.
func (b *builder) httpV2Integration(integID string, integ map[string]any, r *WSRoute) bool {
	where := integID + " (" + TypeV2Integration + ")"
	r.Type = strings.ToUpper(b.str(where, integ, "IntegrationType"))
	r.URI = b.str(where, integ, "IntegrationUri")
	r.Method = strings.ToUpper(b.str(where, integ, "IntegrationMethod"))
	r.PayloadFormat = b.str(where, integ, "PayloadFormatVersion")
	if ct := b.str(where, integ, "ConnectionType"); ct != "" && ct != apis.ConnectionInternet {
		b.fail("%s: ConnectionType %s is refused: only INTERNET is supported (Portico has no VPC links)", where, ct)
		return false
	}
	switch r.Type {
	case apis.IntegrationAWSProxy:
		if r.PayloadFormat != "1.0" && r.PayloadFormat != "2.0" {
			b.fail("%s: PayloadFormatVersion %q: an HTTP API's AWS_PROXY integration needs 1.0 or 2.0", where, r.PayloadFormat)
			return false
		}
		if r.Method == "" {
			r.Method = http.MethodPost
		}
	case apis.IntegrationHTTPProxy:
		if r.PayloadFormat == "" {
			r.PayloadFormat = "1.0"
		}
		if r.PayloadFormat != "1.0" {
			b.fail("%s: PayloadFormatVersion %q: an HTTP_PROXY integration takes 1.0", where, r.PayloadFormat)
			return false
		}
		if r.Method == "" {
			b.fail("%s: IntegrationMethod is required for HTTP_PROXY (GET, POST, ..., ANY)", where)
			return false
		}
	default:
		b.fail("%s: IntegrationType %q is refused: an HTTP API's integrations are AWS_PROXY or HTTP_PROXY", where, r.Type)
		return false
	}
	if r.URI == "" || tokenPattern.MatchString(r.URI) {
		b.fail("%s: IntegrationUri %q must name a function (!GetAtt Function.Arn, or !Sub with ${Function.Arn}) or a URL", where, r.URI)
		return false
	}
	var ok bool
	if r.RequestParameters, ok = b.stringMap(where, integ, "RequestParameters"); !ok {
		return false
	}
	if r.ResponseParameters, ok = b.responseParameters(where, integ); !ok {
		return false
	}
	r.TimeoutInMillis, ok = b.timeoutMillis(where, integ, apis.MaxTimeoutMillisHTTP)
	return ok
}

// timeoutMillis reads an integration's TimeoutInMillis (0 when it is not
// set): a whole number from apis.MinTimeoutMillis to most, else it fails.
func (b *builder) timeoutMillis(where string, integ map[string]any, most int) (int, bool) {
	v, set := integ["TimeoutInMillis"]
	if !set {
		return 0, true
	}
	n, isNum := number(v)
	if !isNum || n != math.Trunc(n) || n < apis.MinTimeoutMillis || n > float64(most) {
		b.fail("%s: TimeoutInMillis must be a whole number from %d to %d, not %v", where, apis.MinTimeoutMillis, most, v)
		return 0, false
	}
	return int(n), true
}

// responseParameters reads an HTTP API integration's ResponseParameters: by
// status code, CloudFormation's ResponseParameterMap ({ResponseParameters:
// [{Destination, Source}]}) or, as the apigatewayv2 API takes it, a mapping
// of destinations to sources.
func (b *builder) responseParameters(where string, integ map[string]any) (map[string]map[string]string, bool) {
	raw, ok := b.mapping(where, integ, "ResponseParameters", "status codes to {ResponseParameters: [{Destination, Source}]}")
	if !ok || raw == nil {
		return nil, ok
	}
	out := map[string]map[string]string{}
	for _, status := range slices.Sorted(maps.Keys(raw)) {
		at := where + ": ResponseParameters " + status
		m, isMap := raw[status].(map[string]any)
		if !isMap {
			b.fail("%s must be a mapping such as {ResponseParameters: [{Destination: overwrite:header.X, Source: value}]}, not %s", at, shape(raw[status]))
			return nil, false
		}
		mapped := map[string]string{}
		if list, isCFN := m["ResponseParameters"]; isCFN && len(m) == 1 {
			items, isList := list.([]any)
			if !isList || len(items) == 0 {
				b.fail("%s: ResponseParameters must be a list of {Destination, Source}, not %s", at, shape(list))
				return nil, false
			}
			for _, it := range items {
				p, _ := it.(map[string]any)
				dest, src := stringOf(p["Destination"]), stringOf(p["Source"])
				if len(p) != 2 || dest == "" || src == "" {
					b.fail("%s: each entry takes Destination and Source (strings), not %v", at, it)
					return nil, false
				}
				mapped[dest] = src
			}
		} else {
			for k, v := range m {
				s, isStr := v.(string)
				if !isStr {
					b.fail("%s: %s must be a string, not %s", at, k, shape(v))
					return nil, false
				}
				mapped[k] = s
			}
		}
		out[status] = mapped
	}
	return out, true
}

// httpV2Authorizer reads an HTTP API's AWS::ApiGatewayV2::Authorizer: JWT,
// or a Lambda REQUEST authorizer. It is kept as the security scheme
// apigatewayv2's create-authorizer makes, which the gateway's model checks.
func (b *builder) httpV2Authorizer(id, api string, a *API, props map[string]any) (json.RawMessage, string) {
	where := id + " (" + TypeV2Authorizer + ")"
	typ := strings.ToUpper(b.str(where, props, "AuthorizerType"))
	name := b.str(where, props, "Name")
	sources, ok := b.identitySources(where, props, "$request.header.NAME, $request.querystring.NAME")
	if !ok {
		return nil, ""
	}
	ext := map[string]any{"identitySource": strings.Join(sources, ",")}
	sch := map[string]any{"x-amazon-apigateway-authorizer": ext}
	switch typ {
	case apis.AuthorizerJWT:
		for _, k := range []string{"AuthorizerUri", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses", "AuthorizerResultTtlInSeconds"} {
			if _, set := props[k]; set {
				b.fail("%s: property %s is refused: it is Lambda (REQUEST) authorizers', not JWT's", where, k)
				return nil, ""
			}
		}
		jc, ok := b.mapping(where, props, "JwtConfiguration", "Issuer and Audience")
		if !ok {
			return nil, ""
		}
		cfg := map[string]any{}
		for _, k := range slices.Sorted(maps.Keys(jc)) {
			switch k {
			case "Issuer":
				cfg["issuer"] = b.str(where+": JwtConfiguration", jc, k)
			case "Audience":
				aud, isList := jc[k].([]any)
				if !isList {
					b.fail("%s: JwtConfiguration.Audience must be a list of strings, not %s", where, shape(jc[k]))
					return nil, ""
				}
				cfg["audience"] = aud
			default:
				b.fail("%s: JwtConfiguration.%s is refused: it takes Issuer and Audience", where, k)
				return nil, ""
			}
		}
		if cfg["issuer"] == nil || cfg["issuer"] == "" || cfg["audience"] == nil {
			b.fail("%s: a JWT authorizer needs JwtConfiguration with Issuer and Audience", where)
			return nil, ""
		}
		ext["type"], ext["jwtConfiguration"] = "jwt", cfg
		sch["type"], sch["flows"] = "oauth2", map[string]any{}
	case apis.AuthorizerRequest:
		if _, set := props["JwtConfiguration"]; set {
			b.fail("%s: property JwtConfiguration is refused: it is JWT authorizers'", where)
			return nil, ""
		}
		uri := b.str(where, props, "AuthorizerUri")
		if uri == "" || tokenPattern.MatchString(uri) {
			b.fail("%s: AuthorizerUri %q must name a function; use !Sub with ${Function.Arn}", where, uri)
			return nil, ""
		}
		version := b.str(where, props, "AuthorizerPayloadFormatVersion")
		if version != "1.0" && version != "2.0" {
			b.fail("%s: AuthorizerPayloadFormatVersion %q: an HTTP API's Lambda authorizer needs 1.0 or 2.0", where, version)
			return nil, ""
		}
		simple, _ := b.boolean(where, props, "EnableSimpleResponses")
		if simple && version != "2.0" {
			b.fail("%s: EnableSimpleResponses needs AuthorizerPayloadFormatVersion 2.0", where)
			return nil, ""
		}
		ext["type"], ext["authorizerUri"], ext["authorizerPayloadFormatVersion"] = "request", uri, version
		if simple {
			ext["enableSimpleResponses"] = true
		}
		if v, set := props["AuthorizerResultTtlInSeconds"]; set {
			n, isNum := number(v)
			if !isNum || n != math.Trunc(n) || n < 0 || n > 3600 {
				b.fail("%s: AuthorizerResultTtlInSeconds must be a whole number from 0 to 3600, not %v", where, v)
				return nil, ""
			}
			ext["authorizerResultTtlInSeconds"] = int(n)
		}
		sch["type"], sch["name"], sch["in"], sch["x-amazon-apigateway-authtype"] = "apiKey", "Authorization", "header", "custom"
	default:
		b.fail("%s: AuthorizerType %q is refused: an HTTP API's authorizers are JWT or REQUEST (Lambda)", where, typ)
		return nil, ""
	}
	doc, err := json.Marshal(sch)
	if err != nil {
		b.fail("%s: %v", where, err)
		return nil, ""
	}
	return doc, name
}

// tagsPath is the apigatewayv2 tag API's path of API id.
func tagsPath(id string) string {
	return "/v2/tags/arn:aws:apigateway:" + functions.Region + "::/apis/" + url.PathEscape(id)
}

// restTagsPath is the v1 tag API's path of REST API id's tags, or of its
// stage's (stage != "").
func restTagsPath(id, stage string) string {
	arn := "arn:aws:apigateway:" + functions.Region + "::/restapis/" + url.PathEscape(id)
	if stage != "" {
		arn += "/stages/" + url.PathEscape(stage)
	}
	return "/tags/" + arn
}

// setTags makes API id's tags want: tag-resource for those new or changed,
// untag-resource for those want does not have and drop says to take off.
func (h *HTTPTarget) setTags(ctx context.Context, id string, want map[string]string, drop func(key string) bool) error {
	return h.retag(ctx, tagsPath(id), http.MethodPost, want, drop)
}

// SetRESTTags implements Target: the v1 tag API's tag-resource (PUT) and
// untag-resource on the REST API or its stage.
func (h *HTTPTarget) SetRESTTags(ctx context.Context, id, stage string, want map[string]string, drop func(key string) bool) error {
	return h.retag(ctx, restTagsPath(id, stage), http.MethodPut, want, drop)
}

// retag makes the tags of the resource at the tag API's path want: tag
// (with method) those new or changed, untag those want does not have and
// drop says to take off.
func (h *HTTPTarget) retag(ctx context.Context, path, method string, want map[string]string, drop func(key string) bool) error {
	resp, err := h.C.Do(ctx, http.MethodGet, path, nil, nil, nil)
	if err != nil {
		return err
	}
	var have struct {
		Tags map[string]string `json:"tags"`
	}
	if err := json.Unmarshal(resp.Body, &have); err != nil {
		return err
	}
	set := map[string]string{}
	for k, v := range want {
		if old, ok := have.Tags[k]; !ok || old != v {
			set[k] = v
		}
	}
	if len(set) > 0 {
		if _, err := h.C.Do(ctx, method, path, nil, map[string]any{"tags": set}, nil); err != nil {
			return err
		}
	}
	var unset []string
	for _, k := range slices.Sorted(maps.Keys(have.Tags)) {
		if _, ok := want[k]; !ok && drop(k) {
			unset = append(unset, k)
		}
	}
	if len(unset) > 0 {
		_, err = h.C.Do(ctx, http.MethodDelete, path, url.Values{"tagKeys": unset}, nil, nil)
	}
	return err
}

// restoreTags puts back the tags of an HTTP or WebSocket API that s saved
// (a redeploy of an HTTP API of AWS::ApiGatewayV2 resources sets them).
func (h *HTTPTarget) restoreTags(ctx context.Context, id string, s *SavedAPI) error {
	var saved struct {
		Protocol string            `json:"protocol"`
		Tags     map[string]string `json:"tags"`
	}
	if json.Unmarshal(s.Doc, &saved) != nil || saved.Protocol != apis.ProtocolHTTP {
		return nil // not an HTTP API's document: no tags of a deploy's to put back
	}
	return h.setTags(ctx, id, saved.Tags, func(string) bool { return true })
}

// identitySources reads an authorizer's IdentitySource: a list of strings
// (examples names the forms it takes, for the refusal).
func (b *builder) identitySources(where string, props map[string]any, examples string) ([]string, bool) {
	var sources []string
	switch v := props["IdentitySource"].(type) {
	case nil:
	case []any:
		for _, x := range v {
			src, ok := x.(string)
			if !ok {
				b.fail("%s: IdentitySource must be a list of strings (%s)", where, examples)
				return nil, false
			}
			sources = append(sources, src)
		}
	default:
		b.fail("%s: IdentitySource must be a list of strings (%s), not %s", where, examples, shape(v))
		return nil, false
	}
	return sources, true
}
