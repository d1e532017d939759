package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/openapi"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file and the other apigw2_*.go files hold API Gateway's version 2 control
// plane (apigatewayv2: HTTP and WebSocket APIs) in AWS's REST shapes under /v2,
// so that the AWS SDKs and `aws apigatewayv2 --endpoint-url` work. They map
// AWS's resources onto Portico's API model (gateway/apis): routes by route key,
// integrations as resources routes target (Definition.Integrations),
// authorizers as security schemes, models by name, stages with their
// autoDeploy and route settings. Every change goes through the model's own
// validation, so what the gateway does not enforce is refused as an OpenAPI
// import of the same API would be.

// registerAPIGatewayV2Routes registers the /v2/apis routes.
func (s *Server) registerAPIGatewayV2Routes() {
	if s.gw.APIs == nil {
		return
	}
	const p = "/v2/apis"
	s.HandleAPIGateway("POST "+p, s.v2CreateAPI)
	s.HandleAPIGateway("GET "+p, s.v2GetAPIs)
	s.HandleAPIGateway("PUT "+p, s.v2ImportAPI)
	s.HandleAPIGateway("GET "+p+"/{api}", s.v2GetAPI)
	s.HandleAPIGateway("PATCH "+p+"/{api}", s.v2UpdateAPI)
	s.HandleAPIGateway("DELETE "+p+"/{api}", s.v2DeleteAPI)
	s.HandleAPIGateway("PUT "+p+"/{api}", s.v2ReimportAPI)
	s.HandleAPIGateway("GET "+p+"/{api}/exports/{specification}", s.v2ExportAPI)
	s.HandleAPIGateway("DELETE "+p+"/{api}/cors", s.v2DeleteCORS)
	s.registerV2RouteRoutes(p)
	s.registerV2IntegrationRoutes(p)
	s.registerV2StageRoutes(p)
	s.registerV2AuthorizerRoutes(p)
}

// Selection expressions of apigatewayv2.
const (
	// httpRouteSelection is the one route selection expression of HTTP APIs.
	httpRouteSelection = "$request.method $request.path"
	// httpRouteSelectionBraced is the same expression as API Gateway's
	// reference for create-api and update-api spells it; it is taken and
	// read back as httpRouteSelection, as API Gateway does.
	httpRouteSelectionBraced = "${request.method} ${request.path}"
	// apiKeyFromHeader and apiKeyFromAuthorizer are the two API key selection
	// expressions: API key sources HEADER and AUTHORIZER.
	apiKeyFromHeader     = "$request.header.x-api-key"
	apiKeyFromAuthorizer = "$context.authorizer.usageIdentifierKey"
)

// v2Time formats a time as apigatewayv2's ISO 8601 timestamps.
func v2Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// v2NotFound is apigatewayv2's 404 for an unknown identifier of kind (API,
// Route, Integration, Stage, ...).
func v2NotFound(kind, id string) error {
	if len(id) > 128 {
		id = id[:128]
	}
	return errdefs.New(errdefs.ErrNotFound, "NotFoundException",
		fmt.Sprintf("Invalid %s identifier specified %s:%s", kind, functions.AccountID, id))
}

// v2BadRequest is apigatewayv2's 400.
func v2BadRequest(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf(format, args...))
}

// v2Conflict is apigatewayv2's 409.
func v2Conflict(format string, args ...any) error {
	return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf(format, args...))
}

// decodeV2 reads an apigatewayv2 JSON body into v. As AWS does, unknown fields
// are ignored; a body that is not JSON is a BadRequestException.
func decodeV2(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := readBody(w, r, porticoBody)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return v2BadRequest("Invalid request body: the body is empty")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return v2BadRequest("Invalid request body: %v", jsonProblem(err))
	}
	return nil
}

// v2Page is one page of an apigatewayv2 listing.
type v2Page[T any] struct {
	Items     []T    `json:"items"`
	NextToken string `json:"nextToken,omitempty"`
}

// maxV2Results is the page size when maxResults is not given, and its bound.
const maxV2Results = 100

