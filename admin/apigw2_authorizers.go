package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// apigatewayv2 authorizers and models. An authorizer is kept as the security
// scheme an OpenAPI import of the same API would hold (x-amazon-apigateway-
// authorizer), by name, so the gateway's auth stage and the model's
// validation treat both alike; a model is a JSON schema by name. Their ids are
// derived from their names.

func (s *Server) registerV2AuthorizerRoutes(p string) {
	s.handleCollection(p+"/{api}/authorizers", "{authorizer}", s.v2CreateAuthorizer, s.v2GetAuthorizers, s.v2GetAuthorizer, s.v2UpdateAuthorizer, s.v2DeleteAuthorizer)
	s.handleCollection(p+"/{api}/models", "{model}", s.v2CreateModel, s.v2GetModels, s.v2GetModel, s.v2UpdateModel, s.v2DeleteModel)
}

// v2JWTConfiguration is a JWT authorizer's configuration.
type v2JWTConfiguration struct {
	Audience []string `json:"audience,omitempty"`
	Issuer   string   `json:"issuer,omitempty"`
}

// v2Authorizer is apigatewayv2's Authorizer shape; as input, the body of
// create-authorizer and update-authorizer (absent fields keep their values).
type v2Authorizer struct {
	AuthorizerCredentialsArn       string              `json:"authorizerCredentialsArn,omitempty"`
	AuthorizerID                   string              `json:"authorizerId,omitempty"`
	AuthorizerPayloadFormatVersion string              `json:"authorizerPayloadFormatVersion,omitempty"`
	AuthorizerResultTTLInSeconds   *int                `json:"authorizerResultTtlInSeconds,omitempty"`
	AuthorizerType                 string              `json:"authorizerType"`
	AuthorizerURI                  string              `json:"authorizerUri,omitempty"`
	EnableSimpleResponses          bool                `json:"enableSimpleResponses,omitempty"`
	IdentitySource                 []string            `json:"identitySource,omitempty"`
	IdentityValidationExpression   string              `json:"identityValidationExpression,omitempty"`
	JWTConfiguration               *v2JWTConfiguration `json:"jwtConfiguration,omitempty"`
	Name                           string              `json:"name"`
}

// authorizerExt is x-amazon-apigateway-authorizer as the model keeps it, with
// the fields of both control planes (providerARNs is v1's, the JWT and payload
// fields v2's).
type authorizerExt struct {
	Type                           string              `json:"type"`
	AuthorizerURI                  string              `json:"authorizerUri,omitempty"`
	AuthorizerCredentials          string              `json:"authorizerCredentials,omitempty"`
	IdentitySource                 string              `json:"identitySource,omitempty"`
	IdentityValidationExpression   string              `json:"identityValidationExpression,omitempty"`
	AuthorizerResultTTLInSeconds   *int                `json:"authorizerResultTtlInSeconds,omitempty"`
	AuthorizerPayloadFormatVersion string              `json:"authorizerPayloadFormatVersion,omitempty"`
	EnableSimpleResponses          bool                `json:"enableSimpleResponses,omitempty"`
	JWTConfiguration               *v2JWTConfiguration `json:"jwtConfiguration,omitempty"`
	ProviderARNs                   []string            `json:"providerARNs,omitempty"`
}

// securityScheme is an OpenAPI security scheme holding an authorizer.
type securityScheme struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	In   string `json:"in,omitempty"`
	// Flows is an oauth2 scheme's (empty) flows, as AWS's exports of JWT
	// authorizers have them.
	Flows      *struct{}      `json:"flows,omitempty"`
	AuthType   string         `json:"x-amazon-apigateway-authtype,omitempty"`
	Authorizer *authorizerExt `json:"x-amazon-apigateway-authorizer"`
}

// toV2Authorizer reads the scheme name of a as an authorizer, as
// get-authorizer(s) report it: its authorizerUri as API Gateway reports it
// (apis.ReportedAuthorizerURI).
func toV2Authorizer(name string, raw json.RawMessage) v2Authorizer {
	out := storedV2Authorizer(name, raw)
	out.AuthorizerURI = apis.ReportedAuthorizerURI(out.AuthorizerURI)
	return out
}

