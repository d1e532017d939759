// Package openapi imports and exports API definitions as OpenAPI 3 and Swagger 2.0
// documents with API Gateway's x-amazon-apigateway-* extensions.
//
// Import understands x-amazon-apigateway-integration (HTTP APIs: also by $ref
// to components.x-amazon-apigateway-integrations), -any-method,
// -binary-media-types, -api-key-source, -request-validators and
// -request-validator, keeps security schemes (authorizers) and every other
// extension verbatim, and reports what it ignores as warnings. Documents are
// loaded with kin-openapi (Swagger 2.0 through openapi2conv), which resolves
// every $ref inside the document and refuses external ones. Export writes what
// import reads, so that importing an export gives the same API.
package openapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// MaxDocument bounds an imported document (API Gateway's limit is 6 MB for an
// import body).
const MaxDocument = 6 << 20

// Options steer an import.
type Options struct {
	// Name overrides info.title.
	Name string
	// Protocol is REST or HTTP; empty means HTTP when the document carries
	// x-amazon-apigateway-importexport-version (an HTTP API export), else REST.
	Protocol string
	// BasePath is how the document's base path (Swagger 2.0 basePath; in
	// OpenAPI 3 the first basePath server variable, else the path of the
	// first server url that has one) is read, as API Gateway's basepath
	// parameter: BasePathIgnore (or empty) leaves it out, BasePathPrepend
	// puts it before every path, BasePathSplit puts it before every path
	// without its first segment.
	BasePath string
}

// The values of Options.BasePath.
const (
	BasePathIgnore  = "ignore"
	BasePathPrepend = "prepend"
	BasePathSplit   = "split"
)

// Result is an imported API and what the import could not take over.
type Result struct {
	API      *apis.API
	Warnings []string
	// PathPrefix is what Options.BasePath put before every path ("" for
	// none), for the caller's own paths of the document (resources without
	// methods).
	PathPrefix string
}

const (
	extIntegration = "x-amazon-apigateway-integration"
	extAnyMethod   = "x-amazon-apigateway-any-method"
	// defaultPath is the path an HTTP API's $default route has in AWS's
	// OpenAPI export (and in documents written from it).
	defaultPath = "/" + apis.RouteDefault
	// generatedParamDescription starts the description API Gateway's export
	// (and Portico's) gives a path parameter the route does not declare.
	generatedParamDescription = "Generated path parameter for "
	// keyIsDefaultRoute marks the $default route's operation in API
	// Gateway's export of an HTTP API.
	keyIsDefaultRoute    = "isDefaultRoute"
	extBinaryMediaTypes  = "x-amazon-apigateway-binary-media-types"
	extAPIKeySource      = "x-amazon-apigateway-api-key-source" //nolint:gosec // an extension name, not a credential
	extRequestValidators = "x-amazon-apigateway-request-validators"
	extRequestValidator  = "x-amazon-apigateway-request-validator"
	extImportExport      = "x-amazon-apigateway-importexport-version"
	extGatewayResponses  = "x-amazon-apigateway-gateway-responses"
	extCORS              = "x-amazon-apigateway-cors"
	extAuthorizer        = "x-amazon-apigateway-authorizer"
	extMinCompression    = "x-amazon-apigateway-minimum-compression-size"
	extEndpointConfig    = "x-amazon-apigateway-endpoint-configuration"
	extIntegrations      = "x-amazon-apigateway-integrations"
	extTagValue          = "x-amazon-apigateway-tag-value"
	prefixAWS            = "x-amazon-apigateway-"
)

// notEnforced lists kept extensions that Portico does not act on yet, with why.
var notEnforced = map[string]string{
	"x-amazon-apigateway-documentation":                "documentation parts are kept but not served",
	"x-amazon-apigateway-tag-value":                    "tags are kept but not used",
	"x-amazon-apigateway-api-key-selection-expression": "kept",
}

// enforced lists extensions that are kept as they are (Extensions) and that
// Portico reads from there and enforces: no warning for them.
var enforced = map[string]bool{
	apis.ExtPolicy: true, // the REST API's resource policy (gateway/auth)
	apis.ExtAuth:   true, // an operation's AWS_IAM authorization type
}

// noValidationHTTP says why an HTTP API's request validators are ignored.
const noValidationHTTP = "HTTP APIs have no request validation (API Gateway's import ignores validators too); parameters and request bodies are not checked; use a REST API to validate requests"

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

type importer struct {
	swagger2 bool
	// protocol is the API's (REST or HTTP), set before anything is read.
	protocol string
	raw      map[string]json.RawMessage
	warnings []string
	errs     []error

	// doc is the document as kin-openapi loaded it, $refs resolved (Swagger 2.0
	// converted to OpenAPI 3).
	doc *openapi3.T
	// models are the schemas of components.schemas (definitions), verbatim.
	models    map[string]json.RawMessage
	globalSec *[]map[string][]string
	// integrations are components.x-amazon-apigateway-integrations, the
	// shared integrations operations refer to by $ref (HTTP APIs), and
	// referred says which of them are.
	integrations  map[string]json.RawMessage
	referred      map[string]bool
	sharedRefused bool
	apiKeySchemes map[string]bool
	// basePathMode is Options.BasePath; prefix is what it put before every
	// path.
	basePathMode, prefix string
	// unchecked are declarations the request validator cannot check (inline
	// body schemas, required cookie parameters), decided once the routes'
	// validators are known: refused where a validator would be asked to check
	// them, a warning elsewhere.
	unchecked []unchecked
}

// unchecked is one declaration of a route the request validator cannot check.
type unchecked struct {
	method, path string
	// body is true for a request body schema (validateRequestBody), false for
	// a parameter (validateRequestParameters).
	body bool
	// what says what is declared; fix, what to do instead.
	what, fix string
	// notChecked is true for what a validator does not check though the
	// document asks it (a parameter's schema: API Gateway's validator checks
	// only that required parameters are present): a warning where the
	// route's validator checks parameters, nothing elsewhere.
	notChecked bool
}

func (im *importer) warn(format string, args ...any) {
	im.warnings = append(im.warnings, fmt.Sprintf(format, args...))
}

func (im *importer) fail(format string, args ...any) {
	im.errs = append(im.errs, fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalid)...))
}