// paginate cuts all, in the order of key, to the page that r's nextToken and
// maxResults select. The token is opaque to clients: a place in that order
// (see cutPage), not an offset.
func paginate[T any](r *http.Request, all []T, key func(T) sortKey) (v2Page[T], error) {
	q := r.URL.Query()
	size := maxV2Results
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return v2Page[T]{}, v2BadRequest("maxResults %q must be a number from 1 to 500", truncate(v, 20))
		}
		size = n
	}
	tok := q.Get("nextToken")
	items, next, ok := cutPage(all, key, listScope(r), tok, size)
	if !ok {
		return v2Page[T]{}, v2BadRequest("Invalid nextToken %q: pass the nextToken of the previous page, or none for the first", truncate(tok, 50))
	}
	return v2Page[T]{Items: items, NextToken: next}, nil
}

// replyPage answers the page of all that r asks for.
func replyPage[T any](w http.ResponseWriter, r *http.Request, all []T, key func(T) sortKey) error {
	page, err := paginate(r, all, key)
	return reply(w, http.StatusOK, page, err)
}

// v2List answers a page of the list that list makes of the API {api}, in the
// order of key.
func v2List[T any](s *Server, w http.ResponseWriter, r *http.Request, list func(*apis.API) ([]T, error), key func(T) sortKey) error {
	return v2Get(s, w, r, func(a *apis.API) (v2Page[T], error) {
		all, err := list(a)
		if err != nil {
			return v2Page[T]{}, err
		}
		return paginate(r, all, key)
	})
}

// v2Get answers 200 with what get makes of the API {api} (on error, its
// value is not used).
func v2Get[T any](s *Server, w http.ResponseWriter, r *http.Request, get func(*apis.API) (T, error)) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	v, err := get(a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// sortedItems maps each entry of m with fn, in the order of the keys.
func sortedItems[V, U any](m map[string]V, fn func(string, V) U) []U {
	out := make([]U, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, fn(k, m[k]))
	}
	return out
}

// convert maps each element of in with fn.
func convert[T, U any](in []T, fn func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, fn(v))
	}
	return out
}

// v2API is apigatewayv2's Api shape.
type v2API struct {
	APIEndpoint               string                  `json:"apiEndpoint,omitempty"`
	APIID                     string                  `json:"apiId"`
	APIKeySelectionExpression string                  `json:"apiKeySelectionExpression,omitempty"`
	CorsConfiguration         *apis.CORSConfiguration `json:"corsConfiguration,omitempty"`
	CreatedDate               string                  `json:"createdDate,omitempty"`
	Description               string                  `json:"description,omitempty"`
	DisableExecuteAPIEndpoint bool                    `json:"disableExecuteApiEndpoint"`
	Name                      string                  `json:"name"`
	ProtocolType              string                  `json:"protocolType"`
	RouteSelectionExpression  string                  `json:"routeSelectionExpression"`
	Tags                      map[string]string       `json:"tags,omitempty"`
	Version                   string                  `json:"version,omitempty"`
	Warnings                  []string                `json:"warnings,omitempty"`
}

func (s *Server) toV2API(a *apis.API) v2API {
	out := v2API{APIID: a.ID, Name: a.Name, Description: a.Description, ProtocolType: a.Protocol,
		CorsConfiguration: a.CORS, CreatedDate: v2Time(a.CreatedAt), Tags: a.Tags, Version: a.Version,
		DisableExecuteAPIEndpoint: edge.ExecuteAPIEndpointDisabled(a.Extensions)}
	switch a.Protocol {
	case apis.ProtocolWebSocket:
		out.RouteSelectionExpression = a.RouteSelectionExpression
		out.APIKeySelectionExpression = apiKeyFromHeader
		if a.APIKeySource == "AUTHORIZER" {
			out.APIKeySelectionExpression = apiKeyFromAuthorizer
		}
	default:
		out.RouteSelectionExpression = httpRouteSelection
		out.APIKeySelectionExpression = apiKeyFromHeader
	}
	if s.gw.Server != nil {
		base := strings.TrimSuffix(s.gw.Server.URL(), "/") + "/" + a.ID
		if a.Protocol == apis.ProtocolWebSocket {
			base = "ws" + strings.TrimPrefix(base, "http")
		}
		out.APIEndpoint = base
	}
	return out
}

