package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/portico-dev/portico/gateway/accesslog"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// apigatewayv2 stages and deployments. A stage's defaultRouteSettings are its
// "*/*" method settings and its routeSettings are keyed by route key, as the
// throttle stage reads them; autoDeploy makes every change of the API a new
// deployment of the stage (gateway/apis does it in the change's transaction).

func (s *Server) registerV2StageRoutes(p string) {
	s.handleCollection(p+"/{api}/stages", "{stage}", s.v2CreateStage, s.v2GetStages, s.v2GetStage, s.v2UpdateStage, s.v2DeleteStage)
	s.HandleAPIGateway("DELETE "+p+"/{api}/stages/{stage}/routesettings/{routeKey}", s.v2DeleteRouteSettings)
	s.HandleAPIGateway("DELETE "+p+"/{api}/stages/{stage}/accesslogsettings", s.v2DeleteAccessLogSettings)
	s.handleCollection(p+"/{api}/deployments", "{deployment}", s.v2CreateDeployment, s.v2GetDeployments, s.v2GetDeployment, s.v2UpdateDeployment, s.v2DeleteDeployment)
}

// v2RouteSettings is apigatewayv2's RouteSettings shape.
type v2RouteSettings struct {
	DataTraceEnabled       *bool    `json:"dataTraceEnabled,omitempty"`
	DetailedMetricsEnabled *bool    `json:"detailedMetricsEnabled,omitempty"`
	LoggingLevel           *string  `json:"loggingLevel,omitempty"`
	ThrottlingBurstLimit   *int     `json:"throttlingBurstLimit,omitempty"`
	ThrottlingRateLimit    *float64 `json:"throttlingRateLimit,omitempty"`
}

// v2Stage is apigatewayv2's Stage shape.
type v2Stage struct {
	AccessLogSettings           *apis.AccessLogSettings    `json:"accessLogSettings,omitempty"`
	AutoDeploy                  bool                       `json:"autoDeploy"`
	CreatedDate                 string                     `json:"createdDate,omitempty"`
	DefaultRouteSettings        *v2RouteSettings           `json:"defaultRouteSettings,omitempty"`
	DeploymentID                string                     `json:"deploymentId,omitempty"`
	Description                 string                     `json:"description,omitempty"`
	LastDeploymentStatusMessage string                     `json:"lastDeploymentStatusMessage,omitempty"`
	LastUpdatedDate             string                     `json:"lastUpdatedDate,omitempty"`
	RouteSettings               map[string]v2RouteSettings `json:"routeSettings,omitempty"`
	StageName                   string                     `json:"stageName"`
	StageVariables              map[string]string          `json:"stageVariables,omitempty"`
	Tags                        map[string]string          `json:"tags,omitempty"`
}

// v2StageInput is the body of create-stage and update-stage.
type v2StageInput struct {
	AccessLogSettings    *apis.AccessLogSettings    `json:"accessLogSettings"`
	AutoDeploy           *bool                      `json:"autoDeploy"`
	ClientCertificateID  *string                    `json:"clientCertificateId"`
	DefaultRouteSettings *v2RouteSettings           `json:"defaultRouteSettings"`
	DeploymentID         *string                    `json:"deploymentId"`
	Description          *string                    `json:"description"`
	RouteSettings        map[string]v2RouteSettings `json:"routeSettings"`
	StageName            *string                    `json:"stageName"`
	StageVariables       map[string]*string         `json:"stageVariables"`
	Tags                 map[string]string          `json:"tags"`
}

// toV2RouteSettings is ms as a stage of an API of protocol shows it: execution
// logging (loggingLevel, dataTraceEnabled) is WebSocket APIs' alone, and an
// HTTP API's stage leaves it out, as API Gateway does.
func toV2RouteSettings(protocol string, ms apis.MethodSetting) v2RouteSettings {
	out := v2RouteSettings{DetailedMetricsEnabled: &ms.MetricsEnabled}
	if protocol == apis.ProtocolWebSocket {
		out.DataTraceEnabled = &ms.DataTraceEnabled
		level := ms.LoggingLevel
		if level == "" {
			level = "OFF"
		}
		out.LoggingLevel = &level
	}
	// A throttle not set is left out, as API Gateway leaves it out.
	out.ThrottlingBurstLimit, out.ThrottlingRateLimit = ms.ThrottlingBurstLimit, ms.ThrottlingRateLimit
	return out
}

