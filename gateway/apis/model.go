// Package apis holds the API model of the gateway: APIs (REST, HTTP and WebSocket),
// their routes and integrations, immutable deployments and the stages that serve
// them, all persisted through the store.
//
// An API's definition is mutable; a deployment is a snapshot of it taken at deploy
// time and never changes; a stage names one deployment, holds its variables and keeps
// the history of the deployments it has pointed at, so that it can roll back.
package apis

import (
	"encoding/json"
	"time"
)

// Protocols.
const (
	ProtocolREST      = "REST"
	ProtocolHTTP      = "HTTP"
	ProtocolWebSocket = "WEBSOCKET"
)

// Integration types, as API Gateway names them.
const (
	IntegrationMock      = "MOCK"
	IntegrationHTTP      = "HTTP"
	IntegrationHTTPProxy = "HTTP_PROXY"
	IntegrationAWS       = "AWS"
	IntegrationAWSProxy  = "AWS_PROXY"

	// CallerCredentials as an integration's credentials says API Gateway
	// calls the function with the caller's own IAM credentials (SAM's
	// InvokeRole CALLER_CREDENTIALS, its default for AWS_IAM): the caller
	// must be allowed lambda:InvokeFunction on it.
	CallerCredentials = "arn:aws:iam::*:user/*" //nolint:gosec // G101: a wildcard ARN naming the caller, not a secret

	// HTTPProxyOnly is API Gateway's refusal of a MOCK, HTTP or AWS
	// integration on an HTTP API (those types are for REST and WebSocket
	// APIs), which its AWS-compatible entry points (apigatewayv2, OpenAPI
	// imports as an HTTP API) answer with.
	HTTPProxyOnly = "Currently, an API with a protocol type of HTTP may only be associated with proxy integrations (AWS_PROXY, HTTP_PROXY)"

	// LambdaProxyPOST is API Gateway's refusal of an HTTP API's AWS_PROXY
	// integration with another integrationMethod than POST: a function is
	// invoked with POST whatever the integration says.
	LambdaProxyPOST = "HttpMethod must be POST for AWS_PROXY IntegrationType"
)

// ProxyType says whether an integration type is one an HTTP API may have
// on API Gateway: AWS_PROXY or HTTP_PROXY.
func ProxyType(t string) bool {
	return t == IntegrationAWSProxy || t == IntegrationHTTPProxy
}

// Route keys with a meaning of their own.
const (
	// RouteDefault is the HTTP API catch-all route and the WebSocket fallback route.
	RouteDefault    = "$default"
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
)

// MethodAny matches every HTTP method (x-amazon-apigateway-any-method).
const MethodAny = "ANY"

// Limits.
const (
	MinTimeoutMillis     = 50
	MaxTimeoutMillis     = 29000 // REST and WebSocket APIs
	DefaultTimeoutMillis = 29000
	// MaxTimeoutMillisHTTP is an HTTP API's longest integration timeout, and
	// its default: 30 s.
	MaxTimeoutMillisHTTP = 30000
	MaxStageVariables    = 100
	MaxStageVarValue     = 512
	MaxDescription       = 1024
	MaxName              = 1024
	MaxRoutes            = 1000
	// MaxMethodSettings bounds a stage's method settings: one entry per
	// route an API may have (MaxRoutes), and "*/*".
	MaxMethodSettings = MaxRoutes + 1
	// MaxModels bounds an API's models. API Gateway's quota tables name no
	// limit on models; Portico's keeps the compile of an import to seconds
	// (every model is checked against JSON Schema draft 4 and compiled).
	MaxModels = 500
)

