package admin

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds API Gateway's (v1) methods and method responses (and the
// routes of integrations, whose handlers are in apigw_integrations.go). A
// method is a route of the API model: its method on its resource's path.

func (s *Server) registerMethodRoutes() {
	const m = "/restapis/{api}/resources/{res}/methods/{method}"
	s.handleItem(m, s.apigwPutMethod, s.apigwGetMethod, s.apigwUpdateMethod, s.apigwDeleteMethod)
	statusResponseRoutes(s, m+"/responses/{code}", methodResponses{}, methodResponseFromBody)
	s.handleItem(m+"/integration", s.apigwPutIntegration, s.apigwGetIntegration, s.apigwUpdateIntegration, s.apigwDeleteIntegration)
	statusResponseRoutes(s, m+"/integration/responses/{code}", integrationResponses{}, integrationResponseFromBody)
}

// notFoundMsg is a NotFoundException with API Gateway's message.
func notFoundMsg(msg string) error {
	return errdefs.New(errdefs.ErrNotFound, "NotFoundException", msg)
}

var (
	errResourceNotFound            = notFoundMsg("Invalid Resource identifier specified")
	errMethodNotFound              = notFoundMsg("Invalid Method identifier specified")
	errIntegrationNotFound         = notFoundMsg("Invalid Integration identifier specified")
	errResponseNotFound            = notFoundMsg("Invalid Response status code specified")
	errAuthorizerNotFound          = notFoundMsg("Invalid Authorizer identifier specified")
	errValidatorNotFound           = notFoundMsg("Invalid Request Validator identifier specified")
	errIntegrationResponseNotFound = notFoundMsg("Invalid Response status code specified")
)

// nameID is the id of an API component kept by name (authorizer, model,
// request validator): derived from the API id, the kind and the name, so that
// it is the same across restarts, deployments and export and import.
func nameID(apiID, kind, name string) string {
	return apis.ResourceID(apiID, kind+":"+name)
}

// byNameID returns the name in names whose id is id.
func byNameID[V any](apiID, kind, id string, names map[string]V) (string, bool) {
	for name := range names {
		if nameID(apiID, kind, name) == id {
			return name, true
		}
	}
	return "", false
}

// methodJSON is API Gateway's Method.
type methodJSON struct {
	HTTPMethod          string                        `json:"httpMethod"`
	AuthorizationType   string                        `json:"authorizationType"`
	AuthorizerID        string                        `json:"authorizerId,omitempty"`
	APIKeyRequired      bool                          `json:"apiKeyRequired"`
	RequestValidatorID  string                        `json:"requestValidatorId,omitempty"`
	OperationName       string                        `json:"operationName,omitempty"`
	RequestParameters   map[string]bool               `json:"requestParameters,omitempty"`
	RequestModels       map[string]string             `json:"requestModels,omitempty"`
	MethodResponses     map[string]methodResponseJSON `json:"methodResponses,omitempty"`
	MethodIntegration   *integrationJSON              `json:"methodIntegration,omitempty"`
	AuthorizationScopes []string                      `json:"authorizationScopes,omitempty"`
}

// methodResponseJSON is API Gateway's MethodResponse.
type methodResponseJSON struct {
	StatusCode         string            `json:"statusCode"`
	ResponseParameters map[string]bool   `json:"responseParameters,omitempty"`
	ResponseModels     map[string]string `json:"responseModels,omitempty"`
}

// paramPrefixes map method.request.* locations to OpenAPI's.
var paramPrefixes = [][2]string{
	{"method.request.path.", "path"}, {"method.request.querystring.", "query"}, {"method.request.header.", "header"},
}

