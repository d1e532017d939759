package admin

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/accesslog"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/openapi"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/netaddr"
)

// GatewayDeps are the gateway services behind the /portico/v1 API and stage routes.
// They are optional so that the admin API runs without the gateway module; the
// routes are then not registered.
type GatewayDeps struct {
	fx.In

	APIs *apis.Service `optional:"true"`
	// Server gives stage URLs in responses; optional.
	Server *gateway.Server `optional:"true"`
	// Cache flushes stage caches; optional.
	Cache StageCache `optional:"true"`
	// AuthorizerCache flushes stages' cached authorizer answers; optional.
	AuthorizerCache AuthorizerCache `optional:"true"`
	// AccessLogDirs are the directories access logs' file destinations may
	// be in; without them no file destination is accepted.
	AccessLogDirs *accesslog.Dirs `optional:"true"`
}

// checkAccessLogDestination checks a stage's access-log destination where it
// is set (accesslog.CheckDestination, within the allowed directories).
func (s *Server) checkAccessLogDestination(dest string) error {
	dirs := s.gw.AccessLogDirs
	if dirs == nil {
		dirs = &accesslog.Dirs{}
	}
	_, err := accesslog.CheckDestination(dest, dirs)
	return err
}

// maxJSONBody bounds the JSON bodies of the gateway routes; imports take up to
// openapi.MaxDocument.
const maxJSONBody = 6 << 20

// registerGatewayRoutes registers the routes for APIs, deployments and stages.
func (s *Server) registerGatewayRoutes() {
	if s.gw.APIs == nil {
		return
	}
	const p = porticoAPIsPrefix
	s.handleAPIs("GET "+p, s.listAPIs)
	s.handleAPIs("POST "+p, s.createAPI)
	s.handleAPIs("POST "+p+"/import", s.importAPI)
	s.handleAPIs("GET "+p+"/{api}", s.getAPI)
	s.handleAPIs("PATCH "+p+"/{api}", s.patchAPI)
	s.handleAPIs("PUT "+p+"/{api}", s.putAPI)
	s.handleAPIs("DELETE "+p+"/{api}", s.deleteAPI)
	s.handleAPIs("PUT "+p+"/{api}/import", s.reimportAPI)
	s.handleAPIs("GET "+p+"/{api}/export", s.exportAPI)
	s.handleAPIs("POST "+p+"/{api}/cors", s.enableCORS)

	s.handleAPIs("GET "+p+"/{api}/routes", s.listRoutes)
	s.handleAPIs("POST "+p+"/{api}/routes", s.createRoute)
	s.handleAPIs("GET "+p+"/{api}/routes/{route}", s.getRoute)
	s.handleAPIs("PUT "+p+"/{api}/routes/{route}", s.putRoute)
	s.handleAPIs("DELETE "+p+"/{api}/routes/{route}", s.deleteRoute)
	s.handleAPIs("GET "+p+"/{api}/routes/{route}/integration", s.getIntegration)
	s.handleAPIs("PUT "+p+"/{api}/routes/{route}/integration", s.putIntegration)
	s.handleAPIs("DELETE "+p+"/{api}/routes/{route}/integration", s.deleteIntegration)

	s.handleAPIs("GET "+p+"/{api}/deployments", s.listDeployments)
	s.handleAPIs("POST "+p+"/{api}/deployments", s.createDeployment)
	s.handleAPIs("GET "+p+"/{api}/deployments/{deployment}", s.getDeployment)
	s.handleAPIs("DELETE "+p+"/{api}/deployments/{deployment}", s.deleteDeployment)

	s.handleAPIs("GET "+p+"/{api}/stages", s.listStages)
	s.handleAPIs("POST "+p+"/{api}/stages", s.createStage)
	s.handleAPIs("GET "+p+"/{api}/stages/{stage}", s.getStage)
	s.handleAPIs("PATCH "+p+"/{api}/stages/{stage}", s.patchStage)
	s.handleAPIs("DELETE "+p+"/{api}/stages/{stage}", s.deleteStage)
	s.handleAPIs("PATCH "+p+"/{api}/stages/{stage}/variables", s.patchVariables)
	s.handleAPIs("GET "+p+"/{api}/stages/{stage}/history", s.stageHistory)
	s.handleAPIs("POST "+p+"/{api}/stages/{stage}/rollback", s.rollbackStage)
}

// porticoAPIsPrefix is the path of Portico's own API routes.
const porticoAPIsPrefix = "/portico/v1/apis"

type listResponse[T any] struct {
	Items []T `json:"items"`
}

