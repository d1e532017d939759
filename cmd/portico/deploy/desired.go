package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/openapi"
	"github.com/portico-dev/portico/internal/suggest"
	"github.com/portico-dev/portico/shifts"
)

// Desired is what a template asks Portico to hold.
type Desired struct {
	Stack     string
	Functions map[string]*Function
	APIs      map[string]*API
	// Props holds, by logical id, the digest of each top-level property of
	// the template's functions and APIs (propDigests).
	Props map[string]map[string]string
	// SharedPlan is the usage plan SAM makes for the REST APIs whose
	// Auth.UsagePlan says CreateUsagePlan SHARED (ServerlessUsagePlan, with
	// its API key ServerlessApiKey): nil when none does.
	SharedPlan *UsagePlan
	// Warnings name what the template holds that Portico does not act on.
	Warnings []string
}

// Function is a function the template defines.
type Function struct {
	LogicalID string
	Name      string
	// CodePath is the CodeUri directory or zip file (see Package); ImageURI the
	// image (PackageType Image).
	CodePath string `json:"-"`
	ImageURI string
	// sentSHA is the Lambda CodeSha256 (base64 SHA-256) of the Zip package
	// PutFunction sent, for the stack's record.
	sentSHA string
	// keepCode is, for an update whose code is the recorded deploy's (its
	// CodeUri unchanged), that deploy's package's CodeSha256: PutFunction
	// sends no code when $LATEST still runs it (a configuration change
	// alone is UpdateFunctionConfiguration, as CloudFormation makes it).
	keepCode string
	// revision is the RevisionId $LATEST took at PutFunction's last write
	// ("": none written): a rollback puts back the $LATEST it replaced only
	// while $LATEST is still at it, so that a change made since, by hand or
	// by another run, is not undone.
	revision string
	// CodeSHA256 is the digest of the code's files (names, modes and contents),
	// not of the zip, so that a rebuild with the same output is no change.
	CodeSHA256  string
	Handler     string
	Runtime     string
	Description string
	Environment map[string]string
	MemorySize  int
	Timeout     int
	FileSystems []FileSystem
	// Reserved is ReservedConcurrentExecutions; nil leaves it unset.
	Reserved *int
	// Alias is AutoPublishAlias: each change publishes a version and points the
	// alias at it.
	Alias string
	// Provisioned is ProvisionedConcurrencyConfig on the alias.
	Provisioned int
	// EventInvoke is EventInvokeConfig, set (as SAM does) on the alias, or
	// on $LATEST for a function without one; nil leaves none.
	EventInvoke *EventInvoke
	// ImageConfig overrides an Image function's ENTRYPOINT, CMD and WORKDIR;
	// nil runs the image's own.
	ImageConfig *functions.ImageConfig `json:",omitempty"`
	// Architectures is the template's Architectures (one of x86_64, arm64),
	// sent with the configuration so that the server refuses another than
	// its own; nil sends none.
	Architectures []string `json:",omitempty"`
	// Deployment is DeploymentPreference: how a new version takes the
	// alias's traffic (nil, or Enabled false: at once).
	Deployment *DeploymentPreference `json:",omitempty"`
}

// DeploymentPreference is a function's enabled DeploymentPreference: a new
// version takes its alias's traffic by a traffic shift of Type, gated by
// hooks (functions, as the shift invokes them: "name", "name:alias").
type DeploymentPreference struct {
	Type        string
	PreTraffic  string `json:",omitempty"`
	PostTraffic string `json:",omitempty"`
}

// EventInvoke is a function's EventInvokeConfig: its Event invocations'
// retries and maximum age (nil: the default).
type EventInvoke struct {
	MaximumRetryAttempts     *int `json:"maximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"maximumEventAgeInSeconds,omitempty"`
}

// EventInvokeQualifier is the qualifier SAM puts a function's
// EventInvokeConfig on: its AutoPublishAlias, else $LATEST.
func EventInvokeQualifier(alias string) string {
	if alias == "" {
		return functions.Latest
	}
	return alias
}

// String says what e sets, for progress lines.
func (e *EventInvoke) String() string {
	if e == nil {
		return "none"
	}
	show := func(p *int, def string) string {
		if p == nil {
			return def
		}
		return fmt.Sprint(*p)
	}
	age := "default"
	if p := e.MaximumEventAgeInSeconds; p != nil {
		age = fmt.Sprintf("%d s", *p)
	}
	return fmt.Sprintf("%s retries, maximum age %s", show(e.MaximumRetryAttempts, "default"), age)
}

func sameEventInvoke(a, b *EventInvoke) bool {
	if a == nil || b == nil {
		return a == b
	}
	return sameInt(a.MaximumRetryAttempts, b.MaximumRetryAttempts) && sameInt(a.MaximumEventAgeInSeconds, b.MaximumEventAgeInSeconds)
}

// FileSystem is a FileSystemConfigs entry (Portico volumes: portico:volume:NAME).
type FileSystem struct {
	Arn            string
	LocalMountPath string
}

// Fingerprint is the digest of everything a published version pins: a change
// publishes a new version.
func (f *Function) Fingerprint() string {
	if len(f.Architectures) > 0 || f.ImageConfig != nil {
		// Only when set, so that the functions of templates without them
		// keep the fingerprint they were deployed with.
		return digest(struct{ Base, Arch, Image any }{f.baseFingerprint(), f.Architectures, f.ImageConfig})
	}
	return f.baseFingerprint()
}

// baseFingerprint is the Fingerprint of f without its Architectures and
// ImageConfig.
func (f *Function) baseFingerprint() string {
	return digest(struct {
		Code, Image, Handler, Runtime, Description string
		Env                                        map[string]string
		Memory, Timeout                            int
		FS                                         []FileSystem
	}{f.CodeSHA256, f.ImageURI, f.Handler, f.Runtime, f.Description, f.Environment, f.MemorySize, f.Timeout, f.FileSystems})
}

// API is a REST, HTTP or WebSocket API the template defines, with its stage.
type API struct {
	LogicalID string
	Name      string
	Protocol  string
	// Document is the OpenAPI document of a REST or HTTP API.
	Document map[string]any
	// WebSocket APIs: the route selection expression and routes.
	RouteSelection string
	Routes         []WSRoute
	// APIKeySource is a WebSocket API's ApiKeySelectionExpression as the
	// gateway's model has it: AUTHORIZER ($context.authorizer.usageIdentifierKey),
	// or "" for the default, the x-api-key header.
	APIKeySource string
	// Stage is the stage name; Variables its variables.
	Stage     string
	Variables map[string]string
	// StageOps are API Gateway patch operations for the stage's settings
	// (cache, tracing, method settings).
	StageOps []PatchOp
	// HTTPStage is an HTTP or WebSocket API stage's route settings (and an
	// HTTP API's access log), set through the apigatewayv2 stage (nil: the
	// template sets none).
	HTTPStage *HTTPStage
	// Pinned is, for an AWS::ApiGatewayV2::Stage (of an HTTP or WebSocket
	// API) without AutoDeploy, the logical id of the AWS::ApiGatewayV2::Deployment
	// it serves: a change of the definition is deployed to the stage only
	// with a Deployment of a new logical id, as on API Gateway ("" with
	// AutoDeploy, and for every other API: each change is deployed).
	Pinned string
	// AutoDeploy is an HTTP or WebSocket API stage that deploys every change
	// of the API itself (apigatewayv2's autoDeploy): an
	// AWS::ApiGatewayV2::Stage with AutoDeploy: true, a quick create's
	// $default stage, an AWS::Serverless::HttpApi's stage (SAM makes it with
	// AutoDeploy: true). A change made by hand after the deploy is then
	// deployed too, as on API Gateway. It is in no fingerprint: what the
	// template asks of the stage is Pinned's.
	AutoDeploy bool
	// Canary, when set, sends each new deployment of an existing stage to the
	// stage's canary.
	Canary *Canary
	// Tags are an AWS::Serverless::Api's Tags, which SAM puts on the REST
	// API and on its stage (the Tags of the AWS::ApiGateway::RestApi and
	// Stage it makes). Part of the stage's fingerprint.
	Tags map[string]string
	// UsagePlan, when set, is the API's Auth.UsagePlan: a usage plan of its
	// own on the stage with an API key in it (CreateUsagePlan PER_API), or
	// its part of the stack's shared one (SHARED: Desired.SharedPlan).
	UsagePlan *UsagePlan
	// Authorizers are a WebSocket API's security schemes, by name: its
	// AWS::ApiGatewayV2::Authorizer resources (Lambda REQUEST) and, when a
	// route is AWS_IAM, the IAM scheme (wsIAMScheme).
	Authorizers map[string]json.RawMessage
	// V2 is what an HTTP API of AWS::ApiGatewayV2 resources sets beyond its
	// routes and authorizers (nil for every other API; see httpv2.go).
	V2 *V2HTTP
	// EndpointOff is a WebSocket API's DisableExecuteApiEndpoint: its stage
	// URLs refuse the handshake (the gateway's endpoint configuration
	// extension, as for a REST or HTTP API).
	EndpointOff bool
	// Warnings are the importer's for the document.
	Warnings []string
	// failOnWarnings is FailOnWarnings: the importer's warnings fail the
	// deploy.
	failOnWarnings bool
}

// WSRoute is a WebSocket route with a function integration.
type WSRoute struct {
	Key    string `json:"routeKey"`
	URI    string `json:"uri"`
	Type   string `json:"type"`
	TwoWay bool   `json:"twoWay,omitempty"`
	// RequestParameters is the integration's WebSocket data mapping
	// (HTTP_PROXY integrations: integration.request.header.X from
	// context.connectionId, ...).
	RequestParameters map[string]string `json:"requestParameters,omitempty"`
	// The rest of the integration (AWS::ApiGatewayV2::Integration and its
	// IntegrationResponses) and of the route; each is left out of the
	// fingerprint when unset, so that a route with none of them digests as
	// earlier deploys recorded it.
	Method            string                              `json:"method,omitempty"`
	TimeoutInMillis   int                                 `json:"timeoutInMillis,omitempty"`
	RequestTemplates  map[string]string                   `json:"requestTemplates,omitempty"`
	TemplateSelection string                              `json:"templateSelectionExpression,omitempty"`
	Passthrough       string                              `json:"passthroughBehavior,omitempty"`
	Responses         map[string]apis.IntegrationResponse `json:"responses,omitempty"`
	// Authorization is AWS_IAM or CUSTOM (Authorizer names the API's
	// scheme); empty for NONE.
	Authorization string `json:"authorization,omitempty"`
	Authorizer    string `json:"authorizer,omitempty"`
	// Parameters are the route's RequestParameters (Required ones are
	// checked on $connect).
	Parameters []apis.Parameter `json:"parameters,omitempty"`
	// HTTP API routes of AWS::ApiGatewayV2 resources: the JWT route's
	// AuthorizationScopes, and the integration's PayloadFormatVersion and
	// ResponseParameters (by status code).
	Scopes             []string                     `json:"scopes,omitempty"`
	PayloadFormat      string                       `json:"payloadFormatVersion,omitempty"`
	ResponseParameters map[string]map[string]string `json:"responseParameters,omitempty"`
	// RouteResponse says an AWS::ApiGatewayV2::RouteResponse ($default)
	// belongs to the route.
	RouteResponse bool   `json:"routeResponse,omitempty"`
	OperationName string `json:"operationName,omitempty"`
	// APIKeyRequired: the $connect handshake needs an API key of a usage
	// plan on the stage.
	APIKeyRequired bool `json:"apiKeyRequired,omitempty"`
}

// wsIAMScheme is the security scheme an AWS_IAM WebSocket route names, as
// apigatewayv2's update-route --authorization-type AWS_IAM writes it.
const (
	wsIAMScheme    = "sigv4"
	wsIAMSchemeDoc = `{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"awsSigv4"}`
)

// model is the route as the gateway's model has it.
func (r *WSRoute) model() apis.Route {
	rt := apis.Route{RouteKey: r.Key, OperationID: r.OperationName, Parameters: r.Parameters, APIKeyRequired: r.APIKeyRequired, Integration: &apis.Integration{
		Type: r.Type, URI: r.URI, RequestParameters: r.RequestParameters, HTTPMethod: r.Method, TimeoutInMillis: r.TimeoutInMillis,
		RequestTemplates: r.RequestTemplates, TemplateSelectionExpression: r.TemplateSelection,
		PassthroughBehavior: r.Passthrough, Responses: r.Responses,
		PayloadFormatVersion: r.PayloadFormat, ResponseParameters: r.ResponseParameters,
	}}
	if r.TwoWay {
		rt.RouteResponseSelectionExpression = apis.RouteDefault
	}
	if r.RouteResponse {
		// Where apigatewayv2's create-route-response keeps the $default one.
		rt.Responses = map[string]apis.MethodResponse{"default": {}}
	}
	switch r.Authorization {
	case apis.AuthorizerIAM:
		rt.Security = []map[string][]string{{wsIAMScheme: {}}}
	case wsCustom:
		rt.Security = []map[string][]string{{r.Authorizer: {}}}
	case apis.AuthorizerJWT:
		rt.Security = []map[string][]string{{r.Authorizer: append([]string{}, r.Scopes...)}}
	}
	return rt
}

