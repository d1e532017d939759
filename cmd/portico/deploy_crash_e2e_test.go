package main

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// goneAfterCreate is the server's target with a fault seam: once CreateAPI
// has made the API, the server is gone for the rest of the run (every write
// after it fails, the rollback's too), as when the run is killed (kill -9)
// or its server stops between the create and recording the API's id.
type goneAfterCreate struct {
	*deploy.HTTPTarget
	gone bool
}

var errGone = errors.New("server unreachable")

func (g *goneAfterCreate) CreateAPI(ctx context.Context, a *deploy.API) (string, error) {
	id, err := g.HTTPTarget.CreateAPI(ctx, a)
	g.gone = err == nil
	return id, err
}

func (g *goneAfterCreate) PutStack(ctx context.Context, rec *deploy.Record) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.PutStack(ctx, rec)
}

func (g *goneAfterCreate) DeleteAPI(ctx context.Context, id string) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.DeleteAPI(ctx, id)
}

// TestDeployAdoptsTheAPIAnInterruptedRunMade: a run that ended between an
// API's creation and recording its id left an API the next deploy did not
// know, so it made a second one. The run records its intent first (the
// API's name and the ids of the APIs of that name there were), and the next
// deploy adopts the API the intent names: one API, the stack's, deployed.
func TestDeployAdoptsTheAPIAnInterruptedRunMade(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := filepath.Dir(samTestdata(t, "noecho-stage.yaml"))
	path := filepath.Join(dir, "crash.yaml")
	writeFile(t, path, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n"+
		"  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: dev\n"+
		"  Fn:\n    Type: AWS::Serverless::Function\n"+
		"    Properties: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: hello,\n"+
		"      Events: {Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /hi, Method: get}}}}\n"), 0o600)
	ctx := context.Background()
	target := &goneAfterCreate{HTTPTarget: &deploy.HTTPTarget{C: env.Client()}}
	if out, err := applyTemplate(t, ctx, target, path, "crash"); !errors.Is(err, errGone) {
		t.Fatalf("err = %v, want the server gone after the create:\n%s", err, out)
	}
	gw := adminSDK(env)
	apis, err := gw.GetRestApis(ctx, &apigateway.GetRestApisInput{})
	if err != nil || len(apis.Items) != 1 {
		t.Fatalf("get-rest-apis = %v, %v; want the API the interrupted run made", apis, err)
	}
	made := *apis.Items[0].Id

	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "crash", "--dry-run"); !strings.Contains(out, "adopt API "+made) {
		t.Errorf("the plan does not say it adopts API %s:\n%s", made, out)
	}
	out2 := cliCombined(t, env, "deploy", "--template", path, "--stack", "crash")
	if apis, err = gw.GetRestApis(ctx, &apigateway.GetRestApisInput{}); err != nil || len(apis.Items) != 1 || *apis.Items[0].Id != made {
		t.Fatalf("get-rest-apis = %v, %v; want API %s alone, adopted:\n%s", apis, err, made, out2)
	}
	if _, err := gw.GetStage(ctx, &apigateway.GetStageInput{RestApiId: &made, StageName: new("dev")}); err != nil {
		t.Errorf("stage dev of the adopted API: %v", err)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "crash"); !strings.Contains(out, "Stack crash is up to date") {
		t.Errorf("a redeploy:\n%s", out)
	}
	// The stack's delete deletes it.
	cliCombined(t, env, "stack", "delete", "crash")
	if apis, err = gw.GetRestApis(ctx, &apigateway.GetRestApisInput{}); err != nil || len(apis.Items) != 0 {
		t.Fatalf("get-rest-apis after stack delete = %v, %v; want none", apis, err)
	}
}

// goneAfterPublish is the server's target with a fault seam: once
// PublishVersion has published, the server is gone for the rest of the run
// (the alias switch, the record and the rollback fail), as when the run is
// killed before it records the version.
type goneAfterPublish struct {
	*deploy.HTTPTarget
	gone bool
}