// API is one API: its identity and its current (undeployed) definition.
type API struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Protocol    string    `json:"protocol"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// Tags are the API's resource tags (tag-resource, and tags given at create).
	// They are not part of a deployment's meaning.
	Tags map[string]string `json:"tags,omitempty"`
	// EndpointTypes are a REST API's endpoint types (EDGE or REGIONAL), as
	// create-rest-api sets them; they do not change how Portico serves it.
	EndpointTypes []string `json:"endpointTypes,omitempty"`
	Definition
}

// Definition is everything about an API that a deployment snapshots.
type Definition struct {
	// Version is the document version (OpenAPI info.version).
	Version string `json:"version,omitempty"`
	// RouteSelectionExpression selects a WebSocket message's route, e.g.
	// "$request.body.action" (WebSocket only).
	RouteSelectionExpression string `json:"routeSelectionExpression,omitempty"`
	// BinaryMediaTypes are the content types passed to functions base64-encoded
	// (x-amazon-apigateway-binary-media-types), e.g. "image/png" or "*/*".
	BinaryMediaTypes []string `json:"binaryMediaTypes,omitempty"`
	// MinimumCompressionSize, when set (0..MaxCompressionSize), turns on a REST
	// API's payload compression: responses whose body is at least this many
	// bytes are compressed for clients that ask for gzip or deflate, and
	// compressed request bodies are decompressed before mapping templates
	// (minimumCompressionSize, x-amazon-apigateway-minimum-compression-size).
	// nil: compression off.
	MinimumCompressionSize *int `json:"minimumCompressionSize,omitempty"`
	// APIKeySource is HEADER or AUTHORIZER (x-amazon-apigateway-api-key-source).
	APIKeySource string `json:"apiKeySource,omitempty"`
	// RequestValidators are the named validators
	// (x-amazon-apigateway-request-validators).
	RequestValidators map[string]RequestValidator `json:"requestValidators,omitempty"`
	// RequestValidator names the API-wide default validator
	// (x-amazon-apigateway-request-validator at the top level).
	RequestValidator string `json:"requestValidator,omitempty"`
	// GatewayResponses customise the gateway's own error answers by response
	// type ("DEFAULT_4XX", "ACCESS_DENIED", ...)
	// (x-amazon-apigateway-gateway-responses).
	GatewayResponses map[string]GatewayResponse `json:"gatewayResponses,omitempty"`
	// CORS is an HTTP API's corsConfiguration (x-amazon-apigateway-cors).
	CORS *CORSConfiguration `json:"corsConfiguration,omitempty"`
	// Authorizers are the OpenAPI security schemes, kept as JSON objects with their
	// x-amazon-apigateway-authorizer and x-amazon-apigateway-authtype.
	Authorizers map[string]json.RawMessage `json:"authorizers,omitempty"`
	// Models are the JSON schemas of components.schemas (definitions in Swagger 2.0).
	Models map[string]json.RawMessage `json:"models,omitempty"`
	// ModelDescriptions are the models' descriptions (create-model's
	// description), by model name.
	ModelDescriptions map[string]string `json:"modelDescriptions,omitempty"`
	// ModelTexts are the models' schemas as written (create-model's and
	// update-model's text, which get-model returns as it is), by model name,
	// where the text is not Models' compact form; Normalize drops a text that
	// no longer means what the model says (SetModel, ModelText).
	ModelTexts map[string]string `json:"modelTexts,omitempty"`
	// Extensions are the other top-level x-* extensions, kept verbatim.
	Extensions map[string]json.RawMessage `json:"extensions,omitempty"`
	// InfoExtensions, ComponentsExtensions and PathsExtensions are the x-*
	// extensions of the document's info, components and paths objects, and
	// PathItemExtensions those of each path item by path, kept verbatim to
	// be exported again where they stood.
	InfoExtensions       map[string]json.RawMessage            `json:"infoExtensions,omitempty"`
	ComponentsExtensions map[string]json.RawMessage            `json:"componentsExtensions,omitempty"`
	PathsExtensions      map[string]json.RawMessage            `json:"pathsExtensions,omitempty"`
	PathItemExtensions   map[string]map[string]json.RawMessage `json:"pathItemExtensions,omitempty"`
	// Integrations are an HTTP or WebSocket API's integrations as resources of
	// their own (apigatewayv2), by id. A route targets one by IntegrationID and
	// Normalize copies it into the route's Integration, so one integration can
	// serve several routes and every deployment carries resolved routes.
	Integrations map[string]Integration `json:"integrations,omitempty"`
	// Routes are the API's routes in canonical order (path, then method).
	Routes []Route `json:"routes"`
	// Resources are the REST resources the routes do not imply: paths with no
	// methods yet, and resources whose ids were kept across a move (see
	// ResourceTree). Sorted by path.
	Resources []Resource `json:"resources,omitempty"`
}

// RequestValidator is one entry of x-amazon-apigateway-request-validators.
type RequestValidator struct {
	ValidateRequestBody       bool `json:"validateRequestBody"`
	ValidateRequestParameters bool `json:"validateRequestParameters"`
}

// CORSConfiguration is an HTTP API's CORS configuration: the gateway answers
// preflight requests itself and sets the CORS headers of every response.
type CORSConfiguration struct {
	AllowOrigins  []string `json:"allowOrigins,omitempty"`
	AllowMethods  []string `json:"allowMethods,omitempty"`
	AllowHeaders  []string `json:"allowHeaders,omitempty"`
	ExposeHeaders []string `json:"exposeHeaders,omitempty"`
	// MaxAge is Access-Control-Max-Age in seconds (-1..86400); nil is not
	// set (no header), where 0 is a value: a preflight cached for 0 s.
	MaxAge           *int `json:"maxAge,omitempty"`
	AllowCredentials bool `json:"allowCredentials,omitempty"`
}

// GatewayResponse is one entry of x-amazon-apigateway-gateway-responses.
type GatewayResponse struct {
	// StatusCode replaces the type's default status; empty keeps it.
	StatusCode string `json:"statusCode,omitempty"`
	// ResponseParameters map "gatewayresponse.header.X" to a 'literal',
	// method.request.{header,querystring,path}.Y, stageVariables.Z or context.V.
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	// ResponseTemplates are mapping templates by content type.
	ResponseTemplates map[string]string `json:"responseTemplates,omitempty"`
}

// GatewayResponseTypes are API Gateway's gateway response types.
var GatewayResponseTypes = []string{"ACCESS_DENIED", "API_CONFIGURATION_ERROR", "AUTHORIZER_CONFIGURATION_ERROR",
	"AUTHORIZER_FAILURE", "BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY", "DEFAULT_4XX", "DEFAULT_5XX", "EXPIRED_TOKEN",
	"INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "INVALID_API_KEY", "INVALID_SIGNATURE", "MISSING_AUTHENTICATION_TOKEN",
	"QUOTA_EXCEEDED", "REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND", "THROTTLED", "UNAUTHORIZED", "UNSUPPORTED_MEDIA_TYPE",
	"WAF_FILTERED"}

// Route is one method on one path (REST and HTTP APIs) or one route key (WebSocket).
type Route struct {
	// ID is derived from the route key (RouteID): it stays the same across
	// export and import. An HTTP or WebSocket route keeps its id when its key
	// changes; a new route gets it from Normalize (leave it empty).
	ID string `json:"id"`
	// Method is GET, POST, ..., or ANY; empty for "$default" and WebSocket routes.
	Method string `json:"method,omitempty"`
	// Path is the path template ("/pets/{id}", "/{proxy+}") or "$default".
	Path string `json:"path,omitempty"`
	// RouteKey is the WebSocket route key ($connect, $disconnect, $default or a
	// custom key); for REST and HTTP APIs it is "METHOD PATH" or "$default".
	RouteKey string `json:"routeKey"`

	OperationID string   `json:"operationId,omitempty"`
	Summary     string   `json:"summary,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`

	// Integration is what the route calls; nil until one is set.
	Integration *Integration `json:"integration,omitempty"`
	// IntegrationID, when set, names the API's integration (Definition.Integrations)
	// that the route targets ("integrations/{id}"); Integration is then its copy.
	IntegrationID string `json:"integrationId,omitempty"`

	// APIKeyRequired is set when the operation's security names an api_key scheme.
	APIKeyRequired bool `json:"apiKeyRequired,omitempty"`
	// Security is the operation's OpenAPI security requirements (authorizer names
	// and scopes), nil when the operation says nothing.
	Security []map[string][]string `json:"security,omitempty"`
	// RequestValidator names a validator (x-amazon-apigateway-request-validator).
	RequestValidator string `json:"requestValidator,omitempty"`
	// Parameters are the declared request parameters.
	Parameters []Parameter `json:"parameters,omitempty"`
	// RequestModels maps a content type to a model name (the request body).
	RequestModels map[string]string `json:"requestModels,omitempty"`
	// RequestBodyRequired says the request body is required.
	RequestBodyRequired bool `json:"requestBodyRequired,omitempty"`
	// RequestBodyExtensions are the x-* extensions of the request body (a
	// Swagger 2.0 body parameter's), kept verbatim.
	RequestBodyExtensions map[string]json.RawMessage `json:"requestBodyExtensions,omitempty"`
	// Responses are the method responses by status code ("200", "default").
	Responses map[string]MethodResponse `json:"responses,omitempty"`
	// RouteResponseSelectionExpression is "$default" when a WebSocket route sends
	// its integration's result back to the caller (a two-way route).
	RouteResponseSelectionExpression string `json:"routeResponseSelectionExpression,omitempty"`
	// Extensions are the operation's other x-* extensions, kept verbatim.
	Extensions map[string]json.RawMessage `json:"extensions,omitempty"`
	// ResponsesExtensions are the x-* extensions of the operation's
	// responses object, kept verbatim.
	ResponsesExtensions map[string]json.RawMessage `json:"responsesExtensions,omitempty"`
}

