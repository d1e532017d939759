package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/gateway/accesslog"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/openapi"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/internal/routeselect"
	"github.com/portico-dev/portico/internal/suggest"
)

// restAPI builds an AWS::Serverless::Api (httpAPI false) or
// AWS::Serverless::HttpApi as an OpenAPI document with API Gateway's
// extensions, as SAM does, plus its stage settings.
func (b *builder) restAPI(id string, props map[string]any, httpAPI bool) {
	typ, protocol := TypeAPI, apis.ProtocolREST
	if httpAPI {
		typ, protocol = TypeHTTPAPI, apis.ProtocolHTTP
	}
	b.unsupported(id, typ, props)
	a := &API{LogicalID: id, Protocol: protocol, Name: b.t.stack + "-" + id}
	if n := b.str(id, props, "Name"); n != "" {
		a.Name = n
	}
	stringValues(props["Variables"])
	stringValues(props["StageVariables"])
	var doc map[string]any
	var auth map[string]any
	if httpAPI {
		// Name is read above: goformation's HttpApi has no Name (SAM added it
		// in 2022), so its strict decode refused it.
		var h serverless.HttpApi
		if err := decodeResource(typ, props, &h, "Name", "Auth", "CorsConfiguration", "DefaultRouteSettings", "RouteSettings", "AccessLogSettings", "DefinitionBody", "DefinitionUri", "FailOnWarnings"); err != nil {
			b.fail("%s (%s): %v", id, typ, err)
			return
		}
		a.Stage = "$default"
		if h.StageName != nil && *h.StageName != "" {
			a.Stage = *h.StageName
		}
		a.Variables = h.StageVariables
		var ok bool
		if auth, ok = b.mapping(id+" ("+typ+")", props, "Auth", "DefaultAuthorizer, Authorizers, ..."); !ok {
			return
		}
		doc = b.definition(id, props)
		if c, ok := props["CorsConfiguration"]; ok && doc != nil {
			b.httpCORS(id, c, doc)
		}
		a.HTTPStage = b.httpStage(id, props, apis.ProtocolHTTP)
		a.AutoDeploy = true // SAM's stage of an HttpApi has AutoDeploy: true
	} else {
		var s serverless.Api
		if err := decodeResource(typ, props, &s, "Auth", "Cors", "DefinitionBody", "DefinitionUri", "ApiKeySourceType", "Models", "GatewayResponses", "FailOnWarnings", "AccessLogSetting"); err != nil {
			b.fail("%s (%s): %v", id, typ, err)
			return
		}
		if s.StageName == "" {
			b.fail("%s (%s): StageName is required", id, typ)
			return
		}
		a.Stage, a.Variables = s.StageName, s.Variables
		var ok bool
		if a.Tags, ok = b.stringMap(id+" ("+typ+")", props, "Tags"); !ok {
			return
		}
		if auth, ok = b.mapping(id+" ("+typ+")", props, "Auth", "DefaultAuthorizer, Authorizers, ..."); !ok {
			return
		}
		doc = b.definition(id, props)
		if doc != nil && s.Description != nil {
			info, _ := doc["info"].(map[string]any)
			if info != nil {
				info["description"] = *s.Description
			}
		}
		if doc != nil && len(s.BinaryMediaTypes) > 0 {
			// SAM's documentation has BinaryMediaTypes written with ~1 for /
			// ("image~1png", "*~1*"), and its translator replaces every ~1
			// with / before the list reaches the definition; so does this.
			bmt := make([]string, len(s.BinaryMediaTypes))
			for i, mt := range s.BinaryMediaTypes {
				bmt[i] = strings.ReplaceAll(mt, "~1", "/")
			}
			doc["x-amazon-apigateway-binary-media-types"] = bmt
		}
		if v, ok := props["ApiKeySourceType"]; ok && doc != nil {
			// Where the gateway reads a caller's API key: the x-api-key header,
			// or the usageIdentifierKey of the method's Lambda authorizer.
			switch v {
			case "HEADER", "AUTHORIZER":
				doc["x-amazon-apigateway-api-key-source"] = v
			default:
				b.fail("%s (%s): ApiKeySourceType must be HEADER or AUTHORIZER, not %v", id, typ, v)
			}
		}
		if doc != nil && s.MinimumCompressionSize != nil {
			doc["x-amazon-apigateway-minimum-compression-size"] = *s.MinimumCompressionSize
		}
		if s.CacheClusterEnabled != nil {
			a.StageOps = append(a.StageOps, PatchOp{Op: "replace", Path: "/cacheClusterEnabled", Value: strconv.FormatBool(*s.CacheClusterEnabled)})
		}
		if s.CacheClusterSize != nil && !apis.ValidCacheClusterSize(*s.CacheClusterSize) {
			// The server refuses it; refused here, so a dry run says so too
			// and a deploy stops before changing anything.
			b.fail("%s: CacheClusterSize %q is not one of %s (GB)", id, *s.CacheClusterSize, strings.Join(apis.CacheClusterSizes, ", "))
		}
		if s.CacheClusterSize != nil {
			a.StageOps = append(a.StageOps, PatchOp{Op: "replace", Path: "/cacheClusterSize", Value: *s.CacheClusterSize})
		}
		if v, ok := props["AccessLogSetting"]; ok {
			if al := b.accessLogSettings(id, "AccessLogSetting", apis.ProtocolREST, v); al != nil {
				a.StageOps = append(a.StageOps, PatchOp{Op: "replace", Path: "/accessLogSettings/destinationArn", Value: al.DestinationArn},
					PatchOp{Op: "replace", Path: "/accessLogSettings/format", Value: al.Format})
			}
		}
		if s.TracingEnabled != nil {
			a.StageOps = append(a.StageOps, PatchOp{Op: "replace", Path: "/tracingEnabled", Value: strconv.FormatBool(*s.TracingEnabled)})
		}
		for i, ms := range s.MethodSettings {
			m, ok := ms.(map[string]any)
			if !ok {
				b.fail("%s: MethodSettings[%d] must be a mapping", id, i)
				continue
			}
			a.StageOps = append(a.StageOps, methodSettingOps(id, i, m, b)...)
		}
		if s.CanarySetting != nil {
			c := s.CanarySetting
			if c.DeploymentId != nil {
				b.fail("%s: CanarySetting.DeploymentId is not supported: each deploy of a changed API goes to the canary", id)
			}
			a.Canary = &Canary{PercentTraffic: deref(c.PercentTraffic), StageVariableOverrides: c.StageVariableOverrides, UseStageCache: deref(c.UseStageCache)}
			if a.Canary.PercentTraffic < 0 || a.Canary.PercentTraffic > 100 {
				b.fail("%s: CanarySetting.PercentTraffic must be 0 to 100", id)
			}
		}
	}
	if doc == nil {
		return
	}
	if v, ok := props["FailOnWarnings"]; ok {
		if a.failOnWarnings, ok = boolean(v); !ok {
			b.fail("%s (%s): FailOnWarnings must be true or false", id, typ)
		}
	}
	if v, ok := props["DisableExecuteApiEndpoint"]; ok {
		// As SAM: into the document's endpoint configuration, which the
		// gateway enforces (the API answers only through custom domains).
		ec, _ := doc[extEndpointConfig].(map[string]any)
		if ec == nil {
			ec = map[string]any{}
		}
		// A boolean: "true" (a String parameter's value) is refused above
		// unless it is one; the importer reads a JSON boolean.
		ec["disableExecuteApiEndpoint"], _ = boolean(v)
		doc[extEndpointConfig] = ec
	}
	if v, ok := props["GatewayResponses"]; ok && !httpAPI {
		b.gatewayResponses(id, v, doc)
	}
	var models map[string]bool
	if m, ok := props["Models"]; ok && !httpAPI {
		models = b.apiModels(id, m, doc)
	}
	b.addEventRoutes(a, doc, models)
	if httpAPI {
		b.eventRouteSettings(a, props)
	}
	if c, ok := props["Cors"]; ok && !httpAPI {
		b.restCORS(id, c, doc) // after the events: a preflight on each path
	}
	defs := authDefaults{corsAuthorizer: true, corsAPIKey: true}
	if auth != nil {
		defs = b.apiAuth(a, auth, doc)
	}
	b.applyRouteAuth(a, doc, defs)
	a.Document = doc
	b.d.APIs[id] = a
}

const extEndpointConfig = "x-amazon-apigateway-endpoint-configuration"

// statusCodePattern is what SAM takes as a gateway response's StatusCode.
var statusCodePattern = regexp.MustCompile(`^[0-9]{1,3}$`)

// gatewayResponses adds an Api's GatewayResponses to its document as SAM's
// ApiGatewayResponse.generate_swagger does: ResponseParameters' Headers,
// Paths and QueryStrings become gatewayresponse.header.NAME, .path.NAME and
// .querystring.NAME; ResponseTemplates and StatusCode as they are. The
// gateway answers its errors with them.
func (b *builder) gatewayResponses(id string, v any, doc map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		b.fail("%s: GatewayResponses must map response types (DEFAULT_4XX, UNAUTHORIZED, ...) to responses", id)
		return
	}
	out, _ := doc["x-amazon-apigateway-gateway-responses"].(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	for _, typ := range slices.Sorted(maps.Keys(m)) {
		where := id + ": GatewayResponses." + typ
		r, ok := m[typ].(map[string]any)
		if !ok {
			b.fail("%s must be a mapping", where)
			continue
		}
		gr := map[string]any{"responseParameters": map[string]any{}, "responseTemplates": map[string]any{}}
		for _, k := range slices.Sorted(maps.Keys(r)) {
			switch k {
			case "StatusCode":
				code := fmt.Sprint(r[k])
				if !statusCodePattern.MatchString(code) {
					b.fail("%s.StatusCode must be numeric", where)
				}
				gr["statusCode"] = code
			case "ResponseTemplates":
				t, ok := r[k].(map[string]any)
				if !ok {
					b.fail("%s.ResponseTemplates must map content types to templates", where)
				}
				gr["responseTemplates"] = t
			case "ResponseParameters":
				params, ok := r[k].(map[string]any)
				if !ok {
					b.fail("%s.ResponseParameters must be a mapping of Headers, Paths and QueryStrings, not %s", where, shape(r[k]))
				}
				prefixed := map[string]any{}
				for _, loc := range slices.Sorted(maps.Keys(params)) {
					prefix, known := map[string]string{"Headers": "header.", "Paths": "path.", "QueryStrings": "querystring."}[loc]
					vals, isMap := params[loc].(map[string]any)
					if !known || !isMap {
						b.fail("%s.ResponseParameters.%s is refused: it takes Headers, Paths and QueryStrings, each a mapping", where, loc)
						continue
					}
					for name, val := range vals {
						prefixed["gatewayresponse."+prefix+name] = fmt.Sprint(val)
					}
				}
				gr["responseParameters"] = prefixed
			default:
				b.fail("%s.%s is refused: a gateway response takes ResponseParameters, ResponseTemplates and StatusCode", where, k)
			}
		}
		out[typ] = gr
	}
	doc["x-amazon-apigateway-gateway-responses"] = out
}

