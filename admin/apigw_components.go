package admin

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds API Gateway's (v1) authorizers, models, request validators
// and gateway responses. The API model keeps them by name: authorizers as
// OpenAPI security schemes with x-amazon-apigateway-authorizer, models as
// JSON schemas, validators and gateway responses as the OpenAPI extensions
// hold them. Their ids derive from their names (nameID); renaming one gives it
// a new id.

func (s *Server) registerComponentRoutes() {
	const p = "/restapis/{api}"
	s.HandleAPIGateway("POST "+p+"/authorizers", s.apigwCreateAuthorizer)
	s.HandleAPIGateway("GET "+p+"/authorizers", s.apigwGetAuthorizers)
	s.HandleAPIGateway("GET "+p+"/authorizers/{id}", s.apigwGetAuthorizer)
	s.HandleAPIGateway("PATCH "+p+"/authorizers/{id}", s.apigwUpdateAuthorizer)
	s.HandleAPIGateway("DELETE "+p+"/authorizers/{id}", s.apigwDeleteAuthorizer)

	s.HandleAPIGateway("POST "+p+"/models", s.apigwCreateModel)
	s.HandleAPIGateway("GET "+p+"/models", s.apigwGetModels)
	s.HandleAPIGateway("GET "+p+"/models/{name}", s.apigwGetModel)
	s.HandleAPIGateway("PATCH "+p+"/models/{name}", s.apigwUpdateModel)
	s.HandleAPIGateway("DELETE "+p+"/models/{name}", s.apigwDeleteModel)

	s.HandleAPIGateway("POST "+p+"/requestvalidators", s.apigwCreateValidator)
	s.HandleAPIGateway("GET "+p+"/requestvalidators", s.apigwGetValidators)
	s.HandleAPIGateway("GET "+p+"/requestvalidators/{id}", s.apigwGetValidator)
	s.HandleAPIGateway("PATCH "+p+"/requestvalidators/{id}", s.apigwUpdateValidator)
	s.HandleAPIGateway("DELETE "+p+"/requestvalidators/{id}", s.apigwDeleteValidator)

	s.HandleAPIGateway("GET "+p+"/gatewayresponses", s.apigwGetGatewayResponses)
	s.HandleAPIGateway("GET "+p+"/gatewayresponses/{type}", s.apigwGetGatewayResponse)
	s.HandleAPIGateway("PUT "+p+"/gatewayresponses/{type}", s.apigwPutGatewayResponse)
	s.HandleAPIGateway("PATCH "+p+"/gatewayresponses/{type}", s.apigwUpdateGatewayResponse)
	s.HandleAPIGateway("DELETE "+p+"/gatewayresponses/{type}", s.apigwDeleteGatewayResponse)
}

// inUse is the error for deleting a component a method still names.
func inUse(what, name string, rt *apis.Route) error {
	return errdefs.New(errdefs.ErrConflict, "ConflictException",
		fmt.Sprintf("Cannot delete %s '%s': it is referenced by method %s %s", what, name, rt.Method, rt.Path))
}

