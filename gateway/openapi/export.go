package openapi

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// Export formats.
const (
	FormatOAS3     = "oas3"
	FormatSwagger2 = "swagger2"
)

// Export renders an API as an OpenAPI 3.0.1 (FormatOAS3, the default) or Swagger
// 2.0 document, indented JSON, with the x-amazon-apigateway-* extensions. Import
// of an OpenAPI 3 export gives the same API; so does import of a Swagger 2.0
// export, except for what ExportWithWarnings warns of.
func Export(a *apis.API, format string) ([]byte, error) {
	out, _, err := ExportWithWarnings(a, format)
	return out, err
}

// ExportWithWarnings is Export that also returns, as warnings, what the
// format cannot say of the API and so leaves out or says differently (Swagger
// 2.0 has one body schema per operation and one schema per response, no
// required response headers and no components object), each naming the
// route and what an import of the document would make of it. Surfaces pass
// them on as an import's warnings are (the admin API in Warning headers, the
// CLI on stderr).
func ExportWithWarnings(a *apis.API, format string) ([]byte, []string, error) {
	return export(a, format, nil)
}

// Server is where a stage serves an API: the gateway's base URL
// (scheme://host[:port]), the domain of its host-based URLs
// ({apiId}.Domain, as gateway.Config.Domain; empty: none) and the stage's
// name.
type Server struct {
	Base, Domain, Stage string
}

// ExportStage is ExportWithWarnings for what stage sv.Stage serves: the
// document also carries the stage's URL, as API Gateway's exports of a stage
// do: OpenAPI 3 servers (url BASE/APIID/{basePath}, the basePath variable's
// default the stage), Swagger 2.0 host, basePath and schemes. Swagger 2.0 has
// no server variables, so, as API Gateway's export does (host
// APIID.execute-api.REGION.amazonaws.com, basePath /STAGE), its host is the
// stage's host-based URL's (APIID.DOMAIN[:PORT]) and its basePath the stage
// alone: both formats' base path is the stage, which an import with
// basepath=split leaves out and basepath=prepend puts before each path.
// Without a Domain, the Swagger 2.0 basePath is the path-based /APIID/STAGE.
func ExportStage(a *apis.API, format string, sv Server) ([]byte, []string, error) {
	return export(a, format, &sv)
}