// definition returns the API's OpenAPI document: DefinitionBody, the file
// DefinitionUri names, or a new empty document that the events fill.
func (b *builder) definition(id string, props map[string]any) map[string]any {
	if body, ok := props["DefinitionBody"]; ok {
		doc, ok := body.(map[string]any)
		if !ok {
			b.fail("%s: DefinitionBody must be an OpenAPI document (a mapping)", id)
			return nil
		}
		return doc
	}
	if uri, ok := props["DefinitionUri"]; ok {
		s, ok := uri.(string)
		if !ok {
			b.fail("%s: DefinitionUri must be a local file (S3 locations are not supported)", id)
			return nil
		}
		path := s
		if !filepath.IsAbs(path) {
			path = filepath.Join(b.t.Dir(), s)
		}
		data, err := os.ReadFile(path) //nolint:gosec // G304: the template names its own definition
		if err != nil {
			b.fail("%s: DefinitionUri %s: %v", id, s, err)
			return nil
		}
		// The JSON conversion drops YAML tags: an intrinsic function's
		// short form would pass as its bare value.
		if line, tag := firstTag(data); tag != "" {
			b.fail("%s: DefinitionUri %s has %s at line %d: intrinsic functions in a DefinitionUri file are not resolved (as in SAM); move the document into the template as DefinitionBody, where they are, or write the values out", id, s, tag, line)
			return nil
		}
		var doc map[string]any
		js, err := openapi.ToJSON(data) // a JSON file read as JSON (YAML refuses some valid JSON)
		if err == nil {
			err = json.Unmarshal(js, &doc)
		}
		if err != nil || doc == nil {
			b.fail("%s: DefinitionUri %s is not a YAML or JSON OpenAPI document", id, s)
			return nil
		}
		if where, fn := findIntrinsic(doc, ""); fn != "" {
			b.fail("%s: DefinitionUri %s has %s at %s: intrinsic functions in a DefinitionUri file are not resolved (as in SAM); move the document into the template as DefinitionBody, where they are, or write the values out", id, s, fn, where)
			return nil
		}
		return doc
	}
	return map[string]any{
		"openapi": "3.0.1",
		"info":    map[string]any{"title": b.t.stack + "-" + id, "version": "1.0"},
		"paths":   map[string]any{},
	}
}

// firstTag returns the line and name of the first local YAML tag in data
// (!Sub, !Ref, any !Name but the standard !!str...), or 0, "" (none, or not
// YAML: the reader says what is wrong with it).
func firstTag(data []byte) (int, string) {
	if !bytes.Contains(data, []byte("!")) {
		return 0, ""
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return 0, ""
	}
	var walk func(n *yaml.Node) (int, string)
	walk = func(n *yaml.Node) (int, string) {
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") && n.Tag != "!" {
			return n.Line, n.Tag
		}
		for _, c := range n.Content {
			if line, tag := walk(c); tag != "" {
				return line, tag
			}
		}
		return 0, ""
	}
	return walk(&doc)
}

// findIntrinsic returns the path and name of the first intrinsic function
// (a one-key mapping of Ref or Fn::...) in v, or "", "".
func findIntrinsic(v any, path string) (string, string) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return path, k
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if p, fn := findIntrinsic(x[k], path+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")); fn != "" {
				return p, fn
			}
		}
	case []any:
		for i, e := range x {
			if p, fn := findIntrinsic(e, fmt.Sprintf("%s/%d", path, i)); fn != "" {
				return p, fn
			}
		}
	}
	return "", ""
}

// apiModels adds an Api's Models to its document as SAM does, each under its
// name lowercased (components.schemas, or definitions in a Swagger 2.0
// document), and returns the names the template gives them. The gateway
// compiles them as JSON Schema draft 4 when the document is checked, and
// refuses one that is not.
func (b *builder) apiModels(id string, v any, doc map[string]any) map[string]bool {
	m, ok := v.(map[string]any)
	if !ok {
		b.fail("%s: Models must map model names to JSON schemas", id)
		return nil
	}
	var into map[string]any
	if doc["swagger"] != nil {
		if into, _ = doc["definitions"].(map[string]any); into == nil {
			into = map[string]any{}
			doc["definitions"] = into
		}
	} else {
		comps, _ := doc["components"].(map[string]any)
		if comps == nil {
			comps = map[string]any{}
			doc["components"] = comps
		}
		if into, _ = comps["schemas"].(map[string]any); into == nil {
			into = map[string]any{}
			comps["schemas"] = into
		}
	}
	names := map[string]bool{}
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		schema, ok := m[name].(map[string]any)
		if !ok {
			b.fail("%s: Models.%s must be a JSON schema (a mapping)", id, name)
			continue
		}
		lower := strings.ToLower(name)
		if other, dup := seen[lower]; dup {
			b.fail("%s: Models %s and %s are both model %s (SAM lowercases model names)", id, other, name, lower)
			continue
		}
		seen[lower] = name
		into[lower] = schema
		names[name] = true
	}
	return names
}

// Request validators as SAM names them (x-amazon-apigateway-request-validators).
func validatorName(v apis.RequestValidator) string {
	switch {
	case v.ValidateRequestBody && v.ValidateRequestParameters:
		return "body-and-params"
	case v.ValidateRequestBody:
		return "body-only"
	case v.ValidateRequestParameters:
		return "params-only"
	}
	return "no-validation"
}

const (
	extRequestValidators = "x-amazon-apigateway-request-validators"
	extRequestValidator  = "x-amazon-apigateway-request-validator"
)

// addRequestValidation adds an Api event's RequestModel and RequestParameters
// to its operation as SAM does: the model as the application/json request
// body, the parameters (strings) with their Required flags, the request
// validator SAM names, and Caching as the integration's cache key parameters.
// The gateway enforces what a request validator checks; a model or required
// parameter no validator of the method checks is named in a warning, as API
// Gateway does not check it either.
func (b *builder) addRequestValidation(doc, op map[string]any, r eventRoute, models map[string]bool) {
	v := r.validation
	swagger2 := doc["swagger"] != nil
	params, _ := op["parameters"].([]any)
	setParam := func(p map[string]any) {
		for i, e := range params {
			if old, _ := e.(map[string]any); old["in"] == p["in"] && old["name"] == p["name"] {
				params[i] = p
				return
			}
		}
		params = append(params, p)
	}
	if v.model != "" {
		if !models[v.model] {
			declared := "the API declares no Models"
			if len(models) > 0 {
				declared = "the API's Models are " + strings.Join(slices.Sorted(maps.Keys(models)), ", ")
			}
			b.fail("%s: RequestModel.Model %s is not one of the API's Models (%s)", r.where, v.model, declared)
			return
		}
		name := strings.ToLower(v.model)
		if swagger2 {
			p := map[string]any{"in": "body", "name": name, "schema": map[string]any{"$ref": "#/definitions/" + name}}
			if v.modelRequired != nil {
				p["required"] = *v.modelRequired
			}
			setParam(p)
		} else {
			body := map[string]any{"content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/" + name}}}}
			if v.modelRequired != nil {
				body["required"] = *v.modelRequired
			}
			op["requestBody"] = body
		}
	}
	if v.validator != nil {
		name := validatorName(*v.validator)
		validators, _ := doc[extRequestValidators].(map[string]any)
		if validators == nil {
			validators = map[string]any{}
			doc[extRequestValidators] = validators
		}
		if _, ok := validators[name]; !ok { // as SAM: one the definition defines stays
			validators[name] = map[string]any{"validateRequestBody": v.validator.ValidateRequestBody,
				"validateRequestParameters": v.validator.ValidateRequestParameters}
		}
		op[extRequestValidator] = name
	}
	for _, prm := range v.params {
		p := map[string]any{"in": prm.in, "name": prm.short, "required": prm.required || prm.in == "path"}
		if swagger2 {
			p["type"] = "string"
		} else {
			p["schema"] = map[string]any{"type": "string"}
		}
		setParam(p)
		if prm.caching {
			integ, _ := op["x-amazon-apigateway-integration"].(map[string]any)
			keys, _ := integ["cacheKeyParameters"].([]any)
			integ["cacheKeyParameters"] = append(keys, prm.name)
		}
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	// What the method's validator (its own, else the API's default) checks.
	name, _ := op[extRequestValidator].(string)
	if name == "" {
		name, _ = doc[extRequestValidator].(string)
	}
	validators, _ := doc[extRequestValidators].(map[string]any)
	checks, _ := validators[name].(map[string]any)
	if v.model != "" && checks["validateRequestBody"] != true {
		b.warn("%s: the request body is not checked against RequestModel %s: no request validator of the method validates the body (SAM adds one only when RequestModel sets ValidateBody or ValidateParameters); set RequestModel.ValidateBody: true", r.where, v.model)
	}
	for _, prm := range v.params {
		if prm.required && prm.in != "path" && checks["validateRequestParameters"] != true {
			b.warn("%s: required parameter %s is not checked: no request validator of the method validates parameters (SAM adds one only when RequestModel sets ValidateBody or ValidateParameters); set RequestModel.ValidateParameters: true", r.where, prm.name)
		}
	}
}

// addEventRoutes adds the operations of the functions' events to the document,
// where the document does not define them already.
func (b *builder) addEventRoutes(a *API, doc map[string]any, models map[string]bool) {
	paths, _ := doc["paths"].(map[string]any)
	if paths == nil {
		paths = map[string]any{}
		doc["paths"] = paths
	}
	added := map[string]string{} // "path method" -> the event adding it
	for _, r := range b.eventRoutes[a.LogicalID] {
		if r.http != (a.Protocol == apis.ProtocolHTTP) {
			b.fail("%s: an %s event names %s, which is %s", r.fn, map[bool]string{true: "HttpApi", false: "Api"}[r.http], a.LogicalID, a.Protocol)
			continue
		}
		path, method := r.path, strings.ToLower(r.method)
		if path == "" && method == "" && r.http {
			path, method = "$default", "any"
		}
		if path == "" || method == "" {
			missing := "Path and Method"
			switch {
			case path != "":
				missing = "Method"
			case method != "":
				missing = "Path"
			}
			where := r.where
			if where == "" {
				where = r.fn
			}
			b.fail("%s: an event on %s needs Path and Method: set Properties.%s (e.g. Path: /items, Method: get)", where, a.LogicalID, missing)
			continue
		}
		if !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "any"}, method) {
			// A route the API would not have: refused, not dropped.
			b.fail("%s: Method %q is not an HTTP method API Gateway serves: use GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH or ANY", r.where, r.method)
			continue
		}
		if method == "any" {
			method = "x-amazon-apigateway-any-method"
		}
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		integ := map[string]any{"type": "aws_proxy", "httpMethod": "POST", "uri": r.uri}
		if r.http {
			integ["payloadFormatVersion"] = r.payload
		}
		if r.timeoutMillis > 0 {
			integ["timeoutInMillis"] = r.timeoutMillis
		}
		if existing, exists := item[method]; exists {
			// As SAM (InvalidEventException): one integration per method;
			// keeping either would silently drop the other.
			op, _ := existing.(map[string]any)
			if _, has := op["x-amazon-apigateway-integration"]; has || op == nil {
				by := "the API's DefinitionBody defines it"
				if other, ok := added[path+" "+method]; ok {
					by = other + " adds it too"
				}
				shown := strings.ToLower(r.method)
				if shown == "" {
					shown = "any"
				}
				b.fail("%s: API method %q defined multiple times for path %q (%s): keep one of them", r.where, shown, path, by)
				continue
			}
			if r.validation.model != "" || len(r.validation.params) > 0 {
				b.fail("%s: RequestModel and RequestParameters cannot be added to %s %s, which the API's definition defines: declare its request body, parameters and x-amazon-apigateway-request-validator there", r.where, strings.ToUpper(r.method), path)
			}
			if r.apiKeyRequired != nil || r.authorizer != "" || r.scopes != nil || r.invokeRole != "" || r.policy != nil {
				// Dropping it would leave the method open.
				b.fail("%s: Auth cannot be added to %s %s, which the API's definition defines: declare its security there (or the API's Auth.DefaultAuthorizer and Auth.ApiKeyRequired, which apply to it)", r.where, strings.ToUpper(r.method), path)
			}
			// As SAM: the definition's method without an integration
			// takes the event's.
			op["x-amazon-apigateway-integration"] = integ
			added[path+" "+method] = r.where
			continue
		}
		added[path+" "+method] = r.where
		op := map[string]any{"x-amazon-apigateway-integration": integ, "responses": map[string]any{}}
		var params []any
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				name := strings.TrimSuffix(strings.Trim(seg, "{}"), "+")
				params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		op["x-portico-auth"] = map[string]any{"apiKeyRequired": r.apiKeyRequired, "authorizer": r.authorizer, "scopes": r.scopes, "invokeRole": r.invokeRole, "where": r.where}
		b.addRequestValidation(doc, op, r, models)
		item[method] = op
		if r.policy != nil {
			if a.Protocol != apis.ProtocolREST {
				b.fail("%s: Auth.ResourcePolicy: resource policies are for REST APIs (AWS::Serverless::Api)", r.fn)
				continue
			}
			b.addPolicy(doc, b.policyStatements(r.fn+" Auth.ResourcePolicy", r.policy, methodResource(r.method, path)))
		}
	}
}