// wsModel is the WebSocket API a as the gateway's model has it: what check
// validates, and what CreateAPI and ReplaceAPI send.
func wsModel(a *API) *apis.API {
	m := &apis.API{Name: a.Name, Protocol: a.Protocol}
	m.RouteSelectionExpression = a.RouteSelection
	m.APIKeySource = a.APIKeySource
	m.Authorizers = a.Authorizers
	if a.EndpointOff {
		m.Extensions = map[string]json.RawMessage{extEndpointConfig: json.RawMessage(`{"disableExecuteApiEndpoint":true}`)}
	}
	for i := range a.Routes {
		m.Routes = append(m.Routes, a.Routes[i].model())
	}
	a.V2.model(m)
	return m
}

// PatchOp is an API Gateway patch operation.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value,omitempty"`
}

// HTTPStage is what an AWS::Serverless::HttpApi sets on its stage through
// the apigatewayv2 stage, as SAM's translator puts it on the
// AWS::ApiGatewayV2::Stage it makes: DefaultRouteSettings, RouteSettings (by
// route key, the events' own merged in) and AccessLogSettings.
type HTTPStage struct {
	DefaultRouteSettings *RouteSettings           `json:"defaultRouteSettings,omitempty"`
	RouteSettings        map[string]RouteSettings `json:"routeSettings,omitempty"`
	AccessLogSettings    *AccessLogSettings       `json:"accessLogSettings,omitempty"`
}

// RouteSettings are the settings of one route (or the stage's default) a
// template sets; nil fields are not set.
type RouteSettings struct {
	ThrottlingBurstLimit   *int     `json:"throttlingBurstLimit,omitempty"`
	ThrottlingRateLimit    *float64 `json:"throttlingRateLimit,omitempty"`
	DetailedMetricsEnabled *bool    `json:"detailedMetricsEnabled,omitempty"`
}

// AccessLogSettings are a stage's access log: where to and in which format.
type AccessLogSettings struct {
	DestinationArn string `json:"destinationArn"` //nolint:revive // AWS's field name
	Format         string `json:"format"`
}

// Canary is a stage's canary setting.
type Canary struct {
	PercentTraffic         float64           `json:"percentTraffic"`
	StageVariableOverrides map[string]string `json:"stageVariableOverrides,omitempty"`
	UseStageCache          bool              `json:"useStageCache"`
}

// UsagePlan is a usage plan on one API stage (or, shared, on the stages of
// the APIs that share it), with the API key SAM makes for it.
type UsagePlan struct {
	Name     string         `json:"name"`
	Throttle map[string]any `json:"throttle,omitempty"`
	Quota    map[string]any `json:"quota,omitempty"`
	// KeyName is the name of the plan's API key (SAM's <Api>ApiKey, or
	// ServerlessApiKey): CloudFormation names a key without a Name after
	// the stack and its logical id, as Portico does. It is not part of the
	// plan's fingerprint: the key, once made, is kept.
	KeyName string `json:"-"`
	// Shared: the API's part of Desired.SharedPlan (CreateUsagePlan SHARED).
	Shared bool `json:"-"`
	// KeyDisabled and KeyValueDigest are a raw AWS::ApiGateway::ApiKey's
	// Enabled: false and the SHA-256 of its Value (keyValue), part of the
	// fingerprint so that a change reaches the key; SAM's keys have neither.
	KeyDisabled    bool   `json:"keyDisabled,omitempty"`
	KeyValueDigest string `json:"keyValue,omitempty"`
	keyValue       string
	// PlanLogical and KeyLogical are the logical ids of a raw usage plan
	// and its API key ("": SAM's <Api>UsagePlan and <Api>ApiKey).
	PlanLogical string `json:"-"`
	KeyLogical  string `json:"-"`
	// set names the properties the template gave (UsagePlanName, Throttle,
	// Quota), for merging a shared plan's.
	set map[string]bool
}

// planLogical and keyLogical are the logical ids of the API's own plan
// and its key, as the template or SAM names them.
func (a *API) planLogical() string {
	if p := a.ownPlan(); p != nil && p.PlanLogical != "" {
		return p.PlanLogical
	}
	return a.LogicalID + "UsagePlan"
}

// KeyLogicalID is the logical id of the API key of the API's own usage plan:
// the template's AWS::ApiGateway::ApiKey, or SAM's <Api>ApiKey.
func (a *API) KeyLogicalID() string { return a.keyLogical() }

func (a *API) keyLogical() string {
	if p := a.ownPlan(); p != nil && p.KeyLogical != "" {
		return p.KeyLogical
	}
	return a.LogicalID + "ApiKey"
}

// keySpec is the API key to make for the plan.
func (p *UsagePlan) keySpec() APIKeySpec {
	return APIKeySpec{Name: p.KeyName, Enabled: !p.KeyDisabled, Value: p.keyValue}
}

// ownPlan is the API's own usage plan (CreateUsagePlan PER_API), or nil.
func (a *API) ownPlan() *UsagePlan {
	if a.UsagePlan == nil || a.UsagePlan.Shared {
		return nil
	}
	return a.UsagePlan
}

// DefinitionFingerprint is the digest of the API's definition: a change
// replaces the definition and deploys it. How a function integration's URI
// or a Lambda authorizer's authorizerUri names its function
// (function:NAME, the function ARN or the invocation ARN) is not part of it:
// each is digested as API Gateway reports it (apis.ReportedURI with REST's
// invocation ARN).
func (a *API) DefinitionFingerprint() string {
	var v any
	if err := unmarshalNumbers(a.definitionDigested(), &v); err != nil {
		return a.legacyDefinitionFingerprint()
	}
	objectsOf(v, func(o map[string]any) {
		if u, ok := o["authorizerUri"].(string); ok {
			o["authorizerUri"] = apis.ReportedAuthorizerURI(u)
		}
		if u, ok := o["uri"].(string); ok {
			typ, _ := o["type"].(string)
			o["uri"] = apis.ReportedURI(apis.ProtocolREST, typ, u)
		}
	})
	return digest(v)
}

// legacyDefinitionFingerprint is the DefinitionFingerprint that builds
// before URIs were digested as reported recorded, of the definition's URIs
// as written: a stack such a build deployed is not deployed again for it.
func (a *API) legacyDefinitionFingerprint() string {
	sum := sha256.Sum256(a.definitionDigested())
	return hex.EncodeToString(sum[:])
}

// unchangedDefinition reports whether fingerprint, recorded by a deploy, is
// the API's definition's, as this build or an earlier one digests it.
func (a *API) unchangedDefinition(fingerprint string) bool {
	return fingerprint == a.DefinitionFingerprint() || fingerprint == a.legacyDefinitionFingerprint()
}

// definitionDigested is the JSON of what DefinitionFingerprint digests.
func (a *API) definitionDigested() []byte {
	b, _ := json.Marshal(struct {
		Name, Protocol, Sel string
		Doc                 map[string]any
		Routes              []WSRoute
		// Auth and V2 are left out when empty, as earlier deploys
		// recorded them.
		Auth map[string]json.RawMessage `json:",omitempty"`
		V2   *V2HTTP                    `json:",omitempty"`
		// KeySource is left out when empty, as earlier deploys recorded it.
		KeySource string `json:",omitempty"`
		Off       bool   `json:",omitempty"`
	}{a.Name, a.Protocol, a.RouteSelection, a.Document, a.Routes, a.Authorizers, a.V2, a.APIKeySource, a.EndpointOff}) // maps marshal in key order
	return b
}

// unmarshalNumbers decodes JSON keeping numbers as written (json.Number),
// so that a re-encoding digests them as they were.
func unmarshalNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// objectsOf calls fn with every JSON object in v, outermost first.
func objectsOf(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, e := range v {
			objectsOf(e, fn)
		}
	case []any:
		for _, e := range v {
			objectsOf(e, fn)
		}
	}
}

// StageFingerprint is the digest of the stage's settings.
func (a *API) StageFingerprint() string {
	return digest(struct {
		Stage  string
		Vars   map[string]string
		Ops    []PatchOp
		Canary *Canary
		// HTTP and Tags are left out when empty, so that the digest of a
		// stage without them stays what earlier deploys recorded.
		HTTP *HTTPStage        `json:",omitempty"`
		Tags map[string]string `json:",omitempty"`
	}{a.Stage, a.Variables, a.StageOps, a.Canary, a.HTTPStage, a.Tags})
}

// PlanFingerprint is the digest of the API's own usage plan ("" without one).
func (a *API) PlanFingerprint() string {
	if a.ownPlan() == nil {
		return ""
	}
	return digest(a.UsagePlan)
}