// applyTo sets rs's fields on ms, a route setting of an API of protocol.
func (rs v2RouteSettings) applyTo(protocol, key string, ms *apis.MethodSetting) error {
	if protocol != apis.ProtocolWebSocket && (rs.LoggingLevel != nil || rs.DataTraceEnabled != nil) {
		// API Gateway's own words; HTTP APIs have access logs only.
		return v2BadRequest("Execution logs are not supported on protocolType %s: leave loggingLevel and dataTraceEnabled out of %s (HTTP APIs log through accessLogSettings)", protocol, key)
	}
	setIfGiven(&ms.DataTraceEnabled, rs.DataTraceEnabled)
	setIfGiven(&ms.MetricsEnabled, rs.DetailedMetricsEnabled)
	if v := rs.LoggingLevel; v != nil {
		switch *v {
		case "OFF", "ERROR", "INFO":
			ms.LoggingLevel = *v
		default:
			return v2BadRequest("loggingLevel %q of %s must be OFF, ERROR or INFO", truncate(*v, 20), key)
		}
	}
	// -1 is API Gateway's "not configured": the route (or the stage
	// default) is then not throttled. 0 is a limit: with both 0 every
	// request (every $connect, every message) is throttled, as API Gateway
	// blocks the route; rate 0 with burst n lets n through, then none.
	if v := rs.ThrottlingBurstLimit; v != nil {
		switch {
		case *v == -1:
			ms.ThrottlingBurstLimit = nil
		case *v < 0 || *v > math.MaxInt32:
			return v2BadRequest("throttlingBurstLimit of %s must be 0 to %d, or -1 for none", key, math.MaxInt32)
		default:
			ms.ThrottlingBurstLimit = new(*v)
		}
	}
	if v := rs.ThrottlingRateLimit; v != nil {
		switch {
		case *v == -1:
			ms.ThrottlingRateLimit = nil
		case *v < 0:
			return v2BadRequest("throttlingRateLimit of %s must be 0 or more, or -1 for none", key)
		default:
			ms.ThrottlingRateLimit = new(*v)
		}
	}
	return nil
}

// v2DeployedMessage is an autoDeploy stage's lastDeploymentStatusMessage
// after its automatic deployment id succeeded, as API Gateway words it.
func v2DeployedMessage(id string) string {
	return "Successfully deployed stage with deployment ID '" + id + "'"
}

func (s *Server) toV2Stage(a *apis.API, st *apis.Stage) v2Stage {
	out := v2Stage{StageName: st.Name, Description: st.Description, DeploymentID: st.DeploymentID, AutoDeploy: st.AutoDeploy,
		AccessLogSettings: st.AccessLogSettings, StageVariables: st.Variables, Tags: st.Tags,
		LastDeploymentStatusMessage: st.LastDeploymentStatusMessage,
		CreatedDate:                 v2Time(st.CreatedAt), LastUpdatedDate: v2Time(st.UpdatedAt)}
	if out.LastDeploymentStatusMessage == "" && st.AutoDeploy && st.DeploymentID != "" {
		// The store keeps a failure's reason only; API Gateway reports a
		// success too (its get-stages example): an autoDeploy stage
		// that serves a deployment got there by its last automatic one,
		// as autoDeploy refuses the manual ones.
		out.LastDeploymentStatusMessage = v2DeployedMessage(st.DeploymentID)
	}
	for key, ms := range st.MethodSettings {
		rs := toV2RouteSettings(a.Protocol, ms)
		if key == apis.MethodSettingsAll {
			out.DefaultRouteSettings = &rs
			continue
		}
		if out.RouteSettings == nil {
			out.RouteSettings = map[string]v2RouteSettings{}
		}
		out.RouteSettings[key] = rs
	}
	if out.DefaultRouteSettings == nil {
		rs := toV2RouteSettings(a.Protocol, apis.DefaultMethodSetting())
		out.DefaultRouteSettings = &rs
	}
	return out
}