// iamScheme is the security scheme of IAM authorization (SigV4), as API
// Gateway exports it.
func iamScheme() map[string]any {
	return map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
}

// methodResource is the resource-policy resource of one method on any stage:
// execute-api:/*/GET/pets/* ({param} segments become *, ANY every method).
func methodResource(method, path string) string {
	m := strings.ToUpper(method)
	if m == "ANY" {
		m = "*"
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "*"
		}
	}
	return "execute-api:/*/" + m + strings.Join(segs, "/")
}

// addPolicy appends statements to the document's resource policy
// (x-amazon-apigateway-policy).
func (b *builder) addPolicy(doc map[string]any, stmts []any) {
	if len(stmts) == 0 {
		return
	}
	p, _ := doc[apis.ExtPolicy].(map[string]any)
	if p == nil {
		p = map[string]any{"Version": "2012-10-17", "Statement": []any{}}
		doc[apis.ExtPolicy] = p
	}
	list, ok := p["Statement"].([]any)
	if !ok && p["Statement"] != nil {
		list = []any{p["Statement"]}
	}
	p["Statement"] = append(list, stmts...)
}

// policyStatements maps SAM's ResourcePolicyStatement to policy statements on
// resource, as SAM generates them: CustomStatements as they are (Resource
// defaulting to resource); IpRangeWhitelist allows those ranges and denies the
// rest, IpRangeBlacklist denies those ranges; AwsAccountWhitelist allows those
// accounts only, AwsAccountBlacklist denies them. The VPC and endpoint
// conditions are refused: Portico's requests come from no VPC.
func (b *builder) policyStatements(where string, v any, resource string) []any {
	m, _ := v.(map[string]any)
	if m == nil {
		b.fail("%s must be a mapping", where)
		return nil
	}
	list := func(k string) []any {
		switch x := m[k].(type) {
		case []any:
			return x
		case string:
			return []any{x}
		}
		b.fail("%s.%s must be a list", where, k)
		return nil
	}
	stmt := func(effect string, principal any, cond map[string]any) map[string]any {
		s := map[string]any{"Effect": effect, "Principal": principal, "Action": "execute-api:Invoke", "Resource": resource}
		if cond != nil {
			s["Condition"] = cond
		}
		return s
	}
	var out []any
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch k {
		case "CustomStatements":
			for _, s := range list(k) {
				st, ok := s.(map[string]any)
				if !ok {
					b.fail("%s.CustomStatements: each statement must be a mapping", where)
					continue
				}
				if _, ok := st["Resource"]; !ok {
					if _, ok := st["NotResource"]; !ok {
						st["Resource"] = resource
					}
				}
				out = append(out, st)
			}
		case "IpRangeWhitelist":
			ips := list(k)
			out = append(out, stmt("Allow", "*", nil),
				stmt("Deny", "*", map[string]any{"NotIpAddress": map[string]any{"aws:SourceIp": ips}}))
		case "IpRangeBlacklist":
			ips := list(k)
			out = append(out, stmt("Allow", "*", nil),
				stmt("Deny", "*", map[string]any{"IpAddress": map[string]any{"aws:SourceIp": ips}}))
		case "AwsAccountWhitelist":
			out = append(out, stmt("Allow", map[string]any{"AWS": list(k)}, nil))
		case "AwsAccountBlacklist":
			out = append(out, stmt("Allow", "*", nil), stmt("Deny", map[string]any{"AWS": list(k)}, nil))
		default:
			b.fail("%s.%s is refused: Portico enforces CustomStatements, IpRangeWhitelist/Blacklist and AwsAccountWhitelist/Blacklist only", where, k)
		}
	}
	return out
}

// invokeRoleRefused says why SAM's InvokeRole (integration credentials) is
// refused when it names a role; NONE and CALLER_CREDENTIALS are accepted.
const invokeRoleRefused = "Portico calls integrations without assuming an IAM role, so the role could not limit what the integration calls (InvokeRole: CALLER_CREDENTIALS, the default, and NONE are accepted)"

// SAM's InvokeRole values Portico applies. CALLER_CREDENTIALS, SAM's default
// for AWS_IAM methods, makes the caller's own policies decide whether the
// function may be invoked (lambda:InvokeFunction).
const (
	invokeRoleCaller = "CALLER_CREDENTIALS"
	invokeRoleNone   = "NONE"
)

// validInvokeRole reports whether Portico applies InvokeRole v.
func validInvokeRole(v any) bool { return v == invokeRoleCaller || v == invokeRoleNone }

// authDefaults are an API's Auth settings that apply to its methods, as
// applyRouteAuth applies them.
type authDefaults struct {
	// apiKey is Auth.ApiKeyRequired; authorizer Auth.DefaultAuthorizer;
	// invokeRole Auth.InvokeRole.
	apiKey     bool
	authorizer string
	invokeRole string
	// corsAuthorizer and corsAPIKey are Auth.AddDefaultAuthorizerToCorsPreflight
	// and Auth.AddApiKeyRequiredToCorsPreflight: whether the defaults reach a
	// REST API's OPTIONS methods (SAM's default: true).
	corsAuthorizer, corsAPIKey bool
	// authorizers are the names of Auth.Authorizers; scopes their
	// AuthorizationScopes, which a method using one takes when it names none.
	authorizers map[string]bool
	scopes      map[string][]any
	// iamEnabled is an HttpApi's Auth.EnableIamAuthorizer: SAM lets its
	// routes, and its DefaultAuthorizer, name AWS_IAM only with it.
	iamEnabled bool
}

// apiAuthKeys are the Auth properties SAM accepts on an Api and an HttpApi:
// SAM refuses a template with any other ("Invalid value for 'Auth'
// property"), so a misspelled access control does not deploy open.
var apiAuthKeys = map[string][]string{
	apis.ProtocolREST: {"AddApiKeyRequiredToCorsPreflight", "AddDefaultAuthorizerToCorsPreflight", "ApiKeyRequired",
		"Authorizers", "DefaultAuthorizer", "InvokeRole", "ResourcePolicy", "UsagePlan"},
	apis.ProtocolHTTP: {"Authorizers", "DefaultAuthorizer", "EnableIamAuthorizer"},
}

// apiAuth reads an API's Auth: API keys, usage plans, Lambda, JWT and IAM
// (AWS_IAM) authorizers, resource policies. What the gateway does not enforce
// is refused.
func (b *builder) apiAuth(a *API, auth map[string]any, doc map[string]any) authDefaults {
	where := a.LogicalID + " Auth"
	defs := authDefaults{corsAuthorizer: true, corsAPIKey: true, authorizers: map[string]bool{}, scopes: map[string][]any{}}
	schemes := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(auth)) {
		v := auth[k]
		if a.Protocol == apis.ProtocolHTTP && !slices.Contains(apiAuthKeys[a.Protocol], k) && slices.Contains(apiAuthKeys[apis.ProtocolREST], k) {
			b.fail("%s.%s is refused: it is for REST APIs (AWS::Serverless::Api)", where, k)
			continue
		}
		if !slices.Contains(apiAuthKeys[a.Protocol], k) {
			b.fail("%s.%s is refused: SAM knows no such Auth property of an %s (it knows %s)", where, k,
				map[string]string{apis.ProtocolREST: TypeAPI, apis.ProtocolHTTP: TypeHTTPAPI}[a.Protocol], strings.Join(apiAuthKeys[a.Protocol], ", "))
			continue
		}
		switch k {
		case "ApiKeyRequired":
			if _, ok := boolean(v); !ok {
				b.fail("%s.ApiKeyRequired must be true or false", where)
			}
			defs.apiKey, _ = boolean(v)
		case "AddDefaultAuthorizerToCorsPreflight", "AddApiKeyRequiredToCorsPreflight":
			on, ok := boolean(v)
			if !ok {
				b.fail("%s.%s must be true or false", where, k)
			}
			if k == "AddDefaultAuthorizerToCorsPreflight" {
				defs.corsAuthorizer = on
			} else {
				defs.corsAPIKey = on
			}
		case "DefaultAuthorizer":
			defs.authorizer, _ = v.(string)
			if defs.authorizer == "" {
				b.fail("%s.DefaultAuthorizer must name one of Auth.Authorizers or AWS_IAM", where)
			}
			if v == apis.AuthorizerIAM {
				schemes[apis.AuthorizerIAM] = iamScheme()
			}
		case "Authorizers":
			m, ok := v.(map[string]any)
			if !ok {
				b.fail("%s.Authorizers must map authorizer names to their settings, not %s", where, shape(v))
			}
			for _, name := range slices.Sorted(maps.Keys(m)) {
				cfg, _ := m[name].(map[string]any) // authorizer refuses nil
				defs.authorizers[name] = true
				if sc, ok := cfg["AuthorizationScopes"]; ok {
					list, isList := sc.([]any)
					if !isList {
						b.fail("%s.Authorizers.%s.AuthorizationScopes must be a list", where, name)
					}
					defs.scopes[name] = list
				}
				if s := b.authorizer(a, where+".Authorizers."+name, cfg); s != nil {
					schemes[name] = s
				}
			}
		case "UsagePlan":
			b.usagePlan(a, where+".UsagePlan", v)
		case "ResourcePolicy":
			b.addPolicy(doc, b.policyStatements(where+".ResourcePolicy", v, "execute-api:/*"))
		case "EnableIamAuthorizer":
			if v == true {
				schemes[apis.AuthorizerIAM] = iamScheme()
				defs.iamEnabled = true
			}
		case "InvokeRole":
			if !validInvokeRole(v) {
				b.fail("%s.InvokeRole is refused: %s", where, invokeRoleRefused)
			}
			defs.invokeRole, _ = v.(string)
		}
	}
	if a.Protocol == apis.ProtocolHTTP && defs.authorizer == apis.AuthorizerIAM && !defs.iamEnabled {
		// SAM refuses it so: on an HttpApi the IAM authorizer exists only
		// when EnableIamAuthorizer turns it on.
		b.fail("%s: Unable to set DefaultAuthorizer because 'AWS_IAM' was not defined in 'Authorizers'. (set Auth.EnableIamAuthorizer: true to use the IAM authorizer)", where)
	}
	if defs.apiKey {
		schemes["api_key"] = map[string]any{"type": "apiKey", "name": "x-api-key", "in": "header"}
	}
	if len(schemes) == 0 {
		return defs
	}
	ss := securitySchemes(doc, true)
	for k, v := range schemes {
		ss[k] = v
	}
	return defs
}