// Parameter is one declared request parameter.
type Parameter struct {
	Name     string `json:"name"`
	In       string `json:"in"` // path, query, header
	Required bool   `json:"required,omitempty"`
	// Type is the schema type ("string", "integer", ...); empty means string.
	Type string `json:"type,omitempty"`
	// Extensions are the parameter's x-* extensions, kept verbatim.
	Extensions map[string]json.RawMessage `json:"extensions,omitempty"`
}

// MethodResponse is one declared method response.
type MethodResponse struct {
	Description string `json:"description,omitempty"`
	// Headers are the declared response header names, sorted.
	Headers []string `json:"headers,omitempty"`
	// RequiredHeaders are those of Headers declared required
	// (method.response.header.NAME: true), sorted.
	RequiredHeaders []string `json:"requiredHeaders,omitempty"`
	// Models maps a content type to a model name.
	Models map[string]string `json:"models,omitempty"`
	// Extensions are the response's x-* extensions, kept verbatim.
	Extensions map[string]json.RawMessage `json:"extensions,omitempty"`
}

// Integration is x-amazon-apigateway-integration: what a route calls.
type Integration struct {
	// Type is MOCK, HTTP, HTTP_PROXY, AWS or AWS_PROXY.
	Type string `json:"type"`
	// URI is the backend URL (HTTP, HTTP_PROXY) or the function (AWS_PROXY):
	// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER], the invocation ARN
	// arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations or
	// function:NAME[:QUALIFIER]. It may hold ${stageVariables.NAME}. It is
	// stored as given; ReportedURI is what API Gateway's surfaces report.
	URI string `json:"uri,omitempty"`
	// HTTPMethod is the method used toward the backend (POST for functions).
	HTTPMethod string `json:"httpMethod,omitempty"`
	// TimeoutInMillis is 50..29000 (HTTP APIs: 50..30000); 0 means the
	// default, the most (TimeoutFor).
	TimeoutInMillis int `json:"timeoutInMillis,omitempty"`
	// PayloadFormatVersion is "1.0" or "2.0" for HTTP APIs (default "2.0" for
	// function integrations); REST APIs always use "1.0".
	PayloadFormatVersion string `json:"payloadFormatVersion,omitempty"`
	// RequestParameters map the integration request's parameters. REST APIs:
	// "integration.request.header.X" from "method.request.querystring.Y",
	// "'literal'", "stageVariables.Z" or "context.V". HTTP APIs:
	// "append|overwrite|remove:header.X", "...:querystring.X" or
	// "overwrite:path" from "$request.header.Y", "${request.body.a}", ...
	RequestParameters map[string]string `json:"requestParameters,omitempty"`
	// ResponseParameters (HTTP APIs) map, by the integration's status code
	// ("200".."599"), "append|overwrite|remove:header.X" and
	// "overwrite:statuscode" of the response.
	ResponseParameters map[string]map[string]string `json:"responseParameters,omitempty"`
	RequestTemplates   map[string]string            `json:"requestTemplates,omitempty"`
	// Responses are the integration responses keyed by selection pattern
	// ("default", "2\\d{2}", ...).
	Responses           map[string]IntegrationResponse `json:"responses,omitempty"`
	PassthroughBehavior string                         `json:"passthroughBehavior,omitempty"`
	ContentHandling     string                         `json:"contentHandling,omitempty"`
	CacheKeyParameters  []string                       `json:"cacheKeyParameters,omitempty"`
	CacheNamespace      string                         `json:"cacheNamespace,omitempty"`
	Credentials         string                         `json:"credentials,omitempty"`
	ConnectionType      string                         `json:"connectionType,omitempty"`
	ConnectionID        string                         `json:"connectionId,omitempty"`
	// TLSConfig is kept verbatim.
	TLSConfig json.RawMessage `json:"tlsConfig,omitempty"`
	// Description describes an integration resource (apigatewayv2).
	Description string `json:"description,omitempty"`
	// TemplateSelectionExpression is a WebSocket integration's, as given:
	// "$default" or "\$default" (the "$default" request template is used),
	// or a routeselect expression ("$request.body.kind") selecting the
	// request template by the message (gateway's wsRequestTemplate).
	TemplateSelectionExpression string `json:"templateSelectionExpression,omitempty"`
	// Extensions are the x-* extensions written inside
	// x-amazon-apigateway-integration, kept verbatim.
	Extensions map[string]json.RawMessage `json:"extensions,omitempty"`
}