func digest(v any) string {
	b, _ := json.Marshal(v) // maps marshal in key order
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// builder turns a resolved template into a Desired.
type builder struct {
	t    *Template
	d    *Desired
	errs []error
	// eventRoutes are the REST/HTTP operations function events add, by API.
	eventRoutes map[string][]eventRoute
	// wsIntegrations maps an AWS::ApiGatewayV2::Integration to its URI.
	wsIntegrations map[string]map[string]any
	// wsRouteOwners names, by API and route key, the route's and its
	// integration's logical ids, for the gateway model's errors (wsOwners).
	wsRouteOwners map[string]map[string]string
	// wsAuthorizers maps an AWS::ApiGatewayV2::Authorizer to its API and
	// the name of its security scheme.
	wsAuthorizers map[string]wsAuthorizer
	// wsIntegResponses are the AWS::ApiGatewayV2::IntegrationResponse
	// resources by integration, keyed as the model keeps them ("default",
	// a status pattern).
	wsIntegResponses map[string]map[string]apis.IntegrationResponse
	// wsRouteResponses are the routes an AWS::ApiGatewayV2::RouteResponse
	// names.
	wsRouteResponses map[string]bool
}

// eventRoute is one Api or HttpApi event: an operation on an API.
type eventRoute struct {
	fn             string
	method, path   string
	uri            string
	http           bool
	payload        string
	apiKeyRequired *bool
	authorizer     string
	scopes         []any
	timeoutMillis  int
	// policy is the event's Auth.ResourcePolicy (SAM's ResourcePolicyStatement).
	policy map[string]any
	// invokeRole is the event's Auth.InvokeRole (NONE or CALLER_CREDENTIALS;
	// "" takes the API's).
	invokeRole string
	// where names the event in errors and warnings.
	where string
	// validation is the event's RequestModel and RequestParameters.
	validation requestValidation
	// routeSettings is an HttpApi event's RouteSettings (nil: none).
	routeSettings any
}

// requestValidation is what an Api event's RequestModel and RequestParameters
// declare, as SAM reads them.
type requestValidation struct {
	// model is RequestModel.Model ("" without a RequestModel); modelRequired
	// its Required (nil when unset).
	model         string
	modelRequired *bool
	// validator is the request validator SAM attaches to the method (nil
	// when the RequestModel sets neither ValidateBody nor ValidateParameters).
	validator *apis.RequestValidator
	params    []requestParam
}

// requestParam is one of an event's RequestParameters.
type requestParam struct {
	// name is the full name (method.request.querystring.q); in and short are
	// its OpenAPI location (query, header, path) and name (q).
	name, in, short   string
	required, caching bool
}

func (b *builder) fail(format string, args ...any) {
	err := fmt.Errorf(format, args...)
	for _, e := range b.errs {
		if e.Error() == err.Error() {
			return // found twice (a check of its own and the server's): said once
		}
	}
	b.errs = append(b.errs, err)
}

func (b *builder) warn(format string, args ...any) {
	b.d.Warnings = append(b.d.Warnings, fmt.Sprintf(format, args...))
}

// str returns property k of m as a string ("" when it is not set). A number
// or a boolean is taken as its text, as CloudFormation coerces a scalar where a
// string goes; a mapping, a list or null fails the build, naming where and k:
// ignored, it would leave the setting at its default (an AuthorizationType
// written as a list would deploy the route open).
func (b *builder) str(where string, m map[string]any, k string) string {
	v, set := m[k]
	if !set {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case float64, bool:
		return fmt.Sprint(x)
	}
	b.fail("%s: %s must be a string, not %s", where, k, shape(v))
	return ""
}

// boolean returns property k of m as a boolean, and whether it is set. The
// strings "true" and "false" are taken, as CloudFormation takes them; any
// other value fails the build, naming where and k.
func (b *builder) boolean(where string, m map[string]any, k string) (v, set bool) {
	x, set := m[k]
	if !set {
		return false, false
	}
	switch x {
	case true, "true":
		return true, true
	case false, "false":
		return false, true
	}
	b.fail("%s: %s must be true or false, not %s", where, k, shape(x))
	return false, false
}

// mapping returns property k of props as a mapping (nil, true when it is not
// set). A value of another shape fails the build, naming where, the property
// and what it takes, as SAM refuses it: ignored, an Auth or Events written as
// a list would deploy open or without routes.
func (b *builder) mapping(where string, props map[string]any, k, takes string) (map[string]any, bool) {
	v, set := props[k]
	if !set {
		return nil, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		b.fail("%s: property %s must be a mapping (%s), not %s", where, k, takes, shape(v))
		return nil, false
	}
	return m, true
}

// Build reads the template's resources into what Portico should hold, and
// checks everything it can without the server: code paths and packages,
// property values, and each API document through the gateway's importer.
func Build(t *Template) (*Desired, error) {
	b := &builder{t: t, d: &Desired{Stack: t.stack, Functions: map[string]*Function{}, APIs: map[string]*API{}},
		eventRoutes: map[string][]eventRoute{}, wsIntegrations: map[string]map[string]any{},
		wsAuthorizers: map[string]wsAuthorizer{}, wsIntegResponses: map[string]map[string]apis.IntegrationResponse{}, wsRouteResponses: map[string]bool{}}
	b.d.Warnings = append(b.d.Warnings, t.Warnings...)
	ids := slices.Sorted(maps.Keys(t.Resources))
	// Functions' names first: they resolve Refs and ARNs everywhere, the
	// functions' own properties included (an environment variable holding
	// another function's ARN).
	fnNames := map[string]string{}
	for _, id := range ids {
		if r := t.Resources[id]; r.Type == TypeFunction {
			fnNames[id] = b.functionName(id, r.Properties)
		}
	}
	b.resolveFunctionTokens(fnNames)
	for _, id := range ids {
		if r := t.Resources[id]; r.Type == TypeFunction {
			b.function(id, r.Properties)
		}
	}
	names := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(b.d.Functions)) {
		n := b.d.Functions[id].Name
		if other, ok := names[n]; ok {
			b.fail("%s and %s are both named function %s", other, id, n)
		}
		names[n] = id
	}
	for _, id := range ids {
		r := t.Resources[id]
		switch r.Type {
		case TypeFunction:
			b.events(id, r.Properties)
		case TypeAPI, TypeHTTPAPI, TypeV2API, TypeV2Route, TypeV2Integration, TypeV2Stage, TypeV2Deployment,
			TypeV2Authorizer, TypeV2IntegrationResponse, TypeV2RouteResponse, TypeUsagePlan, TypeAPIKey, TypeUsagePlanKey:
		case TypeV2Model:
			b.fail("%s (%s): models are refused: the gateway does not validate WebSocket messages against them, "+
				"so a route's RequestModels would let through what they refuse; remove the model", id, r.Type)
		case TypePermission:
			b.permission(id, r.Properties)
		case "AWS::Serverless::Application", "AWS::CloudFormation::Stack":
			// Its functions and APIs would be missing, not merely unmanaged.
			b.fail("%s (%s): nested applications are refused: deploy the application's template as a stack of its own", id, r.Type)
		default:
			if wafAssociationTypes[r.Type] {
				b.wafAssociation(id, r.Type, r.Properties)
				continue
			}
			b.warn("%s: resource type %s is not supported by Portico and is not deployed", id, r.Type)
		}
	}
	for _, id := range ids {
		r := t.Resources[id]
		switch r.Type {
		case TypeAPI:
			b.restAPI(id, r.Properties, false)
		case TypeHTTPAPI:
			b.restAPI(id, r.Properties, true)
		case TypeV2Integration:
			b.v2Integration(id, r.Properties)
		}
	}
	for api := range b.eventRoutes {
		if _, ok := b.d.APIs[api]; ok || strings.HasPrefix(api, "ws:") {
			continue
		}
		switch api {
		case ImplicitRestAPI:
			b.restAPI(api, map[string]any{"StageName": "Prod"}, false)
		case ImplicitHTTPAPI:
			b.restAPI(api, map[string]any{}, true)
		default:
			if r := t.Resources[api]; r != nil && (r.Type == TypeAPI || r.Type == TypeHTTPAPI) {
				continue // it is one; what is wrong with it was said
			}
			b.fail("an event names API %s, which is not an AWS::Serverless::Api or AWS::Serverless::HttpApi of the template", api)
		}
	}
	for _, id := range ids {
		if r := t.Resources[id]; r.Type == TypeV2API {
			b.v2API(id, r.Properties)
		}
	}
	for api := range b.eventRoutes {
		if id, ok := strings.CutPrefix(api, "ws:"); ok {
			if a := b.d.APIs[id]; a == nil || a.Protocol != apis.ProtocolWebSocket {
				b.fail("a WebSocket event names API %s, which is not an AWS::ApiGatewayV2::Api (WEBSOCKET) of the template", id)
			}
		}
	}
	for _, id := range ids {
		switch r := t.Resources[id]; r.Type {
		case TypeV2Authorizer:
			b.v2Authorizer(id, r.Properties)
		case TypeV2IntegrationResponse:
			b.v2IntegrationResponse(id, r.Properties)
		case TypeV2RouteResponse:
			b.v2RouteResponse(id, r.Properties)
		}
	}
	for _, id := range ids {
		switch r := t.Resources[id]; r.Type {
		case TypeV2Route:
			b.v2Route(id, r.Properties)
		case TypeV2Stage:
			b.v2Stage(id, r.Properties)
		}
	}
	b.rawPlans()
	b.sharedPlan()
	if len(b.errs) == 0 {
		b.leftovers()
	}
	if len(b.errs) == 0 {
		for _, id := range slices.Sorted(maps.Keys(b.d.APIs)) {
			b.check(b.d.APIs[id])
		}
	}
	if len(b.errs) > 0 {
		return nil, t.RedactError(errors.Join(b.errs...)) // a NoEcho value is never shown
	}
	for i, w := range b.d.Warnings {
		b.d.Warnings[i] = t.Redact(w)
	}
	b.d.Props = map[string]map[string]string{}
	for _, id := range ids {
		r := t.Resources[id]
		switch r.Type {
		case TypeFunction, TypeAPI, TypeHTTPAPI, TypeV2API:
			code := ""
			if f := b.d.Functions[id]; f != nil {
				code = f.CodeSHA256
			}
			b.d.Props[id] = propDigests(r.Properties, code)
		}
	}
	return b.d, nil
}

// propDigests is the digest of each top-level property of a resource, as the
// template resolves it, for the plan to name the properties a change
// changed, as CloudFormation's change set does (Scope: Properties). A
// function's CodeUri counts its code's files too (code, their digest), so
// that rebuilt code is a changed CodeUri, as a new S3 key of sam package's
// is a changed Code property.
func propDigests(props map[string]any, code string) map[string]string {
	out := make(map[string]string, len(props))
	for k, v := range props {
		if k == "CodeUri" && code != "" {
			v = []any{v, code}
		}
		out[k] = digest(v)
	}
	return out
}

