package main

import (
	"context"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestDeployRESTAPITags: an AWS::Serverless::Api's Tags were ignored with a
// warning, so get-tags showed none after the deploy. SAM puts them on the
// REST API and its stage: a deploy sets them on both, a redeploy changes
// them and takes off those the template dropped, and a tag added by hand
// (tag-resource) stays, as CloudFormation manages only the template's.
func TestDeployRESTAPITags(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := filepath.Dir(samTestdata(t, "noecho-stage.yaml"))
	path := filepath.Join(dir, "tags.yaml")
	write := func(tags string) {
		writeFile(t, path, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n"+
			"  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: dev\n"+tags+
			"  Fn:\n    Type: AWS::Serverless::Function\n"+
			"    Properties: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: hello,\n"+
			"      Events: {Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /hi, Method: get}}}}\n"), 0o600)
	}
	gw := adminSDK(env)
	ctx := context.Background()
	tagsOf := func(arn string) map[string]string {
		t.Helper()
		out, err := gw.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("get-tags %s: %v", arn, err)
		}
		return out.Tags
	}
	write("      Tags:\n        Team: pay\n        Env: dev\n")
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "tg"); !strings.Contains(out, "tags of the API and of stage dev") {
		t.Errorf("deploy output does not say it tags the API:\n%s", out)
	}
	apis, err := gw.GetRestApis(ctx, &apigateway.GetRestApisInput{})
	if err != nil || len(apis.Items) != 1 {
		t.Fatalf("get-rest-apis = %v, %v; want the stack's API", apis, err)
	}
	id := aws.ToString(apis.Items[0].Id)
	apiARN := "arn:aws:apigateway:us-east-1::/restapis/" + id
	stageARN := apiARN + "/stages/dev"
	want := map[string]string{"Team": "pay", "Env": "dev"}
	if got := tagsOf(apiARN); !maps.Equal(got, want) {
		t.Errorf("API tags %v, want %v", got, want)
	}
	if got := tagsOf(stageARN); !maps.Equal(got, want) {
		t.Errorf("stage tags %v, want %v", got, want)
	}
	if got := apis.Items[0].Tags; !maps.Equal(got, want) {
		t.Errorf("get-rest-apis tags %v, want %v", got, want)
	}
	if _, err := gw.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String(apiARN), Tags: map[string]string{"Owner": "me"}}); err != nil {
		t.Fatal(err)
	}

	write("      Tags:\n        Team: ops\n")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "tg")
	if got, want := tagsOf(apiARN), map[string]string{"Team": "ops", "Owner": "me"}; !maps.Equal(got, want) {
		t.Errorf("API tags after the redeploy %v, want %v (Env dropped, the hand-made Owner kept)", got, want)
	}
	if got, want := tagsOf(stageARN), map[string]string{"Team": "ops"}; !maps.Equal(got, want) {
		t.Errorf("stage tags after the redeploy %v, want %v", got, want)
	}

	write("")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "tg")
	if got, want := tagsOf(apiARN), map[string]string{"Owner": "me"}; !maps.Equal(got, want) {
		t.Errorf("API tags after Tags was removed %v, want %v", got, want)
	}
	if got := tagsOf(stageARN); len(got) != 0 {
		t.Errorf("stage tags after Tags was removed %v, want none", got)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "tg"); !strings.Contains(out, "Stack tg is up to date") {
		t.Errorf("a redeploy of the same template:\n%s", out)
	}
}
