package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
)

// apigatewayv2 routes and route responses. A route's id is derived from its
// route key (apis.RouteID) when it is created and kept when update-route
// changes the key (its stages' route settings follow the key); its target
// names an integration resource ("integrations/{id}"); its authorization names
// an authorizer kept as a security scheme.

func (s *Server) registerV2RouteRoutes(p string) {
	s.handleCollection(p+"/{api}/routes", "{route}", s.v2CreateRoute, s.v2GetRoutes, s.v2GetRoute, s.v2UpdateRoute, s.v2DeleteRoute)
	s.HandleAPIGateway("DELETE "+p+"/{api}/routes/{route}/requestparameters/{key}", s.v2DeleteRouteRequestParameter)
	s.handleCollection(p+"/{api}/routes/{route}/routeresponses", "{rr}", s.v2CreateRouteResponse, s.v2GetRouteResponses, s.v2GetRouteResponse, s.v2UpdateRouteResponse, s.v2DeleteRouteResponse)
}

// Authorization types of apigatewayv2 routes.
const (
	authNone   = "NONE"
	authCustom = "CUSTOM"
	authJWT    = "JWT"
	authIAM    = "AWS_IAM"
)

// iamScheme is the security scheme an AWS_IAM route names: the one the OpenAPI
// importer reads for IAM, so that the model's validation decides about it.
const (
	iamSchemeName = "sigv4"
	iamScheme     = `{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"awsSigv4"}`
)

// v2ParameterConstraints is a route request parameter's constraints.
type v2ParameterConstraints struct {
	Required bool `json:"required"`
}

// v2Route is apigatewayv2's Route shape.
type v2Route struct {
	APIKeyRequired                   bool                              `json:"apiKeyRequired"`
	AuthorizationScopes              []string                          `json:"authorizationScopes,omitempty"`
	AuthorizationType                string                            `json:"authorizationType"`
	AuthorizerID                     string                            `json:"authorizerId,omitempty"`
	ModelSelectionExpression         string                            `json:"modelSelectionExpression,omitempty"`
	OperationName                    string                            `json:"operationName,omitempty"`
	RequestModels                    map[string]string                 `json:"requestModels,omitempty"`
	RequestParameters                map[string]v2ParameterConstraints `json:"requestParameters,omitempty"`
	RouteID                          string                            `json:"routeId"`
	RouteKey                         string                            `json:"routeKey"`
	RouteResponseSelectionExpression string                            `json:"routeResponseSelectionExpression,omitempty"`
	Target                           string                            `json:"target,omitempty"`
}

// v2RouteInput is the body of create-route and update-route.
type v2RouteInput struct {
	APIKeyRequired                   *bool                             `json:"apiKeyRequired"`
	AuthorizationScopes              []string                          `json:"authorizationScopes"`
	AuthorizationType                *string                           `json:"authorizationType"`
	AuthorizerID                     *string                           `json:"authorizerId"`
	ModelSelectionExpression         *string                           `json:"modelSelectionExpression"`
	OperationName                    *string                           `json:"operationName"`
	RequestModels                    map[string]string                 `json:"requestModels"`
	RequestParameters                map[string]v2ParameterConstraints `json:"requestParameters"`
	RouteKey                         *string                           `json:"routeKey"`
	RouteResponseSelectionExpression *string                           `json:"routeResponseSelectionExpression"`
	Target                           *string                           `json:"target"`
}

// derivedID is the id of a resource the model keeps by name (authorizers,
// models, route and integration responses): 7 characters derived from kind
// and name, stable across restarts, exports and imports.
func derivedID(kind, name string) string { return apis.RouteID(kind + ":" + name) }