func items[T any](v []T) listResponse[T] {
	if v == nil {
		v = []T{}
	}
	return listResponse[T]{Items: v}
}

// apiSummary is an API in listings.
type apiSummary struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Protocol    string `json:"protocol"`
	Version     string `json:"version,omitempty"`
	Routes      int    `json:"routes"`
	CreatedAt   string `json:"createdAt"`
}

func (s *Server) listAPIs(w http.ResponseWriter, r *http.Request) error {
	list, err := s.gw.APIs.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]apiSummary, 0, len(list))
	for _, a := range list {
		out = append(out, apiSummary{ID: a.ID, Name: a.Name, Description: a.Description, Protocol: a.Protocol,
			Version: a.Version, Routes: len(a.Routes), CreatedAt: a.CreatedAt.Format("2006-01-02T15:04:05Z07:00")})
	}
	return writeJSON(w, http.StatusOK, items(out))
}

func (s *Server) createAPI(w http.ResponseWriter, r *http.Request) error {
	var a apis.API
	if err := decodeJSON(w, r, porticoBody, &a); err != nil {
		return err
	}
	a.ID = ""
	if a.Protocol == "" {
		a.Protocol = apis.ProtocolREST
	}
	a.Protocol = strings.ToUpper(a.Protocol)
	created, err := s.gw.APIs.Create(r.Context(), &a)
	return reply(w, http.StatusCreated, created, err)
}

// importResponse is the answer to an import.
type importResponse struct {
	API      *apis.API `json:"api"`
	Warnings []string  `json:"warnings"`
}

// parseImport reads and imports the request's document; stop ends the watch
// on its client (watchImport) and must run before the handler returns.
func (s *Server) parseImport(w http.ResponseWriter, r *http.Request) (_ *openapi.Result, stop func(), _ error) {
	stop = func() {}
	raw, err := readBody(w, r, jsonBody{limit: openapi.MaxDocument})
	if err != nil {
		return nil, stop, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, stop, fmt.Errorf("request body is empty; send an OpenAPI 3 or Swagger 2.0 document: %w", errdefs.ErrInvalid)
	}
	stop = watchImport(w)
	q := r.URL.Query()
	res, err := openapi.Import(r.Context(), raw, openapi.Options{Name: q.Get("name"), Protocol: q.Get("protocol")})
	return res, stop, err
}

func (s *Server) importAPI(w http.ResponseWriter, r *http.Request) error {
	if m := r.URL.Query().Get("mode"); m != "" {
		return fmt.Errorf("mode=%s applies to PUT /portico/v1/apis/{api}/import: %w", m, errdefs.ErrInvalid)
	}
	res, stop, err := s.parseImport(w, r)
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
	return writeJSON(w, http.StatusCreated, importResponse{API: created, Warnings: nonNil(res.Warnings)})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// reimportAPI replaces an API's definition (put-rest-api --mode overwrite).
func (s *Server) reimportAPI(w http.ResponseWriter, r *http.Request) error {
	switch m := r.URL.Query().Get("mode"); m {
	case "", "overwrite":
	default:
		return fmt.Errorf("mode %q is not supported; use overwrite: %w", m, errdefs.ErrInvalid)
	}
	id := r.PathValue("api")
	existing, err := s.gw.APIs.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("protocol") == "" {
		q := r.URL.Query()
		q.Set("protocol", existing.Protocol)
		r.URL.RawQuery = q.Encode()
	}
	res, stop, err := s.parseImport(w, r)
	defer stop()
	if err != nil {
		return err
	}
	if r.URL.Query().Get("name") == "" {
		res.API.Name = "" // keep the API's name unless renamed explicitly
	}
	if err := s.importMayCommit(r); err != nil {
		return err
	}
	updated, err := s.gw.APIs.Replace(r.Context(), id, res.API)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, importResponse{API: updated, Warnings: nonNil(res.Warnings)})
}