// Import parses an OpenAPI 3 or Swagger 2.0 document (JSON or YAML) into an API
// with no id. Documents that do not parse, contradict themselves or hold unknown
// integration types are errdefs.ErrInvalid errors, all problems joined; so is
// a document with more than apis.MaxModels models, refused before it is
// loaded. Import stops with ctx's error once ctx is done (the client that
// sent the document went away): a document of many deep models takes
// seconds.
func Import(ctx context.Context, data []byte, opts Options) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(data) > MaxDocument {
		return nil, fmt.Errorf("document is %d bytes; at most %d are accepted: %w", len(data), MaxDocument, errdefs.ErrTooLarge)
	}
	js, err := ToJSON(data)
	if errors.Is(err, errExpandsTooLarge) || errors.Is(err, errNotStrictJSON) || errors.Is(err, errNotJSON) || errors.Is(err, errManyDocuments) {
		return nil, fmt.Errorf("%w: %w", err, errdefs.ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("document does not parse as JSON or YAML: %w: %w", err, errdefs.ErrInvalid)
	}
	if err := apis.CheckDepth(js, apis.MaxDocumentDepth); err != nil {
		return nil, fmt.Errorf("document %w: %w", err, errdefs.ErrInvalid)
	}
	im := &importer{}
	if err := json.Unmarshal(js, &im.raw); err != nil || im.raw == nil {
		return nil, fmt.Errorf("document is not an object: %w", errdefs.ErrInvalid)
	}
	var version string
	switch {
	case im.raw["openapi"] != nil:
		if json.Unmarshal(im.raw["openapi"], &version) != nil {
			// openapi: 3 in YAML is a number: say what was given.
			return nil, fmt.Errorf("openapi version %.40s is not a string: write it quoted, as \"3.0.1\": %w", im.raw["openapi"], errdefs.ErrInvalid)
		}
		if !strings.HasPrefix(version, "3.") {
			return nil, fmt.Errorf("openapi version %q is not supported (3.x or swagger 2.0): %w", version, errdefs.ErrInvalid)
		}
		if !strings.HasPrefix(version, "3.0") {
			// API Gateway imports OpenAPI 3.0; a later 3.x is read as 3.0.
			im.warn("openapi %s is read as OpenAPI 3.0, as API Gateway imports it: models are JSON Schema draft 4 (not 2020-12) and 3.1's additions (webhooks, jsonSchemaDialect, ...) are not read", version)
		}
	case im.raw["swagger"] != nil:
		if json.Unmarshal(im.raw["swagger"], &version) != nil {
			return nil, fmt.Errorf("swagger version %.40s is not a string: write it quoted, as \"2.0\": %w", im.raw["swagger"], errdefs.ErrInvalid)
		}
		if version != "2.0" {
			return nil, fmt.Errorf("swagger version %q is not supported (2.0 or openapi 3.x): %w", version, errdefs.ErrInvalid)
		}
		im.swagger2 = true
	case im.raw["Resources"] != nil || im.raw["Transform"] != nil || im.raw["AWSTemplateFormatVersion"] != nil:
		// The file next to api.yaml, most often template.yaml.
		return nil, fmt.Errorf("document is a SAM or CloudFormation template (it has Resources), not an OpenAPI document: deploy it with `portico deploy --template FILE`, or import the OpenAPI document its API names: %w", errdefs.ErrInvalid)
	default:
		return nil, fmt.Errorf("document has neither an openapi nor a swagger version field: %w", errdefs.ErrInvalid)
	}
	// Canonical model references, as API Gateway stores them, are the
	// document's own models: read them as the document's local references.
	local := "#/components/schemas/"
	if im.swagger2 {
		local = "#/definitions/"
	}
	js = rewriteModelURLs(js, "", local)
	if err := json.Unmarshal(js, &im.raw); err != nil {
		return nil, fmt.Errorf("document is not an object: %w", errdefs.ErrInvalid)
	}
	if where, n := im.modelCount(); n > apis.MaxModels {
		return nil, fmt.Errorf("document has %d models (%s); at most %d are allowed per API: %w", n, where, apis.MaxModels, errdefs.ErrInvalid)
	}
	if n := im.operationCount(); n > apis.MaxRoutes {
		return nil, fmt.Errorf("document has %d operations under paths; an API has at most %d routes: %w", n, apis.MaxRoutes, errdefs.ErrInvalid)
	}
	if im.unresolvedRefs(js); len(im.errs) > 0 {
		return nil, errors.Join(im.errs...)
	}
	if im.doc, err = im.load(js); err != nil {
		return nil, fmt.Errorf("document does not load: %s: %w", err.Error(), errdefs.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := im.run(ctx, opts)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(im.errs) > 0 {
		return nil, errors.Join(im.errs...)
	}
	a.Normalize()
	// The models' compile is most of a large import's work: done here with
	// ctx, Validate finds it done.
	if _, err := apis.CompileModelsContext(ctx, a.ID, a.Models); err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := checkRESTPaths(a); err != nil {
		return nil, err
	}
	return &Result{API: a, Warnings: im.warnings, PathPrefix: im.prefix}, nil
}

// ModelCount is how many models a document declares (components.schemas, or
// Swagger 2.0's definitions) and where, without loading it: ("", 0) for a
// document that does not parse or declares none. Clients use it to say that a
// large import is compiling its models.
func ModelCount(data []byte) (where string, n int) {
	js, err := ToJSON(data)
	if err != nil {
		return "", 0
	}
	im := &importer{}
	if json.Unmarshal(js, &im.raw) != nil {
		return "", 0
	}
	_, im.swagger2 = im.raw["swagger"]
	return im.modelCount()
}

// modelCount is ModelCount of the document in im.raw.
func (im *importer) modelCount() (where string, n int) {
	var models map[string]json.RawMessage
	where = "definitions"
	if im.swagger2 {
		_ = json.Unmarshal(im.raw["definitions"], &models)
	} else {
		where = "components.schemas"
		var comps map[string]json.RawMessage
		if json.Unmarshal(im.raw["components"], &comps) == nil {
			_ = json.Unmarshal(comps["schemas"], &models)
		}
	}
	return where, len(models)
}

// operationCount counts the document's operations that become routes (the
// methods API Gateway has, and x-amazon-apigateway-any-method) before it is
// loaded: a document of thousands is refused in milliseconds, not after
// seconds of loading (the openapi14 tester's). Path items that are not
// objects (a $ref, a mistake) count nothing here; the load reports them.
func (im *importer) operationCount() int {
	var paths map[string]json.RawMessage
	_ = json.Unmarshal(im.raw["paths"], &paths)
	n := 0
	for _, raw := range paths {
		var item map[string]json.RawMessage
		if json.Unmarshal(raw, &item) == nil {
			n += countOperations(item)
		}
	}
	return n
}

func countOperations(item map[string]json.RawMessage) int {
	n := 0
	for k := range item {
		if k == extAnyMethod || slices.Contains(httpMethods, k) {
			n++
		}
	}
	return n
}

func (im *importer) run(ctx context.Context, opts Options) *apis.API {
	im.basePathMode = opts.BasePath
	a := &apis.API{}
	if info := im.doc.Info; info != nil {
		a.Name, a.Description, a.Version = info.Title, info.Description, info.Version
	}
	if opts.Name != "" {
		a.Name = opts.Name
	}
	if strings.TrimSpace(a.Name) == "" {
		im.fail("the document has no info.title; give the API a name")
	}
	switch strings.ToUpper(opts.Protocol) {
	case "":
		a.Protocol = apis.ProtocolREST
		if im.raw[extImportExport] != nil {
			a.Protocol = apis.ProtocolHTTP
		}
	case apis.ProtocolREST, apis.ProtocolHTTP:
		a.Protocol = strings.ToUpper(opts.Protocol)
	case apis.ProtocolWebSocket:
		im.fail("WEBSOCKET APIs cannot be imported from OpenAPI; create them with routes through the admin API")
		return a
	default:
		im.fail("protocol %q must be REST or HTTP", opts.Protocol)
		return a
	}
	im.protocol = a.Protocol

	a.InfoExtensions = im.extensionsOf("info", im.raw["info"])
	a.PathsExtensions = im.extensionsOf("paths", im.raw["paths"])
	im.collectComponents()
	a.Models = im.models
	if a.Protocol == apis.ProtocolREST {
		im.checkModelNames()
	}
	im.checkModelKeywords(ctx)
	if ctx.Err() != nil {
		return a
	}
	if !im.swagger2 {
		a.ComponentsExtensions = im.extensionsOf("components", im.raw["components"], extIntegrations)
		im.sharedIntegrations(a.Protocol)
	}
	a.Authorizers = im.securitySchemes()
	if raw := im.raw["security"]; raw != nil {
		var sec []map[string][]string
		if err := json.Unmarshal(raw, &sec); err != nil {
			im.fail("security: %v", err)
		} else if im.nullRequirements("", sec) {
			im.globalSec = &sec
		}
	}
	im.topLevel(a)
	im.paths(a)
	for _, name := range slices.Sorted(maps.Keys(im.integrations)) {
		if !im.referred[name] {
			im.warn("components.%s.%s is not referred to by any operation; it is ignored", extIntegrations, name)
		}
	}
	im.checkUnchecked(a)
	im.checkResponseHeaderMappings(a)
	im.applyBasePath(a, opts.BasePath)
	return a
}

// checkRESTPaths refuses a REST API's route paths (its base path included)
// with a literal part that create-resource refuses: API Gateway's import
// holds a document's paths to the same characters. It runs after Validate,
// whose words for a path it refuses (a % or a dot segment) come first.
func checkRESTPaths(a *apis.API) error {
	if a.Protocol != apis.ProtocolREST {
		return nil
	}
	var errs []error
	seen := map[string]bool{}
	for i := range a.Routes {
		p := a.Routes[i].Path
		if seen[p] {
			continue
		}
		seen[p] = true
		errs = append(errs, apis.CheckRESTPath(p))
	}
	return errors.Join(errs...)
}

// applyBasePath puts the prefix the basepath mode asks for before every
// route's path.
func (im *importer) applyBasePath(a *apis.API, mode string) {
	switch mode {
	case "", BasePathIgnore:
		return
	case BasePathPrepend, BasePathSplit:
	default:
		im.fail("basepath %.20q must be ignore, prepend or split", mode)
		return
	}
	base := im.basePath()
	if mode == BasePathSplit {
		// The first segment goes: /a/b/c leaves /b/c, /a leaves nothing.
		if i := strings.IndexByte(base[min(1, len(base)):], '/'); i >= 0 {
			base = base[i+1:]
		} else {
			base = ""
		}
	}
	if base == "" {
		return
	}
	if _, err := apis.ParseTemplate(base); err != nil {
		im.fail("base path %q: %v", base, err)
		return
	}
	im.prefix = base
	for i := range a.Routes {
		r := &a.Routes[i]
		switch r.Path {
		case apis.RouteDefault:
		case "/":
			r.Path = base
		default:
			r.Path = base + r.Path
		}
	}
}

// basePath returns the document's base path, with one leading slash and no
// trailing one ("" for none): Swagger 2.0's basePath; in OpenAPI 3, the
// default of the first basePath server variable, else the path of the first
// server url that has one beyond "/".
func (im *importer) basePath() string {
	clean := func(p string) string {
		p = strings.Trim(strings.TrimSpace(p), "/")
		if p == "" {
			return ""
		}
		return "/" + p
	}
	if im.swagger2 {
		var bp string
		_ = json.Unmarshal(im.raw["basePath"], &bp)
		return clean(bp)
	}
	var servers []struct {
		URL       string `json:"url"`
		Variables map[string]struct {
			Default any `json:"default"`
		} `json:"variables"`
	}
	_ = json.Unmarshal(im.raw["servers"], &servers)
	for _, sv := range servers {
		if v, ok := sv.Variables["basePath"]; ok {
			return clean(fmt.Sprint(v.Default))
		}
	}
	for _, sv := range servers {
		u := sv.URL
		for name, v := range sv.Variables {
			u = strings.ReplaceAll(u, "{"+name+"}", fmt.Sprint(v.Default))
		}
		if i := strings.Index(u, "://"); i >= 0 {
			u = u[i+3:]
			j := strings.IndexByte(u, '/')
			if j < 0 {
				continue
			}
			u = u[j:]
		}
		if k := strings.IndexAny(u, "?#"); k >= 0 {
			u = u[:k]
		}
		if p := clean(u); p != "" {
			return p
		}
	}
	return ""
}

// checkResponseHeaderMappings refuses, on a REST API, each integration
// request parameter mapped from a method request parameter the operation does
// not declare, and each integration response that maps method.response.header.NAME when the method response of
// its status does not declare NAME (or the operation has no response of that
// status), as API Gateway's import and put-integration-response refuse it:
// a method response declares the headers a method may answer with.
func (im *importer) checkResponseHeaderMappings(a *apis.API) {
	if a.Protocol != apis.ProtocolREST {
		return
	}
	for i := range a.Routes {
		r := &a.Routes[i]
		if r.Integration == nil {
			continue
		}
		where := r.Method + " " + r.Path
		for _, key := range slices.Sorted(maps.Keys(r.Integration.RequestParameters)) {
			if src := r.Integration.RequestParameters[key]; r.UndeclaredRequestSource(src) {
				im.fail("%s: x-amazon-apigateway-integration requestParameters maps %s from %s, which the operation does not declare (Invalid mapping expression parameter specified: %s); declare it under the operation's parameters",
					where, key, src, src)
			}
		}
		for _, pattern := range slices.Sorted(maps.Keys(r.Integration.Responses)) {
			ir := r.Integration.Responses[pattern]
			for _, key := range slices.Sorted(maps.Keys(ir.ResponseParameters)) {
				header, ok := strings.CutPrefix(key, "method.response.header.")
				if !ok {
					continue
				}
				mr, ok := r.Responses[ir.StatusCode]
				switch {
				case !ok:
					im.fail("%s: integration response %q (statusCode %s) maps %s, but the operation has no response %s; declare it under responses with the header %s",
						where, pattern, ir.StatusCode, key, ir.StatusCode, header)
				case !slices.ContainsFunc(mr.Headers, func(h string) bool { return strings.EqualFold(h, header) }):
					im.fail("%s: integration response %q (statusCode %s) maps %s, which response %s does not declare; add %s to its headers",
						where, pattern, ir.StatusCode, key, ir.StatusCode, header)
				}
			}
		}
	}
}

// checkUnchecked refuses each declaration the request validator of its route
// would be asked to check and cannot (a declared check that is not made), and
// warns about the others, which no validator asks for.
func (im *importer) checkUnchecked(a *apis.API) {
	for _, u := range im.unchecked {
		where := u.method + " " + u.path
		name := ""
		for i := range a.Routes {
			if r := &a.Routes[i]; r.Path == u.path && (r.Method == u.method || r.Path == apis.RouteDefault) {
				name = r.RequestValidator
			}
		}
		if name == "" {
			name = a.RequestValidator
		}
		v, ok := a.RequestValidators[name]
		if u.notChecked {
			if a.Protocol == apis.ProtocolREST && ok && v.ValidateRequestParameters {
				im.warn("%s: %s; %s", where, u.what, u.fix)
			}
			continue
		}
		if a.Protocol == apis.ProtocolREST && ok && ((u.body && v.ValidateRequestBody) || (!u.body && v.ValidateRequestParameters)) {
			check := "validateRequestParameters"
			if u.body {
				check = "validateRequestBody"
			}
			im.fail("%s: %s, which request validator %q (%s) cannot check; %s", where, u.what, name, check, u.fix)
			continue
		}
		im.warn("%s: %s is ignored; %s", where, u.what, u.fix)
	}
}

func (im *importer) collectComponents() {
	decodeMap := func(raw json.RawMessage, where string) map[string]json.RawMessage {
		if raw == nil {
			return nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			im.fail("%s must be an object", where)
		}
		return m
	}
	if im.swagger2 {
		im.models = decodeMap(im.raw["definitions"], "definitions")
		for k, v := range im.models {
			im.models[k] = rewriteRefs(v, "#/definitions/", "#/components/schemas/")
		}
		return
	}
	var comps map[string]json.RawMessage
	if raw := im.raw["components"]; raw != nil {
		if err := json.Unmarshal(raw, &comps); err != nil {
			im.fail("components must be an object")
			return
		}
	}
	im.models = decodeMap(comps["schemas"], "components.schemas")
	for k := range comps {
		switch k {
		case "schemas", "parameters", "responses", "requestBodies", "securitySchemes", "headers", "examples":
			// Resolved where they are referred to.
		default:
			if !strings.HasPrefix(k, "x-") {
				im.warn("components.%s is ignored", k)
			}
		}
	}
}

// checkModelNames refuses a REST API's model names that create-model
// refuses, in API Gateway's import's words: a model made so could not be made
// again through the API, and the document would not import on API Gateway.
func (im *importer) checkModelNames() {
	where := "components.schemas"
	if im.swagger2 {
		where = "definitions"
	}
	for _, name := range slices.Sorted(maps.Keys(im.models)) {
		if !apis.ValidModelName(name) {
			im.fail("%s[%.140q]: Unable to create model for '%.140s': Model name must be alphanumeric (1 to 128 letters and digits, as create-model takes): rename it and its $refs", where, name, name)
		}
	}
}

// laterKeywords are JSON Schema assertions newer than draft 4 (draft 6 to
// 2020-12, which OpenAPI 3.1 schemas are written in). Models are draft 4, as
// API Gateway's are: a validator would not check these.
var laterKeywords = map[string]bool{
	"const": true, "contains": true, "minContains": true, "maxContains": true, "propertyNames": true,
	"if": true, "then": true, "else": true, "prefixItems": true, "dependentRequired": true,
	"dependentSchemas": true, "unevaluatedProperties": true, "unevaluatedItems": true, "$defs": true,
}

// schemaKeywords are the keywords of a schema object that are no typo: JSON
// Schema's (draft 4 to 2020-12, annotations included; laterKeywords are
// warned about on their own) and OpenAPI's schema fields.
var schemaKeywords = map[string]bool{
	"$schema": true, "id": true, "$id": true, "$ref": true, "$comment": true, "$anchor": true, "$dynamicRef": true,
	"$dynamicAnchor": true, "$vocabulary": true, "$recursiveRef": true, "$recursiveAnchor": true, "definitions": true,
	"title": true, "description": true, "default": true, "examples": true, "example": true, "readOnly": true,
	"writeOnly": true, "deprecated": true, "type": true, "enum": true, "format": true, "multipleOf": true,
	"maximum": true, "exclusiveMaximum": true, "minimum": true, "exclusiveMinimum": true, "maxLength": true,
	"minLength": true, "pattern": true, "items": true, "additionalItems": true, "maxItems": true, "minItems": true,
	"uniqueItems": true, "maxProperties": true, "minProperties": true, "required": true, "properties": true,
	"patternProperties": true, "additionalProperties": true, "dependencies": true, "allOf": true, "anyOf": true,
	"oneOf": true, "not": true, "contentMediaType": true, "contentEncoding": true, "contentSchema": true,
	"nullable": true, "discriminator": true, "xml": true, "externalDocs": true,
}

// checkModelKeywords warns about each assertion keyword of a model that JSON
// Schema draft 4, the models' dialect, does not have: request validation
// would not check it (OpenAPI 3.1 documents write their schemas in 2020-12).
func (im *importer) checkModelKeywords(ctx context.Context) {
	var walk func(model, at string, v any)
	walk = func(model, at string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(t)) {
				if laterKeywords[k] {
					im.warn("model %q: %s at %s is not checked: models are JSON Schema draft 4, as API Gateway's are; express it in draft 4 (const as a one-value enum)", model, k, at+"/"+k)
					continue
				}
				if !schemaKeywords[k] && !strings.HasPrefix(k, "x-") {
					// A misspelt required (requird) checks nothing.
					im.warn("model %q: %s at %s is not a JSON Schema keyword; it is not checked", model, k, at+"/"+k)
					continue
				}
				switch k {
				case "properties", "patternProperties", "definitions", "dependencies":
					if m, ok := t[k].(map[string]any); ok {
						for _, name := range slices.Sorted(maps.Keys(m)) {
							walk(model, at+"/"+k+"/"+name, m[name])
						}
					}
				case "items", "additionalItems", "additionalProperties", "not", "allOf", "anyOf", "oneOf":
					walk(model, at+"/"+k, t[k])
				}
			}
		case []any:
			for i, e := range t {
				walk(model, fmt.Sprintf("%s/%d", at, i), e)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(im.models)) {
		if ctx.Err() != nil {
			return
		}
		var v any
		if json.Unmarshal(im.models[name], &v) == nil {
			walk(name, "", v)
		}
	}
}

// securitySchemes keeps every security scheme (authorizers and API keys) as JSON.
func (im *importer) securitySchemes() map[string]json.RawMessage {
	var raw json.RawMessage
	if im.swagger2 {
		raw = im.raw["securityDefinitions"]
	} else {
		var comps map[string]json.RawMessage
		_ = json.Unmarshal(im.raw["components"], &comps)
		raw = comps["securitySchemes"]
	}
	if raw == nil {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		im.fail("security schemes must be an object")
		return nil
	}
	im.apiKeySchemes = map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		v := m[name]
		var s map[string]json.RawMessage
		if err := json.Unmarshal(v, &s); err != nil {
			im.fail("security scheme %q must be an object", name)
			continue
		}
		if raw, ok := s["$ref"]; ok {
			where := "components.securitySchemes"
			if im.swagger2 {
				where = "securityDefinitions"
			}
			var ref string
			_ = json.Unmarshal(raw, &ref)
			if len(ref) > 100 {
				ref = ref[:100] + "..."
			}
			im.fail("security scheme %q: a $ref (%q) in %s is not supported: write the scheme in full under %q, or have the operations' security name the scheme it refers to",
				name, ref, where, name)
			delete(m, name)
			continue
		}
		var typ string
		_ = json.Unmarshal(s["type"], &typ)
		if im.swagger2 && typ == "oauth2" && s[extAuthorizer] != nil && placeholderFlow(s) {
			// The flow a Swagger 2.0 export writes for a JWT authorizer,
			// which has none: the authorizer is what it was.
			delete(s, "flow")
			delete(s, "authorizationUrl")
			if string(s["scopes"]) == "{}" {
				delete(s, "scopes")
			}
			m[name], _ = json.Marshal(s)
		}
		if typ == "apiKey" && s[extAuthorizer] == nil && s["x-amazon-apigateway-authtype"] == nil {
			im.apiKeySchemes[name] = true
			var in, header string
			_ = json.Unmarshal(s["in"], &in)
			_ = json.Unmarshal(s["name"], &header)
			if im.protocol == apis.ProtocolREST && (in != "header" || !strings.EqualFold(header, "x-api-key")) {
				im.warn("security scheme %q: an API key is read from the x-api-key header (or, with %s AUTHORIZER, from an authorizer), as API Gateway reads it, not from %s %q; clients must send it as x-api-key",
					name, extAPIKeySource, in, header)
			}
		}
	}
	return m
}

// restOnly are the top-level extensions of REST API settings that HTTP APIs do
// not have, and why: an HTTP API import ignores them with a warning, as API
// Gateway's does, and stores nothing of them (an export does not write them).
var restOnly = map[string]string{ //nolint:gosec // G101: extension names and reasons, not credentials
	extGatewayResponses: "gateway responses are for REST APIs; HTTP APIs answer their own errors as API Gateway's do",
	extBinaryMediaTypes: "binary media types are for REST APIs; HTTP APIs base64-encode a body that is not text",
	extAPIKeySource:     "API keys are for REST APIs; HTTP APIs have none",
}

func (im *importer) topLevel(a *apis.API) {
	known := map[string]bool{"openapi": true, "swagger": true, "info": true, "paths": true, "components": true,
		"definitions": true, "securityDefinitions": true, "parameters": true, "responses": true,
		"consumes": true, "produces": true, "security": true}
	for _, k := range slices.Sorted(maps.Keys(im.raw)) {
		v := im.raw[k]
		switch {
		case known[k]:
		case a.Protocol == apis.ProtocolHTTP && restOnly[k] != "":
			im.warn("%s is ignored: %s", k, restOnly[k])
		case k == extBinaryMediaTypes:
			if err := json.Unmarshal(v, &a.BinaryMediaTypes); err != nil {
				im.fail("%s must be a list of media types", k)
			}
		case k == extMinCompression:
			var n int
			if err := json.Unmarshal(v, &n); err != nil {
				im.fail("%s must be an integer between 0 and %d", k, apis.MaxCompressionSize)
				continue
			}
			a.MinimumCompressionSize = &n
		case k == extAPIKeySource:
			if err := json.Unmarshal(v, &a.APIKeySource); err != nil {
				im.fail("%s must be a string", k)
			}
			a.APIKeySource = strings.ToUpper(a.APIKeySource)
		case (k == extRequestValidators || k == extRequestValidator) && a.Protocol == apis.ProtocolHTTP:
			im.warn("%s is ignored: %s", k, noValidationHTTP)
		case k == extRequestValidators:
			if err := decodeStrict(k, v, &a.RequestValidators); err != nil {
				im.fail("%v", err)
			}
		case k == extRequestValidator:
			if err := json.Unmarshal(v, &a.RequestValidator); err != nil {
				im.fail("%s must be a string", k)
			}
		case k == extGatewayResponses:
			var raw map[string]struct {
				StatusCode         statusCode        `json:"statusCode"`
				ResponseParameters map[string]string `json:"responseParameters"`
				ResponseTemplates  map[string]string `json:"responseTemplates"`
			}
			if err := decodeStrict(k, v, &raw); err != nil {
				im.fail("%v", err)
				continue
			}
			a.GatewayResponses = map[string]apis.GatewayResponse{}
			for typ, gr := range raw {
				a.GatewayResponses[typ] = apis.GatewayResponse{StatusCode: string(gr.StatusCode),
					ResponseParameters: gr.ResponseParameters, ResponseTemplates: gr.ResponseTemplates}
			}
		case k == extCORS && a.Protocol == apis.ProtocolREST:
			im.fail("%s is an HTTP API extension, not read on a REST API: a REST API answers CORS preflights with an OPTIONS method on each resource, "+
				"a MOCK integration whose response sets the Access-Control-Allow-* headers; write those methods in the document, "+
				"or import without %s and run portico api cors enable API_ID (docs/apis-and-stages.md#cors-rest-apis), or import the document as an HTTP API", k, k)
		case k == extCORS:
			a.CORS = &apis.CORSConfiguration{}
			if err := decodeStrict(k, v, a.CORS); err != nil {
				im.fail("%v", err)
			}
		case k == extEndpointConfig:
			im.endpointConfig(a, k, v)
		case k == "tags":
			im.docTags(a, v)
		case k == extImportExport:
			// The marker of an HTTP API export; the protocol carries it.
		case strings.HasPrefix(k, "x-"):
			if a.Extensions == nil {
				a.Extensions = map[string]json.RawMessage{}
			}
			a.Extensions[k] = v
			if why, ok := notEnforced[k]; ok && why != "kept" {
				im.warn("%s: %s", k, why)
			} else if strings.HasPrefix(k, prefixAWS) && !ok && !enforced[k] {
				im.warn("%s is not known to Portico; it is kept but has no effect", k)
			}
		case (k == "servers" || k == "basePath") && (im.basePathMode == BasePathPrepend || im.basePathMode == BasePathSplit):
			// Read for the base path (applyBasePath).
			im.serverEndpointConfig(a, k, v)
		case k == "servers" || k == "host" || k == "basePath" || k == "schemes":
			// Where the document was served, as API Gateway's exports of a
			// stage say: an import gets its stage URLs from Portico, as from
			// API Gateway, which ignores them without a warning (so that an
			// export imports again with failOnWarnings).
			im.serverEndpointConfig(a, k, v)
		default:
			im.warn("%s is ignored", k)
		}
	}
}

// docTags reads the document's tag objects. On an HTTP API each is a resource
// tag of the API, its value x-amazon-apigateway-tag-value ("" without), as
// API Gateway's import makes them. A REST API's are documentation, ignored.
func (im *importer) docTags(a *apis.API, v json.RawMessage) {
	var tags []map[string]json.RawMessage
	if err := json.Unmarshal(v, &tags); err != nil {
		im.fail("tags must be a list of tag objects")
		return
	}
	if a.Protocol != apis.ProtocolHTTP {
		for i, t := range tags {
			if t[extTagValue] != nil {
				im.warn("tags[%d]: %s is ignored: it tags HTTP APIs; tag a REST API with create-rest-api --tags or tag-resource", i, extTagValue)
			}
		}
		im.warn("tags is ignored")
		return
	}
	for i, t := range tags {
		var name, value string
		if err := json.Unmarshal(t["name"], &name); err != nil || name == "" {
			im.fail("tags[%d] has no name", i)
			continue
		}
		if raw := t[extTagValue]; raw != nil {
			if err := json.Unmarshal(raw, &value); err != nil {
				im.fail("tags[%d]: %s must be a string", i, extTagValue)
				continue
			}
		}
		if a.Tags == nil {
			a.Tags = map[string]string{}
		}
		a.Tags[name] = value
	}
	if err := apis.ValidateTags(a.Tags); err != nil {
		im.errs = append(im.errs, fmt.Errorf("tags: %w", err))
	}
}

// endpointConfig reads x-amazon-apigateway-endpoint-configuration (where
// names where it stands). disableExecuteApiEndpoint is enforced (gateway/edge
// reads the kept extension); vpcEndpointIds would make a private API that
// Portico would serve publicly, so they are refused, as the admin API refuses
// them.
func (im *importer) endpointConfig(a *apis.API, where string, v json.RawMessage) {
	var ec struct {
		Disable *bool    `json:"disableExecuteApiEndpoint"`
		VPCE    []string `json:"vpcEndpointIds"`
	}
	if err := decodeStrict(where, v, &ec); err != nil {
		hint := ""
		if strings.Contains(err.Error(), `"types"`) {
			// API Gateway's extension has no types: the endpoint type is a
			// parameter of the import.
			hint = "; the endpoint type is not part of this extension: give it as the import's parameter (--parameters endpointConfigurationTypes=REGIONAL)"
			if a.Protocol == apis.ProtocolHTTP {
				hint = "; the endpoint type is not part of this extension (HTTP APIs are REGIONAL): remove types"
			}
		}
		im.fail("%v%s", err, hint)
		return
	}
	if len(ec.VPCE) > 0 {
		im.fail("%s: vpcEndpointIds are not supported: Portico has no private endpoints and refuses them rather than serve the API publicly", where)
		return
	}
	if a.Extensions == nil {
		a.Extensions = map[string]json.RawMessage{}
	}
	a.Extensions[extEndpointConfig] = v
}

// serverEndpointConfig reads x-amazon-apigateway-endpoint-configuration where
// API Gateway's OpenAPI 3 documents (and exports) put it, on a server object,
// unless the document has it at the top level too.
func (im *importer) serverEndpointConfig(a *apis.API, k string, v json.RawMessage) {
	if k != "servers" || im.swagger2 || im.raw[extEndpointConfig] != nil {
		return
	}
	var servers []map[string]json.RawMessage
	_ = json.Unmarshal(v, &servers)
	for i, sv := range servers {
		if ec, ok := sv[extEndpointConfig]; ok {
			im.endpointConfig(a, fmt.Sprintf("servers[%d].%s", i, extEndpointConfig), ec)
			return
		}
	}
}

// placeholderAuthorizationURL is the authorizationUrl of the OAuth 2 flow
// that Swagger 2.0 requires of an oauth2 scheme and a JWT authorizer has not:
// the loader gives such a scheme one, and the Swagger 2.0 export writes it.
const placeholderAuthorizationURL = "https://authorizer.invalid/"

// placeholderFlow reports whether Swagger 2.0 oauth2 scheme s has the flow
// the export writes for a JWT authorizer (implicit, placeholderAuthorizationURL).
func placeholderFlow(s map[string]json.RawMessage) bool {
	var flow, u string
	_ = json.Unmarshal(s["flow"], &flow)
	_ = json.Unmarshal(s["authorizationUrl"], &u)
	return flow == "implicit" && u == placeholderAuthorizationURL
}

// flowlessJWTSchemes gives the loader's copy of a Swagger 2.0 document's
// oauth2 schemes that are API Gateway authorizers (x-amazon-apigateway-authorizer,
// as API Gateway writes a JWT authorizer) and name no flow an implicit one,
// which openapi2conv requires ("unsupported flow"): the extension says what
// is enforced, and the import keeps the scheme as the document wrote it.
func flowlessJWTSchemes(top map[string]json.RawMessage) {
	var defs map[string]map[string]json.RawMessage
	if json.Unmarshal(top["securityDefinitions"], &defs) != nil || defs == nil {
		return
	}
	changed := false
	for _, s := range defs {
		var typ string
		_ = json.Unmarshal(s["type"], &typ)
		if s == nil || typ != "oauth2" || s["flow"] != nil || s[extAuthorizer] == nil {
			continue
		}
		s["flow"] = json.RawMessage(`"implicit"`)
		if s["authorizationUrl"] == nil {
			s["authorizationUrl"], _ = json.Marshal(placeholderAuthorizationURL)
		}
		changed = true
	}
	if changed {
		top["securityDefinitions"], _ = json.Marshal(defs)
	}
}

// load parses the document with kin-openapi, every $ref inside it resolved
// (components, definitions, shared parameters, path items and any JSON pointer
// into the document; never a file or URL). A Swagger 2.0 document is converted
// to OpenAPI 3 by openapi2conv. x-amazon-apigateway-any-method operations are
// loaded as an additional operation "ANY", so that their $refs resolve too.
func (im *importer) load(js []byte) (doc *openapi3.T, err error) {
	defer func() {
		// A parser of untrusted documents must not take the server down.
		if p := recover(); p != nil {
			doc, err = nil, fmt.Errorf("document does not load: %v", p)
		}
	}()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, err
	}
	if info, ok := top["info"]; ok {
		// info.version may be a YAML number (1.0); OpenAPI says string.
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(info))
		dec.UseNumber() // 1.10 stays "1.10", not "1.1"
		if dec.Decode(&m) == nil && m != nil {
			if v, ok := m["version"]; ok && v != nil {
				if _, isString := v.(string); !isString {
					m["version"] = fmt.Sprint(v)
					top["info"], _ = json.Marshal(m)
				}
			}
		}
	}
	if im.swagger2 {
		flowlessJWTSchemes(top)
	}
	var paths map[string]map[string]json.RawMessage
	if raw := top["paths"]; raw != nil {
		// Extensions directly under paths are valid OpenAPI 3 (the run
		// keeps them from im.raw); the loaders get the path items only.
		var items map[string]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, errors.New("paths must be an object of path items")
		}
		paths = map[string]map[string]json.RawMessage{}
		for path, item := range items {
			if strings.HasPrefix(path, "x-") {
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(item, &m); err != nil {
				return nil, fmt.Errorf("paths[%q] must be a path item object", path)
			}
			paths[path] = m
		}
	}
	if err := pathRefCycles(paths); err != nil {
		return nil, err
	}
	anyMethods := map[string]json.RawMessage{}
	for path, item := range paths {
		op, ok := item[extAnyMethod]
		if !ok {
			continue
		}
		delete(item, extAnyMethod)
		if im.swagger2 {
			anyMethods[path] = op
		} else {
			item["additionalOperations"], _ = json.Marshal(map[string]json.RawMessage{apis.MethodAny: op})
		}
	}
	if paths != nil {
		top["paths"], _ = json.Marshal(paths)
	}
	js, _ = json.Marshal(top)
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	if !im.swagger2 {
		return loader.LoadFromData(js)
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(js, &doc2); err != nil {
		return nil, err
	}
	// Operations without produces take the document's, as Swagger says. A
	// body parameter with no consumes anywhere is application/json, as API
	// Gateway's importer takes it (the converter would file its schema under
	// */*).
	for _, item := range doc2.Paths {
		for _, op := range item.Operations() {
			if op.Produces == nil {
				op.Produces = doc2.Produces
			}
			if len(op.Consumes) == 0 && len(doc2.Consumes) == 0 && (hasBodyParam(op.Parameters) || hasBodyParam(item.Parameters)) {
				op.Consumes = []string{"application/json"}
			}
		}
	}
	doc, err = openapi2conv.ToV3WithLoader(&doc2, loader, nil)
	if err != nil {
		return nil, err
	}
	for _, path := range slices.Sorted(maps.Keys(anyMethods)) {
		var op2 openapi2.Operation
		if err := json.Unmarshal(anyMethods[path], &op2); err != nil {
			return nil, fmt.Errorf("paths[%q].%s: %w", path, extAnyMethod, err)
		}
		if op2.Produces == nil {
			op2.Produces = doc2.Produces
		}
		op3, err := openapi2conv.ToV3Operation(doc.Components, doc2.Paths[path], &op2, doc2.Consumes)
		if err != nil {
			return nil, fmt.Errorf("paths[%q].%s: %w", path, extAnyMethod, err)
		}
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		item.AdditionalOperations = map[string]*openapi3.Operation{apis.MethodAny: op3}
	}
	if len(anyMethods) > 0 {
		if err := loader.ResolveRefsIn(doc, nil); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// maxUnresolved bounds the unresolved $refs an import lists.
const maxUnresolved = 10

// unresolvedRefs refuses each local $ref of the document js that points at
// nothing in it, naming the operation that holds it (or the place, outside
// paths) and the $ref as the document wrote it (#/definitions/X in Swagger
// 2.0), up to maxUnresolved of them: the loader would name only the first,
// in the converted document's words. Literal values (example, default,
// enum) and x- extensions, which are not resolved as references, are not
// read.
func (im *importer) unresolvedRefs(js []byte) {
	var root any
	if json.Unmarshal(js, &root) != nil {
		return
	}
	var found []string
	var walk func(v any, at []string)
	walk = func(v any, at []string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && strings.HasPrefix(ref, "#") && !pointerResolves(root, ref) {
				found = append(found, fmt.Sprintf("%s$ref %.200q: %s", refPlace(at), ref, refMissing(ref)))
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if k == "example" || k == "default" || k == "enum" || (strings.HasPrefix(k, "x-") && k != extAnyMethod) {
					continue
				}
				walk(v[k], append(at, k))
			}
		case []any:
			for i, e := range v {
				walk(e, append(at, strconv.Itoa(i)))
			}
		}
	}
	walk(root, nil)
	for i, f := range found {
		if i == maxUnresolved {
			im.fail("and %d more unresolved $refs", len(found)-maxUnresolved)
			break
		}
		im.fail("%s", f)
	}
}

// refPlace names where a $ref stands (at, the keys down to it) with ": ":
// "POST /a: parameters.0.schema: " within an operation, else the dotted
// place.
func refPlace(at []string) string {
	if len(at) >= 3 && at[0] == "paths" {
		method := strings.ToUpper(at[2])
		if at[2] == extAnyMethod {
			method = apis.MethodAny
		}
		if at[2] == extAnyMethod || slices.Contains(httpMethods, at[2]) {
			if len(at) == 3 {
				return fmt.Sprintf("%s %s: ", method, at[1])
			}
			return fmt.Sprintf("%s %s: %s: ", method, at[1], strings.Join(at[3:], "."))
		}
		return fmt.Sprintf("paths[%q].%s: ", at[1], strings.Join(at[2:], "."))
	}
	if len(at) == 0 {
		return ""
	}
	return strings.Join(at, ".") + ": "
}

// refMissing says what an unresolved $ref lacks.
func refMissing(ref string) string {
	switch {
	case strings.HasPrefix(ref, "#/definitions/"):
		return "no such definition in the document"
	case strings.HasPrefix(ref, "#/components/schemas/"):
		return "no such schema in the document's components.schemas"
	}
	return "nothing in the document is at that place"
}

// pointerResolves reports whether the local reference ref ("#/a/b~1c")
// names a value of root, the document.
func pointerResolves(root any, ref string) bool {
	frag := strings.TrimPrefix(ref, "#")
	if frag == "" {
		return true
	}
	if !strings.HasPrefix(frag, "/") {
		return false
	}
	v := root
	for _, tok := range strings.Split(frag[1:], "/") {
		if u, err := url.PathUnescape(tok); err == nil {
			tok = u
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[tok]; !ok {
				return false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return false
			}
			v = c[i]
		default:
			return false
		}
	}
	return true
}

// pathRefCycles refuses a path item whose $ref leads, through path items
// that are only $refs, back to one it has passed (itself included): such a
// reference never resolves to a path item, and the loader would drop the path
// or leave it empty without a word.
func pathRefCycles(paths map[string]map[string]json.RawMessage) error {
	done := map[string]bool{} // paths whose $refs end at a path item
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		chain, seen := []string{path}, map[string]bool{path: true}
		for at := path; !done[at]; {
			var ref string
			if raw, ok := paths[at]["$ref"]; !ok || json.Unmarshal(raw, &ref) != nil {
				break
			}
			rest, ok := strings.CutPrefix(ref, "#/paths/")
			if !ok {
				break
			}
			at = strings.ReplaceAll(strings.ReplaceAll(rest, "~1", "/"), "~0", "~")
			if seen[at] {
				return fmt.Errorf("paths[%q]: $ref cycle %s never reaches a path item", path, strings.Join(append(chain[slices.Index(chain, at):], at), " -> "))
			}
			chain, seen[at] = append(chain, at), true
		}
		for _, p := range chain {
			done[p] = true
		}
	}
	return nil
}

