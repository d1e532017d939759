package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
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
	componentRoutes(s, p+"/authorizers", "{id}", authorizers{})
	componentRoutes(s, p+"/models", "{name}", models{})
	componentRoutes(s, p+"/requestvalidators", "{id}", validators{})

	s.HandleAPIGateway("GET "+p+"/gatewayresponses", s.apigwGetGatewayResponses)
	s.handleItem(p+"/gatewayresponses/{type}", s.apigwPutGatewayResponse, s.apigwGetGatewayResponse,
		s.apigwUpdateGatewayResponse, s.apigwDeleteGatewayResponse)
}

// component is one kind of component a REST API keeps by name in a map
// (authorizers, models, request validators): V is how the API model keeps
// one, J its wire shape (also create's body). componentRoutes serves
// create/get/list/update/delete for every kind through it.
type component[V, J any] interface {
	// kind is the kind nameID derives ids from, which also pages the list.
	kind() string
	// kept is where the API keeps the components (a nil map is allowed).
	kept(a *apis.API) *map[string]V
	// listed is the components the list and the lookups see.
	listed(a *apis.API) map[string]V
	// find returns the name the request's path addresses, or the kind's not
	// found error.
	find(a *apis.API, r *http.Request) (string, error)
	// wire is a component's wire shape in API a.
	wire(a *apis.API, name string, v V) J
	// fromWire validates create's body: the name and what to keep.
	fromWire(in J) (string, V, error)
	// conflict is the error for a name already taken.
	conflict(name string) error
	// patch applies an update's operations to component name of API a: its
	// new name and value.
	patch(a *apis.API, name string, v V, ops []PatchOperation) (string, V, error)
	// rename makes what refers to component from refer to to.
	rename(a *apis.API, from, to string)
	// release refuses to delete a component in use, or drops what refers to it.
	release(a *apis.API, name string) error
}

// keeper is a component kind that keeps more of create's body J than its
// value, in the API (a model's description).
type keeper[J any] interface {
	keep(a *apis.API, name string, in J)
}

// componentRoutes registers the collection of one kind of component at base
// (handleCollection).
func componentRoutes[V, J any](s *Server, base, item string, c component[V, J]) {
	s.handleCollection(base, item,
		func(w http.ResponseWriter, r *http.Request) error { return createComponent(s, w, r, c) },
		func(w http.ResponseWriter, r *http.Request) error {
			return listByName(s, w, r, c.kind(), c.listed, c.wire)
		},
		func(w http.ResponseWriter, r *http.Request) error { return getComponent(s, w, r, c) },
		func(w http.ResponseWriter, r *http.Request) error { return updateComponent(s, w, r, c) },
		func(w http.ResponseWriter, r *http.Request) error { return deleteComponent(s, w, r, c) })
}

func createComponent[V, J any](s *Server, w http.ResponseWriter, r *http.Request, c component[V, J]) error {
	var in J
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	name, v, err := c.fromWire(in)
	if err != nil {
		return err
	}
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		m := c.kept(a)
		if _, ok := (*m)[name]; ok {
			return c.conflict(name)
		}
		*m = mergeMap(*m, map[string]V{name: v})
		if k, ok := any(c).(keeper[J]); ok {
			k.keep(a, name, in)
		}
		return nil
	})
	if err != nil {
		return reworded(c, err)
	}
	return writeJSON(w, http.StatusCreated, c.wire(a, name, (*c.kept(a))[name]))
}

// rewording is a component whose validation errors, shared with the OpenAPI
// import, are said in the control plane's words.
type rewording interface{ reword(err error) error }

// reworded is err in c's words, when c rewords its errors.
func reworded(c any, err error) error {
	if rw, ok := c.(rewording); ok {
		return rw.reword(err)
	}
	return err
}

func getComponent[V, J any](s *Server, w http.ResponseWriter, r *http.Request, c component[V, J]) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	name, err := c.find(a, r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c.wire(a, name, c.listed(a)[name]))
}