func (s *Server) exportAPI(w http.ResponseWriter, r *http.Request) error {
	a, err := s.gw.APIs.Get(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	out, warnings, err := openapi.ExportWithWarnings(a, r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	addWarnings(w.Header(), warnings)
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(out) //nolint:gosec // a JSON document served as application/json, not HTML
	return err
}

// addWarnings puts each of an export's warnings (what the format cannot say
// of the API) in a Warning header, RFC 7234's miscellaneous persistent warning
// (299), since the answer's body is the document itself; the CLI prints them.
func addWarnings(h http.Header, warnings []string) {
	for _, w := range warnings {
		h.Add("Warning", `299 - "`+warningEscaper.Replace(w)+`"`)
	}
}

// warningEscaper quotes a warning's text for a Warning header's quoted-string.
var warningEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", " ", "\n", " ")

func (s *Server) getAPI(w http.ResponseWriter, r *http.Request) error {
	a, err := s.gw.APIs.Get(r.Context(), r.PathValue("api"))
	return reply(w, http.StatusOK, a, err)
}

// apiPatch changes an API's settings; nil fields are left as they are.
type apiPatch struct {
	Name                     *string                           `json:"name"`
	Description              *string                           `json:"description"`
	BinaryMediaTypes         *[]string                         `json:"binaryMediaTypes"`
	APIKeySource             *string                           `json:"apiKeySource"`
	RouteSelectionExpression *string                           `json:"routeSelectionExpression"`
	RequestValidators        *map[string]apis.RequestValidator `json:"requestValidators"`
	RequestValidator         *string                           `json:"requestValidator"`
}

func (s *Server) patchAPI(w http.ResponseWriter, r *http.Request) error {
	var p apiPatch
	if err := decodeJSON(w, r, porticoBody, &p); err != nil {
		return err
	}
	a, err := s.gw.APIs.Modify(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		setIfGiven(&a.Name, p.Name)
		setIfGiven(&a.Description, p.Description)
		setIfGiven(&a.APIKeySource, p.APIKeySource)
		setIfGiven(&a.RouteSelectionExpression, p.RouteSelectionExpression)
		setIfGiven(&a.RequestValidator, p.RequestValidator)
		setIfGiven(&a.BinaryMediaTypes, p.BinaryMediaTypes)
		setIfGiven(&a.RequestValidators, p.RequestValidators)
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// putAPI puts an API's name, description and definition back as a GET of it
// answered them (portico deploy's rollback): the id, protocol, tags and
// stages are the API's own; the protocol must match.
func (s *Server) putAPI(w http.ResponseWriter, r *http.Request) error {
	var in apis.API
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	id := r.PathValue("api")
	a, err := s.gw.APIs.Modify(r.Context(), id, func(a *apis.API) error {
		if in.Protocol != "" && in.Protocol != a.Protocol {
			return fmt.Errorf("api %s is %s, not %s: %w", id, a.Protocol, truncate(in.Protocol, 20), errdefs.ErrInvalid)
		}
		a.Name, a.Description, a.Definition = in.Name, in.Description, in.Definition
		return nil
	})
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) deleteAPI(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.gw.APIs.Delete(r.Context(), r.PathValue("api")))
}

func (s *Server) listRoutes(w http.ResponseWriter, r *http.Request) error {
	a, err := s.gw.APIs.Get(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(a.Routes))
}

func (s *Server) route(r *http.Request) (*apis.Route, error) {
	a, err := s.gw.APIs.Get(r.Context(), r.PathValue("api"))
	if err != nil {
		return nil, err
	}
	rt := a.Route(r.PathValue("route"))
	if rt == nil {
		return nil, fmt.Errorf("route %q of api %s: %w", r.PathValue("route"), a.ID, errdefs.ErrNotFound)
	}
	return rt, nil
}

// enableCORS enables CORS on a REST API the way API Gateway's console does
// (apis.RESTCORS); it answers the API and notes on what it left to proxies.
func (s *Server) enableCORS(w http.ResponseWriter, r *http.Request) error {
	var opts apis.RESTCORS
	if err := decodeJSON(w, r, porticoBody, &opts); err != nil {
		return err
	}
	a, notes, err := s.gw.APIs.EnableCORS(r.Context(), r.PathValue("api"), opts)
	if err != nil {
		return err
	}
	if notes == nil {
		notes = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"api": a, "notes": notes})
}

func (s *Server) createRoute(w http.ResponseWriter, r *http.Request) error {
	var rt apis.Route
	if err := decodeJSON(w, r, porticoBody, &rt); err != nil {
		return err
	}
	created, err := s.gw.APIs.AddRoute(r.Context(), r.PathValue("api"), rt)
	return reply(w, http.StatusCreated, created, err)
}

func (s *Server) getRoute(w http.ResponseWriter, r *http.Request) error {
	rt, err := s.route(r)
	return reply(w, http.StatusOK, rt, err)
}

func (s *Server) putRoute(w http.ResponseWriter, r *http.Request) error {
	var rt apis.Route
	if err := decodeJSON(w, r, porticoBody, &rt); err != nil {
		return err
	}
	updated, err := s.gw.APIs.ReplaceRoute(r.Context(), r.PathValue("api"), r.PathValue("route"), rt)
	return reply(w, http.StatusOK, updated, err)
}

func (s *Server) deleteRoute(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.gw.APIs.DeleteRoute(r.Context(), r.PathValue("api"), r.PathValue("route")))
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request) error {
	rt, err := s.route(r)
	if err != nil {
		return err
	}
	if rt.Integration == nil {
		return fmt.Errorf("route %q has no integration: %w", rt.RouteKey, errdefs.ErrNotFound)
	}
	return writeJSON(w, http.StatusOK, rt.Integration)
}

func (s *Server) putIntegration(w http.ResponseWriter, r *http.Request) error {
	var in apis.Integration
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	rt, err := s.gw.APIs.SetIntegration(r.Context(), r.PathValue("api"), r.PathValue("route"), &in)
	return reply(w, http.StatusOK, rt, err)
}

func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request) error {
	_, err := s.gw.APIs.SetIntegration(r.Context(), r.PathValue("api"), r.PathValue("route"), nil)
	return noContent(w, err)
}

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	list, err := s.gw.APIs.ListDeployments(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(list))
}