// storedV2Authorizer is toV2Authorizer with the authorizerUri as stored:
// what update-authorizer changes, so that an update leaves the URI it does
// not set as it was given.
func storedV2Authorizer(name string, raw json.RawMessage) v2Authorizer {
	var sch securityScheme
	_ = json.Unmarshal(raw, &sch)
	out := v2Authorizer{AuthorizerID: derivedID("authorizer", name), Name: name}
	if x := sch.Authorizer; x != nil {
		out.AuthorizerType = strings.ToUpper(x.Type)
		out.AuthorizerURI, out.AuthorizerCredentialsArn = x.AuthorizerURI, x.AuthorizerCredentials
		out.IdentityValidationExpression, out.AuthorizerResultTTLInSeconds = x.IdentityValidationExpression, x.AuthorizerResultTTLInSeconds
		out.AuthorizerPayloadFormatVersion, out.EnableSimpleResponses = x.AuthorizerPayloadFormatVersion, x.EnableSimpleResponses
		out.JWTConfiguration = x.JWTConfiguration
		for _, src := range strings.Split(x.IdentitySource, ",") {
			if src = strings.TrimSpace(src); src != "" {
				out.IdentitySource = append(out.IdentitySource, src)
			}
		}
	}
	return out
}

// v2AuthorizerPatch is the body of update-authorizer: absent fields are kept.
type v2AuthorizerPatch struct {
	AuthorizerCredentialsArn       *string             `json:"authorizerCredentialsArn"`
	AuthorizerPayloadFormatVersion *string             `json:"authorizerPayloadFormatVersion"`
	AuthorizerResultTTLInSeconds   *int                `json:"authorizerResultTtlInSeconds"`
	AuthorizerType                 *string             `json:"authorizerType"`
	AuthorizerURI                  *string             `json:"authorizerUri"`
	EnableSimpleResponses          *bool               `json:"enableSimpleResponses"`
	IdentitySource                 []string            `json:"identitySource"`
	IdentityValidationExpression   *string             `json:"identityValidationExpression"`
	JWTConfiguration               *v2JWTConfiguration `json:"jwtConfiguration"`
	Name                           *string             `json:"name"`
}

// apply sets p's fields on au.
func (p *v2AuthorizerPatch) apply(au *v2Authorizer) {
	setIfGiven(&au.AuthorizerCredentialsArn, p.AuthorizerCredentialsArn)
	setIfGiven(&au.AuthorizerPayloadFormatVersion, p.AuthorizerPayloadFormatVersion)
	setIfGiven(&au.AuthorizerType, p.AuthorizerType)
	setIfGiven(&au.AuthorizerURI, p.AuthorizerURI)
	setIfGiven(&au.IdentityValidationExpression, p.IdentityValidationExpression)
	setIfGiven(&au.Name, p.Name)
	if p.AuthorizerResultTTLInSeconds != nil {
		au.AuthorizerResultTTLInSeconds = p.AuthorizerResultTTLInSeconds
	}
	setIfGiven(&au.EnableSimpleResponses, p.EnableSimpleResponses)
	if p.IdentitySource != nil {
		au.IdentitySource = p.IdentitySource
	}
	if p.JWTConfiguration != nil {
		au.JWTConfiguration = p.JWTConfiguration
	}
	au.AuthorizerType = strings.ToUpper(au.AuthorizerType)
}