// methodSettings turns in's route settings into whole method-settings
// entries, each starting from the stage's current entry (or the defaults).
func (in *v2StageInput) methodSettings(a *apis.API, cur map[string]apis.MethodSetting) (map[string]apis.MethodSetting, error) {
	out := map[string]apis.MethodSetting{}
	entry := func(key string) apis.MethodSetting {
		if ms, ok := cur[key]; ok {
			return ms
		}
		return apis.DefaultMethodSetting()
	}
	if in.DefaultRouteSettings != nil {
		ms := entry(apis.MethodSettingsAll)
		if err := in.DefaultRouteSettings.applyTo(a.Protocol, "defaultRouteSettings", &ms); err != nil {
			return nil, err
		}
		out[apis.MethodSettingsAll] = ms
	}
	for key, rs := range in.RouteSettings {
		if !slices.ContainsFunc(a.Routes, func(r apis.Route) bool { return r.RouteKey == key }) {
			return nil, routeKeyNotFound(key)
		}
		ms := entry(key)
		if err := rs.applyTo(a.Protocol, "routeSettings "+key, &ms); err != nil {
			return nil, err
		}
		out[key] = ms
	}
	return out, nil
}

// v2AccessLog checks in's access log settings for a stage of a (a preset name
// is its format): the format must write $context.requestId, and the
// destination be one the gateway can write.
func (s *Server) v2AccessLog(in *v2StageInput, a *apis.API) (*apis.AccessLogSettings, error) {
	if in.AccessLogSettings == nil {
		return nil, nil
	}
	set := *in.AccessLogSettings
	if preset, ok := accesslog.Presets[strings.ToLower(set.Format)]; ok {
		set.Format = preset
	}
	if _, err := accesslog.CheckFormat(a.Protocol, set.Format); err != nil {
		return nil, v2BadRequest("accessLogSettings: %v", err)
	}
	if err := s.checkAccessLogDestination(set.DestinationARN); err != nil {
		return nil, v2BadRequest("accessLogSettings: %v", err)
	}
	return &set, nil
}

// v2StageError turns the model's not-found errors about a stage request into
// AWS's.
func v2StageError(r *http.Request, err error) error {
	var k *errdefs.Kinded
	if err == nil || !errors.Is(err, errdefs.ErrNotFound) || errors.As(err, &k) {
		return err
	}
	if dnf := (*apis.DeploymentNotFoundError)(nil); errors.As(err, &dnf) {
		return v2NotFound("Deployment", dnf.ID)
	}
	return v2NotFound("Stage", r.PathValue("stage"))
}

func (s *Server) v2CreateStage(w http.ResponseWriter, r *http.Request) error {
	var in v2StageInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.StageName == nil {
		return v2BadRequest("Invalid request body: stageName is required")
	}
	if in.ClientCertificateID != nil && *in.ClientCertificateID != "" {
		return v2BadRequest("clientCertificateId is not supported")
	}
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	settings, err := in.methodSettings(a, nil)
	if err != nil {
		return err
	}
	logs, err := s.v2AccessLog(&in, a)
	if err != nil {
		return err
	}
	st := apis.StageInput{Name: *in.StageName, MethodSettings: settings, AccessLogSettings: logs, Tags: in.Tags}
	setIfGiven(&st.DeploymentID, in.DeploymentID)
	setIfGiven(&st.Description, in.Description)
	setIfGiven(&st.AutoDeploy, in.AutoDeploy)
	for k, v := range in.StageVariables {
		if v == nil {
			continue
		}
		if st.Variables == nil {
			st.Variables = map[string]string{}
		}
		st.Variables[k] = *v
	}
	created, err := s.gw.APIs.CreateStage(r.Context(), a.ID, st)
	if errors.Is(err, errdefs.ErrConflict) {
		return v2Conflict("Stage %s already exists", *in.StageName)
	}
	if errors.Is(err, errdefs.ErrNotFound) {
		return v2NotFound("Deployment", st.DeploymentID)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, s.toV2Stage(a, created))
}