// listByName answers a page of the components of one kind that an API keeps
// by name, ordered by name and paged by id.
func listByName[V, J any](s *Server, w http.ResponseWriter, r *http.Request, kind string,
	of func(*apis.API) map[string]V, show func(apiID, name string, v V) J) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	m := of(a)
	names := slices.Sorted(maps.Keys(m))
	page, next, err := pageByID(r, names, func(n string) string { return nameID(a.ID, kind, n) })
	if err != nil {
		return err
	}
	out := collection[J]{Item: make([]J, 0, len(page)), Position: next}
	for _, n := range page {
		out.Item = append(out.Item, show(a.ID, n, m[n]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// ---- authorizers

// authorizerJSON is API Gateway's Authorizer (and create-authorizer's body).
type authorizerJSON struct {
	ID                           string   `json:"id,omitempty"`
	Name                         string   `json:"name"`
	Type                         string   `json:"type"`
	ProviderARNs                 []string `json:"providerARNs,omitempty"`
	AuthType                     string   `json:"authType,omitempty"`
	AuthorizerURI                string   `json:"authorizerUri,omitempty"`
	AuthorizerCredentials        string   `json:"authorizerCredentials,omitempty"`
	IdentitySource               string   `json:"identitySource,omitempty"`
	IdentityValidationExpression string   `json:"identityValidationExpression,omitempty"`
	AuthorizerResultTTLInSeconds *int     `json:"authorizerResultTtlInSeconds,omitempty"`
}

// authorizerScheme is the security scheme an authorizer is kept as.
type authorizerScheme struct {
	Type       string        `json:"type"`
	Name       string        `json:"name"`
	In         string        `json:"in"`
	AuthType   string        `json:"x-amazon-apigateway-authtype,omitempty"`
	Authorizer authorizerExt `json:"x-amazon-apigateway-authorizer"`
}

// toScheme turns an authorizer into the security scheme the OpenAPI importer
// would keep for it: unsupported types stay in the document's form so that
// the API's validation refuses them with the importer's message.
func (in authorizerJSON) toScheme() (json.RawMessage, error) {
	typ := strings.ToUpper(in.Type)
	sc := authorizerScheme{Type: "apiKey", Name: "Unused", In: "header", AuthType: "custom",
		Authorizer: authorizerExt{Type: strings.ToLower(typ), AuthorizerURI: in.AuthorizerURI, AuthorizerCredentials: in.AuthorizerCredentials,
			IdentitySource: in.IdentitySource, IdentityValidationExpression: in.IdentityValidationExpression,
			AuthorizerResultTTLInSeconds: in.AuthorizerResultTTLInSeconds}}
	switch typ {
	case apis.AuthorizerToken:
		if in.IdentitySource == "" {
			return nil, badRequest("Invalid identity source: a TOKEN authorizer needs identitySource (method.request.header.NAME)")
		}
		sc.Name = strings.TrimPrefix(in.IdentitySource, "method.request.header.")
	case apis.AuthorizerRequest:
	case "COGNITO_USER_POOLS":
		sc.Name, sc.AuthType = "Authorization", "cognito_user_pools"
		sc.Authorizer.ProviderARNs = in.ProviderARNs
	case "":
		return nil, badRequest("Invalid authorizer type: type is required (TOKEN or REQUEST)")
	default:
		return nil, badRequest("Invalid authorizer type '%s': use TOKEN or REQUEST", truncate(in.Type, 40))
	}
	if in.AuthType != "" {
		sc.AuthType = in.AuthType
	}
	return json.Marshal(sc)
}

func toAuthorizerJSON(apiID, name string, raw json.RawMessage) authorizerJSON {
	var sc authorizerScheme
	_ = json.Unmarshal(raw, &sc)
	x := sc.Authorizer
	return authorizerJSON{ID: nameID(apiID, "authorizer", name), Name: name, Type: strings.ToUpper(x.Type), ProviderARNs: x.ProviderARNs,
		AuthType: sc.AuthType, AuthorizerURI: x.AuthorizerURI, AuthorizerCredentials: x.AuthorizerCredentials,
		IdentitySource: x.IdentitySource, IdentityValidationExpression: x.IdentityValidationExpression,
		AuthorizerResultTTLInSeconds: x.AuthorizerResultTTLInSeconds}
}

// lambdaAuthorizers returns the API's authorizers (its security schemes that
// are not plain API keys).
func lambdaAuthorizers(a *apis.API) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for name, raw := range a.Authorizers {
		if au, err := apis.ParseAuthorizer(a.Protocol, name, raw); err != nil || au != nil {
			out[name] = raw
		}
	}
	return out
}

func (s *Server) apigwCreateAuthorizer(w http.ResponseWriter, r *http.Request) error {
	var in authorizerJSON
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if in.ID != "" {
		return badRequest("id is assigned by API Gateway")
	}
	if in.Name == "" {
		return badRequest("Invalid authorizer name: name is required")
	}
	raw, err := in.toScheme()
	if err != nil {
		return err
	}
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		if _, ok := a.Authorizers[in.Name]; ok {
			return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("Authorizer name '%s' already exists for this REST API", in.Name))
		}
		a.Authorizers = mergeMap(a.Authorizers, map[string]json.RawMessage{in.Name: raw})
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toAuthorizerJSON(a.ID, in.Name, a.Authorizers[in.Name]))
}

