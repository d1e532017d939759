package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
)

// v2StageTemplate is an HTTP API of AWS::ApiGatewayV2 resources with one
// route (GET /a) to the hello function on stage v1, which STAGE completes
// (AutoDeploy, or the Deployment it serves).
const v2StageTemplate = `Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      Runtime: provided.al2023
      Handler: bootstrap
  Http:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: staged
      ProtocolType: HTTP
      Tags: {team: pets}
  Fn:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Hello.Arn
      PayloadFormatVersion: '2.0'
  A:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /a
      Target: !Sub integrations/${Fn}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Http
      StageName: v1
STAGE`

// routeB is a second route, GET /b, for a redeploy to add.
const routeB = `  B:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /b
      Target: !Sub integrations/${Fn}
`

// pinnedV2Stage is v2StageTemplate with its stage serving Deployment D1.
var pinnedV2Stage = strings.Replace(v2StageTemplate, "STAGE", "      DeploymentId: !Ref D1\n  D1:\n    Type: AWS::ApiGatewayV2::Deployment\n    Properties:\n      ApiId: !Ref Http\n", 1)

// startV2Stage starts a server and returns it with the path of a template
// in a directory holding the hello function.
func startV2Stage(t *testing.T) (*apptest.Env, string) {
	t.Helper()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	writeBootstraps(t, dir, map[string]string{"hello": apptest.Sample(t, "hello")})
	return env, filepath.Join(dir, "template.yaml")
}

// deployV2Stage deploys text as stack staged and returns the API's id.
func deployV2Stage(t *testing.T, env *apptest.Env, path, text string) string {
	t.Helper()
	writeFile(t, path, []byte(text), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "staged")
	return stackRecord(t, env, "staged").Resources["Http"].PhysicalID
}

// TestDeployV2TagsSetByHandStay: a redeploy of an HTTP API of
// AWS::ApiGatewayV2 resources changes the tags its template set and takes
// off those the template dropped, and leaves a tag added by hand
// (apigatewayv2 tag-resource), as CloudFormation manages only the tags of
// the template. Before, the redeploy removed it.
func TestDeployV2TagsSetByHandStay(t *testing.T) {
	env, path := startV2Stage(t)
	text := strings.Replace(v2StageTemplate, "STAGE", "      AutoDeploy: true\n", 1)
	api := deployV2Stage(t, env, path, text)
	arn := "/v2/tags/arn:aws:apigateway:" + functions.Region + "::/apis/" + api
	if _, err := env.Client().Do(context.Background(), http.MethodPost, arn, nil, map[string]any{"tags": map[string]string{"cost": "42"}}, nil); err != nil {
		t.Fatalf("tag-resource: %v", err)
	}
	deployV2Stage(t, env, path, strings.Replace(text, "Tags: {team: pets}", "Tags: {owner: me}", 1))
	var a apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &a)
	if len(a.Tags) != 2 || a.Tags["owner"] != "me" || a.Tags["cost"] != "42" {
		t.Errorf("tags after the redeploy: %v, want owner=me (the template's; team dropped) and cost=42 (set by hand)", a.Tags)
	}
}

// TestDeployV2StageServesItsDeployment: a stage of an HTTP API of
// AWS::ApiGatewayV2 resources without AutoDeploy serves the
// AWS::ApiGatewayV2::Deployment the template names (by the stage's
// DeploymentId or the Deployment's StageName), as on API Gateway: a redeploy
// that adds a route with the same Deployment changes the API but not what
// the stage serves, and one that gives the Deployment a new logical id
// ships it. With AutoDeploy: true every change is served; a stage with
// neither is refused, saying what to write. Before, every change was
// deployed whatever AutoDeploy said.
func TestDeployV2StageServesItsDeployment(t *testing.T) {
	env, path := startV2Stage(t)
	pinned := pinnedV2Stage
	api := deployV2Stage(t, env, path, pinned)
	base := env.GatewayURL + "/" + api + "/v1"
	get := func(when, route string, want int) {
		t.Helper()
		if status, body := gatewayCall(t, http.MethodGet, base+route, "", nil); status != want {
			t.Errorf("%s: GET %s: %d %s, want %d", when, route, status, body, want)
		}
	}
	get("first deploy", "/a", http.StatusOK)

	// A new route, the same Deployment: the API has it, the stage does
	// not serve it.
	deployV2Stage(t, env, path, pinned+routeB)
	get("route added, Deployment unchanged", "/b", http.StatusNotFound)
	get("route added, Deployment unchanged", "/a", http.StatusOK)
	var a apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &a)
	if len(a.Routes) != 2 {
		t.Errorf("the API's routes after the redeploy: %d, want 2 (the definition is the template's)", len(a.Routes))
	}

	// A Deployment of a new logical id naming the stage ships it.
	shipped := strings.Replace(v2StageTemplate, "STAGE", "  D2:\n    Type: AWS::ApiGatewayV2::Deployment\n    Properties:\n      ApiId: !Ref Http\n      StageName: v1\n", 1) + routeB
	deployV2Stage(t, env, path, shipped)
	get("new Deployment", "/b", http.StatusOK)

	// AutoDeploy: every change is served.
	auto := strings.Replace(v2StageTemplate, "STAGE", "      AutoDeploy: true\n", 1)
	deployV2Stage(t, env, path, auto)
	get("AutoDeploy", "/b", http.StatusNotFound)
	deployV2Stage(t, env, path, auto+routeB)
	get("AutoDeploy, route added", "/b", http.StatusOK)

	// Neither AutoDeploy nor a Deployment: refused, nothing changes.
	writeFile(t, path, []byte(strings.Replace(v2StageTemplate, "STAGE", "", 1)), 0o600)
	out, err := cliErr(env, "deploy", "--template", path, "--stack", "staged")
	if err == nil || !strings.Contains(out+err.Error(), "AutoDeploy: true") {
		t.Errorf("a stage without AutoDeploy or a Deployment: err %v\n%s\nwant a refusal naming AutoDeploy: true", err, out)
	}
	get("refused deploy", "/b", http.StatusOK)
}