func toMethodJSON(a *apis.API, n *apis.ResourceNode, rt *apis.Route) methodJSON {
	out := methodJSON{HTTPMethod: rt.Method, AuthorizationType: "NONE", APIKeyRequired: rt.APIKeyRequired,
		OperationName: rt.OperationID, RequestModels: rt.RequestModels}
	if rt.IAMByExtension() {
		// {type: NONE} is no authorization, as the gateway serves it.
		out.AuthorizationType = "AWS_IAM"
	}
	for _, req := range rt.Security {
		for _, name := range slices.Sorted(maps.Keys(req)) {
			au, err := apis.ParseAuthorizer(a.Protocol, name, a.Authorizers[name])
			if err == nil && au == nil {
				out.APIKeyRequired = true
				continue
			}
			if err == nil && au.Type == apis.AuthorizerIAM {
				// An awsSigv4 scheme (as exports write AWS_IAM) is IAM
				// authorization, not an authorizer.
				out.AuthorizationType = "AWS_IAM"
				continue
			}
			out.AuthorizationType, out.AuthorizerID = "CUSTOM", nameID(a.ID, "authorizer", name)
			out.AuthorizationScopes = req[name]
		}
	}
	if rt.RequestValidator != "" {
		out.RequestValidatorID = nameID(a.ID, "validator", rt.RequestValidator)
	}
	for _, p := range rt.Parameters {
		for _, pp := range paramPrefixes {
			if pp[1] == p.In {
				if out.RequestParameters == nil {
					out.RequestParameters = map[string]bool{}
				}
				out.RequestParameters[pp[0]+p.Name] = p.Required
			}
		}
	}
	for code, mr := range rt.Responses {
		if out.MethodResponses == nil {
			out.MethodResponses = map[string]methodResponseJSON{}
		}
		out.MethodResponses[code] = toMethodResponseJSON(code, mr)
	}
	if rt.Integration != nil {
		in := toIntegrationJSON(n, rt.Integration)
		out.MethodIntegration = &in
	}
	return out
}

func toMethodResponseJSON(code string, mr apis.MethodResponse) methodResponseJSON {
	out := methodResponseJSON{StatusCode: code, ResponseModels: mr.Models}
	for _, h := range mr.Headers {
		if out.ResponseParameters == nil {
			out.ResponseParameters = map[string]bool{}
		}
		out.ResponseParameters["method.response.header."+h] = slices.Contains(mr.RequiredHeaders, h)
	}
	return out
}

// findMethod returns resource resID of a and its method's route.
func findMethod(a *apis.API, resID, method string) (*apis.ResourceNode, *apis.Route, error) {
	n := a.Resource(resID)
	if n == nil {
		return nil, nil, errResourceNotFound
	}
	m := strings.ToUpper(method)
	for i := range a.Routes {
		if a.Routes[i].Path == n.Path && a.Routes[i].Method == m {
			return n, &a.Routes[i], nil
		}
	}
	return n, nil, errMethodNotFound
}

// methodOf reads the method named by the request.
func (s *Server) methodOf(r *http.Request) (*apis.API, *apis.ResourceNode, *apis.Route, error) {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return nil, nil, nil, err
	}
	n, rt, err := findMethod(a, r.PathValue("res"), r.PathValue("method"))
	return a, n, rt, err
}

// modifyMethod applies fn to the method named by the request in one
// transaction and returns the API, resource and method after it.
func (s *Server) modifyMethod(r *http.Request, fn func(a *apis.API, n *apis.ResourceNode, rt *apis.Route) error) (*apis.API, *apis.ResourceNode, *apis.Route, error) {
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		n, rt, err := findMethod(a, r.PathValue("res"), r.PathValue("method"))
		if err != nil {
			return err
		}
		before, mappings := modelRefs(rt), mappingProblems(rt)
		integ, _ := json.Marshal(rt.Integration)
		if err := fn(a, n, rt); err != nil {
			return err
		}
		if after, _ := json.Marshal(rt.Integration); rt.Integration != nil && !bytes.Equal(integ, after) {
			// Only a change of the integration is held to its mappings.
			if err := checkMappings(mappings, rt); err != nil {
				return err
			}
		}
		return checkModelRefs(a, before, rt)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	n, rt, err := findMethod(a, r.PathValue("res"), r.PathValue("method"))
	return a, n, rt, err
}

