package admin

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds API Gateway's (v1) integrations and integration responses:
// a method's integration is its route's integration in the API model, and
// its integration responses are the integration's responses, which the model
// keys by selection pattern ("default" for none) and API Gateway by status.

// integrationJSON is API Gateway's Integration (and put-integration's body).
type integrationJSON struct {
	Type                 string                             `json:"type"`
	HTTPMethod           string                             `json:"httpMethod,omitempty"`
	URI                  string                             `json:"uri,omitempty"`
	ConnectionType       string                             `json:"connectionType,omitempty"`
	ConnectionID         string                             `json:"connectionId,omitempty"`
	Credentials          string                             `json:"credentials,omitempty"`
	RequestParameters    map[string]string                  `json:"requestParameters,omitempty"`
	RequestTemplates     map[string]string                  `json:"requestTemplates,omitempty"`
	PassthroughBehavior  string                             `json:"passthroughBehavior,omitempty"`
	ContentHandling      string                             `json:"contentHandling,omitempty"`
	TimeoutInMillis      int                                `json:"timeoutInMillis,omitempty"`
	CacheNamespace       string                             `json:"cacheNamespace,omitempty"`
	CacheKeyParameters   []string                           `json:"cacheKeyParameters,omitempty"`
	IntegrationResponses map[string]integrationResponseJSON `json:"integrationResponses,omitempty"`
	TLSConfig            json.RawMessage                    `json:"tlsConfig,omitempty"`
}

