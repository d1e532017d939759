package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds API Gateway's (v1) REST API control plane in its own shapes:
// create-rest-api, get-rest-api(s), update-rest-api, delete-rest-api,
// import-rest-api and put-rest-api. The resource tree, methods, integrations,
// deployments, stages, authorizers, models, validators, gateway responses,
// exports and tags have files of their own (apigw_*.go). Every change goes
// through apis.Service.Modify, so it is validated by the same code as an
// OpenAPI import and applied in one transaction.

// registerRestAPIRoutes registers the REST API routes of API Gateway v1.
func (s *Server) registerRestAPIRoutes() {
	if s.gw.APIs == nil {
		return
	}
	s.HandleAPIGateway("POST /restapis", s.apigwCreateRestAPI)
	s.HandleAPIGateway("GET /restapis", s.apigwGetRestAPIs)
	s.HandleAPIGateway("GET /restapis/{api}", s.apigwGetRestAPI)
	s.HandleAPIGateway("PATCH /restapis/{api}", s.apigwUpdateRestAPI)
	s.HandleAPIGateway("PUT /restapis/{api}", s.apigwPutRestAPI)
	s.HandleAPIGateway("DELETE /restapis/{api}", s.apigwDeleteRestAPI)
	s.HandleAPIGateway("GET /restapis/{api}/stages/{stage}/exports/{type}", s.apigwGetExport)
	s.registerResourceRoutes()
	s.registerMethodRoutes()
	s.registerDeploymentRoutes()
	s.registerUpdateDeploymentRoute()
	s.registerComponentRoutes()
	s.registerTagRoutes()
}

// Extensions that REST API fields are kept as.
const (
	extPolicy = "x-amazon-apigateway-policy"
)

// restAPIJSON is API Gateway's RestApi.
type restAPIJSON struct {
	ID                        string                `json:"id"`
	Name                      string                `json:"name"`
	Description               string                `json:"description,omitempty"`
	CreatedDate               float64               `json:"createdDate"`
	Version                   string                `json:"version,omitempty"`
	Warnings                  []string              `json:"warnings,omitempty"`
	BinaryMediaTypes          []string              `json:"binaryMediaTypes,omitempty"`
	MinimumCompressionSize    *int                  `json:"minimumCompressionSize,omitempty"`
	APIKeySource              string                `json:"apiKeySource"`
	EndpointConfiguration     endpointConfiguration `json:"endpointConfiguration"`
	Tags                      map[string]string     `json:"tags,omitempty"`
	Policy                    string                `json:"policy,omitempty"`
	DisableExecuteAPIEndpoint bool                  `json:"disableExecuteApiEndpoint"`
	RootResourceID            string                `json:"rootResourceId"`
}

// endpointConfiguration is a REST API's endpoint types.
type endpointConfiguration struct {
	Types          []string `json:"types"`
	VPCEndpointIDs []string `json:"vpcEndpointIds,omitempty"`
}

func toRestAPIJSON(a *apis.API, warnings []string) restAPIJSON {
	out := restAPIJSON{ID: a.ID, Name: a.Name, Description: a.Description, CreatedDate: epoch(a.CreatedAt),
		Version: a.Version, Warnings: warnings, BinaryMediaTypes: a.BinaryMediaTypes, APIKeySource: a.APIKeySource,
		MinimumCompressionSize: a.MinimumCompressionSize,
		EndpointConfiguration:  endpointConfiguration{Types: a.EndpointTypes}, Tags: a.Tags,
		RootResourceID: a.ResourceTree()[0].ID, DisableExecuteAPIEndpoint: edge.ExecuteAPIEndpointDisabled(a.Extensions)}
	if raw, ok := a.Extensions[extPolicy]; ok {
		out.Policy = escapedPolicy(raw)
	}
	if out.APIKeySource == "" {
		out.APIKeySource = "HEADER"
	}
	if len(out.EndpointConfiguration.Types) == 0 {
		out.EndpointConfiguration.Types = []string{"EDGE"}
	}
	return out
}