func (s *Server) apigwGetAuthorizers(w http.ResponseWriter, r *http.Request) error {
	return listByName(s, w, r, "authorizer", lambdaAuthorizers, toAuthorizerJSON)
}

func (s *Server) apigwGetAuthorizer(w http.ResponseWriter, r *http.Request) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	auth := lambdaAuthorizers(a)
	name, ok := byNameID(a.ID, "authorizer", r.PathValue("id"), auth)
	if !ok {
		return errAuthorizerNotFound
	}
	return writeJSON(w, http.StatusOK, toAuthorizerJSON(a.ID, name, auth[name]))
}

func (s *Server) apigwDeleteAuthorizer(w http.ResponseWriter, r *http.Request) error {
	_, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		name, ok := byNameID(a.ID, "authorizer", r.PathValue("id"), lambdaAuthorizers(a))
		if !ok {
			return errAuthorizerNotFound
		}
		for i := range a.Routes {
			if a.Routes[i].RouteScopes(name) != nil {
				return inUse("authorizer", name, &a.Routes[i])
			}
		}
		delete(a.Authorizers, name)
		return nil
	})
	return accepted(w, err)
}

func (s *Server) apigwUpdateAuthorizer(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	var name string
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		var ok bool
		name, ok = byNameID(a.ID, "authorizer", r.PathValue("id"), lambdaAuthorizers(a))
		if !ok {
			return errAuthorizerNotFound
		}
		cur := toAuthorizerJSON(a.ID, name, a.Authorizers[name])
		for _, op := range ops {
			if err := applyAuthorizerOp(&cur, op); err != nil {
				return err
			}
		}
		raw, err := cur.toScheme()
		if err != nil {
			return err
		}
		if cur.Name != name {
			if _, taken := a.Authorizers[cur.Name]; taken {
				return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("Authorizer name '%s' already exists for this REST API", cur.Name))
			}
			renameSecurity(a, name, cur.Name)
			delete(a.Authorizers, name)
			name = cur.Name
		}
		a.Authorizers[name] = raw
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toAuthorizerJSON(a.ID, name, a.Authorizers[name]))
}

// renameSecurity makes the methods that name authorizer from name to.
func renameSecurity(a *apis.API, from, to string) {
	for i := range a.Routes {
		for _, req := range a.Routes[i].Security {
			if scopes, ok := req[from]; ok {
				delete(req, from)
				req[to] = scopes
			}
		}
	}
}

// applyAuthorizerOp applies one update-authorizer operation.
func applyAuthorizerOp(a *authorizerJSON, op PatchOperation) error {
	segs := op.Segments()
	if len(segs) != 1 || (op.Op != "replace" && op.Op != "add" && op.Op != "remove") {
		return BadPatchPath(op)
	}
	var v string
	if op.Op != "remove" {
		var err error
		if v, err = op.StringValue(); err != nil {
			return err
		}
	}
	switch segs[0] {
	case "name":
		a.Name = v
	case "type":
		a.Type = v
	case "authorizerUri":
		a.AuthorizerURI = v
	case "authorizerCredentials":
		a.AuthorizerCredentials = v
	case "identitySource":
		a.IdentitySource = v
	case "identityValidationExpression":
		a.IdentityValidationExpression = v
	case "authorizerResultTtlInSeconds":
		if op.Op == "remove" {
			a.AuthorizerResultTTLInSeconds = nil
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return badPatchValue(op, "%q is not an integer", truncate(v, 40))
		}
		a.AuthorizerResultTTLInSeconds = &n
	default:
		return BadPatchPath(op)
	}
	if op.Op == "remove" && (segs[0] == "name" || segs[0] == "type") {
		return BadPatchPath(op)
	}
	return nil
}

// ---- models

// modelJSON is API Gateway's Model (and create-model's body).
type modelJSON struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Schema      string `json:"schema,omitempty"`
	ContentType string `json:"contentType"`
}