// Connection types (connectionType) of integrations. Portico refuses
// VPC_LINK: it has no VPC links.
const (
	// ConnectionInternet reaches the integration's uri directly (the default).
	ConnectionInternet = "INTERNET"
	// ConnectionVPCLink reaches it through a VPC link (connectionId).
	ConnectionVPCLink = "VPC_LINK"
)

// Content handling (contentHandling) of integration requests and responses.
const (
	// ContentHandlingToText turns a binary payload into its base64 text.
	ContentHandlingToText = "CONVERT_TO_TEXT"
	// ContentHandlingToBinary base64-decodes a text payload into binary.
	ContentHandlingToBinary = "CONVERT_TO_BINARY"
)

// IntegrationResponse is one entry of an integration's responses.
type IntegrationResponse struct {
	StatusCode         string            `json:"statusCode"`
	ResponseTemplates  map[string]string `json:"responseTemplates,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	ContentHandling    string            `json:"contentHandling,omitempty"`
	// TemplateSelectionExpression is a WebSocket integration response's
	// (apigatewayv2's): which of its responseTemplates renders the answer
	// (WSResponseTemplateSelection). Empty, $default or \$default: the one
	// keyed $default, else the only one.
	TemplateSelectionExpression string `json:"templateSelectionExpression,omitempty"`
	// Extensions are the response's x-* extensions, kept verbatim.
	Extensions map[string]json.RawMessage `json:"extensions,omitempty"`
}

// Timeout returns the integration timeout of a REST or WebSocket API's
// integration, the default (29 s) when unset.
func (i *Integration) Timeout() time.Duration { return i.TimeoutFor(ProtocolREST) }

// TimeoutFor returns the integration timeout in an API of protocol, the
// protocol's default when unset: 30 s for HTTP APIs, 29 s for the others.
func (i *Integration) TimeoutFor(protocol string) time.Duration {
	ms := i.TimeoutInMillis
	if ms == 0 {
		ms = DefaultTimeoutMillis
		if protocol == ProtocolHTTP {
			ms = MaxTimeoutMillisHTTP
		}
	}
	return time.Duration(ms) * time.Millisecond
}

// Deployment is an immutable snapshot of an API's definition.
type Deployment struct {
	ID          string    `json:"id"`
	APIID       string    `json:"apiId"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	// AutoDeployed says the deployment was made by a stage's autoDeploy.
	AutoDeployed bool `json:"autoDeployed,omitempty"`
	// API is the snapshot: the API as it was when deployed.
	API API `json:"api"`
}