func (s *Server) v2GetStages(w http.ResponseWriter, r *http.Request) error {
	return v2List(s, w, r, func(a *apis.API) ([]v2Stage, error) {
		list, err := s.gw.APIs.ListStages(r.Context(), a.ID)
		return convert(list, func(st *apis.Stage) v2Stage { return s.toV2Stage(a, st) }), err
	}, func(st v2Stage) sortKey { return sortKey{st.StageName} })
}

// v2LoadStage returns the API {api} and its stage {stage}, with AWS's 404s.
func (s *Server) v2LoadStage(r *http.Request) (*apis.API, *apis.Stage, error) {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.gw.APIs.GetStage(r.Context(), a.ID, r.PathValue("stage"))
	if err != nil {
		return nil, nil, v2StageError(r, err)
	}
	return a, st, nil
}

func (s *Server) v2GetStage(w http.ResponseWriter, r *http.Request) error {
	a, st, err := s.v2LoadStage(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toV2Stage(a, st))
}

func (s *Server) v2UpdateStage(w http.ResponseWriter, r *http.Request) error {
	var in v2StageInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.StageName != nil && *in.StageName != r.PathValue("stage") {
		return v2BadRequest("A stage cannot be renamed")
	}
	if in.ClientCertificateID != nil && *in.ClientCertificateID != "" {
		return v2BadRequest("clientCertificateId is not supported")
	}
	a, cur, err := s.v2LoadStage(r)
	if err != nil {
		return err
	}
	// A deploymentId for a stage that deploys automatically is refused in
	// the transaction that writes, on the stage as it stands then.
	p := apis.StagePatch{Description: in.Description, DeploymentID: in.DeploymentID, AutoDeploy: in.AutoDeploy, DeploymentFollowsAutoDeploy: true}
	// The fields given are merged into the entries as stored when the stage
	// is written, so that a concurrent update of other fields stays; the
	// check first refuses bad input without a write.
	if _, err := in.methodSettings(a, cur.MethodSettings); err != nil {
		return err
	}
	p.MergeMethodSettings = func(stored map[string]apis.MethodSetting) (map[string]apis.MethodSetting, error) {
		return in.methodSettings(a, stored)
	}
	logs, err := s.v2AccessLog(&in, a)
	if err != nil {
		return err
	}
	if logs != nil {
		p.AccessLogRemove, p.AccessLogFormat, p.AccessLogDestination = true, &logs.Format, &logs.DestinationARN
	}
	for k, v := range in.StageVariables {
		if v == nil || *v == "" {
			p.UnsetVariables = append(p.UnsetVariables, k)
			continue
		}
		if p.SetVariables == nil {
			p.SetVariables = map[string]string{}
		}
		p.SetVariables[k] = *v
	}
	st, err := s.gw.APIs.UpdateStage(r.Context(), a.ID, cur.Name, p)
	if err != nil {
		return v2StageError(r, err)
	}
	return writeJSON(w, http.StatusOK, s.toV2Stage(a, st))
}

func (s *Server) v2DeleteStage(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	return noContent(w, v2StageError(r, s.gw.APIs.DeleteStage(r.Context(), a.ID, r.PathValue("stage"))))
}

// routeKeyNotFound is the 404 of routeSettings naming a route key the API
// does not have: the key, not an internal identifier.
func routeKeyNotFound(key string) error {
	return errdefs.New(errdefs.ErrNotFound, "NotFoundException",
		fmt.Sprintf("Unable to find Route by key %s within the provided RouteSettings; create the route first, or name one of the API's route keys", truncate(key, 128)))
}