// apiNotFound is API Gateway's answer for an unknown REST API id.
func apiNotFound(id string) error {
	return errdefs.New(errdefs.ErrNotFound, "NotFoundException",
		fmt.Sprintf("Invalid API identifier specified %s:%s", functions.AccountID, truncate(id, 100)))
}

// restAPIErr turns the service's plain not-found error (the API's) into API
// Gateway's message; errors that already carry their AWS message pass as they
// are.
func restAPIErr(id string, err error) error {
	var k *errdefs.Kinded
	if err == nil || errors.As(err, &k) {
		return err
	}
	if errors.Is(err, errdefs.ErrNotFound) {
		return apiNotFound(id)
	}
	if me, ok := errors.AsType[*apis.MappingError](err); ok {
		return mappingError(me.AWSMessage(), me.Use)
	}
	return err
}

// restAPI returns REST API id; the other protocols are apigatewayv2's.
func (s *Server) restAPI(ctx context.Context, id string) (*apis.API, error) {
	a, err := s.gw.APIs.Get(ctx, id)
	if err != nil {
		return nil, restAPIErr(id, err)
	}
	if a.Protocol != apis.ProtocolREST {
		return nil, apiNotFound(id)
	}
	return a, nil
}

// modifyRestAPI applies fn to REST API id in one transaction (see
// apis.Service.Modify): a failing fn or an invalid result changes nothing.
func (s *Server) modifyRestAPI(ctx context.Context, id string, fn func(a *apis.API) error) (*apis.API, error) {
	a, err := s.gw.APIs.Modify(ctx, id, func(a *apis.API) error {
		if a.Protocol != apis.ProtocolREST {
			return apiNotFound(id)
		}
		return fn(a)
	})
	return a, restAPIErr(id, err)
}

// createRestAPIRequest is CreateRestApi's body.
type createRestAPIRequest struct {
	Name                      string                 `json:"name"`
	Description               string                 `json:"description"`
	Version                   string                 `json:"version"`
	CloneFrom                 string                 `json:"cloneFrom"`
	BinaryMediaTypes          []string               `json:"binaryMediaTypes"`
	MinimumCompressionSize    *int                   `json:"minimumCompressionSize"`
	APIKeySource              string                 `json:"apiKeySource"`
	EndpointConfiguration     *endpointConfiguration `json:"endpointConfiguration"`
	Policy                    string                 `json:"policy"`
	Tags                      map[string]string      `json:"tags"`
	DisableExecuteAPIEndpoint bool                   `json:"disableExecuteApiEndpoint"`
}

// checkEndpointTypes accepts EDGE and REGIONAL. A PRIVATE API is reachable
// only from a VPC in AWS; Portico would serve it to everyone, so it refuses it.
func checkEndpointTypes(types []string, vpce []string) error {
	if len(vpce) > 0 {
		return badRequest("vpcEndpointIds are not supported: Portico has no private endpoints and refuses them rather than serve the API publicly")
	}
	if len(types) > 1 {
		return badRequest("endpointConfiguration.types takes one type, EDGE or REGIONAL")
	}
	for _, t := range types {
		switch t {
		case "EDGE", "REGIONAL":
		case "PRIVATE":
			return badRequest("PRIVATE endpoints are not supported: Portico has no private endpoints and refuses them rather than serve the API publicly")
		default:
			return badRequest("Invalid endpoint type '%s': use EDGE or REGIONAL", truncate(t, 40))
		}
	}
	return nil
}

// checkCompressionSize refuses a minimumCompressionSize outside 0..10485760.
func checkCompressionSize(n *int) error {
	if n != nil && (*n < 0 || *n > apis.MaxCompressionSize) {
		return badRequest("Invalid minimum compression size %d, must be between 0 and %d", *n, apis.MaxCompressionSize)
	}
	return nil
}