// Summary returns the deployment without its snapshot, for listings.
func (d *Deployment) Summary() DeploymentSummary {
	return DeploymentSummary{ID: d.ID, APIID: d.APIID, Description: d.Description, CreatedAt: d.CreatedAt, Routes: len(d.API.Routes),
		AutoDeployed: d.AutoDeployed}
}

// DeploymentSummary is a deployment without its snapshot.
type DeploymentSummary struct {
	ID          string    `json:"id"`
	APIID       string    `json:"apiId"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	Routes      int       `json:"routes"`
	// AutoDeployed says a stage's autoDeploy made the deployment.
	AutoDeployed bool `json:"autoDeployed,omitempty"`
}

// Stage names a deployment of an API and holds its variables and history.
type Stage struct {
	APIID        string            `json:"apiId"`
	Name         string            `json:"name"`
	Description  string            `json:"description,omitempty"`
	DeploymentID string            `json:"deploymentId"`
	Variables    map[string]string `json:"variables,omitempty"`
	// MethodSettings are the stage's per-method settings keyed as API Gateway
	// keys them: "*/*" for every method, "{resourcePath}/{METHOD}" for one
	// ("~1pets~1{id}/GET", see ResolveMethodSettingsKey); for HTTP APIs "*/*" holds the default route settings and
	// a WebSocket or HTTP route key ("$connect", "GET /pets") one route's.
	MethodSettings map[string]MethodSetting `json:"methodSettings,omitempty"`
	// CacheClusterEnabled turns the stage's response cache on; CacheClusterSize
	// is its size in GB, one of AWS's sizes ("0.5" .. "237"), the upper bound of
	// its memory budget.
	CacheClusterEnabled bool   `json:"cacheClusterEnabled,omitempty"`
	CacheClusterSize    string `json:"cacheClusterSize,omitempty"`
	// CanarySettings, when set, send part of the stage's traffic to another
	// deployment (REST APIs).
	CanarySettings *CanarySettings `json:"canarySettings,omitempty"`
	// TracingEnabled turns tracing on for the stage.
	TracingEnabled bool `json:"tracingEnabled,omitempty"`
	// AccessLogSettings say where and how the stage's access log is written.
	AccessLogSettings *AccessLogSettings `json:"accessLogSettings,omitempty"`
	// Tags are the stage's resource tags.
	Tags map[string]string `json:"tags,omitempty"`
	// AutoDeploy deploys every change of the API to the stage (HTTP and
	// WebSocket APIs); LastDeploymentStatusMessage says why the last automatic
	// deployment failed, empty when it succeeded.
	AutoDeploy                  bool   `json:"autoDeploy,omitempty"`
	LastDeploymentStatusMessage string `json:"lastDeploymentStatusMessage,omitempty"`
	// History lists the deployments the stage has pointed at, oldest first; the
	// last entry is the current one.
	History   []HistoryEntry `json:"history"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
}