func updateComponent[V, J any](s *Server, w http.ResponseWriter, r *http.Request, c component[V, J]) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	var name string
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		var err error
		if name, err = c.find(a, r); err != nil {
			return err
		}
		m := *c.kept(a)
		newName, v, err := c.patch(a, name, m[name], ops)
		if err != nil {
			return err
		}
		if newName != name {
			if _, taken := m[newName]; taken {
				return c.conflict(newName)
			}
			c.rename(a, name, newName)
			delete(m, name)
			name = newName
		}
		m[name] = v
		return nil
	})
	if err != nil {
		return reworded(c, err)
	}
	return writeJSON(w, http.StatusOK, c.wire(a, name, (*c.kept(a))[name]))
}

func deleteComponent[V, J any](s *Server, w http.ResponseWriter, r *http.Request, c component[V, J]) error {
	_, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		name, err := c.find(a, r)
		if err != nil {
			return err
		}
		if err := c.release(a, name); err != nil {
			return err
		}
		delete(*c.kept(a), name)
		return nil
	})
	return accepted(w, err)
}

// findByNameID is find for the kinds addressed by id: the listed name whose
// nameID is the path's {id}.
func findByNameID[V, J any](c component[V, J], a *apis.API, r *http.Request, notFound error) (string, error) {
	name, ok := byNameID(a.ID, c.kind(), r.PathValue("id"), c.listed(a))
	if !ok {
		return "", notFound
	}
	return name, nil
}

// inUse is the error for deleting a component a method still names.
func inUse(what, name string, rt *apis.Route) error {
	return errdefs.New(errdefs.ErrConflict, "ConflictException",
		fmt.Sprintf("Cannot delete %s '%s': it is referenced by method %s %s", what, name, rt.Method, rt.Path))
}

// listByName answers a page of the components of one kind that an API keeps
// by name, ordered and paged by name.
func listByName[V, J any](s *Server, w http.ResponseWriter, r *http.Request, kind string,
	of func(*apis.API) map[string]V, show func(a *apis.API, name string, v V) J) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	m := of(a)
	names := slices.Sorted(maps.Keys(m))
	page, next, err := pageByKey(r, names, func(n string) sortKey { return sortKey{n} })
	if err != nil {
		return err
	}
	out := collection[J]{Item: make([]J, 0, len(page)), Position: next}
	for _, n := range page {
		out.Item = append(out.Item, show(a, n, m[n]))
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

// toAuthorizerJSON is the authorizer as get-authorizer(s) report it: its
// authorizerUri as API Gateway reports it (apis.ReportedAuthorizerURI).
func toAuthorizerJSON(apiID, name string, raw json.RawMessage) authorizerJSON {
	out := storedAuthorizerJSON(apiID, name, raw)
	out.AuthorizerURI = apis.ReportedAuthorizerURI(out.AuthorizerURI)
	return out
}

// storedAuthorizerJSON is the authorizer with its authorizerUri as stored:
// what update-authorizer patches, so that a patch leaves the URI it does
// not name as it was given.
func storedAuthorizerJSON(apiID, name string, raw json.RawMessage) authorizerJSON {
	var sc authorizerScheme
	_ = json.Unmarshal(raw, &sc)
	x := sc.Authorizer
	if x.IdentitySource == "" && strings.EqualFold(x.Type, apis.AuthorizerToken) {
		x.IdentitySource = apis.TokenIdentitySource(sc.In, sc.Name) // the one it reads
	}
	return authorizerJSON{ID: nameID(apiID, "authorizer", name), Name: name, Type: strings.ToUpper(x.Type), ProviderARNs: x.ProviderARNs,
		AuthType: sc.AuthType, AuthorizerURI: x.AuthorizerURI, AuthorizerCredentials: x.AuthorizerCredentials,
		IdentitySource: x.IdentitySource, IdentityValidationExpression: x.IdentityValidationExpression,
		AuthorizerResultTTLInSeconds: x.AuthorizerResultTTLInSeconds}
}

// lambdaAuthorizers returns the API's authorizers (its security schemes that
// are neither plain API keys nor awsSigv4, which is AWS_IAM authorization).
func lambdaAuthorizers(a *apis.API) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for name, raw := range a.Authorizers {
		if au, err := apis.ParseAuthorizer(a.Protocol, name, raw); err != nil || au != nil && au.Type != apis.AuthorizerIAM {
			out[name] = raw
		}
	}
	return out
}