// v2APIInput is the body of create-api and update-api; nil fields are not given.
type v2APIInput struct {
	Name                      *string                 `json:"name"`
	ProtocolType              *string                 `json:"protocolType"`
	Description               *string                 `json:"description"`
	Version                   *string                 `json:"version"`
	RouteSelectionExpression  *string                 `json:"routeSelectionExpression"`
	APIKeySelectionExpression *string                 `json:"apiKeySelectionExpression"`
	CorsConfiguration         *apis.CORSConfiguration `json:"corsConfiguration"`
	DisableExecuteAPIEndpoint *bool                   `json:"disableExecuteApiEndpoint"`
	DisableSchemaValidation   *bool                   `json:"disableSchemaValidation"`
	Tags                      map[string]string       `json:"tags"`
	// Quick create (HTTP APIs): target, with routeKey and credentialsArn.
	Target         *string `json:"target"`
	RouteKey       *string `json:"routeKey"`
	CredentialsArn *string `json:"credentialsArn"`
}

// apply sets in's settings on a.
func (in *v2APIInput) apply(a *apis.API) error {
	setIfGiven(&a.Name, in.Name)
	setIfGiven(&a.Description, in.Description)
	setIfGiven(&a.Version, in.Version)
	if v := in.RouteSelectionExpression; v != nil {
		switch {
		case a.Protocol == apis.ProtocolWebSocket:
			if strings.TrimSpace(*v) == "" {
				return v2BadRequest("A WEBSOCKET API's routeSelectionExpression must not be empty: give one such as $request.body.action")
			}
			a.RouteSelectionExpression = *v
		case *v != httpRouteSelection && *v != httpRouteSelectionBraced && *v != "":
			return v2BadRequest("An HTTP API's routeSelectionExpression is %s", httpRouteSelection)
		}
	}
	if v := in.APIKeySelectionExpression; v != nil {
		switch *v {
		case apiKeyFromHeader:
			a.APIKeySource = ""
		case apiKeyFromAuthorizer:
			if a.Protocol != apis.ProtocolWebSocket {
				return v2BadRequest("apiKeySelectionExpression %s is for WEBSOCKET APIs", *v)
			}
			a.APIKeySource = "AUTHORIZER"
		default:
			return v2BadRequest("apiKeySelectionExpression %q must be %s or %s", truncate(*v, 100), apiKeyFromHeader, apiKeyFromAuthorizer)
		}
	}
	if in.CorsConfiguration != nil {
		if a.Protocol != apis.ProtocolHTTP {
			return v2BadRequest("corsConfiguration is for HTTP APIs")
		}
		c := *in.CorsConfiguration
		a.CORS = &c
	}
	if v := in.DisableExecuteAPIEndpoint; v != nil {
		setExecuteAPIEndpointDisabled(a, *v)
	}
	if v := in.DisableSchemaValidation; v != nil && *v {
		return v2BadRequest("disableSchemaValidation is not supported: Portico always validates models")
	}
	return nil
}