// scheme turns an authorizer into the security scheme the model keeps; the
// model's validation (apis.ParseAuthorizer) then checks it as an import would.
func (au *v2Authorizer) scheme() (json.RawMessage, error) {
	if strings.TrimSpace(au.Name) == "" {
		return nil, v2BadRequest("Invalid request body: name is required")
	}
	x := &authorizerExt{IdentitySource: strings.Join(au.IdentitySource, ","), IdentityValidationExpression: au.IdentityValidationExpression}
	sch := securityScheme{Authorizer: x}
	switch au.AuthorizerType {
	case apis.AuthorizerRequest:
		sch.Type, sch.Name, sch.In, sch.AuthType = "apiKey", "Authorization", "header", "custom"
		// The scheme names the header the authorizer reads, when it reads
		// one among its sources (a query string, $context or stage variable
		// beside it is not a header a client sends), for the tools that
		// render an export (the extension's identitySource is what the
		// gateway and an import read).
		var headers []string
		for _, src := range au.IdentitySource {
			if h, ok := strings.CutPrefix(strings.TrimSpace(src), "$request.header."); ok && h != "" {
				headers = append(headers, h)
			}
		}
		if len(headers) == 1 {
			sch.Name = headers[0]
		}
		x.Type, x.AuthorizerURI, x.AuthorizerCredentials = "request", au.AuthorizerURI, au.AuthorizerCredentialsArn
		x.AuthorizerResultTTLInSeconds, x.AuthorizerPayloadFormatVersion = au.AuthorizerResultTTLInSeconds, au.AuthorizerPayloadFormatVersion
		x.EnableSimpleResponses = au.EnableSimpleResponses
	case apis.AuthorizerJWT:
		if au.AuthorizerURI != "" {
			return nil, v2BadRequest("A JWT authorizer takes no authorizerUri")
		}
		sch.Type, sch.Flows = "oauth2", &struct{}{}
		x.Type, x.JWTConfiguration = "jwt", au.JWTConfiguration
	default:
		return nil, v2BadRequest("authorizerType %q must be REQUEST or JWT", truncate(au.AuthorizerType, 30))
	}
	return json.Marshal(sch)
}

// v2FindAuthorizer returns the name of authorizer {authorizer} of a.
func v2FindAuthorizer(a *apis.API, r *http.Request) (string, error) {
	name, ok := authorizerByID(a, r.PathValue("authorizer"))
	if !ok || schemeKind(a.Authorizers[name]) == authIAM {
		return "", v2NotFound("Authorizer", r.PathValue("authorizer"))
	}
	return name, nil
}

// authorizerUsers returns the keys of the routes whose security names name.
func authorizerUsers(a *apis.API, name string) []string {
	var keys []string
	for i := range a.Routes {
		for _, req := range a.Routes[i].Security {
			if _, ok := req[name]; ok {
				keys = append(keys, a.Routes[i].RouteKey)
				break
			}
		}
	}
	return keys
}

// errPayloadFormatVersionRequired refuses an HTTP API Lambda authorizer
// without authorizerPayloadFormatVersion, which API Gateway requires of them.
func errPayloadFormatVersionRequired() error {
	return v2BadRequest("authorizerPayloadFormatVersion is required for HTTP API Lambda (REQUEST) authorizers: " +
		"set 1.0 or 2.0 (--authorizer-payload-format-version 2.0), the version of the event the authorizer receives and of the answer it gives")
}

// v2AuthorizerError is err of create-authorizer or update-authorizer in
// apigatewayv2's words: the API's validation, shared with the OpenAPI import,
// names an authorizer by its security scheme, which an apigatewayv2 caller
// never wrote.
func v2AuthorizerError(err error) error {
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrInvalid) || errors.As(err, &k) {
		return err
	}
	msg := strings.ReplaceAll(clientMessage(err), `security scheme "`, `authorizer "`)
	return v2BadRequest("%s", strings.Join(strings.Split(msg, "\n"), "; "))
}

func (s *Server) v2CreateAuthorizer(w http.ResponseWriter, r *http.Request) error {
	var in v2Authorizer
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	in.AuthorizerType = strings.ToUpper(in.AuthorizerType)
	raw, err := in.scheme()
	if err != nil {
		return err
	}
	a, err := s.v2Modify(r, func(a *apis.API) error {
		if _, ok := a.Authorizers[in.Name]; ok {
			return v2Conflict("Authorizer with name %s already exists for this API", in.Name)
		}
		if a.Protocol == apis.ProtocolHTTP && in.AuthorizerType == apis.AuthorizerRequest && in.AuthorizerPayloadFormatVersion == "" {
			return errPayloadFormatVersionRequired()
		}
		if a.Authorizers == nil {
			a.Authorizers = map[string]json.RawMessage{}
		}
		a.Authorizers[in.Name] = raw
		return nil
	})
	if err != nil {
		return v2AuthorizerError(err)
	}
	return writeJSON(w, http.StatusCreated, toV2Authorizer(in.Name, a.Authorizers[in.Name]))
}