// changedProps names the top-level properties whose digests differ between
// was (the record's; nil: recorded before Portico kept them) and now, set,
// changed or removed, in order.
func changedProps(was, now map[string]string) []string {
	if was == nil || now == nil {
		return nil
	}
	var out []string
	for k, v := range now {
		if was[k] != v {
			out = append(out, k)
		}
	}
	for k := range was {
		if _, ok := now[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// known lists the properties each type supports; others get a warning.
var known = map[string]map[string]bool{
	TypeFunction: set("CodeUri", "ImageUri", "PackageType", "Handler", "Runtime", "Environment", "MemorySize", "Timeout",
		"ReservedConcurrentExecutions", "ProvisionedConcurrencyConfig", "AutoPublishAlias", "Events", "FunctionName",
		"Description", "FileSystemConfigs", "VersionDescription", "EventInvokeConfig", "ImageConfig", "DeploymentPreference"),
	TypeAPI: set("StageName", "Variables", "DefinitionBody", "DefinitionUri", "Auth", "Cors", "CanarySetting",
		"CacheClusterEnabled", "CacheClusterSize", "MethodSettings", "Name", "Description", "TracingEnabled",
		"BinaryMediaTypes", "OpenApiVersion", "MinimumCompressionSize", "ApiKeySourceType", "Models", "GatewayResponses",
		"FailOnWarnings", "AccessLogSetting", "Tags"),
	TypeHTTPAPI: set("StageName", "StageVariables", "DefinitionBody", "DefinitionUri", "Auth", "CorsConfiguration",
		"DefaultRouteSettings", "RouteSettings", "AccessLogSettings", "Name", "Description", "FailOnWarnings"),
	TypeV2API: set("Name", "ProtocolType", "RouteSelectionExpression", "Description", "ApiKeySelectionExpression", "DisableExecuteApiEndpoint"),
	TypeV2Route: set("ApiId", "RouteKey", "Target", "AuthorizationType", "AuthorizerId", "OperationName", "RouteResponseSelectionExpression",
		"RequestParameters", "ApiKeyRequired"),
	TypeV2Integration: set("ApiId", "IntegrationType", "IntegrationUri", "Description", "IntegrationMethod", "PayloadFormatVersion", "RequestParameters",
		"RequestTemplates", "TemplateSelectionExpression", "PassthroughBehavior", "TimeoutInMillis"),
	TypeV2Authorizer:          set("ApiId", "AuthorizerType", "AuthorizerUri", "IdentitySource", "Name"),
	TypeV2IntegrationResponse: set("ApiId", "IntegrationId", "IntegrationResponseKey", "ResponseTemplates", "TemplateSelectionExpression"),
	TypeV2RouteResponse:       set("ApiId", "RouteId", "RouteResponseKey"),
	TypeV2Stage: set("ApiId", "StageName", "DeploymentId", "Description", "StageVariables", "AutoDeploy",
		"DefaultRouteSettings", "RouteSettings", "AccessLogSettings"),
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// refusedProps lists, by type, the properties that would restrict access or
// reach if Portico acted on them: ignoring one would leave open what the
// template closes, so a value other than the harmless one fails the deploy
// with the reason instead of a warning.
var refusedProps = map[string]map[string]func(v any) string{
	TypeV2Integration: {
		"CredentialsArn": func(any) string {
			return "integration credentials are not supported: Portico calls integrations without assuming an IAM role, so the role could not limit what the integration calls"
		},
		"ConnectionType": func(v any) string {
			if v == apis.ConnectionInternet {
				return ""
			}
			return "only INTERNET is supported: Portico has no VPC links"
		},
		"ConnectionId":            func(any) string { return "VPC links are not supported" },
		"ContentHandlingStrategy": unlessEmpty("the gateway passes a message to the integration as the client sent it and does not convert it"),
		"IntegrationSubtype":      unlessEmpty("AWS service integrations (integration subtypes) are not supported"),
		"ResponseParameters":      unlessEmpty("response parameter mappings are HTTP APIs': a WebSocket route's answer is a message, without a status or headers to map"),
		"TlsConfig":               unlessEmpty("it configures private (VPC link) integrations, which Portico does not have"),
		"PayloadFormatVersion": func(v any) string {
			if v == "1.0" {
				return ""
			}
			return "WebSocket integrations take payload format 1.0 only"
		},
	},
	TypeV2Route: {
		"AuthorizationScopes": unlessEmpty("scopes are checked for JWT authorizers only, which WebSocket APIs do not have"),
		"ModelSelectionExpression": unlessEmpty("the gateway does not validate WebSocket messages against models, " +
			"so the messages the models would refuse would reach the integration"),
		"RequestModels": unlessEmpty("the gateway does not validate WebSocket messages against models, " +
			"so the messages the models would refuse would reach the integration"),
	},
	TypeV2Authorizer: {
		"AuthorizerCredentialsArn":       unlessEmpty("Portico invokes authorizers without assuming an IAM role, so the role could not limit anything"),
		"AuthorizerPayloadFormatVersion": unlessEmpty("it is HTTP APIs'; a WebSocket API's authorizer gets the REQUEST event of payload 1.0"),
		"AuthorizerResultTtlInSeconds": func(v any) string {
			if n, ok := number(v); ok && n == 0 {
				return ""
			}
			return "a WebSocket API's authorizer runs on every $connect and its result is not cached"
		},
		"EnableSimpleResponses": func(v any) string {
			if b, ok := boolean(v); ok && !b {
				return ""
			}
			return "simple responses are HTTP API authorizers'; a WebSocket API's authorizer answers an IAM policy"
		},
		"IdentityValidationExpression": unlessEmpty("it is TOKEN authorizers' (REST APIs), and a WebSocket API's authorizer is REQUEST: nothing would check it"),
		"JwtConfiguration":             unlessEmpty("JWT authorizers are HTTP APIs'"),
	},
	TypeV2IntegrationResponse: {
		"ContentHandlingStrategy": unlessEmpty("the gateway does not convert a WebSocket integration response's payload"),
		"ResponseParameters":      unlessEmpty("a WebSocket route's answer is a message, without headers to map"),
	},
	TypeV2RouteResponse: {
		"ModelSelectionExpression": unlessEmpty("the gateway does not check route responses against models"),
		"ResponseModels":           unlessEmpty("the gateway does not check route responses against models"),
		"ResponseParameters":       unlessEmpty("a WebSocket route's answer is a message, without headers"),
	},
	TypeAPI:      endpointProps,
	TypeHTTPAPI:  endpointProps,
	TypeFunction: functionRefusals,
}

// unlessEmpty refuses a property, for why, unless its value is empty (an
// empty string, list or mapping, null or false).
func unlessEmpty(why string) func(v any) string {
	return func(v any) string {
		if isEmpty(v) || v == false || v == "false" {
			return ""
		}
		return why
	}
}

// strictTypes are the types whose every property Portico does not apply is
// refused, not ignored with a warning: a WebSocket route's or authorizer's
// setting left out would run the route otherwise than the template says.
var strictTypes = map[string]bool{TypeV2Route: true, TypeV2Integration: true, TypeV2Authorizer: true,
	TypeV2IntegrationResponse: true, TypeV2RouteResponse: true}

// permission reads an AWS::Lambda::Permission. portico deploy applies no
// resource policy, and a function without one may be called by any API of
// the server: a permission that grants the gateway (or anyone) no more than
// that, or grants a principal only Lambda's own services would use, is
// accepted with a warning; one that would narrow which APIs may call the
// function (SourceArn, a SourceAccount or organisation other than the
// server's) is refused, since ignored it would leave the function open to
// every API the template means to keep out.
func (b *builder) permission(id string, props map[string]any) {
	principal, _ := props["Principal"].(string)
	if principal != "apigateway.amazonaws.com" && principal != "*" {
		b.warn("%s (%s): accepted and ignored: the principal %v calls no function on Portico (its gateway is the only caller a function's policy is checked for)",
			id, TypePermission, props["Principal"])
		return
	}
	var narrows []string
	for _, k := range []string{"SourceArn", "SourceAccount", "PrincipalOrgID"} {
		v, ok := props[k]
		if !ok || isEmpty(v) || k == "SourceAccount" && v == functions.AccountID {
			continue
		}
		narrows = append(narrows, k)
	}
	if len(narrows) == 0 {
		b.warn("%s (%s): accepted and ignored: it grants %s what Portico's gateway has without it (it may call any function of the server that has no policy)",
			id, TypePermission, principal)
		return
	}
	b.fail("%s (%s): property %s is refused: portico deploy applies no resource policies, so the function would stay callable by every API of the server, "+
		"not only the one %s names. Remove the resource and, after the deploy, add the permission with `aws lambda add-permission` "+
		"(--function-name, --statement-id, --action lambda:InvokeFunction, --principal %s, --source-arn), which the gateway enforces (see docs/cli.md, resource-based policies)",
		id, TypePermission, strings.Join(narrows, ", "), narrows[0], principal)
}

// functionRefusals are the function settings Portico cannot honour and that
// would change what the function does, or what protects it, if they were
// dropped: portico deploy refuses them, as the Lambda API refuses them on
// CreateFunction and UpdateFunctionConfiguration (see docs/cli.md), rather than
// deploying the function without them. Each allows the value that asks for
// nothing (Tracing PassThrough, EphemeralStorage 512, ...). The settings left
// to warnings (ignoredBecause) change nothing about how the function runs.
var functionRefusals = map[string]func(v any) string{
	"CodeSigningConfigArn": func(any) string {
		return "Portico does not verify code signatures, so unsigned code would be deployed (the Lambda API refuses it too)"
	},
	"DeadLetterQueue": func(v any) string {
		if isEmpty(v) {
			return ""
		}
		return "Portico has no SQS queue or SNS topic to send failed asynchronous events to, so they would be dropped: remove it " +
			"(EventInvokeConfig's MaximumRetryAttempts and MaximumEventAgeInSeconds are enforced; a function can send its own failures where it needs to)"
	},
	"VpcConfig": func(v any) string {
		m, _ := v.(map[string]any)
		if m != nil && isEmpty(m["SubnetIds"]) && isEmpty(m["SecurityGroupIds"]) && (m["Ipv6AllowedForDualStack"] == nil || m["Ipv6AllowedForDualStack"] == false) {
			return ""
		}
		return "Portico attaches sandboxes to no VPC: the function would reach the server's networks instead of the VPC's subnets and security groups"
	},
	"KmsKeyArn": func(any) string {
		return "Portico encrypts no environment variables with a KMS key: they are kept as given in its data directory"
	},
	"SourceKMSKeyArn": func(any) string {
		return "Portico encrypts no packages with a KMS key: they are kept as given in its data directory"
	},
	"Tracing": func(v any) string {
		if v == "PassThrough" || v == "Disabled" {
			return ""
		}
		return "only PassThrough is supported: Portico passes trace headers through and records no X-Ray segments"
	},
	"EphemeralStorage": func(v any) string {
		if m, ok := v.(map[string]any); ok && fmt.Sprint(m["Size"]) == "512" && len(m) == 1 {
			return ""
		}
		return "only Size 512 is supported: sandboxes get the default /tmp, so the function would get less than it asks for"
	},
	"Architectures": func(v any) string {
		list, ok := v.([]any)
		if ok && len(list) == 1 && (list[0] == "x86_64" || list[0] == "arm64") {
			return "" // sent with the function: the server refuses another architecture than its own
		}
		return "it must be a list of exactly one of x86_64 and arm64"
	},
	"SnapStart": func(v any) string {
		if m, ok := v.(map[string]any); ok && (m["ApplyOn"] == nil || m["ApplyOn"] == "None") {
			return ""
		}
		return "Portico takes no snapshots: every sandbox runs the function's init (ApplyOn None is accepted)"
	},
	"Layers": func(v any) string {
		if isEmpty(v) {
			return ""
		}
		return "the function would run without the layers' content in /opt: put what it needs in its CodeUri, or build an Image function (the Lambda API refuses Layers too)"
	},
	"CapacityProviderConfig":   func(any) string { return "Portico runs no Lambda Managed Instances" },
	"FunctionScalingConfig":    func(any) string { return "Portico runs no Lambda Managed Instances" },
	"PublishToLatestPublished": func(v any) string { return refuseTrue(v, "Portico runs no Lambda Managed Instances") },
	"DurableConfig":            func(any) string { return "Portico runs no durable functions" },
	"TenancyConfig": func(any) string {
		return "Portico isolates no tenants: every caller's invocations share the function's sandboxes"
	},
	// DeploymentPreference's gates Portico cannot run are refused: an alarm
	// or a trigger is there to stop or report a bad version, and none would.
	"DeploymentPreference": func(v any) string {
		m, _ := v.(map[string]any)
		if enabled, ok := templateBool(m["Enabled"], true); m == nil || ok && !enabled {
			return ""
		}
		if !isEmpty(m["Alarms"]) {
			return "Alarms are refused: Portico has no CloudWatch alarms, so none would stop a bad version. " +
				"Remove Alarms, and gate the shift with a PreTraffic or PostTraffic hook instead"
		}
		if !isEmpty(m["TriggerConfigurations"]) {
			return "TriggerConfigurations are refused: Portico has no SNS to notify of the deployment's events. Remove them"
		}
		return ""
	},
}

// isEmpty reports whether a template value asks for nothing: absent, null,
// an empty string, list or mapping.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// refuseTrue returns why when v is true, else "".
func refuseTrue(v any, why string) string {
	if v == false {
		return ""
	}
	return why
}

// endpointProps are the endpoint settings of AWS::Serverless::Api and
// HttpApi: a private endpoint or a disabled execute-api endpoint, ignored,
// would serve the API publicly.
var endpointProps = map[string]func(v any) string{
	"EndpointConfiguration": func(v any) string {
		typ := v
		if m, ok := v.(map[string]any); ok {
			if _, ok := m["VPCEndpointIds"]; ok {
				return "VPCEndpointIds are not supported: Portico has no private endpoints"
			}
			typ = m["Type"]
		}
		if typ == "PRIVATE" {
			return "PRIVATE endpoints are not supported: Portico has no private endpoints"
		}
		return ""
	},
	"DisableExecuteApiEndpoint": func(v any) string {
		if _, ok := boolean(v); ok {
			return "" // into the document, as SAM puts it (restAPI)
		}
		return "it must be true or false (or the text \"true\" or \"false\")"
	},
}

// ignoredBecause says what ignoring a property means, where that is not
// plain.
var ignoredBecause = map[string]string{
	"FunctionUrlConfig":             "no function URL is served; the function answers through its events and the Invoke API only",
	"AutoPublishCodeSha256":         "a version is published whenever the code or configuration changes",
	"AutoPublishAliasAllProperties": "a version is published whenever the code or configuration changes",
	"VersionDeletionPolicy":         "versions stay until the function is deleted",
	"Role":                          "Portico assumes no IAM role: the function gets no AWS credentials of a role (only those for the @connections API of its WebSocket APIs)",
	"Policies":                      "Portico makes no IAM role: the function gets no AWS credentials of a role (only those for the @connections API of its WebSocket APIs)",
	"AssumeRolePolicyDocument":      "Portico makes no IAM role",
	"PermissionsBoundary":           "Portico makes no IAM role",
	"RolePath":                      "Portico makes no IAM role",
	"Tags":                          "Portico keeps no tags on functions",
	"PropagateTags":                 "Portico keeps no tags on functions",
	"RuntimeManagementConfig":       "Portico never updates a function's runtime: it is the function's own bootstrap or image",
	"RecursiveLoop":                 "Portico has no SQS, SNS or S3 through which a function could call itself in a loop",
	// sam init's templates set LoggingConfig (LogFormat JSON): the format of
	// the log is all it changes, so it is not refused.
	"LoggingConfig": "the function's log stays text, START, END and REPORT lines included, in its own log (portico logs): no JSON format, log levels or log group of another name; what the function does is unchanged",
	"Domain":        "no custom domain is made; map one with `portico domain` (mutual TLS included)",
}

// ignoredBecauseOf says what ignoring a property of one resource type means,
// where ignoredBecause's words (a function's) would be false for it.
var ignoredBecauseOf = map[string]map[string]string{
	TypeHTTPAPI: {
		"Tags": "the HTTP API is made without tags; tag it afterwards with aws apigatewayv2 tag-resource (the API's ARN)",
	},
}

// ignoredReason is what ignoring property k of a resource of type typ means.
func ignoredReason(typ, k string) string {
	if why := ignoredBecauseOf[typ][k]; why != "" {
		return why
	}
	return ignoredBecause[k]
}

// samProps are the properties SAM's resource types have (the SAM
// specification's): SAM refuses a template with any other, so a misspelled
// property (Timout) is an error, not a warning that it is ignored.
var samProps = map[string]map[string]bool{
	TypeFunction: set("Architectures", "AssumeRolePolicyDocument", "AutoPublishAlias", "AutoPublishAliasAllProperties",
		"AutoPublishCodeSha256", "CapacityProviderConfig", "CodeSigningConfigArn", "CodeUri", "DeadLetterQueue", "DeploymentPreference",
		"Description", "DurableConfig", "Environment", "EphemeralStorage", "EventInvokeConfig", "Events", "FileSystemConfigs",
		"FunctionName", "FunctionScalingConfig", "FunctionUrlConfig", "Handler", "ImageConfig", "ImageUri", "InlineCode", "KmsKeyArn",
		"Layers", "LoggingConfig", "MemorySize", "PackageType", "PermissionsBoundary", "Policies", "PropagateTags",
		"ProvisionedConcurrencyConfig", "PublishToLatestPublished", "RecursiveLoop", "ReservedConcurrentExecutions", "Role",
		"RolePath", "Runtime", "RuntimeManagementConfig", "SnapStart", "SourceKMSKeyArn", "Tags", "TenancyConfig", "Timeout",
		"Tracing", "VersionDeletionPolicy", "VersionDescription", "VpcConfig"),
	TypeAPI: set("AccessLogSetting", "AlwaysDeploy", "ApiKeySourceType", "Auth", "BinaryMediaTypes", "CacheClusterEnabled",
		"CacheClusterSize", "CanarySetting", "Cors", "DefinitionBody", "DefinitionUri", "Description", "DisableExecuteApiEndpoint",
		"Domain", "EndpointAccessMode", "EndpointConfiguration", "FailOnWarnings", "GatewayResponses", "MergeDefinitions",
		"MethodSettings", "MinimumCompressionSize", "Mode", "Models", "Name", "OpenApiVersion", "Policy", "PropagateTags",
		"SecurityPolicy", "StageName", "Tags", "TracingEnabled", "Variables"),
	TypeHTTPAPI: set("AccessLogSettings", "Auth", "CorsConfiguration", "DefaultRouteSettings", "DefinitionBody", "DefinitionUri",
		"Description", "DisableExecuteApiEndpoint", "Domain", "FailOnWarnings", "Name", "PropagateTags", "RouteSettings",
		"StageName", "StageVariables", "Tags"),
}

// notSAMProperty returns SAM's refusal of property k of a typ (one of
// samProps' types), naming the closest property SAM has, or "" when SAM has
// it.
func notSAMProperty(typ, k string) string {
	props := samProps[typ]
	if props == nil || props[k] {
		return ""
	}
	short := strings.TrimPrefix(typ, "AWS::Serverless::")
	msg := fmt.Sprintf("'%s' is not a supported property of '%s'", k, short)
	if best := suggest.Closest(k, slices.Sorted(maps.Keys(props))); best != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	}
	return msg
}

// templateBool reads a template boolean: true or false, or the text "true"
// or "false" (a String parameter's value), as CloudFormation takes it; def
// when v is absent. ok is false for anything else.
func templateBool(v any, def bool) (value, ok bool) {
	if v == nil {
		return def, true
	}
	return boolean(v)
}

// unsupported warns about each property of a resource Portico does not act on,
// and fails the build on those refusedProps lists and those SAM does not have.
func (b *builder) unsupported(id, typ string, props map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if refuse := refusedProps[typ][k]; refuse != nil {
			if why := refuse(props[k]); why != "" {
				b.fail("%s (%s): property %s is refused: %s", id, typ, k, why)
			} else if why := ignoredReason(typ, k); why != "" && !known[typ][k] {
				b.warn("%s (%s): property %s is not supported by Portico and is ignored: %s", id, typ, k, why)
			}
			continue
		}
		if msg := notSAMProperty(typ, k); msg != "" {
			b.fail("%s (%s): %s", id, typ, msg)
			continue
		}
		if !known[typ][k] {
			if strictTypes[typ] {
				b.fail("%s (%s): property %s is refused: Portico does not apply it", id, typ, k)
				continue
			}
			if why := ignoredReason(typ, k); why != "" {
				b.warn("%s (%s): property %s is not supported by Portico and is ignored: %s", id, typ, k, why)
				continue
			}
			b.warn("%s (%s): property %s is not supported by Portico and is ignored", id, typ, k)
		}
	}
}

// stringValues turns the scalar values of a map into strings in place, as
// CloudFormation does for environment and stage variables ("512", "true").
func stringValues(v any) {
	m, _ := v.(map[string]any)
	for k, x := range m {
		switch x.(type) {
		case float64, bool:
			m[k] = fmt.Sprint(x)
		}
	}
}

// decodeResource decodes a resource's properties into one of goformation's
// resource types, which decode from {"Type", "Properties"} and refuse unknown
// fields at any depth: only the properties Portico supports are decoded (the
// others were named in warnings), less those read by hand (skip).
func decodeResource(typ string, props map[string]any, into any, skip ...string) error {
	keep := map[string]any{}
	for k, v := range props {
		if known[typ][k] && !slices.Contains(skip, k) {
			keep[k] = v
		}
	}
	return decodeValue(map[string]any{"Type": typ, "Properties": keep}, into, "Properties.")
}

// decode decodes props into one of goformation's property types.
func decode(props map[string]any, into any) error {
	return decodeValue(props, into, "")
}

// decodeValue decodes v into one of goformation's types. A quoted number
// where a number goes is taken as the number, and "true" or "false" where a
// boolean goes as the boolean, as CloudFormation takes them (Timeout: "10",
// a String parameter's "false"); a value of another shape is an error naming
// the property (less prefix) and what it takes, and a property the type does
// not have an error naming it and the closest one it has, not Go's decoder
// message.
func decodeValue(v map[string]any, into any, prefix string) error {
	for range 100 { // each pass fixes one quoted number or boolean
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		err = json.Unmarshal(raw, into)
		if name, ok := strings.CutPrefix(fmt.Sprint(err), "json: unknown field "); ok && err != nil {
			return unknownField(v, into, prefix, strings.Trim(name, `"`))
		}
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return err
		}
		parent, key := locate(v, strings.Split(te.Field, "."))
		var cur any = te.Value
		if parent != nil {
			cur = parent[key]
			if str, ok := cur.(string); ok && numberKind(te.Type.Kind()) {
				if f, perr := strconv.ParseFloat(strings.TrimSpace(str), 64); perr == nil && (f == math.Trunc(f) || te.Type.Kind() == reflect.Float32 || te.Type.Kind() == reflect.Float64) {
					parent[key] = f
					continue
				}
			}
			if str, ok := cur.(string); ok && te.Type.Kind() == reflect.Bool {
				if t := strings.TrimSpace(str); strings.EqualFold(t, "true") || strings.EqualFold(t, "false") {
					parent[key] = strings.EqualFold(t, "true")
					continue
				}
			}
		}
		field, got := te.Field, te.Value
		if parent != nil {
			// Inside a map (Variables: {a: {b: c}}): the path stops at the
			// map; name the entry of the shape the decoder met.
			if m, ok := cur.(map[string]any); ok && expectedShape(te.Type) != "a mapping" {
				for _, k := range slices.Sorted(maps.Keys(m)) {
					if jsonKind(m[k]) == te.Value {
						field, cur = field+"."+k, m[k]
						break
					}
				}
			}
			got = shape(cur)
		}
		return fmt.Errorf("property %s: expected %s, got %s", strings.TrimPrefix(field, prefix), expectedShape(te.Type), got)
	}
	return errors.New("too many quoted numbers")
}

// unknownField is the error of a property name that into's type (or a type
// within it) does not have: it names the property's path, the mapping it is
// in, and the closest property that mapping has.
func unknownField(v map[string]any, into any, prefix, name string) error {
	path := findKey(v, name, nil)
	t := reflect.TypeOf(into)
	for _, k := range path {
		t = fieldType(t, k)
		if t == nil {
			break
		}
	}
	where := strings.TrimPrefix(strings.Join(path, "."), strings.TrimSuffix(prefix, "."))
	where = strings.TrimPrefix(where, ".")
	full := name
	if where != "" {
		full = where + "." + name
	}
	msg := fmt.Sprintf("property %s is not a property SAM knows", full)
	if where != "" {
		msg = fmt.Sprintf("property %s is not a property SAM knows of %s", full, where)
	}
	if best := suggest.Closest(name, jsonFields(t)); best != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	}
	return errors.New(msg)
}