func (s *Server) v2CreateAPI(w http.ResponseWriter, r *http.Request) error {
	var in v2APIInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return v2BadRequest("Invalid request body: name is required")
	}
	if in.ProtocolType == nil {
		return v2BadRequest("Invalid request body: protocolType is required (HTTP or WEBSOCKET)")
	}
	a := &apis.API{Protocol: strings.ToUpper(*in.ProtocolType), Tags: in.Tags}
	if a.Protocol != apis.ProtocolHTTP && a.Protocol != apis.ProtocolWebSocket {
		return v2BadRequest("protocolType %q must be HTTP or WEBSOCKET", truncate(*in.ProtocolType, 30))
	}
	if err := apis.ValidateTags(a.Tags); err != nil {
		// As create-stage and tag-resource refuse them (aws: keys, limits).
		return err
	}
	if in.Target != nil && a.Protocol != apis.ProtocolHTTP {
		return v2BadRequest("Quick create (target) is for HTTP APIs: Portico does not quick-create WebSocket APIs; create the API with --route-selection-expression, then its routes, integrations and a stage")
	}
	if a.Protocol == apis.ProtocolWebSocket && in.RouteSelectionExpression == nil {
		return v2BadRequest("routeSelectionExpression is required for WEBSOCKET APIs")
	}
	if err := in.apply(a); err != nil {
		return err
	}
	quick := in.Target != nil
	if !quick && (in.RouteKey != nil || in.CredentialsArn != nil) {
		return v2BadRequest("routeKey and credentialsArn are for quick create: give a target too")
	}
	if quick && in.CredentialsArn != nil {
		// Said here once: the stored API's checks would refuse it for the
		// integration and again for the route that uses it.
		return v2BadRequest("credentialsArn %q is not supported: Portico calls integrations without assuming an IAM role, so the role could not limit what the integration calls; leave --credentials-arn out",
			truncate(*in.CredentialsArn, 200))
	}
	if quick {
		integ := quickIntegration(*in.Target)
		if integ.Type == apis.IntegrationAWSProxy {
			if _, err := apis.FunctionRef(integ.URI); err != nil {
				// Said of the target the user gave, not of an integration
				// id they never saw, with both forms quick create takes.
				return v2BadRequest("target %q must be a function (function:NAME[:QUALIFIER], a Lambda function ARN or a Lambda invocation ARN) or an http:// or https:// URL",
					truncate(*in.Target, 200))
			}
		}
		if err := integ.Validate(a.Protocol); err != nil {
			return fmt.Errorf("target %q: %w", truncate(*in.Target, 200), err)
		}
		key := apis.RouteDefault
		setIfGiven(&key, in.RouteKey)
		rt, err := parseRouteKey(a.Protocol, key)
		if err != nil {
			return err
		}
		id := apis.NewIntegrationID()
		a.Integrations = map[string]apis.Integration{id: integ}
		rt.IntegrationID = id
		a.Routes = []apis.Route{rt}
	}
	created, err := s.gw.APIs.Create(r.Context(), a)
	if err != nil {
		return err
	}
	if quick {
		// As AWS does: an auto-deploying $default stage that serves the API now.
		_, err := s.gw.APIs.CreateStage(r.Context(), created.ID, apis.StageInput{Name: apis.RouteDefault, AutoDeploy: true})
		if err != nil {
			_ = s.gw.APIs.Delete(r.Context(), created.ID)
			return err
		}
	}
	return writeJSON(w, http.StatusCreated, s.toV2API(created))
}

// quickIntegration is the integration quick create makes for target: a
// function (AWS_PROXY, payload 2.0) or an HTTP URL (HTTP_PROXY, ANY).
func quickIntegration(target string) apis.Integration {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		return apis.Integration{Type: apis.IntegrationHTTPProxy, URI: target, HTTPMethod: apis.MethodAny, PayloadFormatVersion: "1.0"}
	}
	return apis.Integration{Type: apis.IntegrationAWSProxy, URI: target, HTTPMethod: http.MethodPost, PayloadFormatVersion: "2.0"}
}

// parseRouteKey reads an apigatewayv2 route key into a route: "$default",
// "METHOD /path" (HTTP APIs) or a WebSocket route key.
func parseRouteKey(protocol, key string) (apis.Route, error) {
	if protocol == apis.ProtocolWebSocket {
		return apis.Route{RouteKey: key}, nil
	}
	if key == apis.RouteDefault {
		return apis.Route{Path: apis.RouteDefault, RouteKey: key}, nil
	}
	method, path, ok := strings.Cut(key, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") || strings.Contains(path, " ") {
		return apis.Route{}, v2BadRequest("Invalid route key %q: use $default or METHOD /path", truncate(key, 200))
	}
	if up := strings.ToUpper(method); up != method {
		// The gateway matches methods as sent (upper case): a lower-case
		// method would be stored under a key no request is sent with.
		return apis.Route{}, v2BadRequest("Invalid route key %q: method %q must be upper case: use %q", truncate(key, 200), truncate(method, 20), truncate(up+" "+path, 200))
	}
	if path == "/"+apis.RouteDefault {
		return apis.Route{}, v2BadRequest("Invalid route key %q: the path /$default is where OpenAPI exports put the $default route, so this route would be taken for it on export and import; use the route key $default for the catch-all route, or another path", truncate(key, 200))
	}
	return apis.Route{Method: method, Path: path, RouteKey: key}, nil
}