func (s *Server) v2GetAuthorizers(w http.ResponseWriter, r *http.Request) error {
	return v2List(s, w, r, func(a *apis.API) ([]v2Authorizer, error) {
		out := []v2Authorizer{}
		for _, name := range sortedKeys(a.Authorizers) {
			if k := schemeKind(a.Authorizers[name]); k == authCustom || k == authJWT {
				out = append(out, toV2Authorizer(name, a.Authorizers[name]))
			}
		}
		return out, nil
	}, func(a v2Authorizer) sortKey { return sortKey{a.Name} })
}

func (s *Server) v2GetAuthorizer(w http.ResponseWriter, r *http.Request) error {
	return v2Get(s, w, r, func(a *apis.API) (v2Authorizer, error) {
		name, err := v2FindAuthorizer(a, r)
		return toV2Authorizer(name, a.Authorizers[name]), err
	})
}

func (s *Server) v2UpdateAuthorizer(w http.ResponseWriter, r *http.Request) error {
	var p v2AuthorizerPatch
	if err := decodeV2(w, r, &p); err != nil {
		return err
	}
	var name string
	a, err := s.v2Modify(r, func(a *apis.API) error {
		old, err := v2FindAuthorizer(a, r)
		if err != nil {
			return err
		}
		au := storedV2Authorizer(old, a.Authorizers[old])
		wasRequest := au.AuthorizerType == apis.AuthorizerRequest
		p.apply(&au)
		if a.Protocol == apis.ProtocolHTTP && au.AuthorizerType == apis.AuthorizerRequest && au.AuthorizerPayloadFormatVersion == "" {
			if !wasRequest {
				return errPayloadFormatVersionRequired()
			}
			// A Lambda authorizer stored before the version was kept
			// explicitly ran with 2.0.
			au.AuthorizerPayloadFormatVersion = "2.0"
		}
		raw, err := au.scheme()
		if err != nil {
			return err
		}
		name = au.Name
		if name != old {
			if _, taken := a.Authorizers[name]; taken {
				return v2Conflict("Authorizer with name %s already exists for this API", name)
			}
			delete(a.Authorizers, old)
			for i := range a.Routes {
				for _, req := range a.Routes[i].Security {
					if sc, ok := req[old]; ok {
						delete(req, old)
						req[name] = sc
					}
				}
			}
		}
		a.Authorizers[name] = raw
		return nil
	})
	if err != nil {
		return v2AuthorizerError(err)
	}
	return writeJSON(w, http.StatusOK, toV2Authorizer(name, a.Authorizers[name]))
}

func (s *Server) v2DeleteAuthorizer(w http.ResponseWriter, r *http.Request) error {
	_, err := s.v2Modify(r, func(a *apis.API) error {
		name, err := v2FindAuthorizer(a, r)
		if err != nil {
			return err
		}
		if users := authorizerUsers(a, name); len(users) > 0 {
			return v2Conflict("Authorizer %s is used by route(s) %s; change their authorization first", r.PathValue("authorizer"), strings.Join(users, ", "))
		}
		delete(a.Authorizers, name)
		return nil
	})
	return noContent(w, err)
}

// v2Model is apigatewayv2's Model shape. Portico keeps a model's schema by
// name; its content type is application/json.
type v2Model struct {
	ContentType string `json:"contentType,omitempty"`
	Description string `json:"description,omitempty"`
	ModelID     string `json:"modelId"`
	Name        string `json:"name"`
	Schema      string `json:"schema,omitempty"`
}