func (im *importer) paths(a *apis.API) {
	if im.doc.Paths == nil {
		return
	}
	for _, path := range im.doc.Paths.Keys() {
		item := im.doc.Paths.Value(path)
		if item == nil {
			continue
		}
		if path == apis.RouteDefault && a.Protocol != apis.ProtocolHTTP {
			im.fail("path $default is for HTTP APIs only")
			continue
		}
		ops := item.Operations()
		where := path
		if path == defaultPath && a.Protocol == apis.ProtocolHTTP && ops[apis.MethodAny] != nil {
			// AWS's export-api writes an HTTP API's $default route as
			// the path /$default with x-amazon-apigateway-any-method.
			path = apis.RouteDefault
		}
		if !im.pathItemFields(where) {
			continue
		}
		if exts := im.keepExtensions(fmt.Sprintf("paths[%q]", where), item.Extensions); exts != nil {
			if a.PathItemExtensions == nil {
				a.PathItemExtensions = map[string]map[string]json.RawMessage{}
			}
			a.PathItemExtensions[path] = exts
		}
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			switch {
			case method == apis.MethodAny, slices.Contains(httpMethods, strings.ToLower(method)):
			case method == http.MethodTrace:
				im.warn("paths[%q].trace is ignored: API Gateway has no TRACE method", path)
				continue
			default:
				im.warn("paths[%q]: method %s is ignored", path, method)
				continue
			}
			r, ok := im.operation(a, path, method, ops[method], item.Parameters)
			if ok {
				a.Routes = append(a.Routes, r)
			}
		}
	}
}