var modelNameRe = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

func toModelJSON(apiID, name string, schema json.RawMessage) modelJSON {
	return modelJSON{ID: nameID(apiID, "model", name), Name: name, Schema: string(schema), ContentType: "application/json"}
}

func modelNotFound(name string) error {
	return notFoundMsg(fmt.Sprintf("Invalid model name specified: %s", truncate(name, 128)))
}

func checkModelSchema(schema string) (json.RawMessage, error) {
	if !json.Valid([]byte(schema)) {
		return nil, badRequest("Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified: the schema is not JSON]")
	}
	return json.RawMessage(schema), nil
}

func (s *Server) apigwCreateModel(w http.ResponseWriter, r *http.Request) error {
	var in modelJSON
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if !modelNameRe.MatchString(in.Name) {
		return badRequest("Invalid model name '%s': use 1..128 alphanumerics", truncate(in.Name, 140))
	}
	if in.ContentType != "" && in.ContentType != "application/json" {
		return badRequest("Invalid content type '%s': models are JSON schemas (application/json)", truncate(in.ContentType, 60))
	}
	if in.Schema == "" {
		in.Schema = `{}`
	}
	schema, err := checkModelSchema(in.Schema)
	if err != nil {
		return err
	}
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		if _, ok := a.Models[in.Name]; ok {
			return errdefs.New(errdefs.ErrConflict, "ConflictException", "Model name already exists for this REST API")
		}
		a.Models = mergeMap(a.Models, map[string]json.RawMessage{in.Name: schema})
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toModelJSON(a.ID, in.Name, a.Models[in.Name]))
}

func (s *Server) apigwGetModels(w http.ResponseWriter, r *http.Request) error {
	return listByName(s, w, r, "model", func(a *apis.API) map[string]json.RawMessage { return a.Models }, toModelJSON)
}

func (s *Server) apigwGetModel(w http.ResponseWriter, r *http.Request) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	raw, ok := a.Models[name]
	if !ok {
		return modelNotFound(name)
	}
	return writeJSON(w, http.StatusOK, toModelJSON(a.ID, name, raw))
}

// modelUser returns a route that names model, or nil.
func modelUser(a *apis.API, model string) *apis.Route {
	for i := range a.Routes {
		rt := &a.Routes[i]
		if slices.Contains(slices.Collect(maps.Values(rt.RequestModels)), model) {
			return rt
		}
		for _, mr := range rt.Responses {
			if slices.Contains(slices.Collect(maps.Values(mr.Models)), model) {
				return rt
			}
		}
	}
	return nil
}

func (s *Server) apigwDeleteModel(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	_, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		if _, ok := a.Models[name]; !ok {
			return modelNotFound(name)
		}
		if rt := modelUser(a, name); rt != nil {
			return inUse("model", name, rt)
		}
		delete(a.Models, name)
		return nil
	})
	return accepted(w, err)
}

func (s *Server) apigwUpdateModel(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		if _, ok := a.Models[name]; !ok {
			return modelNotFound(name)
		}
		for _, op := range ops {
			if op.Op != "replace" || op.Path != "/schema" {
				return BadPatchPath(op)
			}
			v, err := op.StringValue()
			if err != nil {
				return err
			}
			schema, err := checkModelSchema(v)
			if err != nil {
				return err
			}
			a.Models[name] = schema
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toModelJSON(a.ID, name, a.Models[name]))
}

// ---- request validators

// validatorJSON is API Gateway's RequestValidator (and its create body).
type validatorJSON struct {
	ID                        string `json:"id,omitempty"`
	Name                      string `json:"name"`
	ValidateRequestBody       bool   `json:"validateRequestBody"`
	ValidateRequestParameters bool   `json:"validateRequestParameters"`
}

func toValidatorJSON(apiID, name string, v apis.RequestValidator) validatorJSON {
	return validatorJSON{ID: nameID(apiID, "validator", name), Name: name, ValidateRequestBody: v.ValidateRequestBody,
		ValidateRequestParameters: v.ValidateRequestParameters}
}

