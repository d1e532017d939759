package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// contextRecorder is a pipeline stage that records what later stages see.
type contextRecorder struct {
	mu   sync.Mutex
	seen []pipeline.Context
}

func (*contextRecorder) Name() string { return "recorder" }
func (*contextRecorder) Order() int   { return pipeline.OrderCache }
func (s *contextRecorder) Compile(*pipeline.Deployed) (pipeline.Middleware, error) {
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			s.mu.Lock()
			s.seen = append(s.seen, pipeline.Context{IsCanaryRequest: c.IsCanaryRequest, DeploymentID: c.DeploymentID, StageVariables: c.StageVariables})
			s.mu.Unlock()
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

func (s *contextRecorder) last() pipeline.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[len(s.seen)-1]
}

// TestCanarySideSeesItsDeploymentAndOverrides draws canary and base by a fixed
// draw and checks the integration URI, the event and $context on each side.
func TestCanarySideSeesItsDeploymentAndOverrides(t *testing.T) {
	e := newEnv(t)
	rec := &contextRecorder{}
	e.gw.Use(rec)
	draw := 0.5
	e.gw.SetCanaryDraw(func() float64 { return draw })
	ctx := context.Background()
	id := e.deploy(helloAPI(apis.ProtocolREST), "prod", map[string]string{"alias": "live", "other": "kept"})
	base := mustStage(t, e.svc, id, "prod").DeploymentID
	dep, _, err := e.svc.Deploy(ctx, id, apis.DeployInput{StageName: "prod",
		Canary: &apis.CanarySettings{PercentTraffic: 30, StageVariableOverrides: map[string]string{"alias": "beta"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		draw    float64
		canary  bool
		version string
		depID   string
		alias   string
	}{{0.29, true, "2", dep.ID, "beta"}, {0.30, false, "1", base, "live"}, {0.99, false, "1", base, "live"}, {0, true, "2", dep.ID, "beta"}} {
		draw = tc.draw
		r := e.do("GET", "/"+id+"/prod/hello", nil)
		if r.status != 200 || !strings.Contains(r.body, `"version":"`+tc.version+`"`) {
			t.Fatalf("draw %v: %d %s, want version %s", tc.draw, r.status, r.body, tc.version)
		}
		c := rec.last()
		if c.IsCanaryRequest != tc.canary || c.DeploymentID != tc.depID || c.StageVariables["alias"] != tc.alias || c.StageVariables["other"] != "kept" {
			t.Fatalf("draw %v: context %+v", tc.draw, c)
		}
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(e.inv.last().Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.StageVariables["alias"] != tc.alias {
			t.Fatalf("draw %v: event stageVariables %v", tc.draw, ev.StageVariables)
		}
	}
	// Removing the canary leaves the base, whatever the draw.
	if _, err := e.svc.UpdateStage(ctx, id, "prod", apis.StagePatch{Canary: &apis.CanaryPatch{Remove: true}}); err != nil {
		t.Fatal(err)
	}
	draw = 0
	if r := e.do("GET", "/"+id+"/prod/hello", nil); !strings.Contains(r.body, `"version":"1"`) || rec.last().IsCanaryRequest {
		t.Fatalf("after removal: %s", r.body)
	}
	// The canary's deployment cannot be deleted while it is in use.
	if _, _, err := e.svc.Deploy(ctx, id, apis.DeployInput{StageName: "prod", Canary: &apis.CanarySettings{PercentTraffic: 1}}); err != nil {
		t.Fatal(err)
	}
	st := mustStage(t, e.svc, id, "prod")
	if err := e.svc.DeleteDeployment(ctx, id, st.CanarySettings.DeploymentID); err == nil {
		t.Fatal("deleted the deployment a canary serves")
	}
}