// modelRefs returns the names of the models a method's request and its
// method responses name.
func modelRefs(rt *apis.Route) map[string]bool {
	refs := map[string]bool{}
	for _, m := range rt.RequestModels {
		refs[m] = true
	}
	for _, mr := range rt.Responses {
		for _, m := range mr.Models {
			refs[m] = true
		}
	}
	return refs
}

// checkModelRefs refuses, as API Gateway does, a method or method response
// that names a model the API lacks (a stage deployed with it could not
// validate requests, and its export would not import). Names in before, which
// the method named already, are not checked again.
func checkModelRefs(a *apis.API, before map[string]bool, rt *apis.Route) error {
	for _, name := range slices.Sorted(maps.Keys(modelRefs(rt))) {
		if _, ok := a.Models[name]; !ok && !before[name] {
			return badRequest("Invalid model identifier specified: %s", truncate(name, 128))
		}
	}
	return nil
}

// putMethodRequest is PutMethod's body.
type putMethodRequest struct {
	AuthorizationType   string            `json:"authorizationType"`
	AuthorizerID        string            `json:"authorizerId"`
	APIKeyRequired      bool              `json:"apiKeyRequired"`
	OperationName       string            `json:"operationName"`
	RequestParameters   map[string]bool   `json:"requestParameters"`
	RequestModels       map[string]string `json:"requestModels"`
	RequestValidatorID  string            `json:"requestValidatorId"`
	AuthorizationScopes []string          `json:"authorizationScopes"`
}

// methodAuth is a method's access control as put-method and update-method set it.
type methodAuth struct {
	Type         string
	AuthorizerID string
	Scopes       []string
	APIKey       bool
}

// apply sets rt's security from m. Only what the gateway enforces can be
// declared: AWS_IAM and COGNITO_USER_POOLS are kept in the forms the OpenAPI
// importer keeps them in, so that the API's validation refuses them with the
// same message as an import.
func (m methodAuth) apply(a *apis.API, rt *apis.Route) error {
	delete(rt.Extensions, "x-amazon-apigateway-auth")
	rt.Security, rt.APIKeyRequired = nil, m.APIKey
	req := map[string][]string{}
	switch t := strings.ToUpper(m.Type); {
	case m.AuthorizerID == "":
	case t == "", t == "NONE", t == "AWS_IAM":
		// Refused, not dropped: API Gateway stores the method open (the type
		// decides), but whoever named an authorizer meant it to guard it.
		if t == "" {
			t = "NONE"
		}
		return badRequest("authorizerId needs authorizationType CUSTOM, not %s; set it, or leave authorizerId out", t)
	}
	switch strings.ToUpper(m.Type) {
	case "", "NONE":
	case "CUSTOM":
		name, ok := byNameID(a.ID, "authorizer", m.AuthorizerID, a.Authorizers)
		if !ok {
			if m.AuthorizerID == "" {
				return badRequest("Invalid authorizer ID specified: a CUSTOM method needs an authorizerId")
			}
			return errAuthorizerNotFound
		}
		if au, err := apis.ParseAuthorizer(a.Protocol, name, a.Authorizers[name]); err != nil || au == nil {
			return badRequest("Invalid authorizer ID specified: %s is not a Lambda authorizer", m.AuthorizerID)
		}
		scopes := m.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		req[name] = scopes
	case "AWS_IAM":
		if rt.Extensions == nil {
			rt.Extensions = map[string]json.RawMessage{}
		}
		rt.Extensions["x-amazon-apigateway-auth"] = json.RawMessage(`{"type":"AWS_IAM"}`)
	case "COGNITO_USER_POOLS":
		const scheme = "cognito_user_pools"
		if a.Authorizers == nil {
			a.Authorizers = map[string]json.RawMessage{}
		}
		a.Authorizers[scheme] = json.RawMessage(`{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"cognito_user_pools","x-amazon-apigateway-authorizer":{"type":"cognito_user_pools"}}`)
		req[scheme] = []string{}
	default:
		return badRequest("Invalid authorization type '%s': use NONE, CUSTOM, AWS_IAM or COGNITO_USER_POOLS", truncate(m.Type, 40))
	}
	if m.APIKey {
		req[apiKeyScheme(a)] = []string{}
	}
	if len(req) > 0 {
		rt.Security = []map[string][]string{req}
	}
	return nil
}