// findKey returns the path of the first mapping in v (depth first, keys in
// order) that holds key.
func findKey(v any, key string, path []string) []string {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x[key]; ok {
			return path
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if p := findKey(x[k], key, append(slices.Clone(path), k)); p != nil {
				return p
			}
		}
	case []any:
		for _, e := range x {
			if p := findKey(e, key, path); p != nil {
				return p
			}
		}
	}
	return nil
}

// fieldType is the type of the member k of a value of type t (a struct's
// field by its JSON name; a map's or list's element), or nil.
func fieldType(t reflect.Type, k string) reflect.Type {
	for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		t = t.Elem()
	}
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem()
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if jsonName(f) == k {
				return f.Type
			}
		}
		if k == "Properties" {
			return t // goformation's resources decode their Properties into themselves
		}
	}
	return nil
}

// jsonFields are the JSON names of the fields of struct type t (through
// pointers, lists).
func jsonFields(t reflect.Type) []string {
	for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			if n := jsonName(f); n != "-" && !strings.HasPrefix(n, "AWSCloudFormation") {
				out = append(out, n)
			}
		}
	}
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// locate returns the map holding the value at path in v, and its key; nil
// when the path goes through something other than maps.
func locate(v map[string]any, path []string) (map[string]any, string) {
	for i, k := range path {
		if i == len(path)-1 {
			if _, ok := v[k]; ok {
				return v, k
			}
			return nil, ""
		}
		next, ok := v[k].(map[string]any)
		if !ok {
			return nil, ""
		}
		v = next
	}
	return nil, ""
}

// jsonKind is the JSON kind of a template value, as json.UnmarshalTypeError
// names it.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return ""
}

func numberKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16,
		reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// expectedShape says what a value of Go type t is in a template.
func expectedShape(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch k := t.Kind(); {
	case k == reflect.Float32 || k == reflect.Float64:
		return "a number"
	case numberKind(k):
		return "an integer"
	case k == reflect.String:
		return "a string"
	case k == reflect.Bool:
		return "true or false"
	case k == reflect.Map || k == reflect.Struct:
		return "a mapping"
	case k == reflect.Slice || k == reflect.Array:
		return "a list"
	}
	return "a " + t.String()
}

// eventInvoke reads a function's EventInvokeConfig: the retries and maximum
// age Portico enforces; a DestinationConfig, which it cannot honour, fails
// the deploy.
func (b *builder) eventInvoke(id string, fn *Function, c *serverless.Function_EventInvokeConfig) {
	if d := c.DestinationConfig; d != nil && (d.OnSuccess != nil || d.OnFailure != nil) {
		b.fail("%s: EventInvokeConfig.DestinationConfig: %s", id, functions.NoDestinations)
	}
	if p := c.MaximumRetryAttempts; p != nil && (*p < 0 || *p > functions.MaxEventRetryAttempts) {
		b.fail("%s: EventInvokeConfig.MaximumRetryAttempts %d is out of range: it must be 0, 1 or 2", id, *p)
	}
	if p := c.MaximumEventAgeInSeconds; p != nil && (*p < functions.MinEventAgeSeconds || *p > functions.MaxEventAgeSeconds) {
		b.fail("%s: EventInvokeConfig.MaximumEventAgeInSeconds %d is out of range: it must be %d..%d (one minute to six hours)",
			id, *p, functions.MinEventAgeSeconds, functions.MaxEventAgeSeconds)
	}
	fn.EventInvoke = &EventInvoke{MaximumRetryAttempts: c.MaximumRetryAttempts, MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds}
}