func export(a *apis.API, format string, sv *Server) ([]byte, []string, error) {
	var swagger2 bool
	switch format {
	case "", FormatOAS3, "oas30", "openapi3":
	case FormatSwagger2, "swagger":
		swagger2 = true
	default:
		return nil, nil, fmt.Errorf("export format %q must be oas3 or swagger2: %w", format, errdefs.ErrInvalid)
	}
	if a.Protocol == apis.ProtocolWebSocket {
		return nil, nil, fmt.Errorf("WEBSOCKET APIs have no OpenAPI form: %w", errdefs.ErrInvalid)
	}
	if a.Protocol == apis.ProtocolHTTP {
		for i := range a.Routes {
			if r := &a.Routes[i]; r.Path == defaultPath {
				// Stored by an older build, which took the path: its export
				// would be merged with (or refused as) the $default route.
				return nil, nil, fmt.Errorf("route %q cannot be exported: its path %s is where the document puts the $default route, so an import would take it for that route; change its route key (update-route --route-key) to another path, or delete it, and export again: %w",
					r.RouteKey, defaultPath, errdefs.ErrInvalid)
			}
		}
	}
	ex := &exporter{swagger2: swagger2, protocol: a.Protocol}
	doc := ex.doc(a)
	if sv != nil {
		putServer(doc, swagger2, a.ID, *sv)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return append(out, '\n'), ex.warnings, nil
}

// putServer puts the stage URL into doc, as API Gateway's exports of a stage
// carry it. An HTTP API's $default stage is served at BASE/APIID/ (Swagger
// 2.0: basePath /).
func putServer(doc map[string]any, swagger2 bool, apiID string, sv Server) {
	base := strings.TrimSuffix(sv.Base, "/")
	if swagger2 {
		scheme, host, ok := strings.Cut(base, "://")
		if !ok {
			return
		}
		bp := "/" + apiID
		if sv.Domain != "" {
			// The host-based URL: http://APIID.DOMAIN:PORT/STAGE/.
			bp = ""
			name := apiID + "." + sv.Domain
			if _, port, err := net.SplitHostPort(host); err == nil {
				host = net.JoinHostPort(name, port)
			} else {
				host = name
			}
		}
		if sv.Stage != apis.RouteDefault {
			bp += "/" + sv.Stage
		}
		doc["host"], doc["basePath"], doc["schemes"] = host, cmp.Or(bp, "/"), []string{scheme}
		return
	}
	if sv.Stage == apis.RouteDefault {
		doc["servers"] = []any{map[string]any{"url": base + "/" + apiID + "/"}}
		return
	}
	doc["servers"] = []any{map[string]any{"url": base + "/" + apiID + "/{basePath}",
		"variables": map[string]any{"basePath": map[string]any{"default": sv.Stage}}}}
}

// exporter writes one document and gathers what it cannot say.
type exporter struct {
	swagger2 bool
	// protocol is the API's: how its function integrations' URIs are
	// reported (apis.ReportedURI).
	protocol string
	warnings []string
}

func (ex *exporter) warn(format string, args ...any) {
	ex.warnings = append(ex.warnings, fmt.Sprintf(format, args...))
}

// swagger2Scheme is security scheme raw as Swagger 2.0 has it. An oauth2
// scheme of a JWT authorizer (API Gateway's form: the authorizer in
// x-amazon-apigateway-authorizer) has no OAuth 2 flow, and OpenAPI 3's flows
// is no Swagger 2.0 field: it is written with the implicit flow Swagger 2.0
// requires, to placeholderAuthorizationURL, which import reads as no flow.
func (ex *exporter) swagger2Scheme(name string, raw json.RawMessage) any {
	var s map[string]json.RawMessage
	if json.Unmarshal(raw, &s) != nil || s == nil {
		return raw
	}
	var typ string
	_ = json.Unmarshal(s["type"], &typ)
	if typ != "oauth2" || s["flow"] != nil || s[extAuthorizer] == nil {
		return raw
	}
	if f := string(s["flows"]); f != "" && f != "{}" {
		ex.warn("securityDefinitions.%s: the scheme's OpenAPI 3 flows are left out: its authorizer (x-amazon-apigateway-authorizer) is what is enforced (export as oas3 to keep them)", name)
	}
	delete(s, "flows")
	s["flow"] = json.RawMessage(`"implicit"`)
	s["authorizationUrl"], _ = json.Marshal(placeholderAuthorizationURL)
	if s["scopes"] == nil {
		s["scopes"] = json.RawMessage(`{}`)
	}
	out, _ := json.Marshal(s)
	return json.RawMessage(out)
}

// oas3Scheme is security scheme raw as OpenAPI 3 has it: an oauth2 scheme
// of an authorizer (a JWT authorizer imported from Swagger 2.0, whose
// placeholder flow import drops) gets the flows OpenAPI 3 requires, empty,
// as API Gateway's export writes them.
func oas3Scheme(raw json.RawMessage) any {
	var s map[string]json.RawMessage
	if json.Unmarshal(raw, &s) != nil || s == nil {
		return raw
	}
	var typ string
	_ = json.Unmarshal(s["type"], &typ)
	if typ != "oauth2" || s["flows"] != nil || s[extAuthorizer] == nil {
		return raw
	}
	s["flows"] = json.RawMessage(`{}`)
	out, _ := json.Marshal(s)
	return json.RawMessage(out)
}

func (ex *exporter) doc(a *apis.API) map[string]any {
	swagger2 := ex.swagger2
	doc := map[string]any{}
	version := a.Version
	if version == "" && !a.CreatedAt.IsZero() {
		// As API Gateway's exports do, an API given no version exports its
		// creation time.
		version = a.CreatedAt.UTC().Format(time.RFC3339)
	}
	info := map[string]any{"title": a.Name, "version": version}
	if a.Description != "" {
		info["description"] = a.Description
	}
	putExtensions(info, a.InfoExtensions)
	doc["info"] = info
	models := map[string]any{}
	for name, raw := range a.Models {
		if a.Protocol == apis.ProtocolREST && a.IsUnusedDefaultModel(name) {
			continue
		}
		// The canonical references API Gateway requires in a model become
		// the document's own, as API Gateway's export writes them.
		if swagger2 {
			raw = rewriteRefs(raw, "#/components/schemas/", "#/definitions/")
			raw = rewriteModelURLs(raw, a.ID, "#/definitions/")
		} else {
			raw = rewriteModelURLs(raw, a.ID, "#/components/schemas/")
		}
		models[name] = json.RawMessage(raw)
	}
	schemes := map[string]any{}
	for name, raw := range a.Authorizers {
		schemes[name] = apis.ReportedScheme(raw)
	}
	if swagger2 {
		doc["swagger"] = "2.0"
		for _, k := range slices.Sorted(maps.Keys(a.ComponentsExtensions)) {
			ex.warn("components.%s is left out: Swagger 2.0 has no components object (export as oas3 to keep it)", k)
		}
		if len(models) > 0 {
			doc["definitions"] = models
		}
		for _, name := range slices.Sorted(maps.Keys(schemes)) {
			schemes[name] = ex.swagger2Scheme(name, schemes[name].(json.RawMessage))
		}
		if len(schemes) > 0 {
			doc["securityDefinitions"] = schemes
		}
	} else {
		doc["openapi"] = "3.0.1"
		for name, raw := range schemes {
			schemes[name] = oas3Scheme(raw.(json.RawMessage))
		}
		comps := map[string]any{}
		if len(models) > 0 {
			comps["schemas"] = models
		}
		if len(schemes) > 0 {
			comps["securitySchemes"] = schemes
		}
		putExtensions(comps, a.ComponentsExtensions)
		if len(comps) > 0 {
			doc["components"] = comps
		}
	}
	if a.Protocol == apis.ProtocolHTTP && len(a.Tags) > 0 {
		// An HTTP API's resource tags, as its import reads them.
		tags := []any{}
		for _, k := range slices.Sorted(maps.Keys(a.Tags)) {
			tags = append(tags, map[string]any{"name": k, extTagValue: a.Tags[k]})
		}
		doc["tags"] = tags
	}
	if len(a.BinaryMediaTypes) > 0 {
		doc[extBinaryMediaTypes] = a.BinaryMediaTypes
	}
	if a.APIKeySource != "" {
		doc[extAPIKeySource] = a.APIKeySource
	}
	if a.MinimumCompressionSize != nil {
		doc[extMinCompression] = *a.MinimumCompressionSize
	}
	if len(a.RequestValidators) > 0 {
		doc[extRequestValidators] = a.RequestValidators
	}
	if a.RequestValidator != "" {
		doc[extRequestValidator] = a.RequestValidator
	}
	if a.CORS != nil {
		doc[extCORS] = a.CORS
	}
	if len(a.GatewayResponses) > 0 {
		doc[extGatewayResponses] = a.GatewayResponses
	}
	if a.Protocol == apis.ProtocolHTTP {
		doc[extImportExport] = "1.0"
	}
	for k, v := range a.Extensions {
		doc[k] = json.RawMessage(v)
	}
	paths := map[string]any{}
	putExtensions(paths, a.PathsExtensions)
	items := map[string]map[string]any{}
	for path, exts := range a.PathItemExtensions {
		items[path] = map[string]any{}
		putExtensions(items[path], exts)
	}
	for i := range a.Routes {
		r := &a.Routes[i]
		item := items[r.Path]
		if item == nil {
			item = map[string]any{}
			items[r.Path] = item
		}
		key := strings.ToLower(r.Method)
		if r.Method == apis.MethodAny || r.Path == apis.RouteDefault {
			key = extAnyMethod
		}
		item[key] = ex.operation(r)
	}
	for path, item := range items {
		if path == apis.RouteDefault && a.Protocol == apis.ProtocolHTTP {
			// As AWS's export-api writes it, and the import reads it back.
			path = defaultPath
		}
		paths[path] = item
	}
	doc["paths"] = paths
	return doc
}

func (ex *exporter) operation(r *apis.Route) map[string]any {
	swagger2 := ex.swagger2
	op := map[string]any{}
	if r.OperationID != "" {
		op["operationId"] = r.OperationID
	}
	if r.Summary != "" {
		op["summary"] = r.Summary
	}
	if r.Description != "" {
		op["description"] = r.Description
	}
	if len(r.Tags) > 0 {
		op["tags"] = r.Tags
	}
	params := []any{}
	for _, p := range r.Parameters {
		m := map[string]any{}
		putExtensions(m, p.Extensions)
		m["name"], m["in"] = p.Name, p.In
		if p.Required {
			m["required"] = true
		}
		t := p.Type
		if t == "" {
			t = "string"
		}
		schema := map[string]any{"type": t}
		if t == "array" {
			// OpenAPI requires items of an array; a parameter's values
			// are strings.
			schema["items"] = map[string]any{"type": "string"}
		}
		if swagger2 {
			maps.Copy(m, schema)
		} else {
			m["schema"] = schema
		}
		params = append(params, m)
	}
	http := ex.protocol == apis.ProtocolHTTP
	params = append(params, ex.generatedPathParams(r)...)
	ref := func(model string) map[string]any {
		if swagger2 {
			return map[string]any{"$ref": "#/definitions/" + model}
		}
		return map[string]any{"$ref": "#/components/schemas/" + model}
	}
	if len(r.RequestModels) > 0 || r.RequestBodyRequired || len(r.RequestBodyExtensions) > 0 {
		cts := slices.Sorted(maps.Keys(r.RequestModels))
		if swagger2 {
			model := ""
			if len(cts) > 0 {
				model = r.RequestModels[cts[0]]
				op["consumes"] = cts
				for _, ct := range cts {
					if m := r.RequestModels[ct]; m != model {
						ex.warn("%s: Swagger 2.0 has one body schema per operation: the document's body parameter has model %q for every type it consumes, so an import of it validates %s bodies against %q, not %q (export as oas3 to keep each type's model)",
							r.RouteKey, model, ct, model, m)
					}
				}
			}
			body := map[string]any{}
			putExtensions(body, r.RequestBodyExtensions)
			body["in"], body["name"] = "body", model
			if model == "" {
				body["name"] = "body"
				body["schema"] = map[string]any{}
			} else {
				body["schema"] = ref(model)
			}
			if r.RequestBodyRequired {
				body["required"] = true
			}
			params = append(params, body)
		} else {
			content := map[string]any{}
			for _, ct := range cts {
				content[ct] = map[string]any{"schema": ref(r.RequestModels[ct])}
			}
			rb := map[string]any{}
			putExtensions(rb, r.RequestBodyExtensions)
			rb["content"] = content
			if r.RequestBodyRequired {
				rb["required"] = true
			}
			op["requestBody"] = rb
		}
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	responses := map[string]any{}
	var produces []string
	for _, code := range slices.Sorted(maps.Keys(r.Responses)) { // sorted: the warnings in order
		mr := r.Responses[code]
		resp := map[string]any{"description": mr.Description}
		putExtensions(resp, mr.Extensions)
		if len(mr.Headers) > 0 {
			hs := map[string]any{}
			for _, h := range mr.Headers {
				if swagger2 {
					hs[h] = map[string]any{"type": "string"}
					if slices.Contains(mr.RequiredHeaders, h) {
						ex.warn("%s: response %s: Swagger 2.0 cannot mark a response header required: %s is exported as optional (export as oas3 to keep it)", r.RouteKey, code, h)
					}
				} else {
					hdr := map[string]any{"schema": map[string]any{"type": "string"}}
					if slices.Contains(mr.RequiredHeaders, h) {
						hdr["required"] = true // OpenAPI 2.0 headers cannot say it
					}
					hs[h] = hdr
				}
			}
			resp["headers"] = hs
		}
		if len(mr.Models) > 0 {
			cts := slices.Sorted(maps.Keys(mr.Models))
			if swagger2 {
				resp["schema"] = ref(mr.Models[cts[0]])
				produces = append(produces, cts...)
				for _, ct := range cts {
					if m := mr.Models[ct]; m != mr.Models[cts[0]] {
						ex.warn("%s: response %s: Swagger 2.0 has one schema per response: the document names model %q for every type, %s's model %q is left out (export as oas3 to keep it)",
							r.RouteKey, code, mr.Models[cts[0]], ct, m)
					}
				}
			} else {
				content := map[string]any{}
				for _, ct := range cts {
					content[ct] = map[string]any{"schema": ref(mr.Models[ct])}
				}
				resp["content"] = content
			}
		}
		responses[code] = resp
	}
	if swagger2 && len(produces) > 0 {
		sort.Strings(produces)
		op["produces"] = dedupe(produces)
	}
	if http && len(r.Responses) == 0 {
		// As API Gateway's export of an HTTP API writes it: OpenAPI wants at
		// least one response, and the import leaves this one out again.
		responses["default"] = map[string]any{"description": defaultResponseDescription(r)}
	}
	putExtensions(responses, r.ResponsesExtensions)
	op["responses"] = responses
	if http && r.Path == apis.RouteDefault {
		// As API Gateway's export marks the $default route.
		op[keyIsDefaultRoute] = true
	}
	if r.Security != nil {
		op["security"] = r.Security
	}
	if r.RequestValidator != "" {
		op[extRequestValidator] = r.RequestValidator
	}
	if r.Integration != nil {
		op[extIntegration] = exportIntegration(ex.protocol, r.Integration)
	}
	for k, v := range r.Extensions {
		op[k] = json.RawMessage(v)
	}
	return op
}

// generatedPathParams declares, as API Gateway's export of an HTTP API does,
// each parameter of r's path that r does not declare itself (routes made by
// create-route never do, nor do REST methods made by put-method without
// method.request.path.NAME), so that the document is valid OpenAPI (each
// template expression has its parameter) and an import of it does not warn of
// undeclared path parameters. The import recognises them by their
// description and does not store them.
func (ex *exporter) generatedPathParams(r *apis.Route) []any {
	if r.Path == apis.RouteDefault {
		return nil
	}
	segs, err := apis.ParseTemplate(r.Path)
	if err != nil {
		return nil
	}
	var out []any
	for _, sg := range segs {
		if sg.Kind == apis.SegLiteral || slices.ContainsFunc(r.Parameters, func(p apis.Parameter) bool { return p.In == "path" && p.Name == sg.Value }) {
			continue
		}
		name := sg.Value
		if sg.Kind == apis.SegGreedy && ex.protocol == apis.ProtocolHTTP {
			name += "+" // as API Gateway's HTTP API export names it; its REST export writes "proxy"
		}
		m := map[string]any{"name": name, "in": "path", "required": true, "description": generatedParamDescription + name}
		if ex.swagger2 {
			m["type"] = "string"
		} else {
			m["schema"] = map[string]any{"type": "string"}
		}
		out = append(out, m)
	}
	return out
}

// defaultResponseDescription is the description of the response API
// Gateway's export gives an HTTP API route that declares none.
func defaultResponseDescription(r *apis.Route) string {
	key := r.Method + " " + r.Path
	if r.Path == apis.RouteDefault {
		key = apis.MethodAny + " " + defaultPath
	}
	return "Default response for " + key
}

// exportIntegration is the x-amazon-apigateway-integration of in, on an API
// of protocol: a function's URI as API Gateway reports it, so that the
// document imports into API Gateway as into Portico.
func exportIntegration(protocol string, in *apis.Integration) map[string]any {
	m := map[string]any{}
	putExtensions(m, in.Extensions)
	m["type"] = strings.ToLower(in.Type)
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("uri", apis.ReportedURI(protocol, in.Type, in.URI))
	set("httpMethod", in.HTTPMethod)
	set("payloadFormatVersion", in.PayloadFormatVersion)
	set("passthroughBehavior", strings.ToLower(in.PassthroughBehavior))
	set("contentHandling", in.ContentHandling)
	set("cacheNamespace", in.CacheNamespace)
	set("credentials", in.Credentials)
	set("connectionType", in.ConnectionType)
	set("connectionId", in.ConnectionID)
	if in.TimeoutInMillis != 0 {
		m["timeoutInMillis"] = in.TimeoutInMillis
	}
	if len(in.RequestParameters) > 0 {
		m["requestParameters"] = in.RequestParameters
	}
	if len(in.RequestTemplates) > 0 {
		m["requestTemplates"] = in.RequestTemplates
	}
	if len(in.ResponseParameters) > 0 {
		m["responseParameters"] = in.ResponseParameters
	}
	if len(in.CacheKeyParameters) > 0 {
		m["cacheKeyParameters"] = in.CacheKeyParameters
	}
	if len(in.TLSConfig) > 0 {
		m["tlsConfig"] = json.RawMessage(in.TLSConfig)
	}
	if len(in.Responses) > 0 {
		rs := map[string]any{}
		for k, r := range in.Responses {
			e := map[string]any{}
			putExtensions(e, r.Extensions)
			e["statusCode"] = r.StatusCode
			if len(r.ResponseTemplates) > 0 {
				e["responseTemplates"] = r.ResponseTemplates
			}
			if len(r.ResponseParameters) > 0 {
				e["responseParameters"] = r.ResponseParameters
			}
			if r.ContentHandling != "" {
				e["contentHandling"] = r.ContentHandling
			}
			rs[k] = e
		}
		m["responses"] = rs
	}
	return m
}

// putExtensions writes kept x- extensions into the object m. They go in
// first, so that what Portico writes itself wins a clash.
func putExtensions(m map[string]any, exts map[string]json.RawMessage) {
	for k, v := range exts {
		m[k] = json.RawMessage(v)
	}
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