// MethodSetting is one entry of a stage's method settings, with API Gateway's
// field names. An entry exists only once set; a new entry starts from the
// current "*/*" values.
type MethodSetting struct {
	MetricsEnabled   bool   `json:"metricsEnabled"`
	LoggingLevel     string `json:"loggingLevel,omitempty"` // OFF, ERROR, INFO
	DataTraceEnabled bool   `json:"dataTraceEnabled"`
	// ThrottlingBurstLimit and ThrottlingRateLimit are a token bucket: burst is
	// its size, rate its refill per second. Nil is "not set" (API Gateway's
	// -1): no limit at this level. 0 is a limit like any other: with both 0
	// every request is throttled, with rate 0 the bucket never refills.
	// Records of schema version 1 used 0/0 for "not set";
	// MigrateThrottleUnset rewrites them.
	ThrottlingBurstLimit *int     `json:"throttlingBurstLimit,omitempty"`
	ThrottlingRateLimit  *float64 `json:"throttlingRateLimit,omitempty"`
	CachingEnabled       bool     `json:"cachingEnabled"`
	CacheTTLInSeconds    int      `json:"cacheTtlInSeconds"`
	CacheDataEncrypted   bool     `json:"cacheDataEncrypted"`
	// RequireAuthorizationForCacheControl says a client's Cache-Control:
	// max-age=0 needs authorization; UnauthorizedCacheControlHeaderStrategy says
	// what an unauthorized one gets: FAIL_WITH_403,
	// SUCCEED_WITH_RESPONSE_HEADER or SUCCEED_WITHOUT_RESPONSE_HEADER.
	RequireAuthorizationForCacheControl    bool   `json:"requireAuthorizationForCacheControl"`
	UnauthorizedCacheControlHeaderStrategy string `json:"unauthorizedCacheControlHeaderStrategy,omitempty"`
}