func (s *Server) v2DeleteRouteSettings(w http.ResponseWriter, r *http.Request) error {
	a, st, err := s.v2LoadStage(r)
	if err != nil {
		return err
	}
	key := r.PathValue("routeKey")
	if _, ok := st.MethodSettings[key]; !ok || key == apis.MethodSettingsAll {
		return errdefs.New(errdefs.ErrNotFound, "NotFoundException",
			fmt.Sprintf("Unable to find RouteSettings by key %s: the stage has no settings for that route key", truncate(key, 128)))
	}
	_, err = s.gw.APIs.UpdateStage(r.Context(), a.ID, st.Name, apis.StagePatch{UnsetMethodSettings: []string{key}})
	return noContent(w, v2StageError(r, err))
}

func (s *Server) v2DeleteAccessLogSettings(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	_, err = s.gw.APIs.UpdateStage(r.Context(), a.ID, r.PathValue("stage"), apis.StagePatch{AccessLogRemove: true})
	return noContent(w, v2StageError(r, err))
}

// v2Deployment is apigatewayv2's Deployment shape.
type v2Deployment struct {
	AutoDeployed     bool   `json:"autoDeployed"`
	CreatedDate      string `json:"createdDate,omitempty"`
	DeploymentID     string `json:"deploymentId"`
	DeploymentStatus string `json:"deploymentStatus"`
	Description      string `json:"description,omitempty"`
}

func toV2Deployment(d apis.DeploymentSummary) v2Deployment {
	return v2Deployment{AutoDeployed: d.AutoDeployed, CreatedDate: v2Time(d.CreatedAt), DeploymentID: d.ID,
		DeploymentStatus: "DEPLOYED", Description: d.Description}
}

// v2DeploymentInput is the body of create-deployment.
type v2DeploymentInput struct {
	Description *string `json:"description"`
	StageName   *string `json:"stageName"`
}

func (s *Server) v2CreateDeployment(w http.ResponseWriter, r *http.Request) error {
	var in v2DeploymentInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	var d apis.DeployInput
	setIfGiven(&d.Description, in.Description)
	if in.StageName != nil && *in.StageName != "" {
		// As AWS does, the stage must exist: create-deployment does not make one.
		if _, err := s.gw.APIs.GetStage(r.Context(), a.ID, *in.StageName); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				return v2NotFound("Stage", *in.StageName)
			}
			return err
		}
		d.StageName = *in.StageName
	}
	dep, _, err := s.gw.APIs.Deploy(r.Context(), a.ID, d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toV2Deployment(dep.Summary()))
}

func (s *Server) v2GetDeployments(w http.ResponseWriter, r *http.Request) error {
	return v2Get(s, w, r, func(a *apis.API) (v2Page[v2Deployment], error) {
		list, err := s.gw.APIs.ListDeployments(r.Context(), a.ID)
		if err != nil {
			return v2Page[v2Deployment]{}, err
		}
		page, err := paginate(r, list, deploymentOrder)
		return v2Page[v2Deployment]{Items: convert(page.Items, toV2Deployment), NextToken: page.NextToken}, err
	})
}

func (s *Server) v2GetDeployment(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	d, err := s.gw.APIs.GetDeployment(r.Context(), a.ID, r.PathValue("deployment"))
	if err != nil {
		return v2StageError(r, err)
	}
	return writeJSON(w, http.StatusOK, toV2Deployment(d.Summary()))
}

func (s *Server) v2UpdateDeployment(w http.ResponseWriter, r *http.Request) error {
	var in v2DeploymentInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	if in.StageName != nil || in.Description == nil {
		return v2BadRequest("update-deployment changes the description only")
	}
	d, err := s.gw.APIs.SetDeploymentDescription(r.Context(), a.ID, r.PathValue("deployment"), *in.Description)
	if err != nil {
		return v2StageError(r, err)
	}
	return writeJSON(w, http.StatusOK, toV2Deployment(d.Summary()))
}

func (s *Server) v2DeleteDeployment(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	err = s.gw.APIs.DeleteDeployment(r.Context(), a.ID, r.PathValue("deployment"))
	if errors.Is(err, apis.ErrDeploymentInUse) {
		// API Gateway's answer, as for a REST API's deployment.
		return v2BadRequest("Active stages pointing to this deployment must be moved or deleted")
	}
	return noContent(w, v2StageError(r, err))
}
