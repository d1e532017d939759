package apis

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

func TestSharedIntegrationResolvesIntoRoutes(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, &API{Name: "shared", Protocol: ProtocolHTTP, Definition: Definition{
		Integrations: map[string]Integration{"abc1234": {Type: "http_proxy", URI: "http://backend/one", HTTPMethod: "any"}},
		Routes: []Route{
			{Method: "GET", Path: "/a", IntegrationID: "abc1234"},
			{Method: "POST", Path: "/b", IntegrationID: "abc1234"},
		}}})
	for _, r := range a.Routes {
		if r.Integration == nil || r.Integration.URI != "http://backend/one" || r.Integration.Type != IntegrationHTTPProxy {
			t.Fatalf("route %s: %+v", r.RouteKey, r.Integration)
		}
	}
	a, err := s.Modify(ctx, a.ID, func(a *API) error {
		in := a.Integrations["abc1234"]
		in.URI = "http://backend/two"
		a.Integrations["abc1234"] = in
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Routes[0].Integration.URI != "http://backend/two" || a.Routes[1].Integration.URI != "http://backend/two" {
		t.Fatalf("a change to the integration did not reach both routes: %+v", a.Routes)
	}
	dep, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "prod"})
	if err != nil || dep.API.Routes[1].Integration.URI != "http://backend/two" {
		t.Fatalf("deploy: %v %+v", err, dep)
	}

	// A target that does not exist is refused, and nothing changes.
	_, err = s.Modify(ctx, a.ID, func(a *API) error {
		a.Routes[0].IntegrationID = "missing"
		return nil
	})
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "integrations/missing") {
		t.Fatalf("unknown target: %v", err)
	}
	// Setting an inline integration detaches the route from the shared one.
	rt, err := s.SetIntegration(ctx, a.ID, RouteID("GET /a"), &Integration{Type: IntegrationMock})
	if err != nil || rt.IntegrationID != "" || rt.Integration.Type != IntegrationMock {
		t.Fatalf("SetIntegration: %v %+v", err, rt)
	}
}

func TestAdoptIntegrationsSharesEqualOnes(t *testing.T) {
	in := &Integration{Type: IntegrationHTTPProxy, URI: "http://backend/x"}
	a := &API{Protocol: ProtocolHTTP, Definition: Definition{Routes: []Route{
		{Method: "GET", Path: "/a", Integration: in},
		{Method: "GET", Path: "/b", Integration: &Integration{Type: IntegrationHTTPProxy, URI: "http://backend/x"}},
		{Method: "GET", Path: "/c", Integration: &Integration{Type: IntegrationMock}},
	}}}
	a.AdoptIntegrations()
	if len(a.Integrations) != 2 || a.Routes[0].IntegrationID != a.Routes[1].IntegrationID || a.Routes[0].IntegrationID == a.Routes[2].IntegrationID {
		t.Fatalf("adopted: %+v %+v", a.Integrations, a.Routes)
	}
	b := &API{Protocol: ProtocolHTTP, Definition: Definition{Routes: []Route{{Method: "GET", Path: "/z", Integration: in}}}}
	b.AdoptIntegrations()
	if b.Routes[0].IntegrationID != a.Routes[0].IntegrationID {
		t.Fatalf("ids are not derived from content: %s, %s", b.Routes[0].IntegrationID, a.Routes[0].IntegrationID)
	}
	rest := &API{Protocol: ProtocolREST, Definition: Definition{Routes: []Route{{Method: "GET", Path: "/a", Integration: in}}}}
	rest.AdoptIntegrations()
	if rest.Integrations != nil {
		t.Fatalf("a REST API adopted integrations")
	}
}

func TestAutoDeployFollowsChanges(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, &API{Name: "auto", Protocol: ProtocolHTTP})
	st, err := s.CreateStage(ctx, a.ID, StageInput{Name: "live", AutoDeploy: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.DeploymentID != "" || !strings.Contains(st.LastDeploymentStatusMessage, "no routes") {
		t.Fatalf("stage of an undeployable api: %+v", st)
	}
	if _, err := s.AddRoute(ctx, a.ID, Route{Method: "GET", Path: "/x", Integration: &Integration{Type: IntegrationMock}}); err != nil {
		t.Fatal(err)
	}
	st, dep, err := s.Resolve(ctx, a.ID, "live")
	if err != nil || !dep.AutoDeployed || dep.Description != AutoDeployDescription || st.LastDeploymentStatusMessage != "" ||
		len(dep.API.Routes) != 1 {
		t.Fatalf("after a change: %v %+v %+v", err, st, dep)
	}
	first := dep.ID
	// A change that leaves the api undeployable keeps the stage where it is.
	if _, err := s.AddRoute(ctx, a.ID, Route{Method: "GET", Path: "/y"}); err != nil {
		t.Fatal(err)
	}
	st, dep, err = s.Resolve(ctx, a.ID, "live")
	if err != nil || dep.ID != first || !strings.Contains(st.LastDeploymentStatusMessage, "no integration") {
		t.Fatalf("after an undeployable change: %v %+v", err, st)
	}
	// A deployment cannot name an auto-deploying stage; REST APIs have no autoDeploy.
	if err := s.DeleteRoute(ctx, a.ID, RouteID("GET /y")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "live"}); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "autoDeploy") {
		t.Fatalf("deploy to an autoDeploy stage: %v", err)
	}
	r := mustCreate(t, s, helloAPI())
	if _, err := s.CreateStage(ctx, r.ID, StageInput{Name: "x", AutoDeploy: true}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("autoDeploy on a REST API: %v", err)
	}
}