// securitySchemes returns the document's security schemes: a Swagger 2.0
// document's securityDefinitions, an OpenAPI 3 document's
// components.securitySchemes, as SAM's editors write them. With create, a
// missing map is added to the document; else it may be nil.
func securitySchemes(doc map[string]any, create bool) map[string]any {
	if doc["swagger"] != nil {
		ss, _ := doc["securityDefinitions"].(map[string]any)
		if ss == nil && create {
			ss = map[string]any{}
			doc["securityDefinitions"] = ss
		}
		return ss
	}
	comps, _ := doc["components"].(map[string]any)
	if comps == nil {
		if !create {
			return nil
		}
		comps = map[string]any{}
		doc["components"] = comps
	}
	ss, _ := comps["securitySchemes"].(map[string]any)
	if ss == nil && create {
		ss = map[string]any{}
		comps["securitySchemes"] = ss
	}
	return ss
}

// authorizer builds the security scheme of one authorizer.
func (b *builder) authorizer(a *API, where string, cfg map[string]any) map[string]any {
	if cfg == nil {
		b.fail("%s must be a mapping", where)
		return nil
	}
	if _, ok := cfg["UserPoolArn"]; ok {
		b.fail("%s: Cognito user pool authorizers are refused: Portico's gateway does not verify Cognito tokens; use a Lambda or JWT authorizer", where)
		return nil
	}
	if jwt, ok := cfg["JwtConfiguration"].(map[string]any); ok {
		if a.Protocol != apis.ProtocolHTTP {
			b.fail("%s: JWT authorizers are for AWS::Serverless::HttpApi", where)
			return nil
		}
		for k := range jwt {
			if k != "issuer" && k != "audience" {
				b.fail("%s.JwtConfiguration: %q is not a JWT setting; use issuer and audience (lower case, as SAM spells them)", where, k)
				return nil
			}
		}
		src := b.str(where, cfg, "IdentitySource")
		if src == "" {
			src = "$request.header.Authorization"
		}
		if err := apis.CheckJWTIdentitySource(src); err != nil {
			b.fail("%s: IdentitySource %s: a JWT authorizer takes one identity source, $request.header.NAME or $request.querystring.NAME", where, src)
			return nil
		}
		return map[string]any{"type": "oauth2", "x-amazon-apigateway-authorizer": map[string]any{
			"type": "jwt", "identitySource": src,
			"jwtConfiguration": map[string]any{"issuer": jwt["issuer"], "audience": jwt["audience"]},
		}}
	}
	if r, ok := cfg["FunctionInvokeRole"]; ok && r != invokeRoleNone { // NONE: no role, as SAM reads it
		b.fail("%s.FunctionInvokeRole is refused: Portico invokes authorizer functions without assuming an IAM role, so the role could not limit which function runs", where)
		return nil
	}
	arn := b.str(where, cfg, "FunctionArn")
	if arn == "" {
		b.fail("%s: an authorizer needs FunctionArn (a Lambda authorizer) or JwtConfiguration", where)
		return nil
	}
	ident, _ := cfg["Identity"].(map[string]any)
	if v, set := cfg["Identity"]; set && ident == nil {
		b.fail("%s.Identity must be a mapping, not %s", where, shape(v))
		return nil
	}
	var sources []string
	add := func(prefix string, key string) {
		list, ok := ident[key].([]any)
		if v, set := ident[key]; set && !ok {
			b.fail("%s.Identity.%s must be a list, not %s", where, key, shape(v))
		}
		for _, h := range list {
			sources = append(sources, prefix+fmt.Sprint(h))
		}
	}
	au := map[string]any{"authorizerUri": apis.LambdaInvocationURI(arn)}
	if ttl, ok := ident["ReauthorizeEvery"]; ok {
		au["authorizerResultTtlInSeconds"] = ttl
	}
	if a.Protocol == apis.ProtocolHTTP {
		// As SAM's ApiGatewayV2Authorizer: every Identity list, the stage
		// variables and context too (they were dropped, so the authorizer
		// was called without them and its cache keyed on less).
		add("$request.header.", "Headers")
		add("$request.querystring.", "QueryStrings")
		add("$stageVariables.", "StageVariables")
		add("$context.", "Context")
		au["type"] = "request"
		v := b.str(where, cfg, "AuthorizerPayloadFormatVersion")
		if v == "" {
			v = "2.0"
		}
		au["authorizerPayloadFormatVersion"] = v
		if simple, ok := b.boolean(where, cfg, "EnableSimpleResponses"); ok {
			au["enableSimpleResponses"] = simple
		}
		au["identitySource"] = strings.Join(sources, ",")
		return map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": au}
	}
	payload := b.str(where, cfg, "FunctionPayloadType")
	if payload == "" {
		payload = "TOKEN"
	}
	header := "Authorization"
	switch payload {
	case "TOKEN":
		if h := b.str(where+".Identity", ident, "Header"); h != "" {
			header = h
		}
		au["type"] = "token"
		au["identitySource"] = "method.request.header." + header
		if ve := b.str(where+".Identity", ident, "ValidationExpression"); ve != "" {
			au["identityValidationExpression"] = ve
		}
	case "REQUEST":
		add("method.request.header.", "Headers")
		add("method.request.querystring.", "QueryStrings")
		add("stageVariables.", "StageVariables")
		add("context.", "Context")
		au["type"] = "request"
		au["identitySource"] = strings.Join(sources, ", ")
	default:
		b.fail("%s: FunctionPayloadType must be TOKEN or REQUEST", where)
		return nil
	}
	return map[string]any{"type": "apiKey", "name": header, "in": "header", "x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": au}
}

// operationKeys are the keys of an OpenAPI path item that are operations.
var operationKeys = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true,
	"patch": true, "trace": true, "x-amazon-apigateway-any-method": true}

// SAM's markers in a method's security: NONE (Authorizer: NONE, no default
// authorizer) and api_key_false (ApiKeyRequired: false, no default API key).
// They are removed once the defaults are applied.
const (
	secNone        = "NONE"
	secAPIKey      = "api_key"
	secAPIKeyFalse = "api_key_false" //nolint:gosec // G101: SAM's marker name, not a credential
)

// applyRouteAuth sets each operation's security as SAM does, from its
// event's Auth (or, for an operation of the DefinitionBody, its own
// security) and the API's defaults, and removes the markers addEventRoutes
// left. On a REST API (SAM's set_path_default_authorizer and
// set_path_default_apikey_required): the default authorizer joins every
// method that names no authorizer of its own nor NONE, and the API key every
// method that does not say api_key_false, OPTIONS methods included unless
// AddDefaultAuthorizerToCorsPreflight / AddApiKeyRequiredToCorsPreflight is
// false. On an HTTP API the default authorizer joins each method without
// security of its own. A method using an authorizer without scopes of its own
// takes the authorizer's AuthorizationScopes.
func (b *builder) applyRouteAuth(a *API, doc map[string]any, defs authDefaults) {
	rest := a.Protocol == apis.ProtocolREST
	schemes := securitySchemes(doc, false)
	addScheme := func(name string, s map[string]any) {
		if _, ok := schemes[name]; ok {
			return
		}
		schemes = securitySchemes(doc, true)
		schemes[name] = s
	}
	// isAuthorizer reports whether a security requirement names an
	// authorizer rather than an API key.
	isAuthorizer := func(name string) bool {
		if name == apis.AuthorizerIAM || defs.authorizers[name] {
			return true
		}
		s, _ := schemes[name].(map[string]any)
		_, custom := s["x-amazon-apigateway-authtype"]
		_, authz := s["x-amazon-apigateway-authorizer"]
		return custom || authz || (s != nil && s["type"] != "apiKey")
	}
	scopesOf := func(name string, own []any) []any {
		// SAM: a REST event's AuthorizationScopes win when set, an HTTP
		// event's when not empty.
		if own != nil && (rest || len(own) > 0) {
			return own
		}
		if sc := defs.scopes[name]; sc != nil && name != apis.AuthorizerIAM && name != secNone {
			return sc
		}
		return []any{}
	}
	global, _ := doc["security"].([]any)
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[p].(map[string]any)
		if strings.HasPrefix(p, "x-") {
			continue // an extension of paths is no path
		}
		for _, m := range slices.Sorted(maps.Keys(item)) {
			op, _ := item[m].(map[string]any)
			if op == nil || !operationKeys[m] {
				continue
			}
			where := fmt.Sprintf("%s %s %s", a.LogicalID, strings.ToUpper(m), p)
			marker, fromEvent := op["x-portico-auth"].(map[string]any)
			delete(op, "x-portico-auth")
			var sec []map[string]any
			_, hadOwn := op["security"]
			if fromEvent {
				// As SAM's add_auth_to_method: the event's authorizer (NONE
				// included) and its ApiKeyRequired, as markers or requirements.
				scopes, _ := marker["scopes"].([]any)
				authz, _ := marker["authorizer"].(string)
				if authz == "" && scopes != nil {
					// SAM: an event's AuthorizationScopes without an
					// Authorizer override the DefaultAuthorizer's; with no
					// DefaultAuthorizer they are refused (InvalidEventException),
					// not dropped to leave the method open.
					if defs.authorizer == "" {
						b.fail("%s: Auth.AuthorizationScopes is set but no authorizer is: name one in the event's Auth.Authorizer or set the API's Auth.DefaultAuthorizer", marker["where"])
						continue
					}
					authz = defs.authorizer
				}
				if authz != "" {
					sec = append(sec, map[string]any{authz: scopesOf(authz, scopes)})
				}
				if k, _ := marker["apiKeyRequired"].(*bool); k != nil {
					sec = append(sec, map[string]any{map[bool]string{true: secAPIKey, false: secAPIKeyFalse}[*k]: []any{}})
				}
			} else {
				own := global
				if hadOwn {
					list, ok := op["security"].([]any)
					if !ok {
						b.fail("%s: security must be a list of security requirements", where)
						continue
					}
					own = list
				}
				for _, e := range own {
					req, ok := e.(map[string]any)
					if !ok {
						b.fail("%s: each security requirement must be a mapping", where)
						continue
					}
					sec = append(sec, maps.Clone(req))
				}
			}
			has := func(pred func(string) bool) bool {
				for _, req := range sec {
					for name := range req {
						if pred(name) {
							return true
						}
					}
				}
				return false
			}
			drop := func(pred func(string) bool) {
				sec = slices.DeleteFunc(sec, func(req map[string]any) bool {
					for name := range req {
						if pred(name) {
							return true
						}
					}
					return false
				})
			}
			is := func(n string) func(string) bool { return func(s string) bool { return s == n } }
			addedDefault := false
			if defs.authorizer != "" {
				switch {
				case rest && m == "options" && !defs.corsAuthorizer:
				case rest && has(is(secNone)):
				case rest && has(func(n string) bool { return isAuthorizer(n) && n != secNone }):
				case !rest && len(sec) > 0:
				default:
					sec = append(sec, map[string]any{defs.authorizer: scopesOf(defs.authorizer, nil)})
					addedDefault = true
				}
			}
			drop(is(secNone))
			// With AddApiKeyRequiredToCorsPreflight false SAM also drops an
			// API key the OPTIONS method's own event requires; Portico keeps it.
			if rest && defs.apiKey && (m != "options" || defs.corsAPIKey) && !has(is(secAPIKeyFalse)) && !has(is(secAPIKey)) {
				sec = append(sec, map[string]any{secAPIKey: []any{}})
			}
			drop(is(secAPIKeyFalse))
			for _, req := range sec {
				for _, name := range slices.Sorted(maps.Keys(req)) {
					switch {
					case name == secAPIKey && !rest:
						b.fail("%s: API keys are for REST APIs (AWS::Serverless::Api)", where)
					case name == secAPIKey:
						addScheme(secAPIKey, map[string]any{"type": "apiKey", "name": "x-api-key", "in": "header"})
					case name == apis.AuthorizerIAM && fromEvent && !rest && !defs.iamEnabled:
						b.fail("%s: Unable to set Authorizer [AWS_IAM] on API method [%s] for path [%s] because it wasn't defined in the API's Authorizers. (set the API's Auth.EnableIamAuthorizer: true to use the IAM authorizer)", marker["where"], m, p)
					case name == apis.AuthorizerIAM:
						addScheme(name, iamScheme())
					case (fromEvent || addedDefault) && schemes[name] == nil && !defs.authorizers[name]:
						// A declared authorizer without a scheme was
						// refused (apiAuth said why): not a second error.
						b.fail("%s: Authorizer %s is not one of the API's Auth.Authorizers", where, name)
					}
				}
			}
			if rest && (fromEvent || addedDefault) && has(is(apis.AuthorizerIAM)) {
				role := defs.invokeRole
				if v, _ := marker["invokeRole"].(string); v != "" {
					role = v
				}
				if role == "" || role == invokeRoleCaller {
					// SAM's default: the function runs with the caller's
					// credentials, so their policies must allow invoking it.
					if integ, ok := op["x-amazon-apigateway-integration"].(map[string]any); ok {
						integ["credentials"] = apis.CallerCredentials
					}
				}
			}
			switch {
			case len(sec) > 0:
				out := make([]any, len(sec))
				for i, req := range sec {
					out[i] = req
				}
				op["security"] = out
			case hadOwn || (global != nil && !fromEvent) || addedDefault:
				op["security"] = []any{}
			}
		}
	}
}