// schemeKind says what a security scheme is for a route: CUSTOM (a Lambda
// authorizer), JWT, AWS_IAM, or "" (an API key scheme, or unknown).
func schemeKind(raw json.RawMessage) string {
	var sch struct {
		AuthType   string `json:"x-amazon-apigateway-authtype"`
		Authorizer *struct {
			Type string `json:"type"`
		} `json:"x-amazon-apigateway-authorizer"`
	}
	if json.Unmarshal(raw, &sch) != nil {
		return ""
	}
	switch {
	case sch.Authorizer != nil && strings.EqualFold(sch.Authorizer.Type, "jwt"):
		return authJWT
	case sch.Authorizer != nil:
		return authCustom
	case strings.EqualFold(sch.AuthType, "awsSigv4"):
		return authIAM
	}
	return ""
}

// routeAuthorization returns a route's authorization type, authorizer name
// and scopes: AWS_IAM for a route whose x-amazon-apigateway-auth says so, as
// the gateway enforces it.
func routeAuthorization(a *apis.API, rt *apis.Route) (typ, name string, scopes []string) {
	if rt.IAMByExtension() {
		return authIAM, "", nil
	}
	for _, req := range rt.Security {
		for n, sc := range req {
			if k := schemeKind(a.Authorizers[n]); k != "" {
				return k, n, sc
			}
		}
	}
	return authNone, "", nil
}

func toV2Route(a *apis.API, rt *apis.Route) v2Route {
	out := v2Route{RouteID: rt.ID, RouteKey: rt.RouteKey, APIKeyRequired: rt.APIKeyRequired, OperationName: rt.OperationID,
		RouteResponseSelectionExpression: rt.RouteResponseSelectionExpression}
	if a.Protocol == apis.ProtocolWebSocket {
		// requestModels are WebSocket routes' (apigatewayv2's Route): an
		// HTTP API route's models, from an imported request body, are the
		// export's, not settings of the route.
		out.RequestModels = rt.RequestModels
	}
	if rt.IntegrationID != "" {
		out.Target = "integrations/" + rt.IntegrationID
	}
	typ, name, scopes := routeAuthorization(a, rt)
	out.AuthorizationType, out.AuthorizationScopes = typ, scopes
	if name != "" && typ != authIAM {
		out.AuthorizerID = derivedID("authorizer", name)
	}
	for _, p := range rt.Parameters {
		if a.Protocol != apis.ProtocolWebSocket {
			// An HTTP API's parameters (from an imported document) are
			// documentation: exported again, never checked, and not route
			// requestParameters, which are WebSocket APIs'.
			break
		}
		if out.RequestParameters == nil {
			out.RequestParameters = map[string]v2ParameterConstraints{}
		}
		in := p.In
		if in == "query" {
			in = "querystring"
		}
		out.RequestParameters["route.request."+in+"."+p.Name] = v2ParameterConstraints{Required: p.Required}
	}
	return out
}

// authorizerByID returns the name of the API's authorizer with the given id.
func authorizerByID(a *apis.API, id string) (string, bool) {
	for name, raw := range a.Authorizers {
		if schemeKind(raw) != "" && derivedID("authorizer", name) == id {
			return name, true
		}
	}
	return "", false
}

// apply sets in's fields on rt, a route of a.
func (in *v2RouteInput) apply(a *apis.API, rt *apis.Route) error {
	if in.RouteKey != nil {
		k, err := parseRouteKey(a.Protocol, *in.RouteKey)
		if err != nil {
			return err
		}
		rt.Method, rt.Path, rt.RouteKey = k.Method, k.Path, k.RouteKey
	}
	setIfGiven(&rt.OperationID, in.OperationName)
	setIfGiven(&rt.RouteResponseSelectionExpression, in.RouteResponseSelectionExpression)
	if (in.ModelSelectionExpression != nil && *in.ModelSelectionExpression != "") || len(in.RequestModels) > 0 {
		return v2BadRequest("requestModels and modelSelectionExpression: Portico does not validate WebSocket messages against models yet, and refuses them rather than let messages through unchecked")
	}
	if in.RequestParameters != nil {
		params, err := v2RouteParameters(a.Protocol, in.RequestParameters)
		if err != nil {
			return err
		}
		rt.Parameters = params
	}
	if in.Target != nil {
		switch id, ok := strings.CutPrefix(*in.Target, "integrations/"); {
		case *in.Target == "":
			rt.IntegrationID, rt.Integration = "", nil
		case !ok || id == "":
			return v2BadRequest("Invalid target %q: use integrations/{integrationId}", truncate(*in.Target, 100))
		default:
			if _, found := a.Integrations[id]; !found {
				return v2NotFound("Integration", id)
			}
			rt.IntegrationID = id
		}
	}
	if in.APIKeyRequired != nil {
		if *in.APIKeyRequired && a.Protocol != apis.ProtocolWebSocket {
			return v2BadRequest("apiKeyRequired is for WEBSOCKET APIs; HTTP APIs have no API keys")
		}
		rt.APIKeyRequired = *in.APIKeyRequired
		if !rt.APIKeyRequired {
			rt.Security = slices.DeleteFunc(rt.Security, func(req map[string][]string) bool {
				for n := range req {
					if schemeKind(a.Authorizers[n]) == "" {
						return true
					}
				}
				return false
			})
		}
	}
	return in.applyAuthorization(a, rt)
}