// integrationResponseJSON is API Gateway's IntegrationResponse.
type integrationResponseJSON struct {
	StatusCode         string            `json:"statusCode"`
	SelectionPattern   string            `json:"selectionPattern,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	ResponseTemplates  map[string]string `json:"responseTemplates,omitempty"`
	ContentHandling    string            `json:"contentHandling,omitempty"`
}

func toIntegrationJSON(n *apis.ResourceNode, in *apis.Integration) integrationJSON {
	out := integrationJSON{Type: in.Type, HTTPMethod: in.HTTPMethod, URI: apis.ReportedURI(apis.ProtocolREST, in.Type, in.URI), ConnectionType: in.ConnectionType,
		ConnectionID: in.ConnectionID, Credentials: in.Credentials, RequestParameters: in.RequestParameters,
		RequestTemplates: in.RequestTemplates, PassthroughBehavior: in.PassthroughBehavior, ContentHandling: in.ContentHandling,
		TimeoutInMillis: in.TimeoutInMillis, CacheNamespace: in.CacheNamespace, CacheKeyParameters: in.CacheKeyParameters,
		TLSConfig: in.TLSConfig}
	if out.TimeoutInMillis == 0 {
		out.TimeoutInMillis = apis.DefaultTimeoutMillis
	}
	if out.PassthroughBehavior == "" {
		out.PassthroughBehavior = "WHEN_NO_MATCH"
	}
	if out.CacheNamespace == "" {
		out.CacheNamespace = n.ID
	}
	if out.CacheKeyParameters == nil {
		out.CacheKeyParameters = []string{}
	}
	for pattern, ir := range in.Responses {
		if out.IntegrationResponses == nil {
			out.IntegrationResponses = map[string]integrationResponseJSON{}
		}
		out.IntegrationResponses[ir.StatusCode] = toIntegrationResponseJSON(pattern, ir)
	}
	return out
}

func toIntegrationResponseJSON(pattern string, ir apis.IntegrationResponse) integrationResponseJSON {
	out := integrationResponseJSON{StatusCode: ir.StatusCode, SelectionPattern: pattern, ResponseParameters: ir.ResponseParameters,
		ResponseTemplates: ir.ResponseTemplates, ContentHandling: ir.ContentHandling}
	if pattern == "default" {
		out.SelectionPattern = ""
	}
	return out
}

// toIntegration turns put-integration's body into the model's integration.
func (in integrationJSON) toIntegration() (*apis.Integration, error) {
	if in.Type == "" {
		return nil, badRequest("Enumeration value for IntegrationType must be non-empty")
	}
	if len(in.IntegrationResponses) > 0 {
		return nil, badRequest("integrationResponses are set with put-integration-response")
	}
	return &apis.Integration{Type: strings.ToUpper(in.Type), HTTPMethod: in.HTTPMethod, URI: in.URI, ConnectionType: in.ConnectionType,
		ConnectionID: in.ConnectionID, Credentials: in.Credentials, RequestParameters: in.RequestParameters,
		RequestTemplates: in.RequestTemplates, PassthroughBehavior: in.PassthroughBehavior, ContentHandling: in.ContentHandling,
		TimeoutInMillis: in.TimeoutInMillis, CacheNamespace: in.CacheNamespace, CacheKeyParameters: in.CacheKeyParameters,
		TLSConfig: in.TLSConfig}, nil
}

func (s *Server) apigwPutIntegration(w http.ResponseWriter, r *http.Request) error {
	var in integrationJSON
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	integ, err := in.toIntegration()
	if err != nil {
		return err
	}
	if integ.Type != apis.IntegrationMock && integ.HTTPMethod == "" {
		return badRequest("Enumeration value for HttpMethod must be non-empty")
	}
	_, n, rt, err := s.modifyMethod(r, func(_ *apis.API, _ *apis.ResourceNode, rt *apis.Route) error {
		rt.Integration = integ
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toIntegrationJSON(n, rt.Integration))
}

func (s *Server) apigwGetIntegration(w http.ResponseWriter, r *http.Request) error {
	n, integ, err := s.integrationOf(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toIntegrationJSON(n, integ))
}

// integrationOf returns the method {res} {method}'s resource and integration;
// a method without one is NotFound.
func (s *Server) integrationOf(r *http.Request) (*apis.ResourceNode, *apis.Integration, error) {
	_, n, rt, err := s.methodOf(r)
	if err != nil {
		return nil, nil, err
	}
	if rt.Integration == nil {
		return nil, nil, errIntegrationNotFound
	}
	return n, rt.Integration, nil
}

// modifyIntegration applies fn to the integration of the method {res}
// {method} in one transaction; a method without one is NotFound.
func (s *Server) modifyIntegration(r *http.Request, fn func(in *apis.Integration) error) (*apis.ResourceNode, *apis.Route, error) {
	_, n, rt, err := s.modifyMethod(r, func(_ *apis.API, _ *apis.ResourceNode, rt *apis.Route) error {
		if rt.Integration == nil {
			return errIntegrationNotFound
		}
		return fn(rt.Integration)
	})
	return n, rt, err
}

func (s *Server) apigwDeleteIntegration(w http.ResponseWriter, r *http.Request) error {
	_, _, _, err := s.modifyMethod(r, func(_ *apis.API, _ *apis.ResourceNode, rt *apis.Route) error {
		if rt.Integration == nil {
			return errIntegrationNotFound
		}
		rt.Integration = nil
		return nil
	})
	return noContent(w, err)
}

func (s *Server) apigwUpdateIntegration(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	n, rt, err := s.modifyIntegration(r, func(in *apis.Integration) error {
		return applyPatch(ops, func(op PatchOperation) error { return applyIntegrationOp(in, op) })
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toIntegrationJSON(n, rt.Integration))
}

// applyIntegrationOp applies one update-integration operation.
func applyIntegrationOp(in *apis.Integration, op PatchOperation) error {
	segs := op.Segments()
	set := op.Op == "replace" || op.Op == "add"
	str := func(dst *string) error { return setOrClear(dst, op) }
	if len(segs) == 1 && (set || op.Op == "remove") {
		switch segs[0] {
		case "type":
			if op.Op == "remove" {
				break
			}
			if err := str(&in.Type); err != nil {
				return err
			}
			in.Type = strings.ToUpper(in.Type)
			return nil
		case "uri":
			return str(&in.URI)
		case "httpMethod":
			return str(&in.HTTPMethod)
		case "passthroughBehavior":
			return str(&in.PassthroughBehavior)
		case "contentHandling":
			return str(&in.ContentHandling)
		case "cacheNamespace":
			return str(&in.CacheNamespace)
		case "connectionType":
			return str(&in.ConnectionType)
		case "connectionId":
			return str(&in.ConnectionID)
		case "credentials":
			return str(&in.Credentials)
		case "timeoutInMillis":
			if op.Op == "remove" {
				in.TimeoutInMillis = 0
				return nil
			}
			v, err := patchInt(op)
			if err != nil {
				return err
			}
			in.TimeoutInMillis = *v
			return nil
		}
	}
	if len(segs) == 2 && (set || op.Op == "remove") {
		switch segs[0] {
		case "requestParameters":
			return patchStringMap(&in.RequestParameters, segs[1], op)
		case "requestTemplates":
			return patchStringMap(&in.RequestTemplates, segs[1], op)
		case "cacheKeyParameters":
			in.CacheKeyParameters = slices.DeleteFunc(in.CacheKeyParameters, func(s string) bool { return s == segs[1] })
			if op.Op != "remove" {
				in.CacheKeyParameters = append(in.CacheKeyParameters, segs[1])
			}
			return nil
		}
	}
	return BadPatchPath(op)
}

// patchStringMap sets or removes key of *m as op says.
func patchStringMap(m *map[string]string, key string, op PatchOperation) error {
	if op.Op == "remove" {
		if _, ok := (*m)[key]; !ok {
			return badPatchValue(op, "%s is not set", truncate(key, 200))
		}
		delete(*m, key)
		return nil
	}
	return putStringMap(m, key, op)
}

// putStringMap sets key of *m to op's value.
func putStringMap(m *map[string]string, key string, op PatchOperation) error {
	v, err := op.StringValue()
	if err != nil {
		return err
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[key] = v
	return nil
}

// putIntegrationResponseRequest is PutIntegrationResponse's body.
type putIntegrationResponseRequest struct {
	SelectionPattern   string            `json:"selectionPattern"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	ContentHandling    string            `json:"contentHandling"`
}