// v2API returns the API named by the request's {api}, with AWS's 404.
func (s *Server) v2LoadAPI(r *http.Request) (*apis.API, error) {
	a, err := s.gw.APIs.Get(r.Context(), r.PathValue("api"))
	if err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil, v2NotFound("API", r.PathValue("api"))
		}
		return nil, err
	}
	if a.Protocol == apis.ProtocolREST {
		return nil, v2NotFound("API", a.ID)
	}
	a.AdoptIntegrations()
	return a, nil
}

// v2Modify changes the API named by {api} in one transaction, with AWS's 404
// for an unknown API. Inline integrations are adopted as resources first.
func (s *Server) v2Modify(r *http.Request, fn func(a *apis.API) error) (*apis.API, error) {
	if _, err := s.v2LoadAPI(r); err != nil {
		return nil, err
	}
	return s.gw.APIs.Modify(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		a.AdoptIntegrations()
		return fn(a)
	})
}

func (s *Server) v2GetAPI(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toV2API(a))
}

func (s *Server) v2GetAPIs(w http.ResponseWriter, r *http.Request) error {
	list, err := s.gw.APIs.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]v2API, 0, len(list))
	for _, a := range list {
		if a.Protocol != apis.ProtocolREST {
			out = append(out, s.toV2API(a))
		}
	}
	return replyPage(w, r, out, func(a v2API) sortKey { return sortKey{a.APIID} })
}

func (s *Server) v2UpdateAPI(w http.ResponseWriter, r *http.Request) error {
	var in v2APIInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.ProtocolType != nil {
		return v2BadRequest("An API's protocolType cannot change")
	}
	if in.Target != nil || in.RouteKey != nil || in.CredentialsArn != nil {
		// AWS updates the quick-created route and integration; name them instead.
		return v2BadRequest("target, routeKey and credentialsArn are not supported by update-api: update the route and integration quick create made (update-route --route-key, update-integration --integration-uri)")
	}
	a, err := s.v2Modify(r, func(a *apis.API) error {
		if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
			return v2BadRequest("name must not be empty")
		}
		return in.apply(a)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toV2API(a))
}

func (s *Server) v2DeleteAPI(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.v2LoadAPI(r); err != nil && !apis.IsDamagedAPI(err, r.PathValue("api")) {
		// A damaged record (its protocol unread) is deleted as it is.
		return err
	}
	return noContent(w, s.gw.APIs.Delete(r.Context(), r.PathValue("api")))
}

func (s *Server) v2DeleteCORS(w http.ResponseWriter, r *http.Request) error {
	_, err := s.v2Modify(r, func(a *apis.API) error {
		a.CORS = nil
		return nil
	})
	return noContent(w, err)
}

// v2ImportBody is the body of import-api and reimport-api.
type v2ImportBody struct {
	Body string `json:"body"`
}

// v2ReadImport parses an import-api or reimport-api request's document; stop
// ends the watch on its client (watchImport) and must run before the handler
// returns.
func (s *Server) v2ReadImport(w http.ResponseWriter, r *http.Request) (_ *openapi.Result, stop func(), _ error) {
	stop = func() {}
	var in v2ImportBody
	if err := decodeV2(w, r, &in); err != nil {
		return nil, stop, err
	}
	stop = watchImport(w)
	if strings.TrimSpace(in.Body) == "" {
		return nil, stop, v2BadRequest("Invalid request body: body (the OpenAPI document) is required")
	}
	q := r.URL.Query()
	// basepath=ignore|prepend|split, read as import-rest-api reads it.
	basePath := q.Get("basepath")
	switch basePath {
	case "", openapi.BasePathIgnore, openapi.BasePathPrepend, openapi.BasePathSplit:
	default:
		return nil, stop, v2BadRequest("Invalid basepath %q: use ignore (the default), prepend or split", truncate(basePath, 20))
	}
	res, err := openapi.Import(r.Context(), []byte(in.Body), openapi.Options{Protocol: apis.ProtocolHTTP, BasePath: basePath})
	if err != nil {
		return nil, stop, err
	}
	if len(res.Warnings) > 0 && q.Get("failOnWarnings") == "true" {
		return nil, stop, v2BadRequest("Warnings found during import: %s", strings.Join(res.Warnings, "; "))
	}
	res.API.AdoptIntegrations()
	return res, stop, nil
}