// v2ModelInput is the body of create-model and update-model.
type v2ModelInput struct {
	ContentType *string `json:"contentType"`
	Description *string `json:"description"`
	Name        *string `json:"name"`
	Schema      *string `json:"schema"`
}

// toV2Model is model name of a as apigatewayv2 shows it: the description is
// kept beside the schema, which is kept as written.
func toV2Model(a *apis.API, name string) v2Model {
	return v2Model{ContentType: "application/json", ModelID: derivedID("model", name), Name: name,
		Schema: a.ModelText(name), Description: a.ModelDescriptions[name]}
}

// check refuses what Portico cannot keep: content types other than JSON.
func (in *v2ModelInput) check() error {
	if in.ContentType != nil && *in.ContentType != "application/json" {
		return v2BadRequest("contentType %q: Portico's models are JSON schemas (application/json)", truncate(*in.ContentType, 50))
	}
	if in.Schema != nil && !json.Valid([]byte(*in.Schema)) {
		return v2BadRequest("Invalid model schema specified: not JSON")
	}
	return nil
}

func v2FindModel(a *apis.API, r *http.Request) (string, error) {
	for name := range a.Models {
		if derivedID("model", name) == r.PathValue("model") {
			return name, nil
		}
	}
	return "", v2NotFound("Model", r.PathValue("model"))
}

func (s *Server) v2CreateModel(w http.ResponseWriter, r *http.Request) error {
	var in v2ModelInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.Name == nil || *in.Name == "" || in.Schema == nil {
		return v2BadRequest("Invalid request body: name and schema are required")
	}
	if err := in.check(); err != nil {
		return err
	}
	a, err := s.v2Modify(r, func(a *apis.API) error {
		if _, ok := a.Models[*in.Name]; ok {
			return v2Conflict("Model with name %s already exists for this API", *in.Name)
		}
		a.SetModel(*in.Name, *in.Schema)
		if in.Description != nil {
			setModelDescription(a, *in.Name, *in.Description)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toV2Model(a, *in.Name))
}

func (s *Server) v2GetModels(w http.ResponseWriter, r *http.Request) error {
	return v2List(s, w, r, func(a *apis.API) ([]v2Model, error) {
		return sortedItems(a.Models, func(name string, _ json.RawMessage) v2Model { return toV2Model(a, name) }), nil
	}, func(m v2Model) sortKey { return sortKey{m.Name} })
}

func (s *Server) v2GetModel(w http.ResponseWriter, r *http.Request) error {
	return v2Get(s, w, r, func(a *apis.API) (v2Model, error) {
		name, err := v2FindModel(a, r)
		if err != nil {
			return v2Model{}, err
		}
		return toV2Model(a, name), nil
	})
}

func (s *Server) v2UpdateModel(w http.ResponseWriter, r *http.Request) error {
	var in v2ModelInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	var name string
	a, err := s.v2Modify(r, func(a *apis.API) error {
		old, err := v2FindModel(a, r)
		if err != nil {
			return err
		}
		schema := a.ModelText(old)
		if in.Schema != nil {
			schema = *in.Schema
		}
		description := toV2Model(a, old).Description
		if in.Description != nil {
			description = *in.Description
		}
		name = old
		if in.Name != nil && *in.Name != old {
			name = *in.Name
			if _, taken := a.Models[name]; taken {
				return v2Conflict("Model with name %s already exists for this API", name)
			}
			delete(a.Models, old)
			delete(a.ModelDescriptions, old)
			delete(a.ModelTexts, old)
		}
		a.SetModel(name, schema)
		setModelDescription(a, name, description)
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toV2Model(a, name))
}

func (s *Server) v2DeleteModel(w http.ResponseWriter, r *http.Request) error {
	_, err := s.v2Modify(r, func(a *apis.API) error {
		name, err := v2FindModel(a, r)
		if err != nil {
			return err
		}
		if by := apis.ModelReferrer(a.Models, name); by != "" {
			return modelReferenced(name, by)
		}
		delete(a.Models, name)
		delete(a.ModelDescriptions, name)
		return nil
	})
	return noContent(w, err)
}