// integrationResponse finds the integration response for status code.
func integrationResponse(in *apis.Integration, code string) (string, apis.IntegrationResponse, bool) {
	for _, pattern := range slices.Sorted(maps.Keys(in.Responses)) {
		if in.Responses[pattern].StatusCode == code {
			return pattern, in.Responses[pattern], true
		}
	}
	return "", apis.IntegrationResponse{}, false
}

// setIntegrationResponse stores ir for code under pattern ("" is the default
// response), replacing the one code had.
func setIntegrationResponse(in *apis.Integration, code, pattern string, ir apis.IntegrationResponse) error {
	if pattern == "" {
		pattern = "default"
	}
	if old, _, ok := integrationResponse(in, code); ok {
		delete(in.Responses, old)
	}
	if other, ok := in.Responses[pattern]; ok {
		return errdefs.New(errdefs.ErrConflict, "ConflictException",
			fmt.Sprintf("Selection pattern %q is already used by the integration response for status %s", pattern, other.StatusCode))
	}
	ir.StatusCode = code
	if in.Responses == nil {
		in.Responses = map[string]apis.IntegrationResponse{}
	}
	in.Responses[pattern] = ir
	return nil
}

// integrationResponseFromBody is put-integration-response's body as an
// integration response.
func integrationResponseFromBody(in putIntegrationResponseRequest) (patternResponse, error) {
	ir := apis.IntegrationResponse{ResponseParameters: in.ResponseParameters, ResponseTemplates: in.ResponseTemplates, ContentHandling: in.ContentHandling}
	return patternResponse{pattern: in.SelectionPattern, ir: ir}, nil
}

// patternResponse is an integration response and the selection pattern the
// model keys it by.
type patternResponse struct {
	pattern string
	ir      apis.IntegrationResponse
}

// integrationResponses is the status response kind of a method's
// integration's responses: a method without an integration has none.
type integrationResponses struct{}

func (integrationResponses) find(rt *apis.Route, code string) (patternResponse, error) {
	if rt.Integration == nil {
		return patternResponse{}, errIntegrationNotFound
	}
	pattern, ir, ok := integrationResponse(rt.Integration, code)
	if !ok {
		return patternResponse{}, errIntegrationResponseNotFound
	}
	return patternResponse{pattern: pattern, ir: ir}, nil
}