// TestDeployWebSocketStageServesItsDeployment: a WebSocket API's stage
// without AutoDeploy serves the AWS::ApiGatewayV2::Deployment the template
// names, as an HTTP API's does: a route added with the same Deployment is in
// the API and not in what the stage serves; a Deployment of a new logical
// id moves the stage; a stage with neither AutoDeploy nor a Deployment is
// refused. Before, every change was deployed.
func TestDeployWebSocketStageServesItsDeployment(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	path := filepath.Join(t.TempDir(), "template.yaml")
	deploy := func(text string) string {
		t.Helper()
		writeFile(t, path, []byte(text), 0o600)
		cliCombined(t, env, "deploy", "--template", path, "--stack", "wsstage")
		return stackRecord(t, env, "wsstage").Resources["Ws"].PhysicalID
	}
	serving := func(api string) string {
		t.Helper()
		var st struct{ DeploymentID string }
		adminJSON(t, env, "/portico/v1/apis/"+api+"/stages/dev", &st)
		return st.DeploymentID
	}
	// wsEndpointTemplate's Stage (dev, last) without its AutoDeploy.
	ws := strings.Replace(strings.Replace(wsEndpointTemplate, "OFF", "false", 1), "      AutoDeploy: true\n", "", 1)
	d1 := "      DeploymentId: !Ref D1\n  D1:\n    Type: AWS::ApiGatewayV2::Deployment\n    Properties:\n      ApiId: !Ref Ws\n"
	sendRoute := "  Send:\n    Type: AWS::ApiGatewayV2::Route\n    Properties:\n      ApiId: !Ref Ws\n      RouteKey: send\n      Target: !Sub integrations/${ConnectInteg}\n"
	api := deploy(ws + d1)
	first := serving(api)
	deploy(ws + d1 + sendRoute)
	var a apis.API
	adminJSON(t, env, "/portico/v1/apis/"+api, &a)
	if now := serving(api); now != first || len(a.Routes) != 2 {
		t.Errorf("a route added with the same Deployment: the stage serves %s (was %s), the API has %d routes; want the same deployment and 2 routes", now, first, len(a.Routes))
	}
	deploy(ws + strings.ReplaceAll(d1, "D1", "D2") + sendRoute)
	if now := serving(api); now == first {
		t.Errorf("a Deployment of a new logical id: the stage still serves %s", now)
	}
	writeFile(t, path, []byte(ws), 0o600)
	if out, err := cliErr(env, "deploy", "--template", path, "--stack", "wsstage"); err == nil || !strings.Contains(out+err.Error(), "AutoDeploy: true") {
		t.Errorf("a stage without AutoDeploy or a Deployment: err %v\n%s\nwant a refusal naming AutoDeploy: true", err, out)
	}
}