// usagePlanProps are the properties of SAM's Auth.UsagePlan.
var usagePlanProps = []string{"CreateUsagePlan", "Description", "Quota", "Tags", "Throttle", "UsagePlanName"}

// knownKeys refuses each key of m that is not one of props (what SAM's
// what has), naming the closest, and reports whether all were.
func (b *builder) knownKeys(where, what string, m map[string]any, props []string) bool {
	ok := true
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if slices.Contains(props, k) {
			continue
		}
		msg := fmt.Sprintf("%s: %s is not a property of %s, which has %s", where, k, what, strings.Join(props, ", "))
		best := suggest.Closest(k, props)
		for _, p := range props {
			// The first letter kept: Tags is not StageKeys or ApiStages
			// with letters left out.
			if best == "" && len(k) > 3 && strings.EqualFold(k[:1], p[:1]) && subsequence(strings.ToLower(k), strings.ToLower(p)) {
				best = p // CreatePlan: CreateUsagePlan with a word left out
			}
		}
		if best != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", best)
		}
		b.fail("%s", msg)
		ok = false
	}
	return ok
}

// subsequence reports whether s is t with letters left out.
func subsequence(s, t string) bool {
	for i := 0; i < len(t) && s != ""; i++ {
		if t[i] == s[0] {
			s = s[1:]
		}
	}
	return s == ""
}

// usagePlan reads Auth.UsagePlan. As SAM, PER_API makes the API a plan of its
// own (<Api>UsagePlan) with an API key (<Api>ApiKey) in it; SHARED makes it
// part of the stack's ServerlessUsagePlan, whose key is ServerlessApiKey.
func (b *builder) usagePlan(a *API, where string, v any) {
	m, _ := v.(map[string]any)
	if m == nil {
		b.fail("%s must be a mapping", where)
		return
	}

	p := &UsagePlan{Name: a.Name + "-" + a.Stage, KeyName: b.t.stack + "-" + a.LogicalID + "ApiKey", set: map[string]bool{}}
	// A key SAM's UsagePlan does not have is refused, not ignored: a
	// misspelt Quota or Throttle is a limit silently not enforced.
	if !b.knownKeys(where, "UsagePlan", m, usagePlanProps) {
		return
	}
	for k, props := range map[string][]string{"Quota": {"Limit", "Offset", "Period"}, "Throttle": {"BurstLimit", "RateLimit"}} {
		if sub, ok := m[k].(map[string]any); ok && !b.knownKeys(where+"."+k, k, sub, props) {
			return
		}
	}
	switch c := m["CreateUsagePlan"]; c {
	case "NONE":
		return
	case "PER_API":
	case "SHARED":
		p.Shared = true
		p.Name, p.KeyName = b.t.stack+"-"+SharedUsagePlan, b.t.stack+"-"+SharedAPIKey
	default:
		msg := fmt.Sprintf("%s: CreateUsagePlan must be PER_API, SHARED or NONE, not %v", where, c)
		if c == nil {
			msg = fmt.Sprintf("%s: CreateUsagePlan must be PER_API, SHARED or NONE, not missing", where)
		} else if best := suggest.Closest(fmt.Sprint(c), []string{"PER_API", "NONE", "SHARED"}); best != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", best)
		}
		b.fail("%s", msg)
		return
	}
	if n := b.str(where, m, "UsagePlanName"); n != "" {
		p.Name, p.set["UsagePlanName"] = n, true
	}
	for _, k := range []string{"Throttle", "Quota"} {
		if v, set := m[k]; set {
			p.set[k] = true
			if _, ok := v.(map[string]any); !ok {
				b.fail("%s.%s must be a mapping, not %s", where, k, shape(v))
			}
		}
	}
	if t, ok := m["Throttle"].(map[string]any); ok {
		p.Throttle = map[string]any{"burstLimit": t["BurstLimit"], "rateLimit": t["RateLimit"]}
		if _, rate := t["RateLimit"]; rate && zeroOrMissing(t, "BurstLimit") {
			b.warn("%s.Throttle: BurstLimit is 0 or not set: API Gateway reads a missing one back as 0, and Portico takes it as not set, so each key's bucket is the account's burst (5,000 by default); set BurstLimit for a bucket of your own", where)
		}
	}
	if q, ok := m["Quota"].(map[string]any); ok {
		p.Quota = map[string]any{"limit": q["Limit"], "period": q["Period"]}
		if o, ok := q["Offset"]; ok {
			p.Quota["offset"] = o
		}
	}
	if !b.planLimits(where, p) {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch k {
		case "CreateUsagePlan", "UsagePlanName", "Throttle", "Quota":
		default:
			b.warn("%s.%s is not supported by Portico and is ignored", where, k)
		}
	}
	a.UsagePlan = p
}

// planLimits checks a usage plan's Quota and Throttle as the gateway's usage
// plan model does, so that a value it would refuse fails the deploy before
// anything changes, not midway. A value of a shape the model does not read
// (a number as text) is left to the server.
func (b *builder) planLimits(where string, p *UsagePlan) bool {
	var q usage.Quota
	if p.Quota != nil && decodeAs(p.Quota, &q) {
		if err := q.Validate(); err != nil {
			b.fail("%s.Quota: %v", where, err)
			return false
		}
	}
	var t usage.Throttle
	if p.Throttle != nil && decodeAs(p.Throttle, &t) {
		if err := t.Validate("of the plan"); err != nil {
			b.fail("%s.Throttle: %v", where, err)
			return false
		}
	}
	return true
}

// decodeAs reads v into out through JSON, as the server would read it; it
// reports whether it could.
func decodeAs(v, out any) bool {
	raw, err := json.Marshal(v)
	return err == nil && json.Unmarshal(raw, out) == nil
}

// sharedPlan makes Desired.SharedPlan of the APIs whose usage plan is
// SHARED. SAM writes ServerlessUsagePlan once per such API, the last one's
// properties winning, and advises setting them on one API only: Portico
// takes each property from the API that sets it, and refuses two APIs
// setting it differently.
func (b *builder) sharedPlan() {
	var shared *UsagePlan
	from := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(b.d.APIs)) {
		p := b.d.APIs[id].UsagePlan
		if p == nil || !p.Shared {
			continue
		}
		if shared == nil {
			shared = &UsagePlan{Name: p.Name, KeyName: p.KeyName, Shared: true, set: map[string]bool{}}
		}
		for _, k := range slices.Sorted(maps.Keys(p.set)) {
			if other, ok := from[k]; ok {
				if !reflect.DeepEqual(planProperty(shared, k), planProperty(p, k)) {
					b.fail("%s and %s: Auth.UsagePlan.%s differ, and both APIs share ServerlessUsagePlan (CreateUsagePlan SHARED): set it on one of them only, as SAM advises", other, id, k)
				}
				continue
			}
			from[k] = id
			switch k {
			case "UsagePlanName":
				shared.Name = p.Name
			case "Throttle":
				shared.Throttle = p.Throttle
			case "Quota":
				shared.Quota = p.Quota
			}
		}
	}
	b.d.SharedPlan = shared
}

// planProperty is the value of a usage plan's property k (UsagePlanName,
// Throttle, Quota).
func planProperty(p *UsagePlan, k string) any {
	switch k {
	case "UsagePlanName":
		return p.Name
	case "Throttle":
		return p.Throttle
	}
	return p.Quota
}

// methodSettingOps turns one MethodSettings entry into stage patch operations.
func methodSettingOps(id string, i int, m map[string]any, b *builder) []PatchOp {
	where := fmt.Sprintf("%s: MethodSettings[%d]", id, i)
	res := b.str(where, m, "ResourcePath")
	meth := b.str(where, m, "HttpMethod")
	if res == "" {
		res = "/*"
	}
	if meth == "" {
		meth = "*"
	}
	// CloudFormation's ResourcePath is written encoded ("/~1pets~1{id}", as
	// CDK writes it); a plain "/pets/{id}" is encoded here.
	var prefix string
	switch {
	case res == "/*":
		prefix = "/*"
	case strings.HasPrefix(res, "/~1"):
		prefix = res
	default:
		prefix = "/~1" + strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(res, "/"), "~", "~0"), "/", "~1")
	}
	prefix += "/" + meth
	fields := map[string]string{
		"MetricsEnabled": "metrics/enabled", "LoggingLevel": "logging/loglevel", "DataTraceEnabled": "logging/dataTrace",
		"ThrottlingBurstLimit": "throttling/burstLimit", "ThrottlingRateLimit": "throttling/rateLimit",
		"CachingEnabled": "caching/enabled", "CacheTtlInSeconds": "caching/ttlInSeconds", "CacheDataEncrypted": "caching/dataEncrypted",
		"RequireAuthorizationForCacheControl":    "caching/requireAuthorizationForCacheControl",
		"UnauthorizedCacheControlHeaderStrategy": "caching/unauthorizedCacheControlHeaderStrategy",
	}
	if _, rate := m["ThrottlingRateLimit"]; rate {
		if n, isNum := number(m["ThrottlingBurstLimit"]); isNum && n == 0 {
			b.warn("%s: ThrottlingRateLimit is set with ThrottlingBurstLimit 0: a burst of 0 admits no request (the burst is the bucket's size), so every request of the methods is throttled whatever the rate; leave ThrottlingBurstLimit out to inherit the stage's (or the account's) burst", where)
		}
	}
	var ops []PatchOp
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "ResourcePath" || k == "HttpMethod" {
			continue
		}
		f, ok := fields[k]
		if !ok {
			b.warn("%s: MethodSettings[%d].%s is not supported by Portico and is ignored", id, i, k)
			continue
		}
		ops = append(ops, PatchOp{Op: "replace", Path: prefix + "/" + f, Value: fmt.Sprint(m[k])})
	}
	return ops
}