func (s *Server) v2ImportAPI(w http.ResponseWriter, r *http.Request) error {
	res, stop, err := s.v2ReadImport(w, r)
	defer stop()
	if err != nil {
		return err
	}
	if err := s.importMayCommit(r); err != nil {
		return err
	}
	created, err := s.gw.APIs.Create(r.Context(), res.API)
	if err != nil {
		return err
	}
	return s.writeV2Imported(w, created, res.Warnings)
}

// writeV2Imported answers an import or reimport: the API and the warnings.
func (s *Server) writeV2Imported(w http.ResponseWriter, a *apis.API, warnings []string) error {
	out := s.toV2API(a)
	out.Warnings = warnings
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) v2ReimportAPI(w http.ResponseWriter, r *http.Request) error {
	existing, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	if existing.Protocol != apis.ProtocolHTTP {
		return v2BadRequest("Only HTTP APIs can be reimported from OpenAPI")
	}
	res, stop, err := s.v2ReadImport(w, r)
	defer stop()
	if err != nil {
		return err
	}
	def := res.API
	def.Name = "" // reimport keeps the API's name, as AWS does
	if err := s.importMayCommit(r); err != nil {
		return err
	}
	updated, err := s.gw.APIs.Replace(r.Context(), existing.ID, def)
	if err != nil {
		return err
	}
	return s.writeV2Imported(w, updated, res.Warnings)
}

func (s *Server) v2ExportAPI(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	if spec := r.PathValue("specification"); spec != "OAS30" {
		return v2BadRequest("Invalid specification %q: the one supported is OAS30", truncate(spec, 20))
	}
	if a.Protocol != apis.ProtocolHTTP {
		return v2BadRequest("Only HTTP APIs can be exported")
	}
	q := r.URL.Query()
	if v := q.Get("exportVersion"); v != "" && v != "1.0" {
		// API Gateway's export algorithm has one version.
		return v2BadRequest("exportVersion %q is not supported: the one export version is 1.0", truncate(v, 20))
	}
	var sv *openapi.Server
	if stage := q.Get("stageName"); stage != "" {
		_, dep, err := s.gw.APIs.Resolve(r.Context(), a.ID, stage)
		if err != nil {
			if !errors.Is(err, errdefs.ErrNotFound) {
				return err
			}
			if st, serr := s.gw.APIs.GetStage(r.Context(), a.ID, stage); serr == nil && st.DeploymentID == "" {
				// The stage is there, with nothing deployed to it: not a typo.
				return errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf(
					"stage %q has no deployment yet: deploy to it (create-deployment --stage-name %s), or export the API's current routes without --stage-name", stage, stage))
			}
			return v2NotFound("Stage", stage)
		}
		where := s.stageServer(stage)
		sv = &where
		snap := dep.API
		a = &snap
	}
	if q.Get("includeExtensions") == "false" {
		return v2BadRequest("includeExtensions=false is not supported: exports carry the x-amazon-apigateway-* extensions")
	}
	doc, err := openapi.Export(a, openapi.FormatOAS3)
	if sv != nil {
		// What the stage serves, with its URL, as API Gateway's export of a
		// stage carries it.
		doc, _, err = openapi.ExportStage(a, openapi.FormatOAS3, *sv)
	}
	if err != nil {
		return err
	}
	switch strings.ToUpper(q.Get("outputType")) {
	case "JSON":
		w.Header().Set("Content-Type", "application/json")
	case "YAML":
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			return err
		}
		if doc, err = yaml.Marshal(v); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/yaml")
	default:
		return v2BadRequest("outputType %q must be JSON or YAML", truncate(q.Get("outputType"), 20))
	}
	_, err = w.Write(doc) //nolint:gosec // an OpenAPI document served as JSON or YAML, not HTML
	return err
}