// TestDeployAutoDeployStageDeploysChangesByHand: an AWS::ApiGatewayV2::Stage
// with AutoDeploy: true is made with apigatewayv2's autoDeploy (get-stage
// says so, and its deployments are autoDeployed), so that a route created by
// hand after the deploy is served at once, as on API Gateway. Before, the
// deploy deployed each template change itself to a stage without
// autoDeploy, and a change by hand was not served. A redeploy of the same
// template changes nothing, on a stage an older build made without
// autoDeploy too; the next change of the template turns it on.
func TestDeployAutoDeployStageDeploysChangesByHand(t *testing.T) {
	env, path := startV2Stage(t)
	ctx := context.Background()
	c := env.Client()
	text := strings.Replace(v2StageTemplate, "STAGE", "      AutoDeploy: true\n", 1)
	api := deployV2Stage(t, env, path, text)
	stagePath := "/v2/apis/" + api + "/stages/v1"
	var st struct {
		AutoDeploy   bool   `json:"autoDeploy"`
		DeploymentID string `json:"deploymentId"`
	}
	adminJSON(t, env, stagePath, &st)
	if !st.AutoDeploy || st.DeploymentID == "" {
		t.Fatalf("get-stage v1: autoDeploy %v, deploymentId %q; want autoDeploy on, deployed", st.AutoDeploy, st.DeploymentID)
	}
	var dep struct {
		AutoDeployed bool `json:"autoDeployed"`
	}
	adminJSON(t, env, "/v2/apis/"+api+"/deployments/"+st.DeploymentID, &dep)
	if !dep.AutoDeployed {
		t.Errorf("deployment %s: autoDeployed false, want true", st.DeploymentID)
	}

	var integs struct {
		Items []struct {
			ID string `json:"integrationId"`
		} `json:"items"`
	}
	adminJSON(t, env, "/v2/apis/"+api+"/integrations", &integs)
	if len(integs.Items) != 1 {
		t.Fatalf("integrations: %+v, want one", integs.Items)
	}
	if _, err := c.Do(ctx, http.MethodPost, "/v2/apis/"+api+"/routes", nil,
		map[string]any{"routeKey": "GET /b", "target": "integrations/" + integs.Items[0].ID}, nil); err != nil {
		t.Fatalf("create-route: %v", err)
	}
	base := env.GatewayURL + "/" + api + "/v1"
	if status, body := gatewayCall(t, http.MethodGet, base+"/b", "", nil); status != http.StatusOK {
		t.Errorf("GET /b, created by hand: %d %s, want 200 (the stage deploys automatically)", status, body)
	}

	writeFile(t, path, []byte(text), 0o600)
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "staged"); !strings.Contains(out, "up to date") {
		t.Errorf("redeploy of the same template:\n%s", out)
	}
	// As an older build made it: without autoDeploy.
	if _, err := c.Do(ctx, http.MethodPatch, stagePath, nil, map[string]any{"autoDeploy": false}, nil); err != nil {
		t.Fatal(err)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "staged"); !strings.Contains(out, "up to date") {
		t.Errorf("redeploy of the same template on a stage without autoDeploy:\n%s", out)
	}
	deployV2Stage(t, env, path, text+routeB)
	adminJSON(t, env, stagePath, &st)
	if !st.AutoDeploy {
		t.Errorf("get-stage v1 after a change of the template: autoDeploy off, want on")
	}
	if status, body := gatewayCall(t, http.MethodGet, base+"/b", "", nil); status != http.StatusOK {
		t.Errorf("GET /b, in the template: %d %s, want 200", status, body)
	}
}

// TestDeployRenamedPinnedStageServesItsDeployment: renaming a stage that
// serves an unchanged AWS::ApiGatewayV2::Deployment (no AutoDeploy) makes the
// new stage serve that Deployment's snapshot, the deployment the old stage
// served, as CloudFormation's new stage names it: a route the same redeploy
// adds is in the API, not served. Before, the new stage got the API's
// current definition.
func TestDeployRenamedPinnedStageServesItsDeployment(t *testing.T) {
	env, path := startV2Stage(t)
	pinned := pinnedV2Stage
	api := deployV2Stage(t, env, path, pinned)
	var v1 struct {
		DeploymentID string `json:"deploymentId"`
	}
	adminJSON(t, env, "/v2/apis/"+api+"/stages/v1", &v1)

	writeFile(t, path, []byte(strings.Replace(pinned, "StageName: v1", "StageName: v2", 1)+routeB), 0o600)
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "staged")
	if !strings.Contains(out, "serving deployment "+v1.DeploymentID) {
		t.Errorf("the deploy does not say stage v2 serves deployment %s:\n%s", v1.DeploymentID, out)
	}
	var v2 struct {
		DeploymentID string `json:"deploymentId"`
		AutoDeploy   bool   `json:"autoDeploy"`
	}
	adminJSON(t, env, "/v2/apis/"+api+"/stages/v2", &v2)
	if v2.DeploymentID != v1.DeploymentID || v2.AutoDeploy {
		t.Errorf("get-stage v2: deploymentId %s (autoDeploy %v), want %s, the one stage v1 served", v2.DeploymentID, v2.AutoDeploy, v1.DeploymentID)
	}
	base := env.GatewayURL + "/" + api + "/v2"
	for route, want := range map[string]int{"/a": http.StatusOK, "/b": http.StatusNotFound} {
		if status, body := gatewayCall(t, http.MethodGet, base+route, "", nil); status != want {
			t.Errorf("GET v2%s: %d %s, want %d", route, status, body, want)
		}
	}
	if ok, err := (&deploy.HTTPTarget{C: env.Client()}).StageExists(context.Background(), api, "v1"); err != nil || ok {
		t.Errorf("stage v1 after the rename: exists %v (%v), want it deleted", ok, err)
	}
	// The stack's record names that deployment: a new Deployment ships the definition.
	writeFile(t, path, []byte(strings.NewReplacer("StageName: v1", "StageName: v2", "!Ref D1", "!Ref D2", "  D1:", "  D2:").Replace(pinned)+routeB), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "staged")
	if status, body := gatewayCall(t, http.MethodGet, base+"/b", "", nil); status != http.StatusOK {
		t.Errorf("GET v2/b after a new Deployment: %d %s, want 200", status, body)
	}
}