// put refuses, as API Gateway does, an integration response for a status
// code the method has no method response for (put-method-response first): it
// could only fail the requests it was selected for. One with responseParameters
// is refused by the mapping check that modifyMethod runs after put ("No method
// response exists for method."), which API Gateway answers first.
func (integrationResponses) put(rt *apis.Route, code string, v patternResponse) error {
	if rt.Integration == nil {
		return errIntegrationNotFound
	}
	if _, ok := rt.Responses[code]; !ok && len(v.ir.ResponseParameters) == 0 {
		return errResponseNotFound
	}
	return setIntegrationResponse(rt.Integration, code, v.pattern, v.ir)
}

func (integrationResponses) remove(rt *apis.Route, _ string, v patternResponse) {
	delete(rt.Integration.Responses, v.pattern)
}

func (integrationResponses) wire(code string, v patternResponse) integrationResponseJSON {
	v.ir.StatusCode = code
	return toIntegrationResponseJSON(v.pattern, v.ir)
}

func (integrationResponses) patch(v patternResponse, ops []PatchOperation) (patternResponse, error) {
	if v.pattern == "default" {
		v.pattern = ""
	}
	for _, op := range ops {
		segs := op.Segments()
		switch {
		case len(segs) == 1 && segs[0] == "selectionPattern" && op.Op != "remove":
			p, err := op.StringValue()
			if err != nil {
				return v, err
			}
			v.pattern = p
		case len(segs) == 1 && segs[0] == "selectionPattern":
			v.pattern = ""
		case len(segs) == 1 && segs[0] == "contentHandling":
			if err := setOrClear(&v.ir.ContentHandling, op); err != nil {
				return v, err
			}
		case len(segs) == 2 && segs[0] == "responseParameters":
			if err := patchStringMap(&v.ir.ResponseParameters, segs[1], op); err != nil {
				return v, err
			}
		case len(segs) == 2 && segs[0] == "responseTemplates":
			if err := patchStringMap(&v.ir.ResponseTemplates, segs[1], op); err != nil {
				return v, err
			}
		default:
			return v, BadPatchPath(op)
		}
	}
	return v, nil
}

// mappingProblems returns what API Gateway's validation of a method's
// parameter mappings would say of rt's integration: a request parameter
// mapped from a method request parameter the method does not declare ("Invalid
// mapping expression parameter specified: method.request.querystring.q"), and
// an integration response header mapping to a header its method response does
// not declare, or for a status with no method response ("No method response
// exists for method."). A path parameter of the resource's path counts as
// declared.
func mappingProblems(rt *apis.Route) map[string]bool {
	out := map[string]bool{}
	in := rt.Integration
	if in == nil {
		return out
	}
	for _, src := range in.RequestParameters {
		if rt.UndeclaredRequestSource(src) {
			out["Invalid mapping expression parameter specified: "+src] = true
		}
	}
	for _, ir := range in.Responses {
		for key := range ir.ResponseParameters {
			header, ok := strings.CutPrefix(key, "method.response.header.")
			if !ok {
				continue
			}
			mr, ok := rt.Responses[ir.StatusCode]
			switch {
			case !ok:
				out["No method response exists for method."] = true
			case !slices.ContainsFunc(mr.Headers, func(h string) bool { return strings.EqualFold(h, header) }):
				out["Invalid mapping expression parameter specified: "+key] = true
			}
		}
	}
	return out
}

// checkMappings refuses a change of rt's integration that adds a problem
// mappingProblems finds to those in before, with API Gateway's message.
func checkMappings(before map[string]bool, rt *apis.Route) error {
	for _, p := range slices.Sorted(maps.Keys(mappingProblems(rt))) {
		if !before[p] {
			return mappingError(p, "")
		}
	}
	return nil
}

// mappingError is API Gateway's refusal of a parameter mapping whose problem
// is msg, with what to use instead when use says.
func mappingError(msg, use string) error {
	if use != "" {
		use = "; " + use
	}
	return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [%s]%s", truncate(msg, 300), use)
}