func (s *Server) apigwCreateValidator(w http.ResponseWriter, r *http.Request) error {
	var in validatorJSON
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if in.Name == "" || in.ID != "" {
		return badRequest("Invalid request validator: give a name (the id is assigned)")
	}
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		if _, ok := a.RequestValidators[in.Name]; ok {
			return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("Validator name '%s' already exists for this REST API", in.Name))
		}
		a.RequestValidators = mergeMap(a.RequestValidators, map[string]apis.RequestValidator{in.Name: {
			ValidateRequestBody: in.ValidateRequestBody, ValidateRequestParameters: in.ValidateRequestParameters}})
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toValidatorJSON(a.ID, in.Name, a.RequestValidators[in.Name]))
}

func (s *Server) apigwGetValidators(w http.ResponseWriter, r *http.Request) error {
	return listByName(s, w, r, "validator", func(a *apis.API) map[string]apis.RequestValidator { return a.RequestValidators }, toValidatorJSON)
}

func (s *Server) apigwGetValidator(w http.ResponseWriter, r *http.Request) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	name, ok := byNameID(a.ID, "validator", r.PathValue("id"), a.RequestValidators)
	if !ok {
		return errValidatorNotFound
	}
	return writeJSON(w, http.StatusOK, toValidatorJSON(a.ID, name, a.RequestValidators[name]))
}

func (s *Server) apigwDeleteValidator(w http.ResponseWriter, r *http.Request) error {
	_, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		name, ok := byNameID(a.ID, "validator", r.PathValue("id"), a.RequestValidators)
		if !ok {
			return errValidatorNotFound
		}
		for i := range a.Routes {
			if a.Routes[i].RequestValidator == name {
				return inUse("request validator", name, &a.Routes[i])
			}
		}
		if a.RequestValidator == name {
			a.RequestValidator = ""
		}
		delete(a.RequestValidators, name)
		return nil
	})
	return accepted(w, err)
}

func (s *Server) apigwUpdateValidator(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	var name string
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		var ok bool
		name, ok = byNameID(a.ID, "validator", r.PathValue("id"), a.RequestValidators)
		if !ok {
			return errValidatorNotFound
		}
		v := a.RequestValidators[name]
		newName := name
		for _, op := range ops {
			segs := op.Segments()
			if op.Op != "replace" || len(segs) != 1 {
				return BadPatchPath(op)
			}
			switch segs[0] {
			case "name":
				val, err := op.StringValue()
				if err != nil {
					return err
				}
				newName = val
			case "validateRequestBody", "validateRequestParameters":
				b, err := patchBool(op)
				if err != nil {
					return err
				}
				if segs[0] == "validateRequestBody" {
					v.ValidateRequestBody = *b
				} else {
					v.ValidateRequestParameters = *b
				}
			default:
				return BadPatchPath(op)
			}
		}
		if newName != name {
			if _, taken := a.RequestValidators[newName]; taken || newName == "" {
				return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("Validator name '%s' already exists for this REST API", newName))
			}
			delete(a.RequestValidators, name)
			for i := range a.Routes {
				if a.Routes[i].RequestValidator == name {
					a.Routes[i].RequestValidator = newName
				}
			}
			if a.RequestValidator == name {
				a.RequestValidator = newName
			}
			name = newName
		}
		a.RequestValidators[name] = v
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toValidatorJSON(a.ID, name, a.RequestValidators[name]))
}

// ---- gateway responses