// deployRequest creates a deployment, optionally moving (or creating) a stage.
type deployRequest struct {
	Description      string            `json:"description"`
	StageName        string            `json:"stageName"`
	StageDescription string            `json:"stageDescription"`
	Variables        map[string]string `json:"variables"`
}

// deployResponse is the new deployment and, with a stage, the stage and its URL.
type deployResponse struct {
	Deployment apis.DeploymentSummary `json:"deployment"`
	Stage      *stageView             `json:"stage,omitempty"`
}

// stageView is a stage with its URL.
type stageView struct {
	*apis.Stage
	URL string `json:"url,omitempty"`
	// ExecuteAPIEndpointDisabled says the deployment the stage serves turns
	// the API's default endpoint off (disableExecuteApiEndpoint): URL is then
	// empty, as the stage answers 403 there and only custom domains reach it.
	ExecuteAPIEndpointDisabled bool `json:"executeApiEndpointDisabled,omitempty"`
	// Warnings, in the answers to a deployment and a variables change, say
	// what of the deployed API does not work on the stage as it now is
	// (apis.API.AuthorizerURIWarnings, IntegrationURIWarnings).
	Warnings []string `json:"warnings,omitempty"`
}

// warned is v with the warnings of the stage's deployment on its variables,
// each logged at warn.
func (s *Server) warned(ctx context.Context, v *stageView) *stageView {
	if v == nil || v.Stage == nil || v.DeploymentID == "" {
		return v
	}
	dep, err := s.gw.APIs.GetDeployment(ctx, v.APIID, v.DeploymentID)
	if err != nil {
		return v
	}
	v.Warnings = append(dep.API.AuthorizerURIWarnings(v.Variables), dep.API.IntegrationURIWarnings(v.Variables)...)
	for _, w := range v.Warnings {
		s.log.Warn(w, "api", v.APIID, "stage", v.Name)
	}
	return v
}

// view is st with its URL (ws:// or wss:// for a WebSocket API's), none when the deployment it serves turns the
// default endpoint off.
func (s *Server) view(ctx context.Context, st *apis.Stage) *stageView {
	v := &stageView{Stage: st}
	if st == nil {
		return v
	}
	if st.DeploymentID != "" {
		if dep, err := s.gw.APIs.GetDeployment(ctx, st.APIID, st.DeploymentID); err == nil && edge.ExecuteAPIEndpointDisabled(dep.API.Extensions) {
			v.ExecuteAPIEndpointDisabled = true
			return v
		}
	}
	if s.gw.Server != nil {
		v.URL = s.gw.Server.StageURL(st.APIID, st.Name)
		// A WebSocket stage's URL is the one its clients connect to, as
		// `portico stage list` and API Gateway's console give it.
		if a, err := s.gw.APIs.Get(ctx, st.APIID); err == nil && a.Protocol == apis.ProtocolWebSocket {
			v.URL = netaddr.WebSocketURL(v.URL)
		}
	}
	return v
}

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) error {
	var in deployRequest
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	dep, st, err := s.gw.APIs.Deploy(r.Context(), r.PathValue("api"), apis.DeployInput{
		Description: in.Description, StageName: in.StageName, StageDescription: in.StageDescription, Variables: in.Variables,
		MergeVariables: true, // into an existing stage's, as create-deployment does
	})
	if err != nil {
		return err
	}
	out := deployResponse{Deployment: dep.Summary()}
	if st != nil {
		out.Stage = s.warned(r.Context(), s.view(r.Context(), st))
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.gw.APIs.GetDeployment(r.Context(), r.PathValue("api"), r.PathValue("deployment"))
	return reply(w, http.StatusOK, d, err)
}

func (s *Server) deleteDeployment(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.gw.APIs.DeleteDeployment(r.Context(), r.PathValue("api"), r.PathValue("deployment")))
}

