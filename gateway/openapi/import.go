// Package openapi imports and exports API definitions as OpenAPI 3 and Swagger 2.0
// documents with API Gateway's x-amazon-apigateway-* extensions.
//
// Import understands x-amazon-apigateway-integration, -any-method,
// -binary-media-types, -api-key-source, -request-validators and
// -request-validator, keeps security schemes (authorizers) and every other
// extension verbatim, and reports what it ignores as warnings. Export writes what
// import reads, so that importing an export gives the same API.
package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

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
}

// Result is an imported API and what the import could not take over.
type Result struct {
	API      *apis.API
	Warnings []string
}

const (
	extIntegration       = "x-amazon-apigateway-integration"
	extAnyMethod         = "x-amazon-apigateway-any-method"
	extBinaryMediaTypes  = "x-amazon-apigateway-binary-media-types"
	extAPIKeySource      = "x-amazon-apigateway-api-key-source" //nolint:gosec // an extension name, not a credential
	extRequestValidators = "x-amazon-apigateway-request-validators"
	extRequestValidator  = "x-amazon-apigateway-request-validator"
	extImportExport      = "x-amazon-apigateway-importexport-version"
	extGatewayResponses  = "x-amazon-apigateway-gateway-responses"
	extCORS              = "x-amazon-apigateway-cors"
	extAuthorizer        = "x-amazon-apigateway-authorizer"
	prefixAWS            = "x-amazon-apigateway-"
)

// notEnforced lists kept extensions that Portico does not act on yet, with why.
var notEnforced = map[string]string{
	"x-amazon-apigateway-minimum-compression-size":     "response compression is kept but not applied",
	"x-amazon-apigateway-endpoint-configuration":       "endpoint configuration does not apply to Portico",
	"x-amazon-apigateway-documentation":                "documentation parts are kept but not served",
	"x-amazon-apigateway-tag-value":                    "tags are kept but not used",
	"x-amazon-apigateway-api-key-selection-expression": "kept",
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

type importer struct {
	swagger2 bool
	raw      map[string]json.RawMessage
	warnings []string
	errs     []error

	params        map[string]json.RawMessage // reusable parameters (components or global)
	responses     map[string]json.RawMessage
	bodies        map[string]json.RawMessage
	models        map[string]json.RawMessage
	consumes      []string
	produces      []string
	globalSec     *[]map[string][]string
	apiKeySchemes map[string]bool
}

func (im *importer) warn(format string, args ...any) {
	im.warnings = append(im.warnings, fmt.Sprintf(format, args...))
}

func (im *importer) fail(format string, args ...any) {
	im.errs = append(im.errs, fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalid)...))
}

// Import parses an OpenAPI 3 or Swagger 2.0 document (JSON or YAML) into an API
// with no id. Documents that do not parse, contradict themselves or hold unknown
// integration types are errdefs.ErrInvalid errors, all problems joined.
func Import(data []byte, opts Options) (*Result, error) {
	if len(data) > MaxDocument {
		return nil, fmt.Errorf("document is %d bytes; at most %d are accepted: %w", len(data), MaxDocument, errdefs.ErrTooLarge)
	}
	js, err := toJSON(data)
	if err != nil {
		return nil, fmt.Errorf("document does not parse as JSON or YAML: %w: %w", err, errdefs.ErrInvalid)
	}
	im := &importer{}
	if err := json.Unmarshal(js, &im.raw); err != nil || im.raw == nil {
		return nil, fmt.Errorf("document is not an object: %w", errdefs.ErrInvalid)
	}
	var version string
	switch {
	case im.raw["openapi"] != nil:
		_ = json.Unmarshal(im.raw["openapi"], &version)
		if !strings.HasPrefix(version, "3.") {
			return nil, fmt.Errorf("openapi version %q is not supported (3.x or swagger 2.0): %w", version, errdefs.ErrInvalid)
		}
	case im.raw["swagger"] != nil:
		_ = json.Unmarshal(im.raw["swagger"], &version)
		if version != "2.0" {
			return nil, fmt.Errorf("swagger version %q is not supported (2.0 or openapi 3.x): %w", version, errdefs.ErrInvalid)
		}
		im.swagger2 = true
	default:
		return nil, fmt.Errorf("document has neither an openapi nor a swagger version field: %w", errdefs.ErrInvalid)
	}
	a := im.run(opts)
	if len(im.errs) > 0 {
		return nil, errors.Join(im.errs...)
	}
	a.Normalize()
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &Result{API: a, Warnings: im.warnings}, nil
}