// apiKeyScheme returns the name of the API's plain API key security scheme,
// adding the standard one when it has none.
func apiKeyScheme(a *apis.API) string {
	for _, name := range slices.Sorted(maps.Keys(a.Authorizers)) {
		if au, err := apis.ParseAuthorizer(a.Protocol, name, a.Authorizers[name]); err == nil && au == nil {
			return name
		}
	}
	if a.Authorizers == nil {
		a.Authorizers = map[string]json.RawMessage{}
	}
	a.Authorizers["api_key"] = json.RawMessage(`{"in":"header","name":"x-api-key","type":"apiKey"}`)
	return "api_key"
}

// authOf reads a route's access control back as methodAuth.
func authOf(a *apis.API, n *apis.ResourceNode, rt *apis.Route) methodAuth {
	m := toMethodJSON(a, n, rt)
	return methodAuth{Type: m.AuthorizationType, AuthorizerID: m.AuthorizerID, Scopes: m.AuthorizationScopes, APIKey: m.APIKeyRequired}
}

// setRequestParameter declares (or with remove, drops) one method request
// parameter, "method.request.{path|querystring|header}.NAME".
func setRequestParameter(rt *apis.Route, key string, required, remove bool) error {
	for _, pp := range paramPrefixes {
		name, ok := strings.CutPrefix(key, pp[0])
		if !ok || name == "" {
			continue
		}
		i := slices.IndexFunc(rt.Parameters, func(p apis.Parameter) bool { return p.In == pp[1] && p.Name == name })
		switch {
		case remove && i < 0:
			return badRequest("Invalid request parameter %s: the method does not declare it", truncate(key, 200))
		case remove:
			rt.Parameters = slices.Delete(rt.Parameters, i, i+1)
		case i >= 0:
			rt.Parameters[i].Required = required || pp[1] == "path"
		default:
			rt.Parameters = append(rt.Parameters, apis.Parameter{Name: name, In: pp[1], Required: required || pp[1] == "path"})
		}
		return nil
	}
	return badRequest("Invalid mapping expression specified: %s; use method.request.path|querystring|header.NAME", truncate(key, 200))
}

func (s *Server) apigwPutMethod(w http.ResponseWriter, r *http.Request) error {
	var in putMethodRequest
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if in.AuthorizationType == "" {
		return badRequest("Invalid authorization type: authorizationType is required (NONE, CUSTOM, AWS_IAM or COGNITO_USER_POOLS)")
	}
	method := strings.ToUpper(r.PathValue("method"))
	var n *apis.ResourceNode
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		n = a.Resource(r.PathValue("res"))
		if n == nil {
			return errResourceNotFound
		}
		if _, _, err := findMethod(a, n.ID, method); err == nil {
			return errdefs.New(errdefs.ErrConflict, "ConflictException", "Method already exists for this resource")
		}
		rt := apis.Route{Method: method, Path: n.Path, OperationID: in.OperationName, RequestModels: in.RequestModels}
		if err := (methodAuth{Type: in.AuthorizationType, AuthorizerID: in.AuthorizerID, Scopes: in.AuthorizationScopes, APIKey: in.APIKeyRequired}).apply(a, &rt); err != nil {
			return err
		}
		if in.RequestValidatorID != "" {
			name, ok := byNameID(a.ID, "validator", in.RequestValidatorID, a.RequestValidators)
			if !ok {
				return errValidatorNotFound
			}
			rt.RequestValidator = name
		}
		for _, k := range slices.Sorted(maps.Keys(in.RequestParameters)) {
			if err := setRequestParameter(&rt, k, in.RequestParameters[k], false); err != nil {
				return err
			}
		}
		if err := checkModelRefs(a, nil, &rt); err != nil {
			return err
		}
		a.Routes = append(a.Routes, rt)
		return nil
	})
	if err != nil {
		return err
	}
	n, rt, err := findMethod(a, n.ID, method)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toMethodJSON(a, n, rt))
}