func (s *Server) listStages(w http.ResponseWriter, r *http.Request) error {
	list, err := s.gw.APIs.ListStages(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	out := make([]*stageView, 0, len(list))
	for _, st := range list {
		out = append(out, s.view(r.Context(), st))
	}
	return writeJSON(w, http.StatusOK, items(out))
}

type stageRequest struct {
	Name         string            `json:"name"`
	DeploymentID string            `json:"deploymentId"`
	Description  string            `json:"description"`
	Variables    map[string]string `json:"variables"`
}

func (s *Server) createStage(w http.ResponseWriter, r *http.Request) error {
	var in stageRequest
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	st, err := s.gw.APIs.CreateStage(r.Context(), r.PathValue("api"), apis.StageInput{Name: in.Name, DeploymentID: in.DeploymentID, Description: in.Description, Variables: in.Variables})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, s.view(r.Context(), st))
}

func (s *Server) getStage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.gw.APIs.GetStage(r.Context(), r.PathValue("api"), r.PathValue("stage"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.view(r.Context(), st))
}

// stagePatch changes a stage. Variables maps names to new values, or to null to
// remove them.
type stagePatch struct {
	Description  *string            `json:"description"`
	DeploymentID *string            `json:"deploymentId"`
	Variables    map[string]*string `json:"variables"`
}

// toPatch is p as a patch of the stage. A deploymentId is refused for a
// stage that deploys automatically (as apigatewayv2's update-stage refuses
// it): such a stage serves the API as it is.
func (p stagePatch) toPatch() apis.StagePatch {
	out := apis.StagePatch{Description: p.Description, DeploymentID: p.DeploymentID, DeploymentFollowsAutoDeploy: true}
	for k, v := range p.Variables {
		if v == nil {
			out.UnsetVariables = append(out.UnsetVariables, k)
			continue
		}
		if out.SetVariables == nil {
			out.SetVariables = map[string]string{}
		}
		out.SetVariables[k] = *v
	}
	return out
}

func (s *Server) patchStage(w http.ResponseWriter, r *http.Request) error {
	var p stagePatch
	if err := decodeJSON(w, r, porticoBody, &p); err != nil {
		return err
	}
	st, err := s.gw.APIs.UpdateStage(r.Context(), r.PathValue("api"), r.PathValue("stage"), p.toPatch())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.view(r.Context(), st))
}

// variablesPatch sets and removes stage variables.
type variablesPatch struct {
	Set   map[string]string `json:"set"`
	Unset []string          `json:"unset"`
}

func (s *Server) patchVariables(w http.ResponseWriter, r *http.Request) error {
	var p variablesPatch
	if err := decodeJSON(w, r, porticoBody, &p); err != nil {
		return err
	}
	if len(p.Set) == 0 && len(p.Unset) == 0 {
		return fmt.Errorf("give variables to set or unset: %w", errdefs.ErrInvalid)
	}
	st, err := s.gw.APIs.UpdateStage(r.Context(), r.PathValue("api"), r.PathValue("stage"),
		apis.StagePatch{SetVariables: p.Set, UnsetVariables: p.Unset})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.warned(r.Context(), s.view(r.Context(), st)))
}

func (s *Server) deleteStage(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.gw.APIs.DeleteStage(r.Context(), r.PathValue("api"), r.PathValue("stage")))
}

func (s *Server) stageHistory(w http.ResponseWriter, r *http.Request) error {
	st, err := s.gw.APIs.GetStage(r.Context(), r.PathValue("api"), r.PathValue("stage"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, items(st.History))
}

type rollbackRequest struct {
	DeploymentID string `json:"deploymentId"`
	// ExpectedDeploymentID, when set, is the deployment the caller saw the
	// stage serve (the console's Roll back sends it): a stage that serves
	// another now is a 409, not rolled back.
	ExpectedDeploymentID string `json:"expectedDeploymentId"`
}

func (s *Server) rollbackStage(w http.ResponseWriter, r *http.Request) error {
	var in rollbackRequest
	if err := decodeJSON(w, r, porticoOptional, &in); err != nil {
		return err
	}
	st, err := s.gw.APIs.RollbackIf(r.Context(), r.PathValue("api"), r.PathValue("stage"), in.DeploymentID, in.ExpectedDeploymentID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.view(r.Context(), st))
}