// httpStage reads an HttpApi's DefaultRouteSettings, RouteSettings and
// AccessLogSettings, which SAM puts on the AWS::ApiGatewayV2::Stage it makes
// (http_api_generator._construct_stage). The events' RouteSettings are merged
// in later (eventRouteSettings).
func (b *builder) httpStage(id string, props map[string]any, protocol string) *HTTPStage {
	hs := &HTTPStage{}
	set := false
	if v, ok := props["DefaultRouteSettings"]; ok {
		m, isMap := v.(map[string]any)
		if !isMap {
			b.fail("%s: DefaultRouteSettings must be a mapping (ThrottlingBurstLimit, ThrottlingRateLimit, DetailedMetricsEnabled)", id)
		} else if rs, ok := b.routeSettings(id+": DefaultRouteSettings", m); ok {
			hs.DefaultRouteSettings, set = &rs, true
		}
	}
	if v, ok := props["RouteSettings"]; ok {
		m, isMap := v.(map[string]any)
		if !isMap {
			b.fail("%s: RouteSettings must map route keys (\"GET /pets\") to their settings", id)
		}
		for _, key := range slices.Sorted(maps.Keys(m)) {
			rm, isMap := m[key].(map[string]any)
			if !isMap {
				b.fail("%s: RouteSettings %q must be a mapping (ThrottlingBurstLimit, ThrottlingRateLimit, DetailedMetricsEnabled)", id, key)
				continue
			}
			if rs, ok := b.routeSettings(fmt.Sprintf("%s: RouteSettings %q", id, key), rm); ok {
				if hs.RouteSettings == nil {
					hs.RouteSettings = map[string]RouteSettings{}
				}
				hs.RouteSettings[key], set = rs, true
			}
		}
	}
	if v, ok := props["AccessLogSettings"]; ok {
		if al := b.accessLogSettings(id, "AccessLogSettings", protocol, v); al != nil {
			hs.AccessLogSettings, set = al, true
		}
	}
	if !set {
		return nil
	}
	return hs
}

// routeSettings reads one route's settings (an AWS::ApiGatewayV2::Stage
// RouteSettings); false when they are refused. The throttle is enforced by
// the gateway per route key; the half a template leaves out is 0, as API
// Gateway stores it, so a throttle of 0 requests (both 0, or a burst or rate
// of 0 alone) throttles every request of the route, as API Gateway blocks it.
func (b *builder) routeSettings(where string, m map[string]any) (RouteSettings, bool) {
	var rs RouteSettings
	ok := true
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch k {
		case "ThrottlingBurstLimit":
			n, isNum := number(m[k])
			if !isNum || n < 0 || n != math.Trunc(n) || n > math.MaxInt32 {
				b.fail("%s: ThrottlingBurstLimit must be a whole number of requests, 0 or more, not %v", where, m[k])
				ok = false
				continue
			}
			v := int(n)
			rs.ThrottlingBurstLimit = &v
		case "ThrottlingRateLimit":
			n, isNum := number(m[k])
			if !isNum || n < 0 || math.IsInf(n, 0) {
				b.fail("%s: ThrottlingRateLimit must be a number of requests per second, 0 or more, not %v", where, m[k])
				ok = false
				continue
			}
			rs.ThrottlingRateLimit = &n
		case "DetailedMetricsEnabled":
			v, isBool := boolean(m[k])
			if !isBool {
				b.fail("%s: DetailedMetricsEnabled must be true or false, not %v", where, m[k])
				ok = false
				continue
			}
			rs.DetailedMetricsEnabled = &v
		default:
			b.warn("%s: %s is not supported by Portico and is ignored", where, k)
		}
	}
	b.warnHalfThrottle(where, rs)
	return rs, ok
}

// warnHalfThrottle warns of a throttle whose burst of 0 admits nothing
// whatever its rate. A half left out is inherited (DefaultRouteSettings',
// then the account's), which needs no warning.
func (b *builder) warnHalfThrottle(where string, rs RouteSettings) {
	if rs.ThrottlingRateLimit != nil && rs.ThrottlingBurstLimit != nil && *rs.ThrottlingBurstLimit == 0 && *rs.ThrottlingRateLimit > 0 {
		b.warn("%s: ThrottlingBurstLimit is 0: a burst of 0 throttles every request of the route, whatever ThrottlingRateLimit says; leave it out to inherit DefaultRouteSettings' (or the account's) burst", where)
	}
}

// accessLogSettings reads an HttpApi's (or an AWS::ApiGatewayV2::Stage's)
// AccessLogSettings or an Api's AccessLogSetting (prop) for an API of
// protocol: the destination must be one the gateway writes to and the format
// one it renders, or the deploy fails (ignored, the log a template declares
// would not be kept).
func (b *builder) accessLogSettings(id, prop, protocol string, v any) *AccessLogSettings {
	m, ok := v.(map[string]any)
	if !ok {
		b.fail("%s: %s must be a mapping with DestinationArn and Format", id, prop)
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "DestinationArn" && k != "Format" {
			b.fail("%s: %s.%s is refused: %s takes DestinationArn and Format", id, prop, k, prop)
			return nil
		}
	}
	dest := b.str(id+": "+prop, m, "DestinationArn")
	format := b.str(id+": "+prop, m, "Format")
	if dest == "" || format == "" {
		b.fail("%s: %s needs DestinationArn and Format (both strings)", id, prop)
		return nil
	}
	if tokenPattern.MatchString(dest) {
		b.fail("%s: %s.DestinationArn names a resource Portico does not create (a log group): Portico writes access logs to \"stdout\", an absolute file path, a file:///path URL or syslog://host:port", id, prop)
		return nil
	}
	set := apis.AccessLogSettings{DestinationARN: dest, Format: format}
	if preset, ok := accesslog.Presets[strings.ToLower(format)]; ok {
		set.Format = preset
	}
	if err := accesslog.Validate(protocol, set); err != nil {
		b.fail("%s: %s: %v", id, prop, err)
		return nil
	}
	return &AccessLogSettings{DestinationArn: dest, Format: format}
}

// number reads a template number: a YAML or JSON number, or its text (a
// parameter's value).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return n, err == nil && !math.IsNaN(n)
	}
	return 0, false
}

// zeroOrMissing reports whether m has no key k, or a number 0 under it.
func zeroOrMissing(m map[string]any, k string) bool {
	v, set := m[k]
	n, isNum := number(v)
	return !set || (isNum && n == 0)
}