func (b *builder) function(id string, props map[string]any) {
	b.unsupported(id, TypeFunction, props)
	// goformation types ProvisionedConcurrentExecutions as a string.
	if pc, ok := props["ProvisionedConcurrencyConfig"].(map[string]any); ok {
		if v, ok := pc["ProvisionedConcurrentExecutions"]; ok {
			// A whole number in full: fmt.Sprint(1e6) is "1e+06", which the
			// Sscan below would read as 1.
			if f, isNum := v.(float64); isNum && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				v = strconv.FormatInt(int64(f), 10)
			}
			pc["ProvisionedConcurrentExecutions"] = fmt.Sprint(v)
		}
	}
	if env, ok := props["Environment"].(map[string]any); ok {
		stringValues(env["Variables"])
	}
	var f serverless.Function
	// Events are read per type in events(), DeploymentPreference in
	// deploymentPreference (goformation's type lacks PassthroughCondition).
	if err := decodeResource(TypeFunction, props, &f, "Events", "DeploymentPreference"); err != nil {
		b.fail("%s (%s): %v", id, TypeFunction, err)
		return
	}
	fn := &Function{LogicalID: id, Name: b.functionName(id, props), Handler: deref(f.Handler), Runtime: deref(f.Runtime),
		Description: deref(f.Description), Alias: deref(f.AutoPublishAlias), Reserved: f.ReservedConcurrentExecutions}
	if _, err := functions.ParseRef(fn.Name); err != nil || strings.Contains(fn.Name, ":") {
		if _, named := props["FunctionName"]; !named {
			// A stack name may be 128 characters, a function name 64.
			b.fail("%s: the function name %s-%s that Portico makes from the stack name and the logical id (the function has no FunctionName) is %d characters, more than Lambda's 64: use a shorter --stack or set FunctionName",
				id, b.t.stack, id, len(fn.Name))
			return
		}
		b.fail("%s: function name %q is not a valid function name (letters, digits, - and _, at most 64)", id, fn.Name)
		return
	}
	if list, ok := props["Architectures"].([]any); ok && len(list) == 1 { // checked by functionRefusals
		fn.Architectures = []string{fmt.Sprint(list[0])}
	}
	if f.Environment != nil {
		fn.Environment = f.Environment.Variables
	}
	if f.MemorySize != nil {
		fn.MemorySize = *f.MemorySize
	}
	if f.Timeout != nil {
		fn.Timeout = *f.Timeout
	}
	for _, fs := range f.FileSystemConfigs {
		fn.FileSystems = append(fn.FileSystems, FileSystem{Arn: deref(fs.Arn), LocalMountPath: deref(fs.LocalMountPath)})
	}
	if f.ProvisionedConcurrencyConfig != nil {
		if fn.Alias == "" {
			b.fail("%s: ProvisionedConcurrencyConfig needs AutoPublishAlias (it applies to the alias)", id)
		}
		n, err := strconv.Atoi(strings.TrimSpace(f.ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions))
		if err != nil {
			// Atoi, not Sscan: Sscan reads "2.5" and "1e+06" as 2 and 1.
			b.fail("%s: ProvisionedConcurrentExecutions must be a whole number, not %q", id, f.ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions)
		} else if fn.Provisioned = n; fn.Provisioned < 1 {
			// Lambda's minimum: 0 would leave the setting unapplied.
			b.fail("%s: ProvisionedConcurrentExecutions %d is out of range: it must be at least 1 (remove ProvisionedConcurrencyConfig for none)", id, fn.Provisioned)
		}
	}
	if c := f.EventInvokeConfig; c != nil {
		b.eventInvoke(id, fn, c)
	}
	if p, ok := props["DeploymentPreference"]; ok && p != nil {
		b.deploymentPreference(id, fn, p)
	}
	// Refused here in words, and not again below in the server's
	// (CheckCreate's "1 validation error detected" for memory).
	timeoutOK := f.Timeout == nil || (*f.Timeout >= 1 && *f.Timeout <= functions.MaxTimeout)
	if !timeoutOK {
		b.fail("%s: Timeout %d is out of range: it must be between 1 and %d seconds", id, *f.Timeout, functions.MaxTimeout)
	}
	memoryOK := f.MemorySize == nil || (*f.MemorySize >= functions.MinMemory && *f.MemorySize <= functions.MaxMemory)
	if !memoryOK {
		b.fail("%s: MemorySize %d is out of range: it must be between %d and %d MB", id, *f.MemorySize, functions.MinMemory, functions.MaxMemory)
	}
	if fn.Reserved != nil && *fn.Reserved < 0 {
		b.fail("%s: ReservedConcurrentExecutions %d must not be negative: give 0 or more (0 stops every invocation), or leave it out for none", id, *fn.Reserved)
	}
	// What Lambda would refuse after the function is made, refused here.
	if fn.Alias != "" && !functions.ValidAliasName(fn.Alias) {
		b.fail("%s: AutoPublishAlias %q is not a valid alias name: it must be 1 to 128 letters, digits, - and _, and not start with a digit", id, fn.Alias)
	}
	if fn.Reserved != nil && *fn.Reserved >= 0 && fn.Provisioned > *fn.Reserved {
		b.fail("%s: ProvisionedConcurrentExecutions %d is more than ReservedConcurrentExecutions %d: Lambda refuses provisioned concurrency above the function's reserved concurrency", id, fn.Provisioned, *fn.Reserved)
	}
	image := deref(f.PackageType) == "Image" || f.ImageUri != nil
	switch {
	case image:
		if msg := b.imageRuntime(id, props); msg != "" {
			b.fail("%s", msg)
			return
		}
		if f.ImageUri == nil || *f.ImageUri == "" {
			b.fail("%s: PackageType Image needs ImageUri%s", id, b.imageHint(id))
			return
		}
		fn.ImageURI = *f.ImageUri
		fn.CodeSHA256 = ""
		if c := f.ImageConfig; c != nil {
			ic := &functions.ImageConfig{EntryPoint: c.EntryPoint, Command: c.Command, WorkingDirectory: deref(c.WorkingDirectory)}
			if !ic.IsZero() {
				fn.ImageConfig = ic
			}
		}
	default:
		if c := f.ImageConfig; c != nil && (len(c.EntryPoint) > 0 || len(c.Command) > 0 || deref(c.WorkingDirectory) != "") {
			b.fail("%s: ImageConfig is only for PackageType Image: a CodeUri function runs its bootstrap", id)
			return
		}
		switch fn.Runtime {
		case "provided.al2023", "provided.al2", "provided":
		case "":
			b.fail("%s: Runtime is required for a CodeUri function: provided.al2023 (a bootstrap executable)", id)
			return
		default:
			b.fail("%s: Runtime %s is not supported: Portico runs custom runtimes, provided.al2023 or provided.al2, with a bootstrap executable", id, fn.Runtime)
			return
		}
		if fn.Handler == "" {
			b.fail("%s: Handler is required for a CodeUri function, as Lambda requires it of a .zip package: Portico's custom runtimes pass it to bootstrap as _HANDLER (\"bootstrap\" is the usual value)", id)
		}
		if f.CodeUri == nil || f.CodeUri.String == nil {
			if f.CodeUri != nil {
				b.fail("%s: CodeUri must be a local directory or .zip file (S3 locations are not supported)", id)
			} else {
				b.fail("%s: CodeUri is required (a directory or .zip holding bootstrap), or ImageUri", id)
			}
			return
		}
		var err error
		fn.CodePath, fn.CodeSHA256, err = b.code(*f.CodeUri.String)
		if err != nil {
			b.fail("%s: CodeUri %s: %v", id, *f.CodeUri.String, err)
			return
		}
	}
	// What the server would refuse (a timeout or memory out of range, an
	// environment variable name Lambda refuses, 4 KB of environment) stops
	// the deploy here, before anything changes, not midway.
	in := functions.CreateInput{FunctionName: fn.Name, Description: fn.Description, Runtime: fn.Runtime, Handler: fn.Handler,
		ImageURI: fn.ImageURI, Environment: fn.Environment, Timeout: fn.Timeout, MemorySize: fn.MemorySize}
	if image {
		in.PackageType, in.Runtime, in.Handler = functions.PackageImage, "", ""
	}
	if !timeoutOK {
		in.Timeout = 0 // the default
	}
	if !memoryOK {
		in.MemorySize = 0
	}
	for _, fs := range fn.FileSystems {
		in.FileSystems = append(in.FileSystems, functions.FileSystem{Arn: fs.Arn, LocalMountPath: fs.LocalMountPath})
	}
	if err := functions.CheckCreate(in); err != nil {
		b.fail("%s: %v", id, err)
		return
	}
	b.d.Functions[id] = fn
}

// code checks a CodeUri (a directory or a .zip file, which must hold an
// executable bootstrap) and digests its files; it is zipped only when the
// deploy sends it (Function.Package).
func (b *builder) code(uri string) (string, string, error) {
	if strings.HasPrefix(strings.ToLower(uri), "s3://") {
		return "", "", fmt.Errorf("S3 locations are refused: give a local directory or .zip file holding bootstrap, relative to the template (Portico reads the code where sam build leaves it)")
	}
	path := uri
	if !filepath.IsAbs(path) {
		path = filepath.Join(b.t.Dir(), path)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("%s does not exist (paths are relative to the template's directory; build the code first)", path)
		}
		return "", "", err
	}
	var sum string
	if st.IsDir() {
		sum, err = dirDigest(path)
	} else {
		sum, err = zipDigest(path)
	}
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	return path, sum, nil
}

// Package returns the function's code as a zip: the CodeUri directory zipped,
// or the CodeUri zip file as it is.
func (f *Function) Package() ([]byte, error) { return f.packageWith(nil) }

// packageWith is Package zipping a directory with zip (nil: client.ZipDir).
func (f *Function) packageWith(zip func(dir string) ([]byte, error)) ([]byte, error) {
	if f.CodePath == "" {
		return nil, nil
	}
	st, err := os.Stat(f.CodePath)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		if zip == nil {
			zip = client.ZipDir
		}
		return zip(f.CodePath)
	}
	return os.ReadFile(f.CodePath)
}

// digester digests a code package's files: names, modes and contents, in name
// order, and checks for an executable bootstrap.
type digester struct {
	h      hash.Hash
	boot   bool
	goCode bool // a .go file or go.mod at the top level: source, not a package
}

func (d *digester) add(name string, mode fs.FileMode, r io.Reader) error {
	if name == "go.mod" || (strings.HasSuffix(name, ".go") && !strings.Contains(name, "/")) {
		d.goCode = true
	}
	if name == "bootstrap" {
		d.boot = true
		if mode&0o111 == 0 {
			return errors.New("bootstrap is not executable (chmod +x)")
		}
	}
	fmt.Fprintf(d.h, "%s\x00%o\x00", name, mode)
	_, err := io.Copy(d.h, r)
	return err
}

func (d *digester) sum() (string, error) {
	if d.goCode && !d.boot {
		return "", errors.New("holds Go source but no bootstrap executable at its top level: build it there with " +
			"`CGO_ENABLED=0 GOOS=linux go build -o bootstrap .` (a static binary, which every runtime can run), " +
			"or serve the source with `portico dev --function NAME=DIR`, which builds it on every save")
	}
	if !d.boot {
		return "", errors.New("holds no bootstrap executable at its top level: build your function into DIR/bootstrap " +
			"(for Go: `CGO_ENABLED=0 GOOS=linux go build -o bootstrap .`; `make samples` builds Portico's samples)")
	}
	return hex.EncodeToString(d.h.Sum(nil)), nil
}

// dirDigest digests a directory's regular files (symbolic links followed, as
// the zip of it follows them: client.WalkPackage).
func dirDigest(dir string) (string, error) {
	d := &digester{h: sha256.New()}
	err := client.WalkPackage(dir, func(rel, path string, info fs.FileInfo) error {
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(path) //nolint:gosec // G304: the template names its own code
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		return d.add(rel, info.Mode(), f)
	})
	if err != nil {
		return "", err
	}
	return d.sum()
}

// zipDigest digests a zip file's files.
func zipDigest(path string) (string, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", fmt.Errorf("not a directory or zip file: %w", err)
	}
	defer func() { _ = zr.Close() }()
	files := append([]*zip.File(nil), zr.File...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	d := &digester{h: sha256.New()}
	for _, f := range files {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", err
		}
		err = d.add(f.Name, f.Mode(), rc)
		_ = rc.Close()
		if err != nil {
			return "", err
		}
	}
	return d.sum()
}

// imageRuntime is the error of an Image function id that has a Runtime or
// Handler (props, Globals merged): SAM refuses them ("Runtime, Handler, Layers
// cannot be present when PackageType is of type `Image`"), and Lambda's
// CreateFunction does. It names Globals.Function when the value comes from
// there (the usual Go layout sets both for every function). "": none.
func (b *builder) imageRuntime(id string, props map[string]any) string {
	var own, inherited []string
	var r *rawResource
	if b.t != nil {
		r = b.t.Resources[id]
	}
	for _, k := range []string{"Runtime", "Handler"} {
		if v, ok := props[k]; !ok || v == nil {
			continue
		}
		if r != nil && r.fromGlobals[k] {
			inherited = append(inherited, k)
		} else {
			own = append(own, k)
		}
	}
	all := append(slices.Clone(own), inherited...)
	if len(all) == 0 {
		return ""
	}
	msg := fmt.Sprintf("%s: %s cannot be set on a PackageType Image function (SAM and Lambda refuse %s: the image's ENTRYPOINT and CMD run it)",
		id, strings.Join(all, " and "), them(all))
	if len(own) > 0 {
		msg += fmt.Sprintf(": remove %s from %s's Properties", strings.Join(own, " and "), id)
	}
	if len(inherited) > 0 {
		msg += fmt.Sprintf("; %s %s from Globals.Function: move %s to the Properties of the CodeUri functions, as SAM requires",
			strings.Join(inherited, " and "), comeOrComes(inherited), them(inherited))
	}
	return msg
}

func comeOrComes(items []string) string {
	if len(items) == 1 {
		return "comes"
	}
	return "come"
}

// imageHint says how to give an Image function without ImageUri its image:
// sam init's layout names a Dockerfile in the resource's Metadata, for sam
// build to build; portico deploy builds nothing.
func (b *builder) imageHint(id string) string {
	tag, dir := "hello:v1", "DIR"
	if r := b.t.Resources[id]; r != nil {
		md, _ := r.Metadata.(map[string]any)
		if md["Dockerfile"] == nil && md["DockerContext"] == nil {
			return ": set ImageUri to an image the server's runtime has (build one with `portico build DIR -t TAG`, see runtimes.md)"
		}
		if c, ok := md["DockerContext"].(string); ok && c != "" {
			dir = c
		}
		if t, ok := md["DockerTag"].(string); ok && t != "" {
			tag = strings.ToLower(id) + ":" + t
		}
	}
	return fmt.Sprintf(": portico deploy does not build the image its Metadata (Dockerfile, DockerContext, DockerTag) describes, as sam build does; "+
		"build it with `portico build %s -t %s` (add --import for a containerd server) and set ImageUri: %s", dir, tag, tag)
}

// deploymentPreferenceProps are DeploymentPreference's properties (SAM's).
var deploymentPreferenceProps = []string{"Alarms", "Enabled", "Hooks", "PassthroughCondition", "Role", "TriggerConfigurations", "Type"}