func (g *goneAfterPublish) PublishVersion(ctx context.Context, name string) (string, error) {
	v, err := g.HTTPTarget.PublishVersion(ctx, name)
	g.gone = err == nil
	return v, err
}

func (g *goneAfterPublish) SetAlias(ctx context.Context, name, alias, version string) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.SetAlias(ctx, name, alias, version)
}

func (g *goneAfterPublish) PutStack(ctx context.Context, rec *deploy.Record) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.PutStack(ctx, rec)
}

func (g *goneAfterPublish) DeleteVersion(ctx context.Context, name, version string) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.DeleteVersion(ctx, name, version)
}

func (g *goneAfterPublish) RestoreFunction(ctx context.Context, name string, s *deploy.SavedFunction, revision string) error {
	if g.gone {
		return errGone
	}
	return g.HTTPTarget.RestoreFunction(ctx, name, s, revision)
}

// TestDeployDeletesTheVersionAnInterruptedRunPublished: a run that ended
// after publishing a version and before recording it left the version for
// good. The run records its intent first (the highest version there was),
// and the next deploy deletes the versions above it that neither the record
// nor the alias names.
func TestDeployDeletesTheVersionAnInterruptedRunPublished(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := filepath.Dir(samTestdata(t, "noecho-stage.yaml"))
	path := filepath.Join(dir, "pub.yaml")
	write := func(props string) {
		writeFile(t, path, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  G:\n    Type: AWS::Serverless::Function\n"+
			"    Properties: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: hello, AutoPublishAlias: live"+props+"}\n"), 0o600)
	}
	write("")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "pub")
	write(", MemorySize: 256")
	ctx := context.Background()
	target := &goneAfterPublish{HTTPTarget: &deploy.HTTPTarget{C: env.Client()}}
	if out, err := applyTemplate(t, ctx, target, path, "pub"); !errors.Is(err, errGone) {
		t.Fatalf("err = %v, want the server gone after the publish:\n%s", err, out)
	}
	if got := versions(t, env, "pub-G"); strings.Join(got, " ") != "$LATEST 1 2" {
		t.Fatalf("versions %v, want version 2 left by the interrupted run", got)
	}

	write(", MemorySize: 512")
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "pub", "--dry-run"); !strings.Contains(out, "delete version 2 of pub-G: a deploy that ended before recording it published it") {
		t.Errorf("the plan does not say it deletes version 2:\n%s", out)
	}
	cliCombined(t, env, "deploy", "--template", path, "--stack", "pub")
	if got := versions(t, env, "pub-G"); strings.Join(got, " ") != "$LATEST 1 3" {
		t.Fatalf("versions %v, want 1 and the new 3 (2, the interrupted run's, deleted)", got)
	}
	// The intent is gone with it: a version published by hand since stays.
	if _, _, err := env.Client().UpdateFunctionConfiguration(ctx, "pub-G", map[string]any{"Description": "by hand"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Client().PublishVersion(ctx, "pub-G", "by hand"); err != nil {
		t.Fatal(err)
	}
	cliCombined(t, env, "deploy", "--template", path, "--stack", "pub")
	if got := versions(t, env, "pub-G"); !slices.Contains(got, "4") {
		t.Fatalf("versions %v: version 4, published by hand, was deleted", got)
	}
}

// applyTemplate runs one deploy of the template at path as stack through
// target, step by step as the CLI does (load, build, read the record, observe,
// plan, apply), so that a test's target can fail a step; it returns what the
// run printed and its error.
func applyTemplate(t *testing.T, ctx context.Context, target deploy.Target, path, stack string) (string, error) {
	t.Helper()
	tpl, err := deploy.Load(path, deploy.Options{Stack: stack})
	if err != nil {
		t.Fatal(err)
	}
	d, err := deploy.Build(tpl)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := target.GetStack(ctx, stack)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := deploy.Observe(ctx, target, d, rec)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := deploy.NewPlan(d, rec, obs)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = deploy.Apply(ctx, target, plan, &out)
	return out.String(), err
}