// authorizers is the component kind of a REST API's authorizers, kept as
// security schemes.
type authorizers struct{}

func (authorizers) kind() string { return "authorizer" }

// reword says the API's validation errors about an authorizer (which name it
// by its OpenAPI security scheme) as create-authorizer and update-authorizer
// callers know it: an authorizer.
func (authorizers) reword(err error) error {
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrInvalid) || errors.As(err, &k) {
		return err
	}
	msg := strings.ReplaceAll(clientMessage(err), `security scheme "`, `authorizer "`)
	return badRequest("%s", strings.Join(strings.Split(msg, "\n"), "; "))
}

func (authorizers) kept(a *apis.API) *map[string]json.RawMessage { return &a.Authorizers }

func (authorizers) listed(a *apis.API) map[string]json.RawMessage { return lambdaAuthorizers(a) }

func (c authorizers) find(a *apis.API, r *http.Request) (string, error) {
	return findByNameID(c, a, r, errAuthorizerNotFound)
}

func (authorizers) wire(a *apis.API, name string, raw json.RawMessage) authorizerJSON {
	return toAuthorizerJSON(a.ID, name, raw)
}

func (authorizers) fromWire(in authorizerJSON) (string, json.RawMessage, error) {
	if in.ID != "" {
		return "", nil, badRequest("id is assigned by API Gateway")
	}
	if in.Name == "" {
		return "", nil, badRequest("Invalid authorizer name: name is required")
	}
	raw, err := in.toScheme()
	return in.Name, raw, err
}

func (authorizers) conflict(name string) error {
	return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("Authorizer name '%s' already exists for this REST API", name))
}

func (authorizers) patch(a *apis.API, name string, raw json.RawMessage, ops []PatchOperation) (string, json.RawMessage, error) {
	cur := storedAuthorizerJSON(a.ID, name, raw)
	if err := applyPatch(ops, func(op PatchOperation) error { return applyAuthorizerOp(&cur, op) }); err != nil {
		return "", nil, err
	}
	raw, err := cur.toScheme()
	return cur.Name, raw, err
}

func (authorizers) rename(a *apis.API, from, to string) { renameSecurity(a, from, to) }