// operationFields are the fixed fields of an OpenAPI operation (3.x and
// Swagger 2.0's).
var operationFields = []string{"tags", "summary", "description", "externalDocs", "operationId", "parameters",
	"requestBody", "responses", "callbacks", "deprecated", "security", "servers", "consumes", "produces", "schemes",
	keyIsDefaultRoute} // API Gateway's export marks an HTTP API's $default route so

// pathItemFieldNames are the fixed fields of a path item besides its
// operations (OpenAPI 3.x and Swagger 2.0).
var pathItemFieldNames = []string{"$ref", "summary", "description", "servers", "parameters", "trace"}

// pathItemFields checks the fields of path item path as the document writes
// them (Swagger 2.0's conversion drops the unknown ones), reporting whether
// its operations may be read. Security written on the path item, where OpenAPI
// has none (security, x-amazon-apigateway-auth), is refused: read nowhere,
// it would leave the path's routes public. Other unknown fields are warned
// about, as the document's are.
func (im *importer) pathItemFields(path string) bool {
	var paths map[string]map[string]json.RawMessage
	_ = json.Unmarshal(im.raw["paths"], &paths)
	ok := true
	for _, k := range slices.Sorted(maps.Keys(paths[path])) {
		switch {
		case strings.EqualFold(k, "security"):
			im.fail("paths[%q]: %s belongs on operations or at the top level, not on a path item, where nothing reads it and the routes would be public: write it on each operation", path, k)
			ok = false
		case strings.EqualFold(k, apis.ExtAuth):
			im.fail("paths[%q]: %s belongs on operations (routes), not on a path item, where nothing reads it and the routes would be public: write it on each operation", path, k)
			ok = false
		case k == "parameters":
			im.unknownParamFields(fmt.Sprintf("paths[%q]", path), paths[path][k])
		case slices.Contains(httpMethods, k) || k == extAnyMethod:
			method := strings.ToUpper(k)
			if k == extAnyMethod {
				method = apis.MethodAny
			}
			im.unknownOperationFields(method+" "+path, paths[path][k])
		case !strings.HasPrefix(k, "x-") && !slices.Contains(pathItemFieldNames, k):
			im.warn("paths[%q]: %s is not an OpenAPI field of a path item; it is ignored", path, k)
		}
	}
	return ok
}