// CanarySettings are a stage's canary release.
type CanarySettings struct {
	// PercentTraffic is 0.0 to 100.0.
	PercentTraffic float64 `json:"percentTraffic"`
	DeploymentID   string  `json:"deploymentId,omitempty"`
	// StageVariableOverrides replace stage variables for canary requests.
	StageVariableOverrides map[string]string `json:"stageVariableOverrides,omitempty"`
	// UseStageCache lets canary requests use the stage's cache.
	UseStageCache bool `json:"useStageCache"`
}

// AccessLogSettings are a stage's access log.
type AccessLogSettings struct {
	// Format uses $context variables.
	Format string `json:"format,omitempty"`
	// DestinationARN is a file path or URL, "stdout", or syslog://host:port.
	DestinationARN string `json:"destinationArn,omitempty"`
}

// History actions.
const (
	ActionCreate   = "create"
	ActionDeploy   = "deploy"
	ActionRollback = "rollback"
	// ActionPromote moves a stage to its canary's deployment.
	ActionPromote = "promote"
)

// HistoryEntry is one move of a stage to a deployment.
type HistoryEntry struct {
	DeploymentID string    `json:"deploymentId"`
	Action       string    `json:"action"`
	At           time.Time `json:"at"`
	Description  string    `json:"description,omitempty"`
}

// MaxHistory bounds a stage's kept history.
const MaxHistory = 200

// WSIntegrationResponseKey is the integrationResponseKey apigatewayv2 names a
// WebSocket integration response by, for its pattern in Integration.Responses:
// "$default" for "default", "/re/" for "re".
func WSIntegrationResponseKey(pattern string) string {
	if pattern == "default" {
		return RouteDefault
	}
	return "/" + pattern + "/"
}