// escapedPolicy is a kept resource policy as API Gateway returns it: the
// document minified, then escaped as the inside of a JSON string (quotes and
// backslashes backslash-escaped, "/" as "\/"), so the SDK reads
// {\"Version\":\"2012-10-17\",...} and a client un-escapes it (Terraform's
// provider does) to get the document back.
func escapedPolicy(raw json.RawMessage) string {
	var doc string
	if json.Unmarshal(raw, &doc) != nil {
		doc = string(raw) // kept as a JSON document
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(doc)) == nil {
		doc = buf.String()
	}
	buf.Reset()
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(doc) // a string always encodes
	quoted := strings.TrimSuffix(buf.String(), "\n")
	quoted = strings.ReplaceAll(quoted, "/", `\/`)
	return quoted[1 : len(quoted)-1]
}

// setPolicy keeps a resource policy as x-amazon-apigateway-policy, which the
// API's validation checks as an OpenAPI import's (escapedPolicy reads it back).
func setPolicy(a *apis.API, policy string) {
	if strings.TrimSpace(policy) == "" {
		delete(a.Extensions, extPolicy)
		return
	}
	raw := json.RawMessage(policy)
	if !json.Valid(raw) {
		raw, _ = json.Marshal(policy)
	}
	if a.Extensions == nil {
		a.Extensions = map[string]json.RawMessage{}
	}
	a.Extensions[extPolicy] = raw
}

func (s *Server) apigwCreateRestAPI(w http.ResponseWriter, r *http.Request) error {
	switch mode := r.URL.Query().Get("mode"); mode {
	case "":
	case "import":
		return s.apigwImportRestAPI(w, r)
	default:
		return badRequest("Invalid mode '%s': use mode=import", truncate(mode, 40))
	}
	var in createRestAPIRequest
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if in.CloneFrom != "" {
		return badRequest("cloneFrom is not supported: export the API (get-export) and import it (import-rest-api)")
	}
	if err := checkCompressionSize(in.MinimumCompressionSize); err != nil {
		return err
	}
	a := &apis.API{Name: in.Name, Description: in.Description, Protocol: apis.ProtocolREST, Tags: in.Tags}
	a.Models = apis.DefaultModels()
	a.MinimumCompressionSize = in.MinimumCompressionSize
	setExecuteAPIEndpointDisabled(a, in.DisableExecuteAPIEndpoint)
	a.Version, a.BinaryMediaTypes, a.APIKeySource = in.Version, in.BinaryMediaTypes, in.APIKeySource
	if e := in.EndpointConfiguration; e != nil {
		if err := checkEndpointTypes(e.Types, e.VPCEndpointIDs); err != nil {
			return err
		}
		a.EndpointTypes = e.Types
	}
	if err := apis.ValidateTags(in.Tags); err != nil {
		return err
	}
	setPolicy(a, in.Policy)
	created, err := s.gw.APIs.Create(r.Context(), a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toRestAPIJSON(created, nil))
}

func (s *Server) apigwGetRestAPI(w http.ResponseWriter, r *http.Request) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRestAPIJSON(a, nil))
}