// gatewayResponseJSON is API Gateway's GatewayResponse (and put's body).
type gatewayResponseJSON struct {
	ResponseType       string            `json:"responseType,omitempty"`
	StatusCode         string            `json:"statusCode,omitempty"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	DefaultResponse    bool              `json:"defaultResponse"`
}

const defaultGatewayTemplate = `{"message":$context.error.messageString}`

func toGatewayResponseJSON(typ string, gr apis.GatewayResponse, custom bool) gatewayResponseJSON {
	out := gatewayResponseJSON{ResponseType: typ, StatusCode: gr.StatusCode, ResponseParameters: gr.ResponseParameters,
		ResponseTemplates: gr.ResponseTemplates, DefaultResponse: !custom}
	if out.StatusCode == "" && typ != "DEFAULT_4XX" && typ != "DEFAULT_5XX" {
		out.StatusCode = strconv.Itoa(pipeline.ResponseType(typ).Default().Status)
	}
	if out.ResponseParameters == nil {
		out.ResponseParameters = map[string]string{}
	}
	if !custom {
		out.ResponseTemplates = map[string]string{"application/json": defaultGatewayTemplate}
	} else if out.ResponseTemplates == nil {
		out.ResponseTemplates = map[string]string{}
	}
	return out
}

func gatewayResponseType(r *http.Request) (string, error) {
	typ := r.PathValue("type")
	if !slices.Contains(apis.GatewayResponseTypes, typ) {
		return "", badRequest("Invalid gateway response type '%s'", truncate(typ, 60))
	}
	return typ, nil
}

func (s *Server) apigwGetGatewayResponses(w http.ResponseWriter, r *http.Request) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	types := slices.Sorted(slices.Values(apis.GatewayResponseTypes))
	page, next, err := pageByID(r, types, func(t string) string { return t })
	if err != nil {
		return err
	}
	out := collection[gatewayResponseJSON]{Item: make([]gatewayResponseJSON, 0, len(page)), Position: next}
	for _, t := range page {
		gr, custom := a.GatewayResponses[t]
		out.Item = append(out.Item, toGatewayResponseJSON(t, gr, custom))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apigwGetGatewayResponse(w http.ResponseWriter, r *http.Request) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	typ, err := gatewayResponseType(r)
	if err != nil {
		return err
	}
	gr, custom := a.GatewayResponses[typ]
	return writeJSON(w, http.StatusOK, toGatewayResponseJSON(typ, gr, custom))
}

func (s *Server) apigwPutGatewayResponse(w http.ResponseWriter, r *http.Request) error {
	var in gatewayResponseJSON
	if err := decodeJSON(w, r, jsonBody{limit: maxJSONBody, optional: true}, &in); err != nil {
		return err
	}
	typ, err := gatewayResponseType(r)
	if err != nil {
		return err
	}
	gr := apis.GatewayResponse{StatusCode: in.StatusCode, ResponseParameters: in.ResponseParameters, ResponseTemplates: in.ResponseTemplates}
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		a.GatewayResponses = mergeMap(a.GatewayResponses, map[string]apis.GatewayResponse{typ: gr})
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toGatewayResponseJSON(typ, a.GatewayResponses[typ], true))
}

func (s *Server) apigwUpdateGatewayResponse(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	typ, err := gatewayResponseType(r)
	if err != nil {
		return err
	}
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		gr := a.GatewayResponses[typ]
		for _, op := range ops {
			segs := op.Segments()
			switch {
			case len(segs) == 1 && segs[0] == "statusCode":
				gr.StatusCode = ""
				if op.Op != "remove" {
					v, err := op.StringValue()
					if err != nil {
						return err
					}
					gr.StatusCode = v
				}
			case len(segs) == 2 && segs[0] == "responseParameters":
				if err := patchStringMap(&gr.ResponseParameters, segs[1], op); err != nil {
					return err
				}
			case len(segs) == 2 && segs[0] == "responseTemplates":
				if err := patchStringMap(&gr.ResponseTemplates, segs[1], op); err != nil {
					return err
				}
			default:
				return BadPatchPath(op)
			}
		}
		a.GatewayResponses = mergeMap(a.GatewayResponses, map[string]apis.GatewayResponse{typ: gr})
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toGatewayResponseJSON(typ, a.GatewayResponses[typ], true))
}

func (s *Server) apigwDeleteGatewayResponse(w http.ResponseWriter, r *http.Request) error {
	typ, err := gatewayResponseType(r)
	if err != nil {
		return err
	}
	_, err = s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		if _, ok := a.GatewayResponses[typ]; !ok {
			return notFoundMsg("Invalid Gateway Response identifier specified")
		}
		delete(a.GatewayResponses, typ)
		return nil
	})
	return accepted(w, err)
}