// deploymentPreference reads an enabled DeploymentPreference into fn: its
// Type (one a traffic shift knows) and its Hooks, which name functions of the
// stack by logical id (or by name, as a Ref resolves to), as SAM's do.
// Alarms and TriggerConfigurations are refused by refusedProps; Role and
// PassthroughCondition are accepted and need nothing (no role is assumed, no
// CodeDeploy resource made).
func (b *builder) deploymentPreference(id string, fn *Function, v any) {
	p, ok := v.(map[string]any)
	if !ok {
		b.fail("%s: property DeploymentPreference must be a mapping (Type, Enabled, Hooks, ...), not %s", id, shape(v))
		return
	}
	bad := false
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if slices.Contains(deploymentPreferenceProps, k) {
			continue
		}
		msg := fmt.Sprintf("%s: property DeploymentPreference.%s is not a property of DeploymentPreference, which has %s", id, k, strings.Join(deploymentPreferenceProps, ", "))
		if best := suggest.Closest(k, deploymentPreferenceProps); best != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", best)
		}
		b.fail("%s", msg)
		bad = true
	}
	enabled, ok := templateBool(p["Enabled"], true)
	if !ok {
		b.fail("%s: property DeploymentPreference.Enabled must be true or false (or the text \"true\" or \"false\"), not %s", id, shape(p["Enabled"]))
		return
	}
	if bad || !enabled {
		return
	}
	if fn.Alias == "" {
		b.fail("%s: DeploymentPreference needs AutoPublishAlias: it shifts the alias's traffic to each new version", id)
		return
	}
	typ, _ := p["Type"].(string)
	if typ == "" {
		b.fail("%s: DeploymentPreference needs a Type: one of %s", id, strings.Join(shifts.TypeNames(), ", "))
		return
	}
	if _, err := shifts.LookupType(typ); err != nil {
		b.fail("%s: DeploymentPreference: %v", id, err)
		return
	}
	d := &DeploymentPreference{Type: typ}
	hooks, _ := p["Hooks"].(map[string]any)
	if p["Hooks"] != nil && hooks == nil {
		b.fail("%s: DeploymentPreference Hooks must be a mapping of PreTraffic and PostTraffic", id)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(hooks)) {
		v, _ := hooks[k].(string)
		if k != "PreTraffic" && k != "PostTraffic" {
			b.fail("%s: DeploymentPreference Hooks has %s: a hook is PreTraffic or PostTraffic", id, k)
			continue
		}
		hook := b.hookFunction(v)
		if hook == "" {
			b.fail("%s: DeploymentPreference %s hook %q is not a function of this stack: name one by its logical id (or !Ref it)", id, k, v)
			continue
		}
		if k == "PreTraffic" {
			d.PreTraffic = hook
		} else {
			d.PostTraffic = hook
		}
	}
	fn.Deployment = d
}

// hookFunction resolves a hook's reference to the function it invokes: a
// logical id of a function of the stack, or the name or ARN (with an alias,
// for FUNCTION.Alias) a Ref resolved to; "" when it names no function of the
// stack.
func (b *builder) hookFunction(v string) string {
	if r := b.t.Resources[v]; r != nil && r.Type == TypeFunction {
		return b.functionName(v, r.Properties)
	}
	ref, err := functions.ParseRef(v)
	if err != nil || ref.Name == "" {
		return ""
	}
	for id, r := range b.t.Resources {
		if r.Type == TypeFunction && b.functionName(id, r.Properties) == ref.Name {
			if ref.Qualifier != "" {
				return ref.Name + ":" + ref.Qualifier
			}
			return ref.Name
		}
	}
	return ""
}

// functionName is the name of function id: its FunctionName, else
// STACK-LogicalId.
func (b *builder) functionName(id string, props map[string]any) string {
	if n, ok := props["FunctionName"].(string); ok {
		return n
	}
	return b.t.stack + "-" + id
}

// resolveFunctionTokens replaces Refs and Arn attributes of functions (names
// by logical id) with the functions' names and ARNs everywhere, before any
// resource is read.
func (b *builder) resolveFunctionTokens(names map[string]string) {
	for _, r := range b.t.Resources {
		r.Properties = walkStrings(r.Properties, func(s string) string {
			return tokenPattern.ReplaceAllStringFunc(s, func(tok string) string {
				m := tokenPattern.FindStringSubmatch(tok)
				name, ok := names[m[1]]
				if !ok {
					return tok
				}
				switch m[2] {
				case "":
					return name
				case "Arn":
					return functions.ARN(name, "")
				case "Alias":
					// SAM's FUNCTION.Alias: Ref gives the alias's ARN.
					if alias, _ := b.t.Resources[m[1]].Properties["AutoPublishAlias"].(string); alias != "" {
						return functions.ARN(name, alias)
					}
				}
				return tok
			})
		}).(map[string]any)
	}
	// SAM's API.Stage (and the stage ids it generates): Ref gives the
	// stage's name, which the template says.
	for _, r := range b.t.Resources {
		r.Properties = walkStrings(r.Properties, func(s string) string {
			return tokenPattern.ReplaceAllStringFunc(s, func(tok string) string {
				m := tokenPattern.FindStringSubmatch(tok)
				api := b.t.Resources[m[1]]
				if m[2] != "Stage" || api == nil || (api.Type != TypeAPI && api.Type != TypeHTTPAPI) {
					return tok
				}
				stage, _ := api.Properties["StageName"].(string)
				if stage == "" && api.Type == TypeHTTPAPI {
					stage = apis.RouteDefault
				}
				if stage == "" {
					return tok
				}
				return stage
			})
		}).(map[string]any)
	}
}

func walkStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case map[string]any:
		for k, e := range x {
			x[k] = walkStrings(e, f)
		}
	case []any:
		for i, e := range x {
			x[i] = walkStrings(e, f)
		}
	}
	return v
}

// leftovers fails on a Ref or attribute that is still unresolved in what the
// template asks for: a Ref to a resource Portico does not create (a table, a
// role) or to an API where a literal value is needed.
func (b *builder) leftovers() {
	check := func(where string, v any, fn string) {
		raw, _ := json.Marshal(v)
		for _, m := range tokenPattern.FindAllStringSubmatch(string(raw), -1) {
			if why, ok := b.t.unknownAttrs[m[0]]; ok {
				at := ""
				if r := b.t.Resources[where]; r != nil {
					if path := tokenPath(r.Properties, m[0], nil); path != nil {
						at = " " + strings.Join(path, ".")
					}
				}
				b.fail("%s%s: %s", where, at, why)
				continue
			}
			name := m[1]
			if m[2] != "" {
				name += "." + m[2]
			}
			typ := "an unknown type"
			if r, ok := b.t.Resources[m[1]]; ok {
				typ = r.Type
			}
			switch {
			case m[2] == "Version" && typ == TypeFunction:
				b.fail("%s names %s (the version AutoPublishAlias publishes), which Portico cannot put there: it publishes the version during the deploy, after the resources are read; name the alias (%s.Alias) instead, or use it in Outputs", where, name, m[1])
				continue
			case m[2] == "Deployment":
				b.fail("%s names %s, which Portico cannot put there: the deployment is made during the deploy; use it in Outputs", where, name)
				continue
			case fn != "" && m[2] != "Stage" && (typ == TypeAPI || typ == TypeHTTPAPI || typ == TypeV2API):
				b.failAPIInFunction(fn, m[1], name, typ)
				continue
			}
			b.fail("%s names %s (%s), which Portico cannot put there: Ref and !GetAtt name parameters, functions (their names and ARNs), and APIs only in RestApiId, ApiId and Target", where, name, typ)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(b.d.Functions)) {
		check(id, b.d.Functions[id], id)
	}
	for _, id := range slices.Sorted(maps.Keys(b.d.APIs)) {
		check(id, b.d.APIs[id], "")
	}
}

// tokenPath returns the path of the first string in v (depth first, keys in
// order) that holds tok, or nil.
func tokenPath(v any, tok string, path []string) []string {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, tok) {
			return append([]string{}, path...)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if p := tokenPath(x[k], tok, append(path, k)); p != nil {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := tokenPath(e, tok, append(path, strconv.Itoa(i))); p != nil {
				return p
			}
		}
	}
	return nil
}

// failAPIInFunction refuses function fn's properties naming API api (as
// name: the API or one of its attributes), saying why and what to do
// instead.
func (b *builder) failAPIInFunction(fn, api, name, typ string) {
	prop := "properties"
	for k, v := range b.d.Functions[fn].Environment {
		if strings.Contains(v, tokenOpen+name+tokenClose) {
			prop = "environment variable " + k
			break
		}
	}
	instead := "the function can read its API's id, domain name and stage from each event's requestContext (apiId, domainName, stage)"
	calls := false
	for _, key := range []string{api, "ws:" + api} {
		for _, r := range b.eventRoutes[key] {
			calls = calls || r.fn == fn
		}
	}
	if calls {
		b.fail("%s: %s names %s (%s), whose routes call %s: the function would depend on the API that depends on it, a circular dependency CloudFormation refuses too. Remove it from the function; %s", fn, prop, name, typ, fn, instead)
		return
	}
	b.fail("%s: %s names %s (%s), which Portico cannot put there: it makes a stack's functions before its APIs, so a function cannot hold an API's id or endpoint (CloudFormation can, as this API does not call the function). Remove it from the function, or pass the id as a parameter (--parameter-overrides) after the API is made; %s", fn, prop, name, typ, instead)
}

// apiToken returns the logical id an API reference names («Id» as Ref
// resolves it), or "".
func apiToken(v any) string {
	s, _ := v.(string)
	m := tokenPattern.FindStringSubmatch(s)
	if m == nil || m[0] != s || m[2] != "" {
		return ""
	}
	return m[1]
}

// functionURI is the integration URI events use: the alias when the function
// publishes one, as SAM points events at the alias.
func functionURI(fn *Function) string {
	if fn.Alias != "" {
		return "function:" + fn.Name + ":" + fn.Alias
	}
	return "function:" + fn.Name
}

func (b *builder) events(id string, props map[string]any) {
	fn := b.d.Functions[id]
	evs, ok := b.mapping(id+" ("+TypeFunction+")", props, "Events", "event names to {Type, Properties}")
	if fn == nil || !ok {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(evs)) {
		ev, ok := evs[name].(map[string]any)
		if !ok {
			b.fail("%s (%s): Events.%s must be a mapping with Type and Properties, not %s", id, TypeFunction, name, shape(evs[name]))
			continue
		}
		typ, _ := ev["Type"].(string)
		where := fmt.Sprintf("%s event %s (%s)", id, name, typ)
		if typ == "" {
			b.fail("%s (%s): Events.%s needs Type (Api, HttpApi, ...), not %s", id, TypeFunction, name, shape(ev["Type"]))
			continue
		}
		p, ok := b.mapping(where, ev, "Properties", "the event's settings")
		if !ok {
			continue
		}
		if p == nil {
			p = map[string]any{}
		}
		auth, ok := b.mapping(where, p, "Auth", "ApiKeyRequired, Authorizer, AuthorizationScopes, ...")
		if !ok {
			continue
		}
		if props := samEventProps[typ]; props != nil {
			bad := false
			for _, k := range slices.Sorted(maps.Keys(p)) {
				if !slices.Contains(props, k) {
					msg := fmt.Sprintf("%s: property Events.%s.Properties.%s is not a property of an %s event, which has %s", where, name, k, typ, strings.Join(props, ", "))
					if best := suggest.Closest(k, props); best != "" {
						msg += fmt.Sprintf(" (did you mean %s?)", best)
					}
					b.fail("%s", msg)
					bad = true
				}
			}
			if bad {
				continue
			}
		}
		switch typ {
		case "Api":
			var e serverless.Function_ApiEvent
			// RequestModel and RequestParameters are read by hand
			// (requestValidation): goformation's types do not check them.
			if err := decode(without(p, "RequestModel", "RequestParameters"), &e); err != nil {
				b.fail("%s: %v", where, err)
				continue
			}
			b.eventProps(where, p, "Path", "Method", "RestApiId", "Auth", "RequestModel", "RequestParameters")
			api := ImplicitRestAPI
			if e.RestApiId != nil {
				if api = apiToken(*e.RestApiId); api == "" {
					b.fail("%s: RestApiId must be !Ref to an AWS::Serverless::Api of the template, not %q", where, *e.RestApiId)
					continue
				}
			}
			r := eventRoute{fn: id, method: strings.ToUpper(e.Method), path: e.Path, uri: functionURI(fn), where: where}
			if auth != nil && !b.eventAuth(where, auth, &r) {
				continue
			}
			if !b.requestValidation(where, p, &r.validation) {
				continue
			}
			b.eventRoutes[api] = append(b.eventRoutes[api], r)
		case "HttpApi":
			var e serverless.Function_HttpApiEvent
			// RouteSettings is read by hand (eventRouteSettings): its
			// values may be parameters' text.
			if err := decode(without(p, "RouteSettings"), &e); err != nil {
				b.fail("%s: %v", where, err)
				continue
			}
			b.eventProps(where, p, "Path", "Method", "ApiId", "Auth", "PayloadFormatVersion", "TimeoutInMillis", "RouteSettings")
			api := ImplicitHTTPAPI
			if e.ApiId != nil {
				if api = apiToken(*e.ApiId); api == "" {
					b.fail("%s: ApiId must be !Ref to an AWS::Serverless::HttpApi of the template, not %q", where, *e.ApiId)
					continue
				}
			}
			r := eventRoute{fn: id, method: strings.ToUpper(deref(e.Method)), path: deref(e.Path), uri: functionURI(fn), http: true,
				payload: deref(e.PayloadFormatVersion), where: where, routeSettings: p["RouteSettings"]}
			if r.payload == "" {
				r.payload = "2.0"
			}
			if e.TimeoutInMillis != nil {
				r.timeoutMillis = *e.TimeoutInMillis
			}
			if auth != nil && !b.eventAuth(where, auth, &r) {
				continue
			}
			b.eventRoutes[api] = append(b.eventRoutes[api], r)
		case "WebSocket":
			// Portico's own event type: a route of an AWS::ApiGatewayV2::Api
			// (ProtocolType WEBSOCKET) that runs this function.
			api := apiToken(p["ApiId"])
			key, _ := p["Route"].(string)
			if api == "" || key == "" {
				b.fail("%s: a WebSocket event needs ApiId (!Ref to an AWS::ApiGatewayV2::Api) and Route (a route key)", where)
				continue
			}
			b.eventRoutes["ws:"+api] = append(b.eventRoutes["ws:"+api], eventRoute{fn: id, path: key, uri: functionURI(fn)})
		default:
			b.warn("%s: event type %s is not supported by Portico and is ignored: %s", where, typ, notRunBy(typ))
		}
	}
}