func (s *Server) apigwGetRestAPIs(w http.ResponseWriter, r *http.Request) error {
	list, err := s.gw.APIs.List(r.Context())
	if err != nil {
		return err
	}
	rest := slices.DeleteFunc(list, func(a *apis.API) bool { return a.Protocol != apis.ProtocolREST })
	page, next, err := pageByKey(r, rest, func(a *apis.API) sortKey { return sortKey{a.Name, a.ID} })
	if err != nil {
		return err
	}
	out := collection[restAPIJSON]{Item: make([]restAPIJSON, 0, len(page)), Position: next}
	for _, a := range page {
		out.Item = append(out.Item, toRestAPIJSON(a, nil))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apigwDeleteRestAPI(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("api")
	if _, err := s.restAPI(r.Context(), id); err != nil && !apis.IsDamagedAPI(err, id) {
		// A damaged record (its protocol unread) is deleted as it is.
		return err
	}
	if err := s.gw.APIs.Delete(r.Context(), id); err != nil {
		return restAPIErr(id, err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *Server) apigwUpdateRestAPI(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		return applyPatch(ops, func(op PatchOperation) error { return applyRestAPIOp(a, op) })
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRestAPIJSON(a, nil))
}

// applyRestAPIOp applies one update-rest-api patch operation.
func applyRestAPIOp(a *apis.API, op PatchOperation) error {
	segs := op.Segments()
	set := op.Op == "replace" || op.Op == "add"
	str := func(dst *string) error { return setOrClear(dst, op) }
	switch {
	case len(segs) == 1 && set && segs[0] == "name":
		return str(&a.Name)
	case len(segs) == 1 && segs[0] == "description" && (set || op.Op == "remove"):
		a.Description = ""
		if op.Op != "remove" {
			a.Description = op.DescriptionValue()
		}
		return nil
	case len(segs) == 1 && set && segs[0] == "version":
		return str(&a.Version)
	case len(segs) == 1 && set && segs[0] == "apiKeySource":
		if err := str(&a.APIKeySource); err != nil {
			return err
		}
		// In any case, as an import's x-amazon-apigateway-api-key-source.
		a.APIKeySource = strings.ToUpper(a.APIKeySource)
		if a.APIKeySource != "HEADER" && a.APIKeySource != "AUTHORIZER" {
			return badPatchValue(op, "use HEADER or AUTHORIZER")
		}
		return nil
	case len(segs) == 1 && segs[0] == "minimumCompressionSize" && (set || op.Op == "remove"):
		// An empty or absent value (or remove) turns compression off, as in
		// API Gateway.
		if op.Op == "remove" || op.Value == nil || *op.Value == "" {
			a.MinimumCompressionSize = nil
			return nil
		}
		n, err := patchInt(op)
		if err != nil {
			return err
		}
		if err := checkCompressionSize(n); err != nil {
			return err
		}
		a.MinimumCompressionSize = n
		return nil
	case len(segs) == 1 && segs[0] == "policy" && (set || op.Op == "remove"):
		var v string
		if err := str(&v); err != nil {
			return err
		}
		setPolicy(a, v)
		return nil
	case len(segs) == 2 && segs[0] == "binaryMediaTypes" && (op.Op == "add" || op.Op == "remove"):
		if op.Op == "add" {
			if !slices.Contains(a.BinaryMediaTypes, segs[1]) {
				a.BinaryMediaTypes = append(a.BinaryMediaTypes, segs[1])
			}
			return nil
		}
		i := slices.Index(a.BinaryMediaTypes, segs[1])
		if i < 0 {
			return badPatchValue(op, "%s is not one of the API's binary media types", truncate(segs[1], 100))
		}
		a.BinaryMediaTypes = slices.Delete(a.BinaryMediaTypes, i, i+1)
		return nil
	case len(segs) == 3 && segs[0] == "endpointConfiguration" && segs[1] == "types" && set:
		var v string
		if err := str(&v); err != nil {
			return err
		}
		if err := checkEndpointTypes([]string{v}, nil); err != nil {
			return err
		}
		a.EndpointTypes = []string{v}
		return nil
	case len(segs) == 1 && set && segs[0] == "disableExecuteApiEndpoint":
		b, err := patchBool(op)
		if err != nil {
			return err
		}
		setExecuteAPIEndpointDisabled(a, *b)
		return nil
	}
	return BadPatchPath(op)
}

// setExecuteAPIEndpointDisabled turns the API's default endpoint
// ({apiId}.execute-api... and the path-style URL) off or on again; the gateway
// answers 403 there while it is off (x-amazon-apigateway-endpoint-configuration).
func setExecuteAPIEndpointDisabled(a *apis.API, off bool) {
	if !off {
		delete(a.Extensions, edge.EndpointConfigurationExtension)
		return
	}
	if a.Extensions == nil {
		a.Extensions = map[string]json.RawMessage{}
	}
	a.Extensions[edge.EndpointConfigurationExtension] = json.RawMessage(`{"disableExecuteApiEndpoint":true}`)
}