func (s *Server) apigwGetMethod(w http.ResponseWriter, r *http.Request) error {
	a, n, rt, err := s.methodOf(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toMethodJSON(a, n, rt))
}

func (s *Server) apigwDeleteMethod(w http.ResponseWriter, r *http.Request) error {
	_, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		n, rt, err := findMethod(a, r.PathValue("res"), r.PathValue("method"))
		if err != nil {
			return err
		}
		i := slices.IndexFunc(a.Routes, func(x apis.Route) bool { return x.Path == rt.Path && x.Method == rt.Method })
		a.Routes = slices.Delete(a.Routes, i, i+1)
		// The resource stays, with its id, when its last method goes.
		if !slices.ContainsFunc(a.Resources, func(x apis.Resource) bool { return x.Path == n.Path }) {
			a.Resources = append(a.Resources, apis.Resource{Path: n.Path})
		}
		return nil
	})
	return noContent(w, err)
}

func (s *Server) apigwUpdateMethod(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	a, n, rt, err := s.modifyMethod(r, func(a *apis.API, n *apis.ResourceNode, rt *apis.Route) error {
		auth := authOf(a, n, rt)
		authChanged := false
		for _, op := range ops {
			changed, err := applyMethodOp(a, rt, &auth, op)
			if err != nil {
				return err
			}
			authChanged = authChanged || changed
		}
		if authChanged {
			return auth.apply(a, rt)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toMethodJSON(a, n, rt))
}

// applyMethodOp applies one update-method operation; it reports whether the
// method's access control changed (applied after all operations).
func applyMethodOp(a *apis.API, rt *apis.Route, auth *methodAuth, op PatchOperation) (bool, error) {
	segs := op.Segments()
	set := op.Op == "replace" || op.Op == "add"
	switch {
	case len(segs) == 1 && set && segs[0] == "authorizationType":
		v, err := op.StringValue()
		auth.Type = v
		if v != "CUSTOM" {
			auth.AuthorizerID, auth.Scopes = "", nil
		}
		return true, err
	case len(segs) == 1 && set && segs[0] == "authorizerId":
		v, err := op.StringValue()
		auth.AuthorizerID = v
		return true, err
	case len(segs) == 1 && set && segs[0] == "apiKeyRequired":
		b, err := patchBool(op)
		if err != nil {
			return false, err
		}
		auth.APIKey = *b
		return true, nil
	case len(segs) == 2 && segs[0] == "authorizationScopes" && (op.Op == "add" || op.Op == "remove"):
		if op.Op == "add" {
			auth.Scopes = append(auth.Scopes, segs[1])
		} else {
			auth.Scopes = slices.DeleteFunc(auth.Scopes, func(s string) bool { return s == segs[1] })
		}
		return true, nil
	case len(segs) == 1 && segs[0] == "operationName" && (set || op.Op == "remove"):
		return false, setOrClear(&rt.OperationID, op)
	case len(segs) == 1 && segs[0] == "requestValidatorId" && (set || op.Op == "remove"):
		rt.RequestValidator = ""
		if set {
			v, err := op.StringValue()
			if err != nil {
				return false, err
			}
			if v != "" {
				name, ok := byNameID(a.ID, "validator", v, a.RequestValidators)
				if !ok {
					return false, errValidatorNotFound
				}
				rt.RequestValidator = name
			}
		}
		return false, nil
	case len(segs) == 2 && segs[0] == "requestParameters" && (set || op.Op == "remove"):
		required := false
		if set && op.Value != nil {
			b, err := patchBool(op)
			if err != nil {
				return false, err
			}
			required = *b
		}
		return false, setRequestParameter(rt, segs[1], required, op.Op == "remove")
	case len(segs) == 2 && segs[0] == "requestModels" && (set || op.Op == "remove"):
		if op.Op == "remove" {
			if _, ok := rt.RequestModels[segs[1]]; !ok {
				return false, badPatchValue(op, "the method has no request model for %s", truncate(segs[1], 100))
			}
			delete(rt.RequestModels, segs[1])
			return false, nil
		}
		return false, putStringMap(&rt.RequestModels, segs[1], op)
	}
	return false, BadPatchPath(op)
}

// putMethodResponseRequest is PutMethodResponse's body.
type putMethodResponseRequest struct {
	ResponseParameters map[string]bool   `json:"responseParameters"`
	ResponseModels     map[string]string `json:"responseModels"`
}

// responseHeader returns NAME of "method.response.header.NAME".
func responseHeader(key string) (string, error) {
	name, ok := strings.CutPrefix(key, "method.response.header.")
	if !ok || name == "" {
		return "", badRequest("Invalid mapping expression specified: %s; use method.response.header.NAME", truncate(key, 200))
	}
	return name, nil
}

func checkStatusCode(code string) error {
	if _, ok := apis.ValidateStatus(code); !ok {
		return badRequest("Invalid status code '%s': use a 3-digit HTTP status", truncate(code, 20))
	}
	return nil
}

// methodResponseFromBody is put-method-response's body as a method response.
func methodResponseFromBody(in putMethodResponseRequest) (apis.MethodResponse, error) {
	mr := apis.MethodResponse{Models: in.ResponseModels}
	for _, k := range slices.Sorted(maps.Keys(in.ResponseParameters)) {
		h, err := responseHeader(k)
		if err != nil {
			return mr, err
		}
		mr.Headers = append(mr.Headers, h)
		if in.ResponseParameters[k] {
			mr.RequiredHeaders = append(mr.RequiredHeaders, h)
		}
	}
	return mr, nil
}

// statusResponses is one kind of response a method keeps by status code:
// its method responses and its integration's responses. V is how the model
// keeps one, J its wire shape. statusResponseRoutes serves get, update and
// delete for both kinds through it, and put after the body is read.
type statusResponses[V, J any] interface {
	// find returns the response for code, or the kind's not found error.
	find(rt *apis.Route, code string) (V, error)
	// put stores v as the response for code.
	put(rt *apis.Route, code string, v V) error
	// remove deletes v, the response for code.
	remove(rt *apis.Route, code string, v V)
	// patch applies an update's operations to v.
	patch(v V, ops []PatchOperation) (V, error)
	// wire is the response's wire shape.
	wire(code string, v V) J
}

// statusResponseRoutes registers put (PUT path, whose body B fromBody turns
// into a response), get, update and delete of one kind of status response.
func statusResponseRoutes[V, J, B any](s *Server, path string, c statusResponses[V, J], fromBody func(B) (V, error)) {
	s.handleItem(path,
		func(w http.ResponseWriter, r *http.Request) error { return putStatusResponse(s, w, r, c, fromBody) },
		func(w http.ResponseWriter, r *http.Request) error { return getStatusResponse(s, w, r, c) },
		func(w http.ResponseWriter, r *http.Request) error { return updateStatusResponse(s, w, r, c) },
		func(w http.ResponseWriter, r *http.Request) error { return deleteStatusResponse(s, w, r, c) })
}

// putStatusResponse stores the body (optional) as the response for {code}
// and answers 201.
func putStatusResponse[V, J, B any](s *Server, w http.ResponseWriter, r *http.Request, c statusResponses[V, J], fromBody func(B) (V, error)) error {
	var in B
	if err := decodeJSON(w, r, jsonBody{limit: maxJSONBody, optional: true}, &in); err != nil {
		return err
	}
	code := r.PathValue("code")
	if err := checkStatusCode(code); err != nil {
		return err
	}
	v, err := fromBody(in)
	if err != nil {
		return err
	}
	_, _, _, err = s.modifyMethod(r, func(_ *apis.API, _ *apis.ResourceNode, rt *apis.Route) error {
		return c.put(rt, code, v)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c.wire(code, v))
}

func getStatusResponse[V, J any](s *Server, w http.ResponseWriter, r *http.Request, c statusResponses[V, J]) error {
	_, _, rt, err := s.methodOf(r)
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	v, err := c.find(rt, code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c.wire(code, v))
}

func deleteStatusResponse[V, J any](s *Server, w http.ResponseWriter, r *http.Request, c statusResponses[V, J]) error {
	code := r.PathValue("code")
	_, _, _, err := s.modifyMethod(r, func(_ *apis.API, _ *apis.ResourceNode, rt *apis.Route) error {
		v, err := c.find(rt, code)
		if err != nil {
			return err
		}
		c.remove(rt, code, v)
		return nil
	})
	return noContent(w, err)
}

func updateStatusResponse[V, J any](s *Server, w http.ResponseWriter, r *http.Request, c statusResponses[V, J]) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	var v V
	_, _, _, err = s.modifyMethod(r, func(_ *apis.API, _ *apis.ResourceNode, rt *apis.Route) error {
		cur, err := c.find(rt, code)
		if err != nil {
			return err
		}
		if v, err = c.patch(cur, ops); err != nil {
			return err
		}
		return c.put(rt, code, v)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c.wire(code, v))
}

// methodResponses is the status response kind of a method's responses.
type methodResponses struct{}

func (methodResponses) find(rt *apis.Route, code string) (apis.MethodResponse, error) {
	mr, ok := rt.Responses[code]
	if !ok {
		return mr, errResponseNotFound
	}
	return mr, nil
}

// put keeps the description the response had.
func (methodResponses) put(rt *apis.Route, code string, mr apis.MethodResponse) error {
	if rt.Responses == nil {
		rt.Responses = map[string]apis.MethodResponse{}
	}
	mr.Description = rt.Responses[code].Description
	rt.Responses[code] = mr
	return nil
}

func (methodResponses) remove(rt *apis.Route, code string, _ apis.MethodResponse) {
	delete(rt.Responses, code)
}

func (methodResponses) wire(code string, mr apis.MethodResponse) methodResponseJSON {
	return toMethodResponseJSON(code, mr)
}

func (methodResponses) patch(mr apis.MethodResponse, ops []PatchOperation) (apis.MethodResponse, error) {
	for _, op := range ops {
		segs := op.Segments()
		switch {
		case len(segs) == 2 && segs[0] == "responseParameters" && (op.Op == "add" || op.Op == "replace" || op.Op == "remove"):
			h, err := responseHeader(segs[1])
			if err != nil {
				return mr, err
			}
			mr.Headers = slices.DeleteFunc(slices.Clone(mr.Headers), func(x string) bool { return x == h })
			mr.RequiredHeaders = slices.DeleteFunc(slices.Clone(mr.RequiredHeaders), func(x string) bool { return x == h })
			if op.Op != "remove" {
				mr.Headers = append(mr.Headers, h)
				required := false
				if op.Value != nil && *op.Value != "" {
					b, err := patchBool(op)
					if err != nil {
						return mr, err
					}
					required = *b
				}
				if required {
					mr.RequiredHeaders = append(mr.RequiredHeaders, h)
				}
			}
		case len(segs) == 2 && segs[0] == "responseModels" && (op.Op == "add" || op.Op == "replace" || op.Op == "remove"):
			if op.Op == "remove" {
				delete(mr.Models, segs[1])
				continue
			}
			if err := putStringMap(&mr.Models, segs[1], op); err != nil {
				return mr, err
			}
		default:
			return mr, BadPatchPath(op)
		}
	}
	return mr, nil
}
