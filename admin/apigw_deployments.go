package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds API Gateway's (v1) deployments (get-deployment(s),
// delete-deployment) and create-stage and delete-stage; create-deployment,
// get-stage(s) and update-stage are in apigw_stages.go.

func (s *Server) registerDeploymentRoutes() {
	s.HandleAPIGateway("GET /restapis/{api}/deployments", s.apigwGetDeployments)
	s.HandleAPIGateway("GET /restapis/{api}/deployments/{dep}", s.apigwGetDeployment)
	s.HandleAPIGateway("DELETE /restapis/{api}/deployments/{dep}", s.apigwDeleteDeployment)
	s.HandleAPIGateway("POST /restapis/{api}/stages", s.apigwCreateStage)
	s.HandleAPIGateway("DELETE /restapis/{api}/stages/{stage}", s.apigwDeleteStage)
}

// deploymentJSON is API Gateway's Deployment.
type deploymentJSON struct {
	ID          string                                   `json:"id"`
	Description string                                   `json:"description,omitempty"`
	CreatedDate float64                                  `json:"createdDate"`
	APISummary  map[string]map[string]methodSnapshotJSON `json:"apiSummary,omitempty"`
}

// methodSnapshotJSON is API Gateway's MethodSnapshot.
type methodSnapshotJSON struct {
	AuthorizationType string `json:"authorizationType"`
	APIKeyRequired    bool   `json:"apiKeyRequired"`
}

// methodSummary lists a deployed API's methods by path.
func methodSummary(a *apis.API) map[string]map[string]methodSnapshotJSON {
	out := map[string]map[string]methodSnapshotJSON{}
	tree := a.ResourceTree()
	for i := range a.Routes {
		rt := &a.Routes[i]
		var n *apis.ResourceNode
		for j := range tree {
			if tree[j].Path == rt.Path {
				n = &tree[j]
			}
		}
		if n == nil {
			continue
		}
		m := toMethodJSON(a, n, rt)
		if out[rt.Path] == nil {
			out[rt.Path] = map[string]methodSnapshotJSON{}
		}
		out[rt.Path][rt.Method] = methodSnapshotJSON{AuthorizationType: m.AuthorizationType, APIKeyRequired: m.APIKeyRequired}
	}
	return out
}

var errDeploymentNotFound = notFoundMsg("Invalid Deployment identifier specified")

// stageErr gives a stage or deployment call's plain not-found error API
// Gateway's message: the API's when it is the API that is missing, else
// notFound's.
func (s *Server) stageErr(ctx context.Context, apiID string, err error, notFound error) error {
	var k *errdefs.Kinded
	if err == nil || errors.As(err, &k) || !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	if _, aerr := s.restAPI(ctx, apiID); aerr != nil {
		return aerr
	}
	return notFound
}

func (s *Server) apigwGetDeployments(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("api")
	if _, err := s.restAPI(r.Context(), id); err != nil {
		return err
	}
	list, err := s.gw.APIs.ListDeployments(r.Context(), id)
	if err != nil {
		return restAPIErr(id, err)
	}
	page, next, err := pageByKey(r, list, deploymentOrder)
	if err != nil {
		return err
	}
	out := collection[deploymentJSON]{Item: make([]deploymentJSON, 0, len(page)), Position: next}
	for _, d := range page {
		out.Item = append(out.Item, deploymentJSON{ID: d.ID, Description: d.Description, CreatedDate: epoch(d.CreatedAt)})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apigwGetDeployment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("api")
	if _, err := s.restAPI(r.Context(), id); err != nil {
		return err
	}
	d, err := s.gw.APIs.GetDeployment(r.Context(), id, r.PathValue("dep"))
	if err != nil {
		return s.stageErr(r.Context(), id, err, errDeploymentNotFound)
	}
	out := deploymentJSON{ID: d.ID, Description: d.Description, CreatedDate: epoch(d.CreatedAt)}
	for _, e := range r.URL.Query()["embed"] {
		if e == "apisummary" {
			out.APISummary = methodSummary(&d.API)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apigwDeleteDeployment(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("api")
	if _, err := s.restAPI(r.Context(), id); err != nil {
		return err
	}
	err := s.gw.APIs.DeleteDeployment(r.Context(), id, r.PathValue("dep"))
	if errors.Is(err, apis.ErrDeploymentInUse) {
		return badRequest("Active stages pointing to this deployment must be moved or deleted")
	}
	if err != nil {
		return s.stageErr(r.Context(), id, err, errDeploymentNotFound)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// createStageRequest is CreateStage's body.
type createStageRequest struct {
	StageName            string            `json:"stageName"`
	DeploymentID         string            `json:"deploymentId"`
	Description          string            `json:"description"`
	CacheClusterEnabled  *bool             `json:"cacheClusterEnabled"`
	CacheClusterSize     *string           `json:"cacheClusterSize"`
	Variables            map[string]string `json:"variables"`
	DocumentationVersion string            `json:"documentationVersion"`
	CanarySettings       *struct {
		PercentTraffic         *float64          `json:"percentTraffic"`
		DeploymentID           *string           `json:"deploymentId"`
		StageVariableOverrides map[string]string `json:"stageVariableOverrides"`
		UseStageCache          *bool             `json:"useStageCache"`
	} `json:"canarySettings"`
	TracingEnabled *bool             `json:"tracingEnabled"`
	Tags           map[string]string `json:"tags"`
}

func (s *Server) apigwCreateStage(w http.ResponseWriter, r *http.Request) error {
	var in createStageRequest
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	id := r.PathValue("api")
	if _, err := s.restAPI(r.Context(), id); err != nil {
		return err
	}
	if in.StageName == "" || in.DeploymentID == "" {
		return badRequest("stageName and deploymentId are required")
	}
	if in.DocumentationVersion != "" {
		return badRequest("documentationVersion is not supported: Portico keeps no documentation parts")
	}
	set := apis.StagePatch{CacheClusterEnabled: in.CacheClusterEnabled, CacheClusterSize: in.CacheClusterSize, TracingEnabled: in.TracingEnabled}
	if c := in.CanarySettings; c != nil {
		set.Canary = &apis.CanaryPatch{PercentTraffic: c.PercentTraffic, DeploymentID: c.DeploymentID, UseStageCache: c.UseStageCache, SetOverrides: c.StageVariableOverrides}
	}
	st, err := s.gw.APIs.CreateStage(r.Context(), id, apis.StageInput{Name: in.StageName, DeploymentID: in.DeploymentID,
		Description: in.Description, Variables: in.Variables, Settings: set, Tags: in.Tags})
	if errors.Is(err, errdefs.ErrConflict) {
		return errdefs.New(errdefs.ErrConflict, "ConflictException", "Stage already exists")
	}
	if err != nil {
		return s.stageErr(r.Context(), id, err, errDeploymentNotFound)
	}
	return writeJSON(w, http.StatusCreated, toAPIGWStage(st))
}

func (s *Server) apigwDeleteStage(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("api")
	if _, err := s.restAPI(r.Context(), id); err != nil {
		return err
	}
	if err := s.gw.APIs.DeleteStage(r.Context(), id, r.PathValue("stage")); err != nil {
		return s.stageErr(r.Context(), id, err, stageNotFound())
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