func (authorizers) release(a *apis.API, name string) error {
	for i := range a.Routes {
		if a.Routes[i].RouteScopes(name) != nil {
			return inUse("authorizer", name, &a.Routes[i])
		}
	}
	return nil
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

// toModelJSON is model name of a, whose schema is schema: get-model returns
// the schema as written (apis.Definition.ModelTexts) where it was kept.
func toModelJSON(a *apis.API, name string, schema json.RawMessage) modelJSON {
	text := string(schema)
	if t, ok := a.ModelTexts[name]; ok {
		text = t
	}
	return modelJSON{ID: nameID(a.ID, "model", name), Name: name, Description: a.ModelDescriptions[name], Schema: text,
		ContentType: "application/json"}
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

// models is the component kind of a REST API's models, kept as JSON schemas
// and addressed by name.
type models struct{}

func (models) kind() string { return "model" }

func (models) kept(a *apis.API) *map[string]json.RawMessage { return &a.Models }

func (models) listed(a *apis.API) map[string]json.RawMessage { return a.Models }

func (models) find(a *apis.API, r *http.Request) (string, error) {
	name := r.PathValue("name")
	if _, ok := a.Models[name]; !ok {
		return "", modelNotFound(name)
	}
	return name, nil
}

func (models) wire(a *apis.API, name string, schema json.RawMessage) modelJSON {
	return toModelJSON(a, name, schema)
}

// keep keeps create-model's description, and its schema as written.
func (models) keep(a *apis.API, name string, in modelJSON) {
	setModelDescription(a, name, in.Description)
	if in.Schema != "" {
		a.SetModel(name, in.Schema)
	}
}

// setModelDescription keeps model name's description ("" drops it).
func setModelDescription(a *apis.API, name, description string) {
	if description == "" {
		delete(a.ModelDescriptions, name)
		return
	}
	if a.ModelDescriptions == nil {
		a.ModelDescriptions = map[string]string{}
	}
	a.ModelDescriptions[name] = description
}

func (models) fromWire(in modelJSON) (string, json.RawMessage, error) {
	if !apis.ValidModelName(in.Name) {
		return "", nil, badRequest("Invalid model name '%s': use 1..128 alphanumerics", truncate(in.Name, 140))
	}
	if in.ContentType != "" && in.ContentType != "application/json" {
		return "", nil, badRequest("Invalid content type '%s': models are JSON schemas (application/json)", truncate(in.ContentType, 60))
	}
	if in.Schema == "" {
		in.Schema = `{}`
	}
	schema, err := checkModelSchema(in.Schema)
	return in.Name, schema, err
}

func (models) conflict(string) error {
	return errdefs.New(errdefs.ErrConflict, "ConflictException", "Model name already exists for this REST API")
}

// patch replaces the schema or the description (a model cannot be renamed).
func (models) patch(a *apis.API, name string, schema json.RawMessage, ops []PatchOperation) (string, json.RawMessage, error) {
	for _, op := range ops {
		if op.Op != "replace" || (op.Path != "/schema" && op.Path != "/description") {
			return "", nil, BadPatchPath(op)
		}
		var v string
		if op.Value != nil {
			v = *op.Value
		}
		if op.Path == "/description" {
			setModelDescription(a, name, v)
			continue
		}
		var err error
		if schema, err = checkModelSchema(v); err != nil {
			return "", nil, err
		}
		a.SetModel(name, v) // its text, as written
	}
	return name, schema, nil
}

func (models) rename(*apis.API, string, string) {}

func (models) release(a *apis.API, name string) error {
	if rt := modelUser(a, name); rt != nil {
		return inUse("model", name, rt)
	}
	if by := apis.ModelReferrer(a.Models, name); by != "" {
		return modelReferenced(name, by)
	}
	return nil
}

// modelReferenced is the error for deleting a model another model refers to.
func modelReferenced(name, by string) error {
	return errdefs.New(errdefs.ErrConflict, "ConflictException",
		fmt.Sprintf("Cannot delete model '%s': it is referenced by model '%s'", name, by))
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

// validators is the component kind of a REST API's request validators.
type validators struct{}

func (validators) kind() string { return "validator" }

func (validators) kept(a *apis.API) *map[string]apis.RequestValidator { return &a.RequestValidators }

func (validators) listed(a *apis.API) map[string]apis.RequestValidator { return a.RequestValidators }

func (c validators) find(a *apis.API, r *http.Request) (string, error) {
	return findByNameID(c, a, r, errValidatorNotFound)
}

func (validators) wire(a *apis.API, name string, v apis.RequestValidator) validatorJSON {
	return toValidatorJSON(a.ID, name, v)
}

func (validators) fromWire(in validatorJSON) (string, apis.RequestValidator, error) {
	if in.Name == "" || in.ID != "" {
		return "", apis.RequestValidator{}, badRequest("Invalid request validator: give a name (the id is assigned)")
	}
	return in.Name, apis.RequestValidator{ValidateRequestBody: in.ValidateRequestBody, ValidateRequestParameters: in.ValidateRequestParameters}, nil
}

func (validators) conflict(name string) error {
	return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("Validator name '%s' already exists for this REST API", name))
}

func (c validators) patch(_ *apis.API, name string, v apis.RequestValidator, ops []PatchOperation) (string, apis.RequestValidator, error) {
	newName := name
	for _, op := range ops {
		segs := op.Segments()
		if op.Op != "replace" || len(segs) != 1 {
			return "", v, BadPatchPath(op)
		}
		switch segs[0] {
		case "name":
			val, err := op.StringValue()
			if err != nil {
				return "", v, err
			}
			newName = val
		case "validateRequestBody", "validateRequestParameters":
			b, err := patchBool(op)
			if err != nil {
				return "", v, err
			}
			if segs[0] == "validateRequestBody" {
				v.ValidateRequestBody = *b
			} else {
				v.ValidateRequestParameters = *b
			}
		default:
			return "", v, BadPatchPath(op)
		}
	}
	if newName == "" && name != "" {
		return "", v, c.conflict(newName)
	}
	return newName, v, nil
}

func (validators) rename(a *apis.API, from, to string) {
	for i := range a.Routes {
		if a.Routes[i].RequestValidator == from {
			a.Routes[i].RequestValidator = to
		}
	}
	if a.RequestValidator == from {
		a.RequestValidator = to
	}
}

func (validators) release(a *apis.API, name string) error {
	for i := range a.Routes {
		if a.Routes[i].RequestValidator == name {
			return inUse("request validator", name, &a.Routes[i])
		}
	}
	if a.RequestValidator == name {
		a.RequestValidator = ""
	}
	return nil
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

// toGatewayResponseJSON is the gateway response typ of an API whose customised
// responses are defs (gr and custom: typ's own entry, if any), as the gateway
// answers it. A type still on its defaults (defaultResponse true) "defaults to
// the DEFAULT_4XX type" (or DEFAULT_5XX), as API Gateway's guide puts it: when
// its family is customised it reads back with the family's statusCode,
// responseParameters and responseTemplates, which are what it is served with;
// a type without a statusCode of its own or of its family has its default one
// (DEFAULT_4XX and DEFAULT_5XX none), and one without templates the default
// template.
func toGatewayResponseJSON(typ string, defs map[string]apis.GatewayResponse, gr apis.GatewayResponse, custom bool) gatewayResponseJSON {
	if !custom {
		gr = defs[string(pipeline.ResponseType(typ).Family())]
	}
	out := gatewayResponseJSON{ResponseType: typ, StatusCode: gr.StatusCode, ResponseParameters: maps.Clone(gr.ResponseParameters),
		ResponseTemplates: maps.Clone(gr.ResponseTemplates), DefaultResponse: !custom}
	if out.StatusCode == "" && typ != "DEFAULT_4XX" && typ != "DEFAULT_5XX" {
		out.StatusCode = strconv.Itoa(pipeline.ResponseType(typ).Default().Status)
	}
	if out.ResponseParameters == nil {
		out.ResponseParameters = map[string]string{}
	}
	if !custom && len(out.ResponseTemplates) == 0 {
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
	page, next, err := pageByKey(r, types, func(t string) sortKey { return sortKey{t} })
	if err != nil {
		return err
	}
	out := collection[gatewayResponseJSON]{Item: make([]gatewayResponseJSON, 0, len(page)), Position: next}
	for _, t := range page {
		gr, custom := a.GatewayResponses[t]
		out.Item = append(out.Item, toGatewayResponseJSON(t, a.GatewayResponses, gr, custom))
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
	return writeJSON(w, http.StatusOK, toGatewayResponseJSON(typ, a.GatewayResponses, gr, custom))
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
	return s.setGatewayResponse(w, r, typ, http.StatusCreated, func(gr *apis.GatewayResponse) error {
		*gr = apis.GatewayResponse{StatusCode: in.StatusCode, ResponseParameters: in.ResponseParameters, ResponseTemplates: in.ResponseTemplates}
		return nil
	})
}

// setGatewayResponse keeps what change makes of the API's gateway response typ
// (from its zero value when the API has none) and answers it with status.
func (s *Server) setGatewayResponse(w http.ResponseWriter, r *http.Request, typ string, status int, change func(*apis.GatewayResponse) error) error {
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		gr := a.GatewayResponses[typ]
		if err := change(&gr); err != nil {
			return err
		}
		a.GatewayResponses = mergeMap(a.GatewayResponses, map[string]apis.GatewayResponse{typ: gr})
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, status, toGatewayResponseJSON(typ, a.GatewayResponses, a.GatewayResponses[typ], true))
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
	return s.setGatewayResponse(w, r, typ, http.StatusOK, func(gr *apis.GatewayResponse) error {
		for _, op := range ops {
			segs := op.Segments()
			switch {
			case len(segs) == 1 && segs[0] == "statusCode":
				if err := setOrClear(&gr.StatusCode, op); err != nil {
					return err
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
		return nil
	})
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