// applyAuthorization sets a route's authorization type, authorizer and scopes.
func (in *v2RouteInput) applyAuthorization(a *apis.API, rt *apis.Route) error {
	typ, name, scopes := routeAuthorization(a, rt)
	if in.AuthorizationType == nil && in.AuthorizerID == nil && in.AuthorizationScopes == nil {
		return nil
	}
	if in.AuthorizationType != nil {
		typ = strings.ToUpper(*in.AuthorizationType)
	}
	// An authorizer named beside NONE or AWS_IAM is refused, not dropped:
	// API Gateway stores the route open (the type decides), but whoever
	// named an authorizer meant the route to be guarded by it.
	if in.AuthorizerID != nil && *in.AuthorizerID != "" && (typ == authNone || typ == authIAM) {
		want := "CUSTOM (or JWT)"
		if a.Protocol == apis.ProtocolWebSocket {
			if rt.RouteKey != "$connect" {
				return v2BadRequest("route %q: WebSocket authorizers run on $connect only: leave authorizerId out here, and put the authorizer on the $connect route (authorizationType CUSTOM)", rt.RouteKey)
			}
			want = "CUSTOM"
		}
		return v2BadRequest("authorizerId needs authorizationType %s, not %s; set it, or leave authorizerId out", want, typ)
	}
	if in.AuthorizerID != nil && *in.AuthorizerID == "" {
		name = "" // an empty id takes the authorizer off (with NONE or AWS_IAM)
	} else if in.AuthorizerID != nil {
		n, ok := authorizerByID(a, *in.AuthorizerID)
		if !ok {
			return v2NotFound("Authorizer", *in.AuthorizerID)
		}
		name = n
	}
	if in.AuthorizationScopes != nil {
		scopes = in.AuthorizationScopes
	}
	// The route's other requirements (its API key) stay; IAM by
	// x-amazon-apigateway-auth goes with the rest, so that what reads back
	// is what the gateway enforces.
	if rt.IAMByExtension() {
		delete(rt.Extensions, apis.ExtAuth)
	}
	rt.Security = slices.DeleteFunc(rt.Security, func(req map[string][]string) bool {
		for n := range req {
			if schemeKind(a.Authorizers[n]) != "" {
				return true
			}
		}
		return false
	})
	switch typ {
	case authNone:
		if len(scopes) > 0 && in.AuthorizationScopes != nil {
			return v2BadRequest("authorizationScopes need authorizationType JWT")
		}
		return nil
	case authIAM:
		if len(scopes) > 0 && in.AuthorizationScopes != nil {
			return v2BadRequest("authorizationScopes need authorizationType JWT")
		}
		if a.Authorizers == nil {
			a.Authorizers = map[string]json.RawMessage{}
		}
		a.Authorizers[iamSchemeName] = json.RawMessage(iamScheme)
		rt.Security = append(rt.Security, map[string][]string{iamSchemeName: {}})
		return nil
	case authCustom, authJWT:
		if name == "" {
			return v2BadRequest("authorizationType %s needs an authorizerId", typ)
		}
		if k := schemeKind(a.Authorizers[name]); k != typ {
			return v2BadRequest("authorizer %s is a %s authorizer; the route's authorizationType is %s", derivedID("authorizer", name), k, typ)
		}
		if typ == authCustom && len(scopes) > 0 {
			return v2BadRequest("authorizationScopes need authorizationType JWT")
		}
		if scopes == nil {
			scopes = []string{}
		}
		rt.Security = append(rt.Security, map[string][]string{name: scopes})
		return nil
	}
	return v2BadRequest("authorizationType %q must be NONE, AWS_IAM, CUSTOM or JWT", truncate(typ, 30))
}

