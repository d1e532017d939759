package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// TestPorticoStagePatchRefusesAutoDeployStage: Portico's own PATCH of a
// stage refuses a deploymentId for a stage that deploys automatically, as
// apigatewayv2's update-stage does (it let the stage serve another
// deployment than the API's), while a stage without autoDeploy is still
// pointed; and portico deploy's undo (HTTPTarget.PointStage) still points a
// stage back, and leaves an autoDeploy stage to follow the API (whose
// definition the undo puts back, which deploys it) rather than fail.
func TestPorticoStagePatchRefusesAutoDeployStage(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := env.Client()
	do := func(method, path string, body, out any) error {
		t.Helper()
		resp, err := c.Do(ctx, method, path, nil, body, nil)
		if err == nil && out != nil {
			err = json.Unmarshal(resp.Body, out)
		}
		return err
	}
	var api struct {
		ID string `json:"id"`
	}
	if err := do("POST", "/portico/v1/apis", map[string]any{"name": "auto", "protocol": "HTTP",
		"routes": []any{map[string]any{"method": "GET", "path": "/a", "integration": map[string]any{"type": "HTTP_PROXY", "uri": "http://127.0.0.1:9/a"}}}}, &api); err != nil {
		t.Fatal(err)
	}
	p := "/portico/v1/apis/" + api.ID
	var deps [2]struct {
		Deployment struct{ ID string } `json:"deployment"`
	}
	for i := range deps {
		if err := do("POST", p+"/deployments", map[string]any{"stageName": "manual"}, &deps[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := do("POST", "/v2/apis/"+api.ID+"/stages", map[string]any{"stageName": "auto", "autoDeploy": true}, nil); err != nil {
		t.Fatal(err)
	}
	stage := func(name string) (dep string, auto bool) {
		t.Helper()
		var st struct {
			DeploymentID string `json:"deploymentId"`
			AutoDeploy   bool   `json:"autoDeploy"`
		}
		if err := do("GET", p+"/stages/"+name, nil, &st); err != nil {
			t.Fatal(err)
		}
		return st.DeploymentID, st.AutoDeploy
	}
	autoDep, auto := stage("auto")
	if !auto || autoDep == "" {
		t.Fatalf("stage auto: deployment %q, autoDeploy %v; want it deployed automatically", autoDep, auto)
	}

	first := deps[0].Deployment.ID
	err := do("PATCH", p+"/stages/auto", map[string]any{"deploymentId": first}, nil)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Type != "BadRequestException" {
		t.Errorf("PATCH of the autoDeploy stage's deploymentId: %v, want 400 BadRequestException", err)
	}
	if dep, _ := stage("auto"); dep != autoDep {
		t.Errorf("stage auto serves %s after the refused PATCH, want %s", dep, autoDep)
	}
	// The other fields of an autoDeploy stage are still patched.
	if err := do("PATCH", p+"/stages/auto", map[string]any{"description": "d"}, nil); err != nil {
		t.Errorf("PATCH of the autoDeploy stage's description: %v", err)
	}

	target := &deploy.HTTPTarget{C: c}
	if err := target.PointStage(ctx, api.ID, "manual", first); err != nil {
		t.Fatalf("PointStage of a stage without autoDeploy: %v", err)
	}
	if dep, _ := stage("manual"); dep != first {
		t.Errorf("stage manual serves %s after PointStage, want %s", dep, first)
	}
	if err := target.PointStage(ctx, api.ID, "auto", first); err != nil {
		t.Errorf("PointStage of an autoDeploy stage (deploy's undo): %v", err)
	}
	if dep, _ := stage("auto"); dep != autoDep {
		t.Errorf("stage auto serves %s after PointStage, want %s (it follows the API)", dep, autoDep)
	}
}