// TestAutoDeployStageRefusesADeploymentIDInItsWrite: apigatewayv2's
// update-stage refuses a deploymentId for a stage that deploys automatically.
// The check read the stage before the write's transaction: an update-stage
// {deploymentId} racing one that turned autoDeploy on (and deployed) wrote the
// older deployment over the new one on a stage that now deploys
// automatically. The stage as the writing transaction holds it decides: here
// the stage turned autoDeploy on, and deployed, after the caller last read it.
// TestUndeployableWithoutRoutes: an API without routes cannot be deployed,
// in API Gateway's words for each protocol (tools match them, e.g. to skip a
// deployment).
func TestUndeployableWithoutRoutes(t *testing.T) {
	for protocol, want := range map[string]string{
		ProtocolREST:      "The REST API doesn't contain any methods",
		ProtocolHTTP:      "Unable to deploy API because no routes exist in this API",
		ProtocolWebSocket: "At least one route is required before deploying the Api",
	} {
		a := &API{ID: "abcdefghij", Name: "x", Protocol: protocol}
		if got := a.undeployable(); got != want {
			t.Errorf("%s API without routes: %q, want %q", protocol, got, want)
		}
	}
}

func TestAutoDeployStageRefusesADeploymentIDInItsWrite(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, &API{Name: "auto", Protocol: ProtocolHTTP,
		Definition: Definition{Routes: []Route{{Method: "GET", Path: "/x", Integration: &Integration{Type: IntegrationMock}}}}})
	if _, err := s.CreateStage(ctx, a.ID, StageInput{Name: "live"}); err != nil {
		t.Fatal(err)
	}
	old, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "live"})
	if err != nil {
		t.Fatal(err)
	}
	// The caller read the stage here (autoDeploy off); another update turns
	// autoDeploy on, which deploys the API anew.
	on := true
	st, err := s.UpdateStage(ctx, a.ID, "live", StagePatch{AutoDeploy: &on})
	if err != nil || !st.AutoDeploy || st.DeploymentID == old.ID {
		t.Fatalf("autoDeploy on: %v %+v", err, st)
	}
	current := st.DeploymentID
	_, err = s.UpdateStage(ctx, a.ID, "live", StagePatch{DeploymentID: &old.ID, DeploymentFollowsAutoDeploy: true})
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "autoDeploy") {
		t.Errorf("deploymentId on a stage that deploys automatically: %v, want ErrInvalid", err)
	}
	if st, _, err := s.Resolve(ctx, a.ID, "live"); err != nil || st.DeploymentID != current || !st.AutoDeploy {
		t.Errorf("stage after the refused update: %v %+v, want deployment %s and autoDeploy", err, st, current)
	}
	// Turning autoDeploy off in the same update lets the deploymentId in.
	off := false
	if st, err := s.UpdateStage(ctx, a.ID, "live", StagePatch{DeploymentID: &old.ID, AutoDeploy: &off, DeploymentFollowsAutoDeploy: true}); err != nil ||
		st.DeploymentID != old.ID || st.AutoDeploy {
		t.Errorf("deploymentId with autoDeploy off: %v %+v", err, st)
	}
}

// TestDeployToAutoDeployStageSaysWhatToDo guards r-httpapi29's finding 4: a
// deployment naming an autoDeploy stage is refused with the way out, as a
// rollback of such a stage is.
func TestDeployToAutoDeployStageSaysWhatToDo(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, &API{Name: "auto", Protocol: ProtocolHTTP, Definition: Definition{Routes: []Route{
		{Method: "GET", Path: "/x", Integration: &Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/x", HTTPMethod: "GET"}}}}})
	if _, err := s.CreateStage(ctx, a.ID, StageInput{Name: "live", AutoDeploy: true}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "live"})
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "served already, with nothing to deploy") ||
		!strings.Contains(err.Error(), "update-stage --no-auto-deploy") {
		t.Errorf("deploy to an autoDeploy stage: %v", err)
	}
}