// knownField reports whether k is one of fields, in any letter case (Go's
// JSON decoding reads "Required" as required), or an extension.
func knownField(fields []string, k string) bool {
	return strings.HasPrefix(k, "x-") || slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, k) })
}

// parameterFields are the fixed fields of a parameter (OpenAPI 3.x and
// Swagger 2.0's); requestBodyFields a request body's.
var (
	parameterFields = []string{"$ref", "name", "in", "description", "required", "deprecated", "allowEmptyValue", "style", "explode",
		"allowReserved", "schema", "example", "examples", "content", "type", "format", "items", "collectionFormat", "default",
		"maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
		"minItems", "uniqueItems", "enum", "multipleOf"}
	requestBodyFields = []string{"$ref", "description", "content", "required"}
)

// unknownOperationFields warns about each field of operation where (raw, as
// the document writes it) that OpenAPI does not define: a misspelt security
// or required is otherwise dropped without a word, and the route ends up
// public or unchecked.
func (im *importer) unknownOperationFields(where string, raw json.RawMessage) {
	var op map[string]json.RawMessage
	if json.Unmarshal(raw, &op) != nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(op)) {
		switch {
		case k == "parameters":
			im.unknownParamFields(where, op[k])
		case k == "requestBody":
			im.unknownFields(where+": requestBody", "a request body", requestBodyFields, op[k])
		case !knownField(operationFields, k):
			im.warn("%s: %s is not an OpenAPI field of an operation; it is ignored", where, k)
		}
	}
}

// unknownParamFields warns about the unknown fields of each parameter of
// the list raw.
func (im *importer) unknownParamFields(where string, raw json.RawMessage) {
	var list []json.RawMessage
	_ = json.Unmarshal(raw, &list)
	for i, p := range list {
		im.unknownFields(fmt.Sprintf("%s: parameters[%d]", where, i), "a parameter", parameterFields, p)
	}
}

// unknownFields warns about each field of the object raw (what, at where)
// that is not one of fields.
func (im *importer) unknownFields(where, what string, fields []string, raw json.RawMessage) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !knownField(fields, k) {
			im.warn("%s: %s is not an OpenAPI field of %s; it is ignored", where, k, what)
		}
	}
}

// nullRequirements refuses the nulls of a security requirement list (where
// names its operation, "" for the root's, with ": "), reporting whether there
// were none. A null ("security: [null]", or a YAML "- " with nothing after
// it, a template rendered empty) is no Security Requirement Object: read as
// {}, no authorization, it would make the operation public and override the
// root security without a word.
func (im *importer) nullRequirements(where string, sec []map[string][]string) bool {
	ok := true
	for i, req := range sec {
		if req == nil {
			im.fail("%ssecurity[%d] is null, which is no security requirement: write security: [] for a public operation, or name a scheme ({NAME: []})", where, i)
			ok = false
		}
	}
	return ok
}

// dropAPIKeys returns an HTTP API operation's security requirements without
// their API key schemes, with a warning naming them: HTTP APIs have no API
// keys, and API Gateway's import ignores them (with a warning) rather than
// make a route that requires one. A requirement left empty goes too.
func (im *importer) dropAPIKeys(where string, sec []map[string][]string) *[]map[string][]string {
	var dropped []string
	out := make([]map[string][]string, 0, len(sec))
	for _, req := range sec {
		kept := map[string][]string{}
		for name, scopes := range req {
			if im.apiKeySchemes[name] {
				if !slices.Contains(dropped, name) {
					dropped = append(dropped, name)
				}
				continue
			}
			kept[name] = scopes
		}
		if len(kept) > 0 || len(req) == 0 {
			out = append(out, kept)
		}
	}
	if len(dropped) == 0 {
		return &sec
	}
	slices.Sort(dropped)
	im.warn("%s: security %s is ignored: HTTP APIs have no API keys (an apiKey scheme), so the route does not require one; use a JWT or Lambda authorizer, or a REST API for API keys and usage plans", where, strings.Join(dropped, ", "))
	return &out
}