// notRunBy says what an ignored event type means: what never runs the
// function.
func notRunBy(typ string) string {
	switch typ {
	case "Schedule", "ScheduleV2":
		return "the function is never run on a schedule (run it from cron or a timer with `portico invoke`)"
	case "CloudWatchEvent", "EventBridgeRule":
		return "the function is never run by events or on a schedule (run it with `portico invoke`)"
	}
	return "nothing runs the function for this event (no " + typ + " source is connected to it; run it with `portico invoke`)"
}

// samEventProps are the properties of SAM's Api and HttpApi events: another
// is a mistake (Methd), not a setting to ignore.
var samEventProps = map[string][]string{
	"Api":     {"Auth", "Method", "Path", "RequestModel", "RequestParameters", "RestApiId", "TimeoutInMillis"},
	"HttpApi": {"ApiId", "Auth", "Method", "Path", "PayloadFormatVersion", "RouteSettings", "TimeoutInMillis"},
}

// without returns a copy of m without the keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

// requestParamName is the form of a RequestParameters name SAM accepts.
var requestParamName = regexp.MustCompile(`^method\.request\.(querystring|path|header)\.(.+)$`)

// requestValidation reads an Api event's RequestModel and RequestParameters
// as SAM does; false when they are refused. SAM attaches a request validator
// only when the RequestModel sets ValidateBody or ValidateParameters, the
// other then defaulting to false; RequestParameters' Required and Caching
// default to false.
func (b *builder) requestValidation(where string, p map[string]any, v *requestValidation) bool {
	ok := true
	if rm, set := p["RequestModel"]; set {
		m, isMap := rm.(map[string]any)
		if !isMap {
			b.fail("%s: RequestModel must be a mapping with Model", where)
			return false
		}
		for _, k := range []string{"Required", "ValidateBody", "ValidateParameters"} {
			if x, isBool := boolean(m[k]); isBool {
				m[k] = x // "true" as true, as CloudFormation takes it
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			switch k {
			case "Model":
				if v.model, _ = m[k].(string); v.model == "" {
					b.fail("%s: RequestModel.Model must name one of the API's Models", where)
					ok = false
				}
			case "Required", "ValidateBody", "ValidateParameters":
				if _, isBool := m[k].(bool); !isBool {
					b.fail("%s: RequestModel.%s must be true or false", where, k)
					ok = false
				}
			default:
				b.fail("%s: RequestModel.%s is refused: Portico knows Model, Required, ValidateBody and ValidateParameters", where, k)
				ok = false
			}
		}
		if _, set := m["Model"]; !set {
			b.fail("%s: RequestModel needs Model (one of the API's Models)", where)
			ok = false
		}
		if r, set := m["Required"].(bool); set {
			v.modelRequired = &r
		}
		body, bodySet := m["ValidateBody"].(bool)
		params, paramsSet := m["ValidateParameters"].(bool)
		if bodySet || paramsSet {
			v.validator = &apis.RequestValidator{ValidateRequestBody: body, ValidateRequestParameters: params}
		}
	}
	if rp, set := p["RequestParameters"]; set {
		list, isList := rp.([]any)
		if !isList {
			b.fail("%s: RequestParameters must be a list of names (method.request.querystring.NAME, ...) or {name: {Required, Caching}}", where)
			return false
		}
		for _, e := range list {
			prm := requestParam{}
			var settings map[string]any
			switch x := e.(type) {
			case string:
				prm.name = x
			case map[string]any:
				if len(x) != 1 {
					b.fail("%s: each RequestParameters entry is a name or {name: {Required, Caching}}", where)
					ok = false
					continue
				}
				for k, s := range x {
					prm.name = k
					if settings, _ = s.(map[string]any); settings == nil {
						b.fail("%s: RequestParameters %s: its value must be a mapping, e.g. {Required: true, Caching: false}", where, k)
						ok = false
					}
				}
			default:
				b.fail("%s: each RequestParameters entry is a name or {name: {Required, Caching}}", where)
				ok = false
				continue
			}
			mm := requestParamName.FindStringSubmatch(prm.name)
			if mm == nil {
				b.fail("%s: RequestParameters %q must be method.request.querystring.NAME, method.request.path.NAME or method.request.header.NAME", where, prm.name)
				ok = false
				continue
			}
			prm.in, prm.short = map[string]string{"querystring": "query", "path": "path", "header": "header"}[mm[1]], mm[2]
			for _, k := range slices.Sorted(maps.Keys(settings)) {
				val, isBool := boolean(settings[k])
				switch {
				case k == "Required" && isBool:
					prm.required = val
				case k == "Caching" && isBool:
					prm.caching = val
				case k == "Required" || k == "Caching":
					b.fail("%s: RequestParameters %s: %s must be true or false", where, prm.name, k)
					ok = false
				default:
					b.fail("%s: RequestParameters %s: %s is refused: Portico knows Required and Caching", where, prm.name, k)
					ok = false
				}
			}
			v.params = append(v.params, prm)
		}
	}
	return ok
}

// eventProps warns about each event property Portico does not act on.
func (b *builder) eventProps(where string, p map[string]any, supported ...string) {
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if !slices.Contains(supported, k) {
			b.warn("%s: property %s is not supported by Portico and is ignored", where, k)
		}
	}
}

// eventAuth reads an event's Auth; false when it is refused.
func (b *builder) eventAuth(where string, a map[string]any, r *eventRoute) bool {
	for _, k := range slices.Sorted(maps.Keys(a)) {
		switch k {
		case "ApiKeyRequired":
			v, ok := boolean(a[k])
			if !ok {
				b.fail("%s: Auth.ApiKeyRequired must be true or false", where)
				return false
			}
			r.apiKeyRequired = &v
		case "Authorizer":
			s, _ := a[k].(string)
			r.authorizer = s
		case "ResourcePolicy":
			m, ok := a[k].(map[string]any)
			if !ok {
				b.fail("%s: Auth.ResourcePolicy must be a mapping", where)
				return false
			}
			r.policy = m
		case "AuthorizationScopes":
			list, ok := a[k].([]any)
			if !ok {
				b.fail("%s: Auth.AuthorizationScopes must be a list", where)
				return false
			}
			r.scopes = list
		case "InvokeRole":
			if !validInvokeRole(a[k]) {
				b.fail("%s: Auth.InvokeRole is refused: %s", where, invokeRoleRefused)
				return false
			}
			r.invokeRole, _ = a[k].(string)
		case "OverrideApiAuth":
			// SAM needs it to give a DefinitionBody method an event's Auth;
			// Portico refuses an event's Auth there, and an event's own
			// method takes the event's Auth over the API's always.
			if _, ok := boolean(a[k]); !ok {
				b.fail("%s: Auth.OverrideApiAuth must be true or false", where)
				return false
			}
		default:
			// SAM's ApiFunctionAuth knows no other: a misspelled
			// ApiKeyRequired or Authorizer must not deploy the method open.
			b.fail("%s: Auth.%s is refused: an event's Auth takes ApiKeyRequired, AuthorizationScopes, Authorizer, InvokeRole, OverrideApiAuth and ResourcePolicy", where, k)
			return false
		}
	}
	return true
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// checkRouteSettings fails on a RouteSettings key that is not one of the
// API's route keys (the stage would refuse it midway).
func (b *builder) checkRouteSettings(a *API, routes []apis.Route) {
	if a.HTTPStage == nil {
		return
	}
	keys := map[string]bool{}
	for _, r := range routes {
		keys[r.RouteKey] = true
	}
	for _, k := range slices.Sorted(maps.Keys(a.HTTPStage.RouteSettings)) {
		if !keys[k] {
			b.fail("%s: RouteSettings names route %q, which the API does not have (its routes: %s)", a.LogicalID, k, strings.Join(slices.Sorted(maps.Keys(keys)), ", "))
		}
	}
}

// check runs the API's document through the gateway's importer and validation,
// so that a document the gateway would refuse stops the deploy before anything
// changes.
func (b *builder) check(a *API) {
	// The stage the server would refuse stops the deploy here, not midway.
	httpDefault := a.Stage == apis.RouteDefault && a.Protocol == apis.ProtocolHTTP
	if a.Stage != "" && !httpDefault && !apis.ValidStageName(a.Stage) {
		b.fail("%s: stage name %q must match [A-Za-z0-9_-]{1,128}", a.LogicalID, a.Stage)
	}
	if err := errors.Join(apis.ValidateVariables(a.Variables), apis.ValidateVariableValues(a.Variables)); err != nil {
		b.fail("%s: %v", a.LogicalID, err)
	}
	if a.Canary != nil {
		if err := errors.Join(apis.ValidateVariables(a.Canary.StageVariableOverrides), apis.ValidateVariableValues(a.Canary.StageVariableOverrides)); err != nil {
			b.fail("%s: CanarySetting.StageVariableOverrides: %v", a.LogicalID, err)
		}
	}
	if a.routed() {
		if a.Stage == "" {
			what := "a WebSocket API"
			if a.V2 != nil {
				what = "an HTTP API"
			}
			b.fail("%s: %s needs an AWS::ApiGatewayV2::Stage naming it", a.LogicalID, what)
		}
		m := wsModel(a)
		if err := m.Validate(); err != nil {
			b.fail("%s: %v%s", a.LogicalID, err, b.wsOwners(a.LogicalID, err))
		}
		b.checkRouteSettings(a, m.Routes)
		return
	}
	doc, err := json.Marshal(a.Document)
	if err != nil {
		b.fail("%s: %v", a.LogicalID, err)
		return
	}
	// A local check of the template before any call: only the user's ^C,
	// which ends the process, stops it.
	res, err := openapi.Import(context.Background(), doc, openapi.Options{Name: a.Name, Protocol: a.Protocol})
	if err != nil {
		b.fail("%s: the API definition is refused: %v", a.LogicalID, err)
		return
	}
	if err := res.API.Validate(); err != nil {
		b.fail("%s: the API definition is refused: %v", a.LogicalID, err)
		return
	}
	if len(res.API.Routes) == 0 {
		// API Gateway deploys no API without methods or routes: refused
		// here, not midway (the deploy's first call would).
		b.fail("%s: the API has no methods: give it an event (Type: %s, RestApiId/ApiId: !Ref %s) or paths in its DefinitionBody", a.LogicalID,
			map[bool]string{true: "Api", false: "HttpApi"}[a.Protocol == apis.ProtocolREST], a.LogicalID)
		return
	}
	b.checkRouteSettings(a, res.API.Routes)
	if a.Protocol == apis.ProtocolREST {
		b.checkMethodSettings(a, res.API.Routes)
	}
	if a.failOnWarnings && len(res.Warnings) > 0 {
		b.fail("%s: FailOnWarnings is set and the API definition has warnings: %s", a.LogicalID, strings.Join(res.Warnings, "; "))
		return
	}
	for _, w := range res.Warnings {
		a.Warnings = append(a.Warnings, w)
		b.warn("%s: %s", a.LogicalID, w)
	}
}

// checkMethodSettings refuses a REST stage's MethodSettings entry whose
// ResourcePath and HttpMethod name a method the API does not have, as
// CloudFormation's stage fails ("Invalid method setting path"), rather than
// setting a throttle or cache that applies to nothing.
func (b *builder) checkMethodSettings(a *API, routes []apis.Route) {
	seen := map[string]bool{}
	var have []string
	for _, r := range routes {
		have = append(have, r.Method+" "+r.Path)
	}
	slices.Sort(have)
	for _, op := range a.StageOps {
		key, _, ok := methodSettingKey(op.Path)
		if !ok || seen[key] || strings.HasPrefix(key, "*/") {
			continue
		}
		seen[key] = true
		esc, method, _ := strings.Cut(key, "/")
		path := strings.ReplaceAll(strings.ReplaceAll(esc, "~1", "/"), "~0", "~")
		found := false
		for _, r := range routes {
			if r.Path == path && (method == "*" || strings.EqualFold(r.Method, method) || r.Method == "ANY") {
				found = true
				break
			}
		}
		if !found {
			b.fail("%s: MethodSettings: Invalid method setting path: ResourcePath %s with HttpMethod %s names a method the API does not have "+
				"(its methods: %s); name one of those, or ResourcePath /* with HttpMethod * for every method", a.LogicalID, path, method, strings.Join(have, ", "))
		}
	}
}