func (im *importer) run(opts Options) *apis.API {
	a := &apis.API{}
	var info struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Version     any    `json:"version"`
	}
	if err := decodeStrict(im.raw["info"], &info); err != nil {
		im.fail("info: %v", err)
	}
	a.Name, a.Description = info.Title, info.Description
	if info.Version != nil {
		a.Version = fmt.Sprint(info.Version)
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

	im.collectComponents()
	a.Models = im.models
	a.Authorizers = im.securitySchemes()
	if raw := im.raw["security"]; raw != nil {
		var sec []map[string][]string
		if err := json.Unmarshal(raw, &sec); err != nil {
			im.fail("security: %v", err)
		} else {
			im.globalSec = &sec
		}
	}
	im.topLevel(a)
	im.paths(a)
	return a
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
		im.params = decodeMap(im.raw["parameters"], "parameters")
		im.responses = decodeMap(im.raw["responses"], "responses")
		_ = json.Unmarshal(im.raw["consumes"], &im.consumes)
		_ = json.Unmarshal(im.raw["produces"], &im.produces)
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
	im.params = decodeMap(comps["parameters"], "components.parameters")
	im.responses = decodeMap(comps["responses"], "components.responses")
	im.bodies = decodeMap(comps["requestBodies"], "components.requestBodies")
	for k := range comps {
		switch k {
		case "schemas", "parameters", "responses", "requestBodies", "securitySchemes":
		default:
			if !strings.HasPrefix(k, "x-") {
				im.warn("components.%s is ignored", k)
			}
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
	for name, v := range m {
		var s map[string]json.RawMessage
		if err := json.Unmarshal(v, &s); err != nil {
			im.fail("security scheme %q must be an object", name)
			continue
		}
		var typ string
		_ = json.Unmarshal(s["type"], &typ)
		if typ == "apiKey" && s[extAuthorizer] == nil && s["x-amazon-apigateway-authtype"] == nil {
			im.apiKeySchemes[name] = true
		}
	}
	return m
}

func (im *importer) topLevel(a *apis.API) {
	known := map[string]bool{"openapi": true, "swagger": true, "info": true, "paths": true, "components": true,
		"definitions": true, "securityDefinitions": true, "parameters": true, "responses": true,
		"consumes": true, "produces": true, "security": true}
	for _, k := range sortedKeys(im.raw) {
		v := im.raw[k]
		switch {
		case known[k]:
		case k == extBinaryMediaTypes:
			if err := json.Unmarshal(v, &a.BinaryMediaTypes); err != nil {
				im.fail("%s must be a list of media types", k)
			}
		case k == extAPIKeySource:
			if err := json.Unmarshal(v, &a.APIKeySource); err != nil {
				im.fail("%s must be a string", k)
			}
			a.APIKeySource = strings.ToUpper(a.APIKeySource)
			im.warn("%s is kept; API keys are not enforced yet", k)
		case k == extRequestValidators:
			if err := decodeStrict(v, &a.RequestValidators); err != nil {
				im.fail("%s: %v", k, err)
			}
		case k == extRequestValidator:
			if err := json.Unmarshal(v, &a.RequestValidator); err != nil {
				im.fail("%s must be a string", k)
			}
		case k == extGatewayResponses:
			var raw map[string]struct {
				StatusCode         json.Number       `json:"statusCode"`
				ResponseParameters map[string]string `json:"responseParameters"`
				ResponseTemplates  map[string]string `json:"responseTemplates"`
			}
			if err := decodeStrict(v, &raw); err != nil {
				im.fail("%s: %v", k, err)
				continue
			}
			a.GatewayResponses = map[string]apis.GatewayResponse{}
			for typ, gr := range raw {
				a.GatewayResponses[typ] = apis.GatewayResponse{StatusCode: gr.StatusCode.String(),
					ResponseParameters: gr.ResponseParameters, ResponseTemplates: gr.ResponseTemplates}
			}
		case k == extCORS:
			a.CORS = &apis.CORSConfiguration{}
			if err := decodeStrict(v, a.CORS); err != nil {
				im.fail("%s: %v", k, err)
			}
		case k == extImportExport:
			// The marker of an HTTP API export; the protocol carries it.
		case strings.HasPrefix(k, "x-"):
			if a.Extensions == nil {
				a.Extensions = map[string]json.RawMessage{}
			}
			a.Extensions[k] = v
			if why, ok := notEnforced[k]; ok && why != "kept" {
				im.warn("%s: %s", k, why)
			} else if strings.HasPrefix(k, prefixAWS) && !ok {
				im.warn("%s is not known to Portico; it is kept but has no effect", k)
			}
		case k == "servers" || k == "host" || k == "basePath" || k == "schemes":
			im.warn("%s is ignored: stage URLs come from Portico", k)
		default:
			im.warn("%s is ignored", k)
		}
	}
}

func (im *importer) paths(a *apis.API) {
	var paths map[string]map[string]json.RawMessage
	if raw := im.raw["paths"]; raw != nil {
		if err := json.Unmarshal(raw, &paths); err != nil {
			im.fail("paths must be an object of path items")
			return
		}
	}
	for _, path := range sortedKeys(paths) {
		item := paths[path]
		if path == apis.RouteDefault && a.Protocol != apis.ProtocolHTTP {
			im.fail("path $default is for HTTP APIs only")
			continue
		}
		var shared []json.RawMessage
		if raw := item["parameters"]; raw != nil {
			if err := json.Unmarshal(raw, &shared); err != nil {
				im.fail("paths[%q].parameters must be a list", path)
			}
		}
		for _, key := range sortedKeys(item) {
			method := ""
			switch {
			case key == extAnyMethod:
				method = apis.MethodAny
			case slices.Contains(httpMethods, key):
				method = strings.ToUpper(key)
			case key == "parameters", key == "summary", key == "description":
				continue
			case key == "trace":
				im.warn("paths[%q].trace is ignored: API Gateway has no TRACE method", path)
				continue
			case key == "$ref":
				im.fail("paths[%q]: path item $ref is not supported", path)
				continue
			case strings.HasPrefix(key, "x-"):
				im.warn("paths[%q].%s is ignored", path, key)
				continue
			default:
				im.warn("paths[%q].%s is ignored", path, key)
				continue
			}
			r, ok := im.operation(a, path, method, item[key], shared)
			if ok {
				a.Routes = append(a.Routes, r)
			}
		}
	}
}

type rawOperation struct {
	OperationID string                     `json:"operationId"`
	Summary     string                     `json:"summary"`
	Description string                     `json:"description"`
	Tags        []string                   `json:"tags"`
	Parameters  []json.RawMessage          `json:"parameters"`
	RequestBody json.RawMessage            `json:"requestBody"`
	Responses   map[string]json.RawMessage `json:"responses"`
	Security    *[]map[string][]string     `json:"security"`
	Consumes    []string                   `json:"consumes"`
	Produces    []string                   `json:"produces"`
	Deprecated  bool                       `json:"deprecated"`
}

func (im *importer) operation(a *apis.API, path, method string, raw json.RawMessage, shared []json.RawMessage) (apis.Route, bool) {
	where := fmt.Sprintf("%s %s", method, path)
	if method == apis.MethodAny {
		where = "ANY " + path
	}
	r := apis.Route{Method: method, Path: path}
	if path == apis.RouteDefault {
		r.Method = ""
		if method != apis.MethodAny {
			im.fail("%s: the $default route takes x-amazon-apigateway-any-method only", where)
		}
	}
	var op rawOperation
	if err := json.Unmarshal(raw, &op); err != nil {
		im.fail("%s: operation does not parse: %v", where, err)
		return r, false
	}
	var all map[string]json.RawMessage
	_ = json.Unmarshal(raw, &all)
	r.OperationID, r.Summary, r.Description, r.Tags = op.OperationID, op.Summary, op.Description, op.Tags

	// Parameters: path-level ones first, overridden by the operation's.
	byKey := map[string]apis.Parameter{}
	var order []string
	consumes := op.Consumes
	if consumes == nil {
		consumes = im.consumes
	}
	if len(consumes) == 0 {
		consumes = []string{"application/json"}
	}
	for _, pr := range append(append([]json.RawMessage{}, shared...), op.Parameters...) {
		p, body, ok := im.parameter(where, pr)
		if !ok {
			continue
		}
		if body != nil {
			if body.model != "" {
				r.RequestModels = map[string]string{}
				for _, ct := range consumes {
					r.RequestModels[ct] = body.model
				}
			}
			r.RequestBodyRequired = body.required
			continue
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
	im.checkPathParams(where, path, r.Parameters)

	if op.RequestBody != nil {
		im.requestBody(where, op.RequestBody, &r)
	}
	produces := op.Produces
	if produces == nil {
		produces = im.produces
	}
	if len(produces) == 0 {
		produces = []string{"application/json"}
	}
	for _, code := range sortedKeys(op.Responses) {
		mr, ok := im.response(where, code, op.Responses[code], produces)
		if ok {
			if r.Responses == nil {
				r.Responses = map[string]apis.MethodResponse{}
			}
			r.Responses[code] = mr
		}
	}
	sec := op.Security
	if sec == nil {
		sec = im.globalSec
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
	for _, k := range sortedKeys(all) {
		v := all[k]
		switch {
		case k == extIntegration:
			in, ok := im.integration(where, v)
			if ok {
				r.Integration = in
			}
		case k == extRequestValidator:
			if err := json.Unmarshal(v, &r.RequestValidator); err != nil {
				im.fail("%s: %s must be a string", where, k)
			}
		case strings.HasPrefix(k, "x-"):
			if r.Extensions == nil {
				r.Extensions = map[string]json.RawMessage{}
			}
			r.Extensions[k] = v
			if why, ok := notEnforced[k]; ok && why != "kept" {
				im.warn("%s: %s: %s", where, k, why)
			} else if strings.HasPrefix(k, prefixAWS) && !ok {
				im.warn("%s: %s is not known to Portico; it is kept but has no effect", where, k)
			}
		case k == "callbacks", k == "servers", k == "externalDocs", k == "schemes":
			im.warn("%s: %s is ignored", where, k)
		}
	}
	if op.Deprecated {
		im.warn("%s: deprecated is ignored", where)
	}
	if r.Integration == nil {
		im.warn("%s has no x-amazon-apigateway-integration; add one before deploying", where)
	}
	return r, true
}

type bodyParam struct {
	model    string
	required bool
}

// parameter decodes one parameter (resolving a local $ref). A Swagger 2.0 body
// parameter comes back as a bodyParam.
func (im *importer) parameter(where string, raw json.RawMessage) (apis.Parameter, *bodyParam, bool) {
	raw, ok := im.resolve(where, raw, im.params, "parameters")
	if !ok {
		return apis.Parameter{}, nil, false
	}
	var p struct {
		Name     string          `json:"name"`
		In       string          `json:"in"`
		Required bool            `json:"required"`
		Type     string          `json:"type"`
		Schema   json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		im.fail("%s: a parameter does not parse: %v", where, err)
		return apis.Parameter{}, nil, false
	}
	switch p.In {
	case "path", "query", "header":
	case "body":
		return apis.Parameter{}, &bodyParam{model: im.schemaModel(where, p.Schema), required: p.Required}, true
	case "formData", "cookie":
		im.warn("%s: %s parameter %q is ignored", where, p.In, p.Name)
		return apis.Parameter{}, nil, false
	default:
		im.fail("%s: parameter %q has an unknown location %q", where, p.Name, p.In)
		return apis.Parameter{}, nil, false
	}
	if p.Name == "" {
		im.fail("%s: a parameter has no name", where)
		return apis.Parameter{}, nil, false
	}
	t := p.Type
	if p.Schema != nil {
		var s struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(p.Schema, &s)
		t = s.Type
	}
	if t == "string" {
		t = ""
	}
	return apis.Parameter{Name: p.Name, In: p.In, Required: p.Required || p.In == "path", Type: t}, nil, true
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
	for _, name := range sortedKeys(inTemplate) {
		if !declared[name] {
			im.warn("%s: path parameter %q is not declared", where, name)
		}
	}
}

func (im *importer) requestBody(where string, raw json.RawMessage, r *apis.Route) {
	raw, ok := im.resolve(where, raw, im.bodies, "requestBodies")
	if !ok {
		return
	}
	var rb struct {
		Content  map[string]struct{ Schema json.RawMessage } `json:"content"`
		Required bool                                        `json:"required"`
	}
	if err := json.Unmarshal(raw, &rb); err != nil {
		im.fail("%s: requestBody does not parse: %v", where, err)
		return
	}
	r.RequestBodyRequired = rb.Required
	for _, ct := range sortedKeys(rb.Content) {
		if m := im.schemaModel(where, rb.Content[ct].Schema); m != "" {
			if r.RequestModels == nil {
				r.RequestModels = map[string]string{}
			}
			r.RequestModels[ct] = m
		}
	}
}

func (im *importer) response(where, code string, raw json.RawMessage, produces []string) (apis.MethodResponse, bool) {
	if code != "default" {
		if _, ok := apis.ValidateStatus(code); !ok {
			im.fail("%s: response %q is not a status code", where, code)
			return apis.MethodResponse{}, false
		}
	}
	raw, ok := im.resolve(where, raw, im.responses, "responses")
	if !ok {
		return apis.MethodResponse{}, false
	}
	var resp struct {
		Description string                                      `json:"description"`
		Headers     map[string]json.RawMessage                  `json:"headers"`
		Content     map[string]struct{ Schema json.RawMessage } `json:"content"`
		Schema      json.RawMessage                             `json:"schema"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		im.fail("%s: response %s does not parse: %v", where, code, err)
		return apis.MethodResponse{}, false
	}
	mr := apis.MethodResponse{Description: resp.Description, Headers: sortedKeys(resp.Headers)}
	if resp.Schema != nil {
		if m := im.schemaModel(where, resp.Schema); m != "" {
			mr.Models = map[string]string{}
			for _, ct := range produces {
				mr.Models[ct] = m
			}
		}
	}
	for _, ct := range sortedKeys(resp.Content) {
		if m := im.schemaModel(where, resp.Content[ct].Schema); m != "" {
			if mr.Models == nil {
				mr.Models = map[string]string{}
			}
			mr.Models[ct] = m
		}
	}
	return mr, true
}

// schemaModel returns the model a schema refers to; inline schemas are not
// models and are reported.
func (im *importer) schemaModel(where string, raw json.RawMessage) string {
	if raw == nil {
		return ""
	}
	var s struct {
		Ref string `json:"$ref"`
	}
	_ = json.Unmarshal(raw, &s)
	if s.Ref == "" {
		im.warn("%s: an inline schema is ignored; define it under components.schemas and refer to it", where)
		return ""
	}
	name, ok := refName(s.Ref, "#/components/schemas/", "#/definitions/")
	if !ok {
		im.fail("%s: $ref %q is not a local schema reference", where, s.Ref)
		return ""
	}
	if _, ok := im.models[name]; !ok {
		im.fail("%s: $ref %q names an undefined model", where, s.Ref)
		return ""
	}
	return name
}

// resolve follows one local $ref into the components of kind.
func (im *importer) resolve(where string, raw json.RawMessage, pool map[string]json.RawMessage, kind string) (json.RawMessage, bool) {
	var r struct {
		Ref string `json:"$ref"`
	}
	if json.Unmarshal(raw, &r) != nil || r.Ref == "" {
		return raw, true
	}
	name, ok := refName(r.Ref, "#/components/"+kind+"/", "#/"+kind+"/")
	if !ok {
		im.fail("%s: $ref %q is not a local %s reference", where, r.Ref, kind)
		return nil, false
	}
	v, ok := pool[name]
	if !ok {
		im.fail("%s: $ref %q is undefined", where, r.Ref)
		return nil, false
	}
	return v, true
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
	Type                 string                            `json:"type"`
	URI                  string                            `json:"uri"`
	HTTPMethod           string                            `json:"httpMethod"`
	TimeoutInMillis      json.Number                       `json:"timeoutInMillis"`
	PayloadFormatVersion string                            `json:"payloadFormatVersion"`
	RequestParameters    map[string]string                 `json:"requestParameters"`
	RequestTemplates     map[string]string                 `json:"requestTemplates"`
	Responses            map[string]rawIntegrationResponse `json:"responses"`
	PassthroughBehavior  string                            `json:"passthroughBehavior"`
	ContentHandling      string                            `json:"contentHandling"`
	CacheKeyParameters   []string                          `json:"cacheKeyParameters"`
	CacheNamespace       string                            `json:"cacheNamespace"`
	Credentials          string                            `json:"credentials"`
	ConnectionType       string                            `json:"connectionType"`
	ConnectionID         string                            `json:"connectionId"`
	TLSConfig            json.RawMessage                   `json:"tlsConfig"`
}

type rawIntegrationResponse struct {
	StatusCode         json.Number       `json:"statusCode"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ContentHandling    string            `json:"contentHandling"`
}

func (im *importer) integration(where string, raw json.RawMessage) (*apis.Integration, bool) {
	var ri rawIntegration
	if err := decodeStrict(raw, &ri); err != nil {
		im.fail("%s: %s: %v", where, extIntegration, err)
		return nil, false
	}
	in := &apis.Integration{
		Type:                 strings.ToUpper(ri.Type),
		URI:                  ri.URI,
		HTTPMethod:           strings.ToUpper(ri.HTTPMethod),
		PayloadFormatVersion: ri.PayloadFormatVersion,
		RequestParameters:    ri.RequestParameters,
		RequestTemplates:     ri.RequestTemplates,
		PassthroughBehavior:  strings.ToUpper(ri.PassthroughBehavior),
		ContentHandling:      ri.ContentHandling,
		CacheKeyParameters:   ri.CacheKeyParameters,
		CacheNamespace:       ri.CacheNamespace,
		Credentials:          ri.Credentials,
		ConnectionType:       ri.ConnectionType,
		ConnectionID:         ri.ConnectionID,
		TLSConfig:            ri.TLSConfig,
	}
	if ri.TimeoutInMillis != "" {
		n, err := strconv.Atoi(ri.TimeoutInMillis.String())
		if err != nil {
			im.fail("%s: timeoutInMillis %q is not an integer", where, ri.TimeoutInMillis)
		}
		in.TimeoutInMillis = n
	}
	switch in.Type {
	case apis.IntegrationMock, apis.IntegrationHTTP, apis.IntegrationHTTPProxy, apis.IntegrationAWS, apis.IntegrationAWSProxy:
	case "":
		im.fail("%s: %s has no type", where, extIntegration)
		return nil, false
	default:
		im.fail("%s: integration type %q is unknown (mock, http, http_proxy, aws, aws_proxy)", where, ri.Type)
		return nil, false
	}
	for k, v := range ri.Responses {
		if in.Responses == nil {
			in.Responses = map[string]apis.IntegrationResponse{}
		}
		in.Responses[k] = apis.IntegrationResponse{StatusCode: v.StatusCode.String(), ResponseTemplates: v.ResponseTemplates,
			ResponseParameters: v.ResponseParameters, ContentHandling: v.ContentHandling}
	}
	if in.Type == apis.IntegrationAWS && !strings.Contains(in.URI, ":lambda:path/") {
		im.warn("%s: AWS service integrations other than Lambda are not supported; calls return 500", where)
	}
	if in.ConnectionType == "VPC_LINK" {
		im.warn("%s: VPC links are not supported; the uri is called directly", where)
	}
	if in.Credentials != "" {
		im.warn("%s: integration credentials are ignored", where)
	}
	return in, true
}

// decodeStrict decodes JSON refusing unknown fields.
func decodeStrict(raw json.RawMessage, v any) error {
	if raw == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// toJSON turns a JSON or YAML document into JSON.
func toJSON(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		return trimmed, nil
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	v, err := stringKeys(v, 0)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
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
	if !bytes.Contains(raw, []byte(from)) {
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
				if s, ok := e.(string); ok && k == "$ref" && strings.HasPrefix(s, from) {
					t[k] = to + strings.TrimPrefix(s, from)
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