// v2RouteParameters reads a route's requestParameters.
func v2RouteParameters(protocol string, in map[string]v2ParameterConstraints) ([]apis.Parameter, error) {
	if len(in) > 0 && protocol != apis.ProtocolWebSocket {
		return nil, v2BadRequest("requestParameters on routes are for WEBSOCKET APIs; HTTP APIs map parameters on integrations")
	}
	var out []apis.Parameter
	for _, key := range sortedKeys(in) {
		var p apis.Parameter
		switch {
		case strings.HasPrefix(key, "route.request.header."):
			p = apis.Parameter{Name: strings.TrimPrefix(key, "route.request.header."), In: "header"}
		case strings.HasPrefix(key, "route.request.querystring."):
			p = apis.Parameter{Name: strings.TrimPrefix(key, "route.request.querystring."), In: "query"}
		default:
			return nil, v2BadRequest("Invalid request parameter %q: use route.request.header.NAME or route.request.querystring.NAME", truncate(key, 200))
		}
		// Required ones are checked on $connect (the API's validation
		// refuses them on other routes, which have no headers to check).
		p.Required = in[key].Required
		out = append(out, p)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// v2Route returns the route {route} of a, with AWS's 404.
func v2FindRoute(a *apis.API, id string) (*apis.Route, error) {
	if rt := a.Route(id); rt != nil {
		return rt, nil
	}
	return nil, v2NotFound("Route", id)
}

func (s *Server) v2CreateRoute(w http.ResponseWriter, r *http.Request) error {
	var in v2RouteInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.RouteKey == nil {
		return v2BadRequest("Invalid request body: routeKey is required")
	}
	var key string
	a, err := s.v2Modify(r, func(a *apis.API) error {
		rt := apis.Route{}
		if err := in.apply(a, &rt); err != nil {
			return err
		}
		key = rt.Key(a.Protocol)
		for i := range a.Routes {
			if a.Routes[i].Key(a.Protocol) == key {
				return v2Conflict("Route with key %s already exists for this API", key)
			}
		}
		a.Routes = append(a.Routes, rt)
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toV2Route(a, a.RouteByKey(key)))
}

func (s *Server) v2GetRoutes(w http.ResponseWriter, r *http.Request) error {
	return v2List(s, w, r, func(a *apis.API) ([]v2Route, error) {
		out := make([]v2Route, 0, len(a.Routes))
		for i := range a.Routes {
			out = append(out, toV2Route(a, &a.Routes[i]))
		}
		return out, nil
	}, func(rt v2Route) sortKey { return sortKey{rt.RouteKey, rt.RouteID} })
}

func (s *Server) v2GetRoute(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	rt, err := v2FindRoute(a, r.PathValue("route"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toV2Route(a, rt))
}

func (s *Server) v2UpdateRoute(w http.ResponseWriter, r *http.Request) error {
	var in v2RouteInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	a, err := s.v2Modify(r, func(a *apis.API) error {
		rt, err := v2FindRoute(a, r.PathValue("route"))
		if err != nil {
			return err
		}
		used := iamSchemesUsed(a)
		if err := in.apply(a, rt); err != nil {
			return err
		}
		dropIAMSchemesLeft(a, used)
		key := rt.Key(a.Protocol)
		for i := range a.Routes {
			if &a.Routes[i] != rt && a.Routes[i].Key(a.Protocol) == key {
				return v2Conflict("Route with key %s already exists for this API", key)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toV2Route(a, a.Route(r.PathValue("route"))))
}

func (s *Server) v2DeleteRoute(w http.ResponseWriter, r *http.Request) error {
	_, err := s.v2Modify(r, func(a *apis.API) error {
		if _, err := v2FindRoute(a, r.PathValue("route")); err != nil {
			return err
		}
		used := iamSchemesUsed(a)
		a.Routes = slices.DeleteFunc(a.Routes, func(rt apis.Route) bool { return rt.ID == r.PathValue("route") })
		dropIAMSchemesLeft(a, used)
		return nil
	})
	return noContent(w, err)
}

// iamSchemesUsed returns the names of a's AWS_IAM (awsSigv4) security schemes
// that a route names.
func iamSchemesUsed(a *apis.API) map[string]bool {
	used := map[string]bool{}
	for i := range a.Routes {
		for _, req := range a.Routes[i].Security {
			for name := range req {
				if schemeKind(a.Authorizers[name]) == authIAM {
					used[name] = true
				}
			}
		}
	}
	return used
}

// dropIAMSchemesLeft removes from a the AWS_IAM schemes of were (routes named
// them before a change) that no route names now: an HTTP API's IAM is a route's
// authorization type, not an authorizer, and AWS's export writes the sigv4
// scheme only for the routes that are AWS_IAM. A scheme no route named before
// (one the API's imported document declared unused) stays.
func dropIAMSchemesLeft(a *apis.API, were map[string]bool) {
	now := iamSchemesUsed(a)
	for name := range were {
		if !now[name] {
			delete(a.Authorizers, name)
		}
	}
}

func (s *Server) v2DeleteRouteRequestParameter(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	_, err := s.v2Modify(r, func(a *apis.API) error {
		rt, err := v2FindRoute(a, r.PathValue("route"))
		if err != nil {
			return err
		}
		n := len(rt.Parameters)
		rt.Parameters = slices.DeleteFunc(rt.Parameters, func(p apis.Parameter) bool {
			in := p.In
			if in == "query" {
				in = "querystring"
			}
			return "route.request."+in+"."+p.Name == key
		})
		if len(rt.Parameters) == n {
			return v2NotFound("RequestParameter", key)
		}
		return nil
	})
	return noContent(w, err)
}

// v2RouteResponse is apigatewayv2's RouteResponse shape. A WebSocket route
// with a $default route response (and routeResponseSelectionExpression
// $default) sends its integration's result back to the client.
type v2RouteResponse struct {
	ModelSelectionExpression string            `json:"modelSelectionExpression,omitempty"`
	ResponseModels           map[string]string `json:"responseModels,omitempty"`
	RouteResponseID          string            `json:"routeResponseId"`
	RouteResponseKey         string            `json:"routeResponseKey"`
}

// v2RouteResponseInput is the body of create- and update-route-response.
type v2RouteResponseInput struct {
	ModelSelectionExpression *string                           `json:"modelSelectionExpression"`
	ResponseModels           map[string]string                 `json:"responseModels"`
	ResponseParameters       map[string]v2ParameterConstraints `json:"responseParameters"`
	RouteResponseKey         *string                           `json:"routeResponseKey"`
}

// routeResponseKey is the one route response key Portico's WebSocket routes
// answer with, and the key it has among a route's responses.
const (
	routeResponseKey    = apis.RouteDefault
	routeResponseStored = "default"
)

func toV2RouteResponse(mr apis.MethodResponse) v2RouteResponse {
	return v2RouteResponse{RouteResponseID: derivedID("routeresponse", routeResponseKey), RouteResponseKey: routeResponseKey,
		ResponseModels: mr.Models}
}

func (in *v2RouteResponseInput) apply(a *apis.API, mr *apis.MethodResponse) error {
	if in.RouteResponseKey != nil && *in.RouteResponseKey != routeResponseKey {
		return v2BadRequest("routeResponseKey %q: Portico's routes answer with the $default route response only", truncate(*in.RouteResponseKey, 100))
	}
	if len(in.ResponseParameters) > 0 || (in.ModelSelectionExpression != nil && *in.ModelSelectionExpression != "") {
		return v2BadRequest("responseParameters and modelSelectionExpression of route responses are not supported")
	}
	if in.ResponseModels != nil {
		for ct, m := range in.ResponseModels {
			if _, ok := a.Models[m]; !ok {
				return v2NotFound("Model", fmt.Sprintf("%s (for %s)", m, ct))
			}
		}
		mr.Models = in.ResponseModels
	}
	return nil
}

// v2RouteResponseOf returns the route {route}'s route response {rr}.
func v2RouteResponseOf(a *apis.API, r *http.Request) (*apis.Route, apis.MethodResponse, error) {
	rt, err := v2FindRoute(a, r.PathValue("route"))
	if err != nil {
		return nil, apis.MethodResponse{}, err
	}
	mr, ok := rt.Responses[routeResponseStored]
	if !ok || r.PathValue("rr") != derivedID("routeresponse", routeResponseKey) {
		return nil, apis.MethodResponse{}, v2NotFound("RouteResponse", r.PathValue("rr"))
	}
	return rt, mr, nil
}

func (s *Server) v2CreateRouteResponse(w http.ResponseWriter, r *http.Request) error {
	var in v2RouteResponseInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.RouteResponseKey == nil {
		return v2BadRequest("Invalid request body: routeResponseKey is required")
	}
	var mr apis.MethodResponse
	_, err := s.v2Modify(r, func(a *apis.API) error {
		if a.Protocol != apis.ProtocolWebSocket {
			return v2BadRequest("Route responses are for WEBSOCKET APIs")
		}
		rt, err := v2FindRoute(a, r.PathValue("route"))
		if err != nil {
			return err
		}
		// A key other than $default is refused as such, before the conflict
		// with the route's $default response, which it does not name.
		if err := in.apply(a, &mr); err != nil {
			return err
		}
		if _, ok := rt.Responses[routeResponseStored]; ok {
			return v2Conflict("RouteResponse with key %s already exists for this Route", routeResponseKey)
		}
		if rt.Responses == nil {
			rt.Responses = map[string]apis.MethodResponse{}
		}
		rt.Responses[routeResponseStored] = mr
		return nil
	})
	return reply(w, http.StatusCreated, toV2RouteResponse(mr), err)
}

func (s *Server) v2GetRouteResponses(w http.ResponseWriter, r *http.Request) error {
	return v2List(s, w, r, func(a *apis.API) ([]v2RouteResponse, error) {
		rt, err := v2FindRoute(a, r.PathValue("route"))
		if err != nil {
			return nil, err
		}
		out := []v2RouteResponse{}
		if mr, ok := rt.Responses[routeResponseStored]; ok {
			out = append(out, toV2RouteResponse(mr))
		}
		return out, nil
	}, func(rr v2RouteResponse) sortKey { return sortKey{rr.RouteResponseKey} })
}

func (s *Server) v2GetRouteResponse(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	_, mr, err := v2RouteResponseOf(a, r)
	return reply(w, http.StatusOK, toV2RouteResponse(mr), err)
}

func (s *Server) v2UpdateRouteResponse(w http.ResponseWriter, r *http.Request) error {
	var in v2RouteResponseInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	var mr apis.MethodResponse
	_, err := s.v2Modify(r, func(a *apis.API) error {
		rt, cur, err := v2RouteResponseOf(a, r)
		if err != nil {
			return err
		}
		mr = cur
		if err := in.apply(a, &mr); err != nil {
			return err
		}
		rt.Responses[routeResponseStored] = mr
		return nil
	})
	return reply(w, http.StatusOK, toV2RouteResponse(mr), err)
}

func (s *Server) v2DeleteRouteResponse(w http.ResponseWriter, r *http.Request) error {
	_, err := s.v2Modify(r, func(a *apis.API) error {
		rt, _, err := v2RouteResponseOf(a, r)
		if err != nil {
			return err
		}
		delete(rt.Responses, routeResponseStored)
		return nil
	})
	return noContent(w, err)
}
