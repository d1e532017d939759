package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
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
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	writeBootstraps(t, dir, map[string]string{"hello": apptest.Sample(t, "hello")})
	path := filepath.Join(dir, "template.yaml")
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