// boolean reads a template boolean: true or false, or its text.
func boolean(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// eventRouteSettings merges the RouteSettings of the API's HttpApi events
// into its stage's, as SAM's implicit HTTP API plugin does
// (_add_route_settings_to_api): each under its route key ("GET /pets", "ANY
// /pets", "$default" for an event without Path and Method), the event's
// fields over the API's.
func (b *builder) eventRouteSettings(a *API, props map[string]any) {
	api, _ := props["RouteSettings"].(map[string]any)
	for _, r := range b.eventRoutes[a.LogicalID] {
		if r.routeSettings == nil {
			continue
		}
		key := r.method + " " + r.path
		if r.method == "" && r.path == "" {
			key = apis.RouteDefault
		}
		m, ok := r.routeSettings.(map[string]any)
		if !ok {
			b.fail("%s: RouteSettings must be a mapping (ThrottlingBurstLimit, ThrottlingRateLimit, DetailedMetricsEnabled)", r.where)
			continue
		}
		merged := map[string]any{}
		if am, ok := api[key].(map[string]any); ok {
			maps.Copy(merged, am)
		}
		maps.Copy(merged, m)
		rs, ok := b.routeSettings(r.where+": RouteSettings", merged)
		if !ok {
			continue
		}
		if a.HTTPStage == nil {
			a.HTTPStage = &HTTPStage{}
		}
		if a.HTTPStage.RouteSettings == nil {
			a.HTTPStage.RouteSettings = map[string]RouteSettings{}
		}
		a.HTTPStage.RouteSettings[key] = rs
	}
}

// unquote strips SAM's single quotes from a Cors value ("'*'").
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

// restCORS adds SAM's CORS preflight to a REST API: an OPTIONS method with a
// MOCK integration on each path, answering with the configured headers.
func (b *builder) restCORS(id string, v any, doc map[string]any) {
	origin, methods, headers, maxAge, creds := "", "", "", "", false
	switch c := v.(type) {
	case string:
		origin = unquote(c)
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(c)) {
			switch k {
			case "AllowOrigin", "AllowMethods", "AllowHeaders", "MaxAge", "AllowCredentials":
			default:
				// SAM refuses it too ("Invalid value for 'Cors' property").
				b.fail("%s: Cors.%s is refused: Cors takes AllowOrigin, AllowMethods, AllowHeaders, MaxAge and AllowCredentials", id, k)
				return
			}
		}
		origin = "'*'" // SAM's default
		if _, ok := c["AllowOrigin"]; ok {
			origin = b.str(id+": Cors", c, "AllowOrigin")
		}
		methods = b.str(id+": Cors", c, "AllowMethods")
		headers = b.str(id+": Cors", c, "AllowHeaders")
		if m, ok := c["MaxAge"]; ok {
			maxAge = unquote(fmt.Sprint(m))
		}
		creds, _ = b.boolean(id+": Cors", c, "AllowCredentials")
		origin, methods, headers = unquote(origin), unquote(methods), unquote(headers)
	default:
		b.fail("%s: Cors must be an origin or a mapping", id)
		return
	}
	if origin == "" {
		b.fail("%s: Cors needs AllowOrigin", id)
		return
	}
	if creds && origin == "*" {
		b.fail("%s: Cors: AllowCredentials cannot be true when AllowOrigin is '*' or not set (as SAM refuses it)", id)
		return
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[p].(map[string]any)
		if item == nil || strings.HasPrefix(p, "x-") {
			continue // an extension of paths is no path
		}
		if _, ok := item["options"]; ok {
			continue
		}
		ms := methods
		if ms == "" {
			var list []string
			for _, m := range slices.Sorted(maps.Keys(item)) {
				if m == "x-amazon-apigateway-any-method" {
					list = []string{"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"}
					break
				}
				if !strings.HasPrefix(m, "x-") && m != "parameters" {
					list = append(list, strings.ToUpper(m))
				}
			}
			ms = strings.Join(append(list, "OPTIONS"), ",")
		}
		params := map[string]any{
			"method.response.header.Access-Control-Allow-Origin":  "'" + origin + "'",
			"method.response.header.Access-Control-Allow-Methods": "'" + ms + "'",
		}
		hdrs := map[string]any{
			"Access-Control-Allow-Origin":  map[string]any{"schema": map[string]any{"type": "string"}},
			"Access-Control-Allow-Methods": map[string]any{"schema": map[string]any{"type": "string"}},
		}
		if headers != "" {
			params["method.response.header.Access-Control-Allow-Headers"] = "'" + headers + "'"
			hdrs["Access-Control-Allow-Headers"] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		if maxAge != "" {
			params["method.response.header.Access-Control-Max-Age"] = "'" + maxAge + "'"
			hdrs["Access-Control-Max-Age"] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		if creds {
			params["method.response.header.Access-Control-Allow-Credentials"] = "'true'"
			hdrs["Access-Control-Allow-Credentials"] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		item["options"] = map[string]any{
			"summary":   "CORS support",
			"responses": map[string]any{"200": map[string]any{"description": "Default response for CORS method", "headers": hdrs}},
			"x-amazon-apigateway-integration": map[string]any{
				"type":             "mock",
				"requestTemplates": map[string]any{"application/json": `{"statusCode": 200}`},
				"responses":        map[string]any{"default": map[string]any{"statusCode": "200", "responseParameters": params}},
			},
		}
	}
}

// httpCORS sets an HTTP API's CORS configuration.
func (b *builder) httpCORS(id string, v any, doc map[string]any) {
	switch c := v.(type) {
	case bool:
		if c {
			doc["x-amazon-apigateway-cors"] = map[string]any{"allowOrigins": []any{"*"}, "allowMethods": []any{"*"}, "allowHeaders": []any{"*"}}
		}
	case map[string]any:
		out := map[string]any{}
		names := map[string]string{"AllowOrigins": "allowOrigins", "AllowMethods": "allowMethods", "AllowHeaders": "allowHeaders",
			"ExposeHeaders": "exposeHeaders", "MaxAge": "maxAge", "AllowCredentials": "allowCredentials"}
		for _, k := range slices.Sorted(maps.Keys(c)) {
			n, ok := names[k]
			if !ok {
				// SAM refuses it too ("Invalid value for 'Cors' property").
				b.fail("%s: CorsConfiguration.%s is refused: it takes AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders, MaxAge and AllowCredentials", id, k)
				return
			}
			out[n] = c[k]
		}
		if out["allowCredentials"] == true {
			if o, _ := out["allowOrigins"].([]any); len(o) == 0 || slices.Contains(o, any("*")) {
				b.fail("%s: CorsConfiguration: AllowCredentials cannot be true when AllowOrigins is '*' or not set (as SAM refuses it)", id)
				return
			}
		}
		doc["x-amazon-apigateway-cors"] = out
	default:
		b.fail("%s: CorsConfiguration must be true or a mapping", id)
	}
}

// v2API reads an AWS::ApiGatewayV2::Api of protocol WEBSOCKET (or HTTP:
// v2HTTPAPI).
func (b *builder) v2API(id string, props map[string]any) {
	if strings.EqualFold(stringOf(props["ProtocolType"]), apis.ProtocolHTTP) {
		b.v2HTTPAPI(id, props)
		return
	}
	b.unsupported(id, TypeV2API, props)
	if pt := b.str(id, props, "ProtocolType"); pt != "WEBSOCKET" {
		b.fail("%s (%s): ProtocolType %q is not supported; use WEBSOCKET or HTTP", id, TypeV2API, pt)
		return
	}
	a := &API{LogicalID: id, Protocol: apis.ProtocolWebSocket, Name: b.t.stack + "-" + id, RouteSelection: routeselect.Default}
	if n := b.str(id, props, "Name"); n != "" {
		a.Name = n
	}
	if s := b.str(id, props, "RouteSelectionExpression"); s != "" {
		a.RouteSelection = s
	}
	b.wsKeySelection(id, props, a)
	a.EndpointOff, _ = b.boolean(id, props, "DisableExecuteApiEndpoint")
	for _, r := range b.eventRoutes["ws:"+id] {
		a.Routes = append(a.Routes, WSRoute{Key: r.path, URI: r.uri, Type: apis.IntegrationAWSProxy})
	}
	b.d.APIs[id] = a
}

func (b *builder) v2Integration(id string, props map[string]any) {
	if b.isHTTPV2(props) {
		b.httpV2Check(id, TypeV2Integration, props)
	} else {
		b.unsupported(id, TypeV2Integration, props)
	}
	b.wsIntegrations[id] = props
}

// wsCustom is a route's authorization type with a Lambda authorizer.
const wsCustom = "CUSTOM"

// wsAuthorizer is an AWS::ApiGatewayV2::Authorizer: its API and the name of
// the security scheme it is on that API.
type wsAuthorizer struct{ api, name string }

// v2Ref returns the logical id v names: !Ref X, or !GetAtt X.attr.
func v2Ref(v any, attr string) string {
	s, _ := v.(string)
	m := tokenPattern.FindStringSubmatch(s)
	if m == nil || m[0] != s || (m[2] != "" && m[2] != attr) {
		return ""
	}
	return m[1]
}

// v2Authorizer reads an AWS::ApiGatewayV2::Authorizer of a WebSocket API: a
// Lambda REQUEST authorizer, which the gateway runs on $connect.
func (b *builder) v2Authorizer(id string, props map[string]any) {
	api, a := b.wsAPI(id, TypeV2Authorizer, props)
	if a == nil {
		return
	}
	where := id + " (" + TypeV2Authorizer + ")"
	if a.V2 != nil {
		if doc, name := b.httpV2Authorizer(id, api, a, props); doc != nil {
			b.addV2Authorizer(where, id, api, a, name, doc)
		}
		return
	}
	if typ := b.str(where, props, "AuthorizerType"); typ != apis.AuthorizerRequest {
		b.fail("%s: AuthorizerType %q is refused: a WebSocket API's authorizers are Lambda REQUEST authorizers", where, typ)
		return
	}
	name := b.str(where, props, "Name")
	uri := b.str(where, props, "AuthorizerUri")
	if !b.authorizerName(where, api, name) {
		return
	}
	if uri == "" || tokenPattern.MatchString(uri) {
		b.fail("%s: AuthorizerUri %q must name a function; use !Sub with ${Function.Arn}", where, uri)
		return
	}
	sources, ok := b.identitySources(where, props, "route.request.header.NAME, route.request.querystring.NAME")
	if !ok {
		return
	}
	doc, err := json.Marshal(map[string]any{"type": "apiKey", "name": "Authorization", "in": "header",
		"x-amazon-apigateway-authtype": "custom",
		"x-amazon-apigateway-authorizer": map[string]any{"type": "request", "authorizerUri": uri,
			"identitySource": strings.Join(sources, ",")}})
	if err != nil {
		b.fail("%s: %v", where, err)
		return
	}
	b.addV2Authorizer(where, id, api, a, name, doc)
}

// authorizerName checks the Name of an authorizer of api: required, not the
// IAM scheme's, and not another authorizer's.
func (b *builder) authorizerName(where, api, name string) bool {
	switch name {
	case "":
		b.fail("%s: Name is required", where)
		return false
	case wsIAMScheme:
		b.fail("%s: Name %q is the name Portico gives the IAM scheme of AWS_IAM routes; choose another", where, name)
		return false
	}
	for other, au := range b.wsAuthorizers {
		if au.api == api && au.name == name {
			b.fail("%s: API %s already has an authorizer named %s (%s)", where, api, name, other)
			return false
		}
	}
	return true
}

// addV2Authorizer puts the security scheme doc of authorizer id on API a
// (api) under name; an HTTP API's name is checked here (a WebSocket API's
// before its scheme is made).
func (b *builder) addV2Authorizer(where, id, api string, a *API, name string, doc json.RawMessage) {
	if a.V2 != nil && !b.authorizerName(where, api, name) {
		return
	}
	if a.Authorizers == nil {
		a.Authorizers = map[string]json.RawMessage{}
	}
	a.Authorizers[name] = doc
	b.wsAuthorizers[id] = wsAuthorizer{api: api, name: name}
}

// v2IntegrationResponse reads an AWS::ApiGatewayV2::IntegrationResponse of
// an integration of the template.
func (b *builder) v2IntegrationResponse(id string, props map[string]any) {
	api, a := b.wsAPI(id, TypeV2IntegrationResponse, props)
	if a == nil {
		return
	}
	where := id + " (" + TypeV2IntegrationResponse + ")"
	integID := v2Ref(props["IntegrationId"], "IntegrationId")
	integ, ok := b.wsIntegrations[integID]
	if !ok || v2Ref(integ["ApiId"], "ApiId") != api {
		b.fail("%s: IntegrationId must be !Ref to an AWS::ApiGatewayV2::Integration of API %s", where, api)
		return
	}
	switch typ := strings.ToUpper(b.str(integID, integ, "IntegrationType")); typ {
	case apis.IntegrationAWSProxy, apis.IntegrationHTTPProxy:
		b.fail("%s: integration %s is %s: a proxy integration's answer passes through as it is, and no integration response would apply", where, integID, typ)
		return
	}
	key := b.str(where, props, "IntegrationResponseKey")
	pattern := "default"
	if key != apis.RouteDefault {
		p, ok := strings.CutPrefix(key, "/")
		p, ok2 := strings.CutSuffix(p, "/")
		if !ok || !ok2 || p == "" {
			b.fail("%s: IntegrationResponseKey %q must be $default or a status pattern between slashes, such as /4\\d{2}/", where, key)
			return
		}
		pattern = p
	}
	// WebSocket integration responses have no status; the model wants one,
	// as apigatewayv2's create-integration-response gives it; the gateway
	// never answers with it (the integration's own status stays).
	ir := apis.IntegrationResponse{StatusCode: "200", TemplateSelectionExpression: b.str(where, props, "TemplateSelectionExpression")}
	if m, ok := b.stringMap(where, props, "ResponseTemplates"); ok {
		ir.ResponseTemplates = m
	} else {
		return
	}
	if b.wsIntegResponses[integID] == nil {
		b.wsIntegResponses[integID] = map[string]apis.IntegrationResponse{}
	}
	if _, dup := b.wsIntegResponses[integID][pattern]; dup {
		b.fail("%s: integration %s already has an integration response keyed %s", where, integID, key)
		return
	}
	b.wsIntegResponses[integID][pattern] = ir
}

// v2RouteResponse reads an AWS::ApiGatewayV2::RouteResponse: the $default
// route response of a two-way route.
func (b *builder) v2RouteResponse(id string, props map[string]any) {
	api, a := b.wsAPI(id, TypeV2RouteResponse, props)
	if a == nil {
		return
	}
	where := id + " (" + TypeV2RouteResponse + ")"
	route := v2Ref(props["RouteId"], "RouteId")
	if r, ok := b.t.Resources[route]; !ok || r.Type != TypeV2Route || v2Ref(r.Properties["ApiId"], "ApiId") != api {
		b.fail("%s: RouteId must be !Ref to an AWS::ApiGatewayV2::Route of API %s", where, api)
		return
	}
	if key := b.str(where, props, "RouteResponseKey"); key != apis.RouteDefault {
		b.fail("%s: RouteResponseKey %q is refused: Portico's routes answer with the $default route response only", where, key)
		return
	}
	if b.wsRouteResponses[route] {
		b.fail("%s: route %s already has a $default route response", where, route)
		return
	}
	b.wsRouteResponses[route] = true
}

// stringMap returns property k of props as a mapping of strings (nil, true
// when it is not set), or fails the build naming where and k.
func (b *builder) stringMap(where string, props map[string]any, k string) (map[string]string, bool) {
	raw, ok := b.mapping(where, props, k, "names to strings")
	if !ok || raw == nil {
		return nil, ok
	}
	out := make(map[string]string, len(raw))
	for n, v := range raw {
		s, isStr := v.(string)
		if !isStr {
			b.fail("%s: %s %s must be a string, not %s", where, k, n, shape(v))
			return nil, false
		}
		out[n] = s
	}
	return out, true
}

// wsAPI returns the WebSocket API of the template that the ApiId of resource id
// (of type typ) names, or fails the build and returns nil.
func (b *builder) wsAPI(id, typ string, props map[string]any) (string, *API) {
	if b.isHTTPV2(props) {
		return b.httpV2API(id, typ, props)
	}
	b.unsupported(id, typ, props)
	api := v2Ref(props["ApiId"], "ApiId")
	a, ok := b.d.APIs[api]
	if !ok || a.Protocol != apis.ProtocolWebSocket {
		b.fail("%s (%s): ApiId must be !Ref to an AWS::ApiGatewayV2::Api (WEBSOCKET or HTTP) of the template", id, typ)
		return "", nil
	}
	return api, a
}

func (b *builder) v2Route(id string, props map[string]any) {
	api, a := b.wsAPI(id, TypeV2Route, props)
	if a == nil {
		return
	}
	where := id + " (" + TypeV2Route + ")"
	key := b.str(id, props, "RouteKey")
	if key == "" {
		b.fail("%s: RouteKey is required", where)
		return
	}
	target := b.str(id, props, "Target")
	integID := v2Ref(strings.TrimPrefix(target, "integrations/"), "IntegrationId")
	integ, ok := b.wsIntegrations[integID]
	if !strings.HasPrefix(target, "integrations/") || !ok {
		b.fail("%s: Target must be integrations/ followed by !Ref to an AWS::ApiGatewayV2::Integration of the template, not %q", where, target)
		return
	}
	if v2Ref(integ["ApiId"], "ApiId") != api {
		b.fail("%s: integration %s (%s): its ApiId names another API than the route's", where, integID, TypeV2Integration)
		return
	}
	r := WSRoute{Key: key, OperationName: b.str(id, props, "OperationName")}
	if a.V2 != nil {
		if b.httpV2Route(id, api, props, &r) && b.httpV2Integration(integID, integ, &r) {
			a.Routes = append(a.Routes, r)
		}
		return
	}
	if !b.wsRouteKeyRequired(where, key, props, &r) || !b.wsRouteAuth(id, api, key, props, &r) || !b.wsRouteParameters(where, props, &r) ||
		!b.wsIntegration(integID, integ, &r) {
		return
	}
	switch rr := b.str(id, props, "RouteResponseSelectionExpression"); rr {
	case "":
	case apis.RouteDefault:
		r.TwoWay = true
	default:
		b.fail("%s: RouteResponseSelectionExpression %q is refused: it takes $default (a two-way route), as API Gateway's WebSocket routes do", where, rr)
		return
	}
	r.RouteResponse = b.wsRouteResponses[id]
	if r.RouteResponse && !r.TwoWay {
		b.fail("%s: it has a route response but no RouteResponseSelectionExpression: set it to $default to send the integration's answer back, or remove the route response", where)
		return
	}
	a.Routes = append(a.Routes, r)
	if b.wsRouteOwners == nil {
		b.wsRouteOwners = map[string]map[string]string{}
	}
	if b.wsRouteOwners[api] == nil {
		b.wsRouteOwners[api] = map[string]string{}
	}
	b.wsRouteOwners[api][key] = fmt.Sprintf("route %q is %s (%s), its integration %s (%s)", key, id, TypeV2Route, integID, TypeV2Integration)
}

// wsRouteKeyPattern finds the route an error of the gateway's model names.
var wsRouteKeyPattern = regexp.MustCompile(`route ("(?:[^"\\]|\\.)*")`)

// wsOwners is what to add to err, an error of the gateway's model of WebSocket
// API api, so that it names the template's resources: the logical ids of the
// route it names and of the route's integration ("" when it names none of
// the template's routes).
func (b *builder) wsOwners(api string, err error) string {
	m := wsRouteKeyPattern.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	key, uerr := strconv.Unquote(m[1])
	if owner := b.wsRouteOwners[api][key]; uerr == nil && owner != "" {
		return " (" + owner + ")"
	}
	return ""
}

// wsRouteAuth reads a WebSocket route's AuthorizationType and AuthorizerId
// into r: NONE, AWS_IAM, or CUSTOM with an authorizer of the route's API.
func (b *builder) wsRouteAuth(id, api, key string, props map[string]any, r *WSRoute) bool {
	where := id + " (" + TypeV2Route + ")"
	at := strings.ToUpper(b.str(id, props, "AuthorizationType"))
	authorizer, hasAuthorizer := props["AuthorizerId"]
	if hasAuthorizer && at != wsCustom {
		b.fail("%s: AuthorizerId needs AuthorizationType CUSTOM, not %q", where, at)
		return false
	}
	switch at {
	case "", "NONE":
		return true
	case apis.AuthorizerIAM, wsCustom:
	default:
		b.fail("%s: AuthorizationType %s is refused: a WebSocket route takes NONE, AWS_IAM or CUSTOM (a Lambda REQUEST authorizer)", where, at)
		return false
	}
	if key != apis.RouteConnect {
		b.fail("%s: AuthorizationType %s is refused on route %s: a WebSocket API authorizes $connect only", where, at, key)
		return false
	}
	r.Authorization = at
	a := b.d.APIs[api]
	if at == apis.AuthorizerIAM {
		if a.Authorizers == nil {
			a.Authorizers = map[string]json.RawMessage{}
		}
		a.Authorizers[wsIAMScheme] = json.RawMessage(wsIAMSchemeDoc)
		return true
	}
	au, ok := b.wsAuthorizers[v2Ref(authorizer, "AuthorizerId")]
	if !ok || au.api != api {
		b.fail("%s: AuthorizationType CUSTOM needs AuthorizerId: !Ref to an AWS::ApiGatewayV2::Authorizer of API %s", where, api)
		return false
	}
	r.Authorizer = au.name
	return true
}

// wsRouteParameters reads a WebSocket route's RequestParameters
// (route.request.header.NAME or route.request.querystring.NAME to
// {Required: bool}) into r.
func (b *builder) wsRouteParameters(where string, props map[string]any, r *WSRoute) bool {
	m, ok := b.mapping(where, props, "RequestParameters", "route.request.header.NAME or route.request.querystring.NAME to {Required: true|false}")
	if !ok {
		return false
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		var p apis.Parameter
		if n, ok := strings.CutPrefix(k, "route.request.header."); ok && n != "" {
			p = apis.Parameter{Name: n, In: "header"}
		} else if n, ok := strings.CutPrefix(k, "route.request.querystring."); ok && n != "" {
			p = apis.Parameter{Name: n, In: "query"}
		} else {
			b.fail("%s: RequestParameters %q must be route.request.header.NAME or route.request.querystring.NAME", where, k)
			return false
		}
		c, isMap := m[k].(map[string]any)
		if !isMap && m[k] != nil {
			b.fail("%s: RequestParameters %s must be a mapping such as {Required: true}, not %s", where, k, shape(m[k]))
			return false
		}
		for ck := range c {
			if ck != "Required" {
				b.fail("%s: RequestParameters %s: %s is refused: Portico knows Required", where, k, ck)
				return false
			}
		}
		if c != nil {
			req, set := b.boolean(where+" RequestParameters "+k, c, "Required")
			if c["Required"] != nil && !set {
				return false
			}
			p.Required = req
		}
		r.Parameters = append(r.Parameters, p)
	}
	return true
}

// wsIntegration reads the integration integID that a route targets into r.
// The gateway's model then checks the whole (check): what it refuses (such
// as requestParameters on a non-proxy AWS integration) fails the deploy
// before any change.
func (b *builder) wsIntegration(integID string, integ map[string]any, r *WSRoute) bool {
	where := integID + " (" + TypeV2Integration + ")"
	r.Type = strings.ToUpper(b.str(integID, integ, "IntegrationType"))
	r.URI = b.str(integID, integ, "IntegrationUri")
	switch r.Type {
	case apis.IntegrationAWSProxy, apis.IntegrationHTTPProxy, apis.IntegrationMock, apis.IntegrationHTTP, apis.IntegrationAWS:
	default:
		b.fail("%s: IntegrationType %q is not supported; use AWS_PROXY, AWS, HTTP_PROXY, HTTP or MOCK", where, r.Type)
		return false
	}
	if tokenPattern.MatchString(r.URI) {
		b.fail("%s: IntegrationUri %q names something Portico cannot resolve; use !Sub with ${Function.Arn}", where, r.URI)
		return false
	}
	var ok bool
	if r.RequestParameters, ok = b.stringMap(where, integ, "RequestParameters"); !ok {
		return false
	}
	if r.RequestTemplates, ok = b.stringMap(where, integ, "RequestTemplates"); !ok {
		return false
	}
	r.Method = strings.ToUpper(b.str(where, integ, "IntegrationMethod"))
	r.TemplateSelection = b.str(where, integ, "TemplateSelectionExpression")
	r.Passthrough = strings.ToUpper(b.str(where, integ, "PassthroughBehavior"))
	if r.TimeoutInMillis, ok = b.timeoutMillis(where, integ, apis.MaxTimeoutMillis); !ok {
		return false
	}
	r.Responses = b.wsIntegResponses[integID]
	return true
}

func (b *builder) v2Stage(id string, props map[string]any) {
	api, a := b.wsAPI(id, TypeV2Stage, props)
	if a == nil {
		return
	}
	name := b.str(id, props, "StageName")
	if name == "" {
		b.fail("%s (%s): StageName is required", id, TypeV2Stage)
		return
	}
	if a.Stage != "" {
		b.fail("%s (%s): API %s already has stage %s; Portico deploys one stage per API of a template", id, TypeV2Stage, api, a.Stage)
		return
	}
	a.Stage = name
	a.Pinned = b.v2Deployment(id, api, name, props)
	a.AutoDeploy = a.Pinned == ""
	if v, ok := props["StageVariables"].(map[string]any); ok {
		a.Variables = map[string]string{}
		for k, x := range v {
			a.Variables[k] = fmt.Sprint(x)
		}
	}
	if a.V2 != nil {
		// An HTTP API's route settings and access log, as an HttpApi's.
		a.HTTPStage = b.httpStage(id, props, apis.ProtocolHTTP)
		return
	}
	// DefaultRouteSettings and RouteSettings throttle the stage's routes
	// (the gateway enforces them on $connect, messages and $disconnect);
	// AccessLogSettings log each of them, as apigatewayv2 update-stage sets
	// them.
	a.HTTPStage = b.httpStage(id, props, apis.ProtocolWebSocket)
}

// v2Deployment returns the AWS::ApiGatewayV2::Deployment that stage
// (resource id) of HTTP or WebSocket API api serves when it does not deploy
// automatically: the one its DeploymentId names or whose StageName names
// the stage ("" with AutoDeploy: true). API Gateway moves such a stage only
// when that Deployment is made, so a change ships with a Deployment of a
// new logical id; a stage with neither serves nothing there, and is
// refused here, as are two Deployments naming it.
func (b *builder) v2Deployment(id, api, stage string, props map[string]any) string {
	where := id + " (" + TypeV2Stage + ")"
	if auto, _ := b.boolean(where, props, "AutoDeploy"); auto {
		return ""
	}
	found := map[string]bool{}
	if v, set := props["DeploymentId"]; set {
		dep := v2Ref(v, "DeploymentId")
		r := b.t.Resources[dep]
		if r == nil || r.Type != TypeV2Deployment || v2Ref(r.Properties["ApiId"], "ApiId") != api {
			b.fail("%s: DeploymentId must be !Ref to an AWS::ApiGatewayV2::Deployment of API %s", where, api)
			return ""
		}
		found[dep] = true
	}
	for dep, r := range b.t.Resources {
		if r.Type == TypeV2Deployment && v2Ref(r.Properties["ApiId"], "ApiId") == api && stringOf(r.Properties["StageName"]) == stage {
			found[dep] = true
		}
	}
	deps := slices.Sorted(maps.Keys(found))
	switch len(deps) {
	case 1:
		return deps[0]
	case 0:
		b.fail("%s: stage %s has no AutoDeploy and no AWS::ApiGatewayV2::Deployment, so on API Gateway it would serve nothing: "+
			"set AutoDeploy: true (every change is deployed), or add a Deployment with StageName: %s (or name it in DeploymentId) "+
			"and give it a new logical id to deploy a change", where, stage, stage)
	default:
		b.fail("%s: Deployments %s all name stage %s, which serves one: keep one (a new logical id deploys a change)", where, strings.Join(deps, ", "), stage)
	}
	return ""
}

// marshalDoc is the document as the import routes take it.
func marshalDoc(doc map[string]any) ([]byte, error) { return json.Marshal(doc) }