func (im *importer) operation(a *apis.API, path, method string, op *openapi3.Operation, shared openapi3.Parameters) (apis.Route, bool) {
	where := fmt.Sprintf("%s %s", method, path)
	r := apis.Route{Method: method, Path: path}
	if path == apis.RouteDefault {
		r.Method = ""
		if method != apis.MethodAny {
			im.fail("%s: the $default route takes x-amazon-apigateway-any-method only", where)
		}
	}
	r.OperationID, r.Summary, r.Description, r.Tags = op.OperationID, op.Summary, op.Description, op.Tags

	// Parameters: path-level ones first, overridden by the operation's.
	byKey := map[string]apis.Parameter{}
	var order []string
	var generated []apis.Parameter
	for _, pr := range append(append(openapi3.Parameters{}, shared...), op.Parameters...) {
		if pr != nil && pr.Value != nil && pr.Value.In == "cookie" {
			u := unchecked{method: method, path: path, what: fmt.Sprintf("cookie parameter %q", pr.Value.Name),
				fix: "API Gateway has no cookie parameters: declare a header parameter Cookie instead"}
			if pr.Value.Required {
				u.what = "required " + u.what
				im.unchecked = append(im.unchecked, u)
			} else {
				im.warn("%s: %s is ignored; %s", where, u.what, u.fix)
			}
			continue
		}
		if name, ok := generatedPathParam(path, pr); ok {
			// What an export declares for the path's own parameters: it
			// says no more than the path does, and is not stored, so that
			// an export of the import is the same document.
			generated = append(generated, apis.Parameter{Name: name, In: "path"})
			continue
		}
		p, ok := im.parameter(where, pr)
		if !ok {
			continue
		}
		if kws := paramConstraints(pr.Value.Schema); len(kws) > 0 {
			verb := "is"
			if len(kws) > 1 {
				verb = "are"
			}
			im.unchecked = append(im.unchecked, unchecked{method: method, path: path, notChecked: true,
				what: fmt.Sprintf("%s parameter %s: %s %s not checked", p.In, p.Name, strings.Join(kws, ", "), verb),
				fix:  "request validation checks only that required parameters are present, as API Gateway's does; check the value in the integration"})
		}
		k := p.In + ":" + p.Name
		if _, seen := byKey[k]; !seen {
			order = append(order, k)
		}
		byKey[k] = p
	}
	for _, k := range order {
		r.Parameters = append(r.Parameters, byKey[k])
	}
	im.checkPathParams(where, path, append(generated, r.Parameters...))

	if op.RequestBody != nil && op.RequestBody.Value != nil {
		rb := op.RequestBody.Value
		r.RequestBodyRequired = rb.Required
		exts := rb.Extensions
		if im.swagger2 {
			// openapi2conv's note of the body parameter's name, not the
			// document's.
			exts = maps.Clone(exts)
			delete(exts, "x-originalParamName")
		}
		r.RequestBodyExtensions = im.keepExtensions(where+": requestBody", exts)
		for _, ct := range slices.Sorted(maps.Keys(rb.Content)) {
			if mt := rb.Content[ct]; mt != nil {
				im.dropExtensions(fmt.Sprintf("%s: requestBody content %s", where, ct), mt.Extensions, "a media type object's")
				if mt.Schema != nil && mt.Schema.Ref == "" {
					what := fmt.Sprintf("the %s request body has an inline schema", ct)
					if im.swagger2 && (ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data") {
						what = fmt.Sprintf("the formData parameters (a %s request body) have no model", ct)
					}
					im.unchecked = append(im.unchecked, unchecked{method: method, path: path, body: true, what: what,
						fix: "define the schema under components.schemas (definitions) and refer to it with $ref"})
					continue
				}
				if m := im.schemaModel(where, mt.Schema); m != "" {
					if r.RequestModels == nil {
						r.RequestModels = map[string]string{}
					}
					r.RequestModels[ct] = m
				}
			}
		}
	}
	if op.Responses != nil {
		r.ResponsesExtensions = im.keepExtensions(where+": responses", op.Responses.Extensions)
		responses := op.Responses.Map()
		for _, code := range slices.Sorted(maps.Keys(responses)) {
			if a.Protocol == apis.ProtocolHTTP && len(responses) == 1 && isGeneratedResponse(code, responses[code], method, path) {
				// What an export writes for a route without responses
				// (OpenAPI wants one): not stored, as the route had none.
				continue
			}
			mr, ok := im.response(where, code, responses[code])
			if ok {
				if r.Responses == nil {
					r.Responses = map[string]apis.MethodResponse{}
				}
				r.Responses[code] = mr
			}
		}
	}
	sec := im.globalSec
	if op.Security != nil {
		s := []map[string][]string{}
		for _, req := range *op.Security {
			s = append(s, map[string][]string(req))
		}
		if !im.nullRequirements(where+": ", s) {
			return r, false
		}
		sec = &s
	}
	if sec != nil && a.Protocol == apis.ProtocolHTTP {
		sec = im.dropAPIKeys(where, *sec)
	}
	if sec != nil {
		r.Security = *sec
		for _, req := range *sec {
			for name := range req {
				if im.apiKeySchemes[name] {
					r.APIKeyRequired = true
				}
				if _, ok := a.Authorizers[name]; !ok {
					im.fail("%s: security names %q, which is not a defined security scheme", where, name)
				}
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(op.Extensions)) {
		if !strings.HasPrefix(k, "x-") {
			if k == "schemes" {
				im.warn("%s: %s is ignored", where, k)
			}
			continue
		}
		v, err := json.Marshal(op.Extensions[k])
		if err != nil {
			im.fail("%s: %s: %v", where, k, err)
			continue
		}
		switch k {
		case extIntegration:
			v, ok := im.resolveIntegration(where, v)
			if !ok {
				continue
			}
			in, ok := im.integration(where, v)
			if ok {
				r.Integration = in
			}
		case extRequestValidator:
			if a.Protocol == apis.ProtocolHTTP {
				im.warn("%s: %s is ignored: %s", where, k, noValidationHTTP)
				continue
			}
			if err := json.Unmarshal(v, &r.RequestValidator); err != nil {
				im.fail("%s: %s must be a string", where, k)
			}
		default:
			if r.Extensions == nil {
				r.Extensions = map[string]json.RawMessage{}
			}
			r.Extensions[k] = v
			if why, ok := notEnforced[k]; ok && why != "kept" {
				im.warn("%s: %s: %s", where, k, why)
			} else if strings.HasPrefix(k, prefixAWS) && !ok && !enforced[k] {
				im.warn("%s: %s is not known to Portico; it is kept but has no effect", where, k)
			}
		}
	}
	if op.Callbacks != nil {
		im.warn("%s: callbacks is ignored", where)
	}
	if op.Servers != nil {
		im.warn("%s: servers is ignored", where)
	}
	if op.ExternalDocs != nil {
		im.warn("%s: externalDocs is ignored", where)
	}
	if op.Deprecated {
		im.warn("%s: deprecated is ignored", where)
	}
	if r.Integration == nil {
		im.warn("%s has no x-amazon-apigateway-integration; add one before deploying", where)
	}
	return r, true
}

// generatedPathParam reports whether pr is a path parameter an export
// declared for a parameter of path ("Generated path parameter for id"; a
// greedy one named "proxy+" or "proxy"), and the name the path gives it.
func generatedPathParam(path string, pr *openapi3.ParameterRef) (string, bool) {
	if pr == nil || pr.Value == nil || pr.Value.In != "path" || pr.Value.Description != generatedParamDescription+pr.Value.Name {
		return "", false
	}
	segs, err := apis.ParseTemplate(path)
	if err != nil {
		return "", false
	}
	for _, sg := range segs {
		switch {
		case sg.Kind == apis.SegParam && pr.Value.Name == sg.Value,
			sg.Kind == apis.SegGreedy && (pr.Value.Name == sg.Value || pr.Value.Name == sg.Value+"+"):
			return sg.Value, true
		}
	}
	return "", false
}

// isGeneratedResponse reports whether resp is the response an export of an
// HTTP API writes for a route that has none: a default response described
// "Default response for METHOD PATH" and nothing else.
func isGeneratedResponse(code string, ref *openapi3.ResponseRef, method, path string) bool {
	if code != "default" || ref == nil || ref.Value == nil || ref.Value.Description == nil {
		return false
	}
	resp := ref.Value
	if len(resp.Headers) > 0 || len(resp.Content) > 0 || len(resp.Links) > 0 || len(resp.Extensions) > 0 {
		return false
	}
	if path == apis.RouteDefault {
		path = defaultPath
	}
	return *resp.Description == "Default response for "+method+" "+path
}

// parameter converts one (resolved) parameter.
// paramConstraints lists the assertions of a parameter's schema beyond its
// type, which request validation does not check.
func paramConstraints(ref *openapi3.SchemaRef) []string {
	if ref == nil || ref.Value == nil {
		return nil
	}
	s := ref.Value
	var out []string
	add := func(set bool, kw string) {
		if set {
			out = append(out, kw)
		}
	}
	add(len(s.Enum) > 0, "enum")
	add(s.Min != nil, "minimum")
	add(s.Max != nil, "maximum")
	add(s.MultipleOf != nil, "multipleOf")
	add(s.Pattern != "", "pattern")
	add(s.MinLength > 0, "minLength")
	add(s.MaxLength != nil, "maxLength")
	add(s.MinItems > 0, "minItems")
	add(s.MaxItems != nil, "maxItems")
	add(s.UniqueItems, "uniqueItems")
	return out
}

func (im *importer) parameter(where string, ref *openapi3.ParameterRef) (apis.Parameter, bool) {
	if ref == nil || ref.Value == nil {
		im.fail("%s: a parameter does not resolve", where)
		return apis.Parameter{}, false
	}
	p := ref.Value
	switch p.In {
	case "path", "query", "header":
	default:
		im.fail("%s: parameter %q has an unknown location %q", where, p.Name, p.In)
		return apis.Parameter{}, false
	}
	if p.Name == "" {
		im.fail("%s: a parameter has no name", where)
		return apis.Parameter{}, false
	}
	t := ""
	if s := p.Schema; s != nil && s.Value != nil && s.Value.Type != nil {
		if ts := s.Value.Type.Slice(); len(ts) > 0 {
			t = ts[0]
		}
	}
	if t == "string" {
		t = ""
	}
	return apis.Parameter{Name: p.Name, In: p.In, Required: p.Required || p.In == "path", Type: t,
		Extensions: im.keepExtensions(fmt.Sprintf("%s: parameter %q", where, p.Name), p.Extensions)}, true
}

// checkPathParams finds path parameters declared but absent from the template.
func (im *importer) checkPathParams(where, path string, params []apis.Parameter) {
	if path == apis.RouteDefault {
		return
	}
	segs, err := apis.ParseTemplate(path)
	if err != nil {
		im.errs = append(im.errs, err)
		return
	}
	inTemplate := map[string]bool{}
	for _, s := range segs {
		if s.Kind != apis.SegLiteral {
			inTemplate[s.Value] = true
		}
	}
	declared := map[string]bool{}
	for _, p := range params {
		if p.In == "path" {
			declared[p.Name] = true
			if !inTemplate[p.Name] {
				im.fail("%s: path parameter %q is declared but not in the path", where, p.Name)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(inTemplate)) {
		if !declared[name] {
			im.warn("%s: path parameter %q is not declared", where, name)
		}
	}
}

func (im *importer) response(where, code string, ref *openapi3.ResponseRef) (apis.MethodResponse, bool) {
	if code != "default" {
		if _, ok := apis.ValidateStatus(code); !ok {
			im.fail("%s: response %q is not a status code", where, code)
			return apis.MethodResponse{}, false
		}
	}
	if ref == nil || ref.Value == nil {
		im.fail("%s: response %s does not resolve", where, code)
		return apis.MethodResponse{}, false
	}
	resp := ref.Value
	mr := apis.MethodResponse{Headers: slices.Sorted(maps.Keys(resp.Headers))}
	for _, h := range mr.Headers {
		if ref := resp.Headers[h]; ref != nil && ref.Value != nil {
			if ref.Value.Required {
				mr.RequiredHeaders = append(mr.RequiredHeaders, h)
			}
			im.dropExtensions(fmt.Sprintf("%s: response %s: header %s", where, code, h), ref.Value.Extensions, "a response header's")
		}
	}
	if resp.Description != nil {
		mr.Description = *resp.Description
	}
	mr.Extensions = im.keepExtensions(fmt.Sprintf("%s: response %s", where, code), resp.Extensions)
	for _, ct := range slices.Sorted(maps.Keys(resp.Content)) {
		if mt := resp.Content[ct]; mt != nil {
			im.dropExtensions(fmt.Sprintf("%s: response %s: content %s", where, code, ct), mt.Extensions, "a media type object's")
			if m := im.schemaModel(where, mt.Schema); m != "" {
				if mr.Models == nil {
					mr.Models = map[string]string{}
				}
				mr.Models[ct] = m
			}
		}
	}
	return mr, true
}

// schemaModel returns the model a schema refers to; inline schemas (and
// references to schemas that are not models) are not models and are reported.
func (im *importer) schemaModel(where string, s *openapi3.SchemaRef) string {
	if s == nil {
		return ""
	}
	if s.Ref == "" {
		im.warn("%s: an inline schema is ignored; define it under components.schemas and refer to it", where)
		return ""
	}
	name, ok := refName(s.Ref, "#/components/schemas/", "#/definitions/")
	if !ok {
		im.warn("%s: $ref %q is not a model (components.schemas or definitions); it is ignored", where, s.Ref)
		return ""
	}
	if _, ok := im.models[name]; !ok {
		im.fail("%s: $ref %q names an undefined model", where, s.Ref)
		return ""
	}
	return name
}

func refName(ref string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		if name, ok := strings.CutPrefix(ref, p); ok && name != "" && !strings.Contains(name, "/") {
			return name, true
		}
	}
	return "", false
}

// rawIntegration is x-amazon-apigateway-integration as documents carry it.
type rawIntegration struct {
	Type                 string                       `json:"type"`
	URI                  string                       `json:"uri"`
	HTTPMethod           string                       `json:"httpMethod"`
	TimeoutInMillis      json.RawMessage              `json:"timeoutInMillis"` // 29000 or "29000"
	PayloadFormatVersion string                       `json:"payloadFormatVersion"`
	RequestParameters    map[string]string            `json:"requestParameters"`
	RequestTemplates     map[string]string            `json:"requestTemplates"`
	ResponseParameters   map[string]map[string]string `json:"responseParameters"`
	Responses            map[string]json.RawMessage   `json:"responses"`
	PassthroughBehavior  string                       `json:"passthroughBehavior"`
	ContentHandling      string                       `json:"contentHandling"`
	CacheKeyParameters   []string                     `json:"cacheKeyParameters"`
	CacheNamespace       string                       `json:"cacheNamespace"`
	Credentials          string                       `json:"credentials"`
	ConnectionType       string                       `json:"connectionType"`
	ConnectionID         string                       `json:"connectionId"`
	TLSConfig            json.RawMessage              `json:"tlsConfig"`
}

type rawIntegrationResponse struct {
	StatusCode         statusCode        `json:"statusCode"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ContentHandling    string            `json:"contentHandling"`
}

// warnDeadTemplateKeys warns of the keys of a REST API's request templates
// (by media type) that no request selects: one with parameters
// ("application/json; charset=UTF-8") or a wildcard ("text/*"), since a
// template is selected by the request's (or Accept's) media type alone,
// without its parameters, and wildcards are not matched. (Upper case is
// matched: media types are compared in lower case.)
func (im *importer) warnDeadTemplateKeys(where string, templates map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(templates)) {
		switch {
		case strings.Contains(k, ";"):
			mt, _, _ := strings.Cut(k, ";")
			im.warn("%s[%.100q] is never selected: templates are selected by the media type alone, without parameters; key it %.100q", where, k, strings.ToLower(strings.TrimSpace(mt)))
		case strings.Contains(k, "*"):
			im.warn("%s[%.100q] is never selected: wildcards are not matched (a template is selected by the exact media type); key it by a media type, e.g. application/json", where, k)
		}
	}
}

func (im *importer) integration(where string, raw json.RawMessage) (*apis.Integration, bool) {
	var ri rawIntegration
	exts, err := decodeStrictExt(extIntegration, raw, &ri)
	if err != nil {
		im.fail("%s: %v", where, err)
		return nil, false
	}
	in := &apis.Integration{
		Type:                 strings.ToUpper(ri.Type),
		URI:                  ri.URI,
		HTTPMethod:           strings.ToUpper(ri.HTTPMethod),
		PayloadFormatVersion: ri.PayloadFormatVersion,
		RequestParameters:    ri.RequestParameters,
		RequestTemplates:     ri.RequestTemplates,
		ResponseParameters:   ri.ResponseParameters,
		PassthroughBehavior:  strings.ToUpper(ri.PassthroughBehavior),
		ContentHandling:      ri.ContentHandling,
		CacheKeyParameters:   ri.CacheKeyParameters,
		CacheNamespace:       ri.CacheNamespace,
		Credentials:          ri.Credentials,
		ConnectionType:       ri.ConnectionType,
		ConnectionID:         ri.ConnectionID,
		TLSConfig:            ri.TLSConfig,
		Extensions:           im.keepRawExtensions(where+": "+extIntegration, exts),
	}
	if t := ri.TimeoutInMillis; len(t) > 0 && string(t) != "null" {
		text := string(t)
		var s string
		if json.Unmarshal(t, &s) == nil {
			text = s
		}
		n, err := strconv.Atoi(text)
		if err != nil {
			im.fail("%s: %s.timeoutInMillis must be an integer (milliseconds), not %.40s", where, extIntegration, t)
		}
		in.TimeoutInMillis = n
	}
	if im.protocol == apis.ProtocolREST && (in.Type == apis.IntegrationHTTP || in.Type == apis.IntegrationHTTPProxy) && in.HTTPMethod == "" {
		// As put-integration (and API Gateway's import): the method the
		// backend is called with is not the client's by default.
		im.fail("%s: %s: Enumeration value for HttpMethod must be non-empty: set httpMethod, the method the backend is called with", where, extIntegration)
		return nil, false
	}
	switch in.Type {
	case apis.IntegrationMock, apis.IntegrationHTTP, apis.IntegrationAWS:
		if im.protocol == apis.ProtocolHTTP {
			// As API Gateway's import: these types are for REST (and
			// WebSocket) APIs. An API kept from before is served as it is.
			im.fail("%s: %s: type %q is refused: %s; import the document as a REST API to keep it", where, extIntegration, ri.Type, apis.HTTPProxyOnly)
			return nil, false
		}
	case apis.IntegrationAWSProxy:
		if im.protocol == apis.ProtocolHTTP && in.HTTPMethod != "" && in.HTTPMethod != http.MethodPost {
			// As API Gateway's import: a function is invoked with POST.
			im.fail("%s: %s: httpMethod %.20q is refused: %s; set it to POST or leave it out", where, extIntegration, ri.HTTPMethod, apis.LambdaProxyPOST)
			return nil, false
		}
	case apis.IntegrationHTTPProxy:
	case "":
		im.fail("%s: %s has no type", where, extIntegration)
		return nil, false
	default:
		im.fail("%s: integration type %q is unknown (mock, http, http_proxy, aws, aws_proxy)", where, ri.Type)
		return nil, false
	}
	for _, k := range slices.Sorted(maps.Keys(ri.Responses)) {
		var v rawIntegrationResponse
		rwhere := fmt.Sprintf("%s: %s: responses[%q]", where, extIntegration, k)
		exts, err := decodeStrictExt(fmt.Sprintf("%s.responses[%q]", extIntegration, k), ri.Responses[k], &v)
		if err != nil {
			im.fail("%s: %v", where, err)
			continue
		}
		if in.Responses == nil {
			in.Responses = map[string]apis.IntegrationResponse{}
		}
		in.Responses[k] = apis.IntegrationResponse{StatusCode: string(v.StatusCode), ResponseTemplates: v.ResponseTemplates,
			ResponseParameters: v.ResponseParameters, ContentHandling: v.ContentHandling, Extensions: im.keepRawExtensions(rwhere, exts)}
	}
	if im.protocol == apis.ProtocolREST {
		// (A response template keyed so may still be the one taken when
		// the Accept header names none: the first in sorted order.)
		im.warnDeadTemplateKeys(where+": "+extIntegration+": requestTemplates", in.RequestTemplates)
	}
	if im.protocol == apis.ProtocolHTTP {
		// HTTP APIs do not transform requests nor map integration
		// responses: API Gateway's import ignores these with a warning;
		// kept, they would read back as settings that have no effect.
		if len(in.RequestTemplates) > 0 {
			im.warn("%s: %s: requestTemplates are ignored: HTTP APIs do not transform requests (mapping templates are for REST and WebSocket APIs); map parameters with requestParameters, or use a REST API", where, extIntegration)
			in.RequestTemplates = nil
		}
		if in.PassthroughBehavior != "" {
			im.warn("%s: %s: passthroughBehavior is ignored: HTTP APIs pass every request through as it is", where, extIntegration)
			in.PassthroughBehavior = ""
		}
		if len(in.Responses) > 0 {
			im.warn("%s: %s: responses are ignored: HTTP APIs do not map integration responses (status patterns and response templates are for REST APIs); map response headers and status codes with responseParameters, or use a REST API", where, extIntegration)
			in.Responses = nil
		}
	}
	// credentials, connectionType VPC_LINK and AWS integrations of another
	// service than Lambda are refused by the API's validation, as every
	// other path refuses them.
	return in, true
}

// sharedIntegrations reads components.x-amazon-apigateway-integrations, the
// integrations operations share by $ref. API Gateway supports them for HTTP
// APIs only, and so does Portico: a REST API document with them is refused.
func (im *importer) sharedIntegrations(protocol string) {
	var comps map[string]json.RawMessage
	_ = json.Unmarshal(im.raw["components"], &comps)
	raw, ok := comps[extIntegrations]
	if !ok {
		return
	}
	if protocol != apis.ProtocolHTTP {
		im.fail("components.%s is supported for HTTP APIs only, as on API Gateway; write each REST operation's x-amazon-apigateway-integration in full", extIntegrations)
		im.sharedRefused = true
		return
	}
	if err := json.Unmarshal(raw, &im.integrations); err != nil || im.integrations == nil {
		im.fail("components.%s must be an object of integrations by name", extIntegrations)
		im.integrations = nil
	}
	im.referred = map[string]bool{}
}

// resolveIntegration returns an operation's x-amazon-apigateway-integration,
// raw, or the shared integration its $ref names
// ("#/components/x-amazon-apigateway-integrations/NAME").
func (im *importer) resolveIntegration(where string, raw json.RawMessage) (json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m["$ref"] == nil {
		return raw, true
	}
	var ref string
	if err := json.Unmarshal(m["$ref"], &ref); err != nil {
		im.fail("%s: %s: $ref must be a string", where, extIntegration)
		return nil, false
	}
	if len(m) > 1 {
		im.fail("%s: %s: $ref %q cannot stand beside other fields; put them in the shared integration", where, extIntegration, ref)
		return nil, false
	}
	const prefix = "#/components/" + extIntegrations + "/"
	if im.protocol != apis.ProtocolHTTP {
		if im.integrations == nil && !im.sharedRefused {
			im.fail("%s: %s: $ref %q: shared integrations (components.%s) are supported for HTTP APIs only, as on API Gateway; write the REST operation's integration in full", where, extIntegration, ref, extIntegrations)
		}
		return nil, false
	}
	name, ok := strings.CutPrefix(ref, prefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		im.fail("%s: %s: $ref %q must name a shared integration, %sNAME", where, extIntegration, ref, prefix)
		return nil, false
	}
	name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
	shared, ok := im.integrations[name]
	if !ok {
		im.fail("%s: %s: $ref %q names no integration of components.%s", where, extIntegration, ref, extIntegrations)
		return nil, false
	}
	im.referred[name] = true
	return shared, true
}

// statusCode is a statusCode of an integration or gateway response: documents
// write it as a string ("200", as API Gateway's exports do) or a number (200).
// Either is kept as its text, which the API's validation checks (200 to 599);
// anything else is refused here in those words, not the decoder's.
type statusCode string

// UnmarshalJSON implements json.Unmarshaler.
func (c *statusCode) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = statusCode(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*c = statusCode(n.String())
		return nil
	}
	return fmt.Errorf("statusCode must be an HTTP status code from 200 to 599 (\"200\" or 200), not %.20s", b)
}

// decodeStrictExt decodes a JSON object into v refusing unknown fields other
// than x- extensions, which it returns (nil for none); its errors are
// decodeStrict's.
func decodeStrictExt(name string, raw json.RawMessage, v any) (map[string]json.RawMessage, error) {
	if raw == nil {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, decodeStrict(name, raw, v) // the decoder says what is wrong
	}
	var exts map[string]json.RawMessage
	for k, e := range m {
		if strings.HasPrefix(k, "x-") {
			if exts == nil {
				exts = map[string]json.RawMessage{}
			}
			exts[k] = e
			delete(m, k)
		}
	}
	if exts == nil {
		return nil, decodeStrict(name, raw, v)
	}
	rest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return exts, decodeStrict(name, rest, v)
}

// extensionsOf returns the x- extensions of the JSON object raw (nil for
// none, or when raw is not an object), kept verbatim; where names the object
// for warnings. The consumed extensions, which the import reads into the API,
// are left out.
func (im *importer) extensionsOf(where string, raw json.RawMessage, consumed ...string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	exts := map[string]json.RawMessage{}
	for k, v := range m {
		if strings.HasPrefix(k, "x-") && !slices.Contains(consumed, k) {
			exts[k] = v
		}
	}
	return im.keepRawExtensions(where, exts)
}

// keepExtensions returns kin-openapi's extensions of an object as JSON (nil
// for none), kept verbatim.
func (im *importer) keepExtensions(where string, in map[string]any) map[string]json.RawMessage {
	exts := map[string]json.RawMessage{}
	for k, v := range in {
		if !strings.HasPrefix(k, "x-") {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			im.fail("%s: %s: %v", where, k, err)
			continue
		}
		exts[k] = b
	}
	return im.keepRawExtensions(where, exts)
}

// dropExtensions warns about each x- extension of an object whose
// extensions Portico does not keep (whose, e.g. "a media type object's"),
// naming it, rather than drop it silently.
func (im *importer) dropExtensions(where string, exts map[string]any, whose string) {
	for _, k := range slices.Sorted(maps.Keys(exts)) {
		if strings.HasPrefix(k, "x-") {
			im.warn("%s: %s is ignored: Portico does not keep %s extensions", where, k, whose)
		}
	}
}

// keepRawExtensions returns exts (nil when empty), warning about the
// x-amazon-apigateway- ones, which Portico does not read where they stand:
// kept, they have no effect.
func (im *importer) keepRawExtensions(where string, exts map[string]json.RawMessage) map[string]json.RawMessage {
	if len(exts) == 0 {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(exts)) {
		if strings.HasPrefix(k, prefixAWS) {
			im.warn("%s: %s is not known to Portico there; it is kept but has no effect", where, k)
		}
	}
	return exts
}

// decodeStrict decodes JSON refusing unknown fields; its errors start with
// name, what the document calls the value (an extension). An unknown field
// is refused naming the fields the object takes; a value of the wrong type
// naming its place and the type it must have (apis.JSONValueError).
func decodeStrict(name string, raw json.RawMessage, v any) error {
	if raw == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	// encoding/json says `json: unknown field "NAME"` and has no type for it.
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if fields := jsonFields(reflect.TypeOf(v)); len(fields) > 0 {
			return fmt.Errorf("%s: unknown field %s; it takes %s", name, field, strings.Join(fields, ", "))
		}
		return fmt.Errorf("%s: unknown field %s", name, field)
	}
	return apis.JSONValueError(name, raw, err)
}

// jsonFields returns the JSON names of the fields of the struct t is (or
// points to, or is a map or slice of), in their order.
func jsonFields(t reflect.Type) []string {
	for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Map || t.Kind() == reflect.Slice) {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" && f.IsExported() {
			out = append(out, name)
		}
	}
	return out
}

// ToJSON turns a JSON or YAML OpenAPI document into JSON, as Import reads it:
// a JSON document is read as JSON (a YAML parser refuses some valid JSON, such
// as the surrogate pair escape "\ud83d\ude00") and as strictly as YAML (a key
// twice in an object, or invalid UTF-8, is refused), anything else as YAML, with
// YAML's integer map keys (status codes) made strings. Read a document's parts
// through it rather than with a YAML parser.
func ToJSON(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\ufeff")))
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		// A JSON document (as API Gateway reads one, with a JSON parser):
		// not read again as YAML, which would take a trailing comma, a
		// comment or single quotes, and name a JSON mistake in YAML's words.
		if err := jsonSyntax(data, trimmed); err != nil {
			return nil, err
		}
		// Read strictly, as the YAML parser reads: a key twice in an object
		// (a second, empty security hiding the first) and invalid UTF-8
		// are refused, not merged or replaced.
		if err := apis.CheckStrictJSON(trimmed); err != nil {
			return nil, fmt.Errorf("document %w: %w", errNotStrictJSON, err)
		}
		return trimmed, nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	// A stream of documents (--- between them, two spec files joined) is
	// refused: reading the first alone would drop the rest without a word.
	// (An empty document before or after the one is no other document.)
	n := 0
	if !emptyYAML(&doc) {
		n++
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !emptyYAML(&next) {
			if n++; n == 1 {
				doc = next
			}
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: it holds %d (separated by ---); import them one at a time", errManyDocuments, n)
	}
	// Aliases are expanded by the decode: a small document whose aliases
	// repeat a large value would become a far larger API (1 MB of YAML, one
	// 1 MB string and 150 aliases to it, is 150 MB), too few aliases for
	// yaml.v3's own check. Bound what the expansion makes, as the document.
	if _, err := expandedSize(&doc, MaxDocument, 0, nil); err != nil {
		return nil, err
	}
	// A number keeps the text it was written with (version: 1.10 is not
	// 1.1, an integer past 64 bits keeps its digits): the decode would
	// make it a float64. Numbers JSON can write as they are go through as
	// a marked string, unmarked into the number's text below.
	marker := "\x00num" + rand.Text() + ":"
	markNumbers(&doc, marker, 0, map[*yaml.Node]bool{})
	var v any
	if doc.Kind != 0 {
		if err := doc.Decode(&v); err != nil {
			return nil, err
		}
	}
	v, err := stringKeys(v, 0)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	quoted, _ := json.Marshal(marker)
	open := quoted[:len(quoted)-1] // "\u0000num...:
	if !bytes.Contains(out, open) {
		return out, nil
	}
	var b bytes.Buffer
	for {
		i := bytes.Index(out, open)
		if i < 0 {
			b.Write(out)
			return b.Bytes(), nil
		}
		b.Write(out[:i])
		rest := out[i+len(open):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			return nil, errors.New("document's numbers could not be read")
		}
		b.Write(rest[:j])
		out = rest[j+1:]
	}
}

// jsonNumber matches the numbers JSON writes as they are.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// markNumbers makes each plain YAML number under n that JSON can write as it
// is (not 0x1F, 1_000, .inf) a string, marker then its text. A mapping key
// is left alone (a key is a string in JSON anyway).
func markNumbers(n *yaml.Node, marker string, depth int, seen map[*yaml.Node]bool) {
	if n == nil || depth > 200 || seen[n] {
		return
	}
	seen[n] = true
	switch n.Kind {
	case yaml.ScalarNode:
		if t := n.ShortTag(); (t == "!!int" || t == "!!float") && jsonNumber.MatchString(n.Value) {
			n.Tag, n.Value = "!!str", marker+n.Value
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			markNumbers(n.Content[i], marker, depth+1, seen)
		}
	case yaml.AliasNode:
		markNumbers(n.Alias, marker, depth+1, seen)
	default:
		for _, c := range n.Content {
			markNumbers(c, marker, depth+1, seen)
		}
	}
}

// errNotJSON is a document that starts as JSON ({ or [) and is not JSON.
// errManyDocuments is a YAML stream of more than one document.
var errManyDocuments = errors.New("document is a stream of YAML documents, and an import reads one")

// emptyYAML reports whether doc, a decoded YAML document, holds nothing (an
// empty input, or a --- with nothing after it).
func emptyYAML(doc *yaml.Node) bool {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return true
	}
	c := doc.Content[0]
	return c.Kind == yaml.ScalarNode && c.Tag == "!!null" && c.Value == "" && len(doc.Content) == 1
}

var errNotJSON = errors.New("document starts with { or [ but is not valid JSON")

// jsonSyntax returns nil for valid JSON, else errNotJSON with where the
// mistake is in doc (line, column and byte offset) and what it is; data is
// doc without the white space (and BOM) around it.
func jsonSyntax(doc, data []byte) error {
	lead := int64(len(doc) - len(bytes.TrimLeft(doc, " \t\r\n\ufeff")))
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := dec.Decode(&v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			off := lead + dec.InputOffset()
			line, col := lineColumn(doc, off)
			return fmt.Errorf("%w: line %d, column %d (byte %d): more after the end of the top-level value", errNotJSON, line, col, off)
		}
		return nil
	}
	var se *json.SyntaxError
	off := int64(len(data))
	if errors.As(err, &se) {
		off = se.Offset
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = errors.New("unexpected end of JSON input")
	}
	off += lead
	line, col := lineColumn(doc, off)
	return fmt.Errorf("%w: line %d, column %d (byte %d): %w", errNotJSON, line, col, off, err)
}

// lineColumn is where byte offset off of data is, both from 1.
func lineColumn(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col == 0 {
		col = 1
	}
	return line, col
}

// errNotStrictJSON is a JSON document that a lenient parser reads, with a key
// twice in an object or invalid UTF-8.
var errNotStrictJSON = errors.New("is not strict JSON")

// errExpandsTooLarge is a YAML document whose aliases expand it past MaxDocument.
var errExpandsTooLarge = fmt.Errorf("document's YAML aliases expand it past %d bytes, the most a document may be", MaxDocument)

// expandedSize is about how many bytes of JSON n makes with its aliases
// expanded (more where a merge key's values are overridden), or
// errExpandsTooLarge once that is over budget: the walk stops there, so it
// costs no more than budget steps however the aliases multiply. An alias
// inside the value it names, and nesting deeper than stringKeys takes, are
// refused too (the walk follows aliases, so either would be unbounded).
func expandedSize(n *yaml.Node, budget, depth int, open map[*yaml.Node]bool) (int, error) {
	if depth > 200 {
		return 0, errors.New("document nests too deeply")
	}
	size := 2 // quotes, brackets or braces
	switch n.Kind {
	case yaml.ScalarNode:
		size += len(n.Value)
	case yaml.AliasNode:
		if open[n.Alias] {
			return 0, fmt.Errorf("line %d: alias *%s is inside the value it names", n.Line, n.Value)
		}
		if open == nil {
			open = map[*yaml.Node]bool{}
		}
		open[n.Alias] = true
		defer delete(open, n.Alias)
		return expandedSize(n.Alias, budget, depth+1, open)
	}
	for _, c := range n.Content {
		if size > budget {
			break
		}
		cs, err := expandedSize(c, budget-size, depth+1, open)
		if err != nil {
			return 0, err
		}
		size += cs + 1 // a comma or colon
	}
	if size > budget {
		return 0, errExpandsTooLarge
	}
	return size, nil
}

// stringKeys converts YAML maps to map[string]any (status codes such as 200 are
// integer keys in YAML).
func stringKeys(v any, depth int) (any, error) {
	if depth > 200 {
		return nil, errors.New("document nests too deeply")
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := stringKeys(e, depth+1)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			c, err := stringKeys(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = c
		}
		return m, nil
	case []any:
		for i, e := range t {
			c, err := stringKeys(e, depth+1)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	default:
		return v, nil
	}
}

// rewriteRefs replaces $ref prefixes inside a schema.
func rewriteRefs(raw json.RawMessage, from, to string) json.RawMessage {
	return rewriteRefsFunc(raw, from, func(ref string) (string, bool) {
		rest, ok := strings.CutPrefix(ref, from)
		return to + rest, ok
	})
}

// rewriteModelURLs turns the canonical model references
// (https://apigateway.amazonaws.com/restapis/{id}/models/{name}) inside raw
// into local ones, to + name: those of API apiID, or of any API when apiID is
// empty.
func rewriteModelURLs(raw json.RawMessage, apiID, to string) json.RawMessage {
	return rewriteRefsFunc(raw, apis.ModelURLPrefix, func(ref string) (string, bool) {
		id, name, ok := apis.ParseModelURL(ref)
		if !ok || (apiID != "" && id != apiID) {
			return "", false
		}
		return to + name, true
	})
}

// rewriteRefsFunc replaces each $ref string inside raw for which fn reports
// true with fn's answer; raw without marker is returned as it is.
func rewriteRefsFunc(raw json.RawMessage, marker string, fn func(string) (string, bool)) json.RawMessage {
	if !bytes.Contains(raw, []byte(marker)) {
		return raw
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			for k, e := range t {
				if s, ok := e.(string); ok && k == "$ref" {
					if r, ok := fn(s); ok {
						t[k] = r
					}
				} else {
					t[k] = walk(e)
				}
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e)
			}
		}
		return x
	}
	out, err := json.Marshal(walk(v))
	if err != nil {
		return raw
	}
	return out
}

// hasBodyParam reports whether params has a Swagger 2.0 body parameter.
func hasBodyParam(params openapi2.Parameters) bool {
	for _, p := range params {
		if p != nil && p.In == "body" {
			return true
		}
	}
	return false
}
